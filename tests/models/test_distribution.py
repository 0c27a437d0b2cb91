"""Distribution heads: likelihoods, training, checkpoints, recovering a known volatility."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from stockapp.core.features import FeatureSpec
from stockapp.errors import ModelError
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.networks import RecurrentNet
from stockapp.models.steps import loss_function, nll, pad_weights
from stockapp.models.trainer import TrainConfig
from tests.models.conftest import run


def _out(mu, sd):
    """A head output whose location is ``mu`` and whose standard deviation is ``sd``."""
    raw = np.log(np.expm1(np.asarray(sd) - 1e-3))  # inverse of softplus(raw) + MIN_SCALE
    return torch.tensor(np.stack([mu, raw], -1), dtype=torch.float64)


def test_gaussian_and_t_nll_match_scipy():
    mu, sd, y = np.array([0.0, 0.5, -1.0]), np.array([1.0, 0.3, 2.0]), np.array([0.2, 1.4, -5.0])
    out, target = _out(mu, sd), torch.tensor(y)
    got = nll(out, target, None).numpy()
    np.testing.assert_allclose(got, -stats.norm.logpdf(y, mu, sd), rtol=1e-10)
    ref = torch.nn.GaussianNLLLoss(full=True, reduction="none")(
        torch.tensor(mu), target, torch.tensor(sd) ** 2
    )
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10)
    nu = 4.5
    got_t = nll(out, target, torch.tensor(nu, dtype=torch.float64)).numpy()
    scale = sd * math.sqrt((nu - 2) / nu)
    np.testing.assert_allclose(got_t, -stats.t.logpdf(y, nu, mu, scale), rtol=1e-10)


def test_padded_batch_has_the_loss_of_its_real_rows():
    net = RecurrentNet("gru", 1, 4, 1, 0.0, generator=torch.Generator().manual_seed(0),
                       head="student-t")  # fmt: skip
    x, y = torch.randn(5, 6, 1), torch.randn(5, 6)
    loss = loss_function("last", net)
    w = pad_weights(3, 5)
    with torch.no_grad():
        padded, real = float(loss(net(x), y, w)), float(loss(net(x[:3]), y[:3]))
    assert padded == pytest.approx(real, rel=1e-6)


def test_bad_heads_are_refused_in_one_sentence():
    with pytest.raises(ModelError, match="Unknown output head 'cauchy'"):
        TrainConfig(head="cauchy")
    model = RecurrentForecaster(
        FeatureSpec(window=10, target="price"), TrainConfig(head="gaussian")
    )
    with pytest.raises(ModelError, match="choose the return target"):
        run(model.fit(_prices(300)))
    point = RecurrentForecaster(FeatureSpec(window=10), TrainConfig(hidden=4, layers=1, epochs=1,
                                device="cpu"))  # fmt: skip
    run(point.fit(_prices(300)))
    with pytest.raises(ModelError, match="not a distribution"):
        point.predict_distribution(_prices(300), np.arange(200, 210))


def _prices(n, sigma=None, seed=0):
    rng = np.random.default_rng(seed)
    sigma = np.full(n, 0.01) if sigma is None else sigma
    r = sigma * rng.standard_normal(n)
    close = 100 * np.exp(np.cumsum(r))
    return pd.DataFrame({"Close": close}, index=pd.bdate_range("2000-01-03", periods=n))


def _true_sigma(n):
    t = np.arange(n)
    return 0.005 + 0.025 * (0.5 + 0.5 * np.sin(2 * np.pi * t / 250)) ** 2


@pytest.mark.parametrize("head", ["gaussian", "student-t"])
def test_recovers_a_known_changing_volatility(head):
    n = 3000
    sigma = _true_sigma(n)
    prices = _prices(n, sigma, seed=1)
    cfg = TrainConfig(model="gru", hidden=8, layers=1, dropout=0.0, epochs=6, batch_size=64,
                      lr=1e-2, patience=0, device="cpu", seed=0, head=head)  # fmt: skip
    model = RecurrentForecaster(FeatureSpec(window=30), cfg)
    run(model.fit(prices.iloc[:2400]))
    ends = np.arange(2399, n - 1)
    mu, sd, nu = model.predict_distribution(prices, ends)
    assert np.corrcoef(sd, sigma[ends + 1])[0, 1] > 0.8
    np.testing.assert_allclose(mu, model.predict_target(prices, ends))
    if head == "student-t":
        assert nu.shape == sd.shape and np.all(nu > 2.0)
    else:
        assert nu is None


def test_distribution_checkpoint_round_trip_and_old_point_checkpoints(tmp_path):
    prices = _prices(400)
    cfg = TrainConfig(hidden=4, layers=1, epochs=1, device="cpu", head="student-t")
    model = RecurrentForecaster(FeatureSpec(window=10), cfg)
    run(model.fit(prices.iloc[:300]))
    model.save(tmp_path / "t")
    again = RecurrentForecaster.load(tmp_path / "t")
    ends = np.arange(300, 320)
    for a, b in zip(model.predict_distribution(prices, ends),
                    again.predict_distribution(prices, ends), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    point = RecurrentForecaster(FeatureSpec(window=10), TrainConfig(hidden=4, layers=1, epochs=1,
                                device="cpu"))  # fmt: skip
    run(point.fit(prices.iloc[:300]))
    point.save(tmp_path / "p")
    meta_path = tmp_path / "p" / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["sizes"]["head"], meta["train_config"]["head"]  # as written before heads existed
    meta_path.write_text(json.dumps(meta))
    old = RecurrentForecaster.load(tmp_path / "p")
    assert old.cfg.head == "point" and not old.is_distribution
    np.testing.assert_array_equal(old.predict_next(prices, ends), point.predict_next(prices, ends))


def _garch_prices(n=700, seed=3):
    rng = np.random.default_rng(seed)
    r, v = np.empty(n), 1e-4
    for i in range(n):
        v = 4e-6 + 0.1 * (r[i - 1] ** 2 if i else v) + 0.85 * v
        r[i] = np.sqrt(v) * rng.standard_t(6) / np.sqrt(1.5)
    close = 100 * np.exp(np.cumsum(r))
    return pd.DataFrame({"Close": close}, index=pd.bdate_range("2001-01-01", periods=n))


def test_garch_head_base_scales_garch_sigma_fitted_on_each_fits_past(tmp_path):
    """Issue 22: with head_base="garch" the head's sigma is a multiple of GARCH's, fitted on the
    past of each fit (a refit fits it again), reads no later bar, and survives save and load."""
    from stockapp.core.volatility import fit_garch, garch_sigma_path

    prices = _garch_prices()
    cfg = TrainConfig(hidden=4, layers=1, epochs=2, device="cpu", head="student-t",
                      head_base="garch")  # fmt: skip
    spec = FeatureSpec(window=10, features=("log_return", "garch_sigma"))
    model = RecurrentForecaster(spec, cfg)
    run(model.fit(prices.iloc[:500]))
    close = prices["Close"].to_numpy()
    assert model.garch == fit_garch(close[:500])
    ends = np.arange(499, 600)
    mu, sd, nu = model.predict_distribution(prices, ends)
    base = garch_sigma_path(close, model.garch)[ends]
    ratio = sd / base  # the head's multiple: the network's scale in units of GARCH's sigma
    assert np.all(np.isfinite(ratio)) and 0.2 < np.median(ratio) < 5
    np.testing.assert_allclose(mu, model.predict_target(prices, ends))
    moved = prices.copy()
    moved.iloc[550:, 0] *= 1.4  # bars 550 on: forecasts from windows ending before 550 stay
    mu2, sd2, _ = model.predict_distribution(moved, ends)
    keep = ends < 550
    np.testing.assert_array_equal(sd2[keep], sd[keep])
    np.testing.assert_array_equal(mu2[keep], mu[keep])
    assert not np.allclose(sd2[~keep], sd[~keep])
    run(model.fit(prices.iloc[:600], warm_start=True, epochs=1, recent=60))
    assert model.garch == fit_garch(close[:600]) and model.for_fit(0).garch == fit_garch(
        close[:500]
    )
    model.save(tmp_path / "g")
    again = RecurrentForecaster.load(tmp_path / "g")
    assert again.garch == model.garch and again.for_fit(0).garch == model.for_fit(0).garch
    for a, b in zip(model.predict_distribution(prices, ends),
                    again.predict_distribution(prices, ends), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


def test_a_head_base_needs_a_distribution_head():
    with pytest.raises(ModelError, match="Unknown head base 'egarch'; choose none or garch"):
        TrainConfig(head="student-t", head_base="egarch")
    with pytest.raises(ModelError, match="choose the gaussian or student-t head"):
        TrainConfig(head_base="garch")

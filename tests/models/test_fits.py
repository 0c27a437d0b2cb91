"""Every fit kept (issue 18.2) and the first fit's weights learning through the bar before the
test span (issue 18.3): the catch-up after early stopping, per-fit weights saved and reopened."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import stockapp.models.forecaster as forecaster_module
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.errors import ModelError
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig, TrainProgress

SPEC = FeatureSpec(window=8, features=("log_return", "hl_range"))
CFG = TrainConfig(hidden=4, layers=1, epochs=4, batch_size=32, patience=1, device="cpu", seed=3)


def _prices(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    close = 30 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, n)))
    idx = pd.bdate_range("2016-01-04", periods=n, name="Date")
    return pd.DataFrame({"High": close * 1.01, "Low": close * 0.99, "Close": close}, index=idx)


def _day(stamp) -> str:
    return f"{stamp:%Y-%m-%d}"


def test_a_fresh_fit_goes_on_learning_from_its_validation_slice_for_the_chosen_epochs():
    prices = _prices()
    model = RecurrentForecaster(SPEC, CFG)
    events: list = []
    result = drain(model.fit(prices), events.append)
    epochs = [e for e in events if isinstance(e, TrainProgress) and e.kind == "epoch"]
    fit = [e for e in epochs if e.phase == "fit"]
    more = [e for e in epochs if e.phase == "catch-up"]
    assert len(fit) == len(result.train_losses) and result.best_epoch >= 1
    # As many catch-up epochs as early stopping chose, after the fit's own.
    assert len(more) == len(result.catchup_losses) == result.best_epoch
    assert epochs == fit + more and all(e.epochs == result.best_epoch for e in more)
    assert len(result.catchup_seconds) == result.best_epoch
    assert result.trained_through == result.weights_through == _day(prices.index[-1])
    assert result.validated_from is not None
    assert f"so the weights learnt through {_day(prices.index[-1])}." in result.message
    # The loss curves are the fit's: the catch-up adds no epochs to them (nor to the
    # per-epoch gradient curves, recorded on the fit's own fixed batch).
    assert len(result.val_losses) == len(result.train_losses)
    assert len(result.gradient_flow_epochs) == len(result.train_losses)


def test_without_a_validation_slice_there_is_nothing_to_catch_up():
    prices = _prices()
    model = RecurrentForecaster(SPEC, TrainConfig(**{**CFG.to_dict(), "val_fraction": 0.0}))
    events: list = []
    result = drain(model.fit(prices), events.append)
    assert not result.catchup_losses and result.validated_from is None
    assert not [e for e in events if getattr(e, "phase", "") == "catch-up"]
    assert result.weights_through == result.trained_through == _day(prices.index[-1])


def test_cancelled_while_catching_up_the_fit_keeps_its_early_stopped_weights(monkeypatch):
    prices = _prices()
    stop = {"now": False}
    before: dict[str, torch.Tensor] = {}
    real = forecaster_module.train

    def spy(net, data, cfg, should_stop=None, **kw):
        if kw.get("phase") == "catch-up":  # cancel before the catch-up's first batch
            before.update({k: v.detach().clone() for k, v in net.state_dict().items()})
            stop["now"] = True
        return (yield from real(net, data, cfg, should_stop, **kw))

    monkeypatch.setattr(forecaster_module, "train", spy)
    model = RecurrentForecaster(SPEC, CFG)
    result = drain(model.fit(prices, lambda: stop["now"]))
    assert before, "the catch-up never started"
    for name, value in model.net.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert result.stop_reason == "cancelled" and not result.catchup_losses
    # The weights learnt through the last target before the validation slice.
    val = prices.index.get_loc(pd.Timestamp(result.validated_from))
    assert result.weights_through == _day(prices.index[val - 1]) != result.trained_through
    assert result.message.endswith(f"learnt only through {result.weights_through}.")


@pytest.fixture(scope="module")
def backtested():
    prices = _prices()
    model = RecurrentForecaster(SPEC, TrainConfig(**{**CFG.to_dict(), "patience": 0}))
    settings = BacktestSettings(test_fraction=0.2, refit_every=20, refit_bars=60)
    result = drain(walk_forward(prices, SPEC, model, settings))
    return prices, model, result


def test_the_model_keeps_every_fits_weights_and_each_fit_remakes_its_own_forecasts(backtested):
    prices, model, result = backtested
    assert len(result.fits) == model.fit_count == 3
    start = prices.index.get_loc(result.dates[0])
    segments = result.segment_ids()
    for k in range(3):
        fit = model.for_fit(k)
        assert fit.last_result.weights_through == result.fits[k].weights_through
        bars = np.flatnonzero(segments == k)
        again = fit.predict_next(prices, start + bars - 1)
        np.testing.assert_allclose(again, result.forecasts["model"][bars], rtol=1e-6)
        if k < 2:  # an earlier fit does not make the later segments' forecasts
            later = np.flatnonzero(segments > k)
            assert not np.allclose(
                fit.predict_next(prices, start + later - 1), result.forecasts["model"][later]
            )
    # The last fit is the model itself.
    last = model.for_fit(2).net.state_dict()
    assert all(torch.equal(v.cpu(), last[k]) for k, v in model.net.state_dict().items())
    with pytest.raises(ModelError, match="there is no fit 3"):
        model.for_fit(3)


def test_every_fit_is_saved_beside_the_model_and_reopened(backtested, tmp_path):
    _, model, result = backtested
    model.save(tmp_path / "m")
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["fits.json", "fits.safetensors", "model.json", "model.safetensors"]
    # The earlier two fits, each the size of the model's own weights (plus a small header).
    one = (tmp_path / "m" / "model.safetensors").stat().st_size
    assert 2 * one <= (tmp_path / "m" / "fits.safetensors").stat().st_size <= 2 * one + 2048
    assert json.loads((tmp_path / "m" / "model.json").read_text())["fits"] == 3
    loaded = RecurrentForecaster.load(tmp_path / "m")
    assert loaded.fit_count == 3
    for k in range(3):
        mine, theirs = model.for_fit(k), loaded.for_fit(k)
        assert mine.last_result == theirs.last_result
        for name, value in mine.net.state_dict().items():
            assert torch.equal(value, theirs.net.state_dict()[name]), (k, name)
    # A model trained once writes no fits files and reopens with its one fit.
    once = RecurrentForecaster(SPEC, CFG)
    drain(once.fit(_prices()))
    once.save(tmp_path / "once")
    assert sorted(p.name for p in (tmp_path / "once").iterdir()) == [
        "model.json", "model.safetensors"
    ]  # fmt: skip
    assert RecurrentForecaster.load(tmp_path / "once").fit_count == 1


def test_a_model_folder_missing_its_earlier_fits_is_refused_in_one_sentence(backtested, tmp_path):
    _, model, _ = backtested
    model.save(tmp_path / "m")
    (tmp_path / "m" / "fits.safetensors").unlink()
    with pytest.raises(ModelError, match="records 3 fits but has no fits.safetensors") as info:
        RecurrentForecaster.load(tmp_path / "m")
    assert "\n" not in str(info.value)
    model.save(tmp_path / "n")
    records = json.loads((tmp_path / "n" / "fits.json").read_text())
    records["fits"] = records["fits"][:1]
    (tmp_path / "n" / "fits.json").write_text(json.dumps(records))
    with pytest.raises(ModelError, match="do not belong together"):
        RecurrentForecaster.load(tmp_path / "n")


def test_a_sweeps_runs_keep_only_their_last_fit_and_explaining_says_so(tmp_path):
    """Sweeps write many run folders: theirs keep the last fit's weights only (as before), and
    an earlier fit's forecast is explained with a sentence saying so."""
    from stockapp.core.runs import load_run
    from stockapp.models.explain import choose_fit
    from stockapp.models.sweep import run_sweep
    from tests.models.test_sweep import _request, _short

    summary = drain(run_sweep([_short()], _request(refit_every=[30]), tmp_path, engine="inline"))
    assert summary is not None
    (run,) = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    assert sorted(p.name for p in (run / "model").iterdir()) == ["model.json", "model.safetensors"]
    result, manifest = load_run(run)
    meta = json.loads((run / "model" / "model.json").read_text())
    assert manifest.fit_weights == "last fit" and len(result.fits) > 1
    assert meta["fits"] == len(result.fits) and meta["earlier_fits_saved"] is False
    model = RecurrentForecaster.load(run / "model")
    assert model.fit_count == 1 and model.omitted_fits == len(result.fits) - 1
    first = choose_fit(model, result, 0)
    assert first.index == 0 and first.used == len(result.fits) - 1
    assert first.note.startswith(
        "This sweep run kept only its last fit's weights, as sweeps do to stay small, so the "
        f"forecast made by fit 1 of {len(result.fits)} (trained through "
    )
    assert choose_fit(model, result, result.n - 1).note is None

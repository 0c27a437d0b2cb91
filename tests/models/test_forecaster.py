"""The user-facing forecaster: no look-ahead, save/load, feature checks, warm starts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.errors import ModelError
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig
from tests.models.conftest import run

SPEC = FeatureSpec(window=10, features=("log_return", "log_volume_change"), target="return")


def small(spec: FeatureSpec = SPEC, **kw) -> RecurrentForecaster:
    base = dict(hidden=8, layers=1, epochs=2, batch_size=32, patience=0, device="cpu")
    return RecurrentForecaster(spec, TrainConfig(**{**base, **kw}))


@pytest.fixture
def fitted(aapl) -> RecurrentForecaster:
    model = small()
    run(model.fit(aapl.iloc[:300]))
    return model


def test_fit_reports_and_remembers(fitted):
    assert fitted.is_fitted and fitted.last_result.stop_reason == "completed"
    assert len(fitted.last_result.train_losses) == 2
    assert fitted.device_name.startswith("CPU")
    assert fitted.scaler.feature_mean.shape == (2,)


def test_predict_next_ignores_rows_after_the_last_end(fitted, aapl):
    ends = np.arange(300, 350)
    before = fitted.predict_next(aapl, ends)
    changed = aapl.copy()
    changed.iloc[351:, :] = changed.iloc[351:, :].to_numpy() * 3.0
    assert np.array_equal(fitted.predict_next(changed, ends), before)
    # ...while a change inside the windows does reach the forecast.
    changed.iloc[345, changed.columns.get_loc("Close")] *= 1.1
    assert not np.array_equal(fitted.predict_next(changed, ends), before)


def test_price_forecast_is_built_from_the_last_close(fitted, aapl):
    ends = np.array([320, 330, 399])
    target = fitted.predict_target(aapl, ends)
    close = aapl["Close"].to_numpy()
    np.testing.assert_allclose(fitted.predict_next(aapl, ends), close[ends] * np.exp(target))
    assert fitted.predict_next(aapl, np.array([], dtype=int)).shape == (0,)


def test_save_then_load_gives_identical_forecasts(fitted, aapl, tmp_path):
    fitted.data_fingerprint = "AAPL:abc123"
    fitted.save(tmp_path / "m")
    loaded = RecurrentForecaster.load(tmp_path / "m")
    ends = np.arange(300, 399)
    assert np.array_equal(loaded.predict_next(aapl, ends), fitted.predict_next(aapl, ends))
    assert loaded.spec == fitted.spec and loaded.cfg == fitted.cfg
    assert loaded.data_fingerprint == "AAPL:abc123"
    assert loaded.last_result == fitted.last_result
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["model_type"] == "lstm" and meta["sizes"]["hidden"] == 8
    assert set(meta["versions"]) == {"stockapp", "torch", "numpy", "pandas", "python"}
    assert meta["saved_at"] and meta["format"] == 1


def test_load_refuses_weights_of_another_shape(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    meta = json.loads(path.read_text())
    meta["sizes"]["hidden"] = 16
    path.write_text(json.dumps(meta))
    with pytest.raises(
        ModelError, match=r"do not fit the network it describes \(LSTM, 1 layer\(s\) of 16 units\)"
    ):
        RecurrentForecaster.load(tmp_path / "m")


def test_load_refuses_an_incomplete_description(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    meta = json.loads(path.read_text())
    del meta["scaler"]
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="incomplete or invalid"):
        RecurrentForecaster.load(tmp_path / "m")


def test_missing_feature_column_is_named(fitted, aapl):
    no_volume = aapl.drop(columns=["Volume"])
    with pytest.raises(ModelError, match="'log_volume_change' needs a Volume column"):
        fitted.check_compatible(no_volume.columns)
    with pytest.raises(ModelError, match="Volume"):
        fitted.predict_next(no_volume, np.array([350]))
    with pytest.raises(ModelError, match="High/Low"):
        small(FeatureSpec(window=10, features=("hl_range",))).check_compatible(["Close"])
    with pytest.raises(ModelError, match="no Close column"):
        fitted.check_compatible(["Open"])


def test_unfitted_model_says_so(aapl, tmp_path):
    model = small()
    with pytest.raises(ModelError, match="not been trained yet"):
        model.predict_next(aapl, np.array([350]))
    with pytest.raises(ModelError, match="nothing to save"):
        model.save(tmp_path / "m")


def test_warm_start_continues_and_epochs_override(fitted, aapl):
    net, scaler = fitted.net, fitted.scaler
    before = {k: v.clone() for k, v in net.state_dict().items()}
    result = run(fitted.fit(aapl.iloc[:320], warm_start=True, epochs=1))[1]
    assert len(result.train_losses) == 1
    # A refit trains on every window up to the last bar given: no validation slice.
    assert result.val_losses == [] and result.validated_from is None
    assert result.trained_through == f"{aapl.index[319]:%Y-%m-%d}"
    assert fitted.net is net and fitted.scaler is scaler
    assert any(not (v == before[k]).all() for k, v in net.state_dict().items())
    run(fitted.fit(aapl.iloc[:320], epochs=1))
    assert fitted.net is not net and fitted.scaler is not scaler


def test_a_fresh_fit_is_seeded(aapl):
    a, b = small(), small()
    ra, rb = run(a.fit(aapl.iloc[:300]))[1], run(b.fit(aapl.iloc[:300]))[1]
    assert ra.train_losses == rb.train_losses
    ends = np.arange(300, 310)
    assert np.array_equal(a.predict_next(aapl, ends), b.predict_next(aapl, ends))


def test_a_refit_runs_its_epochs_and_keeps_the_final_weights(fitted, aapl):
    """No early stopping and no rollback to a 'best' epoch on the refit's own training loss."""
    fitted.cfg = TrainConfig(**{**fitted.cfg.to_dict(), "patience": 1})
    result = run(fitted.fit(aapl.iloc[:330], warm_start=True, epochs=4, recent=60))[1]
    assert len(result.train_losses) == 4 and result.stop_reason == "completed"
    assert (
        result.best_epoch == 4 and result.message == "Completed 4 epochs; kept the final weights."
    )


def test_a_fresh_fit_names_its_training_and_validation_bars(fitted, aapl):
    r = fitted.last_result
    # 300 bars, window 10: windows end at bars 10..298, the last 15% (43) for validation.
    assert r.trained_from == f"{aapl.index[11]:%Y-%m-%d}"
    assert r.validated_from == f"{aapl.index[299 - 43 + 1]:%Y-%m-%d}"
    assert r.trained_through == f"{aapl.index[299]:%Y-%m-%d}"

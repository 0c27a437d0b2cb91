"""Several targets in one run (issue 24): a model each, exactly as one-series runs; one network
across them (--global) on a shared nonlinear rule; the run folder's layout; no look-ahead across
series. Small, seeded, CPU."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.run_index import read_summary
from stockapp.core.runs import load_run
from stockapp.core.walkforward import BacktestSettings
from stockapp.data.series import QualityReport, make_series
from stockapp.errors import BacktestError
from stockapp.models.runner import run_backtest
from stockapp.models.several import run_several
from stockapp.models.trainer import TrainConfig


def _series(name: str, returns: np.ndarray, start="2012-01-02"):
    dates = pd.bdate_range(start, periods=returns.size, name="Date")
    frame = pd.DataFrame({"Close": 50 * np.exp(np.cumsum(returns))}, index=dates)
    report = QualityReport(rows=len(frame), first=dates[0], last=dates[-1])
    return make_series(frame, name, f"test {name}", report)


def _rule(n: int, seed: int) -> np.ndarray:
    """One nonlinear rule every series shares: a fall is mostly undone the next day, a rise is
    not followed at all; plus noise."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    noise = rng.normal(0, 0.01, n)
    for t in range(1, n):
        r[t] = (-0.9 * r[t - 1] if r[t - 1] < 0 else 0.0) + noise[t]
    return r


CFG = TrainConfig(model="gru", hidden=8, layers=1, epochs=8, batch_size=64, lr=1e-2, patience=0,
                  device="cpu", seed=0)  # fmt: skip
SPEC = FeatureSpec(window=6)


def test_a_model_each_is_exactly_a_one_series_run_and_the_folder_has_one_table(tmp_path):
    series = [_series(f"S{k}", _rule(420, k)) for k in range(3)]
    settings = BacktestSettings(test_fraction=0.3)
    outcome = drain(run_several(series, SPEC, CFG, settings))
    for s in series:
        alone = drain(run_backtest(s, SPEC, CFG, settings))
        np.testing.assert_array_equal(
            outcome.outcomes[s.name].result.forecasts["model"], alone.result.forecasts["model"]
        )
    folder = outcome.save(tmp_path / "run")
    table = pd.read_csv(folder / "forecasts.csv")
    assert table.columns[0] == "series" and list(table["series"].unique()) == ["S0", "S1", "S2"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["series"]) == {"S0", "S1", "S2"} and metrics["global"] is False
    assert metrics["series"]["S1"]["verdict"] in ("better", "worse", "tie")
    assert metrics["cross_section"]["n_series"] == 3 and metrics["cross_section"]["summary"]
    result, manifest = load_run(folder, series="S1")
    assert manifest.data_name == "S1"
    assert result.metrics["model"].rmse == pytest.approx(metrics["series"]["S1"]["rmse"])
    with pytest.raises(BacktestError, match="holds a run of 3 series"):
        load_run(folder)
    assert (folder / "model" / "2" / "model.json").is_file()
    summary = read_summary(folder)  # the runs list names the series together
    assert summary.data == "S0, S1, S2" and summary.model == "GRU" and not summary.problem


def test_one_network_across_series_sharing_a_rule_does_at_least_as_well():
    series = [_series(f"S{k}", _rule(400, 10 + k)) for k in range(6)]
    settings = BacktestSettings(test_fraction=0.4)
    each = drain(run_several(series, SPEC, CFG, settings))
    shared = drain(run_several(series, SPEC, CFG, settings, global_model=True))
    for s in series:
        alone = each.outcomes[s.name].result.metrics["model"].rmse
        together = shared.outcomes[s.name].result.metrics["model"].rmse
        assert together <= alone * 1.002, s.name
    assert shared.outcomes["S0"].result.fits[0].message.endswith("(S0, S1, S2, S3, S4, S5).")


def test_the_global_model_reads_no_series_after_the_bar_before_a_forecast():
    series = [_series(f"S{k}", _rule(400, 20 + k)) for k in range(3)]
    settings = BacktestSettings(test_fraction=0.3, refit_every=40)
    base = drain(run_several(series, SPEC, CFG, settings, global_model=True))
    dates = base.outcomes["S0"].result.dates
    cut = dates[len(dates) // 2]
    frame = series[2].frame.copy()
    later = frame.index > cut
    frame.loc[later, "Close"] *= np.exp(np.random.default_rng(1).normal(0, 0.05, later.sum()))
    moved = [*series[:2], make_series(frame, "S2", "test S2", series[2].report)]
    other = drain(run_several(moved, SPEC, CFG, settings, global_model=True))
    upto = dates <= cut
    for name in ("S0", "S1", "S2"):
        a = base.outcomes[name].result.forecasts["model"]
        b = other.outcomes[name].result.forecasts["model"]
        np.testing.assert_array_equal(a[upto], b[upto])
        assert not np.array_equal(a[~upto], b[~upto])


def test_a_global_model_learns_on_the_dates_the_series_share():
    series = [_series("A", _rule(400, 1)), _series("B", _rule(380, 2), start="2012-01-30")]
    outcome = drain(
        run_several(series, SPEC, CFG, BacktestSettings(test_fraction=0.3), global_model=True)
    )
    assert outcome.notes == ("A: 20 bars on dates the other series lack were left out.",)
    a, b = (outcome.outcomes[n].result.dates for n in "AB")
    assert a.equals(b)


def test_other_series_as_inputs_go_to_every_target_of_a_global_model():
    from stockapp.core.covariates import Covariate

    series = [_series(f"S{k}", _rule(300, 30 + k)) for k in range(3)]
    other = _series("X", _rule(280, 40), start="2012-01-30").frame
    outcome = drain(
        run_several(series, SPEC, CFG, BacktestSettings(test_fraction=0.3),
                    covariates=(Covariate("X", other),), global_model=True)
    )  # fmt: skip
    assert outcome.global_model.n_inputs == 2 + 3
    for name in ("S0", "S1", "S2"):
        m = outcome.outcomes[name].manifest
        assert m.spec().features == ("log_return", "with:X:return")
        assert m.covariates[0]["name"] == "X" and m.covariates[0]["carried_forward"] == 0
    assert any(n.startswith("X starts on 2012-01-30") for n in outcome.notes)

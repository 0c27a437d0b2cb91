"""The walk-forward engine: segments, refits, and no look-ahead as a property."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stockapp.core.distribution import PREFIXES
from stockapp.core.features import FeatureSpec
from stockapp.core.manifest import RunManifest
from stockapp.core.progress import drain
from stockapp.core.walkforward import (
    BacktestProgress,
    BacktestSettings,
    first_test_bar,
    plan_segments,
    walk_forward,
)
from stockapp.errors import BacktestError


class MeanReversion:
    """A tiny stand-in for the network: fitted on its past, forecasts from the last return."""

    def __init__(self) -> None:
        self.fits: list[tuple[pd.Timestamp, bool, int | None, int]] = []
        self.recent: list[int | None] = []
        self.mu = 0.0

    def fit(self, prices, should_stop=None, warm_start=False, epochs=None, recent=None):
        self.fits.append((prices.index[-1], warm_start, epochs, len(prices)))
        self.recent.append(recent)
        self.mu = float(np.diff(np.log(prices["Close"].to_numpy())).mean())
        yield "epoch"
        return SimpleNamespace(
            train_losses=[1.0],
            epoch_seconds=[0.01],
            best_epoch=1,
            stop_reason="completed",
            device="cpu",
            cuda_graphs=False,
            message="done",
        )

    def predict_next(self, prices, ends):
        c = prices["Close"].to_numpy()
        r = np.log(c[ends] / c[ends - 1])
        return c[ends] * np.exp(self.mu - 0.3 * r)


def _prices(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    idx = pd.bdate_range("2010-01-04", periods=n, name="Date")
    return pd.DataFrame({"Close": close}, index=idx)


def _run(prices, settings, spec=None):
    spec = spec or FeatureSpec(window=10)
    fc = MeanReversion()
    events: list = []
    result = drain(walk_forward(prices, spec, fc, settings), events.append)
    return result, fc, events


def test_segments_cover_the_test_span_once():
    s = BacktestSettings(refit_every=20)
    segs = plan_segments(100, 45, s)
    assert [(g.test_start, g.test_end) for g in segs] == [(45, 65), (65, 85), (85, 100)]
    assert all(g.train_end == g.test_start and g.train_start == 0 for g in segs)
    rolling = plan_segments(
        100, 45, BacktestSettings(refit_every=20, refit_mode="rolling", rolling_bars=30)
    )
    # The first fit always learns from every bar before the test span; refits roll.
    assert [g.train_start for g in rolling] == [0, 35, 55]
    assert len(plan_segments(100, 45, BacktestSettings())) == 1


def test_without_refits_the_rolling_length_is_ignored_and_says_so():
    once = BacktestSettings(refit_every=0, refit_mode="rolling", rolling_bars=30)
    assert [g.train_start for g in plan_segments(100, 45, once)] == [0]
    assert once.to_dict()["rolling_applied"] is False
    assert BacktestSettings(refit_every=5, refit_mode="rolling").to_dict()["rolling_applied"]
    assert not BacktestSettings(refit_every=5).to_dict()["rolling_applied"]
    assert BacktestSettings.from_dict(once.to_dict()) == once


def test_test_start_by_fraction_or_date():
    dates = pd.bdate_range("2020-01-01", periods=200)
    assert first_test_bar(dates, BacktestSettings(test_fraction=0.25), 10) == 150
    assert first_test_bar(dates, BacktestSettings(test_start=str(dates[120].date())), 10) == 120
    with pytest.raises(BacktestError, match="after the last bar"):
        first_test_bar(dates, BacktestSettings(test_start="2031-01-01"), 10)
    with pytest.raises(BacktestError, match="Only 5 bars come before the test span"):
        first_test_bar(dates, BacktestSettings(test_start=str(dates[5].date())), 10)
    with pytest.raises(BacktestError, match="not a date"):
        first_test_bar(dates, BacktestSettings(test_start="soon"), 10)


@pytest.mark.parametrize("refit_every", [0, 20])
def test_fits_see_only_bars_before_their_segment(refit_every):
    prices = _prices()
    result, fc, events = _run(prices, BacktestSettings(refit_every=refit_every, refit_epochs=2))
    assert len(result.dates) == 80 and result.dates[0] == prices.index[320]
    for (last_seen, _, _, _), first_test in zip(fc.fits, result.refit_dates, strict=True):
        assert last_seen < first_test
    assert len(fc.fits) == (1 if refit_every == 0 else 4)
    assert [f[1] for f in fc.fits] == [False] + [True] * (len(fc.fits) - 1)
    assert [f[2] for f in fc.fits] == [None] + [2] * (len(fc.fits) - 1)
    # Every fit (expanding) is handed the whole past up to the bar before its segment; refits
    # sample their epochs from it with the newest refit_bars windows always in.
    assert [f[3] for f in fc.fits] == [320, 340, 360, 380][: len(fc.fits)]
    assert fc.recent == [None] + [250] * (len(fc.fits) - 1)
    assert sum(isinstance(e, BacktestProgress) for e in events) == len(fc.fits)
    np.testing.assert_allclose(result.forecasts["persistence"], prices["Close"].to_numpy()[319:-1])
    assert set(result.metrics) == {"model", "persistence", "drift", "ar"}


@pytest.mark.parametrize(
    ("refit_every", "mode"), [(0, "expanding"), (20, "expanding"), (20, "rolling")]
)
def test_no_look_ahead(refit_every, mode):
    """Changing any price after D leaves everything dated at or before D unchanged."""
    prices = _prices()
    settings = BacktestSettings(
        test_start=str(prices.index[320].date()),
        refit_every=refit_every,
        refit_mode=mode,
        rolling_bars=150,
    )
    base, _, _ = _run(prices, settings)
    base_frame = base.forecasts_frame()
    rng = np.random.default_rng(7)
    for cut in (320, 333, 350, 399):
        changed = prices.copy()
        changed.iloc[cut + 1 :, 0] *= rng.uniform(0.5, 2.0, len(prices) - cut - 1)
        other, _, _ = _run(changed, settings)
        frame = other.forecasts_frame()
        upto = base_frame["date"] <= f"{prices.index[cut]:%Y-%m-%d}"
        cols = ["forecast", "naive", "drift", "ar", "position", "strategy_equity", "buyhold_equity"]
        pd.testing.assert_frame_equal(frame.loc[upto, cols], base_frame.loc[upto, cols])
        if cut < 399:
            assert not frame.loc[~upto, "realised"].equals(base_frame.loc[~upto, "realised"])


def test_cancelling_returns_none():
    prices = _prices()
    fc = MeanReversion()
    gen = walk_forward(prices, FeatureSpec(window=10), fc, BacktestSettings(), lambda: True)
    with pytest.raises(StopIteration) as stop:
        while True:
            next(gen)
    assert stop.value.value is None


def test_settings_round_trip_and_validate():
    s = BacktestSettings(test_fraction=0.3, refit_every=5, refit_mode="rolling")
    assert BacktestSettings.from_dict(s.to_dict()) == s
    with pytest.raises(BacktestError, match="test fraction"):
        BacktestSettings(test_fraction=1.5)
    with pytest.raises(BacktestError, match="refit mode"):
        BacktestSettings(refit_mode="sometimes")


class MeanReversionBands(MeanReversion):
    """The stand-in with a distribution: sigma from the last 10 returns, t with 5 dof."""

    is_distribution = True

    def predict_distribution(self, prices, ends):
        c = np.log(prices["Close"].to_numpy())
        r = np.diff(c, prepend=np.nan)
        sd = np.array([np.std(r[e - 9 : e + 1]) for e in ends])
        mu = np.log(self.predict_next(prices, ends) / np.exp(c[ends]))
        return mu, sd, np.full(len(ends), 5.0)


BAND_COLS = [
    f"{p}{c}"
    for p in ("", "garch_", "ewma_", "rolling_")
    for c in ("mu", "sigma", "raw_sigma", "lower_50", "upper_50", "lower_80", "upper_80",
              "lower_95", "upper_95")
] + ["nu", "garch_nu"]  # fmt: skip


def _states(result) -> pd.DataFrame:
    """Every forecaster's calibration state per test bar (what the bar was calibrated with)."""
    cols = {"date": result.forecasts_frame()["date"]}
    for key, c in result.bands.states.items():
        cols[f"{key}_scale"] = c.scale[:-1]
        cols[f"{key}_group"] = c.group
        if c.slope is not None:
            cols[f"{key}_slope"] = c.slope[:-1]
        for level, a in c.alpha.items():
            cols[f"{key}_alpha_{level}"] = a
    return pd.DataFrame(cols)


@pytest.mark.parametrize(
    ("refit_every", "mode"), [(0, "expanding"), (20, "expanding"), (20, "rolling")]
)
def test_no_look_ahead_in_sigma_bands_and_calibration(refit_every, mode):
    """Changing any price after D leaves every sigma, band and calibration state dated at or
    before D unchanged, and those of the bar after D (made before its close): raw and
    calibrated, with and without refits, rolling and expanding."""
    prices = _prices()
    settings = BacktestSettings(
        test_start=str(prices.index[320].date()), refit_every=refit_every, refit_mode=mode,
        rolling_bars=150,
    )  # fmt: skip
    spec = FeatureSpec(window=10)

    def run(p):
        return drain(walk_forward(p, spec, MeanReversionBands(), settings), lambda e: None)

    base = run(prices)
    base_frame, base_states = base.forecasts_frame(), _states(base)
    assert set(BAND_COLS) <= set(base_frame.columns)
    assert base_frame[BAND_COLS].notna().all().all()
    assert base.bands.calibration == "aci" and set(base.bands.states) == set(PREFIXES)
    # the calibration moved something: its sigmas are not the raw ones
    assert not np.allclose(base_frame["sigma"], base_frame["raw_sigma"])
    rng = np.random.default_rng(7)
    for cut in (320, 345, 398):
        changed = prices.copy()
        changed.iloc[cut + 1 :, 0] *= rng.uniform(0.5, 2.0, len(prices) - cut - 1)
        again = run(changed)
        frame, states = again.forecasts_frame(), _states(again)
        # through bar cut+1 too: its forecast and calibration are made before its close
        last = prices.index[min(cut + 1, len(prices) - 1)]
        upto = base_frame["date"] <= f"{last:%Y-%m-%d}"
        pd.testing.assert_frame_equal(frame.loc[upto, BAND_COLS], base_frame.loc[upto, BAND_COLS])
        pd.testing.assert_frame_equal(states.loc[upto], base_states.loc[upto])
        if cut < 398:  # bar cut+1's forecast still uses closes through cut only
            later = base_frame["date"] > f"{prices.index[cut + 1]:%Y-%m-%d}"
            assert not np.array_equal(
                frame.loc[later, "garch_sigma"], base_frame.loc[later, "garch_sigma"]
            )
            # and the calibration learns from the changed outcomes from bar cut+2 on
            assert not np.array_equal(
                states.loc[later, "model_scale"], base_states.loc[later, "model_scale"]
            )


def test_the_calibration_slice_reads_only_bars_before_the_test_span():
    """The slice the calibration starts from: forecasts of the bars just before the test span,
    unchanged by any change to the test span's prices."""
    from stockapp.core.calibration import CALIBRATION_BARS
    from stockapp.core.walkforward import calibration_slice

    prices = _prices()
    spec = FeatureSpec(window=10)
    fc = MeanReversionBands()
    drain(fc.fit(prices.iloc[:320]), lambda e: None)
    before = calibration_slice(prices, 320, spec, fc, CALIBRATION_BARS)
    assert before.realised_return.size == CALIBRATION_BARS  # bars 70 .. 319
    close = prices["Close"].to_numpy()
    np.testing.assert_allclose(before.realised_return, np.diff(np.log(close[69:320])))
    changed = prices.copy()
    changed.iloc[320:, 0] *= 3.0
    again = calibration_slice(changed, 320, spec, fc, CALIBRATION_BARS)
    for key, d in before.dists.items():
        for a, b in zip(d, again.dists[key], strict=True):
            if a is not None:
                np.testing.assert_array_equal(a, b)
    short = calibration_slice(prices, 320, spec, fc, 1000)  # as far back as the window allows
    assert short.realised_return.size == 320 - spec.window - 1


def test_calibration_none_keeps_the_raw_bands():
    from stockapp.core.calibration import CalibrationSettings

    prices = _prices()
    settings = BacktestSettings(test_start=str(prices.index[300].date()))
    spec = FeatureSpec(window=10)
    raw = drain(walk_forward(prices, spec, MeanReversionBands(), settings,
                             calibration=CalibrationSettings("none")), lambda e: None)  # fmt: skip
    cal = drain(walk_forward(prices, spec, MeanReversionBands(), settings), lambda e: None)
    assert raw.bands.raw is None and raw.bands.calibration == "none"
    frame = raw.forecasts_frame()
    assert "raw_sigma" not in frame.columns
    # the uncalibrated scores of a calibrated run are the scores of the run without calibration
    m_raw, m_cal = raw.metrics_dict(), cal.metrics_dict()
    assert "uncalibrated" not in m_raw["bands"] and m_raw["bands"]["calibration"] == "none"
    assert m_cal["bands"]["calibration"] == "aci"
    assert _flat(m_cal["bands"]["uncalibrated"]) == pytest.approx(
        _flat({k: v for k, v in m_raw["bands"].items()
               if k not in ("calibration", "after_jump_from", "after_jump_bars")}),
        nan_ok=True,
    )  # fmt: skip
    np.testing.assert_allclose(cal.forecasts_frame()["raw_sigma"], frame["sigma"])


def _flat(d: dict, prefix: str = "") -> dict:
    """Nested dicts and lists as one flat dict (pytest.approx compares flat ones only)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif isinstance(v, (list, tuple)):
            out.update({f"{prefix}{k}.{i}": x for i, x in enumerate(v)})
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_bands_scored_saved_and_reopened(tmp_path):
    from stockapp.core.runs import load_run, save_run

    prices = _prices()
    settings = BacktestSettings(test_start=str(prices.index[300].date()), refit_every=50)
    result = drain(walk_forward(prices, FeatureSpec(window=10), MeanReversionBands(), settings),
                   lambda e: None)  # fmt: skip
    m = result.metrics_dict("Stand-in")
    keys = {"coverage_50", "coverage_80", "coverage_95", "kupiec_pvalue_80",
            "christoffersen_pvalue_80", "interval_score_80", "log_score", "crps",
            "dm_pvalue_log_score_vs_garch", "dm_better_pvalue_log_score_vs_garch",
            "verdict_log_score_vs_garch"}  # fmt: skip
    keys |= {f"{t}_pvalue_{level}" for t in ("kupiec", "independence", "cc")
             for level in (50, 80, 95)}  # fmt: skip
    # issue 22: coverage by regime, for every forecaster, calibrated and not
    keys |= {f"coverage_{level}_{where}" for level in (50, 80, 95)
             for where in ("by_tercile", "after_jump")}  # fmt: skip
    assert keys <= set(m["bands"])
    assert all(keys <= set(m["bands"][k]) for k in ("garch", "ewma", "rolling"))
    assert keys <= set(m["bands"]["uncalibrated"])
    assert all(keys <= set(m["bands"]["uncalibrated"][k]) for k in ("garch", "ewma", "rolling"))
    assert len(m["bands"]["coverage_80_by_tercile"]) == 3
    assert m["bands"]["calibration"] == "aci"
    assert m["bands"]["after_jump_bars"] == 60
    assert m["bands"]["after_jump_from"] in set(result.forecasts_frame()["date"])
    assert m["bands"]["summary"].startswith("Stand-in's 80% bands held")
    assert m["bands"]["uncalibrated"]["summary"].startswith("Stand-in's 80% bands held")
    assert set(m["strategy_vol"]) >= set(m["strategy"])
    assert m["strategy_vol"]["target_volatility"] == 0.10  # beside the realised "volatility"
    assert m["strategy_vol"]["summary"].startswith(
        "The volatility-targeted rule aimed at 10% a year and realised "
        f"{m['strategy_vol']['volatility']:.1%}"
    )
    save_run(tmp_path / "run", result, RunManifest.from_dict({"x": 1}))
    again, _ = load_run(tmp_path / "run")
    assert again.bands is not None
    reopened = again.metrics_dict("Stand-in")
    for d in (reopened["bands"], m["bands"]):
        d.pop("calibration_summary")
    assert _flat(reopened["bands"]) == pytest.approx(_flat(m["bands"]), nan_ok=True)
    assert reopened["strategy_vol"].pop("summary") == m["strategy_vol"].pop("summary")
    assert reopened["strategy_vol"] == pytest.approx(m["strategy_vol"])


def test_the_first_fit_span_is_one_rule_for_the_engine_the_reference_and_the_window():
    from stockapp.core.reference import backtest_spans, fit_spans
    from stockapp.core.walkforward import MIN_FIT_WINDOWS, first_fit_span, min_train_bars

    prices = _prices(400)
    dates = prices.index
    settings = BacktestSettings(test_fraction=0.2, refit_every=30)
    span = first_fit_span(dates, settings, window=10)
    assert span == slice(0, 320) == first_fit_span(dates, settings)
    assert min_train_bars(10) == 10 + 1 + MIN_FIT_WINDOWS
    # the engine's first fit learns from exactly these bars; the reference names its end
    model = MeanReversion()
    drain(walk_forward(prices, FeatureSpec(window=10), model, settings))
    assert model.fits[0][3] == span.stop and model.fits[0][0] == dates[span.stop - 1]
    assert backtest_spans(dates, 10, settings, 0.15)[0] == dates[span.stop]
    assert (
        fit_spans(dates, 10, settings, 0.15)[0]["trained_through"]
        == f"{dates[span.stop - 1]:%Y-%m-%d}"
    )
    # the engine's minimum holds only when a window is given
    late = BacktestSettings(test_start=f"{dates[40]:%Y-%m-%d}")
    assert first_fit_span(dates, late) == slice(0, 40)
    with pytest.raises(BacktestError, match="at least 75"):
        first_fit_span(dates, late, window=10)

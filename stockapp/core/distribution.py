"""A backtest's forecast distributions: the model's and the volatility baselines', calibrated
online and scored.

Built by the walk-forward engine when the model has a distribution head; carried by the
:class:`~stockapp.core.backtest.BacktestResult` as ``bands``. Every forecaster's distributions
are calibrated online from past outcomes only (:mod:`stockapp.core.calibration`, unless the
calibration is ``"none"``); the calibrated ones are what is shown, saved and scored first, and
the forecasters' own ("raw") ones are kept beside them (:attr:`BandForecasts.raw`). It writes
the extra columns of ``forecasts.csv`` (price levels of the 50%, 80% and 95% bands, the
calibrated standard deviations and the raw ones) and the ``bands`` and ``strategy_vol`` entries
of ``metrics.json``, and rebuilds itself from the saved columns when a run is reopened.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stockapp.core.bands import (
    AFTER_JUMP,
    SUFFIXES,
    BandScores,
    describe_bands,
    score_bands,
    vol_jump,
)
from stockapp.core.calibration import Calibration, CalibrationSettings, calibrate
from stockapp.core.return_distribution import interval, pit
from stockapp.core.trading import EquityCurve, TradingRule
from stockapp.core.vol_target import (
    VolTargetReport,
    describe_vol_target,
    run_vol_target,
    vol_target_report,
)
from stockapp.core.volatility import VOL_LABELS

#: Forecaster key -> prefix of its columns in ``forecasts.csv``.
PREFIXES = {"model": "", "garch": "garch_", "ewma": "ewma_", "rolling": "rolling_"}
Dist = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]
Bounds = dict[float, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class CalibrationSlice:
    """The calibration slice: each forecaster's ``(mu, sigma, nu)`` of the bars just before
    the test span (forecast by the fits of its first bar) and those bars' log returns."""

    dists: dict[str, Dist]
    realised_return: np.ndarray

    def of(self, key: str):
        """``(y, mu, sigma, nu)`` of ``key``, as :func:`~stockapp.core.calibration.calibrate`
        takes it; ``None`` when the slice has no forecasts of ``key``."""
        if key not in self.dists:
            return None
        return (self.realised_return, *self.dists[key])


@dataclass(frozen=True)
class BandForecasts:
    """``(mu, sigma, nu)`` of each test bar's log return per forecaster, and their scores.

    ``nu`` is ``None`` for Gaussian forecasts. ``bounds[key][level]`` are the ``(lower,
    upper)`` log-return bands of ``key`` (the calibrated ones, adjusted level by level; ``None``
    for the distributions' central intervals). ``raw`` is the uncalibrated forecasters' own
    bands with their scores (``None`` when not calibrated); ``calibration`` names the method
    (``"aci"`` or ``"none"``); ``states`` says how each forecaster was calibrated (empty for a
    reopened run: see the manifest's ``calibration``). ``strategy_vol`` is the
    volatility-targeted rule sized by the model's sigma (:mod:`stockapp.core.vol_target`),
    ``vol_report`` what it realised beside its target.
    """

    dists: dict[str, Dist]
    realised_return: np.ndarray
    scores: dict[str, BandScores]
    strategy_vol: EquityCurve
    vol_report: VolTargetReport | None = None
    bounds: dict[str, Bounds] | None = None
    raw: BandForecasts | None = None
    calibration: str = "none"
    settings: CalibrationSettings | None = None
    states: dict[str, Calibration] = field(default_factory=dict)
    calibration_seconds: float = 0.0

    @classmethod
    def build(
        cls,
        dists: dict[str, Dist],
        previous: np.ndarray,
        realised: np.ndarray,
        rule: TradingRule,
        periods_per_year: float = 252.0,
        past: CalibrationSlice | None = None,
        calibration: CalibrationSettings | None = None,
    ) -> BandForecasts:
        """Calibrate every forecaster online (with ``calibration``, starting from ``past``;
        none without it) and score them all on the same bars (DM on the log score against
        GARCH)."""
        prev = np.asarray(previous, np.float64)
        y = np.log(np.asarray(realised, np.float64) / prev)
        if calibration is None or calibration.method == "none":
            return cls._scored(dists, None, y, prev, realised, rule, periods_per_year)
        started = time.perf_counter()
        done = {
            key: calibrate(y, *d, None if past is None else past.of(key), calibration)
            for key, d in dists.items()
        }
        seconds = time.perf_counter() - started
        raw = cls._scored(dists, None, y, prev, realised, rule, periods_per_year)
        out = cls._scored(
            {k: (c.mu, c.sigma, c.nu) for k, c in done.items()},
            {k: c.bounds for k, c in done.items()},
            y, prev, realised, rule, periods_per_year,
        )  # fmt: skip
        states = {k: c.state for k, c in done.items()}
        return cls(
            out.dists, y, out.scores, out.strategy_vol, out.vol_report, out.bounds, raw,
            calibration.method, calibration, states, seconds,
        )  # fmt: skip

    @classmethod
    def _scored(
        cls,
        dists: dict[str, Dist],
        bounds: dict[str, Bounds] | None,
        y: np.ndarray,
        prev: np.ndarray,
        realised: np.ndarray,
        rule: TradingRule,
        periods_per_year: float,
        raw: BandForecasts | None = None,
        calibration: str = "none",
    ) -> BandForecasts:
        """Score ``dists`` (with ``bounds``) as they are, and run the vol-targeted rule."""
        scores: dict[str, BandScores] = {}
        garch_ld = None

        def b(key: str) -> Bounds | None:
            return None if bounds is None else bounds.get(key)

        if "garch" in dists:
            scores["garch"], garch_ld = score_bands(y, *dists["garch"], bounds=b("garch"))
        for key, d in dists.items():
            if key != "garch":
                scores[key], _ = score_bands(y, *d, bench_log_density=garch_ld, bounds=b(key))
        mu, sigma, _ = dists["model"]
        vol = run_vol_target(prev, realised, mu, sigma, rule, periods_per_year)
        report = vol_target_report(vol, prev, realised, sigma, rule, periods_per_year)
        return cls(dict(dists), y, scores, vol, report, bounds, raw, calibration)

    def band(self, key: str, level: float) -> tuple[np.ndarray, np.ndarray]:
        """``key``'s ``(lower, upper)`` log-return band at ``level`` on every test bar: the
        calibrated band where there is one, else the distribution's central interval."""
        if self.bounds is not None and level in self.bounds.get(key, {}):
            return self.bounds[key][level]
        return interval(level, *self.dists[key])

    def columns(self, previous: np.ndarray) -> dict[str, np.ndarray]:
        """The ``forecasts.csv`` columns: for each forecaster its ``mu``, ``sigma``, ``nu``
        (Student-t only), the price levels ``lower_50`` ... ``upper_95`` of its bands and,
        when calibrated, its own uncalibrated ``raw_sigma``, under its prefix (none for the
        model, ``garch_`` ...)."""
        prev = np.asarray(previous, np.float64)
        out: dict[str, np.ndarray] = {}
        for key, (mu, sigma, nu) in self.dists.items():
            p = PREFIXES[key]
            out[f"{p}mu"], out[f"{p}sigma"] = mu, sigma
            if nu is not None:
                out[f"{p}nu"] = nu
            if self.raw is not None:
                out[f"{p}raw_sigma"] = self.raw.dists[key][1]
            for level, suffix in SUFFIXES.items():
                lo, hi = self.band(key, level)
                out[f"{p}lower_{suffix}"] = prev * np.exp(lo)
                out[f"{p}upper_{suffix}"] = prev * np.exp(hi)
        return out

    def pit(self, key: str = "model") -> np.ndarray:
        """The PIT value of each test bar under ``key``'s forecasts."""
        mu, sigma, nu = self.dists[key]
        ok = np.isfinite(sigma) & (sigma > 0)
        out = np.full(sigma.shape, np.nan)
        out[ok] = pit(self.realised_return[ok], mu[ok], sigma[ok], None if nu is None else nu[ok])
        return out

    def sentence(self, model_name: str = "The model") -> str:
        return describe_bands(model_name, self.scores["model"], self.scores.get("garch"))

    def calibration_sentence(self, model_name: str = "The model") -> str:
        """How the calibration moved the model's bands, in words (empty when uncalibrated)."""
        if self.raw is None:
            return ""
        s, r = self.scores["model"], self.raw.scores["model"]
        thirds = "/".join(f"{c * 100:.1f}" for c in s.coverage_80_by_tercile)
        return (
            f"Calibrated online ({self.calibration}: a scale and each band's level learnt from "
            f"past outcomes only): {model_name}'s own 80% bands held {r.coverage_80 * 100:.1f}% "
            f"of outcomes, the calibrated ones {s.coverage_80 * 100:.1f}% ({thirds}% in the "
            f"low/middle/high thirds of its sigma); log score {r.log_score:.3f} -> "
            f"{s.log_score:.3f}."
        )

    def vol_sentence(self) -> str:
        """What the volatility-targeted rule realised beside its target, in words."""
        return "" if self.vol_report is None else describe_vol_target(self.vol_report)

    def jump(self) -> int | None:
        """The first test bar (position) of the :data:`~stockapp.core.bands.AFTER_JUMP` bars
        scored after the largest volatility jump, ``None`` when the span is too short."""
        return vol_jump(self.realised_return)

    def metrics_dict(self, model_name: str = "The model", dates=None) -> dict[str, Any]:
        """``{"bands": {model scores, "garch": ..., "ewma": ..., "rolling": ...,
        "summary": sentence, "calibration": method, "uncalibrated": {the same for the raw
        bands}, "after_jump_from": first bar after the volatility jump, "after_jump_bars":
        60}, "strategy_vol": stats}``; ``strategy_vol`` also holds the target beside the
        realised ``volatility`` (:class:`VolTargetReport`) and its ``summary`` sentence.
        ``dates`` (the test bars' labels) names the jump's bar; without them, its position."""
        bands = self._scores_dict(model_name)
        bands["calibration"] = self.calibration
        if self.raw is not None:
            bands["uncalibrated"] = self.raw._scores_dict(model_name)
            bands["calibration_summary"] = self.calibration_sentence(model_name)
        at = self.jump()
        bands["after_jump_from"] = None if at is None else (at if dates is None else dates[at])
        bands["after_jump_bars"] = AFTER_JUMP
        vol: dict[str, Any] = self.strategy_vol.stats.to_dict()
        if self.vol_report is not None:
            vol.update(self.vol_report.to_dict())
            vol["summary"] = self.vol_sentence()
        return {"bands": bands, "strategy_vol": vol}

    def _scores_dict(self, model_name: str) -> dict[str, Any]:
        bands: dict[str, Any] = self.scores["model"].to_dict()
        for key in VOL_LABELS:
            if key in self.scores:
                bands[key] = self.scores[key].to_dict()
        bands["summary"] = self.sentence(model_name)
        return bands

    def calibration_record(self) -> dict[str, Any] | None:
        """The manifest's ``calibration``: the method, its settings and each forecaster's
        state after the last bar (to calibrate the next forecast); ``None`` uncalibrated."""
        if self.settings is None:
            return None
        return {
            **self.settings.to_dict(),
            "final_state": {k: c.final_state for k, c in self.states.items()},
            "seconds": self.calibration_seconds,
        }

    def restrict(
        self,
        part: slice,
        previous: np.ndarray,
        realised: np.ndarray,
        rule: TradingRule,
        periods_per_year: float = 252.0,
    ) -> BandForecasts:
        """The bars ``part`` alone, scored on their own with the bands they were given (the
        calibration ran over every bar; it is not run again)."""

        def cut(d: Dist) -> Dist:
            mu, sigma, nu = d
            return mu[part], sigma[part], None if nu is None else nu[part]

        prev = np.asarray(previous, np.float64)
        y = np.log(np.asarray(realised, np.float64) / prev)
        raw = None
        if self.raw is not None:
            raw = self.raw.restrict(part, previous, realised, rule, periods_per_year)
        bounds = None
        if self.bounds is not None:
            bounds = {
                k: {lv: (lo[part], hi[part]) for lv, (lo, hi) in b.items()}
                for k, b in self.bounds.items()
            }
        return self._scored(
            {k: cut(d) for k, d in self.dists.items()}, bounds, y, prev, realised, rule,
            periods_per_year, raw, self.calibration,
        )  # fmt: skip

    @classmethod
    def from_frame(
        cls,
        table: pd.DataFrame,
        previous: np.ndarray,
        realised: np.ndarray,
        rule: TradingRule,
        periods_per_year: float = 252.0,
        calibration: str | None = None,
    ) -> BandForecasts | None:
        """Rebuild from the saved ``forecasts.csv`` columns; ``None`` without a ``sigma``.

        The bands are read from their price levels where all three levels were saved (the
        calibrated bands; older runs saved 80% and 95% only, as central intervals); the raw
        bands from ``raw_sigma``. ``calibration`` names the method (the manifest's); without
        it a run with raw columns is taken as ``"aci"``, the only calibrating method.
        """
        if "sigma" not in table.columns:
            return None
        prev = np.asarray(previous, np.float64)
        y = np.log(np.asarray(realised, np.float64) / prev)
        dists: dict[str, Dist] = {}
        raw_dists: dict[str, Dist] = {}
        bounds: dict[str, Bounds] = {}
        for key, p in PREFIXES.items():
            if f"{p}sigma" not in table.columns:
                continue
            mu = table[f"{p}mu"].to_numpy(np.float64)
            sigma = table[f"{p}sigma"].to_numpy(np.float64)
            nu = table[f"{p}nu"].to_numpy(np.float64) if f"{p}nu" in table.columns else None
            dists[key] = (mu, sigma, nu)
            if f"{p}raw_sigma" in table.columns:
                raw_dists[key] = (mu, table[f"{p}raw_sigma"].to_numpy(np.float64), nu)
            names = [f"{p}{side}_{s}" for s in SUFFIXES.values() for side in ("lower", "upper")]
            if all(c in table.columns for c in names):
                bounds[key] = {
                    lv: (
                        np.log(table[f"{p}lower_{s}"].to_numpy(np.float64) / prev),
                        np.log(table[f"{p}upper_{s}"].to_numpy(np.float64) / prev),
                    )
                    for lv, s in SUFFIXES.items()
                }
        raw = None
        if raw_dists.keys() == dists.keys():
            raw = cls._scored(raw_dists, None, y, prev, realised, rule, periods_per_year)
        method = calibration or ("aci" if raw is not None else "none")
        return cls._scored(
            dists, bounds or None, y, prev, realised, rule, periods_per_year, raw, method
        )


def stitch(parts: list[dict[str, Dist]], n: int, slices: list[slice]) -> dict[str, Dist]:
    """Join per-segment ``(mu, sigma, nu)`` into arrays over all ``n`` test bars."""
    out: dict[str, list[np.ndarray | None]] = {}
    for part, where in zip(parts, slices, strict=True):
        for key, d in part.items():
            arrays = out.setdefault(key, [np.full(n, np.nan), np.full(n, np.nan), None])
            for i, a in enumerate(d):
                if a is None:
                    continue
                if arrays[i] is None:
                    arrays[i] = np.full(n, math.nan)
                arrays[i][where] = a
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}

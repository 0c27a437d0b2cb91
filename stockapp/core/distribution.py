"""A backtest's forecast distributions: the model's and the volatility baselines', scored.

Built by the walk-forward engine when the model has a distribution head; carried by the
:class:`~stockapp.core.backtest.BacktestResult` as ``bands``. It writes the extra columns of
``forecasts.csv`` (price levels of the 80% and 95% bands, the standard deviations) and the
``bands`` and ``strategy_vol`` entries of ``metrics.json``, and rebuilds itself from the saved
columns when a run is reopened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockapp.core.bands import BandScores, describe_bands, interval, pit, score_bands
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


@dataclass(frozen=True)
class BandForecasts:
    """``(mu, sigma, nu)`` of each test bar's log return per forecaster, and their scores.

    ``nu`` is ``None`` for Gaussian forecasts. ``strategy_vol`` is the volatility-targeted rule
    sized by the model's sigma (:mod:`stockapp.core.vol_target`), ``vol_report`` what it
    realised beside its target.
    """

    dists: dict[str, Dist]
    realised_return: np.ndarray
    scores: dict[str, BandScores]
    strategy_vol: EquityCurve
    vol_report: VolTargetReport | None = None

    @classmethod
    def build(
        cls,
        dists: dict[str, Dist],
        previous: np.ndarray,
        realised: np.ndarray,
        rule: TradingRule,
        periods_per_year: float = 252.0,
    ) -> BandForecasts:
        """Score every forecaster on the same bars (DM on the log score against GARCH)."""
        prev = np.asarray(previous, np.float64)
        y = np.log(np.asarray(realised, np.float64) / prev)
        scores: dict[str, BandScores] = {}
        garch_ld = None
        if "garch" in dists:
            scores["garch"], garch_ld = score_bands(y, *dists["garch"])
        for key, d in dists.items():
            if key != "garch":
                scores[key], _ = score_bands(y, *d, bench_log_density=garch_ld)
        mu, sigma, _ = dists["model"]
        vol = run_vol_target(prev, realised, mu, sigma, rule, periods_per_year)
        report = vol_target_report(vol, prev, realised, sigma, rule, periods_per_year)
        return cls(dict(dists), y, scores, vol, report)

    def columns(self, previous: np.ndarray) -> dict[str, np.ndarray]:
        """The ``forecasts.csv`` columns: for each forecaster its ``mu``, ``sigma``, ``nu``
        (Student-t only) and the price levels ``lower_80``, ``upper_80``, ``lower_95``,
        ``upper_95``, under its prefix (none for the model, ``garch_`` ...)."""
        prev = np.asarray(previous, np.float64)
        out: dict[str, np.ndarray] = {}
        for key, (mu, sigma, nu) in self.dists.items():
            p = PREFIXES[key]
            out[f"{p}mu"], out[f"{p}sigma"] = mu, sigma
            if nu is not None:
                out[f"{p}nu"] = nu
            for level in (80, 95):
                lo, hi = interval(level / 100, mu, sigma, nu)
                out[f"{p}lower_{level}"] = prev * np.exp(lo)
                out[f"{p}upper_{level}"] = prev * np.exp(hi)
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

    def vol_sentence(self) -> str:
        """What the volatility-targeted rule realised beside its target, in words."""
        return "" if self.vol_report is None else describe_vol_target(self.vol_report)

    def metrics_dict(self, model_name: str = "The model") -> dict[str, Any]:
        """``{"bands": {model scores, "garch": ..., "ewma": ..., "rolling": ...,
        "summary": sentence}, "strategy_vol": stats}``; ``strategy_vol`` also holds the
        target beside the realised ``volatility`` (:class:`VolTargetReport`) and its
        ``summary`` sentence."""
        bands: dict[str, Any] = self.scores["model"].to_dict()
        for key in VOL_LABELS:
            if key in self.scores:
                bands[key] = self.scores[key].to_dict()
        bands["summary"] = self.sentence(model_name)
        vol: dict[str, Any] = self.strategy_vol.stats.to_dict()
        if self.vol_report is not None:
            vol.update(self.vol_report.to_dict())
            vol["summary"] = self.vol_sentence()
        return {"bands": bands, "strategy_vol": vol}

    @classmethod
    def from_frame(
        cls,
        table: pd.DataFrame,
        previous: np.ndarray,
        realised: np.ndarray,
        rule: TradingRule,
        periods_per_year: float = 252.0,
    ) -> BandForecasts | None:
        """Rebuild from the saved ``forecasts.csv`` columns; ``None`` without a ``sigma``."""
        if "sigma" not in table.columns:
            return None
        dists: dict[str, Dist] = {}
        for key, p in PREFIXES.items():
            if f"{p}sigma" not in table.columns:
                continue
            mu = table[f"{p}mu"].to_numpy(np.float64)
            sigma = table[f"{p}sigma"].to_numpy(np.float64)
            nu = table[f"{p}nu"].to_numpy(np.float64) if f"{p}nu" in table.columns else None
            dists[key] = (mu, sigma, nu)
        return cls.build(dists, previous, realised, rule, periods_per_year)


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

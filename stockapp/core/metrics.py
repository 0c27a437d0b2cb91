"""Forecast accuracy with honest significance tests, and sentences that explain them.

A forecaster is only interesting if it beats the naive "tomorrow = today" (persistence)
forecast, and only believable if the difference survives a test. This module measures:

* the usual errors (RMSE, MAE, MAPE) of the forecast closes;
* directional accuracy on the bars where both the forecast and the market moved, with an exact
  binomial test against a coin flip;
* skill against persistence (``1 - MSE / MSE_persistence``) and the Diebold-Mariano test of equal
  squared error, with the Harvey-Leybourne-Newbold small-sample correction.

Everything is plain numpy/scipy; nothing here knows about models or the GUI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy import stats

from stockapp.errors import DataError

#: Significance level used by the sentences.
ALPHA = 0.05


@dataclass(frozen=True)
class ForecastMetrics:
    """Accuracy of one forecaster over the test bars.

    ``directional_accuracy`` is a fraction (0..1) and NaN when the forecaster makes no
    directional calls (persistence never does); ``mape`` is in percent. ``skill`` and the
    Diebold-Mariano fields compare against the persistence forecast; for persistence itself
    ``skill`` is 0 and ``dm_stat``/``dm_pvalue`` are NaN. A positive ``dm_stat`` means larger
    errors than persistence.
    """

    rmse: float
    mae: float
    mape: float
    directional_accuracy: float
    direction_n: int
    direction_pvalue: float
    skill: float
    dm_stat: float
    dm_pvalue: float
    n: int

    def to_dict(self) -> dict:
        """Plain Python numbers, NaN as ``None``, so the result is valid JSON."""
        out: dict = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("n", "direction_n"):
                out[f.name] = int(v)
            else:
                v = float(v)
                out[f.name] = None if math.isnan(v) else v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> ForecastMetrics:
        """Inverse of :meth:`to_dict` (``None`` back to NaN)."""
        kw = {}
        for f in fields(cls):
            v = d[f.name]
            if f.name in ("n", "direction_n"):
                kw[f.name] = int(v)
            else:
                kw[f.name] = math.nan if v is None else float(v)
        return cls(**kw)


def _as_1d(name: str, a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"The {name} values must be a single column, not shape {arr.shape}.")
    return arr


def diebold_mariano(e_model: np.ndarray, e_bench: np.ndarray, h: int = 1) -> tuple[float, float]:
    """Diebold-Mariano test of equal mean squared error, with the HLN correction.

    The loss differential is ``d = e_model**2 - e_bench**2``. Its long-run variance uses the
    autocovariances up to lag ``h - 1`` (an ``h``-step forecast has MA(h-1) errors). The
    statistic ``DM = mean(d) / sqrt(V / n)`` is multiplied by
    ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` (Harvey, Leybourne & Newbold 1997) and compared with
    a Student-t with ``n - 1`` degrees of freedom, two-sided.

    Returns
    -------
    (stat, pvalue)
        A positive ``stat`` means the model has the larger errors. ``(nan, nan)`` when the test
        is undefined: fewer than two bars, or a loss differential with no variance (for example
        the model *is* the benchmark).
    """
    e_model = _as_1d("model error", e_model)
    e_bench = _as_1d("benchmark error", e_bench)
    if e_model.shape != e_bench.shape:
        raise DataError(
            f"The model has {e_model.size} errors but the benchmark {e_bench.size}; "
            "compare them over the same bars."
        )
    if h < 1:
        raise DataError(f"The forecast horizon must be at least 1 bar, not {h}.")
    d = e_model**2 - e_bench**2
    n = d.size
    if n < 2 or h >= n or not np.all(np.isfinite(d)) or np.ptp(d) == 0.0:
        return math.nan, math.nan
    dc = d - d.mean()
    gamma = [float(dc[k:] @ dc[: n - k]) / n for k in range(h)]
    var = gamma[0] + 2.0 * sum(gamma[1:])
    if not var > 0.0:
        return math.nan, math.nan
    dm = float(d.mean()) / math.sqrt(var / n)
    dm *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    p = float(2.0 * stats.t.sf(abs(dm), df=n - 1))
    return dm, p


def forecast_metrics(
    realised: np.ndarray, forecast: np.ndarray, previous: np.ndarray, naive: np.ndarray
) -> ForecastMetrics:
    """Measure one forecaster over the test bars.

    Parameters
    ----------
    realised
        The close of each test bar.
    forecast
        The forecast of that close, made at the previous bar.
    previous
        The close of the bar before each test bar; direction is measured from it.
    naive
        The persistence forecast of each bar (the benchmark for skill and Diebold-Mariano).
    """
    realised = _as_1d("realised", realised)
    forecast = _as_1d("forecast", forecast)
    previous = _as_1d("previous close", previous)
    naive = _as_1d("persistence forecast", naive)
    n = realised.size
    for name, arr in (("forecast", forecast), ("previous close", previous), ("naive", naive)):
        if arr.size != n:
            raise DataError(
                f"There are {n} realised closes but {arr.size} {name} values; "
                "they must cover the same bars."
            )
    if n == 0:
        raise DataError("There are no test bars to measure; use a longer test period.")
    bad = ~(
        np.isfinite(realised) & np.isfinite(forecast) & np.isfinite(previous) & np.isfinite(naive)
    )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} test bars have a missing or infinite value (first at test bar "
            f"{first}); check the prices and the model's output."
        )

    err = forecast - realised
    mse = float(np.mean(err**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        mape = float(np.mean(np.abs(err) / np.abs(realised)) * 100.0)

    fc_move = np.sign(forecast - previous)
    real_move = np.sign(realised - previous)
    called = (fc_move != 0) & (real_move != 0)
    direction_n = int(called.sum())
    if direction_n:
        hits = int((fc_move[called] == real_move[called]).sum())
        accuracy = hits / direction_n
        dir_p = float(stats.binomtest(hits, direction_n, 0.5).pvalue)
    else:
        accuracy = dir_p = math.nan

    if np.array_equal(forecast, naive):
        skill, dm, dm_p = 0.0, math.nan, math.nan
    else:
        mse_naive = float(np.mean((naive - realised) ** 2))
        skill = 1.0 - mse / mse_naive if mse_naive > 0.0 else math.nan
        dm, dm_p = diebold_mariano(err, naive - realised)

    return ForecastMetrics(
        rmse=math.sqrt(mse),
        mae=float(np.mean(np.abs(err))),
        mape=mape,
        directional_accuracy=accuracy,
        direction_n=direction_n,
        direction_pvalue=dir_p,
        skill=skill,
        dm_stat=dm,
        dm_pvalue=dm_p,
        n=n,
    )


def format_pvalue(p: float) -> str:
    """A p-value as people read it: ``p = 0.41``, ``p = 0.049``, ``p < 0.001``.

    Values below 0.1 keep three significant digits so a p-value just under the 5% level is
    never printed as "0.05".
    """
    if math.isnan(p):
        return "p = n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3g}" if p < 0.1 else f"p = {p:.2f}"


def describe_significance(name: str, m: ForecastMetrics, bench: str = "persistence") -> str:
    """One sentence on whether ``name`` beats ``bench``, for a reader with no statistics."""
    p = m.dm_pvalue
    if math.isnan(p):
        if m.skill == 0.0:
            return f"{name} makes the same squared errors as {bench}, so there is nothing to test."
        return (
            f"{name} cannot be tested against {bench}: there are too few test bars "
            "or their errors differ by a constant."
        )
    if p >= ALPHA:
        return f"{name} is not distinguishable from {bench} (Diebold-Mariano {format_pvalue(p)})."
    ratio = 1.0 - m.skill  # MSE_model / MSE_bench
    if m.dm_stat > 0:
        return (
            f"{name} is significantly worse than {bench} (Diebold-Mariano {format_pvalue(p)}): "
            f"its squared errors are {(ratio - 1.0) * 100:.1f}% larger."
        )
    return (
        f"{name} is significantly better than {bench} (Diebold-Mariano {format_pvalue(p)}): "
        f"its squared errors are {(1.0 - ratio) * 100:.1f}% smaller."
    )


def describe_direction(name: str, m: ForecastMetrics) -> str:
    """One sentence on how often ``name`` calls the direction right, against a coin flip."""
    acc = m.directional_accuracy
    if math.isnan(acc):
        return (
            f"{name} never forecasts a move on a bar that moved, so its direction cannot be scored."
        )
    head = f"{name} calls the direction right {acc * 100:.1f}% of the time"
    p = m.direction_pvalue
    if p >= ALPHA:
        verdict = "which is not distinguishable from a coin flip"
    elif acc > 0.5:
        verdict = "which is better than a coin flip"
    else:
        verdict = "which is worse than a coin flip"
    return f"{head} ({m.direction_n} calls), {verdict} ({format_pvalue(p)})."

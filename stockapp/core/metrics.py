"""Forecast accuracy with honest significance tests, and sentences that explain them.

A forecaster is only interesting if it beats the naive "tomorrow = today" (persistence)
forecast, and only believable if the difference survives a test. This module measures:

* the usual errors (RMSE, MAE, MAPE) of the forecast closes;
* directional accuracy on the bars where both the forecast and the market moved, with the
  Pesaran-Timmermann (1992) test of directional predictability, which compares the hit rate
  with what forecasts independent of the market would score given how often each side moved
  (in a rising market "always up" scores above 50% without any skill). The exact binomial test
  against a coin flip is kept as ``direction_pvalue`` for what it is: hit rate vs 50%;
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
#: Smallest expected count in a cell of the forecast/realised direction table for which the
#: sentences trust the Pesaran-Timmermann test's normal approximation (the chi-square rule of
#: thumb; PT^2 is that chi-square up to n / (n - 1)). With 8 "down" calls among 511 the test
#: gave p = 0.038 where Fisher's exact test of the same table gives 0.078.
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class ForecastMetrics:
    """Accuracy of one forecaster over the test bars.

    ``directional_accuracy`` is a fraction (0..1) and NaN when the forecaster makes no
    directional calls (persistence never does); ``mape`` is in percent. On the same
    ``direction_n`` bars, ``up_share`` is the share that rose (what "always up" would score),
    ``forecast_up_share`` the share the forecaster called up, and ``pt_stat``/``pt_pvalue`` the
    Pesaran-Timmermann test (one-sided, NaN when undefined, see :func:`pesaran_timmermann`);
    ``direction_pvalue`` is the binomial test of the hit rate against 50%. ``skill`` and the
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
    up_share: float = math.nan
    forecast_up_share: float = math.nan
    pt_stat: float = math.nan
    pt_pvalue: float = math.nan

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
        """Inverse of :meth:`to_dict` (``None`` back to NaN; keys added later may be absent)."""
        kw = {}
        for f in fields(cls):
            v = d.get(f.name) if f.name in _ADDED_KEYS else d[f.name]
            if f.name in ("n", "direction_n"):
                kw[f.name] = int(v)
            else:
                kw[f.name] = math.nan if v is None else float(v)
        return cls(**kw)


_ADDED_KEYS = ("up_share", "forecast_up_share", "pt_stat", "pt_pvalue")


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
        is undefined: fewer than two bars, an error that is not finite, or a loss differential
        with no variance (for example the model *is* the benchmark). The errors are scaled by
        their largest absolute value first (the statistic does not depend on the unit), so
        errors near 1e300 do not overflow when squared.
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
    if not (np.all(np.isfinite(e_model)) and np.all(np.isfinite(e_bench))):
        return math.nan, math.nan
    _, (e_model, e_bench) = _scaled(e_model, e_bench)  # the statistic has no unit
    d = e_model**2 - e_bench**2
    n = d.size
    if n < 2 or h >= n or np.ptp(d) == 0.0:
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


def pesaran_timmermann(forecast_up: np.ndarray, realised_up: np.ndarray) -> tuple[float, float]:
    """Pesaran-Timmermann (1992) test that forecast directions predict realised ones.

    With ``P`` the hit rate, ``Px``/``Py`` the shares of forecast and realised up moves, the hit
    rate of a forecaster independent of the market is ``P* = Py Px + (1 - Py)(1 - Px)``, and
    ``PT = (P - P*) / sqrt(V(P) - V(P*))`` with ``V(P) = P*(1 - P*)/n`` and
    ``V(P*) = (2Py - 1)^2 Px(1 - Px)/n + (2Px - 1)^2 Py(1 - Py)/n + 4 Py Px (1 - Py)(1 - Px)/n^2``
    is asymptotically standard normal under independence. (``PT^2`` equals Pearson's chi-square
    of independence of the 2x2 table times ``n / (n - 1)``.)

    Returns
    -------
    (stat, pvalue)
        ``pvalue`` is one-sided, ``P(Z >= stat)``: small when the calls beat chance. ``(nan,
        nan)`` when the test is undefined: the forecaster called the same direction on every
        bar (then ``P = P*`` exactly: its hits are just the market's share of that move), the
        market moved one way on every bar, or there are fewer than two bars. Deciding "undefined"
        rather than ``p = 1`` keeps "no test possible" apart from "tested and found nothing".
    """
    x = np.asarray(forecast_up, dtype=bool).reshape(-1)
    y = np.asarray(realised_up, dtype=bool).reshape(-1)
    if x.shape != y.shape:
        raise DataError(
            f"There are {x.size} forecast directions but {y.size} realised ones; "
            "compare them over the same bars."
        )
    n = x.size
    if n < 2:
        return math.nan, math.nan
    px, py = float(x.mean()), float(y.mean())
    if px in (0.0, 1.0) or py in (0.0, 1.0):
        return math.nan, math.nan
    hit = float(np.mean(x == y))
    p_star = py * px + (1.0 - py) * (1.0 - px)
    var_p = p_star * (1.0 - p_star) / n
    var_p_star = (
        (2.0 * py - 1.0) ** 2 * px * (1.0 - px) / n
        + (2.0 * px - 1.0) ** 2 * py * (1.0 - py) / n
        + 4.0 * py * px * (1.0 - py) * (1.0 - px) / n**2
    )
    var = var_p - var_p_star
    if not var > 0.0:
        return math.nan, math.nan
    stat = (hit - p_star) / math.sqrt(var)
    return stat, float(stats.norm.sf(stat))


def _scaled(*arrays: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """``(s, [a / s, ...])`` with ``s`` the largest absolute value (1 if all are zero).

    Squares of errors of prices near 1e300 overflow float64; squared-error ratios and the
    Diebold-Mariano statistic do not depend on the unit, so they are computed on scaled errors.
    """
    s = max(float(np.max(np.abs(a), initial=0.0)) for a in arrays)
    if not (s > 0.0 and math.isfinite(s)):
        s = 1.0
    return s, [a / s for a in arrays]


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

    with np.errstate(over="ignore"):  # prices near 1e300: a difference can overflow to inf
        err = forecast - realised
        bench_err = naive - realised
    if not (np.all(np.isfinite(err)) and np.all(np.isfinite(bench_err))):
        raise DataError(
            "The forecast errors are too large to represent (a price near 1e308?); "
            "check the prices for a bad value."
        )
    scale, (err_s, bench_s) = _scaled(err, bench_err)
    mse_s = float(np.mean(err_s**2))  # MSE / scale**2
    with np.errstate(divide="ignore", invalid="ignore"):
        mape = float(np.mean(np.abs(err) / np.abs(realised)) * 100.0)

    fc_move = np.sign(forecast - previous)
    real_move = np.sign(realised - previous)
    called = (fc_move != 0) & (real_move != 0)
    direction_n = int(called.sum())
    up_share = fc_up_share = pt = pt_p = math.nan
    if direction_n:
        hits = int((fc_move[called] == real_move[called]).sum())
        accuracy = hits / direction_n
        dir_p = float(stats.binomtest(hits, direction_n, 0.5).pvalue)
        fc_up, real_up = fc_move[called] > 0, real_move[called] > 0
        up_share, fc_up_share = float(real_up.mean()), float(fc_up.mean())
        pt, pt_p = pesaran_timmermann(fc_up, real_up)
    else:
        accuracy = dir_p = math.nan

    if np.array_equal(forecast, naive):
        skill, dm, dm_p = 0.0, math.nan, math.nan
    else:
        mse_naive_s = float(np.mean(bench_s**2))
        skill = 1.0 - mse_s / mse_naive_s if mse_naive_s > 0.0 else math.nan
        dm, dm_p = diebold_mariano(err_s, bench_s)

    return ForecastMetrics(
        rmse=scale * math.sqrt(mse_s),
        mae=scale * float(np.mean(np.abs(err_s))),
        mape=mape,
        directional_accuracy=accuracy,
        direction_n=direction_n,
        direction_pvalue=dir_p,
        skill=skill,
        dm_stat=dm,
        dm_pvalue=dm_p,
        n=n,
        up_share=up_share,
        forecast_up_share=fc_up_share,
        pt_stat=pt,
        pt_pvalue=pt_p,
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
        if m.n < 2:
            return f"{name} cannot be tested against {bench}: there is only {m.n} test bar."
        return (
            f"{name} cannot be tested against {bench}: its squared errors differ from {bench}'s "
            f"by the same amount on every one of the {m.n} test bars."
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
    """One sentence on whether ``name`` calls the direction better than chance.

    The verdict is the Pesaran-Timmermann test, which allows for how often the market rose: in a
    market that rose on 55% of bars, "always up" is right 55% of the time with no skill at all.
    """
    acc = m.directional_accuracy
    if math.isnan(acc):
        return (
            f"{name} never forecasts a move on a bar that moved, so its direction cannot be scored."
        )
    up = m.up_share
    if m.forecast_up_share in (0.0, 1.0):
        side, moves = ("rise", "up") if m.forecast_up_share == 1.0 else ("fall", "down")
        share = up if side == "rise" else 1.0 - up
        return (
            f"{name} forecast a {side} on every bar it called, so its hit rate of {acc * 100:.1f}% "
            f"is just the share of {moves} moves ({share * 100:.1f}%) and says nothing about "
            "skill at calling direction."
        )
    head = f"{name} calls the direction right {acc * 100:.1f}% of the time ({m.direction_n} calls)"
    if up in (0.0, 1.0):
        return (
            f"{head}, but the market {'rose' if up == 1.0 else 'fell'} on every scored bar, so "
            "skill at calling direction cannot be tested."
        )
    head += f" where always up would score {up * 100:.1f}%"
    p = m.pt_pvalue
    if math.isnan(p):
        return f"{head}; the Pesaran-Timmermann test is undefined on these bars."
    px, n = m.forecast_up_share, m.direction_n
    minority = round(n * min(px, 1.0 - px))
    if p < ALPHA and n * min(px, 1.0 - px) * min(up, 1.0 - up) < MIN_EXPECTED:
        side = "a fall" if px > 0.5 else "a rise"
        verdict = (
            f"which would be better than chance given how often the market rose, but it rests "
            f"on only {minority} calls of {side}, too few to trust the test"
        )
        shown = p
    elif p < ALPHA:
        verdict = "which is better than chance given how often the market rose"
        shown = p
    elif m.pt_stat < 0 and 1.0 - p < ALPHA:
        verdict = (
            "which is worse than chance given how often the market rose: its calls go "
            "against the market's moves"
        )
        shown = 1.0 - p
    else:
        verdict = "which is no better than chance given how often the market rose"
        shown = p
    return f"{head}, {verdict} (Pesaran-Timmermann {format_pvalue(shown)})."

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
  squared error, signed: ``better`` when the one-sided p for "the model's squared errors are
  smaller" is below 5%, ``worse`` when the other side's is, otherwise ``tie``.

Every test of a mean loss difference in the app (this one, the log score against GARCH in
:mod:`stockapp.core.bands`, the sweeps' per-run and per-configuration tests and the SPA's
studentisation in :mod:`stockapp.core.selection`) uses one long-run variance,
:func:`long_run_variance`: Newey-West on AR(1)-prewhitened differences with
floor(4 (n/100)^(2/9)) lags. Loss differences of one-step forecasts are autocorrelated in
practice; the lag-0 variance made a 5% test reject 0-15% of the time under MA(1) dependence.

Everything is plain numpy/scipy; nothing here knows about models or the GUI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from stockapp.core.lazy import stats  # scipy.stats, imported when first used
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
    errors than persistence; ``dm_pvalue`` is two-sided and ``dm_better_pvalue`` one-sided, small
    when the forecaster's squared errors are smaller (:attr:`verdict` turns it into words).
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
    dm_better_pvalue: float = math.nan

    @property
    def verdict(self) -> str | None:
        """``better``, ``worse`` or ``tie`` against persistence (one-sided 5% tests); ``None``
        when there is nothing to test (persistence itself)."""
        return signed_verdict(self.dm_better_pvalue)

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
        """Inverse of :meth:`to_dict` (``None`` back to NaN; keys added later may be absent).

        Metrics written before ``dm_better_pvalue`` existed get it from their own symmetric
        test: half the two-sided p on the side of ``dm_stat``.
        """
        kw = {}
        for f in fields(cls):
            v = d.get(f.name) if f.name in _ADDED_KEYS else d[f.name]
            if f.name in ("n", "direction_n"):
                kw[f.name] = int(v)
            else:
                kw[f.name] = math.nan if v is None else float(v)
        if "dm_better_pvalue" not in d and math.isfinite(kw["dm_stat"]):
            half = kw["dm_pvalue"] / 2.0
            kw["dm_better_pvalue"] = half if kw["dm_stat"] < 0 else 1.0 - half
        return cls(**kw)


_ADDED_KEYS = ("up_share", "forecast_up_share", "pt_stat", "pt_pvalue", "dm_better_pvalue")


def _as_1d(name: str, a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"The {name} values must be a single column, not shape {arr.shape}.")
    return arr


def hac_lags(n: int) -> int:
    """Bartlett lags of the long-run variance of ``n`` loss differences: floor(4 (n/100)^(2/9)).

    Newey & West's (1994) rule, statsmodels' default (``S_hac_simple``): 5 lags for 500 bars,
    6 for 1,000. Applied to the ``n - 1`` prewhitened differences.
    """
    return int(math.floor(4.0 * (max(n - 1, 1) / 100.0) ** (2.0 / 9.0)))


def dm_variance(n: int | None = None) -> str:
    """The name of the long-run variance every test of a mean loss difference uses.

    Written to ``metrics.json`` as ``dm_variance`` (with the lag count when ``n`` is given) and
    named in the README, so a p-value can be traced to how it was computed.
    """
    lags = "floor(4 (n/100)^(2/9))" if n is None else f"{hac_lags(n)} = floor(4 (n/100)^(2/9))"
    return (
        f"Newey-West HAC (Bartlett kernel, {lags} lags) on AR(1)-prewhitened loss differences "
        "(Andrews-Monahan)"
    )


def long_run_variance(d: np.ndarray) -> np.ndarray:
    """Long-run variance of each column of loss differences ``d`` (``(n,)`` or ``(n, k)``).

    The variance of ``sqrt(n) * mean(d)``, allowing for autocorrelation: the differences are
    centred, an AR(1) is fitted by least squares (``rho`` clipped to +-0.97), and the residuals'
    Newey-West variance (Bartlett weights ``1 - j / (L + 1)``, ``L =`` :func:`hac_lags`, the sum
    divided by the residuals' count as statsmodels' ``S_hac_simple``) is recoloured by
    ``1 / (1 - rho)^2`` (Andrews & Monahan 1992; R's ``sandwich::NeweyWest`` prewhitens the
    same way). Without the prewhitening a fixed small bandwidth under-corrects: the 5% test
    rejected 2.7% of the time at MA(1) theta -0.4 and 33% at AR(1) 0.9 (n = 500); with it,
    4.1% and 7.7% (``tests/core/test_dm_size.py`` checks -0.4, 0 and +0.4). NaN for a column
    with fewer than two values or no variance.
    """
    x = np.asarray(d, dtype=np.float64)
    flat = x.ndim == 1
    x = x[:, None] if flat else x
    n = x.shape[0]
    out = np.full(x.shape[1], math.nan)
    if n >= 2:
        c = x - x.mean(axis=0)
        den = np.einsum("ij,ij->j", c[:-1], c[:-1])
        ok = den > 0.0
        rho = np.zeros(x.shape[1])
        rho[ok] = np.einsum("ij,ij->j", c[1:, ok], c[:-1, ok]) / den[ok]
        rho = np.clip(rho, -0.97, 0.97)
        u = c[1:] - rho * c[:-1]
        m, lags = u.shape[0], hac_lags(n)
        s = np.einsum("ij,ij->j", u, u)
        for j in range(1, min(lags, m - 1) + 1):
            s += 2.0 * (1.0 - j / (lags + 1.0)) * np.einsum("ij,ij->j", u[j:], u[:-j])
        lrv = s / m / (1.0 - rho) ** 2
        out = np.where(np.ptp(x, axis=0) > 0.0, lrv, math.nan)
    return out[0] if flat else out


def mean_difference_test(d: np.ndarray) -> tuple[float, float, float]:
    """Test that loss differences ``d = loss_model - loss_bench`` have zero mean.

    ``stat = mean(d) / sqrt(V / n)`` with ``V`` the :func:`long_run_variance`, compared with a
    Student-t with ``n - 1`` degrees of freedom.

    Returns
    -------
    (stat, pvalue, better_pvalue)
        ``pvalue`` is two-sided; ``better_pvalue`` is one-sided, ``P(T <= stat)``: small when
        the model's loss is lower (its side of the test; the other side is
        ``1 - better_pvalue``). NaN when the differences are constant, fewer than two, or not
        finite.
    """
    d = np.asarray(d, dtype=np.float64)
    n = d.size
    if n < 2 or not np.all(np.isfinite(d)):
        return math.nan, math.nan, math.nan
    var = float(long_run_variance(d))
    if not var > 0.0:
        return math.nan, math.nan, math.nan
    stat = float(d.mean()) / math.sqrt(var / n)
    p = float(min(1.0, 2.0 * stats.t.sf(abs(stat), df=n - 1)))
    return stat, p, float(stats.t.cdf(stat, df=n - 1))


def diebold_mariano(e_model: np.ndarray, e_bench: np.ndarray) -> tuple[float, float]:
    """Diebold-Mariano test of equal mean squared error, with a long-run variance.

    The loss differential is ``d = e_model**2 - e_bench**2``; see :func:`mean_difference_test`
    (and :func:`diebold_mariano_signed` for the one-sided p-value as well).

    Returns
    -------
    (stat, pvalue)
        A positive ``stat`` means the model has the larger errors; ``pvalue`` is two-sided.
        ``(nan, nan)`` when the test is undefined: fewer than two bars, an error that is not
        finite, or a loss differential with no variance (for example the model *is* the
        benchmark). The errors are scaled by their largest absolute value first (the statistic
        does not depend on the unit), so errors near 1e300 do not overflow when squared.
    """
    stat, p, _ = diebold_mariano_signed(e_model, e_bench)
    return stat, p


def diebold_mariano_signed(e_model: np.ndarray, e_bench: np.ndarray) -> tuple[float, float, float]:
    """``(stat, two-sided p, one-sided p that the model's squared errors are smaller)``."""
    e_model = _as_1d("model error", e_model)
    e_bench = _as_1d("benchmark error", e_bench)
    if e_model.shape != e_bench.shape:
        raise DataError(
            f"The model has {e_model.size} errors but the benchmark {e_bench.size}; "
            "compare them over the same bars."
        )
    if not (np.all(np.isfinite(e_model)) and np.all(np.isfinite(e_bench))):
        return math.nan, math.nan, math.nan
    _, (e_model, e_bench) = _scaled(e_model, e_bench)  # the statistic has no unit
    return mean_difference_test(e_model**2 - e_bench**2)


def signed_verdict(better_pvalue: float, alpha: float = ALPHA) -> str | None:
    """``"better"`` when the one-sided p for a lower loss is below ``alpha``, ``"worse"`` when
    the other side's (``1 - better_pvalue``) is, else ``"tie"``; ``None`` when untested."""
    if better_pvalue is None or not math.isfinite(better_pvalue):
        return None
    if better_pvalue < alpha:
        return "better"
    if 1.0 - better_pvalue < alpha:
        return "worse"
    return "tie"


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
        skill, dm, dm_p, dm_better = 0.0, math.nan, math.nan, math.nan
    else:
        mse_naive_s = float(np.mean(bench_s**2))
        skill = 1.0 - mse_s / mse_naive_s if mse_naive_s > 0.0 else math.nan
        dm, dm_p, dm_better = diebold_mariano_signed(err_s, bench_s)

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
        dm_better_pvalue=dm_better,
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
    """One sentence on whether ``name`` beats ``bench``, for a reader with no statistics.

    Signed: "better" only when the one-sided test for smaller squared errors is below 5%,
    "worse" only when the test the other way round is, otherwise "not distinguishable".
    """
    verdict = m.verdict
    if verdict is None:
        if m.skill == 0.0:
            return f"{name} makes the same squared errors as {bench}, so there is nothing to test."
        if m.n < 2:
            return f"{name} cannot be tested against {bench}: there is only {m.n} test bar."
        return (
            f"{name} cannot be tested against {bench}: its squared errors differ from {bench}'s "
            f"by the same amount on every one of the {m.n} test bars."
        )
    ratio = 1.0 - m.skill  # MSE_model / MSE_bench
    if verdict == "tie":
        side = "smaller" if ratio < 1.0 else "larger"
        return (
            f"{name} is not distinguishable from {bench}: its squared errors are "
            f"{abs(ratio - 1.0) * 100:.1f}% {side}, within what luck explains "
            f"(Diebold-Mariano {format_pvalue(m.dm_pvalue)}, two-sided)."
        )
    if verdict == "worse":
        return (
            f"{name} is significantly worse than {bench}: its squared errors are "
            f"{(ratio - 1.0) * 100:.1f}% larger (Diebold-Mariano, one-sided "
            f"{format_pvalue(1.0 - m.dm_better_pvalue)})."
        )
    return (
        f"{name} is significantly better than {bench}: its squared errors are "
        f"{(1.0 - ratio) * 100:.1f}% smaller (Diebold-Mariano, one-sided "
        f"{format_pvalue(m.dm_better_pvalue)})."
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

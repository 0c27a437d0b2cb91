"""Tests of a mean loss difference, and p-values as people read them.

Every test of a mean loss difference in the app (the Diebold-Mariano test of a forecaster
against persistence in :mod:`stockapp.core.metrics`, the log score against GARCH in
:mod:`stockapp.core.bands`, the sweeps' per-run and per-configuration tests and the SPA's
studentisation in :mod:`stockapp.core.selection`) uses one long-run variance,
:func:`long_run_variance`: Newey-West on AR(1)-prewhitened differences with
floor(4 (n/100)^(2/9)) lags. Loss differences of one-step forecasts are autocorrelated in
practice; the lag-0 variance made a 5% test reject 0-15% of the time under MA(1) dependence.

A signed verdict (:func:`signed_verdict`) is ``better`` when the one-sided p for "the model's
loss is smaller" is below 5%, ``worse`` when the other side's is, otherwise ``tie``.
"""

from __future__ import annotations

import math

import numpy as np

from stockapp.core.lazy import stats  # scipy.stats, imported when first used
from stockapp.errors import DataError

#: Significance level used by the sentences.
ALPHA = 0.05


def as_1d(name: str, a: np.ndarray) -> np.ndarray:
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
    e_model = as_1d("model error", e_model)
    e_bench = as_1d("benchmark error", e_bench)
    if e_model.shape != e_bench.shape:
        raise DataError(
            f"The model has {e_model.size} errors but the benchmark {e_bench.size}; "
            "compare them over the same bars."
        )
    if not (np.all(np.isfinite(e_model)) and np.all(np.isfinite(e_bench))):
        return math.nan, math.nan, math.nan
    _, (e_model, e_bench) = scaled(e_model, e_bench)  # the statistic has no unit
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


def scaled(*arrays: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """``(s, [a / s, ...])`` with ``s`` the largest absolute value (1 if all are zero).

    Squares of errors of prices near 1e300 overflow float64; squared-error ratios and the
    Diebold-Mariano statistic do not depend on the unit, so they are computed on scaled errors.
    """
    s = max(float(np.max(np.abs(a), initial=0.0)) for a in arrays)
    if not (s > 0.0 and math.isfinite(s)):
        s = 1.0
    return s, [a / s for a in arrays]


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

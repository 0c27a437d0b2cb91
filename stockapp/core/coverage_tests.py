"""Does a band hold the right share of outcomes, and are its misses independent?

Kupiec's unconditional-coverage test, Christoffersen's independence test of the misses
(likelihood ratios, chi-squared(1)) and Christoffersen's conditional-coverage test, their sum
(chi-squared(2)), each on a column of hits (``True`` where the outcome fell inside the band).
"""

from __future__ import annotations

import math

import numpy as np

from stockapp.core.lazy import special, stats  # scipy's, imported when first used


def _chi2_pvalue(lr: float, df: int = 1) -> float:
    return float(stats.chi2.sf(max(lr, 0.0), df)) if math.isfinite(lr) else math.nan


def _kupiec_lr(hits: np.ndarray, level: float) -> float:
    h = np.asarray(hits, dtype=bool)
    n = h.size
    if n == 0:
        return math.nan
    x = float(n - np.count_nonzero(h))  # misses
    rate = x / n
    miss = 1.0 - level
    null = special.xlogy(x, miss) + special.xlogy(n - x, 1.0 - miss)
    alt = special.xlogy(x, rate) + special.xlogy(n - x, 1.0 - rate)
    return float(-2.0 * (null - alt))


def _independence_lr(hits: np.ndarray) -> float:
    miss = ~np.asarray(hits, dtype=bool)
    if miss.size < 2:
        return math.nan
    a, b = miss[:-1], miss[1:]
    n00 = float(np.count_nonzero(~a & ~b))
    n01 = float(np.count_nonzero(~a & b))
    n10 = float(np.count_nonzero(a & ~b))
    n11 = float(np.count_nonzero(a & b))
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    null = special.xlogy(n00 + n10, 1.0 - pi) + special.xlogy(n01 + n11, pi)
    alt = (
        special.xlogy(n00, 1.0 - pi01)
        + special.xlogy(n01, pi01)
        + special.xlogy(n10, 1.0 - pi11)
        + special.xlogy(n11, pi11)
    )
    return float(-2.0 * (null - alt))


def kupiec_pvalue(hits: np.ndarray, level: float) -> float:
    """Kupiec's unconditional-coverage test: does the share of hits equal ``level``?

    ``LR = -2 [x log(1-l) + (n-x) log(l)] + 2 [x log(x/n) + (n-x) log(1-x/n)]`` with ``x``
    misses among ``n`` bars, compared with chi-squared(1). NaN for no bars.
    """
    return _chi2_pvalue(_kupiec_lr(hits, level))


def christoffersen_pvalue(hits: np.ndarray) -> float:
    """Christoffersen's test that misses are independent (a miss does not make one likelier).

    From the transition counts ``n_ij`` (state ``i`` then ``j``; 1 = a miss):
    ``LR = -2 [log L(pi) - log L(pi_01, pi_11)]``, compared with chi-squared(1). NaN for fewer
    than two bars.
    """
    return _chi2_pvalue(_independence_lr(hits))


def conditional_coverage_pvalue(hits: np.ndarray, level: float) -> float:
    """Christoffersen's (1998) conditional-coverage test: the right share of misses, and
    independent ones.

    ``LR_cc = LR_uc + LR_ind`` (Kupiec's and the independence statistic above), compared with
    chi-squared(2); the sum is the usual form (as in R's ``rugarch::VaRTest``). NaN for fewer
    than two bars.
    """
    return _chi2_pvalue(_kupiec_lr(hits, level) + _independence_lr(hits), df=2)

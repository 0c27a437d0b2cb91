"""A forecast distribution of the next log return, and each bar's scores under it.

A forecast for a bar is a location ``mu`` and a standard deviation ``sigma`` of the next log
return, with Gaussian shape (``nu=None``) or Student-t shape with ``nu > 2`` degrees of freedom
scaled to have standard deviation ``sigma`` (as arch's standardised t). Here are its quantiles
and central bands, the probability integral transform (PIT) of an outcome, its log density (the
log score), the CRPS in closed form and the interval (Winkler) score of a band, vectorised over
bars (``nu`` may be one number or one per bar). The scores over a span are in
:mod:`stockapp.core.bands`.
"""

from __future__ import annotations

import math

import numpy as np

from stockapp.core.lazy import special, stats  # scipy's, imported when first used
from stockapp.errors import DataError


def _t_scale(nu) -> float | np.ndarray:
    """Scale of a t with ``nu`` dof whose standard deviation is 1 (1.0 for the Gaussian).

    ``nu`` may be one number or one per bar (a refitted model's dof changes with each fit).
    """
    if nu is None:
        return 1.0
    v = np.asarray(nu, dtype=np.float64)
    if not (np.all(np.isfinite(v)) and np.all(v > 2.0)):
        raise DataError(f"The Student-t degrees of freedom must be above 2, not {np.min(v)}.")
    return np.sqrt((v - 2.0) / v)


def quantile(p: float | np.ndarray, mu, sigma, nu: float | np.ndarray | None = None) -> np.ndarray:
    """The ``p`` quantile of each forecast distribution of the log return."""
    q = stats.norm.ppf(p) if nu is None else stats.t.ppf(p, nu) * _t_scale(nu)
    return np.asarray(mu, dtype=np.float64) + np.asarray(sigma, dtype=np.float64) * q


def interval(
    level: float, mu, sigma, nu: float | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` interval ``(lower, upper)`` of the log return."""
    a = (1.0 - level) / 2.0
    return quantile(a, mu, sigma, nu), quantile(1.0 - a, mu, sigma, nu)


def _z(y, mu, sigma, nu):
    return (np.asarray(y, np.float64) - np.asarray(mu, np.float64)) / (
        np.asarray(sigma, np.float64) * _t_scale(nu)
    )


def pit(y, mu, sigma, nu: float | np.ndarray | None = None) -> np.ndarray:
    """The forecast CDF at each outcome: uniform on [0, 1] for calibrated forecasts."""
    z = _z(y, mu, sigma, nu)
    return stats.norm.cdf(z) if nu is None else stats.t.cdf(z, nu)


def log_density(y, mu, sigma, nu: float | np.ndarray | None = None) -> np.ndarray:
    """Log density of each outcome under its forecast (the log score of each bar)."""
    s = np.asarray(sigma, np.float64) * _t_scale(nu)
    z = _z(y, mu, sigma, nu)
    base = stats.norm.logpdf(z) if nu is None else stats.t.logpdf(z, nu)
    return base - np.log(s)


def crps(y, mu, sigma, nu: float | np.ndarray | None = None) -> np.ndarray:
    """Continuous ranked probability score of each bar, in closed form (lower is better).

    Gaussian: ``s (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))``. Student-t with scale ``s``
    (Jordan, Krueger & Lerch 2019): ``s (z (2 F(z) - 1) + 2 f(z) (nu + z^2) / (nu - 1)
    - 2 sqrt(nu) B(1/2, nu - 1/2) / ((nu - 1) B(1/2, nu/2)^2))``.
    """
    s = np.asarray(sigma, np.float64) * _t_scale(nu)
    z = _z(y, mu, sigma, nu)
    if nu is None:
        return s * (
            z * (2.0 * stats.norm.cdf(z) - 1.0) + 2.0 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi)
        )
    nu = np.asarray(nu, np.float64)
    const = (
        2.0
        * np.sqrt(nu)
        * special.beta(0.5, nu - 0.5)
        / ((nu - 1.0) * special.beta(0.5, nu / 2.0) ** 2)
    )
    body = z * (2.0 * stats.t.cdf(z, nu) - 1.0) + 2.0 * stats.t.pdf(z, nu) * (nu + z * z) / (
        nu - 1.0
    )
    return s * (body - const)


def interval_score(y, lower, upper, level: float) -> np.ndarray:
    """Winkler's interval score of each bar: width plus ``2/alpha`` times any miss distance."""
    y, lo, hi = (np.asarray(a, np.float64) for a in (y, lower, upper))
    alpha = 1.0 - level
    return (hi - lo) + 2.0 / alpha * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))

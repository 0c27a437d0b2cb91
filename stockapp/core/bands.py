"""Scores for forecast distributions of the next log return: bands, calibration, proper scores.

A forecast for a bar is a location ``mu`` and a standard deviation ``sigma`` of the next log
return, with Gaussian shape (``nu=None``) or Student-t shape with ``nu > 2`` degrees of freedom
scaled to have standard deviation ``sigma`` (as arch's standardised t). Everything is vectorised
numpy and scipy; no torch, no Qt.

Scores, each over the bars where the forecast is finite:

* coverage of the central 50/80/95% intervals, each with Kupiec's unconditional-coverage test,
  Christoffersen's independence test of the misses (likelihood ratios, chi-squared(1)) and
  Christoffersen's conditional-coverage test, their sum (chi-squared(2));
* the mean width and the interval (Winkler) score of a band;
* the log score (mean log density of the outcome; higher is better) and the CRPS (closed forms
  for the Gaussian and the Student-t; lower is better);
* a Diebold-Mariano test on the log score against a benchmark's, with the long-run variance of
  every such test here (:func:`stockapp.core.metrics.long_run_variance`), signed: ``better``,
  ``worse`` or ``tie`` by one-sided 5% tests;
* the probability integral transform (PIT) of each outcome, whose histogram is flat when the
  forecasts are calibrated;
* coverage by regime: at each level, in each tercile of the forecaster's own sigma over the
  scored bars (a reporting device: the terciles use the whole span's sigmas, and feed nothing
  back into the forecasts), and over the :data:`AFTER_JUMP` bars from the largest jump in
  realised volatility (:func:`vol_jump`).

The bands are the central intervals of the distribution unless explicit ``bounds`` are given (a
calibrated forecaster's bands, adjusted level by level: :mod:`stockapp.core.calibration`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from stockapp.core.lazy import special, stats  # scipy's, imported when first used
from stockapp.core.metrics import format_pvalue, mean_difference_test, signed_verdict
from stockapp.errors import DataError

#: Nominal central coverages scored and drawn.
LEVELS = (0.5, 0.8, 0.95)
#: Bars scored after the largest volatility jump; realised volatility before and after a bar is
#: the root mean square of the JUMP_WINDOW log returns on either side of it.
AFTER_JUMP = 60
JUMP_WINDOW = 20


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


def dm_test(loss_model: np.ndarray, loss_bench: np.ndarray) -> tuple[float, float]:
    """``(two-sided p, one-sided p that the model's mean loss is lower)`` of the Diebold-Mariano
    test of equal mean loss, on the bars where both losses are finite.

    The same test as :func:`stockapp.core.metrics.diebold_mariano` (one long-run variance,
    :func:`stockapp.core.metrics.long_run_variance`) on any loss, here the negative log score.
    NaN when the differential is constant or has fewer than two bars.
    """
    d = np.asarray(loss_model, np.float64) - np.asarray(loss_bench, np.float64)
    _, p, better = mean_difference_test(d[np.isfinite(d)])
    return p, better


def dm_pvalue(loss_model: np.ndarray, loss_bench: np.ndarray) -> float:
    """Two-sided Diebold-Mariano p-value of equal mean loss (see :func:`dm_test`)."""
    return dm_test(loss_model, loss_bench)[0]


#: The band levels' key suffixes in ``metrics.json`` (``kupiec_pvalue_50`` ...).
SUFFIXES = {0.5: "50", 0.8: "80", 0.95: "95"}


@dataclass(frozen=True)
class BandScores:
    """The scores of one forecaster's distributions over the test bars (see module doc).

    For each level ``L`` in 50, 80, 95: ``coverage_L`` and the p-values of Kupiec's test
    (``kupiec_pvalue_L``), Christoffersen's independence test (``independence_pvalue_L``) and
    conditional-coverage test (``cc_pvalue_L``). ``christoffersen_pvalue_80`` is
    ``independence_pvalue_80`` under the name it was first written with. The log-score
    Diebold-Mariano test against GARCH has a two-sided p and a one-sided ``better`` p (small
    when this forecaster's log score is higher); :attr:`verdict_vs_garch` says it in a word.
    """

    coverage_50: float
    coverage_80: float
    coverage_95: float
    kupiec_pvalue_50: float
    kupiec_pvalue_80: float
    kupiec_pvalue_95: float
    independence_pvalue_50: float
    independence_pvalue_80: float
    independence_pvalue_95: float
    cc_pvalue_50: float
    cc_pvalue_80: float
    cc_pvalue_95: float
    christoffersen_pvalue_80: float
    interval_score_80: float
    width_80: float
    log_score: float
    crps: float
    dm_pvalue_log_score_vs_garch: float
    dm_better_pvalue_log_score_vs_garch: float
    n: int
    # Coverage in each tercile of the forecaster's own sigma (lowest first) and over the
    # AFTER_JUMP bars from the largest volatility jump (vol_jump); NaN where there are none.
    coverage_50_by_tercile: tuple[float, float, float] = (math.nan,) * 3
    coverage_80_by_tercile: tuple[float, float, float] = (math.nan,) * 3
    coverage_95_by_tercile: tuple[float, float, float] = (math.nan,) * 3
    coverage_50_after_jump: float = math.nan
    coverage_80_after_jump: float = math.nan
    coverage_95_after_jump: float = math.nan

    @property
    def verdict_vs_garch(self) -> str | None:
        """``better``/``worse``/``tie`` of the log score against GARCH's; ``None`` untested."""
        return signed_verdict(self.dm_better_pvalue_log_score_vs_garch)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["verdict_log_score_vs_garch"] = self.verdict_vs_garch
        for suffix in SUFFIXES.values():
            out[f"coverage_{suffix}_by_tercile"] = list(out[f"coverage_{suffix}_by_tercile"])
        return out

    @classmethod
    def from_dict(cls, d: dict) -> BandScores:
        """The scores :meth:`to_dict` wrote (keys it does not know are ignored)."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for suffix in SUFFIXES.values():
            key = f"coverage_{suffix}_by_tercile"
            if key in known:
                known[key] = tuple(float(v) for v in known[key])
        return cls(**known)

    @classmethod
    def empty(cls) -> BandScores:
        """The scores of a forecaster with no bar to score: NaN everywhere, ``n = 0``."""
        fields = cls.__dataclass_fields__
        nan = dict.fromkeys((f for f in fields if f != "n" and "by_tercile" not in f), math.nan)
        return cls(**nan, n=0)


def vol_jump(y, window: int = JUMP_WINDOW) -> int | None:
    """The bar where realised volatility jumped most: the ``t`` that maximises the root mean
    square of ``y[t : t + window]`` over that of ``y[t - window : t]`` (NaN returns left out);
    ``None`` when ``y`` is shorter than two windows or has no volatility before any bar."""
    y = np.asarray(y, np.float64)
    n = y.size
    if n < 2 * window:
        return None
    sq = np.nan_to_num(y * y, nan=0.0)
    have = np.isfinite(y).astype(np.float64)
    cs = np.concatenate([[0.0], np.cumsum(sq)])
    cn = np.concatenate([[0.0], np.cumsum(have)])
    t = np.arange(window, n - window + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        before = (cs[t] - cs[t - window]) / (cn[t] - cn[t - window])
        after = (cs[t + window] - cs[t]) / (cn[t + window] - cn[t])
        ratio = after / before
    ratio[~np.isfinite(ratio)] = -np.inf
    if not np.isfinite(ratio).any():
        return None
    return int(t[int(np.argmax(ratio))])


def terciles(sigma: np.ndarray) -> list[np.ndarray]:
    """Positions of the lowest, middle and highest third of ``sigma`` (by rank, ties in
    order; sizes differ by at most one)."""
    order = np.argsort(np.asarray(sigma, np.float64), kind="stable")
    return np.array_split(order, 3)


def score_bands(
    y,
    mu,
    sigma,
    nu: float | np.ndarray | None = None,
    bench_log_density: np.ndarray | None = None,
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[BandScores, np.ndarray]:
    """Score forecasts ``(mu, sigma, nu)`` of the log returns ``y``; also return each bar's
    log density (for a DM test against this forecaster). Bars with a non-finite forecast or
    outcome, or ``sigma <= 0``, are left out.

    ``bounds`` maps each of :data:`LEVELS` to the ``(lower, upper)`` log-return bands to score
    (a calibrated forecaster's); without it the bands are the distribution's central intervals.
    The volatility jump (:func:`vol_jump`) is found in ``y``, so every forecaster of the same
    bars is scored after the same jump.
    """
    y, mu, sigma = (np.asarray(a, np.float64) for a in (y, mu, sigma))
    if not (y.shape == mu.shape == sigma.shape) or y.ndim != 1:
        raise DataError("The outcomes, locations and scales must be columns of the same length.")
    jump = vol_jump(y)
    after = np.zeros(y.shape, bool)
    if jump is not None:
        after[jump : jump + AFTER_JUMP] = True
    ok = np.isfinite(y) & np.isfinite(mu) & np.isfinite(sigma) & (sigma > 0.0)
    if nu is not None:
        nu = np.broadcast_to(np.asarray(nu, np.float64), y.shape)
        ok &= np.isfinite(nu)
    band: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for level in SUFFIXES if bounds is not None else ():
        lo, hi = (np.asarray(b, np.float64) for b in bounds[level])
        if lo.shape != y.shape or hi.shape != y.shape:
            raise DataError("Each band needs one lower and one upper bound per bar.")
        ok &= np.isfinite(lo) & np.isfinite(hi)
        band[level] = (lo, hi)
    if nu is not None:
        nu = nu[ok]
    ld = np.full(y.shape, np.nan)
    ld[ok] = log_density(y[ok], mu[ok], sigma[ok], nu)
    y, mu, sigma, after = y[ok], mu[ok], sigma[ok], after[ok]
    n = int(y.size)
    if n == 0:
        return BandScores.empty(), ld

    def bands_at(level: float) -> tuple[np.ndarray, np.ndarray]:
        if band:
            return band[level][0][ok], band[level][1][ok]
        return interval(level, mu, sigma, nu)

    thirds = terciles(sigma)
    tests: dict = {}
    for level, suffix in SUFFIXES.items():
        lo, hi = bands_at(level)
        hit = (y >= lo) & (y <= hi)
        tests[f"coverage_{suffix}"] = float(hit.mean())
        tests[f"kupiec_pvalue_{suffix}"] = kupiec_pvalue(hit, level)
        tests[f"independence_pvalue_{suffix}"] = christoffersen_pvalue(hit)
        tests[f"cc_pvalue_{suffix}"] = conditional_coverage_pvalue(hit, level)
        tests[f"coverage_{suffix}_by_tercile"] = tuple(
            float(hit[g].mean()) if g.size else math.nan for g in thirds
        )
        tests[f"coverage_{suffix}_after_jump"] = (
            float(hit[after].mean()) if after.any() else math.nan
        )
    lo80, hi80 = bands_at(0.8)
    dm = better = math.nan
    if bench_log_density is not None:
        dm, better = dm_test(-ld, -np.asarray(bench_log_density, np.float64))
    return (
        BandScores(
            **tests,
            christoffersen_pvalue_80=tests["independence_pvalue_80"],
            interval_score_80=float(interval_score(y, lo80, hi80, 0.8).mean()),
            width_80=float((hi80 - lo80).mean()),
            log_score=float(ld[ok].mean()),
            crps=float(crps(y, mu, sigma, nu).mean()),
            dm_pvalue_log_score_vs_garch=dm,
            dm_better_pvalue_log_score_vs_garch=better,
            n=n,
        ),
        ld,
    )


def pit_histogram(u: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, density)`` of the PIT values: density 1 everywhere when calibrated."""
    u = np.asarray(u, np.float64)
    u = u[np.isfinite(u)]
    counts, edges = np.histogram(u, bins=bins, range=(0.0, 1.0))
    density = counts / max(u.size, 1) * bins
    return edges, density


def describe_bands(name: str, s: BandScores, garch: BandScores | None = None) -> str:
    """One sentence on the bands' calibration and the log score against GARCH.

    The 80% band's coverage with Kupiec's verdict, then any level whose conditional-coverage
    test fails at 5% (too many or too few misses, or misses that cluster), then the signed
    log-score verdict: "beats" only when the one-sided test for a higher log score is below 5%,
    "loses to" only when the test the other way round is, otherwise "ties".
    """
    if s.n == 0:
        return f"{name} made no band forecasts to score."
    p = s.kupiec_pvalue_80
    verdict = (
        "calibrated" if not p < 0.05 else ("too narrow" if s.coverage_80 < 0.8 else "too wide")
    )
    text = (
        f"{name}'s 80% bands held {s.coverage_80 * 100:.1f}% of outcomes "
        f"(Kupiec {format_pvalue(p)}: {verdict})"
    )
    failed = [
        f"{suffix}% ({format_pvalue(getattr(s, f'cc_pvalue_{suffix}'))})"
        for suffix in SUFFIXES.values()
        if getattr(s, f"cc_pvalue_{suffix}") < 0.05
    ]
    if failed:
        text += (
            "; conditional coverage (Christoffersen) rejects the "
            + _join(failed)
            + f" band{'s' if len(failed) > 1 else ''}"
        )
    better = s.dm_better_pvalue_log_score_vs_garch
    word = s.verdict_vs_garch
    if garch is None or word is None:
        return text + "."
    if word == "tie":
        return text + (
            f"; its log score ties GARCH's ({format_pvalue(s.dm_pvalue_log_score_vs_garch)}, "
            "two-sided)."
        )
    if word == "better":
        return text + f"; its log score beats GARCH's (one-sided {format_pvalue(better)})."
    return text + f"; its log score loses to GARCH's (one-sided {format_pvalue(1.0 - better)})."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

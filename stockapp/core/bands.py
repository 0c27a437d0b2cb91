"""Scores for forecast distributions of the next log return: bands, calibration, proper scores.

A forecast for a bar is a location ``mu`` and a standard deviation ``sigma`` of the next log
return, with Gaussian shape (``nu=None``) or Student-t shape with ``nu > 2`` degrees of freedom
scaled to have standard deviation ``sigma`` (as arch's standardised t); its quantiles, bands and
per-bar scores are in :mod:`stockapp.core.return_distribution`, the coverage tests in
:mod:`stockapp.core.coverage_tests`. Everything is vectorised numpy and scipy; no torch, no Qt.

Scores, each over the bars where the forecast is finite:

* coverage of the central 50/80/95% intervals, each with Kupiec's unconditional-coverage test,
  Christoffersen's independence test of the misses (likelihood ratios, chi-squared(1)) and
  Christoffersen's conditional-coverage test, their sum (chi-squared(2));
* the mean width and the interval (Winkler) score of a band;
* the log score (mean log density of the outcome; higher is better) and the CRPS (closed forms
  for the Gaussian and the Student-t; lower is better);
* a Diebold-Mariano test on the log score against a benchmark's, with the long-run variance of
  every such test here (:func:`stockapp.core.significance.long_run_variance`), signed: ``better``,
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

from stockapp.core.coverage_tests import (
    christoffersen_pvalue,
    conditional_coverage_pvalue,
    kupiec_pvalue,
)
from stockapp.core.return_distribution import crps, interval, interval_score, log_density
from stockapp.core.significance import format_pvalue, mean_difference_test, signed_verdict
from stockapp.errors import DataError

#: Nominal central coverages scored and drawn.
LEVELS = (0.5, 0.8, 0.95)
#: Bars scored after the largest volatility jump; realised volatility before and after a bar is
#: the root mean square of the JUMP_WINDOW log returns on either side of it.
AFTER_JUMP = 60
JUMP_WINDOW = 20


def dm_test(loss_model: np.ndarray, loss_bench: np.ndarray) -> tuple[float, float]:
    """``(two-sided p, one-sided p that the model's mean loss is lower)`` of the Diebold-Mariano
    test of equal mean loss, on the bars where both losses are finite.

    The same test as :func:`stockapp.core.significance.diebold_mariano` (one long-run variance,
    :func:`stockapp.core.significance.long_run_variance`) on any loss, here the negative log score.
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

"""Tests over a family of tries: Holm's step-down adjustment, signed, and Hansen's (2005) test
for superior predictive ability (SPA).

The SPA is studentised by the same long-run variance as every Diebold-Mariano test
(:func:`stockapp.core.significance.long_run_variance`), so its statistic for a model is that
model's DM statistic with the sign turned; only the distribution of the best of ``k`` comes from
arch's stationary bootstrap. (arch 8.0's own ``SPA.compute`` compares unstudentised mean
differences whatever ``studentize`` says, which let SPA and DM disagree on the same losses.)

``arch`` is imported only when an SPA p-value is wanted, with a one-sentence error if missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stockapp.core.significance import ALPHA, long_run_variance
from stockapp.errors import StockappError

#: Bootstrap draws of the SPA test; 1,000 gives p-values to about +-0.015 and takes ~0.1 s.
SPA_REPS = 1000
SPA_SEED = 0


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment; NaN p-values stay NaN and do not count in the family.

    With the ``m`` finite p-values sorted ascending, ``p_(i)`` becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))`` (1-based ``i``, ``j``).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def holm_verdicts(better_pvalues: Sequence[float]) -> tuple[np.ndarray, list[str | None]]:
    """``(Holm-adjusted one-sided p, verdicts)`` over a family of tests against a benchmark.

    ``better_pvalues`` are one-sided p-values for "the loss is lower"; the other side of each is
    ``1 - p``. A member is ``better`` when its Holm-adjusted p is below 5%, ``worse`` when the
    Holm-adjusted p of the other side is, otherwise ``tie``; ``None`` where the p is NaN.
    """
    b = np.asarray([math.nan if p is None else p for p in better_pvalues], dtype=np.float64)
    better, worse = holm(b), holm(1.0 - b)
    words: list[str | None] = []
    for bh, wh in zip(better, worse, strict=True):
        if not math.isfinite(bh):
            words.append(None)
        elif bh < ALPHA:
            words.append("better")
        elif wh < ALPHA:
            words.append("worse")
        else:
            words.append("tie")
    return better, words


@dataclass(frozen=True)
class SpaResult:
    """Hansen's consistent SPA p-value and what it rests on.

    ``t_stats`` are the studentised mean loss reductions against the benchmark, one per model
    column (NaN for a model whose losses equal the benchmark's on every bar); the largest is
    the test statistic. ``block_size`` is the stationary bootstrap's mean block length.
    """

    pvalue: float
    t_stats: np.ndarray
    block_size: int

    @property
    def strongest(self) -> int | None:
        """The column with the largest statistic (``None`` when none could be tested)."""
        t = np.where(np.isfinite(self.t_stats), self.t_stats, -np.inf)
        return int(np.argmax(t)) if np.isfinite(self.t_stats).any() else None


def spa_block_length(diff: np.ndarray) -> int:
    """Mean block length of the SPA's stationary bootstrap: Politis & White's (2004) optimal
    length (with Patton, Politis & White's 2009 correction, ``arch.bootstrap.
    optimal_block_length``) averaged over the loss-difference columns and rounded up; at least
    1, at most ``n``. Data-driven where ``sqrt(n)`` (arch's default) is not: ~2 bars for
    uncorrelated differences, more as the autocorrelation grows."""
    from arch.bootstrap import optimal_block_length

    n = diff.shape[0]
    lengths = optimal_block_length(diff)["stationary"].to_numpy(np.float64)
    lengths = lengths[np.isfinite(lengths)]
    mean = float(lengths.mean()) if lengths.size else math.sqrt(n)
    return int(min(max(1, math.ceil(mean)), n))


def spa_test(
    benchmark_losses: np.ndarray,
    model_losses: np.ndarray,
    reps: int = SPA_REPS,
    seed: int = SPA_SEED,
    block_size: int | None = None,
) -> SpaResult:
    """Hansen's (2005) studentised SPA test, consistent p-value, that no model's mean loss is
    below the benchmark's.

    ``benchmark_losses`` is ``(n,)``, ``model_losses`` ``(n, k)`` (lower is better). With
    ``d_k = bench - model_k``, ``w_k^2`` its :func:`~stockapp.core.significance.long_run_variance`
    and ``t_k = sqrt(n) mean(d_k) / w_k``, the statistic is ``T = max_k t_k`` (not floored at
    0: arch's draws are not either). The
    bootstrap draws ``B`` resamples of the rows (arch's ``StationaryBootstrap``, block length
    :func:`spa_block_length` unless given, ``seed``) and compares ``T`` with
    ``max_k sqrt(n) (mean(d*_k) - mu_k) / w_k``, where ``mu_k = mean(d_k)`` for a model not
    clearly worse (``t_k >= -sqrt(2 log log n)``) and 0 otherwise; the p-value is the share of
    draws above ``T``. Models whose losses equal the benchmark's on every bar cannot beat it:
    when all do, the p-value is 1.
    """
    bench = np.asarray(benchmark_losses, dtype=np.float64)
    models = np.asarray(model_losses, dtype=np.float64)
    if models.ndim == 1:
        models = models[:, None]
    if bench.ndim != 1 or models.shape[0] != bench.size:
        raise StockappError(
            f"SPA needs one benchmark loss per bar: {bench.size} benchmark losses but "
            f"{models.shape[0]} model rows."
        )
    if not (np.isfinite(bench).all() and np.isfinite(models).all()):
        raise StockappError("SPA needs finite losses on every bar of the test span.")
    diff = bench[:, None] - models
    n, k = diff.shape
    omega = np.sqrt(long_run_variance(diff)) if n >= 2 else np.full(k, math.nan)
    tested = np.isfinite(omega) & (omega > 0.0)
    t_all = np.full(k, math.nan)
    if not tested.any():
        return SpaResult(1.0, t_all, 0)
    try:
        from arch.bootstrap import StationaryBootstrap
    except ImportError as exc:
        raise StockappError(
            "The SPA test needs the arch package; install it with: pip install arch"
        ) from exc
    d, w = diff[:, tested], omega[tested]
    mean = d.mean(axis=0)
    t = math.sqrt(n) * mean / w
    t_all[tested] = t
    block = spa_block_length(d) if block_size is None else int(block_size)
    draws = StationaryBootstrap(block, d, seed=seed).apply(lambda x: x.mean(axis=0), reps=reps)
    keep = t >= -math.sqrt(2.0 * math.log(math.log(n))) if n > 2 else np.ones(t.shape, bool)
    centre = np.where(keep, mean, 0.0)
    simulated = (math.sqrt(n) * (np.asarray(draws).reshape(reps, -1) - centre) / w).max(axis=1)
    # Not floored at 0: the draws are not either (as in arch), so where every model is clearly
    # worse the statistic sits among its draws (p near 0.5), not above all of them (p near 0).
    stat = float(t.max())
    return SpaResult(float(np.mean(simulated > stat)), t_all, block)


def spa_pvalue(
    benchmark_losses: np.ndarray,
    model_losses: np.ndarray,
    reps: int = SPA_REPS,
    seed: int = SPA_SEED,
    block_size: int | None = None,
) -> float:
    """The consistent p-value of :func:`spa_test`."""
    return spa_test(benchmark_losses, model_losses, reps, seed, block_size).pvalue

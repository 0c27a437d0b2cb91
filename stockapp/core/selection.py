"""Picking a winner honestly when many configurations were tried.

* **Nested choice.** Each run forecasts a selection span and then the test span (see
  :mod:`stockapp.core.sweep_plan`). Configurations are ranked by their mean RMSE / persistence
  over seeds on the **selection span only**; the chosen one is then scored on the test span.
  The test span's prices never enter the choice (a test perturbs them and checks the choice).
* **Many tries.** Per series, Hansen's (2005) test for superior predictive ability (SPA)
  asks whether *any* configuration's seed ensemble beats persistence on the test span given
  how many were tried; every run's and every configuration's Diebold-Mariano test is also
  signed and Holm-adjusted over the family tried (``better``/``worse``/``tie``).
* **One story.** The SPA is studentised by the same long-run variance as every
  Diebold-Mariano test (:func:`stockapp.core.metrics.long_run_variance`), so its statistic for
  a configuration is that configuration's DM statistic with the sign turned; only the
  distribution of the best of ``k`` comes from arch's stationary bootstrap. (arch 8.0's own
  ``SPA.compute`` compares unstudentised mean differences whatever ``studentize`` says, which
  let SPA and DM disagree on the same losses.) Where SPA finds a winner, the verdict names the
  configuration whose own test carries the evidence, and says so when it is not the one chosen.

``arch`` is imported only when an SPA p-value is wanted, with a one-sentence error if missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stockapp.core.metrics import (
    ALPHA,
    forecast_metrics,
    format_pvalue,
    long_run_variance,
)
from stockapp.core.trading import TradingRule, run_rule
from stockapp.errors import StockappError

#: Bootstrap draws of the SPA test; 1,000 gives p-values to about +-0.015 and takes ~0.1 s.
SPA_REPS = 1000
SPA_SEED = 0
#: Words of a signed verdict (results.csv and summary.json ``verdict``).
VERDICTS = ("better", "worse", "tie")


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
    ``d_k = bench - model_k``, ``w_k^2`` its :func:`~stockapp.core.metrics.long_run_variance`
    and ``t_k = sqrt(n) mean(d_k) / w_k``, the statistic is ``T = max(0, max_k t_k)``. The
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
    stat = max(0.0, float(t.max()))
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


@dataclass(frozen=True)
class SpanScores:
    """A forecaster's scores on one span."""

    rmse: float
    naive_rmse: float
    rmse_ratio: float
    dm_pvalue: float
    dm_stat: float
    dm_better_pvalue: float
    pt_pvalue: float
    directional_accuracy: float
    strategy_sharpe: float
    buyhold_sharpe: float

    def to_dict(self) -> dict:
        return {k: _finite_or_none(getattr(self, k)) for k in self.__dataclass_fields__}


def _finite_or_none(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def span_scores(
    realised: np.ndarray,
    forecast: np.ndarray,
    previous: np.ndarray,
    rule: TradingRule,
    periods_per_year: float,
) -> SpanScores:
    """Scores of ``forecast`` on these bars; ``previous`` (the persistence forecast) is the
    benchmark and the close the trading rule trades from."""
    m = forecast_metrics(realised, forecast, previous, previous)
    naive_rmse = float(np.sqrt(np.mean((previous - realised) ** 2)))
    strategy, hold = run_rule(
        previous, realised, np.log(forecast / previous), rule, periods_per_year
    )
    return SpanScores(
        rmse=m.rmse,
        naive_rmse=naive_rmse,
        rmse_ratio=m.rmse / naive_rmse if naive_rmse > 0 else math.nan,
        dm_pvalue=m.dm_pvalue,
        dm_stat=m.dm_stat,
        dm_better_pvalue=m.dm_better_pvalue,
        pt_pvalue=m.pt_pvalue,
        directional_accuracy=m.directional_accuracy,
        strategy_sharpe=strategy.stats.sharpe,
        buyhold_sharpe=hold.stats.sharpe,
    )


def choose(config_ids: Sequence[str], selection_ratios: Sequence[float]) -> str:
    """The configuration with the lowest mean selection-span RMSE ratio over its seeds.

    ``config_ids`` and ``selection_ratios`` run in parallel, one entry per run; ties go to the
    configuration met first. Only selection-span scores come in, so the test span cannot sway it.
    """
    means: dict[str, list[float]] = {}
    for cid, ratio in zip(config_ids, selection_ratios, strict=True):
        vals = means.setdefault(cid, [])
        if ratio is not None and math.isfinite(ratio):
            vals.append(float(ratio))
    scored = {cid: float(np.mean(v)) for cid, v in means.items() if v}
    if not scored:
        raise StockappError("No run finished, so no configuration can be chosen.")
    return min(scored, key=scored.__getitem__)  # min keeps the first of equal values


def span_dm_fields(realised: np.ndarray, forecast: np.ndarray, previous: np.ndarray) -> dict:
    """The Diebold-Mariano fields of a run's row on its test span (``dm_stat``, ``dm_pvalue``,
    ``dm_better_pvalue``), from its forecasts: a sweep recomputes them when it writes
    ``results.csv`` so that runs finished by an earlier version are tested the same way."""
    m = forecast_metrics(realised, forecast, previous, previous)
    return {
        "dm_stat": _finite_or_none(m.dm_stat),
        "dm_pvalue": _finite_or_none(m.dm_pvalue),
        "dm_better_pvalue": _finite_or_none(m.dm_better_pvalue),
    }


def add_holm(rows: list[dict]) -> None:
    """Set ``dm_pvalue_holm``, ``dm_better_pvalue_holm`` and ``verdict`` on each finished row,
    adjusting within each series' runs.

    ``dm_pvalue_holm`` adjusts the two-sided p; ``dm_better_pvalue_holm`` the one-sided p for
    "the run's squared errors are smaller than persistence's", and ``verdict`` is ``better``,
    ``worse`` or ``tie`` from it and its other side (:func:`holm_verdicts`).
    """
    by_series: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("status") == "ok":
            by_series.setdefault(row["series"], []).append(row)
    for group in by_series.values():
        p = [math.nan if r.get("dm_pvalue") is None else r["dm_pvalue"] for r in group]
        better = [r.get("dm_better_pvalue") for r in group]
        better_holm, words = holm_verdicts(better)
        for row, adj, b_adj, word in zip(group, holm(p), better_holm, words, strict=True):
            row["dm_pvalue_holm"] = _finite_or_none(adj)
            row["dm_better_pvalue_holm"] = _finite_or_none(b_adj)
            row["verdict"] = word


def summarise_series(
    series: str,
    runs: list[dict],
    forecasts: dict[str, dict[str, np.ndarray]],
    selection_bars: int,
    spans_text: str,
    rule: TradingRule,
    periods_per_year: float,
    labels: dict[str, str],
) -> dict:
    """The summary of one series: every configuration's scores, the nested choice, SPA, verdict.

    ``runs`` are the series' finished rows (``config_id``, ``key``, ``seed``,
    ``selection_rmse_ratio``, ``rmse_ratio``); ``forecasts[key]`` holds the run's ``realised``,
    ``forecast`` and ``naive`` arrays over the selection span (first ``selection_bars``) and then
    the test span. A configuration's seed ensemble is the mean of its seeds' forecasts.
    """
    ids = list(dict.fromkeys(r["config_id"] for r in runs))
    chosen = choose([r["config_id"] for r in runs], [r["selection_rmse_ratio"] for r in runs])
    first = forecasts[runs[0]["key"]]
    realised = first["realised"][selection_bars:]
    previous = first["naive"][selection_bars:]
    configs = []
    losses = []
    for cid in ids:
        mine = [r for r in runs if r["config_id"] == cid]
        stack = np.stack([forecasts[r["key"]]["forecast"] for r in mine])
        ensemble = stack.mean(axis=0)
        test_fc = ensemble[selection_bars:]
        losses.append((test_fc - realised) ** 2)
        sel = [r["selection_rmse_ratio"] for r in mine]
        test = [r["rmse_ratio"] for r in mine]
        configs.append(
            {
                "configuration": labels[cid],
                "settings": mine[0]["config"],
                "seeds": [r["seed"] for r in mine],
                "selection_rmse_ratio_mean": float(np.mean(sel)),
                "test_rmse_ratio_mean": float(np.mean(test)),
                "test_rmse_ratio_sd": float(np.std(test, ddof=1)) if len(test) > 1 else None,
                "ensemble_test": span_scores(
                    realised, test_fc, previous, rule, periods_per_year
                ).to_dict(),
            }
        )
    ens_p = [c["ensemble_test"]["dm_pvalue"] for c in configs]
    better_holm, words = holm_verdicts([c["ensemble_test"]["dm_better_pvalue"] for c in configs])
    two_sided = holm([math.nan if p is None else p for p in ens_p])
    for c, adj, b_adj, word in zip(configs, two_sided, better_holm, words, strict=True):
        c["ensemble_test"]["dm_pvalue_holm"] = _finite_or_none(adj)
        c["ensemble_test"]["dm_better_pvalue_holm"] = _finite_or_none(b_adj)
        c["ensemble_test"]["verdict"] = word
    bench = (previous - realised) ** 2
    spa = spa_test(bench, np.stack(losses, axis=1))
    best = configs[ids.index(chosen)]
    n_seeds = len(best["seeds"])
    strongest = None
    if spa.strongest is not None:
        top = configs[spa.strongest]
        strongest = (top["configuration"], top["ensemble_test"]["dm_better_pvalue"])
    return {
        "series": series,
        "configurations_tried": len(ids),
        "runs": len(runs),
        "spans": spans_text,
        "chosen": {
            "configuration": best["configuration"],
            "settings": best["settings"],
            "selection_rmse_ratio_mean": best["selection_rmse_ratio_mean"],
            "test_rmse_ratio_mean": best["test_rmse_ratio_mean"],
            "test_rmse_ratio_sd": best["test_rmse_ratio_sd"],
            "ensemble_test": best["ensemble_test"],
        },
        "spa_pvalue": spa.pvalue,
        "spa_block_length": spa.block_size,
        "configurations": configs,
        "verdict": verdict(
            series,
            len(ids),
            best["configuration"],
            best["test_rmse_ratio_mean"],
            spa.pvalue,
            spans_text,
            n_seeds,
            chosen_test=best["ensemble_test"],
            strongest=strongest,
        ),
    }


def verdict(
    series: str,
    n_configs: int,
    label: str,
    test_ratio: float,
    spa_p: float,
    spans_text: str,
    n_seeds: int,
    chosen_test: dict | None = None,
    strongest: tuple[str, float | None] | None = None,
) -> str:
    """The sentences a person reads: the winner and its test score, its own signed
    Diebold-Mariano verdict (``chosen_test``: its seed ensemble's ``dm_better_pvalue``,
    ``dm_better_pvalue_holm`` and ``verdict``), and whether trying many configurations explains
    it (SPA). Where SPA finds a winner, ``strongest`` (the label and one-sided p of the
    configuration with the largest statistic) says whose evidence that is when the chosen
    configuration's own test, before correction, does not agree."""
    seeds = f" (mean of {n_seeds} seeds)" if n_seeds > 1 else ""
    head = (
        f"Best of {n_configs} configuration{'s' if n_configs != 1 else ''} on {series}: {label}: "
        f"RMSE {test_ratio:.4g}x persistence{seeds}; {spans_text}."
    )
    own = _own_test(chosen_test, n_configs, n_seeds)
    if own:
        head = f"{head} {own}"
    tried = f"Accounting for the {n_configs} tried (SPA), {format_pvalue(spa_p)}"
    if math.isnan(spa_p):
        return f"{head} {tried}: the test could not be computed."
    if not spa_p < ALPHA:
        return f"{head} {tried}: no evidence that any beats persistence."
    text = f"{head} {tried}: at least one configuration beats persistence"
    chosen_p = _p(chosen_test, "dm_better_pvalue")
    if chosen_test is None or chosen_test.get("verdict") == "better":
        return text + "."
    if chosen_p < ALPHA:
        return (
            f"{text}; the chosen one's own test agrees before correction (one-sided "
            f"{format_pvalue(chosen_p)})."
        )
    top_label, top_p = strongest if strongest is not None else (None, None)
    top_p = math.nan if top_p is None else float(top_p)
    if top_label is not None and top_label != label and top_p < ALPHA:
        return (
            f"{text}: the evidence is {top_label}'s (Diebold-Mariano, one-sided "
            f"{format_pvalue(top_p)} before correction), which the selection span did not choose."
        )
    where = f", {top_label}" if top_label is not None else ""
    return (
        f"{text}, yet no configuration's own test is below {ALPHA:g} before correction "
        f"(smallest one-sided {format_pvalue(top_p)}{where}): the bootstrap's spread of the best "
        "of them is narrower than the Student-t's here, so the evidence is marginal."
    )


def _p(test: dict | None, key: str) -> float:
    v = None if test is None else test.get(key)
    return math.nan if v is None else float(v)


def _own_test(test: dict | None, n_configs: int, n_seeds: int) -> str:
    """The chosen configuration's signed Diebold-Mariano verdict on the test span, in words."""
    word = None if test is None else test.get("verdict")
    if word not in VERDICTS:
        return ""
    who = "Its seed ensemble" if n_seeds > 1 else "It"
    better, holm_p = _p(test, "dm_better_pvalue"), _p(test, "dm_better_pvalue_holm")
    many = n_configs > 1
    if word == "worse":
        after = f", below {ALPHA:g} also after Holm over the {n_configs} tried" if many else ""
        return (
            f"{who} is worse than persistence (Diebold-Mariano, one-sided "
            f"{format_pvalue(1.0 - better)} that its errors are larger{after})."
        )
    after = ""
    if many and math.isfinite(holm_p):
        after = f"; Holm-adjusted over the {n_configs} tried, {format_pvalue(holm_p)}"
    if word == "better":
        return (
            f"{who} is better than persistence (Diebold-Mariano, one-sided "
            f"{format_pvalue(better)}{after})."
        )
    return (
        f"{who} ties with persistence (Diebold-Mariano, one-sided {format_pvalue(better)} "
        f"that its errors are smaller{after})."
    )

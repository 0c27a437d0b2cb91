"""Picking a winner honestly when many configurations were tried.

* **Nested choice.** Each run forecasts a selection span and then the test span (see
  :mod:`stockapp.core.sweep_plan`). Configurations are ranked by their mean RMSE / persistence
  over seeds on the **selection span only**; the chosen one is then scored on the test span.
  The test span's prices never enter the choice (a test perturbs them and checks the choice).
* **Many tries.** Per series, Hansen's (2005) test for superior predictive ability (SPA, from
  ``arch.bootstrap``) asks whether *any* configuration's seed ensemble beats persistence on the
  test span given how many were tried; every run's and every configuration's Diebold-Mariano
  p-value is also Holm-adjusted over the family tried.

``arch`` is imported only when an SPA p-value is wanted, with a one-sentence error if missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stockapp.core.metrics import ALPHA, forecast_metrics, format_pvalue
from stockapp.core.trading import TradingRule, run_rule
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


def spa_pvalue(
    benchmark_losses: np.ndarray,
    model_losses: np.ndarray,
    reps: int = SPA_REPS,
    seed: int = SPA_SEED,
    block_size: int | None = None,
) -> float:
    """Hansen's SPA p-value ("consistent") that no model's loss is below the benchmark's.

    ``benchmark_losses`` is ``(n,)``, ``model_losses`` ``(n, k)`` (lower is better). Models
    whose losses equal the benchmark's on every bar cannot beat it: when all do, ``1.0``.
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
    diff = models - bench[:, None]
    varying = np.ptp(diff, axis=0) > 0.0
    if not varying.any():
        return 1.0
    try:
        from arch.bootstrap import SPA
    except ImportError as exc:
        raise StockappError(
            "The SPA test needs the arch package; install it with: pip install arch"
        ) from exc
    test = SPA(bench, models[:, varying], block_size=block_size, reps=reps, seed=seed)
    test.compute()
    return float(test.pvalues["consistent"])


@dataclass(frozen=True)
class SpanScores:
    """A forecaster's scores on one span."""

    rmse: float
    naive_rmse: float
    rmse_ratio: float
    dm_pvalue: float
    dm_stat: float
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


def add_holm(rows: list[dict]) -> None:
    """Set ``dm_pvalue_holm`` on each finished row, adjusting within each series' runs."""
    by_series: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("status") == "ok":
            by_series.setdefault(row["series"], []).append(row)
    for group in by_series.values():
        p = [math.nan if r.get("dm_pvalue") is None else r["dm_pvalue"] for r in group]
        for row, adj in zip(group, holm(p), strict=True):
            row["dm_pvalue_holm"] = _finite_or_none(adj)


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
    for c, adj in zip(configs, holm([math.nan if p is None else p for p in ens_p]), strict=True):
        c["ensemble_test"]["dm_pvalue_holm"] = _finite_or_none(adj)
    bench = (previous - realised) ** 2
    spa = spa_pvalue(bench, np.stack(losses, axis=1))
    best = configs[ids.index(chosen)]
    n_seeds = len(best["seeds"])
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
        "spa_pvalue": spa,
        "configurations": configs,
        "verdict": verdict(
            series,
            len(ids),
            best["configuration"],
            best["test_rmse_ratio_mean"],
            spa,
            spans_text,
            n_seeds,
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
) -> str:
    """The sentence a person reads: the winner, its test score, and whether trying many
    configurations explains it."""
    seeds = f" (mean of {n_seeds} seeds)" if n_seeds > 1 else ""
    head = (
        f"Best of {n_configs} configuration{'s' if n_configs != 1 else ''} on {series}: {label}: "
        f"RMSE {test_ratio:.4g}x persistence{seeds}; {spans_text}."
    )
    tried = f"Accounting for the {n_configs} tried (SPA), {format_pvalue(spa_p)}"
    if math.isnan(spa_p):
        return f"{head} {tried}: the test could not be computed."
    if spa_p < ALPHA:
        return f"{head} {tried}: at least one configuration beats persistence."
    return f"{head} {tried}: no evidence that any beats persistence."

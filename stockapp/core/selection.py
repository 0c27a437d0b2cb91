"""Picking a winner honestly when many configurations were tried.

* **Nested choice.** Each run forecasts a selection span and then the test span (see
  :mod:`stockapp.core.sweep_plan`). Configurations are ranked by their mean RMSE / persistence
  over seeds on the **selection span only**; the chosen one is then scored on the test span.
  The test span's prices never enter the choice (a test perturbs them and checks the choice).
* **Many tries.** Per series, Hansen's (2005) test for superior predictive ability (SPA)
  asks whether *any* configuration's seed ensemble beats persistence on the test span given
  how many were tried; every run's and every configuration's Diebold-Mariano test is also
  signed and Holm-adjusted over the family tried (``better``/``worse``/``tie``); both tests are
  in :mod:`stockapp.core.multiple_testing`.
* **One story.** The SPA is studentised by the same long-run variance as every
  Diebold-Mariano test, so its statistic for a configuration is that configuration's DM
  statistic with the sign turned. Where SPA finds a winner, the verdict
  (:mod:`stockapp.core.selection_verdict`) names the configuration whose own test carries the
  evidence, and says so when it is not the one chosen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stockapp.core.metrics import forecast_metrics
from stockapp.core.multiple_testing import holm, holm_verdicts, spa_test
from stockapp.core.selection_verdict import verdict
from stockapp.core.trading import TradingRule, run_rule
from stockapp.errors import StockappError


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

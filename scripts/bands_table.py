"""Backtest the distribution heads on every bundled sample and print the README's bands table.

    python scripts/bands_table.py [--heads gaussian,student-t] [--epochs N] [--samples AAPL]
                                  [--device cpu] [--json OUT.json] [--from-json OUT.json]
                                  [--readme README.md]

For each sample and head, the default model (default features, window and training) is trained
once on the first 80% of the bars with that head, and its forecast distributions of the next
log return are scored on the last 20%, beside GARCH(1,1)-t and EWMA (RiskMetrics) fitted on the
same past: observed coverage of the 80% and 95% central bands with the p-values of
Christoffersen's conditional-coverage test (right share of misses, and independent ones), mean
log score (higher is better), mean CRPS of the log return (lower is better), and the one-sided
Diebold-Mariano p-value that the log score is higher than GARCH's with its signed verdict
(better / worse / tie at 5%). A final line per head gives its mean log score over the samples,
which is how the default head is chosen. ``--readme`` replaces the table and those lines between
the ``<!-- bands-table -->`` markers of that file.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import list_samples, load_sample
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig

SHOWN = {"model": None, "garch": "GARCH(1,1)-t", "ewma": "EWMA 0.94"}


def run_one(name: str, head: str, epochs: int | None, device: str) -> dict:
    series = load_sample(name)
    changes: dict = {"device": device, "head": head}
    if epochs is not None:
        changes["epochs"] = epochs
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **changes})
    started = time.perf_counter()
    outcome = drain(run_backtest(series, FeatureSpec(), cfg, BacktestSettings()))
    bands = outcome.result.bands
    rows = {}
    for key in SHOWN:
        s = bands.scores[key]
        rows[key] = {
            "coverage_80": s.coverage_80,
            "coverage_95": s.coverage_95,
            "kupiec_pvalue_80": s.kupiec_pvalue_80,
            "cc_pvalue_80": s.cc_pvalue_80,
            "cc_pvalue_95": s.cc_pvalue_95,
            "log_score": s.log_score,
            "crps": s.crps,
            "dm_pvalue_log_score_vs_garch": s.dm_pvalue_log_score_vs_garch,
            "dm_better_pvalue_log_score_vs_garch": s.dm_better_pvalue_log_score_vs_garch,
            "verdict_log_score_vs_garch": s.verdict_vs_garch,
        }
    return {
        "sample": name,
        "head": head,
        "model": outcome.model_name,
        "test_bars": outcome.result.n,
        "epochs_run": outcome.result.fits[0].epochs,
        "scores": rows,
        "sentence": bands.sentence(outcome.model_name),
        "seconds": time.perf_counter() - started,
    }


def _p(p: float | None) -> str:
    if p is None or p != p:
        return "-"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def table(results: list[dict]) -> str:
    lines = [
        "| sample | forecaster | 80% band held | CC p (80%) | 95% band held | CC p (95%) "
        "| log score | CRPS (x1e3) | p log score higher than GARCH's | vs GARCH |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    order = list(dict.fromkeys(r["sample"] for r in results))
    for r in sorted(results, key=lambda r: order.index(r["sample"])):
        for key, label in SHOWN.items():
            s = r["scores"][key]
            name = label or f"{r['model']} ({r['head']})"
            if key != "model" and r is not _first_of_sample(results, r["sample"]):
                continue  # the baselines do not depend on the head: show them once
            word = s.get("verdict_log_score_vs_garch") or "-"
            lines.append(
                f"| {r['sample']} | {name} | {s['coverage_80'] * 100:.1f}% "
                f"| {_p(s.get('cc_pvalue_80'))} | {s['coverage_95'] * 100:.1f}% "
                f"| {_p(s.get('cc_pvalue_95'))} | {s['log_score']:.3f} | {s['crps'] * 1e3:.3f} "
                f"| {_p(s.get('dm_better_pvalue_log_score_vs_garch'))} | {word} |"
            )
    return "\n".join(lines)


def _first_of_sample(results: list[dict], sample: str) -> dict:
    return next(r for r in results if r["sample"] == sample)


def head_summary(results: list[dict]) -> list[str]:
    out = []
    for head in dict.fromkeys(r["head"] for r in results):
        rs = [r for r in results if r["head"] == head]
        ls = statistics.mean(r["scores"]["model"]["log_score"] for r in rs)
        c80 = statistics.mean(r["scores"]["model"]["coverage_80"] for r in rs)
        c95 = statistics.mean(r["scores"]["model"]["coverage_95"] for r in rs)
        out.append(
            f"{head}: mean log score {ls:.4f}, mean coverage 80% {c80 * 100:.1f}%, "
            f"95% {c95 * 100:.1f}% over {len(rs)} samples"
        )
    return out


def replace_block(readme: Path, block: str) -> None:
    """Put ``block`` between the ``<!-- bands-table -->`` markers of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- bands-table -->\n).*?(\n<!-- /bands-table -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no <!-- bands-table --> markers.")
    readme.write_text(pattern.sub(lambda m: m[1] + block + m[2], text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heads", default="gaussian,student-t")
    parser.add_argument("--epochs", type=int, default=None, help="default: TrainConfig's")
    parser.add_argument("--samples", default=None, help="comma list; default: all bundled")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="write the raw results here")
    parser.add_argument("--from-json", type=Path, default=None, help="print an earlier --json")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the table there")
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        samples = args.samples.split(",") if args.samples else [s.name for s in list_samples()]
        results = []
        for head in args.heads.split(","):
            for name in samples:
                r = run_one(name, head, args.epochs, args.device)
                print(f"{name} {head}: {r['sentence']} ({r['seconds']:.0f} s)", file=sys.stderr)
                results.append(r)
                if args.json:
                    args.json.write_text(json.dumps(results, indent=2))
    block = table(results) + "\n\n" + "\n".join(f"- {line}" for line in head_summary(results))
    print(block)
    if args.readme:
        replace_block(args.readme, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Backtest the distribution heads on every bundled sample and print the README's bands table.

    python scripts/bands_table.py [--heads student-t,gaussian] [--epochs N] [--samples AAPL]
                                  [--device cpu] [--json OUT.json] [--from-json OUT.json]
                                  [--readme README.md]

For each sample and head, the default model (a distribution head's default inputs, the log
return, the high-low range and absolute returns; default window and training) is trained
once on the first 80% of the bars with that head, and its forecast distributions of the next
log return are scored on the last 20%, beside GARCH(1,1)-t and EWMA (RiskMetrics) fitted on the
same past. Every forecaster's bands are calibrated online from past outcomes only (the default
``--calibrate aci``); each cell gives the calibrated score and, in brackets, the forecaster's own
("raw") one: observed coverage of the 80% and 95% central bands, the 80% band's coverage in each
third of the forecaster's sigma (low/middle/high, calibrated), the p-value of Christoffersen's
conditional-coverage test of the 80% band (right share of misses, and independent ones), mean
log score (higher is better), mean CRPS of the log return (lower is better), the mean 80% width
over GARCH's, and the one-sided Diebold-Mariano p-value that the log score is higher than
GARCH's with its signed verdict (better / worse / tie at 5%). The lines below say, per head,
which of issue 22's targets were met and where they were missed, and what calibrating cost
(its seconds over the backtest's). ``--json`` keeps each run as it finishes and is read back
(an interrupted run resumes); ``--readme`` replaces the block between the ``<!-- bands-table
-->`` markers of that file.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

SHOWN = {"model": None, "garch": "GARCH(1,1)-t", "ewma": "EWMA 0.94"}
KEYS = (
    "coverage_50", "coverage_80", "coverage_95", "coverage_80_by_tercile",
    "coverage_95_by_tercile", "coverage_80_after_jump", "kupiec_pvalue_80", "cc_pvalue_80",
    "cc_pvalue_95", "log_score", "crps", "width_80", "dm_pvalue_log_score_vs_garch",
    "dm_better_pvalue_log_score_vs_garch", "verdict_log_score_vs_garch",
)  # fmt: skip


def run_one(name: str, head: str, epochs: int | None, device: str) -> dict:
    from stockapp.core.features import FeatureSpec, default_features
    from stockapp.core.progress import drain
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.data import load_sample
    from stockapp.models.runner import run_backtest
    from stockapp.models.trainer import TrainConfig

    series = load_sample(name)
    changes: dict = {"device": device, "head": head}
    if epochs is not None:
        changes["epochs"] = epochs
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **changes})
    started = time.perf_counter()
    spec = FeatureSpec(features=default_features(head, series.prices(True).columns))
    outcome = drain(run_backtest(series, spec, cfg, BacktestSettings()))
    bands = outcome.result.bands

    def pick(b) -> dict:
        return {key: _plain(b.scores[key].to_dict()) for key in SHOWN}

    timings = outcome.manifest.timings
    return {
        "sample": name,
        "head": head,
        "model": outcome.model_name,
        "features": list(spec.features),
        "test_bars": outcome.result.n,
        "epochs_run": outcome.result.fits[0].epochs,
        "calibration": bands.calibration,
        "scores": pick(bands),
        "raw": pick(bands.raw) if bands.raw is not None else None,
        "sentence": bands.sentence(outcome.model_name),
        "calibration_sentence": bands.calibration_sentence(outcome.model_name),
        "seconds": time.perf_counter() - started,
        "backtest_seconds": timings.total_seconds,
        "calibration_seconds": timings.calibration_seconds or 0.0,
    }


def _plain(d: dict) -> dict:
    return {k: d.get(k) for k in KEYS}


def _p(p: float | None) -> str:
    if p is None or p != p:
        return "-"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def _pair(cal: float | None, raw: float | None, fmt: str) -> str:
    """``calibrated (raw)``, or the calibrated number alone without a raw one."""
    if cal is None or cal != cal:
        return "-"
    text = format(cal, fmt)
    return text if raw is None or raw != raw else f"{text} ({format(raw, fmt)})"


def table(results: list[dict]) -> str:
    lines = [
        "| sample | forecaster | 80% band held | 80% held by sigma third | 95% band held "
        "| CC p (80%) | log score | CRPS (x1e3) | 80% width / GARCH's "
        "| p log score higher than GARCH's | vs GARCH |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    order = list(dict.fromkeys(r["sample"] for r in results))
    for r in sorted(results, key=lambda r: order.index(r["sample"])):
        for key, label in SHOWN.items():
            if key != "model" and r is not _first_of_sample(results, r["sample"]):
                continue  # the baselines do not depend on the head: show them once
            s = r["scores"][key]
            raw = (r.get("raw") or {}).get(key) or {}
            g, graw = r["scores"]["garch"], (r.get("raw") or {}).get("garch") or {}
            name = label or f"{r['model']} ({r['head']})"
            thirds = "/".join(f"{c * 100:.0f}" for c in s.get("coverage_80_by_tercile") or ())
            width = s["width_80"] / g["width_80"] if s.get("width_80") else None
            wraw = raw["width_80"] / graw["width_80"] if raw.get("width_80") else None
            word = s.get("verdict_log_score_vs_garch") or "-"
            if raw.get("verdict_log_score_vs_garch"):
                word += f" ({raw['verdict_log_score_vs_garch']})"
            better = _p(s.get("dm_better_pvalue_log_score_vs_garch"))
            if raw.get("dm_better_pvalue_log_score_vs_garch") is not None and better != "-":
                better += f" ({_p(raw['dm_better_pvalue_log_score_vs_garch'])})"
            lines.append(
                f"| {r['sample']} | {name} "
                f"| {_pair(s['coverage_80'] * 100, _pct(raw.get('coverage_80')), '.1f')}% "
                f"| {thirds or '-'} "
                f"| {_pair(s['coverage_95'] * 100, _pct(raw.get('coverage_95')), '.1f')}% "
                f"| {_p(s.get('cc_pvalue_80'))} "
                f"| {_pair(s['log_score'], raw.get('log_score'), '.3f')} "
                f"| {_pair(s['crps'] * 1e3, _k(raw.get('crps')), '.3f')} "
                f"| {_pair(width, wraw, '.2f') if key != 'garch' else '-'} "
                f"| {better} | {word} |"
            )
    return "\n".join(lines)


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100


def _k(x: float | None) -> float | None:
    return None if x is None else x * 1e3


def _first_of_sample(results: list[dict], sample: str) -> dict:
    return next(r for r in results if r["sample"] == sample)


def head_summary(results: list[dict]) -> list[str]:
    out = []
    for head in dict.fromkeys(r["head"] for r in results):
        rs = [r for r in results if r["head"] == head]
        ls = statistics.mean(r["scores"]["model"]["log_score"] for r in rs)
        c80 = statistics.mean(r["scores"]["model"]["coverage_80"] for r in rs)
        c95 = statistics.mean(r["scores"]["model"]["coverage_95"] for r in rs)
        line = (
            f"{head}: mean log score {ls:.4f}, mean coverage 80% {c80 * 100:.1f}%, "
            f"95% {c95 * 100:.1f}% over {len(rs)} samples, calibrated"
        )
        if all(r.get("raw") for r in rs):
            rls = statistics.mean(r["raw"]["model"]["log_score"] for r in rs)
            r80 = statistics.mean(r["raw"]["model"]["coverage_80"] for r in rs)
            line += f" (raw: {rls:.4f}, {r80 * 100:.1f}%)"
        out.append(line)
        out.extend(targets(rs))
    return out


def within(n: int, level: float, tolerance: float) -> float:
    """The chance that a band exactly right at ``level``, its misses independent, holds a share
    of ``n`` outcomes within ``tolerance`` of ``level`` (binomial, summed exactly)."""
    import numpy as np
    from scipy.stats import binom

    k = np.arange(n + 1)
    return float(binom.pmf(k, n, level)[np.abs(k / n - level) <= tolerance + 1e-12].sum())


def thirds_within(n: int, level: float, tolerance: float) -> float:
    """The same for every third of ``n`` outcomes at once (thirds taken as independent)."""
    sizes = (n // 3, n // 3, n - 2 * (n // 3))
    import numpy as np

    return float(np.prod([within(m, level, tolerance) for m in sizes])) if n >= 3 else 0.0


def chance_line(rs: list[dict]) -> str:
    """What chance alone allows: how many of these samples a forecaster whose bands are exactly
    right (misses independent) would be expected to miss each coverage target on, over the
    same number of test bars. The yardstick for the misses above."""
    c80 = sum(1 - within(r["test_bars"], 0.8, 0.02) for r in rs)
    t80 = sum(1 - thirds_within(r["test_bars"], 0.8, 0.05) for r in rs)
    c95 = sum(1 - within(r["test_bars"], 0.95, 0.015) for r in rs)
    return (
        f"  - by chance alone (bands exactly right, misses independent, over the same test "
        f"bars) a forecaster is expected to miss 80 +/- 2% on {c80:.1f} of {len(rs)} samples, "
        f"80 +/- 5% in some third on {t80:.1f} and 95 +/- 1.5% on {c95:.1f}"
    )


def targets(rs: list[dict]) -> list[str]:
    """Issue 22's targets for one head's runs, met or missed, in words."""

    def names(bad: list[str]) -> str:
        return "met everywhere" if not bad else "missed on " + ", ".join(bad)

    def check(key: str, test) -> str:
        return names([r["sample"] for r in rs if not test(r["scores"][key])])

    lines = []
    for key, label in (("model", "the model"), ("garch", "GARCH")):
        c80 = check(key, lambda s: abs(s["coverage_80"] - 0.8) <= 0.02)
        t80 = check(key, lambda s: all(abs(c - 0.8) <= 0.05 for c in s["coverage_80_by_tercile"]))
        c95 = check(key, lambda s: abs(s["coverage_95"] - 0.95) <= 0.015)
        lines.append(
            f"  - {label}: 80% band within 80 +/- 2% {c80}; within 80 +/- 5% in every sigma "
            f"third {t80}; 95% band within 95 +/- 1.5% {c95}"
        )
    lines.append(chance_line(rs))
    worse = [
        r["sample"] for r in rs if r["scores"]["model"]["verdict_log_score_vs_garch"] == "worse"
    ]
    higher = [
        r["sample"]
        for r in rs
        if r["scores"]["model"]["log_score"] > r["scores"]["garch"]["log_score"]
    ]
    sig = [
        r["sample"] for r in rs if r["scores"]["model"]["verdict_log_score_vs_garch"] == "better"
    ]
    ratios = [
        (r["sample"], r["scores"]["model"]["width_80"] / r["scores"]["garch"]["width_80"])
        for r in rs
    ]
    wide = [f"{name} ({x:.2f}x)" for name, x in ratios if x > 1.15]
    lines.append(
        f"  - log score not significantly worse than GARCH's (DM, 5%): "
        f"{names(worse)}; higher than GARCH's on {len(higher)} of {len(rs)}"
        + (f" ({', '.join(higher)})" if higher else "")
        + f", significantly on {len(sig)}; mean 80% width within 1.15x GARCH's: {names(wide)}"
    )
    shares = [
        (r["calibration_seconds"] / r["backtest_seconds"], r["sample"])
        for r in rs
        if r.get("backtest_seconds")
    ]
    if shares:
        worst, where = max(shares)
        lines.append(
            f"  - calibrating took at most {worst * 100:.2f}% of a backtest's time ({where}; "
            f"the slice's forecasts and the online rule for all four forecasters)"
        )
    return lines


def replace_block(readme: Path, block: str) -> None:
    """Put ``block`` between the ``<!-- bands-table -->`` markers of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- bands-table -->\n).*?(\n<!-- /bands-table -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no <!-- bands-table --> markers.")
    readme.write_text(pattern.sub(lambda m: m[1] + block + m[2], text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heads", default="student-t,gaussian")
    parser.add_argument("--epochs", type=int, default=None, help="default: TrainConfig's")
    parser.add_argument("--samples", default=None, help="comma list; default: all bundled")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="keep (and resume) results here")
    parser.add_argument("--from-json", type=Path, default=None, help="print an earlier --json")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the table there")
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        from stockapp.data import list_samples

        samples = args.samples.split(",") if args.samples else [s.name for s in list_samples()]
        results = json.loads(args.json.read_text()) if args.json and args.json.exists() else []
        done = {(r["sample"], r["head"]) for r in results}
        for head in args.heads.split(","):
            for name in samples:
                if (name, head) in done:
                    continue
                r = run_one(name, head, args.epochs, args.device)
                print(f"{name} {head}: {r['sentence']} {r['calibration_sentence']} "
                      f"({r['seconds']:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
                results.append(r)
                if args.json:
                    args.json.write_text(json.dumps(results, indent=1))
    block = (
        table(results)
        + "\n\n"
        + "\n".join(
            line if line.startswith("  ") else f"- {line}" for line in head_summary(results)
        )
    )
    print(block)
    if args.readme:
        replace_block(args.readme, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Choose the online calibration's steps on the bundled samples' selection spans, never the test.

    python scripts/calibration_choice.py [--samples AAPL,MSFT] [--json OUT.json]
                                         [--scale-steps 0,0.005] [--level-steps 0.005,0.01]
                                         [--variants 0:1,1:1,1:3] [--readme README.md]

For each sample the test span is the backtest's default (the last 20% of the bars); the
selection span is as many bars just before it. The volatility baselines (rolling, EWMA,
GARCH(1,1)-t) are fitted on the bars before the selection span, forecast it, and are calibrated
online with each pair of steps from a calibration slice of the bars just before it
(:mod:`stockapp.core.calibration`); no bar of the test span is read. For each pair the script
prints, over the 18 forecaster-sample pairs: how often the coverage targets were missed (80%
band within 2 points of 80% overall and within 5 in each sigma tercile, 95% band within 1.5),
the mean absolute coverage error at 50/80/95%, the mean log score and the mean 80% interval
score (lower is better). The README says which pair was kept and why; ``--readme`` writes the
table between the ``<!-- calibration-choice -->`` markers of that file.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import numpy as np

from stockapp.core.bands import score_bands
from stockapp.core.calibration import CALIBRATION_BARS, CalibrationSettings, calibrate
from stockapp.core.volatility import log_returns, vol_forecasts
from stockapp.data import list_samples, load_sample


def selection_forecasts(name: str) -> dict:
    """The baselines' forecasts of the selection span and of the slice before it, with the
    outcomes; only closes before the test span are read."""
    close = load_sample(name).prices(True)["Close"].to_numpy(np.float64)
    n = close.size
    test_start = n - max(1, int(round(n * 0.2)))
    sel_start = test_start - (n - test_start)
    past = close[:test_start]  # nothing of the test span
    targets = np.arange(sel_start, test_start)
    cut = np.arange(max(sel_start - CALIBRATION_BARS, 3), sel_start)
    r = log_returns(past)
    return {
        "y": r[targets],
        "y_past": r[cut],
        "test": vol_forecasts(past, sel_start, targets),
        "past": vol_forecasts(past, sel_start, cut, in_sample=True),
    }


def evaluate(data: dict, settings: CalibrationSettings) -> dict[str, dict]:
    out = {}
    for key, (mu, sigma, nu) in data["test"].items():
        pm, ps, pn = data["past"][key]
        cal = calibrate(data["y"], mu, sigma, nu, (data["y_past"], pm, ps, pn), settings)
        s, _ = score_bands(data["y"], cal.mu, cal.sigma, cal.nu, bounds=cal.bounds)
        out[key] = {
            "coverage_50": s.coverage_50,
            "coverage_80": s.coverage_80,
            "coverage_95": s.coverage_95,
            "coverage_80_by_tercile": list(s.coverage_80_by_tercile),
            "coverage_80_after_jump": s.coverage_80_after_jump,
            "log_score": s.log_score,
            "interval_score_80": s.interval_score_80,
            "width_80": s.width_80,
        }
    return out


def summary(rows: list[dict]) -> dict:
    """Target misses and mean errors over every forecaster of every sample."""
    miss80 = sum(abs(r["coverage_80"] - 0.8) > 0.02 for r in rows)
    miss95 = sum(abs(r["coverage_95"] - 0.95) > 0.015 for r in rows)
    tercile = sum(any(abs(c - 0.8) > 0.05 for c in r["coverage_80_by_tercile"]) for r in rows)
    return {
        "misses_80": miss80,
        "misses_95": miss95,
        "misses_tercile_80": tercile,
        "error_50": statistics.mean(abs(r["coverage_50"] - 0.5) for r in rows),
        "error_80": statistics.mean(abs(r["coverage_80"] - 0.8) for r in rows),
        "error_95": statistics.mean(abs(r["coverage_95"] - 0.95) for r in rows),
        "worst_tercile_80": max(
            max(abs(c - 0.8) for c in r["coverage_80_by_tercile"]) for r in rows
        ),  # fmt: skip
        "log_score": statistics.mean(r["log_score"] for r in rows),
        "interval_score_80": statistics.mean(r["interval_score_80"] for r in rows),
        "n": len(rows),
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| calibration | scale step | slope on log sigma | sigma thirds | band step "
        "| 80% misses | 95% misses | a third's 80% off by > 5 | mean error 50/80/95% "
        "| worst third | log score | interval score 80% (x1e3) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        st, s = r["settings"], r["summary"]
        n = s["n"]
        aci = st["method"] == "aci"
        lines.append(
            f"| {st['method']} | {st['scale_step'] if aci else '-'} "
            f"| {('yes' if st['slope'] else 'no') if aci else '-'} "
            f"| {st['groups'] if aci else '-'} | {st['level_step'] if aci else '-'} "
            f"| {s['misses_80']} of {n} | {s['misses_95']} of {n} "
            f"| {s['misses_tercile_80']} of {n} "
            f"| {s['error_50'] * 100:.1f} / {s['error_80'] * 100:.1f} / {s['error_95'] * 100:.1f} "
            f"| {s['worst_tercile_80'] * 100:.1f} | {s['log_score']:.4f} "
            f"| {s['interval_score_80'] * 1e3:.3f} |"
        )
    return "\n".join(lines)


def replace_block(readme: Path, block: str) -> None:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(
        r"(<!-- calibration-choice -->\n).*?(\n<!-- /calibration-choice -->)", re.S
    )
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no <!-- calibration-choice --> markers.")
    readme.write_text(pattern.sub(lambda m: m[1] + block + m[2], text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", default=None)
    parser.add_argument("--scale-steps", default="0.0025,0.005")
    parser.add_argument("--level-steps", default="0.005,0.01,0.02")
    parser.add_argument(
        "--variants",
        default="0:1,1:1,1:3",
        help="slope:groups pairs: without or with the scale's slope (0/1), and how many sigma "
        "groups adapt their own alphas",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--readme", type=Path, default=None)
    args = parser.parse_args(argv)
    names = args.samples.split(",") if args.samples else [s.name for s in list_samples()]
    data = {name: selection_forecasts(name) for name in names}
    variants = [v.split(":") for v in args.variants.split(",")]
    configs = [("none", 0.0, 0.0, False, 1)] + [
        ("aci", float(a), float(b), bool(int(c)), int(g))
        for c, g in variants
        for a in args.scale_steps.split(",")
        for b in args.level_steps.split(",")
    ]
    results = []
    print(
        f"{'method':6} {'grp':3} {'slope':5} {'scale':>7} {'level':>7} {'miss80':>6} "
        f"{'miss95':>6} {'missT':>6} {'err50':>6} {'err80':>6} {'err95':>6} {'worstT':>6} "
        f"{'logS':>8} {'IS80':>8}"
    )
    for method, a, b, c, g in configs:
        settings = CalibrationSettings(method=method, scale_step=a, level_step=b, slope=c, groups=g)
        per = {name: evaluate(d, settings) for name, d in data.items()}
        rows = [v for p in per.values() for v in p.values()]
        s = summary(rows)
        results.append({"settings": settings.to_dict(), "summary": s, "per_sample": per})
        print(
            f"{method:6} {g:3d} {c!s:5} {a:7.4f} {b:7.4f} {s['misses_80']:6d} {s['misses_95']:6d} "
            f"{s['misses_tercile_80']:6d} {s['error_50']:6.3f} {s['error_80']:6.3f} "
            f"{s['error_95']:6.3f} {s['worst_tercile_80']:6.3f} {s['log_score']:8.4f} "
            f"{s['interval_score_80'] * 1e3:8.3f}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.readme:
        replace_block(args.readme, markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

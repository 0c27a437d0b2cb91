"""Which volatility inputs and head base to use: chosen on the selection spans, never the test.

    python scripts/vol_inputs_table.py [--samples AAPL,MSFT] [--configs base,rv] [--epochs N]
                                       [--cache vol_inputs.json] [--readme README.md]

For each bundled sample the test span is the backtest's default (the last 20% of the bars) and
the selection span the as many bars just before it. Each configuration (input features and head
base, Student-t head, every other setting the default) is trained on the bars before the
selection span and forecasts the selection span walk-forward, its bands calibrated online as a
backtest's are; the bars of the test span are cut off before anything is computed. The table
gives, per configuration, the calibrated log score on each sample's selection span and its
mean, and against GARCH(1,1)-t (calibrated alike) the count of samples where the model's mean
log score is higher and where the Diebold-Mariano test says better / worse at 5%. The
configuration with the highest mean calibrated log score becomes the default. Results are cached
in ``--cache`` (one entry per configuration and sample), so an interrupted run resumes.
``--readme`` writes the table between the ``<!-- vol-inputs-table -->`` markers.
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
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.data import list_samples, load_sample
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig

#: name -> (features, head base, what it tries)
CONFIGS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "base": (("log_return",), "none", "log returns only (the default before issue 22)"),
    "abs": (("log_return", "abs_return"), "none", "+ absolute returns"),
    "hl": (("log_return", "hl_range"), "none", "+ high-low range"),
    "rv": (("log_return", "rv_5", "rv_20", "rv_60"), "none",
           "+ realised volatility over 5, 20 and 60 bars"),
    "garch_in": (("log_return", "garch_sigma"), "none", "+ GARCH's sigma as an input"),
    "garch_base": (("log_return",), "garch", "head scales GARCH's sigma"),
    "all": (("log_return", "abs_return", "hl_range", "rv_5", "rv_20", "rv_60", "garch_sigma"),
            "none", "every volatility input"),
    "garch_base_rv": (("log_return", "rv_5", "rv_20", "rv_60", "garch_sigma"), "garch",
                      "head scales GARCH's sigma, + realised volatility and GARCH inputs"),
    # tried after the rows above: the best one with the next best input or base added
    "hl_abs": (("log_return", "hl_range", "abs_return"), "none",
               "+ high-low range and absolute returns"),
    "hl_garch_base": (("log_return", "hl_range"), "garch",
                      "+ high-low range, head scales GARCH's sigma"),
}  # fmt: skip


def run_one(name: str, config: str, epochs: int | None, device: str) -> dict:
    features, base, _ = CONFIGS[config]
    prices = load_sample(name).prices(True)
    n = len(prices)
    test_start = n - max(1, int(round(n * 0.2)))
    sel_start = test_start - (n - test_start)
    past = prices.iloc[:test_start]  # the test span is never read
    spec = FeatureSpec(features=features)
    changes: dict = {"device": device, "head": "student-t", "head_base": base}
    if epochs is not None:
        changes["epochs"] = epochs
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **changes})
    settings = BacktestSettings(test_start=str(past.index[sel_start].date()))
    started = time.perf_counter()
    result = drain(walk_forward(past, spec, RecurrentForecaster(spec, cfg), settings))
    bands = result.bands
    out = {"sample": name, "config": config, "bars": result.n}
    for which, b in (("calibrated", bands), ("raw", bands.raw)):
        m, g = b.scores["model"], b.scores["garch"]
        out[which] = {
            "log_score": m.log_score,
            "garch_log_score": g.log_score,
            "dm_better_pvalue": m.dm_better_pvalue_log_score_vs_garch,
            "verdict": m.verdict_vs_garch,
            "coverage_80": m.coverage_80,
            "coverage_80_by_tercile": list(m.coverage_80_by_tercile),
            "width_80": m.width_80,
            "garch_width_80": g.width_80,
        }
    out["seconds"] = time.perf_counter() - started
    return out


def table(results: list[dict], samples: list[str]) -> str:
    head = " | ".join(samples)
    lines = [
        f"| configuration | what it tries | {head} | mean | raw mean | higher than GARCH "
        "| DM better / worse |",
        "|---|---|" + "---:|" * (len(samples) + 3) + "---|",
    ]
    best = _best(results)
    for config, (_, _, what) in CONFIGS.items():
        rows = {r["sample"]: r for r in results if r["config"] == config}
        if not rows:
            continue
        cells = [f"{rows[s]['calibrated']['log_score']:.4f}" if s in rows else "-" for s in samples]
        cal = [r["calibrated"] for r in rows.values()]
        mean = statistics.mean(c["log_score"] for c in cal)
        raw = statistics.mean(r["raw"]["log_score"] for r in rows.values())
        higher = sum(c["log_score"] > c["garch_log_score"] for c in cal)
        better = sum(c["verdict"] == "better" for c in cal)
        worse = sum(c["verdict"] == "worse" for c in cal)
        name = f"**{config}**" if config == best else config
        lines.append(
            f"| {name} | {what} | {' | '.join(cells)} | {mean:.4f} | {raw:.4f} "
            f"| {higher} of {len(cal)} | {better} / {worse} |"
        )
    garch = {r["sample"]: r["calibrated"]["garch_log_score"] for r in results}
    cells = [f"{garch[s]:.4f}" if s in garch else "-" for s in samples]
    lines.append(
        f"| GARCH(1,1)-t | calibrated alike | {' | '.join(cells)} "
        f"| {statistics.mean(garch.values()):.4f} | | | |"
    )
    return "\n".join(lines)


def _best(results: list[dict]) -> str | None:
    """The configuration with the highest mean calibrated log score among those run on every
    sample that any configuration was run on."""
    samples = {r["sample"] for r in results}
    means = {}
    for config in CONFIGS:
        rows = [r for r in results if r["config"] == config]
        if {r["sample"] for r in rows} == samples:
            means[config] = statistics.mean(r["calibrated"]["log_score"] for r in rows)
    return max(means, key=means.get) if means else None


def replace_block(readme: Path, block: str) -> None:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- vol-inputs-table -->\n).*?(\n<!-- /vol-inputs-table -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no <!-- vol-inputs-table --> markers.")
    readme.write_text(pattern.sub(lambda m: m[1] + block + m[2], text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", default=None)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--epochs", type=int, default=None, help="default: TrainConfig's")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cache", type=Path, default=Path("vol_inputs.json"))
    parser.add_argument("--readme", type=Path, default=None)
    parser.add_argument("--no-run", action="store_true", help="only print the cached results")
    args = parser.parse_args(argv)
    samples = args.samples.split(",") if args.samples else [s.name for s in list_samples()]
    results = json.loads(args.cache.read_text()) if args.cache.exists() else []
    done = {(r["sample"], r["config"]) for r in results}
    for config in [] if args.no_run else args.configs.split(","):
        for name in samples:
            if (name, config) in done:
                continue
            r = run_one(name, config, args.epochs, args.device)
            c = r["calibrated"]
            print(f"{name} {config}: log score {c['log_score']:.4f} (GARCH "
                  f"{c['garch_log_score']:.4f}, {c['verdict']}) {r['seconds']:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            results.append(r)
            args.cache.write_text(json.dumps(results, indent=1))
    block = table(results, samples)
    best = _best(results)
    if best:
        block += f"\n\nHighest mean calibrated log score on the selection spans: **{best}**."
    print(block)
    if args.readme:
        replace_block(args.readme, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

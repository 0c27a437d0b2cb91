"""Backtest the default model on every bundled sample and print the README's table.

    python scripts/defaults_table.py [--epochs N] [--samples AAPL,MSFT] [--json OUT.json]

For each sample: the default model's RMSE relative to persistence ("tomorrow = today"), the linear
AR's, the model's directional accuracy and the Diebold-Mariano p-value against persistence. The
defaults are meant to lose to persistence by no more than 1% of RMSE everywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import list_samples, load_sample
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig


def run_one(name: str, epochs: int | None, device: str, overrides: dict | None = None) -> dict:
    series = load_sample(name)
    cfg = TrainConfig(device=device)
    changes = dict(overrides or {})
    if epochs is not None:
        changes["epochs"] = epochs
    cfg = TrainConfig.from_dict({**cfg.to_dict(), **changes})
    started = time.perf_counter()
    outcome = drain(run_backtest(series, FeatureSpec(), cfg, BacktestSettings()))
    m = outcome.result.metrics
    naive = m["persistence"].rmse
    return {
        "sample": name,
        "test_bars": outcome.result.n,
        "model_vs_persistence": m["model"].rmse / naive,
        "ar_vs_persistence": m["ar"].rmse / naive,
        "drift_vs_persistence": m["drift"].rmse / naive,
        "directional_accuracy": m["model"].directional_accuracy,
        "dm_pvalue": m["model"].dm_pvalue,
        "epochs_run": outcome.result.fits[0].epochs,
        "seconds": time.perf_counter() - started,
    }


def markdown(rows: list[dict]) -> str:
    out = [
        "| sample | test bars | model RMSE / persistence | linear AR / persistence "
        "| model direction right | DM p-value vs persistence |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        p = r["dm_pvalue"]
        da = r["directional_accuracy"]
        out.append(
            f"| {r['sample']} | {r['test_bars']} | {r['model_vs_persistence']:.4f} "
            f"| {r['ar_vs_persistence']:.4f} | {'n/a' if da != da else f'{da:.1%}'} "
            f"| {'n/a' if p is None or p != p else f'{p:.2f}'} |"
        )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--samples", default=None, help="comma-separated (default: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a TrainConfig default, e.g. --set hidden=32 (to try other defaults)",
    )
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    names = args.samples.split(",") if args.samples else [s.name for s in list_samples()]
    rows = []
    for name in names:
        rows.append(run_one(name, args.epochs, args.device, overrides))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(markdown(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

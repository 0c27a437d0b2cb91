"""Backtest the default model on every bundled sample and print the README's table.

    python scripts/defaults_table.py [--epochs N] [--samples AAPL,MSFT] [--json OUT.json]
                                     [--readme README.md] [--from-json OUT.json]

For each sample: the default model's RMSE relative to persistence ("tomorrow = today"), the linear
AR's, the model's directional accuracy next to the share of up days on the same bars (what "always
up" scores), the Pesaran-Timmermann p-value of its direction calls (which allows for that share),
the one-sided Diebold-Mariano p-value that its squared errors are smaller than persistence's and
the signed verdict (better / worse / tie at 5%, one side or the other). The defaults are meant to
lose to persistence by no more than 1% of RMSE everywhere. ``--readme`` replaces the table between
the ``<!-- defaults-table -->`` markers of that file; ``--from-json`` prints the table of an
earlier ``--json`` without training again.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

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
        "up_share": m["model"].up_share,
        "forecast_up_share": m["model"].forecast_up_share,
        "pt_pvalue": m["model"].pt_pvalue,
        "dm_pvalue": m["model"].dm_pvalue,
        "dm_better_pvalue": m["model"].dm_better_pvalue,
        "verdict": m["model"].verdict,
        "epochs_run": outcome.result.fits[0].epochs,
        "seconds": time.perf_counter() - started,
    }


def _p(p: float | None) -> str:
    """Two decimals, or three below 0.1 so 0.043 and 0.001 are not both printed as 0.0x."""
    if p is None or p != p:
        return "n/a"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def _share(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.1%}"


def markdown(rows: list[dict]) -> str:
    out = [
        "| sample | test bars | model RMSE / persistence | linear AR / persistence "
        "| model direction right | always up (share of up days) "
        "| direction PT p-value | DM p (smaller errors) | vs persistence |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        pt = _p(r["pt_pvalue"])
        if pt == "n/a" and r["forecast_up_share"] in (0.0, 1.0):
            pt = "n/a (always " + ("up)" if r["forecast_up_share"] == 1.0 else "down)")
        out.append(
            f"| {r['sample']} | {r['test_bars']} | {r['model_vs_persistence']:.4f} "
            f"| {r['ar_vs_persistence']:.4f} | {_share(r['directional_accuracy'])} "
            f"| {_share(r['up_share'])} | {pt} | {_p(r.get('dm_better_pvalue'))} "
            f"| {r.get('verdict') or 'n/a'} |"
        )
    return "\n".join(out)


def replace_table(readme: Path, table: str) -> None:
    """Put ``table`` between the ``<!-- defaults-table -->`` markers of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- defaults-table -->\n).*?(\n<!-- /defaults-table -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no <!-- defaults-table --> markers.")
    readme.write_text(pattern.sub(lambda m: m[1] + table + m[2], text), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--samples", default=None, help="comma-separated (default: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None)
    ap.add_argument("--readme", default=None, help="rewrite the table in this README")
    ap.add_argument("--from-json", default=None, help="table of an earlier --json, no training")
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
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as fh:
            rows = json.load(fh)
    for name in [] if args.from_json else names:
        rows.append(run_one(name, args.epochs, args.device, overrides))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    table = markdown(rows)
    print(table)
    if args.readme:
        replace_table(Path(args.readme), table)
    if args.json and not args.from_json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Print the README's sweep table and verdicts from a finished sweep folder.

    stockapp sweep --all-samples --model gru,lstm --window 20 --hidden 16,32 --layers 1 \\
        --epochs 5 --seeds 0-2 --device cpu --out /tmp/readme-sweep
    python scripts/sweep_table.py /tmp/readme-sweep [--quote AAPL,MSFT] [--readme README.md]

One row per series from ``summary.json``: the configuration chosen on the selection span, its
seed ensemble's test RMSE / persistence, its own one-sided Diebold-Mariano p (smaller squared
errors than persistence) before and after Holm over the configurations tried, its signed verdict,
the SPA p-value over everything tried, and the configuration with SPA's largest statistic with
its own one-sided p. Then the verdict sentences of the series named by ``--quote`` (default: the
first series, and the first whose SPA p is below 0.05). ``--readme`` replaces the block between
the ``<!-- sweep-table -->`` markers of that file.
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
from pathlib import Path


def _p(p: float | None) -> str:
    if p is None or p != p:
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def _strongest(entry: dict) -> tuple[str, float | None]:
    """The configuration with the smallest one-sided p (SPA's largest statistic)."""
    configs = entry["configurations"]
    best = min(
        configs,
        key=lambda c: (
            1.0
            if c["ensemble_test"].get("dm_better_pvalue") is None
            else c["ensemble_test"]["dm_better_pvalue"]
        ),
    )
    return best["configuration"], best["ensemble_test"].get("dm_better_pvalue")


def table(summary: dict) -> str:
    entries = [e for e in summary["series"] if e.get("configurations")]
    tried = {e["configurations_tried"] for e in entries}
    k = tried.pop() if len(tried) == 1 else "k"
    lines = [
        "| sample | chosen on the selection span | test ratio | its DM p (smaller errors), "
        f"Holm over {k} | verdict | SPA p ({k} tried) | SPA's strongest (its DM p) |",
        "|---|---|---:|---|---|---:|---|",
    ]
    for e in entries:
        chosen = e["chosen"]
        ens = chosen["ensemble_test"]
        label, p = _strongest(e)
        strongest = "the chosen one" if label == chosen["configuration"] else f"{label} ({_p(p)})"
        lines.append(
            f"| {e['series']} | {chosen['configuration']} | {chosen['test_rmse_ratio_mean']:.4f} "
            f"| {_p(ens.get('dm_better_pvalue'))}, {_p(ens.get('dm_better_pvalue_holm'))} "
            f"| {ens.get('verdict') or 'n/a'} | {_p(e['spa_pvalue'])} | {strongest} |"
        )
    return "\n".join(lines)


def quotes(summary: dict, names: list[str] | None) -> str:
    entries = [e for e in summary["series"] if e.get("configurations")]
    if names is None:
        picked = entries[:1]
        spa = next((e for e in entries if e["spa_pvalue"] < 0.05 and e not in picked), None)
        picked += [spa] if spa is not None else []
    else:
        picked = [e for e in entries if e["series"] in names]
    blocks = [textwrap.fill(e["verdict"], 98, initial_indent="> ", subsequent_indent="> ")
              for e in picked]  # fmt: skip
    return "\n>\n".join(blocks)


def replace_block(readme: Path, block: str) -> None:
    """Put ``block`` between the ``<!-- sweep-table -->`` markers of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- sweep-table -->\n).*?(\n<!-- /sweep-table -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no <!-- sweep-table --> markers.")
    readme.write_text(pattern.sub(lambda m: m[1] + block + m[2], text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", type=Path, help="a finished sweep folder")
    parser.add_argument("--quote", default=None, help="series whose verdicts to quote (A,B)")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the block there")
    args = parser.parse_args(argv)
    summary = json.loads((args.sweep / "summary.json").read_text(encoding="utf-8"))
    names = args.quote.split(",") if args.quote else None
    block = table(summary) + "\n\n" + quotes(summary, names)
    print(block)
    if args.readme:
        replace_block(args.readme, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

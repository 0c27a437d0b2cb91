"""``stockapp forward``: a saved run's forecasts written down before their outcome, and checked.

``stockapp forward RUN_DIR [--csv PATH | --ticker SYMBOL | --sample NAME] [--ledger PATH]``
refreshes the prices (the run's own source unless one is given), forecasts every bar that has no
forecast yet up to the next one, appends them to the ledger (default
``RUN_DIR/forward/ledger.jsonl``), scores the entries whose bar has closed since (in
``ledger.results.jsonl`` beside it) and prints the forward record's scores.

``stockapp forward RUN_DIR --verify [--ledger PATH]`` checks the ledger (see
:mod:`stockapp.session.forward_verify`): exit 0 when it holds, 1 naming the first bad entry, 2
for bad input. The work is in :mod:`stockapp.session.forward`; this module parses and prints.
Registered in :mod:`stockapp.cli` by :func:`add_forward_command`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_VERIFY_FAILED = 1


def add_forward_command(commands) -> None:
    """Add the ``forward`` subcommand to the ``stockapp`` parser's subcommands."""
    p = commands.add_parser(
        "forward",
        help="write a saved run's next forecasts to a ledger, score them as outcomes arrive",
        description="Forecast every bar of a saved run's series that has no forecast yet, up to "
        "the next one, and append them to a hash-chained ledger; --verify checks the ledger.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder from backtest")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--csv", metavar="PATH", help="a CSV of the same series (default: the run's source)"
    )
    group.add_argument("--ticker", metavar="SYMBOL", help="the series from Yahoo Finance")
    group.add_argument("--sample", metavar="NAME", help="a bundled sample")
    p.add_argument(
        "--ledger", metavar="PATH", help="the ledger file (default RUN_DIR/forward/ledger.jsonl)"
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the chain, reproduce every forecast and check it was issued before its bar "
        "closed; exit 1 naming the first bad entry",
    )
    p.set_defaults(func=_cmd_forward, parser=p)


def _cmd_forward(args: argparse.Namespace) -> int:
    if args.verify:
        if args.csv or args.ticker or args.sample:
            args.parser.error(
                "--verify checks the ledger alone; it takes no --csv, --ticker or --sample"
            )
        return _verify(args)
    from stockapp.session.forward import open_run, record_forward
    from stockapp.session.forward_source import chosen_source

    run = open_run(args.run_dir)
    source = chosen_source(run.manifest, run.bars, args.csv, args.ticker, args.sample)
    report = record_forward(run, source, args.ledger)
    _print_report(report)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from stockapp.session.forward_verify import verify_ledger

    report = verify_ledger(args.run_dir, args.ledger)
    for line in report.lines():
        print(line)
    return 0 if report.ok else EXIT_VERIFY_FAILED


def _band_text(entry: dict) -> str:
    bands = entry.get("bands")
    if not bands:
        return ""
    return f" (80% band {bands['lower_80']:,.2f} .. {bands['upper_80']:,.2f})"


def _print_report(report) -> None:
    added, live = report.added, report.live
    where = Path(report.ledger)
    if added:
        print(
            f"{report.series} ({report.source.describe()}): {len(added)} forecast"
            f"{'s' if len(added) != 1 else ''} appended to {where} "
            f"({len(added) - len(live)} backfill, {len(live)} forward)."
        )
    else:
        print(f"{report.series}: no new bar since the last entry; nothing to forecast.")
    for entry in added[-1:]:
        kind = "backfill" if entry["backfill"] else "forward"
        print(
            f"next bar {entry['target_date']}: forecast {entry['forecast']:,.4f}{_band_text(entry)}"
            f" from data through {entry['data_through']}, issued {entry['issued_at']} ({kind}"
            + (f": {entry['backfill_reason']})" if entry["backfill"] else ")")
        )
    if report.scored:
        n = len(report.scored)
        print(f"scored {n} entr{'ies' if n != 1 else 'y'} whose bar closed.")
    for line in report.scores.lines(report.model_name):
        print(line)
    if report.entries:
        print(f"ledger head: {report.entries[-1]['hash']}")

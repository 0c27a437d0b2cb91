"""``stockapp data`` (load prices and print their quality report) and ``stockapp samples``."""

from __future__ import annotations

import argparse

from stockapp.cli.common import add_source_options, load_source
from stockapp.data import list_samples, load_sample


def add_data_commands(commands) -> None:
    """Add ``data`` and ``samples`` to the ``stockapp`` parser's subcommands."""
    data = commands.add_parser("data", help="load prices and print their quality report")
    add_source_options(data, required=True, dates=True)
    data.set_defaults(func=_cmd_data, parser=data)

    samples = commands.add_parser("samples", help="list the bundled price histories")
    samples.set_defaults(func=_cmd_samples, parser=samples)


def _cmd_data(args: argparse.Namespace) -> int:
    """Load prices and print where they came from and their quality report."""
    series = load_source(args, args.parser)
    print(f"{series.name}: {series.source}")
    print("columns: " + ", ".join(series.frame.columns))
    for line in series.report.summary_lines():
        print(line)
    return 0


def _cmd_samples(args: argparse.Namespace) -> int:
    """List the bundled samples with their date ranges and row counts."""
    rows = [("name", "first", "last", "rows", "description")]
    for info in list_samples():
        report = load_sample(info.name).report
        rows.append(
            (
                info.name,
                f"{report.first:%Y-%m-%d}",
                f"{report.last:%Y-%m-%d}",
                str(report.rows),
                info.description,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) if i != 3 else row[i].rjust(widths[i]) for i in range(4)]
        print("  ".join([*cells, row[4]]).rstrip())
    return 0

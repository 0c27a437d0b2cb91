"""The ``stockapp`` command: headless commands over the same core, and the GUI launcher.

``stockapp`` alone (or ``stockapp gui``) opens the window; ``stockapp data`` loads prices and
prints their quality report; ``stockapp samples`` lists the bundled price histories. Every user
error (a bad file, an unknown ticker, a wrong option) ends as exactly one line on stderr and
exit status 2, never a traceback.

To add a command: write ``_cmd_<name>(args) -> int``, register its parser in
:func:`_build_parser` with ``set_defaults(func=_cmd_<name>)``, and raise
:class:`~stockapp.errors.StockappError` for anything the user can fix. ``_add_source_options``
and ``_load_source`` give any command the same ``--sample/--csv/--ticker`` choice.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from stockapp import __version__
from stockapp.data import list_samples, load_csv, load_sample, load_ticker
from stockapp.data.series import PriceSeries
from stockapp.errors import StockappError

EXIT_USER_ERROR = 2


class _UsageError(Exception):
    """A command line argparse rejected; its message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage block) through :func:`main`."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


def _add_source_options(parser: argparse.ArgumentParser, *, required: bool, dates: bool) -> None:
    """``--sample | --csv | --ticker`` (and, with ``dates``, ``--start --end --interval``)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--sample", metavar="NAME", help="a bundled sample, e.g. AAPL or ^GSPC")
    group.add_argument("--csv", metavar="PATH", help="a CSV file with a date and a close column")
    group.add_argument("--ticker", metavar="SYMBOL", help="a Yahoo Finance ticker, e.g. MSFT")
    if dates:
        parser.add_argument("--start", metavar="YYYY-MM-DD", help="first date (--ticker only)")
        parser.add_argument("--end", metavar="YYYY-MM-DD", help="end date, exclusive (--ticker)")
        parser.add_argument(
            "--interval", choices=("1d", "1wk"), help="daily or weekly bars (--ticker only)"
        )


def _load_source(args: argparse.Namespace, parser: argparse.ArgumentParser) -> PriceSeries:
    """The price series the source options name; raises StockappError for bad input."""
    if args.ticker is None and any(
        getattr(args, name, None) is not None for name in ("start", "end", "interval")
    ):
        parser.error("--start, --end and --interval only apply to --ticker")
    if args.sample is not None:
        return load_sample(args.sample)
    if args.csv is not None:
        return load_csv(args.csv)
    return load_ticker(args.ticker, start=args.start, end=args.end, interval=args.interval or "1d")


def _cmd_data(args: argparse.Namespace) -> int:
    """Load prices and print where they came from and their quality report."""
    series = _load_source(args, args.parser)
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


def _cmd_gui(args: argparse.Namespace) -> int:
    """Open the window, optionally with prices already loaded."""
    from stockapp.gui.app import run  # Qt is imported only when the window is wanted

    return run(sample=args.sample, csv=args.csv, ticker=args.ticker)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stockapp",
        description="Can a recurrent network forecast a stock? Without a command: open the window.",
    )
    parser.add_argument("--version", action="version", version=f"stockapp {__version__}")
    parser.set_defaults(func=_cmd_gui, sample=None, csv=None, ticker=None, parser=parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the window (the default)")
    _add_source_options(gui, required=False, dates=False)
    gui.set_defaults(func=_cmd_gui, parser=gui)

    data = commands.add_parser("data", help="load prices and print their quality report")
    _add_source_options(data, required=True, dates=True)
    data.set_defaults(func=_cmd_data, parser=data)

    samples = commands.add_parser("samples", help="list the bundled price histories")
    samples.set_defaults(func=_cmd_samples, parser=samples)
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except _UsageError as exc:
        print(_one_line(str(exc)), file=sys.stderr)
    except StockappError as exc:
        print(f"stockapp: {_one_line(str(exc))}", file=sys.stderr)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    return EXIT_USER_ERROR

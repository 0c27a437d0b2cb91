"""What every command shares: one-line usage errors, the ``--sample/--csv/--ticker`` choice
and loading the series it names (as the window loads it: :mod:`stockapp.session.loading`)."""

from __future__ import annotations

import argparse

from stockapp.data.series import PriceSeries
from stockapp.session.loading import csv_file, load_series, sample, ticker

EXIT_USER_ERROR = 2


class UsageError(Exception):
    """A command line argparse rejected; its message is one line."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage block) through :func:`main`."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def add_source_options(
    parser: argparse.ArgumentParser, *, required: bool, dates: bool, repeat: bool = False
) -> None:
    """``--sample | --csv | --ticker``, ``--dayfirst | --monthfirst`` for CSVs (with ``dates``)
    and, with ``dates``, ``--start --end --interval``. With ``repeat`` each may be given more
    than once and mixed (several targets; read them with :func:`load_sources`)."""
    if repeat:
        group = parser.add_argument_group("targets (each repeatable)")
        more = {"action": "append"}
    else:
        group = parser.add_mutually_exclusive_group(required=required)
        more = {}
    group.add_argument(
        "--sample", metavar="NAME", help="a bundled sample, e.g. AAPL or ^GSPC", **more
    )
    group.add_argument(
        "--csv", metavar="PATH", help="a CSV file with a date and a close column", **more
    )
    group.add_argument(
        "--ticker", metavar="SYMBOL", help="a Yahoo Finance ticker, e.g. MSFT", **more
    )
    if dates:
        add_date_order_options(parser)
        parser.add_argument("--start", metavar="YYYY-MM-DD", help="first date (--ticker only)")
        parser.add_argument("--end", metavar="YYYY-MM-DD", help="end date, exclusive (--ticker)")
        parser.add_argument(
            "--interval", choices=("1d", "1wk"), help="daily or weekly bars (--ticker only)"
        )


def add_date_order_options(parser: argparse.ArgumentParser) -> None:
    """``--dayfirst | --monthfirst``: how a CSV's ambiguous dates (``01/02/1999``) are read."""
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_const",
        const=True,
        help="read CSV dates like 01/02/1999 day first (1 February; --csv only)",
    )
    order.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_const",
        const=False,
        help="read them month first (2 January; --csv only)",
    )


def load_source(args: argparse.Namespace, parser: argparse.ArgumentParser) -> PriceSeries:
    """The price series the source options name; raises StockappError for bad input."""
    if args.ticker is None and any(
        getattr(args, name, None) is not None for name in ("start", "end", "interval")
    ):
        parser.error("--start, --end and --interval only apply to --ticker")
    dayfirst = getattr(args, "dayfirst", None)
    if dayfirst is not None and args.csv is None:
        parser.error("--dayfirst and --monthfirst only apply to --csv")
    if args.sample is not None:
        return load_series(sample(args.sample))
    if args.csv is not None:
        return load_series(csv_file(args.csv, dayfirst))
    return load_series(ticker(args.ticker, args.interval), start=args.start, end=args.end)


def load_sources(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[PriceSeries]:
    """Every series the repeatable source options name (samples, then files, then tickers);
    one of them is required. Each is loaded as :func:`load_source` loads a single one."""
    picks = [(kind, v) for kind in ("sample", "csv", "ticker") for v in getattr(args, kind) or ()]
    if not picks:
        parser.error("one of the arguments --sample --csv --ticker is required")
    if not (args.ticker or ()) and any(
        getattr(args, name, None) is not None for name in ("start", "end", "interval")
    ):
        parser.error("--start, --end and --interval only apply to --ticker")
    out = []
    for kind, value in picks:
        one = argparse.Namespace(**vars(args))
        for k in ("sample", "csv", "ticker"):
            setattr(one, k, value if k == kind else None)
        if len(picks) > 1 and kind != "ticker":  # --start/--end/--interval are for the tickers
            for k in ("start", "end", "interval"):
                setattr(one, k, None)
        out.append(load_source(one, parser))
    return out


def one_line(text: str) -> str:
    """Whitespace (newlines too) folded to single spaces: an error is one line on stderr."""
    return " ".join(str(text).split())

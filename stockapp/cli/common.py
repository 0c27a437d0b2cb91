"""What every command shares: one-line usage errors, the ``--sample/--csv/--ticker`` choice
and loading the series it names (as the window loads it: :mod:`stockapp.session.loading`), and
the other series and calendar inputs of ``backtest`` and ``sweep`` (``--with-*``,
``--calendar``)."""

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


def add_input_options(p: argparse.ArgumentParser) -> None:
    """``--with-sample/--with-csv/--with-ticker`` (other series as inputs, repeatable) and
    ``--calendar``; read them with :func:`load_inputs`."""
    for kind, meta, what in (
        ("sample", "NAME", "a bundled sample"),
        ("csv", "PATH", "a CSV file"),
        ("ticker", "SYMBOL", "a Yahoo Finance ticker"),
    ):
        p.add_argument(
            f"--with-{kind}",
            action="append",
            metavar=f"{meta}[:F,G]",
            help=f"{what} as another input (repeatable); features after a colon from return, "
            "abs_return, range, volume (default return); the forecast of a bar dated d reads "
            "its bars dated strictly before d",
        )
    p.add_argument(
        "--calendar",
        metavar="dow,month",
        help="calendar inputs known in advance: day of the week and/or month of the bar forecast",
    )


def load_inputs(args: argparse.Namespace, adjusted: bool) -> tuple[list, tuple[str, ...]]:
    """The other series (loaded once, a ticker's over ``--start .. --end`` where the command
    has them) and the calendar inputs :func:`add_input_options` asked for; raises a
    one-sentence StockappError for an unknown sample, an unreadable file or calendar input."""
    from stockapp.core.covariates import CALENDAR_FEATURES
    from stockapp.errors import DataError
    from stockapp.session.inputs import covariate_requests, load_covariates

    calendar = tuple(c.strip() for c in (args.calendar or "").split(",") if c.strip())
    for key in calendar:
        if key not in CALENDAR_FEATURES:
            raise DataError(
                f"Unknown calendar input '{key}' in --calendar; choose from "
                f"{', '.join(CALENDAR_FEATURES)}."
            )
    requests = covariate_requests(args.with_sample, args.with_csv, args.with_ticker)
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    return load_covariates(requests, adjusted, start=start, end=end), calendar


def one_line(text: str) -> str:
    """Whitespace (newlines too) folded to single spaces: an error is one line on stderr."""
    return " ".join(str(text).split())

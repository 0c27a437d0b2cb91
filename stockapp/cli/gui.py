"""``stockapp gui`` (and ``stockapp`` alone): open the window, optionally on some data."""

from __future__ import annotations

import argparse

from stockapp.cli.common import add_date_order_options, add_source_options


def add_gui_command(commands) -> None:
    """Add ``gui`` to the ``stockapp`` parser's subcommands."""
    gui = commands.add_parser("gui", help="open the window (the default)")
    add_source_options(gui, required=False, dates=False)
    add_date_order_options(gui)
    gui.set_defaults(func=cmd_gui, parser=gui)


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the window, optionally with prices already loaded."""
    from stockapp.gui.app import run  # Qt is imported only when the window is wanted

    dayfirst = getattr(args, "dayfirst", None)
    if dayfirst is not None and args.csv is None:
        args.parser.error("--dayfirst and --monthfirst only apply to --csv")
    order = {} if dayfirst is None else {"dayfirst": dayfirst}
    return run(sample=args.sample, csv=args.csv, ticker=args.ticker, **order)

"""The ``stockapp`` command: headless commands over the same application layer as the window.

``stockapp`` alone (or ``stockapp gui``) opens the window; ``stockapp data`` loads prices and
prints their quality report; ``stockapp samples`` lists the bundled price histories;
``stockapp backtest`` trains a model walk-forward and writes a run folder; ``stockapp sweep``,
``stockapp explain`` and ``stockapp forward`` are in their own modules. Every user error (a bad
file, an unknown ticker, a wrong option) ends as exactly one line on stderr and exit status 2,
never a traceback.

To add a command: a module here with ``add_<name>_command(commands)`` that registers its parser
with ``set_defaults(func=..., parser=...)``, listed in :func:`build_parser`; raise
:class:`~stockapp.errors.StockappError` for anything the user can fix.
:func:`~stockapp.cli.common.add_source_options` and
:func:`~stockapp.cli.common.load_source` give any command the same ``--sample/--csv/--ticker``
choice. Only :mod:`stockapp.cli.png` imports Qt (to draw pictures offscreen).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from stockapp import __version__
from stockapp.cli.common import EXIT_USER_ERROR, Parser, UsageError, one_line
from stockapp.errors import StockappError

__all__ = ["EXIT_USER_ERROR", "build_parser", "main"]


def build_parser() -> Parser:
    """The ``stockapp`` parser with every command."""
    from stockapp.cli.backtest import add_backtest_command
    from stockapp.cli.data import add_data_commands
    from stockapp.cli.explain import add_explain_command
    from stockapp.cli.forward import add_forward_command
    from stockapp.cli.gui import add_gui_command, cmd_gui
    from stockapp.cli.sweep import add_sweep_command

    parser = Parser(
        prog="stockapp",
        description="Can a recurrent network forecast a stock? Without a command: open the window.",
    )
    parser.add_argument("--version", action="version", version=f"stockapp {__version__}")
    parser.set_defaults(func=cmd_gui, sample=None, csv=None, ticker=None, parser=parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_gui_command(commands)
    add_data_commands(commands)
    add_backtest_command(commands)
    add_sweep_command(commands)
    add_explain_command(commands)
    add_forward_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        print(one_line(str(exc)), file=sys.stderr)
    except StockappError as exc:
        print(f"stockapp: {one_line(str(exc))}", file=sys.stderr)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``stockapp samples | head``): stop quietly, as Unix tools do.
        # stdout is pointed at devnull so Python's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return EXIT_USER_ERROR

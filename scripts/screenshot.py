"""Save a PNG of the real stockapp window, headless if need be.

    python scripts/screenshot.py --out shot.png [--sample AAPL] [--width 1400 --height 850]
                                 [--stage data|training|train|backtest|runs|...|bands] [--each]

Each stage is a function that takes the window to a state worth showing: ``data`` loads a bundled
sample, ``training`` catches a training half-way (live loss chart, locked settings), ``train``
shows a finished training run and its loss chart, ``backtest`` a finished walk-forward backtest,
and ``runs`` saves that backtest and shows the Runs list over the window. Each stage builds on
the one before it.
Settings go to a throw-away folder unless ``--keep-settings`` is given, so a screenshot neither
depends on nor changes the user's remembered choices.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))


def headless_if_needed() -> None:
    """Use Qt's offscreen platform when there is no display to draw on."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def settle(seconds: float = 0.3) -> None:
    """Let the event loop lay out and paint everything (and deliver queued results)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def open_window(args: argparse.Namespace):
    """The real main window at the requested size, with nothing loaded yet."""
    from stockapp.gui.app import application, create_main_window

    application()
    window = create_main_window(sample=args.sample, quiet=True)
    window.resize(args.width, args.height)
    window.show()
    settle()
    return window


def stage_data(window, args: argparse.Namespace) -> None:
    """Prices of a bundled sample on the chart (``create_main_window`` already loaded it)."""
    if window.series is None or window.series.name != args.sample:
        window.data_panel.load_sample(args.sample)
    if window.series is None:
        raise SystemExit(f"could not load the sample {args.sample!r}: {window.last_error}")
    window.tabs.setCurrentIndex(0)
    settle()


def stage_training(window, args: argparse.Namespace) -> None:
    """A training caught half-way: the live loss chart and the locked Model page (the train
    stage cancels it)."""
    import dataclasses

    from PySide6.QtWidgets import QApplication
    from screenshot_backtest import controllers  # scripts/ is on sys.path

    training, _ = controllers(window)
    panel = training.panel
    before = panel.config()
    epochs = max(args.train_epochs, 4)
    # patience 0: no early stop, so the run is still going when half of its epochs are drawn
    cfg = dataclasses.replace(panel.config(), epochs=epochs, patience=0, device="cpu", seed=0)
    panel.set_values(panel.spec(), cfg)
    if not training.start_training():
        raise SystemExit(f"could not start training: {window.last_error}")
    app = QApplication.instance()
    deadline = time.monotonic() + 600
    while training.chart.epoch_count() < epochs // 2:
        if not training.is_running() or time.monotonic() > deadline:
            raise SystemExit(f"training ended before half-way: {window.last_error}")
        app.processEvents()
        time.sleep(0.01)
    settle()
    args.config_before_training = before  # the train stage cancels this run and restores it


def stage_train(window, args: argparse.Namespace) -> None:
    """A finished training run of the default model (fewer epochs) on the Training tab."""
    import dataclasses

    from screenshot_backtest import controllers, wait_for  # scripts/ is on sys.path

    training, _ = controllers(window)
    panel = training.panel
    if training.is_running():  # the half-way training of the stage before
        training.cancel()
        training.wait(60000)
        settle()
        panel.set_values(panel.spec(), args.config_before_training)
    cfg = dataclasses.replace(panel.config(), epochs=args.train_epochs, device="cpu", seed=0)
    panel.set_values(panel.spec(), cfg)
    if not training.start_training():
        raise SystemExit(f"could not start training: {window.last_error}")
    wait_for(training.training_ended, timeout_s=600)
    if training.forecaster is None:
        raise SystemExit(f"training did not finish: {window.last_error}")
    window.tabs.setCurrentIndex(window.tabs.indexOf(training.tab))
    settle()


def stage_backtest(window, args: argparse.Namespace) -> None:
    """A finished backtest with a tiny model on the Backtest tab (see screenshot_backtest.py)."""
    from screenshot_backtest import stage_backtest as run_stage  # scripts/ is on sys.path

    run_stage(window, args)


def stage_runs(window, args: argparse.Namespace) -> None:
    """The backtest saved twice (once renamed) and the Runs list open over the window."""
    from screenshot_backtest import controllers  # scripts/ is on sys.path

    _, backtest = controllers(window)
    first = backtest.save_run_default()
    second = backtest.save_run_default()
    if first is None or second is None:
        raise SystemExit(f"could not save the run: {window.last_error}")
    dialog = backtest.show_runs()
    dialog.select(second)
    dialog.rename_selected(f"{window.series.name} first try")
    settle()


#: Stage name -> function(window, args); stages run in this order up to the requested one.
STAGES: dict[str, Callable] = {
    "data": stage_data,
    "training": stage_training,
    "train": stage_train,
    "backtest": stage_backtest,
    "runs": stage_runs,
}

from screenshot_inside import stage_inside  # noqa: E402 (issue 13; scripts/ is on sys.path)

STAGES["inside"] = stage_inside

from screenshot_experiments import stage_experiments  # noqa: E402 (issue 11)

STAGES["experiments"] = stage_experiments

from screenshot_bands import stage_bands  # noqa: E402 (issue 12; scripts/ is on sys.path)

STAGES["bands"] = stage_bands


def picture(window):
    """The window, with any dialog it has open painted over it where it would stand (centred,
    under a plain title bar: offscreen windows have no window manager to draw one)."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QPainter, QPen
    from PySide6.QtWidgets import QDialog

    shot = window.grab()
    dialogs = [d for d in window.findChildren(QDialog) if d.isVisible()]
    if dialogs:
        painter = QPainter(shot)
        bar = 26
        for dialog in dialogs:
            top = dialog.grab()
            x = max((shot.width() - top.width()) // 2, 0)
            y = max((shot.height() - top.height() - bar) // 2, 0)
            title = QRect(x, y, top.width(), bar)
            painter.fillRect(title, QColor("#3c4048"))
            painter.setPen(QColor("white"))
            painter.drawText(title, Qt.AlignmentFlag.AlignCenter, dialog.windowTitle())
            painter.drawPixmap(x, y + bar, top)
            painter.setPen(QPen(QColor("#3c4048"), 2))
            painter.drawRect(QRect(x, y, top.width(), top.height() + bar))
        painter.end()
    return shot


def save(window, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if not picture(window).save(str(out)):
        raise SystemExit(f"could not write {out}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--sample", default="AAPL", help="bundled sample to show (default AAPL)")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=850)
    parser.add_argument("--stage", choices=list(STAGES), default="data", help="what to show")
    parser.add_argument(
        "--train-epochs", type=int, default=8, help="epochs of the train stage (default 8)"
    )
    parser.add_argument(
        "--each",
        action="store_true",
        help="save every stage up to --stage, as OUT-<stage>.png, from one run",
    )
    parser.add_argument(
        "--keep-settings",
        action="store_true",
        help="use the real settings instead of a temp folder",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headless_if_needed()
    with tempfile.TemporaryDirectory(prefix="stockapp-shot-") as home:
        if not args.keep_settings:
            os.environ["STOCKAPP_HOME"] = home
        window = open_window(args)
        for name, stage in STAGES.items():
            stage(window, args)
            if args.each:
                save(window, args.out.with_name(f"{args.out.stem}-{name}{args.out.suffix}"))
            if name == args.stage:
                break
        if not args.each:
            save(window, args.out)
        window.close()
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

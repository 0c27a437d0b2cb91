"""The Forward page for the README: a saved run's forward record after a month of daily steps.

    DISPLAY=:37 python scripts/screenshot_forward.py --out resources/forward.png

Backtests a Student-t LSTM (calibrated, the default) on the SPY sample through 2017-11-30 with
the clock set to that day (``time-machine``, a test dependency), saves it in the runs folder,
then records ``stockapp forward`` once a day through 2017-12-28 as the sample's CSV grows, each
call with the clock at 22:00 UTC of its day. Then it opens the window at ``--width`` x
``--height``, shows the run's Forward page, presses Verify and grabs the screen with ImageMagick's
``import -window root`` (run it under ``Xvfb :37 -screen 0 1280x800x24``). A minute on a CPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "stockapp" / "resources" / "samples" / "SPY.csv"
SAVED_ON, LAST_DAY = "2017-11-30", "2017-12-28"


def _at(day: str):
    import time_machine

    return time_machine.travel(datetime.fromisoformat(f"{day}T22:00:00+00:00"), tick=False)


def _grow(csv: Path, through: str) -> None:
    header, *rows = SAMPLE.read_text().splitlines()
    csv.write_text("\n".join([header, *(r for r in rows if r[:10] <= through)]) + "\n")


def make_record(home: Path) -> Path:
    """The run folder, with a month of daily forward steps in its ledger."""
    from stockapp.core.features import FeatureSpec
    from stockapp.core.progress import drain
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.data import load_csv
    from stockapp.models.runner import run_backtest
    from stockapp.models.trainer import TrainConfig
    from stockapp.paths import runs_dir
    from stockapp.session.forward import record_forward

    home.mkdir(parents=True, exist_ok=True)
    csv = home / "SPY.csv"
    _grow(csv, SAVED_ON)
    cfg = TrainConfig(hidden=16, epochs=5, seed=5, device="cpu", head="student-t")
    with _at(SAVED_ON):
        outcome = drain(run_backtest(load_csv(csv), FeatureSpec(window=20), cfg,
                                     BacktestSettings(test_fraction=0.05)))  # fmt: skip
    folder = runs_dir() / "SPY_LSTM_forward"
    outcome.save(folder)
    days = [r[:10] for r in SAMPLE.read_text().splitlines()[1:] if SAVED_ON <= r[:10] <= LAST_DAY]
    for day in days:
        _grow(csv, day)
        with _at(day):
            record_forward(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="forward.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    home = Path(os.environ.setdefault("STOCKAPP_HOME", tempfile.mkdtemp(prefix="stockapp-fwd-")))
    folder = make_record(home)

    from PySide6.QtWidgets import QApplication

    from stockapp.gui.app import create_main_window
    from stockapp.gui.forward.adapter import ForwardController

    window = create_main_window(sample="SPY", quiet=True)
    window.resize(args.width, args.height - 30)  # room for the frame
    window.move(0, 0)
    window.show()
    page = window.findChild(ForwardController)
    page.open_page(folder)
    app = QApplication.instance()
    worker = page.verify()
    deadline = time.monotonic() + 120
    while worker is not None and worker.is_running() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:  # let the charts paint
        app.processEvents()
        time.sleep(0.05)
    subprocess.run(["import", "-window", "root", str(Path(args.out).resolve())], check=True)
    print(page.view.status.text())
    window.close()


if __name__ == "__main__":
    main()

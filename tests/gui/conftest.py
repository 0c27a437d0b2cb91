"""GUI test set-up: the bundled real prices as PriceSeries, and no network from the GUI."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from stockapp.data.csv_loader import load_csv
from stockapp.data.series import PriceSeries, make_series

SAMPLES = Path(__file__).resolve().parents[2] / "stockapp" / "resources" / "samples"


def pytest_collection_modifyitems(items):
    """Tolerate the one warning Qt's offscreen platform gives for every shown top-level window.

    "This plugin does not support propagateSizeHints()" says the headless platform cannot pass
    size hints to a window manager; it is not a problem of the app. Every other Qt warning still
    fails the test (``qt_log_level_fail = "WARNING"``).
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(
                pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
            )


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread_only():
    """As the app does (``gui_gc``): no automatic collection while a GUI test runs, so no
    background thread frees a Qt object (a window of an earlier test) and deadlocks; the garbage
    is collected here, on the GUI thread, after each test."""
    was = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if was:
        gc.enable()


@pytest.fixture(autouse=True)
def pyqtgraph_options():
    """Each test starts from the same pyqtgraph options: ``create_main_window`` sets global ones
    (antialiasing, colours) that would otherwise change how later tests' items paint."""
    import pyqtgraph as pg

    before = dict(pg.CONFIG_OPTIONS)
    yield
    pg.setConfigOptions(**before)


@pytest.fixture
def series_of():
    """``series_of("AAPL")``: a bundled sample as a validated PriceSeries."""

    def load(name: str) -> PriceSeries:
        return load_csv(SAMPLES / f"{name}.csv")

    return load


@pytest.fixture
def close_only_series(tmp_path) -> PriceSeries:
    """A short series with only a date and a close: no candles, no volume."""
    path = tmp_path / "close_only.csv"
    dates = [f"2020-{m:02d}-{d:02d}" for m in (1, 2) for d in range(1, 29)]
    lines = ["Date,Close"] + [f"{day},{100 + i}.5" for i, day in enumerate(dates)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_csv(path)


#: Bars of the short AAPL series the training and backtest tests use (320 to train, 80 to test).
SHORT_BARS = 400


@pytest.fixture
def aapl(aapl_csv) -> PriceSeries:
    """The first 400 bars of the AAPL sample: tiny models train on it in a second."""
    full = load_csv(aapl_csv)
    return make_series(full.frame.iloc[:SHORT_BARS], full.name, full.source, full.report)


@pytest.fixture
def short_aapl_csv(tmp_path, aapl_csv) -> Path:
    """The first 400 bars of the AAPL sample (with its Adj Close) as a CSV file to load."""
    lines = aapl_csv.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "AAPL_short.csv"
    path.write_text("\n".join(lines[: SHORT_BARS + 1]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot, aapl):
    """A quiet main window (no modal dialogs) holding the short AAPL series."""
    from stockapp.gui.main_window import MainWindow

    win = MainWindow(quiet=True)
    qtbot.addWidget(win)
    win.set_series(aapl)
    return win

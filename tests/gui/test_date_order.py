"""A CSV whose dates read both day first and month first: the window asks, the CLI is told."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockapp.data import load_csv
from stockapp.errors import AmbiguousDates
from stockapp.gui.app import create_main_window
from stockapp.gui.data.panel import DataChoice


def _ambiguous_csv(tmp_path: Path) -> Path:
    """Monthly closes dated 01/mm/yyyy, written in no particular order: neither reading gives an
    ordered calendar, so the loader cannot tell which comes first and must be told."""
    days = pd.date_range("1999-01-01", periods=48, freq="MS")
    order = np.random.default_rng(0).permutation(len(days))
    frame = pd.DataFrame(
        {
            "Date": [days[i].strftime("%d/%m/%Y") for i in order],
            "Close": np.linspace(10, 20, len(days))[order],
        }
    )
    path = tmp_path / "both_ways.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def ambiguous(tmp_path) -> Path:
    path = _ambiguous_csv(tmp_path)
    with pytest.raises(AmbiguousDates):  # the premise: the loader refuses to guess
        load_csv(path)
    return path


@pytest.fixture
def window(qtbot):
    window = create_main_window(quiet=True, sample="AAPL")
    qtbot.addWidget(window)
    return window


def test_the_window_asks_which_comes_first_and_loads_that_reading(window, ambiguous):
    asked = []

    def answer(error):
        asked.append(error)
        return True  # day first

    window.data_panel.ask_date_order = answer
    assert window.data_panel.load_csv_path(ambiguous)
    assert len(asked) == 1 and "day" in asked[0].day_first_example
    series = window.series
    assert series.name == "both_ways"
    expected = load_csv(ambiguous, dayfirst=True)
    assert series.dates.equals(expected.dates)
    # remembered with the file, so the next launch reads it the same way without asking
    choice = DataChoice.last()
    assert (choice.kind, choice.dayfirst) == ("csv", "day")
    window.data_panel.ask_date_order = lambda error: pytest.fail("asked again")
    assert window.data_panel.load_choice(choice)
    assert window.series.dates.equals(expected.dates)


def test_cancelling_the_question_keeps_the_previous_data(window, ambiguous):
    before = window.series
    window.data_panel.ask_date_order = lambda error: None
    assert not window.data_panel.load_csv_path(ambiguous)
    assert window.series is before


def test_gui_command_takes_dayfirst(monkeypatch, ambiguous):
    from stockapp import cli

    seen = {}

    def fake_run(**kwargs):
        seen.update(kwargs)
        return 0

    monkeypatch.setattr("stockapp.gui.app.run", fake_run)
    assert cli.main(["gui", "--csv", str(ambiguous), "--monthfirst"]) == 0
    assert seen["csv"] == str(ambiguous) and seen["dayfirst"] is False

"""A saved backtest of several series opens in the window (issue 24's gap): File > Open run used
to say only which series the folder held. Now every series comes back, shown as after the run:
the first series, a list to switch, the Across series page with the cross-section scored again
from the forecasts read, equal to the scores the run saved; Save run copies the folder whole."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from stockapp import cli
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.inside.adapter import InsideController
from stockapp.session.opened_several import open_several, series_in_run
from tests.gui.test_gui_cli_parity import CLI_ARGS


@pytest.fixture
def several_run(tmp_path, short_aapl_csv, aapl_csv):
    """``stockapp backtest`` of three series over the same 400 dates, saved in one folder."""
    third = tmp_path / "THIRD.csv"  # AAPL's moves, damped
    frame = pd.read_csv(aapl_csv, index_col="Date").iloc[:400]
    frame[["Open", "High", "Low", "Close", "Adj Close"]] **= 0.5
    frame.to_csv(third)
    goog = tmp_path / "GOOG_short.csv"
    pd.read_csv(aapl_csv.parent / "GOOG.csv", index_col="Date").iloc[:400].to_csv(goog)
    folder = tmp_path / "several"
    args = ["backtest", "--csv", str(short_aapl_csv), "--csv", str(goog), "--csv", str(third)]
    assert cli.main([*args, *CLI_ARGS, "--out", str(folder)]) == 0
    return folder


def test_an_opened_run_of_several_series_is_scored_as_it_was_saved(several_run):
    opened = open_several(several_run)
    metrics = json.loads((several_run / "metrics.json").read_text(encoding="utf-8"))
    assert series_in_run(several_run) == list(opened.outcomes) == list(metrics["series"])
    for name, one in opened.outcomes.items():
        saved = metrics["series"][name]
        mine = one.result.metrics_dict(one.model_name)
        for key in ("n", "rmse", "skill", "dm_better_pvalue"):
            assert mine[key] == pytest.approx(saved[key], rel=1e-9), (name, key)
    again = opened.cross_section.to_dict()  # scored again from the forecasts read back
    for key, value in metrics["cross_section"].items():
        if isinstance(value, float):
            assert again[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert not opened.one_network and opened.notes == tuple(metrics["notes"])


def test_the_window_opens_every_series_of_a_saved_run_and_saves_it_whole(
    qtbot, several_run, short_aapl_csv, tmp_path
):
    window = create_main_window(csv=str(short_aapl_csv), quiet=True)
    qtbot.addWidget(window)
    backtest = window.findChild(BacktestController)
    inside = window.findChild(InsideController)
    assert backtest.open_run_from(several_run), window.last_error
    results = window.session.results
    assert results.series_names == ["AAPL_short", "GOOG_short", "THIRD"]
    assert results.shown == "AAPL_short" and results.outcome is None  # no model in memory
    assert backtest.tab.data_label.text().endswith(
        " and GOOG_short, THIRD (a model each) · showing <b>AAPL_short</b>"
    )
    rows = backtest.tab.across.shown_rows()
    assert [r[0] for r in rows] == results.series_names
    saved = json.loads((several_run / "metrics.json").read_text(encoding="utf-8"))
    goog = saved["series"]["GOOG_short"]
    assert rows[1][1] == f"{goog['n']:,}" and rows[1][3] == f"{goog['skill']:+.4f}"
    assert "ranks 3 series on " in backtest.tab.across.summary.text()
    assert "Each series had a model of its own" in backtest.tab.across.summary.text()
    assert "run the backtest again to look inside" in inside.view.heading.text()

    backtest.tab.series_combo.textActivated.emit("GOOG_short")
    shown = window.session.results
    assert shown.shown == "GOOG_short" and shown.outcome is None
    assert backtest.result is results.several.outcomes["GOOG_short"].result
    assert backtest.tab.data_label.text().endswith("showing <b>GOOG_short</b>")

    copy = tmp_path / "copy"
    assert backtest.save_run_to(copy), window.last_error
    for name in ("forecasts.csv", "metrics.json", "manifest.json"):
        assert (copy / name).read_bytes() == (several_run / name).read_bytes(), name
    assert backtest.open_run_from(copy) and window.session.results.series_names == [
        "AAPL_short", "GOOG_short", "THIRD"
    ]  # fmt: skip

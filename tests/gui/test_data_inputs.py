"""Other series as inputs in the window (issue 24.5): the Data page's box edits the session's
choice and remembers it, a file it cannot use is one sentence, and a backtest run from the window
with inputs writes the forecasts ``stockapp backtest --with-sample ... --calendar ...`` writes;
the results name the inputs and the Inside tab credits them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from stockapp import cli
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.data.panel import DataPanel
from stockapp.gui.inside.adapter import InsideController
from stockapp.gui.training.adapter import TrainingController
from stockapp.session.inputs import InputChoice
from tests.gui.test_gui_cli_parity import CLI_ARGS, _type_settings


def test_the_box_edits_the_choice_and_remembers_it(qtbot, tmp_path):
    panel = DataPanel()
    qtbot.addWidget(panel)
    box = panel.inputs_box
    assert box.choice == InputChoice() and not box.list.isVisible()
    seen, failures = [], []
    box.changed.connect(seen.append)
    panel.failed.connect(failures.append)
    box.feature_checks["range"].setChecked(True)
    box.sample_combo.setCurrentIndex(box.sample_combo.findData("SPY"))
    box.add_sample_button.click()
    box.calendar_checks["dow"].setChecked(True)
    assert seen[-1].summary() == "SPY; day of the week"
    assert [box.list.item(i).text() for i in range(box.list.count())] == [
        "SPY (sample): log return, high-low range"
    ]
    assert box.add_ticker("") is False
    assert failures == ["Type the ticker of the series to add as an input, such as SPY."]
    bad = tmp_path / "broken.csv"
    bad.write_text("this is not,a price file\n1,2\n", encoding="utf-8")
    assert box.add_csv(bad) is False
    assert failures[-1].startswith("broken.csv cannot be an input: ")
    assert "\n" not in failures[-1] and "Traceback" not in failures[-1]
    assert box.choice.summary() == "SPY; day of the week"  # nothing lost

    again = DataPanel()  # the next launch
    qtbot.addWidget(again)
    assert again.inputs_box.choice == box.choice
    assert again.inputs_box.calendar_checks["dow"].isChecked()
    again.inputs_box.list.setCurrentRow(0)
    again.inputs_box.remove_button.click()
    assert again.inputs_box.choice.summary() == "day of the week"


def _window(qtbot, csv):
    """The window on ``csv`` with the tiny model and test span the command line is given."""
    window = create_main_window(csv=str(csv), quiet=True)
    qtbot.addWidget(window)
    backtest = window.findChild(BacktestController)
    _type_settings(window.findChild(TrainingController).panel)
    backtest.panel.set_settings(BacktestSettings(test_fraction=0.2))
    return window, backtest, window.findChild(InsideController)


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_backtest_with_inputs_equals_the_command_lines_and_names_them(
    qtbot, short_aapl_csv, tmp_path
):
    window, backtest, inside = _window(qtbot, short_aapl_csv)
    box = window.data_panel.inputs_box
    box.sample_combo.setCurrentIndex(box.sample_combo.findData("GOOG"))
    box.add_sample_button.click()
    box.calendar_checks["dow"].setChecked(True)
    assert window.session.inputs.summary() == "GOOG; day of the week"
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000) as done:
        assert backtest.start_backtest()
    assert backtest.wait(5000)
    assert done.args[0] is not None, window.last_error
    header = backtest.tab.data_label.text()
    assert header.endswith(" · with GOOG (log return); day of the week"), header
    gui_folder, cli_folder = tmp_path / "gui", tmp_path / "cli"
    assert backtest.save_run_to(gui_folder)
    assert cli.main(["backtest", "--csv", str(short_aapl_csv), *CLI_ARGS,
                     "--with-sample", "GOOG", "--calendar", "dow",
                     "--out", str(cli_folder)]) == 0  # fmt: skip
    gui = json.loads((gui_folder / "manifest.json").read_text(encoding="utf-8"))
    ref = json.loads((cli_folder / "manifest.json").read_text(encoding="utf-8"))
    assert gui["feature_spec"] == ref["feature_spec"]
    assert gui["feature_spec"]["features"] == ["log_return", "with:GOOG:return", "cal:dow"]
    assert gui["covariates"][0]["fingerprint"] == ref["covariates"][0]["fingerprint"]
    pd.testing.assert_frame_equal(
        pd.read_csv(gui_folder / "forecasts.csv"), pd.read_csv(cli_folder / "forecasts.csv"),
        check_exact=False, rtol=1e-12, atol=0.0,
    )  # fmt: skip

    # The Inside tab explains a forecast from the frame the model read, crediting each input.
    window.tabs.setCurrentWidget(inside.view)
    qtbot.waitUntil(lambda: inside.view.explanation is not None, timeout=20000)
    ex = inside.view.explanation
    assert ex.features == ("log_return", "with:GOOG:return", "cal:dow")
    said = inside.view.attr_text.text()
    assert "By input: its own past " in said and ", GOOG " in said, said
    assert said.endswith("%.") and "day of the week" in said
    inside._explain_worker.wait(5000)

    # Opened again from its folder, the run's inputs are loaded again for the Inside tab.
    assert backtest.open_run_from(gui_folder)
    qtbot.waitUntil(lambda: inside._forecaster is not None and inside._opened is None
                    or inside.view.explanation is not None and inside._pending is None,
                    timeout=20000)  # fmt: skip
    inside.show_forecast(backtest.result.dates[-1])
    qtbot.waitUntil(lambda: inside.view.explanation is not None, timeout=20000)
    assert inside.view.explanation.features == ("log_return", "with:GOOG:return", "cal:dow")
    assert "with:GOOG:return" in inside._prices.columns
    if inside._explain_worker is not None:
        inside._explain_worker.wait(5000)
    qtbot.wait(10)


@pytest.mark.usefixtures("no_leaked_threads")
def test_series_forecast_too_are_one_run_shown_series_by_series_and_across(
    qtbot, short_aapl_csv, tmp_path, aapl_csv
):
    third = tmp_path / "THIRD.csv"  # a third series over the same dates: AAPL's moves, damped
    frame = pd.read_csv(aapl_csv, index_col="Date").iloc[:400]
    frame[["Open", "High", "Low", "Close", "Adj Close"]] **= 0.5
    frame.to_csv(third)
    goog = tmp_path / "GOOG_short.csv"  # GOOG over the same 400 dates
    pd.read_csv(aapl_csv.parent / "GOOG.csv", index_col="Date").iloc[:400].to_csv(goog)
    window, backtest, inside = _window(qtbot, short_aapl_csv)
    box = window.data_panel.inputs_box
    box.role_combo.setCurrentIndex(box.role_combo.findData("target"))
    assert not box.feature_checks["return"].isEnabled()  # features are an input's only
    assert box.add_csv(goog) and box.add_csv(third)
    assert box.one_network_check.isVisibleTo(box)
    assert box.list.isVisibleTo(box) and box.list.count() == 2  # seen missing under Xvfb
    assert box.list.item(1).text() == "THIRD.csv (CSV): forecast too"
    assert box.choice.target_summary() == "GOOG_short.csv, THIRD.csv"
    with qtbot.waitSignal(backtest.backtest_finished, timeout=90000) as done:
        assert backtest.start_backtest()
    assert backtest.wait(5000)
    assert done.args[0] is not None, window.last_error
    results = window.session.results
    assert results.series_names == ["AAPL_short", "GOOG_short", "THIRD"]
    assert backtest.tab.data_label.text().endswith(
        " and GOOG_short, THIRD (a model each) · showing <b>AAPL_short</b>"
    )
    across = backtest.tab.across
    rows = across.shown_rows()
    assert [r[0] for r in rows] == results.series_names
    scores = results.several.outcomes["GOOG_short"].result.metrics_dict("LSTM")
    assert rows[1][1] == f"{scores['n']:,}" and rows[1][3] == f"{scores['skill']:+.4f}"
    assert "ranks 3 series on " in across.summary.text()
    assert across.summary.text().startswith("Each series had a model of its own. LSTM ranks")

    # Another series: its charts, its table and its Inside explanation.
    backtest.tab.series_combo.textActivated.emit("GOOG_short")
    assert window.session.results.shown == "GOOG_short"
    assert backtest.result is results.several.outcomes["GOOG_short"].result
    assert backtest.tab.data_label.text().endswith("showing <b>GOOG_short</b>")
    assert inside._result is backtest.result
    across.series_chosen.emit("THIRD")
    assert backtest.result is results.several.outcomes["THIRD"].result

    # Saved as the command line writes several targets, with the same forecasts.
    gui_folder, cli_folder = tmp_path / "gui", tmp_path / "cli"
    assert backtest.save_run_to(gui_folder)
    assert cli.main(["backtest", "--csv", str(short_aapl_csv), "--csv", str(goog),
                     "--csv", str(third), *CLI_ARGS, "--out", str(cli_folder)]) == 0  # fmt: skip
    gui = pd.read_csv(gui_folder / "forecasts.csv").sort_values(["series", "date"])
    ref = pd.read_csv(cli_folder / "forecasts.csv").sort_values(["series", "date"])
    assert set(gui["series"]) == {"AAPL_short", "GOOG_short", "THIRD"}
    pd.testing.assert_frame_equal(
        gui.reset_index(drop=True), ref.reset_index(drop=True),
        check_exact=False, rtol=1e-12, atol=0.0,
    )  # fmt: skip
    metrics = json.loads((gui_folder / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["series"]) == {"AAPL_short", "GOOG_short", "THIRD"}
    assert metrics["cross_section"] is not None
    qtbot.waitUntil(
        lambda: inside._explain_worker is None or not inside._explain_worker.is_running(),
        timeout=20000,
    )  # noqa: E501

"""Experiments in the window: run a tiny sweep, cancel it, reopen it, open one of its runs."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

import stockapp.models.runner as runner_module
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.backtest.metrics_table import DM_COLUMN, fmt_number, fmt_p, fmt_percent
from stockapp.gui.experiments.adapter import (
    BACKTEST_RUNS,
    RESULTS_TAB,
    SETTINGS_PAGE,
    SWEEP_RUNS,
    TRAINING_RUNS,
    ExperimentsController,
)
from stockapp.gui.experiments.results import COLUMNS, LEGEND, heatmap_cells
from stockapp.gui.training.adapter import TrainingController


@pytest.fixture
def app(qtbot, short_aapl_csv, tmp_path):
    """The whole window, its Experiments page set to tiny GRUs on a 400-bar CSV, in-process."""
    window = create_main_window(csv=str(short_aapl_csv), quiet=True)
    qtbot.addWidget(window)
    ctl = window.findChild(ExperimentsController)
    panel = ctl.panel
    panel.set_checked_samples([])
    panel.csv_edit.setText(str(short_aapl_csv))
    for name, text in {
        "model": "gru",
        "window": "10",
        "hidden": "8,12",
        "layers": "1",
        "dropout": "0",
        "lr": "0.01",
    }.items():
        panel.grid_edits[name].setText(text)
    panel.seeds_edit.setText("0")
    panel.epochs_spin.setValue(1)
    panel.engine_combo.setCurrentIndex(panel.engine_combo.findData("inline"))
    panel.out_edit.setText(str(tmp_path / "sweep"))
    training = window.findChild(TrainingController)
    return window, ctl, training, window.findChild(BacktestController)


def _run(qtbot, ctl: ExperimentsController, timeout: int = 120000):
    with qtbot.waitSignal(ctl.experiment_finished, timeout=timeout) as done:
        assert ctl.start()
    assert ctl.wait(5000)
    return done.args[0]


def _count_trainings(monkeypatch, before=None) -> list[int]:
    calls: list[int] = []
    real = runner_module.run_backtest

    def counting(*args, **kwargs):
        calls.append(1)
        if before is not None:
            before(len(calls))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "run_backtest", counting)
    return calls


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_2x1_sweep_fills_the_table_heatmap_and_verdict(qtbot, app, monkeypatch):
    window, ctl, training, backtest = app
    calls = _count_trainings(monkeypatch)
    with qtbot.waitSignal(ctl.experiment_finished, timeout=120000) as done:
        assert ctl.start()
        # one job at a time: the other jobs wait, and closing would ask about the sweep
        assert training.panel.controls.blocked == SWEEP_RUNS
        assert backtest.panel.controls.blocked == SWEEP_RUNS
        assert not backtest.panel.controls.run_button.isEnabled()
        assert any("experiment" in w for w in window.work_that_would_be_lost())
    assert ctl.wait(5000)
    outcome = done.args[0]
    assert outcome is not None and not outcome.stopped and outcome.trained == 2 == len(calls)
    assert training.panel.controls.blocked == "" and backtest.panel.controls.blocked == ""
    view = ctl.results
    assert view.model.rowCount() == 2
    assert set(view.table["hidden"]) == {8, 12} and set(view.table["status"]) == {"ok"}
    verdict = view.verdict_label.text()
    assert verdict.startswith("Best of 2 configurations on AAPL_short")
    assert "chosen on" in verdict and "scored on" in verdict
    assert verdict == outcome.verdicts[0]  # its spans said once, not repeated
    # the heatmap varies over the one setting that varies (hidden), one cell per value
    assert view.rows_combo.currentText() == "hidden"
    assert view.cols_combo.currentText() == "model"  # not hidden again: no diagonal of blanks
    assert (view.heatmap.rowCount(), view.heatmap.columnCount()) == (2, 1)
    cells = [view.heatmap.item(i, j) for i in range(2) for j in range(2)]
    shown = [c for c in cells if c is not None]
    assert len(shown) == 2
    for item in shown:
        assert "over 1 seed" in item.toolTip()
    assert window.tabs.currentWidget() is view
    assert "Finished: 2 runs trained now, 2 in all." in ctl.panel.controls.status_label.text()
    assert ctl.panel.controls.progress_bar.text() == "2 / 2 runs, done"


@pytest.mark.usefixtures("no_leaked_threads")
def test_failed_runs_say_why_on_the_page_once_per_reason(qtbot, app, tmp_path):
    window, ctl, _training, _backtest = app
    ctl.panel.grid_edits["window"].setText("5000")  # longer than the series: every run fails
    outcome = _run(qtbot, ctl)
    assert outcome.trained == 0 and outcome.summary["runs_failed"] == 2
    reason = str(ctl.results.table["error"][0])
    assert reason.startswith("Only ") and set(ctl.results.table["error"]) == {reason}
    said = f"2 runs failed on AAPL_short: {reason}"
    assert ctl.failures == [said]
    assert window.last_error == f"None of the 2 runs finished.\n{said}"
    assert ctl.panel.controls.status_label.text() == window.last_error
    # some runs finish, one reason for the others
    ctl.panel.grid_edits["window"].setText("10,5000")
    ctl.panel.grid_edits["hidden"].setText("8")
    ctl.panel.out_edit.setText(str(tmp_path / "mixed"))
    outcome = _run(qtbot, ctl)
    assert outcome.trained == 1
    status = ctl.panel.controls.status_label.text()
    assert status.startswith("Finished: 1 run trained now, 2 in all.\n1 run failed on ")
    # reopening the folder says it again
    assert ctl.open_experiment(tmp_path / "mixed")
    assert ctl.panel.controls.status_label.text().startswith("1 run failed on AAPL_short: Only ")


def test_the_table_sorts_numerically_and_colours_by_signed_verdict(qtbot, app):
    """Issue 18.1: green only where the run is better than persistence; red where worse."""
    _window, ctl, _training, _backtest = app
    table = pd.DataFrame(
        {
            "series": ["A", "A", "A", "A"],
            "key": ["k1", "k2", "k3", "k4"],
            "hidden": [8, 64, 16, 32],
            "rmse_ratio": [1.01, 0.9, math.nan, 1.134],
            # a two-sided Holm p of 8e-16 on the wrong side used to be green
            "dm_pvalue_holm": [0.5, 0.01, math.nan, 8e-16],
            "dm_better_pvalue": [0.7, 0.002, math.nan, 1.0],
            "dm_better_pvalue_holm": [1.0, 0.008, math.nan, 1.0],
            "verdict": ["tie", "better", None, "worse"],
            "status": ["ok", "ok", "failed", "ok"],
            "error": [None, None, "It broke.", None],
            "seed": [0, 0, 0, 0],
        }
    )
    view = ctl.results
    view.show_sweep(table, {"series": [], "runs_total": 4, "runs_finished": 3})
    col = [c[0] for c in COLUMNS]
    view.view.sortByColumn(col.index("hidden"), Qt.SortOrder.AscendingOrder)
    assert [view.key_at(r) for r in range(4)] == ["k1", "k3", "k4", "k2"]  # 8 < 16 < 32 < 64
    role = Qt.ItemDataRole.BackgroundRole
    colours = [view.model.data(view.model.index(r, 0), role) for r in range(4)]
    assert colours[0] is None  # a tie: no colour
    assert colours[1].color().name() == "#bbf7d0"  # better: green
    assert colours[2].color().name() == "#e5e7eb"  # failed: grey, apart from worse
    assert colours[3].color().name() == "#fecaca"  # worse: red, never green
    verdict = view.model.index(3, col.index("verdict"))
    assert view.model.data(verdict) == "worse"
    assert view.model.data(verdict, Qt.ItemDataRole.ToolTipRole).startswith("worse than")
    assert "green, better than persistence" in LEGEND and "red, worse" in LEGEND
    assert "written before" not in view.folder_label.text()
    view.view.sortByColumn(col.index("verdict"), Qt.SortOrder.AscendingOrder)  # words sort


def test_a_sweep_written_before_signed_verdicts_opens_with_them_unknown(qtbot, app, tmp_path):
    from stockapp.core.sweep_plan import ADDED_COLUMNS, RESULT_COLUMNS, read_sweep

    _window, ctl, _training, _backtest = app
    old = [c for c in RESULT_COLUMNS if c not in ADDED_COLUMNS]
    pd.DataFrame(
        [
            {
                "series": "A",
                "key": "k1",
                "hidden": 8,
                "seed": 0,
                "rmse_ratio": 1.05,
                "dm_pvalue": 0.001,
                "dm_pvalue_holm": 0.002,
                "status": "ok",
            },
            {
                "series": "A",
                "key": "k2",
                "hidden": 16,
                "seed": 0,
                "status": "failed",
                "error": "It broke.",
            },
        ],  # fmt: skip
        columns=old,
    ).to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "summary.json").write_text('{"series": [], "runs_total": 2, "runs_finished": 1}')
    table, summary = read_sweep(tmp_path)
    view = ctl.results
    view.show_sweep(table, summary, str(tmp_path))
    col = [c[0] for c in COLUMNS].index("verdict")
    assert view.model.data(view.model.index(0, col)) == "unknown"
    assert view.model.data(view.model.index(1, col)) == ""  # a failed run has no verdict
    role = Qt.ItemDataRole.BackgroundRole
    assert view.model.data(view.model.index(0, 0), role) is None  # not green on a 2-sided p
    assert "written before signed verdicts" in view.folder_label.text()


def test_heatmap_averages_within_seed_then_over_seeds():
    # two windows x two hidden sizes x 2 seeds, plus a varying lr averaged within each seed
    rows = []
    values = {
        (20, 8, 0): [1.00, 0.98],
        (20, 8, 1): [1.02, 1.04],
        (60, 8, 0): [0.95, 0.97],
        (60, 8, 1): [0.99, 0.99],
        (20, 16, 0): [1.10, 1.10],
    }
    for (window, hidden, seed), ratios in values.items():
        for lr, r in zip((1e-3, 5e-4), ratios, strict=True):
            rows.append(
                dict(series="S", window=window, hidden=hidden, lr=lr, seed=seed, rmse_ratio=r)
            )
    rows.append(dict(series="S", window=60, hidden=16, lr=1e-3, seed=0, rmse_ratio=math.nan))
    rows.append(dict(series="T", window=20, hidden=8, lr=1e-3, seed=0, rmse_ratio=5.0))
    table = pd.DataFrame(rows)
    table["status"] = "ok"
    row_values, col_values, cells = heatmap_cells(table, "window", "hidden", "S")
    assert row_values == [20, 60] and col_values == [8, 16]
    # (20, 8): seed means 0.99 and 1.03 -> mean 1.01, sd sqrt(((-.02)^2 + .02^2) / 1) = 0.028284
    mean, sd, n = cells[(20, 8)]
    assert n == 2 and mean == pytest.approx(1.01) and sd == pytest.approx(0.02 * math.sqrt(2))
    mean, sd, n = cells[(60, 8)]
    assert n == 2 and mean == pytest.approx((0.96 + 0.99) / 2)
    assert sd == pytest.approx(float(np.std([0.96, 0.99], ddof=1)))
    mean, sd, n = cells[(20, 16)]
    assert (mean, n) == (pytest.approx(1.10), 1) and math.isnan(sd)
    assert (60, 16) not in cells  # its one run has no score


@pytest.mark.usefixtures("no_leaked_threads")
def test_cancel_keeps_the_finished_runs(qtbot, app, monkeypatch):
    _window, ctl, _training, _backtest = app
    ctl.panel.grid_edits["hidden"].setText("8,12,16")
    # the second run is asked to stop as it starts (the worker's flag is thread-safe)
    calls = _count_trainings(monkeypatch, before=lambda n: n == 2 and ctl.cancel())
    outcome = _run(qtbot, ctl)
    assert outcome.stopped and outcome.trained == 1 and outcome.total == 3
    assert len(calls) == 2
    assert ctl.results.model.rowCount() == 1
    assert list(ctl.results.table["status"]) == ["ok"]
    assert (ctl.folder / "runs" / ctl.results.table["key"][0] / "manifest.json").exists()
    assert "Stopped" in ctl.panel.controls.status_label.text()
    assert "resume" in ctl.panel.controls.status_label.text()
    assert ctl.panel.controls.progress_bar.text() == "1 / 3 runs, stopped"
    assert ctl.panel.out_edit.text() == str(ctl.folder)


@pytest.mark.usefixtures("no_leaked_threads")
def test_reopening_the_folder_shows_it_without_training(qtbot, app, monkeypatch, tmp_path):
    window, ctl, _training, _backtest = app
    _run(qtbot, ctl)
    folder = ctl.folder
    calls = _count_trainings(monkeypatch)
    other = create_main_window(quiet=True)
    qtbot.addWidget(other)
    fresh = other.findChild(ExperimentsController)
    assert fresh.open_action in other.file_menu.actions()
    assert fresh.open_experiment(folder)
    assert calls == []
    assert fresh.results.model.rowCount() == 2
    assert fresh.results.verdict_label.text() == ctl.results.verdict_label.text()
    assert not fresh.open_experiment(tmp_path)
    assert other.last_error == f"{tmp_path} is not a sweep folder: it has no results.csv."
    # running the same experiment again resumes: nothing is retrained
    outcome = _run(qtbot, ctl)
    assert outcome.trained == 0 and calls == []


@pytest.mark.usefixtures("no_leaked_threads")
def test_double_click_opens_that_runs_backtest(qtbot, app):
    window, ctl, _training, backtest = app
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    _run(qtbot, ctl)
    view = ctl.results.view
    view.sortByColumn(3, Qt.SortOrder.DescendingOrder)  # hidden units, largest first
    key = ctl.results.key_at(0)
    rect = view.visualRect(view.model().index(0, 1))
    # a real double-click: press, release, then the double-click event on the same cell
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.last_error is None
    assert backtest.result is not None
    assert backtest.manifest.train_config["hidden"] == 12
    assert window.tabs.currentWidget() is backtest.tab
    assert str(ctl.folder / "runs" / key) in backtest.panel.status_label.text()


@pytest.mark.usefixtures("no_leaked_threads")
def test_an_opened_run_shows_the_scores_of_its_row_on_the_test_span(qtbot, app):
    window, ctl, _training, backtest = app
    _run(qtbot, ctl)
    summary = ctl.results.summary["series"][0]["selection_span"]
    for i in range(2):
        row = ctl.results.table.iloc[i]
        assert ctl.open_run(str(row["key"]))
        table = backtest.table
        shown = backtest.table.title.text()
        assert shown.startswith(f"<b>Scores on {summary['test_bars']:,} test bars</b>, ")
        assert f"{summary['test_from']} to {summary['test_to']}" in shown
        assert table.cell_text("model", "RMSE") == fmt_number(row["rmse"])
        assert table.cell_text("persistence", "RMSE") == fmt_number(row["naive_rmse"])
        assert table.cell_text("model", DM_COLUMN) == fmt_p(row["dm_better_pvalue"])
        assert table.cell_text("model", "Skill vs\npersistence") == fmt_percent(
            1 - row["rmse_ratio"] ** 2, signed=True, digits=2
        )
        assert table.trading_text("Sharpe") == f"{row['strategy_sharpe']:.2f}"
        # the selection span is named apart, with its own scores
        note = table.note.text()
        assert note.startswith("This run is one of an experiment's: the scores are on its test ")
        assert f"RMSE {row['rmse_ratio']:.4f}x of persistence's" in note
        assert f"selection span before it, {summary['selection_from']} to " in note
        assert f"({summary['selection_bars']:,} bars)" in note
        assert f"there RMSE {row['selection_rmse_ratio']:.4f}x of persistence's" in note
        assert table.note.isVisibleTo(table)
        # the charts and the run as saved keep both spans
        n_all = summary["selection_bars"] + summary["test_bars"]
        assert backtest.result.n == n_all == backtest.view.forecast_count()
    # an ordinary run says nothing of spans
    run = ctl.folder / "runs" / str(ctl.results.table["key"][0])
    (run / "sweep_row.json").unlink()
    assert backtest.open_run_from(run)
    assert backtest.table.note.text() == "" and not backtest.table.note.isVisibleTo(backtest.table)
    assert f"{n_all:,} test bars" in backtest.table.title.text()


@pytest.mark.parametrize(
    ("field", "text", "sentence"),
    [
        (
            "window",
            "20,abc",
            "Windows (bars) takes whole numbers of bars separated by commas, not '20,abc'.",
        ),
        ("hidden", "", "Hidden units takes whole numbers separated by commas, not ''."),
        ("model", "lstm,tcn", "Unknown model type 'tcn'; use lstm, gru or rnn."),
        ("dropout", "0.2,1.5", "Dropout takes numbers from 0 to below 1."),
        ("seeds", "3-1", "Seeds take a range like 0-2 or a list like 0,2,5, not '3-1'."),
    ],
)
def test_bad_grid_input_gives_one_sentence(qtbot, app, field, text, sentence):
    window, ctl, _training, _backtest = app
    edit = ctl.panel.seeds_edit if field == "seeds" else ctl.panel.grid_edits[field]
    edit.setText(text)
    assert not ctl.start()
    assert window.last_error == sentence
    assert ctl.panel.count_label.text() == sentence  # said before Run is pressed too
    assert not ctl.is_running()


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_ray_address_where_nothing_answers_is_one_sentence_within_seconds(qtbot, app):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'stockapp[ray]'")
    window, ctl, _training, _backtest = app
    panel = ctl.panel
    panel.engine_combo.setCurrentIndex(panel.engine_combo.findData("ray"))
    assert panel.ray_edit.isVisibleTo(panel)
    panel.ray_edit.setText("127.0.0.1:port")
    bad = "The Ray address '127.0.0.1:port' is not host:port (e.g. 127.0.0.1:6379), "
    assert panel.count_label.text().startswith(bad)  # said as it is typed
    assert not ctl.start() and window.last_error.startswith(bad)
    panel.ray_edit.setText("127.0.0.1:1")
    started = time.perf_counter()
    with qtbot.waitSignal(ctl.experiment_finished, timeout=30000) as done:
        assert ctl.start()
        assert not ctl.panel.controls.run_button.isEnabled()  # the window goes on meanwhile
    assert ctl.wait(5000)
    assert time.perf_counter() - started < 30
    assert done.args[0] is None
    assert window.last_error == (
        "No Ray cluster answers at 127.0.0.1:1 (connection refused); start one there with "
        "'ray start --head', check the address, or leave it empty to run Ray on this machine."
    )
    assert ctl.panel.controls.run_button.isEnabled()


def test_no_series_chosen_gives_one_sentence(qtbot, app):
    window, ctl, _training, _backtest = app
    ctl.panel.csv_edit.setText("")
    assert not ctl.start()
    assert window.last_error == "Tick a sample, or give a CSV file or a ticker, to experiment on."


def test_no_duplicate_tab_names_and_the_page_and_tab_are_there(app):
    window, _ctl, _training, _backtest = app
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    pages = [window.side_tabs.tabText(i) for i in range(window.side_tabs.count())]
    names = tabs + pages
    assert len(names) == len(set(names)), names
    assert RESULTS_TAB in tabs and SETTINGS_PAGE in pages


@pytest.mark.usefixtures("no_leaked_threads")
def test_training_blocks_the_experiment_until_it_ends(qtbot, app):
    window, ctl, training, backtest = app
    from stockapp.core.features import FeatureSpec
    from stockapp.models.trainer import TrainConfig

    training.panel.set_values(
        FeatureSpec(window=10),
        TrainConfig(hidden=4, layers=1, epochs=1, batch_size=32, device="cpu", patience=0),
    )
    with qtbot.waitSignal(training.training_ended, timeout=60000):
        assert training.start_training()
        assert ctl.panel.controls.blocked == TRAINING_RUNS
        assert not ctl.panel.controls.run_button.isEnabled()
        assert not ctl.start() and window.last_error == TRAINING_RUNS
    assert training.wait(5000)
    assert ctl.panel.controls.blocked == ""
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000):
        assert backtest.start_backtest()
        assert ctl.panel.controls.blocked == BACKTEST_RUNS
    assert backtest.wait(5000)
    assert ctl.panel.controls.blocked == ""


@pytest.mark.usefixtures("no_leaked_threads")
def test_closing_the_window_mid_experiment_stops_it_and_keeps_whole_runs(qtbot, app):
    window, ctl, _training, _backtest = app
    ctl.panel.grid_edits["hidden"].setText("8,12,16")
    assert ctl.start()
    lost = window.work_that_would_be_lost()
    assert lost == ["the experiment under way (its finished runs are kept)"]
    window.close()  # quiet: no question; cancels and waits for the worker
    assert ctl.wait(5000)
    runs = ctl.folder / "runs"
    assert not [p for p in runs.iterdir() if p.name.startswith(".partial-")]
    for run in runs.iterdir():  # every run folder left is whole and reopens
        assert (run / "sweep_row.json").exists() and (run / "manifest.json").exists()


def test_before_any_experiment_the_page_is_one_sentence(qtbot):
    """Issue 20.6: an empty state draws nothing: no empty heatmap, table or choices."""
    from stockapp.gui.experiments.results import SweepResultsView

    view = SweepResultsView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    assert "No experiment yet" in view.folder_label.text()
    for widget in (view.heatmap, view.view, view.rows_combo, view.cols_combo):
        assert not widget.isVisible()
    table = pd.DataFrame({"series": ["A", "A"], "key": ["k1", "k2"], "hidden": [8, 16],
                          "rmse_ratio": [1.0, 0.99], "verdict": ["tie", "tie"],
                          "status": ["ok", "ok"], "error": [None, None],
                          "seed": [0, 0]})  # fmt: skip
    view.show_sweep(table, {"series": []})
    assert view.heatmap.isVisible() and view.view.isVisible()


@pytest.mark.usefixtures("no_leaked_threads")
def test_the_data_page_s_inputs_reach_every_run_as_the_command_line_s(
    qtbot, app, short_aapl_csv, tmp_path
):
    """Issue 24's gap: an experiment from the window reads the Data page's other series and
    calendar inputs, with the numbers `stockapp sweep --with-sample GOOG:return,range --calendar
    dow` gives, and names them before and after it runs."""
    import json

    from stockapp import cli
    from stockapp.core.data_source import DataSource
    from stockapp.session.inputs import InputChoice

    window, ctl, _training, _backtest = app
    assert "its series' own past only" in ctl.panel.inputs_label.text()
    choice = InputChoice().add(DataSource("sample", "GOOG"), ("return", "range"))
    window.session.set_inputs(choice.with_calendar(["dow"]))
    said = "Every run also reads GOOG; day of the week (the Data page's Other series)."
    assert ctl.panel.inputs_label.text() == said
    outcome = _run(qtbot, ctl)
    assert outcome is not None and outcome.trained == 2, (
        window.last_error,
        ctl.panel.controls.status_label.text(),
    )
    gui = tmp_path / "sweep"
    ref = tmp_path / "cli"
    args = ["sweep", "--csv", str(short_aapl_csv), "--model", "gru", "--window", "10",
            "--hidden", "8,12", "--layers", "1", "--dropout", "0", "--lr", "0.01", "--seeds", "0",
            "--epochs", "1", "--test-fraction", "0.2", "--selection-fraction", "0.2",
            "--workers", "1", "--with-sample", "GOOG:return,range", "--calendar", "dow",
            "--out", str(ref), "--quiet"]  # fmt: skip
    assert cli.main(args) == 0
    mine = json.loads((gui / "summary.json").read_text(encoding="utf-8"))
    theirs = json.loads((ref / "summary.json").read_text(encoding="utf-8"))
    assert mine["inputs"] == theirs["inputs"]
    assert [c["name"] for c in mine["inputs"]["covariates"]] == ["GOOG"]
    a = pd.read_csv(gui / "results.csv").sort_values("key").reset_index(drop=True)
    b = pd.read_csv(ref / "results.csv").sort_values("key").reset_index(drop=True)
    assert list(a["key"]) == list(b["key"])  # the inputs are in every run's key alike
    for column in ("rmse", "rmse_ratio", "selection_rmse_ratio"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, err_msg=column)
    assert "Every run also read GOOG (log return, high-low range); day of the week." in (
        ctl.results.folder_label.text()
    )


def test_every_side_page_fits_the_side_column_at_1280x800(app):
    """The Experiment settings page was wider than the side column (a group box's long title
    sets its minimum width), so at 1280x800 its right edge, the CSV Add button and Cancel, were
    cut off: seen under Xvfb. No side page may need more than the side column's width."""
    from stockapp.gui.main_window import SIDE_WIDTH

    window = app[0]
    # the column the window opens with: wide enough for every page's title, at most 40% of
    # a 1280-pixel window (MainWindow._show_every_side_title)
    column = min(max(SIDE_WIDTH, window.side_tabs.tabBar().sizeHint().width() + 8), 512)
    pages = [window.side_tabs.widget(i) for i in range(window.side_tabs.count())]
    assert len(pages) >= 4
    for i, page in enumerate(pages):
        inner = page.widget() if hasattr(page, "widget") else page
        need = inner.minimumSizeHint().width()
        assert need <= column, (window.side_tabs.tabText(i), need, column)

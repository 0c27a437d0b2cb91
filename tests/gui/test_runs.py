"""Saving runs in one click, the Runs list (open, rename, delete with undo, show folder) and the
export dialogs' remembered folder."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QFileDialog

from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.runs import library as runs_library
from stockapp.gui.training.adapter import TrainingController
from stockapp.models.trainer import TrainConfig
from stockapp.paths import runs_dir

TINY_SPEC = FeatureSpec(window=10, features=("log_return",))
TINY_CFG = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=32, device="cpu", patience=0)


@pytest.fixture
def backtest(window) -> BacktestController:
    training = TrainingController()
    training.attach(window)
    training.panel.set_values(TINY_SPEC, TINY_CFG)
    ctl = BacktestController()
    ctl.attach(window, training)
    ctl.panel.set_settings(BacktestSettings(test_fraction=0.2))
    return ctl


@pytest.fixture
def ran(qtbot, backtest) -> BacktestController:
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000):
        assert backtest.start_backtest()
    assert backtest.wait(5000)
    return backtest


def test_save_run_is_one_click_into_the_runs_folder_under_a_readable_name(ran, window):
    assert ran.save_action.text() == "Save run" and not ran.save_action.shortcut().isEmpty()
    ran.save_action.trigger()
    (folder,) = [p for p in runs_dir().iterdir() if not p.name.startswith(".")]
    assert folder.name.startswith(f"AAPL_{ran.model_name}_")  # ticker, model, date-time
    assert (folder / "manifest.json").exists() and (folder / "backtest.png").exists()
    assert folder.name in window.message_label.text()
    ran.save_action.trigger()  # a second click never overwrites the first
    assert len([p for p in runs_dir().iterdir() if not p.name.startswith(".")]) == 2


def test_save_run_as_creates_a_typed_new_folder(ran, monkeypatch, tmp_path):
    typed = tmp_path / "new parent" / "my run"
    seen = {}

    def dialog(parent, title, start, filters, options=None):
        seen["start"] = start
        return str(typed), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    ran.save_as_action.trigger()
    assert (typed / "forecasts.csv").exists()
    assert Path(seen["start"]).parent == runs_dir()  # suggested in the runs folder
    assert Path(seen["start"]).name.startswith("AAPL_")


def test_a_saved_run_appears_in_the_runs_list_and_opens_from_it(qtbot, ran, window):
    folder = ran.save_run_default()
    result = ran.result
    dialog = ran.show_runs()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.column_texts("Run") == [folder.name]
    assert dialog.column_texts("Data") == ["AAPL"]
    assert dialog.column_texts("Model") == [ran.model_name]
    ratio = result.metrics["model"].rmse / result.metrics["persistence"].rmse
    assert dialog.column_texts("RMSE ÷ persistence") == [f"{ratio:.3f}"]
    assert dialog.column_texts("Strategy") == [f"{result.strategy.stats.total_return:+.1%}"]
    assert dialog.selected().folder == folder

    ran._show(None)  # the window forgets the results
    assert ran.result is None
    assert dialog.open_selected()
    assert ran.result is not None and ran.result.n == result.n
    assert (ran.result.forecasts["model"] == result.forecasts["model"]).all()
    assert window.tabs.currentWidget() is ran.tab
    assert not dialog.isVisible()


def test_rename_delete_undo_and_reveal_from_the_runs_list(qtbot, ran, monkeypatch):
    first = ran.save_run_default()
    dialog = ran.show_runs()
    qtbot.addWidget(dialog)
    assert dialog.select(first)
    assert dialog.rename_selected("best so far")
    assert dialog.column_texts("Run") == ["best so far"] and not first.exists()
    assert not dialog.rename_selected("a/b")
    assert "cannot name a folder" in dialog.status_label.text()

    opened: list[QUrl] = []
    monkeypatch.setattr(
        runs_library.QDesktopServices,
        "openUrl",
        staticmethod(lambda url: opened.append(url) or True),
    )
    assert dialog.reveal_selected()
    assert [Path(u.toLocalFile()) for u in opened] == [runs_dir() / "best so far"]

    assert dialog.delete_selected()
    assert dialog.column_texts("Run") == [] and dialog.undo_button.isVisible()
    assert (runs_dir() / ".trash" / "best so far").is_dir()
    assert dialog.undo_delete()
    assert dialog.column_texts("Run") == ["best so far"] and not dialog.undo_button.isVisible()


def test_a_run_s_name_and_date_column_read_one_clock(qtbot, ran):
    # the run was made at 09:12:59 UTC and is saved minutes later: its name gives the time it
    # was made, as the Date column does, both in this machine's time zone
    ran.manifest = dataclasses.replace(ran.manifest, created="2026-11-30T09:12:59+00:00")
    folder = ran.save_run_default()
    dialog = ran.show_runs()
    qtbot.addWidget(dialog)
    (date,) = dialog.column_texts("Date")
    assert folder.name.endswith("_" + date.replace(" ", "_").replace(":", "-"))
    assert date.startswith("2026-11-30") or date.startswith("2026-12-01")


def test_a_renamed_run_stays_selected_on_its_row(qtbot, tmp_path):
    for i, name in enumerate(["a", "b", "c", "d"]):
        _hand_run(tmp_path, name, f"2025-0{i + 1}-01T10:00:00+00:00", rmse=1.0)
    dialog = runs_library.RunsDialog(tmp_path)
    qtbot.addWidget(dialog)
    header = dialog.table.horizontalHeader()
    assert (header.sortIndicatorSection(), dialog.column_texts("Run")) == (
        list(runs_library.COLUMNS).index("Date"),
        ["d", "c", "b", "a"],
    )
    dialog.table.sortByColumn(0, runs_library.Qt.SortOrder.AscendingOrder)
    assert dialog.column_texts("Run") == ["a", "b", "c", "d"]
    assert dialog.select(tmp_path / "b")
    assert dialog.rename_selected("z")
    # the row is renamed where it stands, still selected: the next click lands on it
    assert dialog.column_texts("Run") == ["a", "z", "c", "d"]
    assert dialog.table.currentRow() == 1 and dialog.selected().folder == tmp_path / "z"
    assert [r.name for r in dialog.runs] == ["d", "c", "z", "a"]
    opened = []
    dialog.open_requested.connect(opened.append)
    assert dialog.open_selected() and opened == [tmp_path / "z"]
    # reading the folder again, or clicking a heading, sorts; the selection follows the run
    dialog.refresh()
    assert dialog.column_texts("Run") == ["a", "c", "d", "z"]
    assert dialog.selected().folder == tmp_path / "z"


def test_long_run_names_show_whole_and_fit_the_rename_box(qtbot, tmp_path):
    """The Run column once cut names short ("backtest_AAPL_lstm_2026-…") and the rename box
    showed a third of them."""
    from PySide6.QtWidgets import QLineEdit

    long = "backtest_AAPL_adjusted_lstm_h64x2_w60_2026-12-05_05-30-12"
    _hand_run(tmp_path, long, "2025-01-01T10:00:00+00:00", rmse=1.0)
    dialog = runs_library.RunsDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    item = dialog.table.item(0, 0)
    needed = dialog.table.fontMetrics().horizontalAdvance(long)
    assert dialog.table.columnWidth(0) >= needed
    assert item.toolTip() == str(tmp_path / long)
    box = dialog.rename_box(long)
    qtbot.addWidget(box)
    box.show()
    edit = box.findChild(QLineEdit)
    assert edit.text() == long and edit.width() > edit.fontMetrics().horizontalAdvance(long)
    box.close()


def _hand_run(root: Path, name: str, created: str, rmse: float, naive: float = 1.0) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    manifest = {"created": created, "data": {"name": "MSFT"}, "model_name": "GRU"}
    metrics = {"rmse": rmse, "naive_rmse": naive, "first_date": "2020-01-02"}
    metrics["last_date"] = "2020-12-31"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


def test_runs_list_is_newest_first_and_sorts_numbers_as_numbers(qtbot, tmp_path):
    _hand_run(tmp_path, "middle", "2025-06-01T10:00:00+00:00", rmse=10.0)
    _hand_run(tmp_path, "newest", "2026-01-01T10:00:00+00:00", rmse=9.0)
    _hand_run(tmp_path, "oldest", "2024-01-01T10:00:00+00:00", rmse=100.0)
    dialog = runs_library.RunsDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.column_texts("Run") == ["newest", "middle", "oldest"]
    assert dialog.column_texts("Test span") == ["2020-01-02 to 2020-12-31"] * 3
    ratio = list(runs_library.COLUMNS).index("RMSE ÷ persistence")
    dialog.table.sortByColumn(ratio, runs_library.Qt.SortOrder.AscendingOrder)
    assert dialog.column_texts("RMSE ÷ persistence") == ["9.000", "10.000", "100.000"]
    assert dialog.column_texts("DM p") == ["—"] * 3  # not recorded: a dash, never "nan"


def test_export_dialogs_remember_their_folder_and_name_the_run(ran, monkeypatch, tmp_path):
    starts: list[str] = []
    target = tmp_path / "exports"
    target.mkdir()

    def dialog(parent, title, start, filters, options=None):
        starts.append(start)
        return str(target / Path(start).name), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    ran.csv_action.trigger()
    ran.png_action.trigger()
    assert Path(starts[0]).parent == runs_dir()
    assert Path(starts[0]).name.startswith("AAPL") and starts[0].endswith("forecasts.csv")
    assert Path(starts[1]).parent == target  # remembered from the CSV export
    assert (target / Path(starts[1]).name).exists()


def test_file_menu_lists_save_save_as_runs_and_open_run_folder(backtest, window):
    texts = [a.text() for a in window.file_menu.actions()]
    for wanted in ("Save run", "Save run as…", "Runs…", "Open run folder…"):
        assert wanted in texts


def test_an_empty_runs_folder_says_how_to_fill_it(qtbot, backtest):
    dialog = backtest.show_runs()
    qtbot.addWidget(dialog)
    assert not dialog.empty_label.isHidden() and "Save run" in dialog.empty_label.text()
    assert not dialog.open_button.isEnabled()

"""File > Save run, Save run as…, Runs…, Open run folder… and the exports, for the results shown.

A mixin of :class:`~stockapp.gui.backtest.adapter.BacktestController`. Save run is one click: the
run goes into the runs folder under a readable name (data, model, date and time); Runs… lists
every saved run (:mod:`stockapp.gui.runs.library`) to open, rename, delete or show. Export
dialogs start in the folder last exported to, with a name from the run. Every action that can
fail for a person's reason (no data, a broken run folder, an unwritable file) ends in one sentence.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import datetime
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QWidget

from stockapp.core.run_index import default_run_name, free_folder, run_time
from stockapp.core.runs import load_run, save_run, weights_through_note, write_csv
from stockapp.core.sweep_run import sweep_spans
from stockapp.errors import StockappError
from stockapp.gui.failures import failure_sentence
from stockapp.gui.pictures import render_backtest_png
from stockapp.gui.runs.library import RunsDialog
from stockapp.gui.settings import app_settings, read_str
from stockapp.paths import runs_dir
from stockapp.session.opened_several import open_several, series_in_run
from stockapp.session.state import Results

#: Where the export dialogs remember the folder last written to.
EXPORT_FOLDER_KEY = "export/folder"
SAVE_TIP = (
    "Save the results shown, with their model, in the runs folder under a name made of the "
    "data, the model and the date."
)


class RunFiles:
    """Saving, opening and exporting the results shown (the controller supplies ``session``,
    ``panel``, ``run_opened``, ``_error``, ``_show_tab``, ``is_running`` and ``_window``)."""

    def _make_file_actions(self) -> None:
        self.runs_dialog: RunsDialog | None = None
        self.last_saved: Path | None = None
        self.save_action = QAction("Save run", self)
        self.save_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.save_as_action = QAction("Save run as…", self)
        self.save_as_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.runs_action = QAction("Runs…", self)
        self.runs_action.setShortcut(QKeySequence("Ctrl+R"))
        self.runs_action.setToolTip("List the saved runs: open, rename, delete or show one.")
        self.open_action = QAction("Open run folder…", self)
        self.csv_action = QAction("Export forecasts CSV…", self)
        self.png_action = QAction("Export chart PNG…", self)
        self.save_action.triggered.connect(self.save_run_default)
        self.save_as_action.triggered.connect(self._save_dialog)
        self.runs_action.triggered.connect(self.show_runs)
        self.open_action.triggered.connect(self._open_dialog)
        self.csv_action.triggered.connect(self._csv_dialog)
        self.png_action.triggered.connect(self._png_dialog)

    @property
    def file_actions(self) -> tuple[QAction, ...]:
        return (
            self.save_action,
            self.save_as_action,
            self.runs_action,
            self.open_action,
            self.csv_action,
            self.png_action,
        )

    def _update_actions(self) -> None:
        shown = self.result is not None
        for action in (self.csv_action, self.png_action):
            action.setEnabled(shown)
        block = self.session.results_save_block()
        for action in (self.save_action, self.save_as_action):
            action.setEnabled(shown and not block)
        self.save_action.setToolTip(block or SAVE_TIP)

    def _data_text(self) -> str | None:
        return None if self.data_tag is None else self.data_tag.text()

    def suggested_name(self, what: str = "") -> str:
        """A file or folder name for the results shown: data, model, and ``what``."""
        parts = [self.data_tag.slug() if self.data_tag else "backtest", self.model_name, what]
        return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(p for p in parts if p)).strip("-_")

    # ------------------------------------------------------------------ saving
    def save_run_to(self, path: str | Path) -> bool:
        """Save what is shown as a run folder at ``path`` with its picture ``backtest.png``.

        The command line's writer (:func:`~stockapp.core.runs.save_run`): the folder is written
        whole beside ``path`` and swapped in, so an earlier run there leaves nothing behind, and
        a folder of other files is refused in one sentence.
        """
        folder = Path(path)
        results = self.session.results
        if results is None:
            self._error("There is no backtest to save; run one or open a saved run first.")
            return False
        result, name, data = results.result, results.model_name, self._data_text()

        def picture(png: Path) -> None:
            render_backtest_png(result, name, png, data=data)

        try:
            if results.several is not None:  # every series, as `backtest` repeated writes it
                results.several.save(folder)
            elif results.outcome is not None:  # with the manifest shown: one record of the run
                dataclasses.replace(results.outcome, manifest=results.manifest).save(
                    folder, picture
                )
            else:
                save_run(folder, result, results.manifest, self._model_copier(), name, picture)
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"save the run in {folder}"))
            return False
        self.session.note_saved(folder)
        self.last_saved = folder
        self.panel.show_status(f"Saved the run in {folder}.")
        if self.runs_dialog is not None and self.runs_dialog.isVisible():
            self.runs_dialog.refresh(select=folder)
        return True

    def default_run_folder(self) -> Path:
        """A free folder in the runs folder named after the data, the model and the time."""
        data = self.data_tag.name if self.data_tag is not None else "backtest"
        made = None if self.manifest is None else run_time(self.manifest)  # the Date column's
        when = made or datetime.now().astimezone()
        return free_folder(runs_dir(), default_run_name(data, self.model_name, when))

    def save_run_default(self) -> Path | None:
        """Save what is shown into the runs folder under a readable name, in one click.

        Returns the folder, or ``None`` after one sentence when there is nothing to save or it
        cannot be written.
        """
        if self.result is None:
            self._error("There is no backtest to save; run one or open a saved run first.")
            return None
        folder = self.default_run_folder()
        if not self.save_run_to(folder):
            return None
        if self._window is not None:
            self._window.show_message(f"Saved the run as {folder.name} (File > Runs… lists it).")
        return folder

    def _model_copier(self):
        """How a reopened run re-saved (elsewhere or in its own folder, which is replaced)
        keeps its model files: copied into the run being written; None without a model."""
        folder = None if self.session.results is None else self.session.results.folder
        src = None if folder is None else folder / "model"
        if src is None or not src.is_dir():
            return None
        # copyfile, not copy2: the copies get the usual file mode, not an older run's 0600.
        return lambda dest: shutil.copytree(src, dest, copy_function=shutil.copyfile)

    # ------------------------------------------------------------------ opening
    def show_runs(self) -> RunsDialog:
        """Show the Runs list (one per window, refreshed each time it is shown)."""
        if self.runs_dialog is None:
            self.runs_dialog = RunsDialog(runs_dir(), self._dialog_parent())
            self.runs_dialog.open_requested.connect(self._open_from_list)
            self.runs_dialog.forward_requested.connect(self._forward_from_list)
        self.runs_dialog.refresh(select=self.last_saved)
        if self.runs_dialog.isVisible():
            self.runs_dialog.activateWindow()
        self.runs_dialog.show()
        return self.runs_dialog

    def _forward_from_list(self, folder: Path) -> None:
        self.forward_requested.emit(folder)  # the Forward page says what went wrong, if anything
        if self.runs_dialog is not None:
            self.runs_dialog.close()

    def _open_from_list(self, folder: Path) -> None:
        if self.open_run_from(folder):
            self._show_tab()
            if self.runs_dialog is not None:
                self.runs_dialog.close()
        elif self.runs_dialog is not None and self.last_error_text:
            self.runs_dialog.status_label.setText(self.last_error_text)

    @property
    def last_error_text(self) -> str:
        return "" if self._window is None else str(self._window.last_error or "")

    def open_run_from(self, path: str | Path) -> bool:
        """Show the run saved in folder ``path`` without retraining; one sentence if broken."""
        if self.is_running():
            self._error("Wait for the running backtest to finish or cancel it first.")
            return False
        try:
            if series_in_run(Path(path)):  # a backtest of several series: every one of them
                return self._open_several(Path(path))
            result, manifest = load_run(Path(path))
        except StockappError as exc:
            self._error(str(exc))
            return False
        spans = sweep_spans(Path(path), result, manifest)
        self.session.show_results(Results.opened(result, manifest, Path(path), spans))
        data = manifest.data
        lacks = weights_through_note(result.fits)  # a run saved before fits recorded it
        self.panel.show_status(
            f"Opened the run saved in {path}"
            + (f" ({data.name}, {data.source})." if data is not None and data.name else ".")
            + (f" {lacks}" if lacks else "")
        )
        self.run_opened.emit(Path(path))
        return True

    def _open_several(self, folder: Path) -> bool:
        several = open_several(folder)
        results = Results.opened_several(several)
        self.session.show_results(results)
        names = ", ".join(several.outcomes)
        self.panel.show_status(
            f"Opened the run of {len(several.outcomes)} series saved in {folder} ({names}); "
            f"showing {results.shown}: choose another in the list above the charts."
        )
        self.run_opened.emit(folder)
        return True

    # ------------------------------------------------------------------ exporting
    def export_csv_to(self, path: str | Path) -> bool:
        """Write the forecasts table (one row per test bar) to ``path``."""
        if self.result is None:
            self._error("There is no backtest to export; run one or open a saved run first.")
            return False
        try:
            write_csv(Path(path), self.result.forecasts_frame(), index=False)
        except OSError as exc:
            self._error(failure_sentence(exc, f"write {path}"))
            return False
        self.panel.show_status(f"Wrote the forecasts to {path}.")
        return True

    def export_png_to(self, path: str | Path) -> bool:
        """Render the charts and a score summary to the PNG file ``path``."""
        if self.result is None:
            self._error("There is no backtest to export; run one or open a saved run first.")
            return False
        try:
            render_backtest_png(self.result, self.model_name, Path(path), data=self._data_text())
        except StockappError as exc:
            self._error(str(exc))
            return False
        self.panel.show_status(f"Wrote the chart to {path}.")
        return True

    # ------------------------------------------------------------------ dialogs
    def _dialog_parent(self) -> QWidget | None:
        return self._window if isinstance(self._window, QWidget) else None

    def _runs_folder(self) -> str:
        folder = runs_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def _export_folder(self) -> Path:
        """The folder the last export went to (the runs folder at first)."""
        folder = Path(read_str(app_settings(), EXPORT_FOLDER_KEY, "") or self._runs_folder())
        return folder if folder.is_dir() else Path(self._runs_folder())

    @staticmethod
    def _remember_export_folder(path: str | Path) -> None:
        settings = app_settings()
        settings.setValue(EXPORT_FOLDER_KEY, str(Path(path).parent))
        settings.sync()

    def _save_dialog(self) -> None:
        """Save run as: a name typed in the dialog becomes a new folder (created, never
        "Directory not found")."""
        folder, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Save the run as a new folder",
            str(self.default_run_folder()),
            "Run folders (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if folder:
            self.save_run_to(folder)

    def _open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._dialog_parent(), "Open a saved backtest run", self._runs_folder()
        )
        if folder:
            self.open_run_from(folder)

    def _csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Export forecasts",
            str(self._export_folder() / f"{self.suggested_name('forecasts')}.csv"),
            "CSV files (*.csv)",
        )
        if path and self.export_csv_to(path):
            self._remember_export_folder(path)

    def _png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Export chart",
            str(self._export_folder() / f"{self.suggested_name('backtest')}.png"),
            "PNG images (*.png)",
        )
        if path and self.export_png_to(path):
            self._remember_export_folder(path)

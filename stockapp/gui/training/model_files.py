"""File > Save model… and Open model…: the Model page's model in a folder, and back.

A mixin of :class:`~stockapp.gui.training.adapter.TrainingController`: it reads and sets the
window's model through the controller's session (:class:`~stockapp.session.state.Session`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from stockapp.errors import StockappError
from stockapp.gui.failures import failure_sentence
from stockapp.models.config import TrainResult
from stockapp.paths import data_dir
from stockapp.session.preload import ensure_models
from stockapp.session.state import TrainedModel
from stockapp.session.training import next_bar_text


class ModelFiles:
    """Saving the model to a folder and opening one (the controller supplies ``session``,
    ``panel``, ``chart``, ``model_trained``, ``_error``, ``_set_summary`` and ``_window``)."""

    def save_model_to(self, path: str | Path) -> bool:
        """Save the current model into folder ``path``; False after one sentence on failure."""
        if self.forecaster is None:
            self._error("There is no trained model to save; train or open one first.")
            return False
        try:
            self.forecaster.save(Path(path))
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"save the model in {path}"))
            return False
        self.panel.show_result(f"Saved the model in {path}.")
        return True

    def open_model_from(self, path: str | Path) -> bool:
        """Open the model saved in folder ``path`` and make it the current one.

        A folder that is not a readable model, or a model whose features need columns the
        current series lacks, gives one sentence and leaves the current model in place.
        """
        ensure_models()
        from stockapp.models.forecaster import RecurrentForecaster

        series = self.session.series
        try:
            forecaster = RecurrentForecaster.load(Path(path))
            if series is not None:
                forecaster.check_compatible(series.frame.columns)
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"open the model in {path}"))
            return False
        result = forecaster.last_result
        # a saved model records a fingerprint, not the span it learnt from
        self.session.set_model(TrainedModel(forecaster, result))
        self.panel.set_values(forecaster.spec, forecaster.cfg)
        self.chart.set_reference(None)  # a saved model does not record its training data
        if isinstance(result, TrainResult):
            best = result.best_epoch or None
            self.chart.set_history(result.train_losses, result.val_losses, best)
        else:
            self.chart.clear()
        self._set_summary(
            f"Opened the model saved in {path}.\n{next_bar_text(forecaster, series)}".strip()
        )
        self.panel.show_result(f"Opened the model saved in {path}.")
        self.model_trained.emit(forecaster)
        return True

    def _dialog_parent(self) -> QWidget | None:
        return self._window if isinstance(self._window, QWidget) else None

    def _pick_model_folder(self, title: str) -> str:
        """A folder chosen in a dialog that starts in the models folder ("" if cancelled)."""
        start = data_dir() / "models"
        start.mkdir(parents=True, exist_ok=True)
        return QFileDialog.getExistingDirectory(self._dialog_parent(), title, str(start))

    def _save_dialog(self) -> None:
        folder = self._pick_model_folder("Choose or create a folder for the model")
        if folder:
            self.save_model_to(folder)

    def _open_dialog(self) -> None:
        folder = self._pick_model_folder("Open a saved model folder")
        if folder:
            self.open_model_from(folder)

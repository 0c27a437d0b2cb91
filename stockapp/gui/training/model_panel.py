"""The model settings panel: what to train, how, on which device, and how far it has got.

Features and targets show in words, their identifiers (``hl_range``) in tooltips. While a model
trains the settings are locked: what is shown is what is being trained.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.features import FEATURES, TARGETS, FeatureSpec
from stockapp.errors import DataError
from stockapp.gui.bands.calibration_choice import CalibrationChoice
from stockapp.gui.settings import app_settings
from stockapp.gui.training.tips import HEAD_TIP, LOCKED_NOTE, TIPS, TRAIN_TIP, with_id
from stockapp.gui.widgets.run_controls import RunControls
from stockapp.models.config import HEADS, MODEL_KINDS, TrainConfig, TrainProgress
from stockapp.session.formatting import clock_text
from stockapp.session.labels import FEATURE_LABELS, HEAD_LABELS, TARGET_LABELS, feature_label

__all__ = [
    "FEATURE_LABELS",
    "HEAD_LABELS",
    "LOCKED_NOTE",
    "TARGET_LABELS",
    "ModelPanel",
    "feature_label",
]

SETTINGS_KEY = "model/panel"
#: Devices listed before the model code has loaded and said which this machine has.
FIRST_DEVICES = ("cpu",)


def _feature_usable(name: str, columns: Iterable[str] | None) -> bool:
    if columns is None:
        return True
    try:
        FeatureSpec(features=(name,)).check_columns(list(columns))
    except DataError:
        return False
    return True


class ModelPanel(QWidget):
    """Settings of the network and its training, with Train/Cancel and live progress.

    Defaults come from :class:`FeatureSpec` and :class:`TrainConfig`; settings the panel does not
    show (optimiser, weight decay, clipping, ...) are carried over from the last
    :meth:`set_values` so they survive a round trip. Everything is remembered between launches
    in the app's settings file, saved on every change.
    """

    train_requested = Signal()
    cancel_requested = Signal()
    #: Any setting changed (the window size moves the Prices tab's validation shading).
    settings_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base_spec = FeatureSpec()
        self._base_cfg = TrainConfig()
        self._columns: list[str] | None = None
        self._has_data = False
        self._restoring = False
        self._build()
        self._apply(self._base_spec, self._base_cfg)
        self._restore()
        self._update_buttons()

    # ------------------------------------------------------------------- layout
    def _build(self) -> None:
        self.model_combo = QComboBox()
        for key, label in MODEL_KINDS.items():
            self.model_combo.addItem(label, key)
        self.window_spin = self._spin(2, 2000, "window")
        self.feature_boxes: dict[str, QCheckBox] = {}
        features = QGroupBox("Input features")
        fl = QVBoxLayout(features)
        self._usable: dict[str, bool] = {}
        for name, text in FEATURES.items():
            box = QCheckBox(feature_label(name))
            box.setToolTip(with_id(text, name))
            self._usable[name] = True
            box.toggled.connect(self._changed)
            self.feature_boxes[name] = box
            fl.addWidget(box)
        self.target_combo = QComboBox()
        for i, (name, text) in enumerate(TARGETS.items()):
            self.target_combo.addItem(TARGET_LABELS.get(name, name), name)
            self.target_combo.setItemData(i, with_id(text, name), Qt.ItemDataRole.ToolTipRole)
        self.target_combo.setToolTip(
            "What the network forecasts:\n"
            + "\n".join(f"{TARGET_LABELS.get(k, k)} ({k}): {v}" for k, v in TARGETS.items())
        )
        self.head_combo = QComboBox()
        for i, (name, text) in enumerate(HEADS.items()):
            self.head_combo.addItem(HEAD_LABELS.get(name, name), name)
            self.head_combo.setItemData(i, with_id(text, name), Qt.ItemDataRole.ToolTipRole)
        self.head_combo.setToolTip(
            HEAD_TIP + "\n".join(f"{HEAD_LABELS.get(k, k)} ({k}): {v}" for k, v in HEADS.items())
        )
        self.head_combo.currentIndexChanged.connect(self._changed)
        self.calibration_combo = CalibrationChoice()  # --calibrate, for a distribution head
        self.calibration_combo.follow(self.head_combo)
        self.hidden_spin = self._spin(1, 4096, "hidden")
        self.layers_spin = self._spin(1, 8, "layers")
        self.dropout_spin = QDoubleSpinBox()
        self.dropout_spin.setRange(0.0, 0.9)
        self.dropout_spin.setSingleStep(0.05)
        self.dropout_spin.setDecimals(2)
        self.epochs_spin = self._spin(1, 10000, "epochs")
        self.batch_spin = self._spin(1, 65536, "batch")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(0.00001, 1.0)
        self.lr_spin.setSingleStep(0.0001)
        self.patience_spin = self._spin(0, 10000, "patience")
        self.seed_spin = self._spin(0, 2**31 - 1, "seed")
        self.device_combo = QComboBox()
        self._wanted_device = "auto"  # a remembered device not listed until the devices are known
        for name in ["auto", *FIRST_DEVICES]:
            self.device_combo.addItem(name, name)
        for widget, tip in (
            (self.model_combo, "model"),
            (self.dropout_spin, "dropout"),
            (self.lr_spin, "lr"),
            (self.device_combo, "device"),
        ):
            widget.setToolTip(TIPS[tip])
        for combo in (self.model_combo, self.target_combo, self.device_combo):
            combo.currentIndexChanged.connect(self._changed)
        for dspin in (self.dropout_spin, self.lr_spin):
            dspin.valueChanged.connect(self._changed)

        self.settings_box = QWidget()
        form = QFormLayout(self.settings_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Model", self.model_combo)
        form.addRow("Window (bars)", self.window_spin)
        form.addRow(features)
        form.addRow("Target", self.target_combo)
        form.addRow("Output", self.head_combo)
        form.addRow("Bands", self.calibration_combo)
        form.addRow("Hidden size", self.hidden_spin)
        form.addRow("Layers", self.layers_spin)
        form.addRow("Dropout", self.dropout_spin)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Patience", self.patience_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Device", self.device_combo)
        self.all_cores_box = QCheckBox("Use all cores (faster, less smooth)")
        self.all_cores_box.setToolTip(
            "Off: training leaves one CPU core to the window, which stays smooth while it works.\n"
            "On: training uses every core; faster on the CPU, but the window may stutter."
        )
        form.addRow(self.all_cores_box)

        self.controls = RunControls(
            "Train",
            TRAIN_TIP,
            "Stop after the current batch and keep the best weights.",
        )
        self.controls.run_clicked.connect(self.train_requested)
        self.controls.cancel_clicked.connect(self.cancel_requested)
        # The names the controllers, tests and scripts use.
        self.train_button = self.controls.run_button
        self.cancel_button = self.controls.cancel_button
        self.progress_bar = self.controls.progress_bar
        self.status_label = self.controls.status_label
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.locked_label = QLabel(LOCKED_NOTE)
        self.locked_label.setWordWrap(True)
        self.locked_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.settings_box)
        layout.addWidget(self.locked_label)
        layout.addWidget(self.controls)
        layout.addWidget(self.result_label)
        layout.addStretch(1)

    def _spin(self, low: int, high: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setToolTip(TIPS[tip])
        spin.valueChanged.connect(self._changed)
        return spin

    # ------------------------------------------------------------------ values
    def spec(self) -> FeatureSpec:
        """The feature spec shown; only checked features the current data supports count.

        ``adjusted`` is not this panel's to say: adjusted or raw prices are the window's data
        choice, which the controllers put into the spec when a job starts (the panel reading it
        once would let the model drift from what the chart shows). Here it is left at
        :class:`FeatureSpec`'s default.

        Raises :class:`DataError` (one sentence) when no usable feature is checked.
        """
        feats = tuple(
            name
            for name, box in self.feature_boxes.items()
            if box.isChecked() and self._usable[name]
        )
        return FeatureSpec(
            window=self.window_spin.value(),
            features=feats,
            target=str(self.target_combo.currentData()),
        )

    def use_all_cores(self) -> bool:
        """Whether a job started from the window may use every CPU core."""
        return self.all_cores_box.isChecked()

    def config(self) -> TrainConfig:
        """The training configuration shown (hidden settings kept from the last set_values)."""
        return dataclasses.replace(
            self._base_cfg,
            model=str(self.model_combo.currentData()),
            hidden=self.hidden_spin.value(),
            layers=self.layers_spin.value(),
            dropout=float(self.dropout_spin.value()),
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            lr=float(self.lr_spin.value()),
            patience=self.patience_spin.value(),
            seed=self.seed_spin.value(),
            device=str(self.device_combo.currentData()),
            head=str(self.head_combo.currentData()),
        )

    def calibration(self) -> str:  # how a backtest calibrates the bands: "aci" or "none"
        return self.calibration_combo.method()

    def set_values(self, spec: FeatureSpec, cfg: TrainConfig) -> None:
        """Show ``spec`` and ``cfg`` (e.g. those of an opened model) and remember them."""
        self._apply(spec, cfg)
        self._changed()

    def _apply(self, spec: FeatureSpec, cfg: TrainConfig) -> None:
        self._base_spec = spec
        self._base_cfg = cfg
        self._restoring = True
        try:
            _select(self.model_combo, cfg.model)
            self.window_spin.setValue(spec.window)
            for name, box in self.feature_boxes.items():
                box.setChecked(name in spec.features)
            _select(self.target_combo, spec.target)
            if not _select(self.head_combo, cfg.head):
                _select(self.head_combo, "point")
            self.hidden_spin.setValue(cfg.hidden)
            self.layers_spin.setValue(cfg.layers)
            self.dropout_spin.setValue(cfg.dropout)
            self.epochs_spin.setValue(cfg.epochs)
            self.batch_spin.setValue(cfg.batch_size)
            self.lr_spin.setValue(cfg.lr)
            self.patience_spin.setValue(cfg.patience)
            self.seed_spin.setValue(cfg.seed)
            self._wanted_device = cfg.device
            if not _select(self.device_combo, cfg.device):
                _select(self.device_combo, "auto")
        finally:
            self._restoring = False

    def set_devices(self, names: Iterable[str]) -> None:
        """List the devices this machine has (known once the model code has loaded, after the
        window shows), keeping the choice shown, or the remembered one when it is among them."""
        wanted = str(self.device_combo.currentData())
        if wanted == "auto":
            wanted = self._wanted_device
        self._restoring = True
        try:
            self.device_combo.clear()
            for name in ["auto", *names]:
                self.device_combo.addItem(name, name)
            if not _select(self.device_combo, wanted):
                _select(self.device_combo, "auto")
        finally:
            self._restoring = False

    def set_columns(self, columns: Iterable[str] | None) -> None:
        """Grey out the features the current series cannot provide (``None``: no series)."""
        self._columns = None if columns is None else list(columns)
        self._has_data = columns is not None
        for name, box in self.feature_boxes.items():
            usable = _feature_usable(name, self._columns)
            self._usable[name] = usable
            box.setEnabled(usable)
            tip = FEATURES[name]
            tip = tip if usable else f"{tip}; this series lacks the column it needs"
            box.setToolTip(with_id(tip, name))
        self._update_buttons()

    # ---------------------------------------------------------------- progress
    def set_busy(self, busy: bool) -> None:
        """Switch between idle (Train enabled, settings editable) and training (Cancel enabled,
        settings locked so that what is shown is what is being trained)."""
        self.controls.set_running(busy)
        self.settings_box.setEnabled(not busy)
        self.locked_label.setVisible(busy)
        if busy:
            self.result_label.setText("")
        else:
            self.progress_bar.setFormat("idle" if self.progress_bar.value() == 0 else "done")

    def show_progress(self, p: TrainProgress) -> None:
        """Move the bar to ``p`` and show epoch, ETA, device and speed."""
        done = p.epoch - 1 + (p.batch / p.batches if p.kind == "batch" and p.batches else 1.0)
        what = "catch-up" if p.phase == "catch-up" else "epoch"  # learning the validation slice
        self.controls.set_progress(
            done / max(p.epochs, 1), f"{what} {p.epoch}/{p.epochs} · ETA {clock_text(p.eta_s)}"
        )
        speed = f"{p.samples_per_s:,.0f} samples/s" if p.samples_per_s else "measuring speed…"
        self.controls.set_status(f"{p.device} · {speed}")

    def show_result(self, message: str) -> None:
        """Show how the last run ended (a sentence from the trainer or an error)."""
        self.result_label.setText(message)

    # --------------------------------------------------------------- internals
    def _update_buttons(self) -> None:
        try:
            self.spec()
            valid, why = True, ""
        except DataError as exc:
            valid, why = False, str(exc)
        if not self._has_data:
            why = "Load a price series first."
        self.controls.set_ready(self._has_data and valid, why)

    def _changed(self, *_: object) -> None:
        if self._restoring:
            return
        self._update_buttons()
        self._save()
        self.settings_changed.emit()

    def _state(self) -> dict:
        cfg = self.config().to_dict()
        checked = [n for n, box in self.feature_boxes.items() if box.isChecked()]
        return {
            "spec": {
                "window": self.window_spin.value(),
                "features": checked,
                "target": str(self.target_combo.currentData()),
            },
            "config": cfg,
        }

    def _save(self) -> None:
        settings = app_settings()
        settings.setValue(SETTINGS_KEY, json.dumps(self._state()))
        settings.sync()

    def _restore(self) -> None:
        raw = app_settings().value(SETTINGS_KEY, "")
        if not isinstance(raw, str) or not raw:
            return
        try:
            state = json.loads(raw)
            cfg = TrainConfig.from_dict({**self._base_cfg.to_dict(), **state["config"]})
            checked = [f for f in state["spec"]["features"] if f in FEATURES]
            window = int(state["spec"]["window"])
            target = str(state["spec"]["target"])
            spec = FeatureSpec(
                window=window,
                features=tuple(checked) or self._base_spec.features,
                target=target,
            )
        except (ValueError, KeyError, TypeError, DataError, AttributeError):
            return  # unreadable or from an older version: keep the defaults
        self._apply(spec, cfg)


def _select(combo: QComboBox, data: str) -> bool:
    index = combo.findData(data)
    if index < 0:
        return False
    combo.setCurrentIndex(index)
    return True

"""The backtest settings panel: test span, refits and trading rule, with Run/Cancel, progress
and the loss of the fit in progress.

The settings are remembered between launches (saved on every usable change); the run itself
belongs to :class:`~stockapp.gui.backtest.adapter.BacktestController`.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.trading import MODES, TradingRule
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import StockappError
from stockapp.gui.settings import app_settings
from stockapp.gui.widgets.loss_chart import LossChart
from stockapp.gui.widgets.run_controls import RunControls

SETTINGS_KEY = "backtest/panel"
#: What Run backtest does, said before it is pressed (tooltip and the line above the button).
FRESH_PLAN = (
    "Run backtest trains a fresh model (the Model page's settings) on the bars before the test "
    "span, then forecasts every test bar."
)
TRAINED_PLAN = (
    "Run backtest forecasts the test span with the model just trained, without training it "
    "again (refits fine-tune a copy of it)."
)
NO_TRAINED_MODEL = (
    "Train a model first (Model page); its training must end just before the test span."
)
_TIPS = {
    "span": "Which bars are forecast: the last share of the series, or every bar from a date. "
    "The model is trained only on the bars before them.",
    "refit": "Refit the model before every this many test bars, on targets up to and including "
    "the bar before them (0 = train once, on every bar before the test span).",
    "mode": "expanding: each refit draws on every earlier bar; rolling: only on the most recent "
    "bars (the rolling length). Each refit epoch trains on the windows of the newest "
    f"{BacktestSettings().refit_bars} bars plus an equal-size random sample of the older ones. "
    "Applies only with refits.",
    "rolling": "How many of the most recent bars a rolling refit draws on (only with refits).",
    "epochs": "Epochs of each refit, continuing from the previous weights: exactly this many, "
    "with no early stopping and no validation slice cut from the newest bars.",
    "rule": "\n".join(f"{k.replace('_', '/')}: {v}" for k, v in MODES.items()),
    "threshold": "Trade only when the forecast return is larger than this (in percent).",
    "cost": "Cost of every change of position, in basis points (1 bp = 0.01%).",
}


class BacktestPanel(QWidget):
    """Backtest settings with Run/Cancel and progress; remembered between launches."""

    run_requested = Signal()
    cancel_requested = Signal()
    #: Any setting changed (the test span decides which trained model may be used).
    settings_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._restoring = False
        self._has_data = False
        self.span_combo = QComboBox()
        self.span_combo.addItem("last share of bars", "fraction")
        self.span_combo.addItem("from a date", "date")
        self.fraction_spin = QDoubleSpinBox()
        self.fraction_spin.setRange(1.0, 95.0)
        self.fraction_spin.setDecimals(1)
        self.fraction_spin.setSuffix(" %")
        self.start_edit = QDateEdit()
        self.start_edit.setCalendarPopup(True)
        self.start_edit.setDisplayFormat("yyyy-MM-dd")
        self.refit_spin = QSpinBox()
        self.refit_spin.setRange(0, 1_000_000)
        self.refit_spin.setSpecialValueText("never (train once)")
        self.refit_spin.setSuffix(" bars")
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(["expanding", "rolling"])
        self.rolling_spin = QSpinBox()
        self.rolling_spin.setRange(100, 1_000_000)
        self.rolling_spin.setSuffix(" bars")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10_000)
        self.rule_combo = QComboBox()
        self.rule_combo.addItem("long / flat", "long_flat")
        self.rule_combo.addItem("long / short", "long_short")
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 20.0)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setSuffix(" %")
        self.cost_spin = QDoubleSpinBox()
        self.cost_spin.setRange(0.0, 1000.0)
        self.cost_spin.setDecimals(1)
        self.cost_spin.setSuffix(" bps")
        for widget, tip in (
            (self.span_combo, "span"),
            (self.fraction_spin, "span"),
            (self.start_edit, "span"),
            (self.refit_spin, "refit"),
            (self.mode_combo, "mode"),
            (self.rolling_spin, "rolling"),
            (self.epochs_spin, "epochs"),
            (self.rule_combo, "rule"),
            (self.threshold_spin, "threshold"),
            (self.cost_spin, "cost"),
        ):
            widget.setToolTip(_TIPS[tip])
        for combo in (self.span_combo, self.mode_combo, self.rule_combo):
            combo.currentIndexChanged.connect(self._changed)
        for spin in (
            self.fraction_spin,
            self.refit_spin,
            self.rolling_spin,
            self.epochs_spin,
            self.threshold_spin,
            self.cost_spin,
        ):
            spin.valueChanged.connect(self._changed)
        self.start_edit.dateChanged.connect(self._changed)

        form = QFormLayout()
        form.addRow("Test span", self.span_combo)
        form.addRow("Test share", self.fraction_spin)
        form.addRow("Test from", self.start_edit)
        form.addRow("Refit every", self.refit_spin)
        form.addRow("Refit on", self.mode_combo)
        form.addRow("Rolling length", self.rolling_spin)
        form.addRow("Refit epochs", self.epochs_spin)
        form.addRow("Trading rule", self.rule_combo)
        form.addRow("Threshold", self.threshold_spin)
        form.addRow("Cost", self.cost_spin)

        self.use_trained_check = QCheckBox("Use the model just trained")
        self.use_trained_check.setEnabled(False)
        self.use_trained_check.setToolTip(NO_TRAINED_MODEL)
        self.use_trained_check.toggled.connect(self._update_plan)
        self.plan_label = QLabel(FRESH_PLAN)
        self.plan_label.setObjectName("hint")
        self.plan_label.setWordWrap(True)
        self.controls = RunControls(
            "Run backtest", FRESH_PLAN, "Stop at the next batch; nothing is kept.", status_lines=3
        )
        self.controls.run_clicked.connect(self.run_requested)
        self.controls.cancel_clicked.connect(self.cancel_requested)
        # The names the controller, tests and scripts use.
        self.run_button = self.controls.run_button
        self.cancel_button = self.controls.cancel_button
        self.progress_bar = self.controls.progress_bar
        self.status_label = self.controls.status_label
        self.loss_chart = LossChart()
        self.loss_chart.setMinimumHeight(140)
        # Its spare height only: a chart full of points must not squeeze the status sentence.
        self.loss_chart.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.loss_chart.setToolTip("Loss of the first fit (refits only fine-tune it).")
        self.loss_chart.set_empty_text("The first fit's loss appears here while a backtest runs.")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.use_trained_check)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.controls)
        layout.addWidget(self.loss_chart, 1)
        self._apply(BacktestSettings())
        self._restore()
        self._update_enabled()

    # ------------------------------------------------------------------ values
    def settings(self) -> BacktestSettings:
        """The settings shown; raises a one-sentence error for an unusable combination."""
        by_date = self.span_combo.currentData() == "date"
        return BacktestSettings(
            test_fraction=self.fraction_spin.value() / 100.0,
            test_start=self.start_edit.date().toString("yyyy-MM-dd") if by_date else None,
            refit_every=self.refit_spin.value(),
            refit_mode=self.mode_combo.currentText(),
            rolling_bars=self.rolling_spin.value(),
            refit_epochs=self.epochs_spin.value(),
            rule=TradingRule(
                mode=str(self.rule_combo.currentData()),
                threshold=self.threshold_spin.value() / 100.0,
                cost_bps=self.cost_spin.value(),
            ),
        )

    def set_settings(self, s: BacktestSettings) -> None:
        """Show ``s`` and remember it for the next launch."""
        self._apply(s)
        self._save()
        self.settings_changed.emit()

    def _apply(self, s: BacktestSettings) -> None:
        self._restoring = True
        try:
            self.span_combo.setCurrentIndex(1 if s.test_start else 0)
            self.fraction_spin.setValue(s.test_fraction * 100.0)
            start = QDate.fromString(s.test_start or "2015-01-02", "yyyy-MM-dd")
            self.start_edit.setDate(start if start.isValid() else QDate(2015, 1, 2))
            self.refit_spin.setValue(s.refit_every)
            self.mode_combo.setCurrentText(s.refit_mode)
            self.rolling_spin.setValue(s.rolling_bars)
            self.epochs_spin.setValue(s.refit_epochs)
            self.rule_combo.setCurrentIndex(max(self.rule_combo.findData(s.rule.mode), 0))
            self.threshold_spin.setValue(s.rule.threshold * 100.0)
            self.cost_spin.setValue(s.rule.cost_bps)
        finally:
            self._restoring = False
        self._update_enabled()

    def show_test_start(self, start: object | None) -> None:
        """With "last share of bars", let the greyed Test from show where that share starts
        (a ``pd.Timestamp``; ``None`` leaves it), so it never shows a date the test span does
        not start on."""
        if start is None or self.span_combo.currentData() == "date":
            return
        self._restoring = True  # showing, not choosing: nothing to save or announce
        try:
            self.start_edit.setDate(QDate(start.year, start.month, start.day))
        finally:
            self._restoring = False

    @property
    def use_trained(self) -> bool:
        """Whether the backtest should forecast with the model just trained."""
        return self.use_trained_check.isEnabled() and self.use_trained_check.isChecked()

    def set_trained_option(self, span: str | None, why: str = NO_TRAINED_MODEL) -> None:
        """Offer the model just trained (``span``: "2004-08-19 to 2006-03-20"), or say ``why``
        it cannot be used for the test span shown (the box is then unticked and disabled)."""
        box = self.use_trained_check
        if span is None:
            box.setText("Use the model just trained")
            box.setToolTip(why)
            box.setChecked(False)
            box.setEnabled(False)
        else:
            box.setText(f"Use the model just trained\n(trained on {span})")
            box.setToolTip(
                "Forecast with the model the Model page trained (no new training); its "
                "training ended on the bar just before the test span."
            )
            box.setEnabled(True)
        self._update_plan()

    def _update_plan(self, *_: object) -> None:
        plan = TRAINED_PLAN if self.use_trained else FRESH_PLAN
        self.plan_label.setText(plan)
        self.controls.set_run_tip(plan)

    # ---------------------------------------------------------------- state
    def set_has_data(self, has_data: bool) -> None:
        self._has_data = has_data
        self._update_enabled()

    def set_busy(self, busy: bool) -> None:
        """Switch between idle (Run enabled) and running (Cancel enabled)."""
        self.controls.set_running(busy)
        if busy:
            self.loss_chart.clear()

    def show_progress(self, fraction: float, text: str) -> None:
        """Move the bar to ``fraction`` (0..1) of the whole backtest, labelled ``text``."""
        self.controls.set_progress(fraction, text)

    def show_status(self, message: str) -> None:
        """One sentence under the progress bar: what is happening or how it ended."""
        self.controls.set_status(message)

    def _update_enabled(self) -> None:
        by_date = self.span_combo.currentData() == "date"
        self.fraction_spin.setEnabled(not by_date)
        self.start_edit.setEnabled(by_date)
        refits = self.refit_spin.value() > 0
        self.mode_combo.setEnabled(refits)
        self.rolling_spin.setEnabled(refits and self.mode_combo.currentText() == "rolling")
        self.epochs_spin.setEnabled(refits)
        self.controls.set_ready(self._has_data, "Load a price series first.")

    def _changed(self, *_: object) -> None:
        self._update_enabled()
        if not self._restoring:
            self._save()
            self.settings_changed.emit()

    def _save(self) -> None:
        try:
            state = self.settings().to_dict()
        except StockappError:
            return  # an unusable combination is not worth remembering
        settings = app_settings()
        settings.setValue(SETTINGS_KEY, json.dumps(state))
        settings.sync()

    def _restore(self) -> None:
        raw = app_settings().value(SETTINGS_KEY, "")
        if not isinstance(raw, str) or not raw:
            return
        try:
            restored = BacktestSettings.from_dict(json.loads(raw))
        except (ValueError, TypeError, KeyError, StockappError):
            return  # unreadable or from another version: keep the defaults
        self._apply(restored)

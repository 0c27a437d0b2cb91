"""The Model page's choice of how a distribution head's bands are calibrated (``--calibrate``).

``aci`` (the default, as on the command line) calibrates every forecaster's distribution online
from past outcomes only; ``none`` keeps their own. The box is enabled only for a distribution
head (a point forecast has no bands) and remembers the last choice.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from stockapp.core.calibration import METHODS
from stockapp.gui.settings import app_settings, read_str

SETTINGS_KEY = "bands/calibration"
LABELS = {"aci": "calibrated online (aci)", "none": "the head's own (none)"}
POINT_TIP = "A point forecast has no bands to calibrate; choose Gaussian or Student-t."


class CalibrationChoice(QComboBox):
    """``aci`` or ``none``; :meth:`follow_head` enables it for a distribution head only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for name in METHODS:
            self.addItem(LABELS.get(name, name), name)
        self._tip = "How the backtest's bands are calibrated (--calibrate):\n" + "\n".join(
            f"{name}: {text}" for name, text in METHODS.items()
        )
        wanted = read_str(app_settings(), SETTINGS_KEY, "aci")
        self.setCurrentIndex(max(self.findData(wanted), 0))
        self.currentIndexChanged.connect(self._save)
        self.follow_head("point")

    def method(self) -> str:
        """The calibration a backtest uses: ``"aci"`` or ``"none"``."""
        return str(self.currentData())

    def set_method(self, method: str) -> None:
        index = self.findData(method)
        if index < 0:
            raise ValueError(f"unknown calibration {method!r}; expected one of {list(METHODS)}")
        self.setCurrentIndex(index)

    def follow_head(self, head: str) -> None:
        """Enabled for a distribution head, greyed (with the reason) for a point forecast."""
        banded = head != "point"
        self.setEnabled(banded)
        self.setToolTip(self._tip if banded else POINT_TIP)

    def follow(self, head_combo) -> None:
        """Follow a head choice (a combo box whose data is the head) from now on."""
        head_combo.currentIndexChanged.connect(
            lambda _i: self.follow_head(str(head_combo.currentData()))
        )

    def _save(self, *_: object) -> None:
        settings = app_settings()
        settings.setValue(SETTINGS_KEY, self.method())
        settings.sync()

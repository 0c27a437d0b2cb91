"""Run and Cancel buttons over a progress bar and a status line: the foot of a panel that
starts long work (training a model, running a backtest).

The widget knows only whether a run may start and whether one is running; what a run is, and
why it may not start, is the owning panel's business.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

#: Resolution of the progress bar: fractions are shown to a thousandth.
PROGRESS_STEPS = 1000


class RunControls(QWidget):
    """Run/Cancel buttons, a labelled progress bar and a one-sentence status line.

    Parameters
    ----------
    run_text
        The run button's text ("Train", "Run backtest").
    run_tip
        The run button's tooltip while a run may start.
    cancel_tip
        The cancel button's tooltip: what cancelling keeps.
    status_lines
        Lines of height kept for the status sentence, so that a long one is not squeezed by a
        growing neighbour (a word-wrapped label's height is not always asked for) and the
        panel does not jump as the sentence changes.

    Signals
    -------
    run_clicked, cancel_clicked
        the buttons were pressed.
    """

    run_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(
        self,
        run_text: str,
        run_tip: str,
        cancel_tip: str,
        status_lines: int = 1,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._run_tip = run_tip
        self._ready = False
        self._why = ""
        self._running = False
        self._blocked = ""
        self.run_button = QPushButton(run_text)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(cancel_tip)
        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("idle")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        metrics = self.status_label.fontMetrics()
        self.status_label.setMinimumHeight(status_lines * metrics.lineSpacing() + 2)

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        self._update_buttons()

    @property
    def running(self) -> bool:
        return self._running

    def set_ready(self, ready: bool, why: str = "") -> None:
        """Whether a run may start; when not, ``why`` becomes the run button's tooltip."""
        self._ready = ready
        self._why = why
        self._update_buttons()

    def set_run_tip(self, tip: str) -> None:
        """The run button's tooltip while a run may start: what a run will do."""
        self._run_tip = tip
        self._update_buttons()

    @property
    def blocked(self) -> str:
        """Why a run may not start while other work runs ("" when nothing blocks it)."""
        return self._blocked

    def set_blocked(self, why: str) -> None:
        """Disable Run while other work runs, with ``why`` as its tooltip; ``""`` lifts it."""
        self._blocked = why
        self._update_buttons()

    def set_running(self, running: bool) -> None:
        """Switch between idle (Run enabled when ready) and running (Cancel enabled).

        Starting a run empties the bar and the status line.
        """
        self._running = running
        if running:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("starting…")
            self.status_label.setText("")
        self._update_buttons()

    def set_progress(self, fraction: float, text: str) -> None:
        """Move the bar to ``fraction`` (clipped to 0..1) of the run, labelled ``text``."""
        self.progress_bar.setValue(int(round(min(max(fraction, 0.0), 1.0) * PROGRESS_STEPS)))
        self.progress_bar.setFormat(text)

    def set_status(self, message: str) -> None:
        """One sentence under the bar: what is happening or how the run ended."""
        self.status_label.setText(message)

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(self._ready and not self._running and not self._blocked)
        if self._blocked and not self._running:
            tip = self._blocked
        elif self._why and not self._ready:
            tip = self._why
        else:
            tip = self._run_tip
        self.run_button.setToolTip(tip)
        self.cancel_button.setEnabled(self._running)

"""The Forward page's adapter: which run it shows, and its two jobs in the background.

:class:`ForwardController` puts the :class:`~stockapp.gui.forward.view.ForwardView` in the window
as the "Forward" tab and shows the forward record of a saved run: the run opened from disk, or
the one chosen in the Runs list with "Forward record". "Forecast now" runs ``stockapp forward``
for that run (:func:`~stockapp.session.forward_page.forward_job`) through the window's one job
slot (kind ``"forward"``), so Train, Run backtest and the experiments wait for it and it waits
for them; "Verify" runs ``stockapp forward --verify``
(:func:`~stockapp.session.forward_page.verify_job`), which writes nothing and takes no slot.
Either ends in one sentence beside the buttons; nothing here computes a number itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from stockapp.errors import StockappError
from stockapp.gui.forward.view import EMPTY, FORECAST_TIP, TAB_TITLE, ForwardView
from stockapp.gui.widgets.workers import GeneratorWorker

__all__ = ["EMPTY", "TAB_TITLE", "ForwardController", "ForwardView"]

KIND = "forward"


class ForwardController(QObject):
    """Feeds the Forward tab and runs its jobs."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = ForwardView()
        self.folder: Path | None = None
        self.record: Any = None
        self._window: Any = None
        self._slot: Any = None
        self._forecast_worker: GeneratorWorker | None = None
        self._verify_worker: GeneratorWorker | None = None
        self.view.forecast_requested.connect(self.forecast_now)
        self.view.verify_requested.connect(self.verify)
        self._update_buttons()

    def attach(self, window: Any, backtest_controller: Any = None) -> None:
        """Add the tab to ``window``; follow runs opened from disk and the Runs list's
        "Forward record" (both from ``backtest_controller``)."""
        self._window = window
        if self.parent() is None:
            self.setParent(window)
        self._slot = window.session.slot
        window.add_tab(self.view, TAB_TITLE)
        # a scheduled `stockapp forward` may have written since: read again when shown
        window.tabs.currentChanged.connect(self._tab_shown)
        self._slot.changed.connect(lambda _holder: self._update_buttons())
        if backtest_controller is not None:
            backtest_controller.run_opened.connect(self.show_run)
            backtest_controller.forward_requested.connect(self.open_page)
        self._update_buttons()

    # ------------------------------------------------------------------ showing a run
    def open_page(self, folder: Any) -> None:
        """Show ``folder``'s forward record and bring the tab to the front."""
        self.show_run(folder)
        tabs = getattr(self._window, "tabs", None)
        if tabs is not None and tabs.indexOf(self.view) >= 0:
            tabs.setCurrentWidget(self.view)

    def show_run(self, folder: Any) -> None:
        """Show the forward record of the run in ``folder`` (read, not forecast)."""
        if self.is_forecasting() and self.folder is not None and Path(folder) != self.folder:
            self.view.say(f"Forecasting for {self.folder.name}; its record shows when it is done.")
            return
        self.folder = Path(folder)
        self.view.say("")
        self.refresh()
        self._update_buttons()

    def refresh(self) -> None:
        """Read the shown run's record again (the ledger may have grown outside the window)."""
        from stockapp.session.forward_page import read_record

        if self.folder is None or self.is_forecasting():
            return
        try:
            self.record = read_record(self.folder)
        except StockappError as exc:
            self.record = None
            self.view.clear(str(exc))
        else:
            self.view.show_record(self.record)

    def _tab_shown(self, index: int) -> None:
        tabs = getattr(self._window, "tabs", None)
        if tabs is not None and tabs.widget(index) is self.view:
            self.refresh()

    # ------------------------------------------------------------------ jobs
    def forecast_now(self) -> GeneratorWorker | None:
        """Run ``stockapp forward`` for the run shown, in the background, holding the slot."""
        from stockapp.session.forward_page import forward_job

        if self.folder is None or self.is_busy():
            return None
        why = self._slot.why_not(KIND) if self._slot is not None else ""
        if why:
            self.view.say(why)
            return None
        folder = self.folder
        worker = GeneratorWorker(forward_job(folder), self)
        worker.finished.connect(lambda report: self._forecast_finished(report, folder))
        worker.failed.connect(self._failed)
        worker.done.connect(self._forecast_done)
        self._forecast_worker = worker
        if self._slot is not None:
            self._slot.take(KIND)
        self.view.set_busy(True, f"Forecasting the next bar for {folder.name}…")
        worker.start()
        if self._window is not None:
            self._window.register_worker(worker, f"Recording forward forecasts for {folder.name}…")
        return worker

    def verify(self) -> GeneratorWorker | None:
        """Run ``stockapp forward --verify`` for the run shown, in the background."""
        from stockapp.session.forward_page import verify_job

        if self.folder is None or self.is_busy():
            return None
        worker = GeneratorWorker(verify_job(self.folder), self)
        worker.finished.connect(self.view.say)
        worker.failed.connect(self._failed)
        worker.done.connect(self._update_buttons)
        self._verify_worker = worker
        self.view.set_busy(True, f"Verifying the ledger of {self.folder.name}…")
        worker.start()
        if self._window is not None:
            self._window.register_worker(worker, f"Verifying the ledger of {self.folder.name}…")
        return worker

    def is_forecasting(self) -> bool:
        return self._forecast_worker is not None and self._forecast_worker.is_running()

    def is_busy(self) -> bool:
        verifying = self._verify_worker is not None and self._verify_worker.is_running()
        return self.is_forecasting() or verifying

    def _forecast_finished(self, report: Any, folder: Path) -> None:
        from stockapp.session.forward_page import record_from_report

        if report is None:
            return
        self.record = record_from_report(report, folder)
        if folder == self.folder:
            self.view.show_record(self.record)
        added, live = len(report.added), len(report.live)
        if added:
            last = report.added[-1]
            self.view.say(
                f"Appended {added} forecast{'s' if added != 1 else ''} ({added - live} "
                f"backfill, {live} forward); next bar {last['target_date']}: "
                f"{last['forecast']:,.4f}."
            )
        else:
            self.view.say("No new bar since the last entry; nothing to forecast.")

    def _forecast_done(self) -> None:
        if self._slot is not None:
            self._slot.release(KIND)
        self._update_buttons()

    def _failed(self, message: str) -> None:
        self.view.say(message)
        if self._window is not None:
            self._window.show_message(message)

    def _update_buttons(self) -> None:
        """Forecast now needs a run and the slot free (its tooltip says why not); Verify a
        run; neither while one of them runs."""
        busy = self.is_busy()
        blocked = self._slot.blocked_for(KIND) if self._slot is not None else ""
        self.view.forecast_button.setEnabled(self.folder is not None and not busy and not blocked)
        self.view.verify_button.setEnabled(self.folder is not None and not busy)
        self.view.forecast_button.setToolTip(blocked or FORECAST_TIP)

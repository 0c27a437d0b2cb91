"""The main window's menus, status bar and messages (a mixin of
:class:`~stockapp.gui.main_window.MainWindow`, which owns the data panel, the chart and the
tabs these act on).

The File, View, Run and Help menus; the status bar with the latest message (an error in red),
what is busy, and the data's source, rows and quality warnings; the Help pages.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QWidget

from stockapp.data.series import PriceSeries
from stockapp.gui.help import HOW_TO_READ, TextPage, about_text, shortcut_lines
from stockapp.gui.widgets.zoom import reset_zoom_in


class WindowChrome:
    """Menus, status bar, messages and help pages of the main window."""

    def show_error(self, message: str) -> None:
        """Tell the user what went wrong, in one sentence: status bar and a message box.

        The box is window-modal but opened without blocking (``open()``, not ``exec()``); with
        :attr:`quiet` it is skipped. The sentence stays readable in :attr:`last_error`.
        """
        self.last_error = message
        self.message_label.setProperty("error", True)
        self.message_label.setText(message)
        self.message_label.setToolTip(message)
        self._restyle(self.message_label)
        if self.quiet:
            return
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "stockapp", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _: setattr(self, "_error_box", None))
        self._error_box = box
        box.open()

    def show_message(self, message: str) -> None:
        """A neutral note in the status bar (replaces an earlier error there)."""
        self.message_label.setProperty("error", False)
        self.message_label.setText(message)
        self.message_label.setToolTip(message)
        self._restyle(self.message_label)

    # ------------------------------------------------------------------ building

    def _build_menus(self) -> None:
        self.file_menu = self.menuBar().addMenu("&File")
        self.open_csv_action = QAction("Open CSV…", self)
        self.open_csv_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_csv_action.triggered.connect(self.data_panel.open_csv_dialog)
        self.file_menu.addAction(self.open_csv_action)
        self._quit_separator = self.file_menu.addSeparator()
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        self.file_menu.addAction(self.quit_action)

        self.view_menu = self.menuBar().addMenu("&View")
        styles = QActionGroup(self)
        self.style_actions: dict[str, QAction] = {}
        for style, label in (("line", "Close line"), ("candles", "Candlesticks")):
            action = QAction(label, self, checkable=True)
            action.triggered.connect(lambda _=False, s=style: self.chart.set_style(s))
            styles.addAction(action)
            self.view_menu.addAction(action)
            self.style_actions[style] = action
        self.chart.style_changed.connect(lambda s: self.style_actions[s].setChecked(True))
        self.style_actions[self.chart.style].setChecked(True)
        self.view_menu.addSeparator()
        reset = QAction("Reset zoom", self)
        reset.setShortcut(QKeySequence("Ctrl+0"))
        reset.triggered.connect(lambda: reset_zoom_in(self.tabs.currentWidget()))  # any tab
        self.view_menu.addAction(reset)

        self.run_menu = self.menuBar().addMenu("&Run")
        self._cancel_separator = self.run_menu.addSeparator()
        self.cancel_action = QAction("Cancel", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setToolTip("Stop the running training, backtest or download.")
        self.cancel_action.triggered.connect(self.cancel_work)
        self.run_menu.addAction(self.cancel_action)

        self.help_menu = self.menuBar().addMenu("&Help")
        guide = QAction("How to read the results", self)
        guide.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        guide.triggered.connect(lambda: self.show_help_page("How to read the results"))
        shortcuts = QAction("Keyboard shortcuts", self)
        shortcuts.triggered.connect(lambda: self.show_help_page("Keyboard shortcuts"))
        about = QAction("About stockapp", self)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self._about)
        for action in (guide, shortcuts):
            self.help_menu.addAction(action)
        self.help_menu.addSeparator()
        self.help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.message_label = QLabel()
        self.message_label.setObjectName("statusMessage")
        self.message_label.setContentsMargins(6, 0, 6, 0)
        self.busy_label = QLabel()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate
        self.busy_bar.setMaximumWidth(140)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.source_label = QLabel()
        self.source_label.setObjectName("sourceLabel")
        self.rows_label = QLabel()
        self.rows_label.setObjectName("rowsLabel")
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("dataWarnings")
        bar.addWidget(self.message_label, 1)
        for label in (self.source_label, self.rows_label, self.warnings_label):
            label.setContentsMargins(10, 0, 6, 0)
        for widget in (
            self.busy_label,
            self.busy_bar,
            self.source_label,
            self.rows_label,
            self.warnings_label,
        ):
            bar.addPermanentWidget(widget)
        self._update_busy()

    # ------------------------------------------------------------------ showing

    def _show_series_status(self, series: PriceSeries) -> None:
        report = series.report
        self.source_label.setText(series.source if len(series.source) < 48 else series.name)
        self.source_label.setToolTip(series.source)
        self.rows_label.setText(
            f"{report.rows:,} rows · {report.first:%Y-%m-%d} to {report.last:%Y-%m-%d}"
        )
        warnings = report.warnings
        if not warnings:
            text = "No data warnings"
        elif len(warnings) == 1:
            text = f"⚠ {warnings[0]}"
        else:
            text = f"⚠ {len(warnings)} data warnings"
        self.warnings_label.setText(text if len(text) < 70 else text[:67] + "…")
        self.warnings_label.setToolTip("\n".join(report.summary_lines()))
        self.warnings_label.setProperty("warn", bool(warnings))
        self._restyle(self.warnings_label)

    def show_help_page(self, title: str) -> TextPage:
        """Show the Help page ``title`` ("How to read the results" or "Keyboard shortcuts")."""
        page = self.help_pages.get(title)
        if page is None:
            if title == "Keyboard shortcuts":
                menus = [self.file_menu, self.view_menu, self.run_menu, self.help_menu]
                text = "Keyboard shortcuts\n\n" + "\n".join(shortcut_lines(menus))
            else:
                text = HOW_TO_READ
            page = TextPage(title, text, self)
            self.help_pages[title] = page
        if page.isVisible():
            page.activateWindow()
        page.show()
        return page

    def _about(self) -> None:
        QMessageBox.about(self, "About stockapp", about_text())

    @staticmethod
    def _restyle(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

"""The backtest scores as tables and sentences: every forecaster, then the trading rule.

The first table compares the model with the three baselines on the same test bars; the second
compares the trading rule driven by the model with buy-and-hold. Above them, the data quality
warnings of the prices the backtest used; below them, the significance results are spelled out in
plain words, because "DM p = 0.41" means little to most readers.

Direction is judged against the market's own up-day share: "Always up %" is the hit rate a
forecaster saying "up" on every bar would score on the same bars, and the Pesaran-Timmermann p
tests whether the calls beat that; the binomial p only tests the hit rate against 50%.

Diebold-Mariano verdicts are signed: the "DM p (better)" cell is the one-sided p that the
forecaster's squared errors are smaller than persistence's, green when that is below 5%
(better), red when the test the other way round is (worse), uncoloured for a tie.

With a distribution head a third table scores the forecast bands of the model and of the volatility
baselines (GARCH(1,1)-t, EWMA, rolling volatility): each level's cell holds the share of
outcomes inside the band over the p-values of Kupiec's, Christoffersen's independence and
conditional-coverage tests (the cell's tooltip says them in words). The trading table gains the
volatility-targeted rule beside the sign rule and buy-and-hold.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.backtest import BacktestResult, forecaster_labels
from stockapp.core.trading import MODES, TradingRule
from stockapp.core.vol_target import CAPS, TARGET_VOL
from stockapp.core.volatility import VOL_LABELS
from stockapp.gui.backtest.score_cells import (  # noqa: F401  (re-exported for callers)
    BAND_COLUMNS,
    BAND_ROWS,
    BAND_SCORES,
    BINOMIAL_COLUMN,
    CRPS_COLUMN,
    DM_COLUMN,
    FORECAST_COLUMNS,
    PT_COLUMN,
    ROW_KEYS,
    TRADING_ROWS,
    UP_COLUMN,
    VOL_TARGET_COLUMN,
    band_cell_items,
    band_cells,
    compact_p,
    describe_rule,
    fmt_number,
    fmt_p,
    fmt_percent,
    forecast_cells,
    trading_cell,
    verdict_tip,
)
from stockapp.gui.widgets.fitted_table import (
    VERDICT_COLOURS,  # noqa: F401  (re-exported for callers)
    RefittingPage,
    fit_height,
    fitted_table,
    flow_rows,
    paint_verdict,
    table_lines,
)


class MetricsTable(QWidget):
    """Scores of one backtest: forecasters, the trading rule, and the verdicts in words.

    The scores scroll inside the widget, so that with a distribution head's extra table a
    short window keeps room for the charts above instead of squeezing them to nothing.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.forecast_table = fitted_table(
            len(ROW_KEYS), list(FORECAST_COLUMNS), list(FORECAST_COLUMNS.values())
        )
        self.trading_table = fitted_table(
            len(TRADING_ROWS), ["Trading\nrule", "Buy and\nhold"], ["", ""]
        )
        # Shown only for a distribution head: the model's and the baselines' bands, scored.
        self.bands_title = QLabel(self)
        self.bands_title.setWordWrap(True)
        self.bands_table = fitted_table(0, list(BAND_COLUMNS), list(BAND_COLUMNS.values()))
        self.title = QLabel(self)
        # Which bars the scores are on when that needs saying (a sweep's run: its test span).
        self.note = QLabel(self)
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.quality = QLabel(self)
        self.quality.setObjectName("dataQuality")
        self.quality.setStyleSheet('QLabel[warn="true"] { color: #b45309; }')
        self.quality.setWordWrap(True)
        self.quality.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # The bands table under its title, as one block that flows with the other tables.
        self.bands_block = QWidget(self)
        block = QVBoxLayout(self.bands_block)
        block.setContentsMargins(0, 0, 0, 0)
        block.addWidget(self.bands_title)
        block.addWidget(self.bands_table, 0, Qt.AlignmentFlag.AlignLeft)
        # The tables flow like words: as many side by side as the width takes, the rest below,
        # so no score is ever off the right edge (:meth:`_arrange`).
        self._rows = [QHBoxLayout() for _ in range(3)]
        self._arranged: list[list[QWidget]] = []
        self.content = RefittingPage(
            (self.forecast_table, self.trading_table, self.bands_table), self._arrange
        )
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addWidget(self.quality)
        for row in self._rows:
            layout.addLayout(row)
        layout.addWidget(self.summary, 1)
        self._row_keys: list[str] = []
        self._band_keys: list[str] = []
        self.clear()

    def clear(self) -> None:
        """Empty tables and a hint on what to do."""
        self._row_keys = []
        for table in (self.forecast_table, self.trading_table):
            table.clearContents()
        self._set_bands(None, "Model")
        self.title.setText("<b>Scores on the test bars</b>")
        self.set_note("")
        self.set_quality([])
        self.summary.setText("No backtest yet.")
        self._show_tables(False)  # no empty grids of numbered rows
        self._fit()

    def _show_tables(self, shown: bool) -> None:
        self.forecast_table.setVisible(shown)
        self.trading_table.setVisible(shown)

    def set_note(self, text: str) -> None:
        """A sentence under the title saying which bars the scores are on ("" hides it)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def set_quality(self, warnings: list[str] | None) -> None:
        """Show the data quality warnings of the prices scored (``None``: not recorded)."""
        self.quality.setProperty("warn", bool(warnings))
        if warnings is None:
            text = "Data quality: not recorded with this run."
        elif not warnings:
            text = "Data quality: no warnings." if self._row_keys else ""
        else:
            text = "⚠ Data quality: " + " ".join(
                w if w.endswith(".") else f"{w}." for w in warnings
            )
        self.quality.setText(text)
        self.quality.setToolTip("\n".join(warnings or []))
        self.quality.setVisible(bool(text))
        self.quality.style().unpolish(self.quality)
        self.quality.style().polish(self.quality)

    def set_result(self, result: BacktestResult, model_name: str) -> None:
        """Fill both tables and the sentences from ``result``."""
        self._show_tables(True)
        labels = forecaster_labels(model_name, result.dates)
        keys = [k for k in ROW_KEYS if k in result.metrics]
        self._row_keys = keys
        table = self.forecast_table
        table.setRowCount(len(keys))
        bold = QFont(self.font())
        bold.setBold(True)
        dm_col = list(FORECAST_COLUMNS).index(DM_COLUMN)
        for row, key in enumerate(keys):
            header = QTableWidgetItem(labels[key])
            table.setVerticalHeaderItem(row, header)
            m = result.metrics[key]
            for col, text in enumerate(forecast_cells(m)):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if key == "model":
                    item.setFont(bold)
                if col == dm_col and key != "persistence":
                    paint_verdict(item, m.verdict)
                    item.setToolTip(
                        verdict_tip(m.verdict, m.dm_better_pvalue, "persistence", "its MSE")
                    )
                table.setItem(row, col, item)
        trading = self.trading_table
        trading.horizontalHeaderItem(0).setToolTip(
            f"{describe_rule(result.rule)}: {MODES[result.rule.mode]}"
        )
        trading.horizontalHeaderItem(1).setToolTip("always long; pays one entry cost")
        for row, (label, field, tip) in enumerate(TRADING_ROWS):
            header = QTableWidgetItem(label)
            header.setToolTip(tip)
            trading.setVerticalHeaderItem(row, header)
            for col, stats in enumerate((result.strategy.stats, result.buy_and_hold.stats)):
                item = QTableWidgetItem(trading_cell(field, stats))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                trading.setItem(row, col, item)
        self.title.setText(
            f"<b>Scores on {result.n:,} test bars</b>, {result.dates[0]:%Y-%m-%d} to "
            f"{result.dates[-1]:%Y-%m-%d}; trading rule {describe_rule(result.rule)}"
        )
        bands = getattr(result, "bands", None)
        self._set_bands(bands, model_name, result.rule)
        sentences = result.sentences(model_name)
        if bands is not None:
            sentences.append(bands.sentence(model_name))
            if bands.vol_sentence():
                sentences.append(bands.vol_sentence())
        self.summary.setText("\n".join(f"• {s}" for s in sentences))
        self._fit()

    def _set_bands(self, bands: object, model_name: str, rule: TradingRule | None = None) -> None:
        """Fill the bands table and the vol-targeted column from a ``BandForecasts``, or hide
        them (``None``: a point forecast)."""
        trading = self.trading_table
        table = self.bands_table
        shown = bands is not None
        self.bands_block.setVisible(shown)
        table.setVisible(shown)
        trading.setColumnCount(3 if shown else 2)
        if not shown:
            self._band_keys = []
            table.setRowCount(0)
            return
        scores = bands.scores
        verdict_col = [kind for _key, kind, _tip in BAND_SCORES.values()].index("verdict")
        keys = [k for k in ("model", *BAND_ROWS) if k in scores]
        self._band_keys = keys
        table.setRowCount(len(keys))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, key in enumerate(keys):
            header = QTableWidgetItem(model_name if key == "model" else BAND_ROWS[key])
            header.setToolTip(VOL_LABELS.get(key, "the model's forecast distribution"))
            table.setVerticalHeaderItem(row, header)
            for col, (text, tip) in enumerate(band_cell_items(scores[key])):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if key == "model":
                    item.setFont(bold)
                if tip:
                    item.setToolTip(tip)
                if col == verdict_col and key != "garch":
                    paint_verdict(item, scores[key].verdict_vs_garch)
                table.setItem(row, col, item)
        n = scores["model"].n
        self.bands_title.setText(
            f"<b>Forecast bands</b> of the next log return on {n:,} bars, against volatility "
            "baselines fitted only on the past; beside the share each band held, the p-values of "
            "Kupiec (K), independence (I) and conditional coverage (CC)"
        )
        head = QTableWidgetItem(VOL_TARGET_COLUMN)
        cap = CAPS.get(rule.mode, 1.0) if rule is not None else 1.0
        realised = bands.strategy_vol.stats.volatility
        head.setToolTip(
            f"the trading rule's position scaled by {TARGET_VOL:.0%} a year / the model's "
            f"forecast volatility, capped at {cap:g}; pays the cost on every change of size. "
            f"Aimed at {TARGET_VOL:.0%} a year, it realised {realised:.1%} (its Volatility row; "
            "the sentence below says why they differ)"
        )
        trading.setHorizontalHeaderItem(2, head)
        for row, (_label, field, _tip) in enumerate(TRADING_ROWS):
            item = QTableWidgetItem(trading_cell(field, bands.strategy_vol.stats))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            trading.setItem(row, 2, item)

    # ------------------------------------------------------------------ reading back (tests)
    def row_keys(self) -> list[str]:
        """Forecaster keys in row order."""
        return list(self._row_keys)

    def row_label(self, key: str) -> str:
        return self.forecast_table.verticalHeaderItem(self._row_keys.index(key)).text()

    def cell_text(self, key: str, column: str) -> str:
        """Text of forecaster ``key`` under ``column`` (a :data:`FORECAST_COLUMNS` name)."""
        item = self.forecast_table.item(
            self._row_keys.index(key), list(FORECAST_COLUMNS).index(column)
        )
        return "" if item is None else item.text()

    def trading_text(self, label: str, strategy: bool = True) -> str:
        """Text of a trading row (e.g. ``"Sharpe"``) for the rule or for buy-and-hold."""
        row = [r[0] for r in TRADING_ROWS].index(label)
        item = self.trading_table.item(row, 0 if strategy else 1)
        return "" if item is None else item.text()

    def band_keys(self) -> list[str]:
        """Band forecaster keys in row order (empty when the result has no bands)."""
        return list(self._band_keys)

    def band_label(self, key: str) -> str:
        return self.bands_table.verticalHeaderItem(self._band_keys.index(key)).text()

    def band_text(self, key: str, column: str) -> str:
        """Text of band forecaster ``key`` under ``column`` (a :data:`BAND_COLUMNS` name)."""
        item = self.bands_table.item(self._band_keys.index(key), list(BAND_COLUMNS).index(column))
        return "" if item is None else item.text()

    def vol_target_text(self, label: str) -> str:
        """Text of a trading row for the volatility-targeted rule ("" without bands)."""
        row = [r[0] for r in TRADING_ROWS].index(label)
        item = self.trading_table.item(row, 2) if self.trading_table.columnCount() > 2 else None
        return "" if item is None else item.text()

    def as_text(self) -> str:
        """Everything shown, as tab-separated lines (for comparisons and the clipboard)."""
        lines = [self.title.text(), self.quality.text()]
        tables = [self.forecast_table, self.trading_table]
        if self._band_keys:
            tables.append(self.bands_table)
        for table in tables:
            lines.extend(table_lines(table))
        lines.append(self.summary.text())
        return "\n".join(lines)

    def sizeHint(self) -> QSize:
        """As big as the scores want (the scroll area alone would ask for less)."""
        return self.content.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 120)

    def _fit(self) -> None:
        for table in (self.forecast_table, self.trading_table, self.bands_table):
            table.resizeColumnsToContents()
            table.resizeRowsToContents()
            table.updateGeometry()
        self._arrange()
        for table in (self.forecast_table, self.trading_table, self.bands_table):
            fit_height(table)

    def table_rows(self) -> list[list[str]]:
        """Which tables stand side by side, row by row (``"forecast"``, ``"trading"``,
        ``"bands"``), as laid out for the present width."""
        names = {
            id(self.forecast_table): "forecast",
            id(self.trading_table): "trading",
            id(self.bands_block): "bands",
        }
        return [[names[id(w)] for w in row] for row in self._arranged]

    def _arrange(self) -> None:
        """Put the tables side by side while they fit the width, the rest on the next rows."""
        blocks: list[tuple[QWidget, int]] = [
            (self.forecast_table, self.forecast_table.content_width()),
            (self.trading_table, self.trading_table.content_width()),
        ]
        if not self.bands_block.isHidden():
            self.bands_block.setMaximumWidth(max(self.bands_table.content_width(), 360))
            blocks.append((self.bands_block, self.bands_table.content_width()))
        margins = self.content.layout().contentsMargins()
        width = self.scroll.viewport().width() - margins.left() - margins.right()
        rows = flow_rows(blocks, width, spacing=12)
        if rows == self._arranged:
            return
        top = Qt.AlignmentFlag.AlignTop
        for layout in self._rows:
            while layout.count():
                layout.takeAt(0)
        for layout, row in zip(self._rows, rows, strict=False):
            for widget in row:
                layout.addWidget(widget, 0, top)
            layout.addStretch(1)
        self._arranged = rows

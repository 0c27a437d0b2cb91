"""The backtest scores as tables and sentences: every forecaster, then the trading rule.

The first table compares the model with the three baselines on the same test bars; the second
compares the trading rule driven by the model with buy-and-hold. Above them, the data quality
warnings of the prices the backtest used; below them, the significance results are spelled out in
plain words, because "DM p = 0.41" means little to most readers.

Direction is judged against the market's own up-day share: "Always up %" is the hit rate a
forecaster saying "up" on every bar would score on the same bars, and the Pesaran-Timmermann p
tests whether the calls beat that; the binomial p only tests the hit rate against 50%.

With a distribution head a third table scores the forecast bands of the model and of the volatility
baselines (GARCH(1,1)-t, EWMA, rolling volatility), and the trading table gains the
volatility-targeted rule beside the sign rule and buy-and-hold.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.backtest import BacktestResult, forecaster_labels
from stockapp.core.metrics import ForecastMetrics, format_pvalue
from stockapp.core.trading import MODES, EquityStats, TradingRule
from stockapp.core.vol_target import CAPS, TARGET_VOL
from stockapp.core.volatility import VOL_LABELS

#: Column titles of the direction tests (short lines keep the table narrow).
UP_COLUMN = "Always\nup %"
PT_COLUMN = "Pesaran-\nTimmermann\np"
BINOMIAL_COLUMN = "Hit rate\nvs 50%\n(binomial) p"
#: Forecaster rows, model first.
ROW_KEYS = ("model", "persistence", "drift", "ar")
#: Forecast columns and what each one means (shown as header tooltips).
FORECAST_COLUMNS: dict[str, str] = {
    "RMSE": "root mean squared error of the forecast close, in price units",
    "MAE": "mean absolute error of the forecast close, in price units",
    "MAPE %": "mean absolute error as a percentage of the realised close",
    "Hit rate %": (
        "share of bars where the forecast called the up/down move right, among bars where both "
        "moved"
    ),
    UP_COLUMN: (
        "the hit rate 'always up' would score on the same bars: the share of them that rose "
        "(the base rate a hit rate must beat)"
    ),
    PT_COLUMN: (
        "Pesaran-Timmermann test of directional predictability: do the calls match the moves "
        "more often than chance, given how often each called and the market rose? Below 0.05 "
        "the direction calls carry information"
    ),
    BINOMIAL_COLUMN: (
        "hit rate vs 50% (binomial): exact binomial test of the hit rate against 50%; in a "
        "rising market 'always up' passes it, so the direction verdict uses the "
        "Pesaran-Timmermann p"
    ),
    "Skill vs\npersistence": (
        "1 - MSE / MSE of persistence: above 0 beats 'tomorrow = today', below 0 is worse"
    ),
    "DM p-value": (
        "Diebold-Mariano test of equal squared error against persistence (HLN-corrected); "
        "below 0.05 the difference is unlikely to be luck"
    ),
}
#: Trading statistics rows: (label, EquityStats field, tooltip).
TRADING_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Total return", "total_return", "gain over the whole test span"),
    ("CAGR", "cagr", "compound annual growth rate"),
    ("Volatility", "volatility", "annualised standard deviation of the daily returns"),
    ("Sharpe", "sharpe", "annualised mean return over volatility (no risk-free rate)"),
    ("Max drawdown", "max_drawdown", "largest fall from a previous peak"),
    ("Trades", "trades", "number of position changes, each paying the cost"),
    ("Time in market", "time_in_market", "share of bars holding a position"),
)
#: Band forecaster rows (model first, named at run time) and their short names.
BAND_ROWS = {
    "garch": "GARCH(1,1)-t",
    "ewma": "EWMA 0.94",
    "rolling": "Rolling volatility",
}
#: Band score columns: title -> (``metrics.json`` key, kind of number, tooltip).
BAND_SCORES: dict[str, tuple[str, str, str]] = {
    "50%\nheld": ("coverage_50", "percent", "share of outcomes inside the central 50% band"),
    "80%\nheld": ("coverage_80", "percent", "share of outcomes inside the central 80% band"),
    "95%\nheld": ("coverage_95", "percent", "share of outcomes inside the central 95% band"),
    "Kupiec p\n(80%)": (
        "kupiec_pvalue_80",
        "p",
        "Kupiec's test that the 80% band holds 80% of outcomes; below 0.05 it is miscalibrated",
    ),
    "Christof-\nfersen p\n(80%)": (
        "christoffersen_pvalue_80",
        "p",
        "Christoffersen's test that misses of the 80% band are independent (do not cluster); "
        "below 0.05 they cluster",
    ),
    "Interval\nscore\n80%": (
        "interval_score_80",
        "number",
        "Winkler interval score of the 80% band, in log-return units: its width plus a penalty "
        "for each miss (lower is better)",
    ),
    "Log\nscore": (
        "log_score",
        "number",
        "mean log density of the outcome under the forecast distribution (higher is better)",
    ),
    "CRPS": (
        "crps",
        "number",
        "continuous ranked probability score of the next log return (lower is better)",
    ),
    "DM p vs\nGARCH\n(log score)": (
        "dm_pvalue_log_score_vs_garch",
        "p",
        "Diebold-Mariano test of equal log score against GARCH(1,1)-t; below 0.05 the "
        "difference is unlikely to be luck",
    ),
}
#: Band column titles and their tooltips.
BAND_COLUMNS = {title: tip for title, (_key, _kind, tip) in BAND_SCORES.items()}
VOL_TARGET_COLUMN = "Vol-\ntargeted"
_DASH = "–"


def fmt_number(v: float) -> str:
    """A price-like number with sensible precision; ``–`` for a missing value."""
    if not math.isfinite(v):
        return _DASH
    a = abs(v)
    if a >= 1000:
        return f"{v:,.1f}"
    if a >= 1:
        return f"{v:.3f}"
    return f"{v:.4f}"


def fmt_percent(fraction: float, signed: bool = False, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.1234 -> "12.3%"``."""
    if not math.isfinite(fraction):
        return _DASH
    return f"{fraction * 100:{'+' if signed else ''}.{digits}f}%"


def fmt_p(p: float) -> str:
    """A p-value without the ``p =`` prefix: ``0.41``, ``0.049``, ``<0.001``."""
    if not math.isfinite(p):
        return _DASH
    return format_pvalue(p).removeprefix("p = ").replace("p < ", "<")


def forecast_cells(m: ForecastMetrics) -> list[str]:
    """The texts of one forecaster's row, in :data:`FORECAST_COLUMNS` order."""
    scored = math.isfinite(m.directional_accuracy)
    return [
        fmt_number(m.rmse),
        fmt_number(m.mae),
        f"{m.mape:.2f}" if math.isfinite(m.mape) else _DASH,
        fmt_percent(m.directional_accuracy) if scored else _DASH,
        fmt_percent(getattr(m, "up_share", math.nan)) if scored else _DASH,
        fmt_p(getattr(m, "pt_pvalue", math.nan)) if scored else _DASH,
        fmt_p(m.direction_pvalue) if scored else _DASH,
        fmt_percent(m.skill, signed=True, digits=2),
        fmt_p(m.dm_pvalue),
    ]


def band_cells(scores: object) -> list[str]:
    """The texts of one forecaster's bands row, in :data:`BAND_COLUMNS` order."""
    cells = []
    for key, kind, _tip in BAND_SCORES.values():
        v = float(getattr(scores, key))
        if kind == "percent":
            cells.append(fmt_percent(v))
        elif kind == "p":
            cells.append(fmt_p(v))
        else:
            cells.append(f"{v:.4g}" if math.isfinite(v) else _DASH)
    return cells


def trading_cell(field: str, stats: EquityStats) -> str:
    v = getattr(stats, field)
    if field == "trades":
        return f"{int(v):,}"
    if field == "sharpe":
        return f"{v:.2f}" if math.isfinite(v) else _DASH
    return fmt_percent(v)


def describe_rule(rule: TradingRule) -> str:
    """``"long/flat, threshold 0.10%, cost 5 bps"``."""
    mode = rule.mode.replace("_", "/")
    return f"{mode}, threshold {rule.threshold * 100:.2f}%, cost {rule.cost_bps:g} bps"


class _FittedTable(QTableWidget):
    """A table that asks its layout for exactly the width of its columns."""

    def __init__(self, rows: int, columns: int) -> None:
        super().__init__(rows, columns)
        # At most as wide as the columns; narrower (with a scroll bar) when space is short.
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        # Columns fit their contents again whenever shown or restyled: follow them.
        self.horizontalHeader().sectionResized.connect(self._columns_changed)
        self.verticalHeader().sectionResized.connect(self._columns_changed)

    def content_width(self) -> int:
        header = self.verticalHeader()
        width = 0 if header.isHidden() else header.sizeHint().width()
        return width + self.horizontalHeader().length() + 2 * self.frameWidth()

    def _columns_changed(self, *_: object) -> None:
        self.updateGeometry()
        _fit_height(self)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self.content_width(), hint.height())


def _table(rows: int, columns: list[str], tips: list[str]) -> _FittedTable:
    table = _FittedTable(rows, len(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)  # one line per row, so the fitted height never depends on width
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    for col, (name, tip) in enumerate(zip(columns, tips, strict=True)):
        item = QTableWidgetItem(name)
        item.setToolTip(tip)
        table.setHorizontalHeaderItem(col, item)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def _fit_height(table: _FittedTable) -> None:
    """Make the table exactly as tall as its rows so no vertical scroll bar or blank shows."""
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += table.verticalHeader().length()
    if table.content_width() > table.width():  # the horizontal scroll bar will show
        height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height)


class _Content(QWidget):
    """The scrolled page of the scores; refits the tables' heights whenever its width changes."""

    def __init__(self, tables: tuple[_FittedTable, ...]) -> None:
        super().__init__()
        self._tables = tables

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        for table in self._tables:
            _fit_height(table)


class MetricsTable(QWidget):
    """Scores of one backtest: forecasters, the trading rule, and the verdicts in words.

    The scores scroll inside the widget, so that with a distribution head's extra table a
    short window keeps room for the charts above instead of squeezing them to nothing.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.forecast_table = _table(
            len(ROW_KEYS), list(FORECAST_COLUMNS), list(FORECAST_COLUMNS.values())
        )
        self.trading_table = _table(len(TRADING_ROWS), ["Trading\nrule", "Buy and\nhold"], ["", ""])
        # Shown only for a distribution head: the model's and the baselines' bands, scored.
        self.bands_title = QLabel(self)
        self.bands_table = _table(0, list(BAND_COLUMNS), list(BAND_COLUMNS.values()))
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
        # The trading table stands beside the forecast table, or beside the bands table when
        # there is one (the forecast table is wide: both would not fit beside it).
        self._tables_row = QHBoxLayout()
        top = Qt.AlignmentFlag.AlignTop
        self._tables_row.addWidget(self.forecast_table, 0, top)
        self._tables_row.addWidget(self.trading_table, 0, top)
        self._tables_row.addStretch(1)
        self._bands_row = QHBoxLayout()
        self._bands_row.addWidget(self.bands_table, 0, top)
        self._bands_row.addStretch(1)
        self.content = _Content((self.forecast_table, self.trading_table, self.bands_table))
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addWidget(self.quality)
        layout.addLayout(self._tables_row)
        layout.addWidget(self.bands_title)
        layout.addLayout(self._bands_row)
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
        self._fit()

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
        labels = forecaster_labels(model_name, result.dates)
        keys = [k for k in ROW_KEYS if k in result.metrics]
        self._row_keys = keys
        table = self.forecast_table
        table.setRowCount(len(keys))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, key in enumerate(keys):
            header = QTableWidgetItem(labels[key])
            table.setVerticalHeaderItem(row, header)
            for col, text in enumerate(forecast_cells(result.metrics[key])):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if key == "model":
                    item.setFont(bold)
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
        self.summary.setText("\n".join(f"• {s}" for s in sentences))
        self._fit()

    def _set_bands(self, bands: object, model_name: str, rule: TradingRule | None = None) -> None:
        """Fill the bands table and the vol-targeted column from a ``BandForecasts``, or hide
        them (``None``: a point forecast)."""
        trading = self.trading_table
        table = self.bands_table
        shown = bands is not None
        table.setVisible(shown)
        self.bands_title.setVisible(shown)
        trading.setColumnCount(3 if shown else 2)
        row = self._bands_row if shown else self._tables_row
        if row.indexOf(trading) < 0:
            top = Qt.AlignmentFlag.AlignTop
            (self._tables_row if shown else self._bands_row).removeWidget(trading)
            row.insertWidget(1, trading, 0, top)
        if not shown:
            self._band_keys = []
            table.setRowCount(0)
            return
        scores = bands.scores
        keys = [k for k in ("model", *BAND_ROWS) if k in scores]
        self._band_keys = keys
        table.setRowCount(len(keys))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, key in enumerate(keys):
            header = QTableWidgetItem(model_name if key == "model" else BAND_ROWS[key])
            header.setToolTip(VOL_LABELS.get(key, "the model's forecast distribution"))
            table.setVerticalHeaderItem(row, header)
            for col, text in enumerate(band_cells(scores[key])):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if key == "model":
                    item.setFont(bold)
                table.setItem(row, col, item)
        n = scores["model"].n
        self.bands_title.setText(
            f"<b>Forecast bands</b> of the next log return on {n:,} bars, against volatility "
            "baselines fitted only on the past"
        )
        head = QTableWidgetItem(VOL_TARGET_COLUMN)
        cap = CAPS.get(rule.mode, 1.0) if rule is not None else 1.0
        head.setToolTip(
            f"the trading rule's position scaled by {TARGET_VOL:.0%} a year / the model's "
            f"forecast volatility, capped at {cap:g}; pays the cost on every change of size"
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
            heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
            lines.append("\t".join(["", *heads]))
            for r in range(table.rowCount()):
                head = table.verticalHeaderItem(r)
                cells = [table.item(r, c) for c in range(table.columnCount())]
                lines.append(
                    "\t".join(
                        [head.text() if head else ""] + [c.text() if c else "" for c in cells]
                    )
                )
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
            _fit_height(table)

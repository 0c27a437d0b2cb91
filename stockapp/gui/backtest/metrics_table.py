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

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QResizeEvent
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
from stockapp.core.bands import SUFFIXES
from stockapp.core.metrics import ForecastMetrics, dm_variance, format_pvalue, signed_verdict
from stockapp.core.trading import MODES, EquityStats, TradingRule
from stockapp.core.vol_target import CAPS, TARGET_VOL
from stockapp.core.volatility import VOL_LABELS

#: Column titles of the direction tests (short lines keep the table narrow).
UP_COLUMN = "Always\nup %"
PT_COLUMN = "Pesaran-\nTimmermann\np"
BINOMIAL_COLUMN = "Hit rate\nvs 50%\n(binomial) p"
DM_COLUMN = "DM p\n(better)"
#: Cell backgrounds of a signed verdict (none for a tie).
VERDICT_COLOURS = {"better": QColor("#bbf7d0"), "worse": QColor("#fecaca")}
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
    DM_COLUMN: (
        "one-sided Diebold-Mariano p that the squared errors are smaller than persistence's "
        f"(long-run variance: {dm_variance()}). Green: better (below 0.05); red: worse (the "
        "test the other way round is below 0.05); no colour: a tie"
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
    "rolling": "Rolling vol.",
}
#: Band score columns: title -> (``metrics.json`` key, kind of number, tooltip). The ``held``
#: column shows ``coverage_50``, ``_80`` and ``_95`` on three lines; the ``tests`` column, on the
#: same lines, ``kupiec_pvalue_L``, ``independence_pvalue_L`` and ``cc_pvalue_L``.
BAND_SCORES: dict[str, tuple[str, str, str]] = {
    "Held\n50 / 80 /\n95% band": (
        "coverage",
        "held",
        "share of outcomes inside the central 50%, 80% and 95% bands (one line each)",
    ),
    "K · I · CC p\n50 / 80 /\n95% band": (
        "tests",
        "tests",
        "for each band (one line each), three p-values: Kupiec's test that the band holds its "
        "share of outcomes (K), Christoffersen's test that its misses are independent, not "
        "clustered (I), and the conditional-coverage test of both at once (CC); below 0.05 "
        "the band fails that test. Hover a cell for them in words",
    ),
    "Interval\nscore\n80%": (
        "interval_score_80",
        "number",
        "Winkler interval score of the 80% band, in log-return units: its width plus a penalty "
        "for each miss (lower is better)",
    ),
    "Log score\np better\nvs GARCH": (
        "log_score",
        "verdict",
        "Top: mean log density of the outcome under the forecast distribution (higher is "
        "better). Below: one-sided Diebold-Mariano p that it is higher than GARCH(1,1)-t's. "
        "Green: better (below 0.05); red: worse (the test the other way round is below 0.05); "
        "no colour: a tie",
    ),
    "CRPS": (
        "crps",
        "number",
        "continuous ranked probability score of the next log return (lower is better)",
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
        fmt_p(m.dm_better_pvalue),
    ]


def compact_p(p: float) -> str:
    """A p-value in few characters, leading zero dropped: ``.38``, ``.041``, ``.0089``, ``<.001``.

    Two significant digits below 0.1, three where two would round across 0.05 (0.0496 is
    ``.0496``, never ``.050``).
    """
    if not math.isfinite(p):
        return _DASH
    if p < 0.001:
        return "<.001"
    text = f"{p:.2f}" if p >= 0.1 else f"{p:.2g}"
    if (float(text) < 0.05) != (p < 0.05):
        text = f"{p:.3g}"
    return text.removeprefix("0")


def verdict_tip(verdict: str | None, better_p: float, against: str, loss: str) -> str:
    """A signed verdict's cell tooltip, in words."""
    if verdict is None:
        return f"not tested against {against}"
    if verdict == "better":
        return f"better than {against}: {loss} is lower (one-sided {format_pvalue(better_p)})"
    if verdict == "worse":
        return (
            f"worse than {against}: {loss} is higher (one-sided "
            f"{format_pvalue(1.0 - better_p)} the other way round)"
        )
    return f"a tie with {against}: neither one-sided test is below 0.05"


_TESTS = ("kupiec", "independence", "cc")


def _level_tip(scores: object, suffix: str) -> str:
    """One band level's share held and its three tests, in words."""
    held = float(getattr(scores, f"coverage_{suffix}"))
    ps = [float(getattr(scores, f"{t}_pvalue_{suffix}")) for t in _TESTS]
    failed = [
        name
        for name, p in zip(("Kupiec", "independence", "conditional coverage"), ps, strict=True)
        if p < 0.05
    ]
    verdict = "fails " + ", ".join(failed) if failed else "passes all three at 5%"
    return (
        f"{suffix}% band: held {held:.1%}; Kupiec {format_pvalue(ps[0])}, independence "
        f"{format_pvalue(ps[1])}, conditional coverage {format_pvalue(ps[2])}: {verdict}."
    )


def _coverage_cells(scores: object) -> tuple[tuple[str, str], tuple[str, str]]:
    """``(held, tests)`` cells: one line per band level, with the same tooltip in words."""
    levels = list(SUFFIXES.values())
    held = "\n".join(fmt_percent(float(getattr(scores, f"coverage_{s}"))) for s in levels)
    tests = "\n".join(
        " ".join(compact_p(float(getattr(scores, f"{t}_pvalue_{s}"))) for t in _TESTS)
        for s in levels
    )
    if not math.isfinite(float(scores.coverage_80)):
        return (held, ""), (tests, "")
    tip = "\n".join(_level_tip(scores, s) for s in levels)
    return (held, tip), (tests, tip)


def band_cells(scores: object) -> list[str]:
    """The texts of one forecaster's bands row, in :data:`BAND_COLUMNS` order."""
    return [text for text, _tip in band_cell_items(scores)]


def band_cell_items(scores: object) -> list[tuple[str, str]]:
    """``(text, tooltip)`` of each cell of one forecaster's bands row."""
    cells = []
    held, tests = _coverage_cells(scores)
    for key, kind, _tip in BAND_SCORES.values():
        if kind in ("held", "tests"):
            cells.append(held if kind == "held" else tests)
            continue
        v = float(getattr(scores, key))
        if kind == "percent":
            cells.append((fmt_percent(v), ""))
        elif kind == "verdict":
            better = float(scores.dm_better_pvalue_log_score_vs_garch)
            word = signed_verdict(better)
            tip = verdict_tip(word, better, "GARCH(1,1)-t", "the mean log loss")
            text = f"{v:.4g}" if math.isfinite(v) else _DASH
            cells.append((f"{text}\n{compact_p(better)}", tip if math.isfinite(better) else ""))
        elif kind == "p":
            cells.append((fmt_p(v), ""))
        else:
            cells.append((f"{v:.4g}" if math.isfinite(v) else _DASH, ""))
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


def _paint_verdict(item: QTableWidgetItem, verdict: str | None) -> None:
    """Green for ``better``, red for ``worse``, nothing for a tie or no test."""
    colour = VERDICT_COLOURS.get(verdict or "")
    if colour is not None:
        item.setBackground(QBrush(colour))
        item.setForeground(QBrush(QColor("#111827")))  # dark text on the light tint


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
        self.bands_title.setWordWrap(True)
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
                    _paint_verdict(item, m.verdict)
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
                    _paint_verdict(item, scores[key].verdict_vs_garch)
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

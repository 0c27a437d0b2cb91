"""The texts of the backtest score tables: column titles, their tooltips and each cell.

Plain strings without Qt, so the tables (:mod:`.metrics_table`), the still pictures and the
tests read the same words. Verdict colours live with the table.
"""

from __future__ import annotations

import math

from stockapp.core.bands import SUFFIXES
from stockapp.core.metrics import ForecastMetrics
from stockapp.core.significance import dm_variance, format_pvalue, signed_verdict
from stockapp.core.trading import EquityStats, TradingRule

#: Column titles of the direction tests (short lines keep the table narrow).
UP_COLUMN = "Always\nup %"
PT_COLUMN = "Pesaran-\nTimmermann\np"
BINOMIAL_COLUMN = "Hit rate\nvs 50%\n(binomial) p"
DM_COLUMN = "DM p\n(better)"
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
#: The CRPS column: shown x 1000, like the README's tables (0.007843 reads 7.843).
CRPS_COLUMN = "CRPS\n(x1e3)"
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
    CRPS_COLUMN: (
        "crps",
        "thousandths",
        "continuous ranked probability score of the next log return, in log-return units "
        "x 1000 as in the README's tables (lower is better)",
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
        elif kind == "thousandths":
            cells.append((f"{v * 1000:.3f}" if math.isfinite(v) else _DASH, ""))
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

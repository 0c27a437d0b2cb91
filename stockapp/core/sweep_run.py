"""A sweep's run opened on its own: the test span's scores, the selection span said apart.

A run of a sweep (``<sweep>/runs/<key>/``, see :mod:`stockapp.core.sweep_plan`) is an ordinary
backtest run whose forecasts cover two spans: the selection span, on which the configurations
were ranked, and the test span after it, on which the sweep's table scores the run. Scoring all
of its forecasts together gives other numbers than the table's row (the selection span's bars
count in them too), so :func:`sweep_spans` splits the run at the first bar of the test span,
which the sweep's ``summary.json`` records for each series, and both parts are scored as
:func:`~stockapp.core.backtest.assemble_result` scores any run: the test part's numbers are the
row's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from stockapp.core.backtest import BacktestResult, assemble_result
from stockapp.core.bars import format_dates
from stockapp.core.manifest import RunManifest
from stockapp.core.significance import format_pvalue
from stockapp.core.sweep_plan import ROW_FILE


@dataclass(frozen=True)
class SweepSpans:
    """A sweep run's forecasts split into its two spans, each scored on its own bars."""

    selection: BacktestResult
    test: BacktestResult

    def sentence(self) -> str:
        """Where the scores shown come from, and the selection span's scores, in words."""
        sel, test = self.selection, self.test
        sel_from, sel_to = format_dates(sel.dates[[0, -1]], intraday=sel.intraday)
        return (
            f"This run is one of an experiment's: the scores are on its test span "
            f"({test.n:,} bars; RMSE {_ratio(test)} of persistence's, {_dm(test)}), as in the "
            f"experiment's table. Its forecasts also cover the selection span before it, "
            f"{sel_from} to {sel_to} ({sel.n:,} bars), on which the configuration was chosen: "
            f"there RMSE {_ratio(sel)} of persistence's, {_dm(sel)}. The charts show both spans."
        )


def _dm(result: BacktestResult) -> str:
    """``DM p = 0.31 that its errors are smaller: a tie`` (the run's signed verdict)."""
    m = result.metrics["model"]
    verdict = m.verdict or "untested"
    return f"DM {format_pvalue(m.dm_better_pvalue)} that its errors are smaller: {verdict}"


def _ratio(result: BacktestResult) -> str:
    naive = result.metrics["persistence"].rmse
    return f"{result.metrics['model'].rmse / naive:.4f}x" if naive > 0 else "n/a"


def split_result(
    result: BacktestResult, start: int, periods_per_year: float = 252.0
) -> tuple[BacktestResult, BacktestResult]:
    """``result``'s bars before ``start`` and from ``start`` on, each scored on its own
    (``periods_per_year`` annualises the trading statistics, as the run's manifest records)."""
    if not 0 < start < result.n:
        raise ValueError(f"cannot split {result.n} bars at {start}")
    parts = []
    for part in (slice(0, start), slice(start, result.n)):
        dates = result.dates[part]
        refits = [d for d in result.refit_dates if dates[0] < d <= dates[-1]]
        scored = assemble_result(
            dates=dates,
            realised=result.realised[part],
            previous=result.previous[part],
            forecasts={k: v[part] for k, v in result.forecasts.items()},
            rule=result.rule,
            refit_dates=[dates[0], *refits],
            fits=result.fits,
            periods_per_year=periods_per_year,
        )
        if result.bands is not None:  # the bands as calibrated over every bar, scored apart
            bands = result.bands.restrict(
                part, scored.previous, scored.realised, result.rule, periods_per_year
            )
            scored = replace(scored, bands=bands)
        parts.append(scored)
    return parts[0], parts[1]


def sweep_spans(folder: Path, result: BacktestResult, manifest: RunManifest) -> SweepSpans | None:
    """The run in ``folder`` (its ``result`` and ``manifest`` as :func:`load_run` reads them)
    split at its sweep's test span; ``None`` for a run that is not a sweep's (no
    ``sweep_row.json``), or whose sweep's ``summary.json`` does not name the span."""
    folder = Path(folder)
    try:
        row = json.loads((folder / ROW_FILE).read_text(encoding="utf-8"))
        summary = json.loads((folder.parent.parent / "summary.json").read_text(encoding="utf-8"))
        entry = next(e for e in summary["series"] if e.get("series") == row["series"])
        test_from = str(entry["selection_span"]["test_from"])
        ppy = manifest.bars_per_year
    except (OSError, ValueError, TypeError, KeyError, StopIteration, AttributeError):
        return None
    stamps = format_dates(result.dates, intraday=result.intraday)
    if test_from not in stamps[1:]:
        return None
    return SweepSpans(*split_result(result, stamps.index(test_from), ppy))

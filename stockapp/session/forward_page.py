"""The window's Forward page, Qt-free: a run's forward record as it stands, and its jobs.

:func:`read_record` reads a run folder's ledger and results file without forecasting anything
(the page shows them as soon as a run is chosen); :func:`forward_job` and :func:`verify_job` are
the work behind "Forecast now" and "Verify", the same calls as ``stockapp forward`` and
``stockapp forward --verify``, so the page shows what the command line prints. Every failure a
person can cause comes back as one sentence (a :class:`~stockapp.errors.StockappError`), which
the window's worker shows as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockapp.core.forward_record import REQUIRED, ForwardScores, forward_scores
from stockapp.core.ledger import LedgerError, chain_problem, parse_lines
from stockapp.core.runs import load_run
from stockapp.session.forward import ForwardReport, default_ledger, results_path


@dataclass
class ForwardRecord:
    """A run's forward record as the page shows it."""

    folder: Path
    ledger: Path
    model_name: str = "The model"
    series: str = ""
    entries: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    scores: ForwardScores | None = None
    problem: str = ""  # one sentence when the ledger cannot be read or its chain is broken

    def lines(self) -> list[str]:
        """The scores in sentences, as ``stockapp forward`` prints them."""
        if self.problem:
            return [self.problem]
        if not self.entries:
            return [
                "No forecast recorded yet: press Forecast now (or run `stockapp forward "
                f"{self.folder}`) to write the first."
            ]
        assert self.scores is not None
        return self.scores.lines(self.model_name)

    def counts(self) -> str:
        """How many bars the scores rest on, in a few words."""
        if self.scores is None:
            return ""
        s = self.scores
        return (
            f"{s.scored} forward bar{'s' if s.scored != 1 else ''} scored, {s.waiting} waiting, "
            f"{s.backfill} backfill"
        )

    def chart(self) -> ChartData:
        return chart_data(self.entries, self.results)


def read_record(folder: Path | str, ledger: Path | str | None = None) -> ForwardRecord:
    """The ledger and results of the run in ``folder``; a StockappError (one sentence) when the
    run cannot be read. A ledger that cannot be read, or whose chain is broken, is described in
    :attr:`ForwardRecord.problem` rather than raised, so the page can still say so."""
    folder = Path(folder)
    result, manifest = load_run(folder)
    path = Path(ledger) if ledger is not None else default_ledger(folder)
    record = ForwardRecord(folder, path, manifest.shown_model_name, manifest.data_name)
    if not path.is_file():
        record.scores = forward_scores([], [], None)
        return record
    try:
        entries = parse_lines(path.read_bytes(), path)
        problem = chain_problem(entries, REQUIRED)
        if problem is not None:
            raise LedgerError(problem.sentence(path) + "; it was changed after stockapp wrote it")
        res = results_path(path)
        results = parse_lines(res.read_bytes(), res) if res.is_file() else []
    except (LedgerError, OSError) as exc:
        record.problem = str(exc).rstrip(".") + "."
        return record
    record.entries, record.results = entries, results
    record.scores = forward_scores(entries, results, result)
    return record


def record_from_report(report: ForwardReport, folder: Path) -> ForwardRecord:
    """What a finished ``Forecast now`` leaves: the record as the job left it."""
    record = ForwardRecord(folder, Path(report.ledger), report.model_name, report.series)
    record.entries, record.results, record.scores = report.entries, report.results, report.scores
    return record


@dataclass(frozen=True)
class ChartData:
    """The page's chart: each entry's target date, forecast, 80% band and realised close."""

    dates: pd.DatetimeIndex
    forecast: np.ndarray
    realised: np.ndarray  # NaN while its bar has not closed
    lower: np.ndarray  # NaN without bands
    upper: np.ndarray
    backfill: np.ndarray  # bool


def chart_data(entries: list[dict], results: list[dict]) -> ChartData:
    """The entries in ledger order, with each one's realised close where it is scored."""
    by_hash = {r.get("entry"): r for r in results}
    n = len(entries)
    realised, lower, upper = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for i, e in enumerate(entries):
        row = by_hash.get(e["hash"])
        if row is not None:
            realised[i] = float(row["realised"])
        bands = e.get("bands")
        if bands:
            lower[i], upper[i] = float(bands["lower_80"]), float(bands["upper_80"])
    return ChartData(
        pd.DatetimeIndex([pd.Timestamp(e["target_date"]) for e in entries]),
        np.array([float(e["forecast"]) for e in entries], np.float64),
        realised,
        lower,
        upper,
        np.array([bool(e["backfill"]) for e in entries], bool),
    )


def forward_job(folder: Path | str) -> Callable[[Any], Generator[Any, None, ForwardReport]]:
    """The work of "Forecast now": ``stockapp forward RUN_DIR`` (the run's own source and
    ledger), as a generator for a background worker. It cannot be stopped halfway: the
    ledger is written whole or not at all."""

    def work(_should_stop) -> Generator[Any, None, ForwardReport]:
        yield "Loading the model…"
        from stockapp.session.forward import record_forward
        from stockapp.session.preload import ensure_models

        ensure_models()
        return record_forward(Path(folder))

    return work


def verify_job(folder: Path | str) -> Callable[[Any], Generator[Any, None, str]]:
    """The work of "Verify": ``stockapp forward RUN_DIR --verify``, its verdict in one
    sentence (:func:`verify_sentence`)."""

    def work(_should_stop) -> Generator[Any, None, str]:
        yield "Loading the model…"
        from stockapp.session.forward_verify import verify_ledger
        from stockapp.session.preload import ensure_models

        ensure_models()
        return verify_sentence(verify_ledger(Path(folder)))

    return work


def verify_sentence(report) -> str:
    """A :class:`~stockapp.session.forward_verify.VerifyReport` in one sentence."""
    if not report.ok:
        return f"Verification failed: {report.problem}"
    forward = report.entries - report.backfill
    return (
        f"Verified: the {report.entries} entries ({forward} forward, {report.backfill} "
        "backfill) are unchanged, each is reproduced by the run's model from the bars it read, "
        "and each forward one was issued before its bar closed."
    )

"""The forward job: a saved run's model forecasts the bars that have no forecast yet.

:func:`record_forward` opens a run folder's model (its last fit, the one saved in ``model/``),
refreshes the prices (the run's own source or the one given), keeps only bars that have closed
by now, and, holding the ledger's lock, forecasts every bar after the last entry's data up to
the next bar, appends one entry per forecast and scores every entry whose target bar has closed
in the data since. The first time, forecasting starts at the last fit's first test bar, so the
ledger's first entries repeat the run's own backtest forecasts for that segment.

An entry whose outcome was already known when it was made is ``backfill`` (kept apart from the
forward record): its target bar was in the run's data, or in the refreshed data, or had closed
by the exchange calendar although the data had no bar for it yet (the data lagged the clock).

Each entry's inputs are kept: the bars every forecast of one call read are written once as
``inputs/<sha256>.json`` beside the ledger, so ``--verify`` reproduces each forecast from
exactly the data it saw even after the source is re-adjusted or gone.

A run made with other series (and the calendar) as inputs loads them again from its manifest
(:mod:`stockapp.session.run_inputs`), keeps their closed bars and aligns them as in training:
the forecast of the bar dated d reads their bars dated strictly before d. Their aligned columns
are kept with the bars in ``inputs/``, and each entry names the fingerprint of every input's
bars its forecast could read (``covariates``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stockapp.core.bars import bar_size
from stockapp.core.data_source import DataSource
from stockapp.core.exchange import BarClock
from stockapp.core.forward_record import (
    LEDGER_FORMAT,
    REQUIRED,
    ForwardScores,
    forward_scores,
    frame_record,
    score_entry,
    window_hash,
)
from stockapp.core.ledger import LedgerError, canonical, digest, transaction, write_atomic
from stockapp.core.manifest import RunManifest
from stockapp.core.runs import load_run
from stockapp.errors import DataError, ModelError, StockappError
from stockapp.session.forward_bands import (
    Calibrator,
    entry_bands,
    next_close,
    outcome_in,
    row_of,
)
from stockapp.session.forward_source import check_matches, chosen_source
from stockapp.session.loading import load_series
from stockapp.session.run_inputs import RunInputs, reload_inputs

if TYPE_CHECKING:  # torch is imported when a run's model is opened, not with this module
    from stockapp.models.forecaster import RecurrentForecaster


@dataclass(frozen=True)
class SavedRun:
    """A run folder as the forward job needs it: its backtest, manifest and last fit's model."""

    folder: Path
    run_id: str  # SHA-256 (first 16 hex digits) of manifest.json: survives renaming the folder
    manifest: RunManifest
    result: object  # the run's BacktestResult
    model: RecurrentForecaster
    weights_hash: str
    adjusted: bool  # whether the model learned from adjusted closes
    bars: str  # "daily", "weekly", ...
    last_fit_start: pd.Timestamp  # first test bar of the last fit
    data_last: pd.Timestamp  # last bar of the run's data
    calibrator: Calibrator  # how its entries' bands are calibrated (as its backtest's)

    @property
    def name(self) -> str:
        return self.folder.name


def weights_hash(model: RecurrentForecaster) -> str:
    """SHA-256 of the network's tensors (by name, dtype, shape and bytes) and its scaler."""
    h = hashlib.sha256()
    for key, tensor in sorted(model.net.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    h.update(canonical(model.scaler.to_dict()))
    return h.hexdigest()


def open_run(folder: Path | str) -> SavedRun:
    """Open a run folder; one sentence (a StockappError) when its model cannot be loaded."""
    from stockapp.models.forecaster import RecurrentForecaster

    folder = Path(folder)
    result, manifest = load_run(folder)
    if not (folder / "model").is_dir():
        raise ModelError(f"{folder} has no saved model (model/), so it cannot forecast.")
    try:
        model = RecurrentForecaster.load(folder / "model")
    except ModelError as exc:
        raise ModelError(f"The model of the run {folder} cannot be loaded: {exc}") from None
    last = None if manifest.data is None else manifest.data.last_date
    return SavedRun(
        folder=folder,
        run_id=hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()[:16],
        manifest=manifest,
        result=result,
        model=model,
        weights_hash=weights_hash(model),
        adjusted=model.spec.adjusted if manifest.data is None else manifest.data.adjusted,
        bars=bar_size(result.dates),
        last_fit_start=pd.Timestamp(result.refit_dates[-1]),
        data_last=pd.Timestamp(last) if last else pd.Timestamp(result.dates[-1]),
        calibrator=Calibrator.of(manifest, result, model.is_distribution),
    )


def default_ledger(run_dir: Path | str) -> Path:
    """``RUN_DIR/forward/ledger.jsonl``."""
    return Path(run_dir) / "forward" / "ledger.jsonl"


def results_path(ledger: Path) -> Path:
    """The results file beside a ledger: ``ledger.jsonl`` -> ``ledger.results.jsonl``."""
    return ledger.with_name(ledger.stem + ".results.jsonl")


def inputs_path(ledger: Path, inputs: str) -> Path:
    """Where the bars an entry's forecast read are kept: ``inputs/<sha256>.json``."""
    return ledger.parent / "inputs" / f"{inputs}.json"


@dataclass
class ForwardReport:
    """What one call of :func:`record_forward` did, and the record as it stands."""

    ledger: Path
    source: DataSource
    series: str
    model_name: str
    added: list[dict] = field(default_factory=list)
    scored: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    scores: ForwardScores | None = None

    @property
    def live(self) -> list[dict]:
        """The entries added by this call that belong to the forward record."""
        return [e for e in self.added if not e["backfill"]]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def closed_prices(prices: pd.DataFrame, clock: BarClock, now: pd.Timestamp) -> pd.DataFrame:
    """The bars that have closed by ``now``; refuses bars dated after tomorrow (a wrong clock)."""
    tomorrow = now.tz_localize(None).normalize() + pd.Timedelta(days=1)
    if len(prices) and prices.index[-1].normalize() > tomorrow:
        raise StockappError(
            f"The data holds bars through {prices.index[-1]:%Y-%m-%d} but the clock says "
            f"{now:%Y-%m-%d %H:%M} UTC; set the clock right before recording forecasts."
        )
    return prices[clock.closed(prices.index, now).to_numpy()]


def _closed(source: DataSource, dates: pd.DatetimeIndex, run: SavedRun, now) -> np.ndarray:
    """Which bars of an input series have closed by ``now`` on its own exchange."""
    weekends = bool((dates.day_of_week >= 5).any())
    clock = BarClock(source.exchange, weekly=run.bars == "weekly", weekends=weekends)
    return clock.closed(dates, now).to_numpy()


def _check_ledger(entries: list[dict], run: SavedRun, now: pd.Timestamp, path: Path) -> None:
    for number, entry in enumerate(entries, start=1):
        if entry["run_id"] != run.run_id:
            raise LedgerError(
                f"{path} line {number} belongs to another run (id {entry['run_id']}, this run is "
                f"{run.run_id}); give this run its own --ledger. The ledger was left as it is."
            )
    if entries:
        last = pd.Timestamp(datetime.fromisoformat(entries[-1]["issued_at"]))
        if now < last:
            raise StockappError(
                f"The clock says {now:%Y-%m-%d %H:%M:%S} UTC, earlier than the last entry of "
                f"{path} ({last.tz_convert('UTC'):%Y-%m-%d %H:%M:%S} UTC); set the clock right. "
                "The ledger was left as it is."
            )


def first_end(entries: list[dict], prices: pd.DataFrame, run: SavedRun) -> int:
    """The row of the first window still to forecast from: after the last entry's data, or
    the bar before the last fit's first test bar."""
    index = prices.index
    if entries:
        return int(index.searchsorted(pd.Timestamp(entries[-1]["data_through"]), side="right"))
    return max(int(index.searchsorted(run.last_fit_start)) - 1, run.model.spec.window)


def _payloads(
    run,
    source,
    series_name,
    prices,
    ends,
    clock,
    now,
    snapshot_id,
    old=(),
    outcomes=None,
    inputs: RunInputs | None = None,
) -> list[dict]:
    """The entries for windows ending at ``ends`` (the last may target a bar not in the data);
    a run with other series as inputs records, per entry, the fingerprint of each one's bars
    the forecast could read (``covariates``).

    A distribution head's bands are calibrated as the run's backtest's were, continued over the
    outcomes of the ``old`` entries (``outcomes``: their log returns scored so far, by hash)
    and of the new ones before each (:mod:`stockapp.session.forward_bands`)."""
    model, spec = run.model, run.model.spec
    n = len(prices)
    forecasts = model.predict_next(prices, ends)
    dists = model.predict_distribution(prices, ends) if model.is_distribution else None
    close = prices["Close"].to_numpy(np.float64)
    issued = now.isoformat(timespec="seconds")
    out = []
    for k, e in enumerate(ends):
        e = int(e)
        target = prices.index[e + 1] if e + 1 < n else clock.next_bar(prices.index[e])
        reason = None
        if target <= run.data_last:
            reason = "its bar was in the run's data"
        elif e + 1 < n:
            reason = "its bar was already in the data"
        elif clock.closes_at(target) <= now:
            reason = "its bar had closed by the clock though the data had no bar for it yet"
        out.append({
            "format": LEDGER_FORMAT,
            "run_id": run.run_id,
            "run_name": run.name,
            "weights_hash": run.weights_hash,
            "series": series_name,
            "close": "adjusted" if run.adjusted else "raw",
            "source": source.describe(),
            "bars": run.bars,
            "exchange": clock.exchange,
            "data_through": f"{prices.index[e]:%Y-%m-%d}",
            "data_hash": window_hash(prices, e, spec.window),
            "inputs": snapshot_id,
            "last_close": float(close[e]),
            "target_date": f"{target:%Y-%m-%d}",
            "forecast": float(forecasts[k]),
            "bands": None,
            "issued_at": issued,
            "backfill": reason is not None,
            "backfill_reason": reason,
            **({"covariates": inputs.read_by(prices.index[e])} if inputs else {}),
        })  # fmt: skip
    if dists is not None:
        _band_entries(run, out, dists, old, outcomes or {}, prices)
    return out


def _band_entries(run, new: list[dict], dists, old, outcomes: dict, prices) -> None:
    """Set each new entry's ``bands`` (and ``calibration`` for a calibrated run)."""
    mu, sigma, nu = dists
    nus = [None if nu is None else float(nu[k]) for k in range(len(new))]
    rows = [row_of(e) for e in old if e.get("bands")]
    olds = [e for e in old if e.get("bands")]
    rows += [(e["target_date"], float(mu[k]), float(sigma[k]), nus[k]) for k, e in
             enumerate(new)]  # fmt: skip
    every = olds + new

    def known(j: int, i: int) -> float | None:
        entry = every[j]
        if entry.get("hash") in outcomes:
            return float(outcomes[entry["hash"]])
        return outcome_in(prices, entry)

    calibrations = run.calibrator.calibrations(rows, known)[len(olds) :]
    for k, entry in enumerate(new):
        cal = calibrations[k]
        entry["bands"] = entry_bands(mu[k], sigma[k], nus[k], entry["last_close"], cal)
        if cal is not None:
            entry["calibration"] = cal


def _scores_due(entries: list[dict], done: set[str], prices: pd.DataFrame, now: str) -> list[dict]:
    """Results rows for entries not yet scored whose next bar after their data is now known."""
    rows = []
    for entry in entries:
        if entry["hash"] in done:
            continue
        found = next_close(prices, entry)
        if found is None:
            continue  # no bar after its data yet, or its last bar is gone from the data
        rows.append(score_entry(entry, f"{found[0]:%Y-%m-%d}", found[1], now))
    return rows


def record_forward(
    run_dir: SavedRun | Path | str,
    source: DataSource | None = None,
    ledger: Path | str | None = None,
    session=None,
) -> ForwardReport:
    """Forecast, append and score (see the module docstring) for a run folder (or a run
    opened with :func:`open_run`); a StockappError for bad input, the ledger left untouched."""
    run = run_dir if isinstance(run_dir, SavedRun) else open_run(run_dir)
    source = source or chosen_source(run.manifest, run.bars)
    series = load_series(source, session=session)
    check_matches(series, source, run)
    path = Path(ledger) if ledger is not None else default_ledger(run.folder)
    now = pd.Timestamp(_utc_now()).tz_convert("UTC")
    prices = series.prices(run.adjusted)
    weekends = bool((prices.index.day_of_week >= 5).any())
    clock = BarClock(source.exchange, weekly=run.bars == "weekly", weekends=weekends)
    prices = closed_prices(prices, clock, now)
    inputs = reload_inputs(run.manifest, run.adjusted, session=session,
                           closed=lambda src, dates: _closed(src, dates, run, now))  # fmt: skip
    if inputs and len(prices):  # aligned as in training: bar d reads their bars before d
        prices = inputs.align(prices, series.name, clock.next_bar(prices.index[-1]))
    window = run.model.spec.window
    if len(prices) <= window:
        raise DataError(
            f"{source.describe()} has {len(prices)} closed bars; the model needs {window + 1}."
        )
    report = ForwardReport(path, source, series.name, run.manifest.shown_model_name)
    with transaction(path, results_path(path), REQUIRED) as tx:
        _check_ledger(tx.entries, run, now, path)
        start = first_end(tx.entries, prices, run)
        ends = np.arange(start, len(prices), dtype=np.int64)
        if ends.size:
            snapshot = frame_record(prices.iloc[int(ends[0]) - window :])
            snapshot_id = digest(snapshot)
            target = inputs_path(path, snapshot_id)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(target, canonical(snapshot))
        stamp = now.isoformat(timespec="seconds")
        # the old entries are scored first: the new ones' calibration reads those outcomes
        done = {r["entry"] for r in tx.results}
        report.scored = _scores_due(tx.entries, done, prices, stamp)
        if ends.size:
            outcomes = {r["entry"]: r["realised_return"] for r in tx.results + report.scored}
            payloads = _payloads(run, source, series.name, prices, ends, clock, now, snapshot_id,
                                 tx.entries, outcomes, inputs)  # fmt: skip
            report.added = tx.append(payloads)
        entries = tx.entries + tx.new_entries
        report.scored += _scores_due(tx.new_entries, done, prices, stamp)
        tx.append_results(report.scored)
    report.entries, report.results = entries, tx.results + report.scored
    report.scores = forward_scores(report.entries, report.results, run.result)
    return report

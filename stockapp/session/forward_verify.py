"""``stockapp forward RUN_DIR --verify``: is the ledger what the run's model wrote, in time?

Checks, naming the first entry that fails any of them:

1. the hash chain (:mod:`stockapp.core.ledger`): no line changed, removed, inserted or moved;
2. every entry was made for this run (its ``run_id``) by this model (its ``weights_hash``);
3. every entry's forecast (and its bands) is reproduced, to 1e-6 relative, by the run's model
   from the bars the entry read, kept in ``inputs/<sha256>.json`` beside the ledger; the file
   must hash to its name and the window to the entry's ``data_hash``; a calibrated run's bands
   must be calibrated as its backtest's were, continued over the outcomes known when the entry
   was issued (its results rows scored by then, or the bars it read):
   :mod:`stockapp.session.forward_bands`;
4. every forward (not backfill) entry was issued before its target bar closed
   (:meth:`stockapp.core.exchange.BarClock.describe` says what is compared for its source);
5. every row of the results file names an entry of the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.core.data_source import legacy_source
from stockapp.core.exchange import BarClock
from stockapp.core.forward_record import (
    REQUIRED,
    frame_from_record,
    timing_problem,
    window_hash,
)
from stockapp.core.ledger import LedgerError, chain_problem, digest, parse_lines
from stockapp.errors import StockappError
from stockapp.session.forward import (
    SavedRun,
    default_ledger,
    inputs_path,
    open_run,
    results_path,
)
from stockapp.session.forward_bands import entry_bands, outcome_in, row_of

#: Relative difference allowed between an entry's numbers and the model's reproduction: the
#: network computes in float32, whose rounding can differ with the batch it runs in.
TOLERANCE = 1e-6
BAND_KEYS = ("mu", "sigma", "nu", "lower_80", "upper_80", "lower_95", "upper_95")
#: Kept by a calibrated entry besides: its raw sigma and 50% band.
CALIBRATED_KEYS = ("raw_sigma", "lower_50", "upper_50")


@dataclass
class VerifyReport:
    """What was checked and the first problem found (``None`` when the ledger holds)."""

    ledger: Path
    entries: int = 0
    backfill: int = 0
    checks: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        forward = self.entries - self.backfill
        head = (
            f"{self.ledger}: {self.entries} entries ({forward} forward, {self.backfill} backfill)."
        )
        if self.problem is not None:
            return [head, f"Verification failed: {self.problem}"]
        return [head, *self.checks, "Verified."]


def verify_ledger(run_dir: Path | str, ledger: Path | str | None = None) -> VerifyReport:
    """Run the checks above; a StockappError (exit 2) only when the run or ledger is missing."""
    run = open_run(run_dir)
    path = Path(ledger) if ledger is not None else default_ledger(run.folder)
    if not path.is_file():
        raise StockappError(f"There is no ledger at {path}; record forecasts first.")
    report = VerifyReport(path)
    try:
        entries = parse_lines(path.read_bytes(), path)
    except (LedgerError, OSError) as exc:
        report.problem = str(exc)
        return report
    report.entries = len(entries)
    chain = chain_problem(entries, REQUIRED)
    if chain is not None:
        report.problem = chain.sentence(path)
        return report
    report.backfill = sum(bool(e["backfill"]) for e in entries)
    problems: dict[int, str] = {}
    clocks: set[str] = set()
    for i, entry in enumerate(entries):
        why = _identity_problem(entry, run)
        if why is None and not entry["backfill"]:
            clock = BarClock(entry["exchange"], weekly=entry["bars"] == "weekly")
            clocks.add(clock.describe())
            why = timing_problem(entry, clock)
        if why is not None:
            problems[i] = why
    for i, why in _reproduction_problems(entries, run, path).items():
        problems.setdefault(i, why)
    if problems:
        i = min(problems)
        target = entries[i].get("target_date")
        report.problem = f"{path} line {i + 1} (target {target}) {problems[i]}."
        return report
    orphan = _orphan_result(entries, results_path(path))
    if orphan is not None:
        report.problem = orphan
        return report
    report.checks = [
        "The hash chain holds: no entry was changed, removed, inserted or moved.",
        f"Every entry was made for this run ({run.run_id}) by its model (weights "
        f"{run.weights_hash[:16]}) and is reproduced by it from the bars it read, to "
        f"{TOLERANCE:g} relative.",
        *(f"Every forward entry was {what}." for what in sorted(clocks)),
    ]
    legacy = sum(is_legacy(e) for e in entries) if run.calibrator.active else 0
    if legacy:
        one = legacy == 1
        report.checks.append(
            f"{legacy} {'entry' if one else 'entries'} written before stockapp calibrated forward "
            f"bands {'carries' if one else 'carry'} the model's own, uncalibrated bands, checked "
            "as such."
        )
    return report


def _identity_problem(entry: dict, run: SavedRun) -> str | None:
    if entry["run_id"] != run.run_id:
        return f"was made for another run (id {entry['run_id']}, this run is {run.run_id})"
    if entry["weights_hash"] != run.weights_hash:
        return f"was made by other weights than the model in {run.folder / 'model'}"
    source = legacy_source(str(entry["source"]))  # the ledger records its source in words
    if not source.reloadable:
        return f"names a source stockapp does not know ({entry['source']!r})"
    if source.exchange != entry["exchange"]:
        return f"names the exchange {entry['exchange']} but its source trades on {source.exchange}"
    return None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.isclose(a, b, rtol=TOLERANCE, atol=1e-12))


def _reproduction_problems(entries: list[dict], run: SavedRun, path: Path) -> dict[int, str]:
    """Line index -> why its forecast is not what the model makes from its inputs."""
    groups: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(str(entry["inputs"]), []).append(i)
    model, window = run.model, run.model.spec.window
    out: dict[int, str] = {}
    frames: dict[str, pd.DataFrame] = {}
    for inputs, rows in groups.items():
        file = inputs_path(path, inputs)
        try:
            record = json.loads(file.read_bytes())
            frames[inputs] = frame_from_record(record)
        except FileNotFoundError:
            out.update({i: f"read bars kept in {file}, which is missing" for i in rows})
            continue
        except (OSError, ValueError, KeyError, TypeError):
            out.update({i: f"read bars kept in {file}, which is damaged" for i in rows})
            continue
        if digest(record) != inputs:
            out.update({i: f"read bars kept in {file}, which was changed since" for i in rows})
            frames.pop(inputs)
    expected = _expected_calibrations(entries, run, frames, results_path(path))
    for inputs, rows in groups.items():
        if inputs not in frames:
            continue
        frame = frames[inputs]
        ends = frame.index.get_indexer(pd.DatetimeIndex([entries[i]["data_through"] for i in rows]))
        good = [(i, int(e)) for i, e in zip(rows, ends, strict=True) if e >= window]
        for i, e in zip(rows, ends, strict=True):
            if e < window:
                out[i] = f"has data through {entries[i]['data_through']}, not in its inputs"
        for i, e in good:
            if window_hash(frame, e, window) != entries[i]["data_hash"]:
                out[i] = "has a data_hash that differs from the bars it read"
        good = [(i, e) for i, e in good if i not in out]
        if not good:
            continue
        at = np.array([e for _, e in good], dtype=np.int64)
        forecasts = model.predict_next(frame, at)
        dists = model.predict_distribution(frame, at) if model.is_distribution else None
        for k, (i, e) in enumerate(good):
            entry = entries[i]
            if not _close(float(entry["forecast"]), float(forecasts[k])):
                out[i] = (
                    f"has the forecast {entry['forecast']!r} but the model makes "
                    f"{float(forecasts[k])!r} from its bars"
                )
                continue
            last_close = float(frame["Close"].iloc[e])
            out.update(_band_problem(i, entry, dists, k, last_close, expected[i]))
    return out


def _band_problem(
    i: int, entry: dict, dists, k: int, last_close: float, calibration: dict | None
) -> dict[int, str]:
    bands = entry.get("bands")
    if dists is None:
        return {} if bands is None else {i: "has bands though the model forecasts none"}
    mu, sigma, nu = dists
    own = entry.get("calibration")
    if calibration is not None and is_legacy(entry):
        calibration = None  # written before forward bands were calibrated: the model's own
    if calibration is None and own is not None:
        return {i: "has calibrated bands though the run's backtest was not calibrated"}
    if calibration is not None:
        if (
            not isinstance(own, dict)
            or any(
                not _close(own.get(key), value)
                for key, value in calibration.items()
                if key != "from"
            )
            or own.get("from") != calibration["from"]
        ):
            return {
                i: "has bands not calibrated as the run's backtest was (continued over the "
                "outcomes known when it was issued)"
            }
    made = entry_bands(mu[k], sigma[k], None if nu is None else nu[k], last_close, calibration)
    keys = BAND_KEYS + (CALIBRATED_KEYS if calibration is not None else ())
    if not isinstance(bands, dict) or any(not _close(bands.get(key), made[key]) for key in keys):
        return {i: "has bands the model does not reproduce from its bars"}
    return {}


def is_legacy(entry: dict) -> bool:
    """Whether ``entry`` was written by a stockapp that recorded a calibrated run's forward
    bands uncalibrated (no ``calibration``, no ``raw_sigma``): its bands are checked as the
    model's own, and they still count, by their sigma, in the calibration of later entries
    (:func:`~stockapp.session.forward_bands.row_of`), as the writer counts them."""
    bands = entry.get("bands")
    return isinstance(bands, dict) and "calibration" not in entry and "raw_sigma" not in bands


def _expected_calibrations(
    entries: list[dict], run: SavedRun, frames: dict[str, pd.DataFrame], results: Path
) -> list[dict | None]:
    """What each entry's bands should be calibrated with (``None``: not calibrated), from
    the entries' own recorded forecasts and the outcomes known at each one's issue."""
    if not run.calibrator.active:
        return [None] * len(entries)
    scored: dict[str, dict] = {}
    if results.is_file():
        try:
            scored = {r.get("entry"): r for r in parse_lines(results.read_bytes(), results)}
        except LedgerError:
            scored = {}  # reported by the results check
    with_bands = [i for i, e in enumerate(entries) if isinstance(e.get("bands"), dict)]
    try:
        rows = [row_of(entries[i]) for i in with_bands]
    except (KeyError, TypeError, ValueError):
        return [None] * len(entries)  # the band check names the entry

    def known(j: int, i: int) -> float | None:
        entry, at = entries[with_bands[j]], entries[with_bands[i]]
        row = scored.get(entry["hash"])
        if row is not None and _issued(row.get("scored_at")) <= _issued(at["issued_at"]):
            return float(row["realised_return"])
        frame = frames.get(str(at["inputs"]))
        if frame is None:
            return None
        frame = frame[frame.index <= pd.Timestamp(at["data_through"])]
        return outcome_in(frame, entry)

    out: list[dict | None] = [None] * len(entries)
    for i, cal in zip(with_bands, run.calibrator.calibrations(rows, known), strict=True):
        out[i] = cal
    return out


def _issued(text) -> pd.Timestamp:
    try:
        return pd.Timestamp(datetime.fromisoformat(str(text)))
    except ValueError:
        return pd.Timestamp.max.tz_localize("UTC")


def _orphan_result(entries: list[dict], path: Path) -> str | None:
    """A sentence about the first results row that names no entry, if any."""
    if not path.is_file():
        return None
    hashes = {e["hash"] for e in entries}
    try:
        rows = parse_lines(path.read_bytes(), path)
    except LedgerError as exc:
        return str(exc)
    for number, row in enumerate(rows, start=1):
        if row.get("entry") not in hashes:
            return f"{path} line {number} scores an entry that is not in the ledger."
    return None

"""Backtest runs on disk: a folder that reopens the whole backtest without retraining.

A run folder holds ``manifest.json`` (data source and fingerprint, every setting, seed, library
versions, device, timings, and every fit with the bars it learnt from), ``forecasts.csv`` (one
row per test bar), ``metrics.json``, the saved model in ``model/`` (the last fit, and the weights
of every earlier fit, see :mod:`stockapp.models.checkpoint`) and, when a picture was made,
``backtest.png``. Reopening recomputes the scores from ``forecasts.csv`` with the saved settings,
so the numbers shown are the ones saved.

A run is written whole (:func:`~stockapp.core.atomic.replace_folder`): into a hidden folder
beside its target, then swapped in, so saving over an earlier run leaves no file of it behind
and a crash leaves the earlier run as it was. A folder that holds other files is never written
over.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.core.atomic import atomic_open, replace_folder
from stockapp.core.backtest import COLUMNS, OPTIONAL, BacktestResult, FitSummary, assemble_result
from stockapp.core.bars import parse_dates
from stockapp.core.distribution import BandForecasts
from stockapp.core.manifest import RUN_FORMAT, RunManifest
from stockapp.core.trading import TradingRule
from stockapp.errors import BacktestError

__all__ = ["RUN_FORMAT", "RunManifest", "load_run", "save_run"]


def _clean(value):
    """JSON has no NaN: write None instead, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a crash leaves the old file or the new one, never half of one)."""
    with atomic_open(path) as fh:
        json.dump(_clean(data), fh, indent=2, allow_nan=False)


def write_csv(path: Path, frame: pd.DataFrame, **options) -> None:
    """Write a table as CSV atomically (``options`` go to :meth:`pandas.DataFrame.to_csv`)."""
    with atomic_open(path, newline="") as fh:
        frame.to_csv(fh, **options)


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` is a stockapp run: a ``manifest.json`` object with a run format and a
    ``forecasts.csv`` beside it (what :func:`save_run` writes; runs of every version have them)."""
    folder = Path(folder)
    try:
        with open(folder / "manifest.json", encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return (
        isinstance(manifest, dict) and "format" in manifest and (folder / "forecasts.csv").is_file()
    )


def check_run_target(folder: Path) -> None:
    """Refuse, in one sentence, to write a run where it would destroy something else: over a
    file, into a folder that holds files and is not a stockapp run, or over a run whose model
    has a forward record (``forward/ledger.jsonl``: its entries name that model's weights). A
    new or empty folder, or an earlier run (replaced whole), is fine."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BacktestError(f"{folder} is a file; give a folder for the run.")
    if folder.is_dir() and any(folder.iterdir()) and not is_run_folder(folder):
        raise BacktestError(
            f"{folder} holds files and is not a stockapp run, so nothing was written there; "
            "give a new or empty folder (an earlier run's folder is replaced whole)."
        )
    if (folder / "forward" / "ledger.jsonl").is_file():
        raise BacktestError(
            f"{folder} holds a forward record of its model (forward/ledger.jsonl), which a new "
            "run would orphan, so nothing was written there; give another folder."
        )


def save_run(
    folder: Path,
    result: BacktestResult,
    manifest: RunManifest,
    save_model: Callable[[Path], None] | None = None,
    model_name: str = "Model",
    picture: Callable[[Path], None] | None = None,
) -> Path:
    """Write a run folder whole and return it.

    ``manifest`` is completed with what ``result`` says of its fits
    (:meth:`~stockapp.core.manifest.RunManifest.completed`) and written as ``manifest.json``.
    ``save_model(path)`` writes the model into ``path`` (the run's ``model/``) and
    ``picture(path)`` draws ``backtest.png``; both write into the staging folder, so the run
    appears complete or not at all. An earlier run in ``folder`` is replaced, nothing of it
    kept; a folder of other files is refused (:func:`check_run_target`).
    """

    def write(staging: Path) -> None:
        write_csv(staging / "forecasts.csv", result.forecasts_frame(), index=False)
        metrics = result.metrics_dict(model_name)
        if manifest.inputs_dict() is not None:  # other series as inputs (issue 24)
            metrics["inputs"] = manifest.inputs_dict()
        write_json(staging / "metrics.json", metrics)
        write_json(staging / "manifest.json", manifest.completed(result, model_name).to_dict())
        if save_model is not None:
            save_model(staging / "model")
        if picture is not None:
            picture(staging / "backtest.png")

    return write_run_folder(folder, write)


def write_run_folder(folder: Path, write: Callable[[Path], None]) -> Path:
    """Write the run folder ``folder`` whole with ``write(staging)`` and swap it in
    (:func:`~stockapp.core.atomic.replace_folder`): an earlier run there is replaced, a folder
    of other files refused (:func:`check_run_target`), a failure is one sentence."""
    folder = Path(folder)
    check_run_target(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        replace_folder(folder, write)
    except OSError as exc:
        raise BacktestError(f"Could not write the run to {folder}: {exc.strerror or exc}.") from exc
    return folder


def weights_through_note(fits: list[FitSummary]) -> str | None:
    """One sentence on what the fits of a run saved before they recorded ``weights_through``
    lack; ``None`` when every fit records it."""
    if not fits or all(f.weights_through is not None for f in fits):
        return None
    first = fits[0]
    if first.validated_from:
        return (
            "This run was saved before fits recorded weights_through: its first fit's weights "
            f"learnt only from targets before {first.validated_from} (its validation slice only "
            "chose the epoch count), not through the bar before its test span."
        )
    return (
        "This run was saved before fits recorded weights_through, the last bar whose target "
        "each fit's weights learnt from."
    )


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise BacktestError(f"{path.parent} is not a backtest run: it has no {path.name}.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BacktestError(f"{path} is damaged and cannot be read as JSON.") from exc
    if not isinstance(data, dict):
        raise BacktestError(f"{path} is damaged: it does not hold a JSON object.")
    return data


def read_manifest(folder: Path) -> RunManifest:
    """A run folder's ``manifest.json`` as a :class:`RunManifest` (any version); one sentence
    when it is missing, damaged or of a run format this version cannot read."""
    folder = Path(folder)
    path = folder / "manifest.json"
    raw = _read_json(path)
    if raw.get("format") != RUN_FORMAT:
        raise BacktestError(
            f"{folder} was saved in run format {raw.get('format')!r}, which this version "
            f"of stockapp cannot read."
        )
    try:
        return RunManifest.from_dict(raw)
    except (ValueError, TypeError, KeyError) as exc:
        raise BacktestError(f"{folder} is damaged: {exc}.") from exc


def load_run(folder: Path, series: str | None = None) -> tuple[BacktestResult, RunManifest]:
    """Reopen a run folder: ``(result, manifest)``; one-sentence BacktestError if it is broken.

    A run of several targets (issue 24: ``manifest.json`` holds each series' manifest under
    ``series``) opens one series at a time, named by ``series``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BacktestError(f"The run folder {folder} does not exist.")
    manifest = read_manifest(folder)
    several = manifest.extra.get("series")
    if isinstance(several, dict):
        if series not in several:
            names = ", ".join(several)
            raise BacktestError(
                f"{folder} holds a run of {len(several)} series ({names}); name the one to open."
            )
        manifest = RunManifest.from_dict(several[series])
    elif series is not None:
        raise BacktestError(f"{folder} holds a run of one series, not several.")
    path = folder / "forecasts.csv"
    try:
        table = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise BacktestError(f"{folder} is not a backtest run: it has no forecasts.csv.") from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise BacktestError(f"{path} is damaged and cannot be read as CSV.") from exc
    if isinstance(several, dict):
        if "series" not in table.columns:
            raise BacktestError(f"{path} is damaged: it lacks the column series.")
        table = table[table["series"].astype(str) == series].drop(columns="series")
        table = table.dropna(axis=1, how="all").reset_index(drop=True)
    needed = ["date", "realised", *COLUMNS.values()]
    missing = [c for c in needed if c not in table.columns]
    if missing or table.empty:
        raise BacktestError(f"{path} is damaged: it lacks the column {', '.join(missing)}.")
    try:
        dates = parse_dates(table["date"].astype(str))
        forecasts = {k: table[c].to_numpy(np.float64) for k, c in COLUMNS.items()}
        for key, (col, _) in OPTIONAL.items():  # asked-for forecasters (issue 24)
            if col in table.columns:
                forecasts[key] = table[col].to_numpy(np.float64)
        realised = table["realised"].to_numpy(np.float64)
        rule = manifest.rule or TradingRule()
        fits: list[FitSummary] = list(manifest.fits)
        refit_dates = list(parse_dates(list(manifest.refit_dates)))
        ppy = manifest.bars_per_year
    except (ValueError, TypeError, KeyError) as exc:
        raise BacktestError(f"{folder} is damaged: {exc}.") from exc
    result = assemble_result(
        dates=dates,
        realised=realised,
        previous=forecasts["persistence"],
        forecasts=forecasts,
        rule=rule,
        refit_dates=refit_dates or [dates[0]],
        fits=fits,
        periods_per_year=ppy,
    )
    bands = BandForecasts.from_frame(table, result.previous, realised, rule, ppy)
    if bands is not None:
        result = replace(result, bands=bands)
    return result, manifest

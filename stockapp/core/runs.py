"""Backtest runs on disk: a folder that reopens the whole backtest without retraining.

A run folder holds ``manifest.json`` (data source and fingerprint, every setting, seed, library
versions, device, timings), ``forecasts.csv`` (one row per test bar), ``metrics.json``, the saved
model in ``model/`` and, when a picture was made, ``backtest.png``. Reopening recomputes the scores
from ``forecasts.csv`` with the saved settings, so the numbers shown are the ones saved.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.core.backtest import COLUMNS, BacktestResult, FitSummary, assemble_result
from stockapp.core.bars import format_dates, parse_dates
from stockapp.core.distribution import BandForecasts
from stockapp.core.trading import TradingRule
from stockapp.errors import BacktestError

RUN_FORMAT = 1


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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_clean(data), fh, indent=2, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_run(
    folder: Path,
    result: BacktestResult,
    manifest: dict,
    save_model: Callable[[Path], None] | None = None,
    model_name: str = "Model",
) -> Path:
    """Write a run folder (created if needed) and return it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        result.forecasts_frame().to_csv(folder / "forecasts.csv", index=False)
        write_json(folder / "metrics.json", result.metrics_dict(model_name))
        full = dict(manifest)
        full["format"] = RUN_FORMAT
        full["model_name"] = model_name
        full["rule"] = result.rule.to_dict()
        refits = pd.DatetimeIndex(result.refit_dates)
        full["refit_dates"] = format_dates(refits, intraday=result.intraday)
        full["fits"] = [f.to_dict() for f in result.fits]
        write_json(folder / "manifest.json", full)
        if save_model is not None:
            save_model(folder / "model")
    except OSError as exc:
        raise BacktestError(f"Could not write the run to {folder}: {exc.strerror or exc}.") from exc
    return folder


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


def load_run(folder: Path) -> tuple[BacktestResult, dict]:
    """Reopen a run folder: ``(result, manifest)``; one-sentence BacktestError if it is broken."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BacktestError(f"The run folder {folder} does not exist.")
    manifest = _read_json(folder / "manifest.json")
    if manifest.get("format") != RUN_FORMAT:
        raise BacktestError(
            f"{folder} was saved in run format {manifest.get('format')!r}, which this version "
            f"of stockapp cannot read."
        )
    path = folder / "forecasts.csv"
    try:
        table = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise BacktestError(f"{folder} is not a backtest run: it has no forecasts.csv.") from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise BacktestError(f"{path} is damaged and cannot be read as CSV.") from exc
    needed = ["date", "realised", *COLUMNS.values()]
    missing = [c for c in needed if c not in table.columns]
    if missing or table.empty:
        raise BacktestError(f"{path} is damaged: it lacks the column {', '.join(missing)}.")
    try:
        dates = parse_dates(table["date"].astype(str))
        forecasts = {k: table[c].to_numpy(np.float64) for k, c in COLUMNS.items()}
        realised = table["realised"].to_numpy(np.float64)
        rule = TradingRule.from_dict(manifest.get("rule", {}))
        fits = [FitSummary(**f) for f in manifest.get("fits", [])]
        refit_dates = list(parse_dates(manifest.get("refit_dates", [])))
        ppy = float(manifest.get("periods_per_year", 252.0))
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

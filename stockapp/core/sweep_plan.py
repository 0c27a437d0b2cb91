"""A sweep's plan and its files: the grid, the spans, content-hash run keys, atomic run folders.

A sweep runs one ordinary walk-forward backtest per (series, configuration, seed). Each run is
keyed by a SHA-256 of what determines its numbers: the data fingerprint, every setting, the other
series and calendar inputs (names, features, fingerprints), the seed and the stockapp version (not
the device or the number of workers), so a sweep resumed with other inputs runs anew. A run is
written into a ``.partial-*`` folder beside ``runs/<key>/`` and renamed into place when complete,
so a folder named by a key is always whole; a sweep that was interrupted leaves only whole runs plus
``.partial-*`` leftovers, which the next sweep deletes unread.

**Spans.** The last ``test_fraction`` of the bars is the test span; the ``selection_fraction``
just before it is the selection span. Each run's backtest starts at the selection span, so its
forecasts of both spans come from the same walk-forward models, fitted on bars before each
forecast only; configurations are ranked on the selection span's scores, and the chosen one is
scored on the test span (see :mod:`stockapp.core.selection`).

Everything here is plain Python/numpy/pandas; the models layer turns the dictionaries into
training objects.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stockapp.core.atomic import atomic_open, rename
from stockapp.core.covariates import Covariate
from stockapp.errors import BacktestError, StockappError

#: Grid settings that belong to the feature spec, the backtest, or else the training config.
SPEC_KEYS = ("window", "features", "target", "adjusted")
BACKTEST_KEYS = ("refit_every", "refit_mode", "refit_epochs", "refit_bars", "rolling_bars")
#: The order of settings in results.csv and in configuration labels.
SETTING_ORDER = (
    "model",
    "window",
    "hidden",
    "layers",
    "dropout",
    "lr",
    "epochs",
    "target",
    "features",
    "refit_every",
)
RESULT_COLUMNS = (
    "series",
    "key",
    *SETTING_ORDER,
    "seed",
    "rmse",
    "naive_rmse",
    "rmse_ratio",
    "dm_pvalue",
    "dm_pvalue_holm",
    "dm_better_pvalue",
    "dm_better_pvalue_holm",
    "verdict",
    "pt_pvalue",
    "directional_accuracy",
    "strategy_sharpe",
    "buyhold_sharpe",
    "selection_rmse_ratio",
    "train_seconds",
    "status",
    "error",
)
#: Columns added after sweeps were first written: a results.csv without them still opens, with
#: them empty (the signed verdicts, issue 18).
ADDED_COLUMNS = ("dm_better_pvalue", "dm_better_pvalue_holm", "verdict")
#: The row a finished run keeps in its folder; a folder without it is not a finished run.
ROW_FILE = "sweep_row.json"
PARTIAL_PREFIX = ".partial-"


@dataclass(frozen=True)
class Spans:
    """Bar positions: selection span ``[selection_start, test_start)``, test span to the end."""

    selection_start: int
    test_start: int
    n_bars: int
    selection_from: str  # ISO dates (timestamps for intraday bars) of the spans' ends
    selection_to: str
    test_from: str
    test_to: str

    @property
    def selection_bars(self) -> int:
        return self.test_start - self.selection_start

    def describe(self) -> str:
        return (
            f"chosen on {self.selection_from} .. {self.selection_to}, "
            f"scored on {self.test_from} .. {self.test_to}"
        )

    def to_dict(self) -> dict:
        return {
            "selection_from": self.selection_from,
            "selection_to": self.selection_to,
            "test_from": self.test_from,
            "test_to": self.test_to,
            "selection_bars": self.selection_bars,
            "test_bars": self.n_bars - self.test_start,
        }


def plan_spans(dates: pd.DatetimeIndex, test_fraction: float, selection_fraction: float) -> Spans:
    """The selection and test spans of a series (fractions of all its bars)."""
    from stockapp.core.bars import format_dates, is_intraday

    for name, value in (("test", test_fraction), ("selection", selection_fraction)):
        if not 0.0 < value < 1.0:
            raise BacktestError(f"The {name} fraction must be between 0 and 1, not {value}.")
    n = len(dates)
    n_test = max(1, int(round(n * test_fraction)))
    n_sel = max(1, int(round(n * selection_fraction)))
    sel = n - n_test - n_sel
    if sel < 1:
        raise BacktestError(
            f"The selection and test spans take all {n} bars; use smaller fractions."
        )
    stamps = format_dates(
        dates[[sel, n - n_test - 1, n - n_test, n - 1]], intraday=is_intraday(dates)
    )
    return Spans(sel, n - n_test, n, *stamps)


def expand_grid(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, in a stable order (first key varies slowest)."""
    for name, values in grid.items():
        if not values:
            raise StockappError(f"Give at least one value for {name}.")
    names = [k for k in SETTING_ORDER if k in grid] + [k for k in grid if k not in SETTING_ORDER]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(grid[k] for k in names))
    ]


def varied_settings(configs: list[dict]) -> set[str]:
    """The settings whose values differ between ``configs`` (a grid's lists longer than one)."""
    names = {name for config in configs for name in config}
    return {
        name
        for name in names
        if len({json.dumps(c.get(name), sort_keys=True) for c in configs}) > 1
    }


def split_settings(
    config: dict, spec: dict, train: dict, backtest: dict
) -> tuple[dict, dict, dict]:
    """Copies of the base dictionaries with a configuration's values put where they belong."""
    spec, train, backtest = dict(spec), dict(train), dict(backtest)
    for name, value in config.items():
        if name in SPEC_KEYS:
            spec[name] = list(value) if name == "features" else value
        elif name in BACKTEST_KEYS:
            backtest[name] = value
        else:
            train[name] = value
    return spec, train, backtest


def inputs_record(covariates: Sequence[Covariate], calendar: Sequence[str]) -> dict:
    """The other series and calendar inputs every run of a sweep reads, as ``summary.json``
    records them: each series' name, features and source identity (fingerprint...)."""
    return {
        "covariates": [
            {"name": c.name, "features": list(c.features), **c.identity} for c in covariates
        ],
        "calendar": list(calendar),
    }


#: What of an input determines a run's numbers (where it was read from does not).
_INPUT_KEYS = ("name", "features", "fingerprint", "adjusted")


def _keyed_inputs(inputs: dict | None) -> dict | None:
    """What of an :func:`inputs_record` a run key hashes; ``None`` without inputs."""
    if not inputs or not (inputs.get("covariates") or inputs.get("calendar")):
        return None
    return {
        "covariates": [{k: c.get(k) for k in _INPUT_KEYS} for c in inputs.get("covariates", ())],
        "calendar": list(inputs.get("calendar", ())),
    }


def _inputs_text(inputs: dict) -> str:
    named = [f"{c.get('name')}:{','.join(c.get('features', ()))}" for c in inputs["covariates"]]
    if inputs["calendar"]:
        named.append("calendar " + ",".join(inputs["calendar"]))
    return "; ".join(named) or "none"


def inputs_change(earlier: dict | None, now: dict) -> str:
    r"""One sentence when the sweep last written to a folder read other inputs than ``now``
    (both :func:`inputs_record`\ s; ``earlier`` ``None`` for a new folder), else ``""``."""
    if earlier is None:
        return ""
    before = {"covariates": earlier.get("covariates", []), "calendar": earlier.get("calendar", [])}
    if _keyed_inputs(before) == _keyed_inputs(now):
        return ""
    return (
        f"The sweep written here before read other inputs ({_inputs_text(before)}, now "
        f"{_inputs_text(now)}); runs are keyed by their inputs, so these runs are its own and "
        "the earlier ones stay in runs/ but out of results.csv."
    )


def run_key(
    fingerprint: str,
    spec: dict,
    train: dict,
    backtest: dict,
    seed: int,
    version: str,
    inputs: dict | None = None,
) -> str:
    """A content hash of what determines a run's numbers (the device is left out), the other
    series and calendar inputs (an :func:`inputs_record`) included when there are any."""
    train = {k: v for k, v in train.items() if k != "device"}
    payload = {
        "data": fingerprint,
        "feature_spec": spec,
        "train_config": train,
        "backtest": backtest,
        "seed": seed,
        "stockapp": version,
    }
    keyed = _keyed_inputs(inputs)
    if keyed is not None:  # without inputs, the keys sweeps had before them
        payload["inputs"] = keyed
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def config_label(config: dict, varied: set[str] | None = None) -> str:
    """``GRU, window 20, 32 units`` (+ the other settings that vary in the sweep)."""
    parts = [str(config.get("model", "model")).upper()]
    if "window" in config:
        parts.append(f"window {config['window']}")
    if "hidden" in config:
        parts.append(f"{config['hidden']} units")
    words = {
        "layers": "{} layers",
        "dropout": "dropout {}",
        "lr": "lr {:g}",
        "epochs": "{} epochs",
        "target": "{} target",
        "features": "features {}",
        "refit_every": "refit every {}",
    }
    for name, fmt in words.items():
        if name in config and (varied is None or name in varied):
            value = config[name]
            if name == "features" and not isinstance(value, str):
                value = "+".join(value)
            parts.append(fmt.format(value))
    return ", ".join(parts)


# -- run folders ---------------------------------------------------------------------------


@dataclass
class RunsFolder:
    """``<out>/runs``: finished runs by key, plus ``.partial-*`` folders being written."""

    root: Path
    removed_partials: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BacktestError(f"Could not create {self.root}: {exc.strerror or exc}.") from exc

    def clean_partials(self) -> list[str]:
        """Delete what an interrupted sweep left half-written; returns the names removed."""
        gone = []
        # The run folders' partials, and what a run's own write left beside one (core.atomic).
        leftovers = [
            *self.root.glob(PARTIAL_PREFIX + "*"),
            *self.root.glob("." + PARTIAL_PREFIX + "*"),
        ]
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path.name)
        self.removed_partials.extend(gone)
        return gone

    def folder(self, key: str) -> Path:
        return self.root / key

    def finished_row(self, key: str) -> dict | None:
        """The row a finished run saved, or ``None`` when the run is absent or unreadable."""
        path = self.root / key / ROW_FILE
        try:
            with open(path, encoding="utf-8") as fh:
                row = json.load(fh)
        except (OSError, ValueError):
            return None
        return row if isinstance(row, dict) and row.get("status") == "ok" else None

    def partial(self, key: str) -> Path:
        """A fresh private folder to write the run ``key`` into."""
        path = self.root / f"{PARTIAL_PREFIX}{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def commit(self, partial: Path, key: str, row: dict) -> Path:
        """Write the row into ``partial`` and rename it to ``runs/<key>`` in one step."""
        from stockapp.core.runs import write_json

        write_json(partial / ROW_FILE, row)
        final = self.root / key
        if final.exists():  # a stale folder without a row, or the same run finished elsewhere
            if self.finished_row(key) is not None:
                shutil.rmtree(partial, ignore_errors=True)
                return final
            shutil.rmtree(final)
        return rename(partial, final)


def write_results_csv(path: Path, rows: list[dict]) -> None:
    """``results.csv``: one row per run in :data:`RESULT_COLUMNS` order, written atomically."""
    with atomic_open(Path(path), newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(RESULT_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in RESULT_COLUMNS})


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    if isinstance(value, float) and value != value:
        return ""
    return value


def read_sweep(folder: Path) -> tuple[pd.DataFrame, dict]:
    """Reopen a sweep folder without retraining: ``(results table, summary)``.

    Raises a one-sentence :class:`BacktestError` when the folder is not a finished sweep.
    """
    folder = Path(folder)
    try:
        table = pd.read_csv(folder / "results.csv", dtype={"key": str, "error": str})
        with open(folder / "summary.json", encoding="utf-8") as fh:
            summary = json.load(fh)
    except FileNotFoundError as exc:
        raise BacktestError(
            f"{folder} is not a sweep folder: it has no {Path(exc.filename).name}."
        ) from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise BacktestError(f"The sweep in {folder} is damaged and cannot be read.") from exc
    missing = [c for c in RESULT_COLUMNS if c not in table.columns and c not in ADDED_COLUMNS]
    if missing or not isinstance(summary, dict) or "series" not in summary:
        raise BacktestError(f"The sweep in {folder} is damaged: its results lack {missing[:1]}.")
    for column in ADDED_COLUMNS:
        if column not in table.columns:
            table[column] = None
    return table, summary

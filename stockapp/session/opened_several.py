"""A backtest of several series opened from its run folder (issue 24's gap: the window could
only say which series the folder held).

``stockapp backtest --csv A --csv B ...`` and the window's several-series backtests write one
folder for all of them: ``forecasts.csv`` with a ``series`` column, ``metrics.json`` with each
series' scores under ``series`` and the cross-section's, and ``manifest.json`` with each series'
manifest (:class:`~stockapp.models.several.SeveralOutcome`). :func:`open_several` reads every
series back with :func:`~stockapp.core.runs.load_run` and scores the cross-section again from
the forecasts read (the same function the run used), so the window shows what was saved, in
the shape it shows a backtest of several series just run: the first series, a list to switch,
and the *Across series* page. No model is loaded: nothing here imports PyTorch.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockapp.core.cross_section import CrossSection, cross_section_scores, returns_panel
from stockapp.core.runs import load_run, read_manifest, write_run_folder
from stockapp.errors import BacktestError


@dataclass(frozen=True)
class OpenedSeries:
    """One series of an opened run: what a ``BacktestOutcome`` shows, without its model."""

    result: Any
    model_name: str
    manifest: Any


@dataclass(frozen=True)
class OpenedSeveral:
    """Every series of a several-series run folder, as a ``SeveralOutcome`` is shown."""

    outcomes: dict[str, OpenedSeries]
    cross_section: CrossSection | None
    one_network: bool
    notes: tuple[str, ...]
    folder: Path
    #: Shown from disk: the series have no model in memory (``Results.of_series`` reads it).
    opened = True

    def save(self, folder: Path) -> Path:
        """Save the run again at ``folder``: its files copied whole (nothing is recomputed),
        swapped in as every run folder is; its own folder is left as it is."""
        folder = Path(folder)
        if folder.resolve() == self.folder.resolve():
            return folder
        source = self.folder

        def write(staging: Path) -> None:
            shutil.copytree(source, staging, dirs_exist_ok=True, copy_function=shutil.copyfile)

        return write_run_folder(folder, write)


def series_in_run(folder: Path, manifest: Any = None) -> list[str]:
    """The series a run folder holds when it is a run of several ([] for a run of one);
    ``manifest``, when given, is the folder's, already read."""
    several = (manifest or read_manifest(Path(folder))).extra.get("series")
    return list(several) if isinstance(several, dict) else []


def open_several(folder: Path) -> OpenedSeveral:
    """Every series of the several-series run in ``folder``; one-sentence BacktestError if it is
    not one, or is damaged."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    names = series_in_run(folder, manifest)
    if not names:
        raise BacktestError(f"{folder} holds a run of one series, not several.")
    outcomes = {}
    for name in names:
        result, one = load_run(folder, name)
        outcomes[name] = OpenedSeries(result, one.shown_model_name, one)
    cross = None
    if len(outcomes) >= 3:
        first = next(iter(outcomes.values()))
        f, r = returns_panel({n: o.result for n, o in outcomes.items()})
        cross = cross_section_scores(f, r, first.result.rule.cost_bps, first.manifest.bars_per_year)
    several = manifest.extra.get("several")
    one_network = bool(several.get("global")) if isinstance(several, dict) else False
    return OpenedSeveral(outcomes, cross, one_network, _notes(folder), folder)


def _notes(folder: Path) -> tuple[str, ...]:
    """The run's notes (bars left out to align the series), from its ``metrics.json``."""
    try:
        notes = json.loads((folder / "metrics.json").read_text(encoding="utf-8")).get("notes")
    except (OSError, ValueError, AttributeError):
        return ()
    return tuple(str(n) for n in notes) if isinstance(notes, list) else ()

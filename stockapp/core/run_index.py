"""The runs folder as a library: list saved runs, name new ones, rename them, move them to trash.

A run folder (:mod:`stockapp.core.runs`) records everything needed to list it: ``manifest.json``
names the data and the model, ``metrics.json`` the test span and the scores. Listing reads only
those two small files, never ``forecasts.csv``, so a folder of hundreds of runs lists at once.

Deleting is reversible: a run moves into the ``.trash`` folder inside the runs folder (hidden,
and skipped by :func:`list_runs`) and :func:`restore_run` moves it back. Nothing here imports Qt.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stockapp.core.manifest import RunManifest
from stockapp.errors import BacktestError

#: The trash folder inside the runs folder; names starting with "." are never listed as runs.
TRASH = ".trash"


@dataclass(frozen=True)
class RunSummary:
    """One saved run as the runs list shows it; a number is NaN when the run does not record it.

    ``problem`` is a sentence when the folder could not be read as a run (the other fields are
    then mostly empty), so a damaged run is listed, not silently hidden.
    """

    folder: Path
    data: str = ""
    model: str = ""
    first_date: str = ""
    last_date: str = ""
    rmse_ratio: float = math.nan
    pt_pvalue: float = math.nan
    dm_pvalue: float = math.nan
    strategy_return: float = math.nan
    buyhold_return: float = math.nan
    created: datetime | None = None
    problem: str = ""

    @property
    def name(self) -> str:
        """The folder's name, which is the run's name."""
        return self.folder.name

    @property
    def span(self) -> str:
        """The test span, ``"2021-01-04 to 2023-12-29"`` ("" when unknown)."""
        return f"{self.first_date} to {self.last_date}" if self.first_date else ""


def _number(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _read(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def run_time(manifest: RunManifest) -> datetime | None:
    """When the run was made (its manifest's ``created``), in this machine's time zone; ``None``
    when it is not recorded. Both a run's default name and the Runs list's Date column read
    this one instant, so they cannot disagree."""
    text = manifest.created
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone()  # a naive time is taken as local, an aware one converted


def _created(manifest: RunManifest, folder: Path) -> datetime | None:
    when = run_time(manifest)
    if when is not None:
        return when
    try:
        return datetime.fromtimestamp((folder / "manifest.json").stat().st_mtime).astimezone()
    except OSError:
        return None


def read_summary(folder: Path) -> RunSummary:
    """Summarise the run in ``folder`` from its manifest and metrics (never raises)."""
    folder = Path(folder)
    try:
        manifest = RunManifest.from_dict(_read(folder / "manifest.json"))
        metrics = _read(folder / "metrics.json")
    except FileNotFoundError as exc:
        return RunSummary(folder, problem=f"This run lacks {Path(str(exc.filename)).name}.")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        return RunSummary(folder, problem="This run's manifest or metrics file is damaged.")
    several = manifest.extra.get("series")
    if isinstance(several, dict) and several:  # several targets (issue 24): named together
        first = RunManifest.from_dict(next(iter(several.values())))
        glob = " (one network)" if (manifest.extra.get("several") or {}).get("global") else ""
        # the test span covering every series' (no one score stands for them all: those are
        # on the Across series page once opened)
        each = metrics.get("series") if isinstance(metrics.get("series"), dict) else {}
        spans = [m for m in each.values() if isinstance(m, dict)]
        firsts = sorted(str(m["first_date"])[:10] for m in spans if m.get("first_date"))
        lasts = sorted(str(m["last_date"])[:10] for m in spans if m.get("last_date"))
        return RunSummary(
            folder=folder,
            data=", ".join(str(k) for k in several),
            model=(first.model_name or "") + glob,
            first_date=firsts[0] if firsts and lasts else "",
            last_date=lasts[-1] if firsts and lasts else "",
            created=_created(manifest, folder),
        )
    strategy = metrics.get("strategy") if isinstance(metrics.get("strategy"), dict) else {}
    hold = metrics.get("buy_and_hold") if isinstance(metrics.get("buy_and_hold"), dict) else {}
    rmse, naive = _number(metrics.get("rmse")), _number(metrics.get("naive_rmse"))
    return RunSummary(
        folder=folder,
        data=manifest.data_name,
        model=manifest.model_name or "",
        first_date=str(metrics.get("first_date", ""))[:10],
        last_date=str(metrics.get("last_date", ""))[:10],
        rmse_ratio=rmse / naive if naive > 0 else math.nan,
        pt_pvalue=_number(metrics.get("pt_pvalue")),
        dm_pvalue=_number(metrics.get("dm_pvalue")),
        strategy_return=_number(strategy.get("total_return")),
        buyhold_return=_number(hold.get("total_return")),
        created=_created(manifest, folder),
    )


def list_runs(root: Path) -> list[RunSummary]:
    """Every run folder directly inside ``root`` (a folder with a ``manifest.json``), newest
    first; the trash and other hidden folders are skipped. A missing ``root`` has no runs."""
    root = Path(root)
    try:
        folders = [
            p
            for p in root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists()
        ]
    except OSError:
        return []
    runs = [read_summary(p) for p in folders]

    def newest(run: RunSummary) -> tuple[float, str]:
        return (-math.inf if run.created is None else run.created.timestamp()), run.name

    return sorted(runs, key=newest, reverse=True)


def slug(text: str) -> str:
    """``text`` reduced to letters, digits, ``.``, ``_`` and ``-`` (safe in a folder name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-_.")


def default_run_name(data: str, model: str, when: datetime) -> str:
    """A readable folder name: ticker, model, date and time, ``AAPL_LSTM_2026-11-30_09-12``.

    ``when`` is the run's :func:`run_time` (when it was made, not when it is saved)."""
    parts = [slug(data) or "data", slug(model) or "model", when.strftime("%Y-%m-%d_%H-%M")]
    return "_".join(parts)


def free_folder(root: Path, name: str) -> Path:
    """``root / name``, or ``root / name-2``, ``-3``... when that is taken."""
    candidate = Path(root) / name
    n = 2
    while candidate.exists():
        candidate = Path(root) / f"{name}-{n}"
        n += 1
    return candidate


def check_name(name: str) -> str:
    """The stripped ``name`` if it can name a run folder; one-sentence BacktestError if not."""
    name = name.strip()
    if not name:
        raise BacktestError("A run needs a name; type one.")
    if name.startswith(".") or re.search(r'[/\\:*?"<>|\x00-\x1f]', name):
        raise BacktestError(
            f"'{name}' cannot name a folder; use letters, digits, spaces, '-' or '_' and do not "
            "start with a dot."
        )
    return name


def rename_run(folder: Path, new_name: str) -> Path:
    """Rename the run ``folder`` within its parent; returns the new folder."""
    folder = Path(folder)
    new_name = check_name(new_name)
    target = folder.parent / new_name
    if target == folder:
        return folder
    if target.exists():
        raise BacktestError(f"There is already a run called '{new_name}'; choose another name.")
    try:
        folder.rename(target)
    except OSError as exc:
        raise BacktestError(
            f"Could not rename the run {folder.name}: {exc.strerror or exc}."
        ) from exc
    return target


def trash_run(folder: Path) -> Path:
    """Move the run ``folder`` into the trash folder beside it; returns where it now lies."""
    folder = Path(folder)
    trash = folder.parent / TRASH
    try:
        trash.mkdir(exist_ok=True)
        target = free_folder(trash, folder.name)
        shutil.move(str(folder), str(target))
    except OSError as exc:
        raise BacktestError(
            f"Could not move the run {folder.name} to the trash: {exc.strerror or exc}."
        ) from exc
    return target


def restore_run(trashed: Path, name: str | None = None) -> Path:
    """Move a run back from the trash into the runs folder (as ``name``, by default the name it
    had; with ``-2``... when a run of that name was saved since); returns the restored folder."""
    trashed = Path(trashed)
    root = trashed.parent.parent
    target = free_folder(root, name or trashed.name)
    try:
        shutil.move(str(trashed), str(target))
    except OSError as exc:
        raise BacktestError(
            f"Could not restore the run {trashed.name}: {exc.strerror or exc}."
        ) from exc
    return target

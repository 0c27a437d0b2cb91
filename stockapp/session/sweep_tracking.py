"""Logging a sweep's runs to MLflow (``stockapp sweep --mlflow [URI]``; an optional extra:
``pip install 'stockapp[mlflow]'``).

The sweep folder stays the record stockapp reads; MLflow gets a copy for those who already
track experiments there. One MLflow experiment per sweep folder (``stockapp sweep: <folder>``);
in it, one MLflow run per stockapp run, tagged with its key, holding its settings (params), its
scores (metrics: the test span's, ``selection_rmse_ratio``, the Holm-adjusted p-values, the
training time) and its ``metrics.json``, ``forecasts.csv`` and ``manifest.json``; plus one run
tagged ``stockapp.kind = summary`` with ``summary.json``, ``results.csv`` and each series' SPA p
and verdict. Logging again (a resumed sweep) adds the new runs and updates the scores of those
logged before (Holm's adjustment changes as configurations are added); nothing is logged twice.

The default store is an SQLite file in the sweep folder (``sqlite:///<folder>/mlflow.db``, the
artefacts beside it in ``mlartifacts/``): MLflow 3 refuses the plain ``./mlruns`` file store
unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set. Read it with ``mlflow ui --backend-store-uri
sqlite:///<folder>/mlflow.db`` (the full ``mlflow`` package). MLflow is imported here only, and
only when ``--mlflow`` is given.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockapp.core.sweep_plan import SETTING_ORDER
from stockapp.errors import StockappError

INSTALL = "pip install 'stockapp[mlflow]'"
DB_FILE = "mlflow.db"
ARTIFACTS = "mlartifacts"
#: The files of a run folder copied to its MLflow run.
RUN_FILES = ("metrics.json", "forecasts.csv", "manifest.json")
SUMMARY_FILES = ("summary.json", "results.csv")
METRICS = (
    "rmse",
    "naive_rmse",
    "rmse_ratio",
    "selection_rmse_ratio",
    "dm_pvalue",
    "dm_pvalue_holm",
    "dm_better_pvalue",
    "dm_better_pvalue_holm",
    "pt_pvalue",
    "directional_accuracy",
    "strategy_sharpe",
    "buyhold_sharpe",
    "train_seconds",
)
KEY_TAG = "stockapp.key"
KIND_TAG = "stockapp.kind"


def default_uri(out: Path) -> str:
    """``sqlite:////abs/<out>/mlflow.db``: a local store inside the sweep folder."""
    return f"sqlite:///{(Path(out).resolve() / DB_FILE).as_posix()}"


def load_mlflow() -> Any:
    """The ``mlflow`` module, or one sentence naming the install command."""
    try:
        import mlflow
    except ImportError:
        raise StockappError(
            f"--mlflow needs MLflow, which is not installed: {INSTALL} (or pip install "
            "mlflow-skinny sqlalchemy alembic)."
        ) from None
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no INFO lines about its tables
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return mlflow


@contextmanager
def _quiet():
    """MLflow's SQL store trips SQLAlchemy 2.1's deprecation warnings (third-party noise
    printed to a user who can do nothing about it); the network tries are bounded."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@dataclass
class Tracker:
    """An MLflow client and the experiment of one sweep folder."""

    client: Any
    experiment_id: str
    uri: str
    experiment: str
    out: Path


@dataclass(frozen=True)
class Logged:
    added: int
    updated: int
    uri: str
    experiment: str

    def describe(self) -> str:
        return (
            f"MLflow: {self.added} runs logged, {self.updated} updated, in experiment "
            f"'{self.experiment}' at {self.uri}."
        )


def open_tracker(out: Path, uri: str | None = None) -> Tracker:
    """Connect to ``uri`` (default: :func:`default_uri`) and find or create the sweep folder's
    experiment; one sentence when MLflow is missing or the store cannot be used. Called before
    the sweep trains, so a bad URI costs nothing."""
    mlflow = load_mlflow()
    out = Path(out)
    local = not uri
    uri = default_uri(out) if local else str(uri)
    name = f"stockapp sweep: {out.resolve().as_posix()}"
    try:
        with _quiet():
            if local:
                out.mkdir(parents=True, exist_ok=True)
            client = mlflow.tracking.MlflowClient(tracking_uri=uri)
            found = client.get_experiment_by_name(name)
            if found is not None:
                experiment_id = found.experiment_id
            else:
                where = (out.resolve() / ARTIFACTS).as_uri() if local else None
                experiment_id = client.create_experiment(name, artifact_location=where)
    except Exception as exc:  # MlflowException, OSError, a refused connection: one sentence
        raise StockappError(f"MLflow could not use {uri}: {_first_sentence(exc)}") from exc
    return Tracker(client, experiment_id, uri, name, out)


def log_sweep(tracker: Tracker, rows: list[dict], summary: dict) -> Logged:
    """Log every run in ``rows`` (finished or failed) and the sweep's summary."""
    from mlflow.entities import Metric, Param, RunTag

    client, out = tracker.client, tracker.out
    added = updated = 0
    # MLflow shows the value with the latest (step, timestamp): a resumed sweep's new Holm p
    # must carry a later timestamp than the first one's to replace it, whichever is larger.
    now = int(time.time() * 1000)
    try:
        with _quiet():
            logged = _logged_runs(tracker)
            for row in rows:
                metrics = [
                    Metric(name, float(row[name]), now, 0)
                    for name in METRICS
                    if _finite(row.get(name))
                ]
                tags = [
                    RunTag(KEY_TAG, str(row["key"])),
                    RunTag("stockapp.series", str(row["series"])),
                    RunTag("stockapp.status", str(row.get("status"))),
                    RunTag("stockapp.verdict", str(row.get("verdict") or "")),
                    RunTag("stockapp.error", str(row.get("error") or "")[:5000]),
                ]
                before = logged.get(str(row["key"]))
                if before is None:
                    run = client.create_run(tracker.experiment_id, run_name=_run_name(row))
                    run_id = run.info.run_id
                    params = [Param(k, str(v)) for k, v in _params(row).items()]
                    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
                    added += 1
                else:
                    run_id = before.info.run_id
                    client.log_batch(run_id, metrics=metrics, tags=tags)
                    updated += 1
                was_ok = before is not None and before.data.tags.get("stockapp.status") == "ok"
                if row.get("status") == "ok" and not was_ok:
                    _log_files(client, run_id, out / "runs" / str(row["key"]), RUN_FILES)
                if before is None:
                    status = "FINISHED" if row.get("status") == "ok" else "FAILED"
                    client.set_terminated(run_id, status=status)
            _log_summary(tracker, summary)
    except StockappError:
        raise
    except Exception as exc:
        raise StockappError(
            f"MLflow could not log to {tracker.uri}: {_first_sentence(exc)} The sweep's own "
            f"results are in {out}."
        ) from exc
    return Logged(added, updated, tracker.uri, tracker.experiment)


def _logged_runs(tracker: Tracker) -> dict[str, Any]:
    """The MLflow runs of this experiment by their stockapp key."""
    runs: dict[str, Any] = {}
    token = None
    while True:
        page = tracker.client.search_runs(
            [tracker.experiment_id], max_results=1000, page_token=token
        )
        for run in page:
            key = run.data.tags.get(KEY_TAG)
            if key:
                runs[key] = run
        token = page.token
        if not token:
            return runs


def _log_summary(tracker: Tracker, summary: dict) -> None:
    from mlflow.entities import Metric, RunTag

    client = tracker.client
    found = client.search_runs(
        [tracker.experiment_id], filter_string=f"tags.`{KIND_TAG}` = 'summary'", max_results=1
    )
    if found:
        run_id = found[0].info.run_id
    else:
        run_id = client.create_run(tracker.experiment_id, run_name="summary").info.run_id
    metrics, tags = [], [RunTag(KIND_TAG, "summary")]
    now = int(time.time() * 1000)
    for entry in summary.get("series", []):
        name = _safe(str(entry.get("series")))
        for field in ("spa_pvalue", "configurations_tried", "runs"):
            if _finite(entry.get(field)):
                metrics.append(Metric(f"{name}.{field}", float(entry[field]), now, 0))
        tags.append(RunTag(f"verdict.{name}", str(entry.get("verdict", ""))[:5000]))
    search = summary.get("search") or {"method": "grid"}
    tags.append(RunTag("stockapp.search", str(search.get("method"))))
    client.log_batch(run_id, metrics=metrics, tags=tags)
    _log_files(client, run_id, tracker.out, SUMMARY_FILES)
    if not found:
        client.set_terminated(run_id)


def _log_files(client: Any, run_id: str, folder: Path, names: tuple[str, ...]) -> None:
    for name in names:
        path = folder / name
        if path.is_file():
            client.log_artifact(run_id, str(path))


def _params(row: dict) -> dict:
    params = {k: row[k] for k in SETTING_ORDER if row.get(k) not in (None, "")}
    params.update(row.get("config") or {})
    params["seed"] = row.get("seed")
    params["series"] = row.get("series")
    return {
        k: "+".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in params.items()
    }


def _run_name(row: dict) -> str:
    config = row.get("config") or {}
    settings = ", ".join(f"{k} {v}" for k, v in config.items())
    return f"{row.get('series')}: {settings}, seed {row.get('seed')}"[:250]


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _safe(name: str) -> str:
    """A series name as an MLflow key may spell it (letters, digits, ``_-. /``)."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", name) or "series"


def _first_sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    end = text.find(". ")
    text = text if end < 0 else text[: end + 1]
    return text if text.endswith(".") else text + "."

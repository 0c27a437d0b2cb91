"""The run-folder contract of issue 4 that scripts and other programs depend on, in one place.

``forecasts.csv`` and ``metrics.json`` must keep at least these columns and keys, whoever writes
them (the core, the command line or the window).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FORECAST_COLUMNS = (
    "date",
    "realised",
    "forecast",
    "naive",
    "position",
    "strategy_equity",
    "buyhold_equity",
)
METRIC_KEYS = (
    "rmse",
    "mae",
    "mape",
    "directional_accuracy",
    "naive_rmse",
    "skill",
    "dm_pvalue",
    "up_share",
    "pt_pvalue",
)
#: Keys of each forecaster in ``metrics.json``'s "forecasters" (model and every baseline).
FORECASTER_KEYS = ("rmse", "directional_accuracy", "direction_pvalue", "up_share", "pt_pvalue")
EQUITY_KEYS = ("total_return", "sharpe", "max_drawdown")


def check_run_files(folder: Path) -> tuple[pd.DataFrame, dict]:
    """Assert ``folder`` holds the contract's files; return the forecasts table and metrics."""
    table = pd.read_csv(folder / "forecasts.csv")
    missing = [c for c in FORECAST_COLUMNS if c not in table.columns]
    assert not missing, f"forecasts.csv lacks {missing}"
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    missing = [k for k in METRIC_KEYS if k not in metrics]
    assert not missing, f"metrics.json lacks {missing}"
    for side in ("strategy", "buy_and_hold"):
        assert set(EQUITY_KEYS) <= set(metrics[side]), f"metrics.json {side} lacks a key"
    always = {"model", "persistence", "drift", "ar"}
    # ridge on the model's inputs only when asked for (issue 24)
    assert always <= set(metrics["forecasters"]) <= always | {"ridge"}
    for key, scores in metrics["forecasters"].items():
        assert set(FORECASTER_KEYS) <= set(scores), f"metrics.json forecaster {key} lacks a key"
    assert (folder / "manifest.json").is_file()
    return table, metrics

"""The scripts that write the README's result blocks write them whole, signed (issues 18, 19)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(label: str, better: float, holm: float, verdict: str) -> dict:
    test = {"dm_better_pvalue": better, "dm_better_pvalue_holm": holm, "verdict": verdict}
    return {"configuration": label, "ensemble_test": test}


def test_sweep_table_names_the_chosen_one_s_signed_test_and_spa_s_strongest(tmp_path):
    sweep_table = _script("sweep_table")
    chosen = _config("LSTM, 32 units", 0.031, 0.062, "tie")
    strongest = _config("LSTM, 16 units", 0.005, 0.021, "better")
    summary = {
        "series": [
            {
                "series": "SPY",
                "configurations_tried": 2,
                "configurations": [chosen, strongest],
                "chosen": {**chosen, "test_rmse_ratio_mean": 0.99551},
                "spa_pvalue": 0.005,
                "verdict": "Best of 2 configurations on SPY: " + "word " * 40,
            }
        ]
    }
    block = sweep_table.table(summary)
    assert block.splitlines()[2] == (
        "| SPY | LSTM, 32 units | 0.9955 | 0.031, 0.062 | tie | 0.005 | LSTM, 16 units (0.005) |"
    )
    quoted = sweep_table.quotes(summary, None).splitlines()
    assert quoted[0].startswith("> Best of 2 configurations on SPY:")
    assert all(line.startswith("> ") and len(line) <= 100 for line in quoted)
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- sweep-table -->\nold\n<!-- /sweep-table -->\nb\n")
    sweep_table.replace_block(readme, "new")
    assert readme.read_text() == "a\n<!-- sweep-table -->\nnew\n<!-- /sweep-table -->\nb\n"


def test_defaults_table_shows_the_signed_verdict():
    pytest.importorskip("torch")
    defaults_table = _script("defaults_table")
    row = {
        "sample": "AAPL", "test_bars": 676, "model_vs_persistence": 1.0001,
        "ar_vs_persistence": 1.011, "directional_accuracy": 0.515, "up_share": 0.515,
        "forecast_up_share": 1.0, "pt_pvalue": math.nan, "dm_pvalue": 0.98,
        "dm_better_pvalue": 0.508, "verdict": "tie",
    }  # fmt: skip
    lines = defaults_table.markdown([row]).splitlines()
    assert lines[0].endswith("| DM p (smaller errors) | vs persistence |")
    assert lines[2].endswith("| n/a (always up) | 0.51 | tie |")
    old = {k: v for k, v in row.items() if k not in ("dm_better_pvalue", "verdict")}
    assert defaults_table.markdown([old]).splitlines()[2].endswith("| n/a | n/a |")


def test_bands_table_shows_coverage_tests_and_the_signed_log_score(tmp_path):
    pytest.importorskip("torch")
    bands_table = _script("bands_table")
    scores = {
        "coverage_80": 0.777, "coverage_95": 0.906, "kupiec_pvalue_80": 0.2,
        "cc_pvalue_80": 0.0076, "cc_pvalue_95": 0.0002, "log_score": 2.879, "crps": 0.0076,
        "dm_pvalue_log_score_vs_garch": 1e-5, "dm_better_pvalue_log_score_vs_garch": 1.0,
        "verdict_log_score_vs_garch": "worse",
    }  # fmt: skip
    garch = {**scores, "dm_better_pvalue_log_score_vs_garch": None,
             "verdict_log_score_vs_garch": None}  # fmt: skip
    result = {"sample": "MSFT", "head": "student-t", "model": "LSTM",
              "scores": {"model": scores, "garch": garch, "ewma": scores}}  # fmt: skip
    lines = bands_table.table([result]).splitlines()
    assert lines[2] == (
        "| MSFT | LSTM (student-t) | 77.7% | 0.008 | 90.6% | <0.001 | 2.879 | 7.600 | 1.00 "
        "| worse |"
    )
    assert lines[3].endswith("| - | - |")  # GARCH against itself
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bands-table -->\nold\n<!-- /bands-table -->\n")
    bands_table.replace_block(readme, "new")
    assert readme.read_text() == "<!-- bands-table -->\nnew\n<!-- /bands-table -->\n"

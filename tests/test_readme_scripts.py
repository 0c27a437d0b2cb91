"""The scripts that write the README's result blocks write them whole, signed (issues 18, 19)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from scipy.stats import binom

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


def test_bands_table_shows_calibrated_and_raw_scores_and_the_targets(tmp_path):
    """Issue 22: each cell is the calibrated score with the head's own in brackets; the lines
    below say which targets were met and where they were missed."""
    bands_table = _script("bands_table")
    scores = {
        "coverage_80": 0.812, "coverage_95": 0.953, "kupiec_pvalue_80": 0.2,
        "coverage_80_by_tercile": [0.801, 0.809, 0.827], "cc_pvalue_80": 0.0076,
        "cc_pvalue_95": 0.0002, "log_score": 2.957, "crps": 0.0076, "width_80": 0.032,
        "dm_pvalue_log_score_vs_garch": 0.85, "dm_better_pvalue_log_score_vs_garch": 0.42,
        "verdict_log_score_vs_garch": "tie",
    }  # fmt: skip
    raw = {**scores, "coverage_80": 0.888, "coverage_95": 0.979, "log_score": 2.896,
           "crps": 0.0077, "width_80": 0.04, "dm_better_pvalue_log_score_vs_garch": 1.0,
           "verdict_log_score_vs_garch": "worse"}  # fmt: skip
    garch = {**scores, "coverage_80": 0.79, "coverage_80_by_tercile": [0.72, 0.8, 0.83],
             "width_80": 0.0308, "log_score": 2.955, "dm_better_pvalue_log_score_vs_garch": None,
             "verdict_log_score_vs_garch": None}  # fmt: skip
    graw = {**garch, "width_80": 0.0333}
    result = {"sample": "AAPL", "head": "student-t", "model": "LSTM",
              "scores": {"model": scores, "garch": garch, "ewma": scores},
              "raw": {"model": raw, "garch": graw, "ewma": raw},
              "backtest_seconds": 100.0, "calibration_seconds": 1.5,
              "test_bars": 676}  # fmt: skip
    lines = bands_table.table([result]).splitlines()
    assert lines[2] == (
        "| AAPL | LSTM (student-t) | 81.2 (88.8)% | 80/81/83 | 95.3 (97.9)% | 0.008 "
        "| 2.957 (2.896) | 7.600 (7.700) | 1.04 (1.20) | 0.42 (1.00) | tie (worse) |"
    )
    assert lines[3].endswith("| - | - | - |")  # GARCH against itself
    summary = bands_table.head_summary([result])
    assert (
        summary[0].startswith("student-t: mean log score 2.9570") and "(raw: 2.8960" in summary[0]
    )
    assert "the model: 80% band within 80 +/- 2% met everywhere" in summary[1]
    assert (
        "GARCH: 80% band within 80 +/- 2% met everywhere; within 80 +/- 5% in every sigma "
        "third missed on AAPL" in summary[2]
    )
    # what chance alone allows over 676 bars: 80 +/- 2% is 528..554 hits of a Binomial(676, 0.8)
    assert bands_table.within(676, 0.8, 0.02) == pytest.approx(
        binom.cdf(554, 676, 0.8) - binom.cdf(527, 676, 0.8), abs=1e-12
    )
    thirds = binom.cdf(191, 225, 0.8) - binom.cdf(168, 225, 0.8)  # 169..191 of 225
    thirds_last = binom.cdf(192, 226, 0.8) - binom.cdf(169, 226, 0.8)  # 170..192 of 226
    assert bands_table.thirds_within(676, 0.8, 0.05) == pytest.approx(
        thirds**2 * thirds_last, abs=1e-12
    )
    assert summary[3] == (
        "  - by chance alone (bands exactly right, misses independent, over the same test bars) "
        "a forecaster is expected to miss 80 +/- 2% on 0.2 of 1 samples, 80 +/- 5% in some "
        "third on 0.2 and 95 +/- 1.5% on 0.1"
    )
    assert (
        "not significantly worse than GARCH's (DM, 5%): met everywhere; higher than "
        "GARCH's on 1 of 1 (AAPL), significantly on 0" in summary[4]
    )
    assert summary[5].startswith("  - calibrating took at most 1.50% of a backtest's time (AAPL")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bands-table -->\nold\n<!-- /bands-table -->\n")
    bands_table.replace_block(readme, "new")
    assert readme.read_text() == "<!-- bands-table -->\nnew\n<!-- /bands-table -->\n"

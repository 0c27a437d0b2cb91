"""`stockapp backtest --head ...`: distribution columns, band scores, and bad combinations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.cli import main
from stockapp.core.runs import load_run
from tests.contracts import check_run_files

TINY = ["--window", "10", "--hidden", "4", "--layers", "1", "--epochs", "2", "--seed", "1"]
BAND_KEYS = {
    "coverage_50", "coverage_80", "coverage_95", "kupiec_pvalue_80", "christoffersen_pvalue_80",
    "interval_score_80", "log_score", "crps", "dm_pvalue_log_score_vs_garch",
    "dm_better_pvalue_log_score_vs_garch", "verdict_log_score_vs_garch",
    # issue 18.8: three coverage tests at each level
    "kupiec_pvalue_50", "kupiec_pvalue_95", "independence_pvalue_50", "independence_pvalue_80",
    "independence_pvalue_95", "cc_pvalue_50", "cc_pvalue_80", "cc_pvalue_95",
}  # fmt: skip


def test_student_t_head_writes_bands(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["backtest", "--sample", "MSFT", *TINY, "--head", "student-t", "--refit-every", "250"]
    code = main([*argv, "--device", "cpu", "--quiet", "--no-png", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "80% bands held" in printed
    check_run_files(out)  # every column and key a point run has is still there
    table = pd.read_csv(out / "forecasts.csv")
    for p in ("", "garch_"):
        for c in ("sigma", "lower_80", "upper_80", "lower_95", "upper_95"):
            assert table[p + c].notna().all(), p + c
    assert (table["lower_95"] < table["lower_80"]).all()
    assert (table["lower_80"] < table["upper_80"]).all()
    assert (table["upper_80"] < table["upper_95"]).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert BAND_KEYS <= set(metrics["bands"])
    for key in ("garch", "ewma", "rolling"):
        assert BAND_KEYS <= set(metrics["bands"][key])
    assert 0.0 <= metrics["bands"]["coverage_80"] <= 1.0
    assert set(metrics["strategy_vol"]) >= set(metrics["strategy"])
    vol = metrics["strategy_vol"]  # issue 18.9: the target beside what was realised
    assert vol["target_volatility"] == 0.10
    assert f"aimed at 10% a year and realised {vol['volatility']:.1%}" in vol["summary"]
    assert vol["summary"] in printed
    assert metrics["verdict"] in ("better", "worse", "tie") and "dm_variance" in metrics
    result, manifest = load_run(out)
    assert manifest.train_config["head"] == "student-t"
    np.testing.assert_allclose(result.bands.dists["model"][1], table["sigma"])


def test_point_head_writes_no_band_columns(tmp_path):
    out = tmp_path / "run"
    code = main(["backtest", "--sample", "MSFT", *TINY, "--epochs", "1", "--device", "cpu",
                 "--quiet", "--no-png", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "sigma" not in pd.read_csv(out / "forecasts.csv").columns
    assert "bands" not in json.loads((out / "metrics.json").read_text())


def test_distribution_head_with_price_target_is_one_line(tmp_path, capsys):
    code = main(["backtest", "--sample", "AAPL", *TINY, "--head", "gaussian", "--target", "price",
                 "--device", "cpu", "--no-png", "--out", str(tmp_path / "r")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose the return target" in err and "Traceback" not in err


def test_bands_are_calibrated_by_default_and_raw_with_calibrate_none(tmp_path, capsys):
    """Issue 22: --calibrate aci (the default with a distribution head) writes the calibrated
    sigma and bands, keeps the head's own scores under bands.uncalibrated, names the method in
    metrics.json and the manifest; --calibrate none keeps the head's own bands."""
    runs = {}
    for flag in ([], ["--calibrate", "none"]):
        out = tmp_path / ("default" if not flag else "none")
        argv = ["backtest", "--sample", "MSFT", *TINY, "--head", "student-t", *flag]
        code = main([*argv, "--device", "cpu", "--quiet", "--no-png", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        runs[bool(flag)] = (out, capsys.readouterr().out)
    out, printed = runs[False]
    table = pd.read_csv(out / "forecasts.csv")
    metrics = json.loads((out / "metrics.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    bands = metrics["bands"]
    assert bands["calibration"] == "aci" and manifest["calibration"]["method"] == "aci"
    assert set(manifest["calibration"]["final_state"]) == {"model", "garch", "ewma", "rolling"}
    # a distribution head's default inputs carry volatility (issue 22.3)
    assert manifest["feature_spec"]["features"] == ["log_return", "hl_range", "abs_return"]
    assert 0 <= manifest["timings"]["calibration_seconds"] < manifest["timings"]["total_seconds"]
    assert BAND_KEYS <= set(bands["uncalibrated"])
    for key in ("garch", "ewma", "rolling"):
        assert BAND_KEYS <= set(bands["uncalibrated"][key])
        assert len(bands[key]["coverage_80_by_tercile"]) == 3
        assert "coverage_80_after_jump" in bands[key]
    assert "Calibrated online (aci" in printed and bands["calibration_summary"] in printed
    raw_out, raw_printed = runs[True]
    raw_table = pd.read_csv(raw_out / "forecasts.csv")
    raw_metrics = json.loads((raw_out / "metrics.json").read_text())
    assert raw_metrics["bands"]["calibration"] == "none"
    assert "uncalibrated" not in raw_metrics["bands"] and "raw_sigma" not in raw_table.columns
    assert "--calibrate none" in raw_printed
    # the same model, so the head's own sigma is the same; the calibrated one is not
    np.testing.assert_allclose(table["raw_sigma"], raw_table["sigma"], rtol=1e-6)
    assert not np.allclose(table["sigma"], raw_table["sigma"])
    for key in ("coverage_80", "log_score", "crps"):
        assert bands["uncalibrated"][key] == pytest.approx(raw_metrics["bands"][key], rel=1e-6)


def test_calibrate_with_a_point_head_is_one_line(tmp_path, capsys):
    code = main(["backtest", "--sample", "AAPL", *TINY, "--calibrate", "aci", "--device", "cpu",
                 "--no-png", "--out", str(tmp_path / "r")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--head student-t" in err and "Traceback" not in err


def test_the_calibration_clock_starts_after_the_bands_libraries_are_imported(tmp_path):
    """Issue 22 ("calibration adds at most 5%"): in a fresh process the first backtest used to
    import arch and scipy.stats inside the calibration's clock (0.84 s of a 7.5 s backtest,
    11%, where calibrating itself took 0.06 s). Those imports serve every band, calibrated or
    not, so they happen before the clock starts."""
    import subprocess
    import sys

    code = f"""
import sys
from stockapp.core import walkforward
seen = []
real = walkforward.calibration_slice
def spy(*args, **kwargs):
    seen.append(all(m in sys.modules for m in ("arch", "scipy.stats", "scipy.signal")))
    return real(*args, **kwargs)
walkforward.calibration_slice = spy
from stockapp.cli import main
code = main(["backtest", "--sample", "MSFT", *{TINY!r}, "--epochs", "1", "--head", "student-t",
             "--device", "cpu", "--quiet", "--no-png", "--out", {str(tmp_path / "run")!r}])
print("SEEN", seen, code)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "SEEN [True] 0" in done.stdout, done.stdout + done.stderr

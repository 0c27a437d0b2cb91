"""The window models exactly the prices it shows: its run equals ``stockapp backtest``'s.

A fresh settings folder, a CSV loaded as a user would, a tiny model trained and backtested through
the real window, and the same settings given to the command line: the two ``forecasts.csv`` files
must be identical, and both manifests must say which prices (adjusted or not) were modelled.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from stockapp import cli
from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.training.adapter import TrainingController
from stockapp.models.trainer import TrainConfig
from tests.gui.conftest import SHORT_BARS

SPEC = FeatureSpec(window=10, features=("log_return",))
CFG = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=32, device="cpu", patience=0)
CLI_ARGS = [
    "--window", "10", "--features", "log_return", "--hidden", "4", "--layers", "1",
    "--epochs", "2", "--batch-size", "32", "--device", "cpu", "--patience", "0",
    "--test-fraction", "0.2", "--no-png", "--quiet",
]  # fmt: skip


def _type_settings(panel) -> None:
    """Set the model panel's widgets as a user would (``set_values`` would also set the spec's
    ``adjusted``, hiding the bug this file guards against)."""
    panel.window_spin.setValue(SPEC.window)
    for name, box in panel.feature_boxes.items():
        box.setChecked(name in SPEC.features)
    panel.hidden_spin.setValue(CFG.hidden)
    panel.layers_spin.setValue(CFG.layers)
    panel.epochs_spin.setValue(CFG.epochs)
    panel.batch_spin.setValue(CFG.batch_size)
    panel.patience_spin.setValue(CFG.patience)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    assert panel.config() == CFG


def _gui_run(qtbot, csv, folder, raw: bool, use_trained: bool):
    window = create_main_window(csv=str(csv), quiet=True)
    qtbot.addWidget(window)
    training = window.findChild(TrainingController)
    backtest = window.findChild(BacktestController)
    if raw:
        window.data_panel.adjusted_check.setChecked(False)
    assert window.adjusted is (not raw)
    _type_settings(training.panel)
    backtest.panel.set_settings(BacktestSettings(test_fraction=0.2))
    with qtbot.waitSignal(training.training_ended, timeout=60000):
        assert training.start_training()
    assert training.wait(5000)
    assert training.forecaster is not None
    assert training.forecaster.spec.adjusted is (not raw)
    if use_trained:
        assert backtest.panel.use_trained_check.isEnabled()
        backtest.panel.use_trained_check.setChecked(True)
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000) as done:
        assert backtest.start_backtest()
    assert backtest.wait(5000)
    assert done.args[0] is not None, window.last_error
    assert backtest.save_run_to(folder)
    return window


@pytest.mark.parametrize(("raw", "use_trained"), [(False, False), (False, True), (True, False)])
def test_the_window_writes_the_forecasts_the_command_line_writes(
    qtbot, short_aapl_csv, tmp_path, raw, use_trained
):
    gui_folder = tmp_path / "gui_run"
    _gui_run(qtbot, short_aapl_csv, gui_folder, raw, use_trained)
    cli_folder = tmp_path / "cli_run"
    extra = ["--raw-close"] if raw else []
    assert cli.main(["backtest", "--csv", str(short_aapl_csv), *CLI_ARGS, *extra,
                     "--out", str(cli_folder)]) == 0  # fmt: skip

    gui_manifest = json.loads((gui_folder / "manifest.json").read_text(encoding="utf-8"))
    cli_manifest = json.loads((cli_folder / "manifest.json").read_text(encoding="utf-8"))
    assert gui_manifest["data"]["adjusted"] is (not raw)
    assert cli_manifest["data"]["adjusted"] is (not raw)
    assert gui_manifest["data"]["fingerprint"] == cli_manifest["data"]["fingerprint"]
    assert gui_manifest["feature_spec"] == cli_manifest["feature_spec"]
    assert gui_manifest["train_config"] == cli_manifest["train_config"]

    gui = pd.read_csv(gui_folder / "forecasts.csv")
    expected = pd.read_csv(cli_folder / "forecasts.csv")
    assert len(gui) == round(SHORT_BARS * 0.2)
    pd.testing.assert_frame_equal(gui, expected, check_exact=False, rtol=1e-12, atol=0.0)
    # The realised closes are the prices on screen: adjusted ones unless the box was unticked.
    source = pd.read_csv(short_aapl_csv, index_col="Date")
    column = "Close" if raw else "Adj Close"
    shown = source[column].iloc[-len(gui) :].to_numpy()
    assert gui["realised"].to_numpy() == pytest.approx(shown, rel=1e-12)

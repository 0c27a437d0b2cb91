"""The model panel shows defaults, offers only real devices and remembers its values."""

from __future__ import annotations

import dataclasses
import json

import pytest

from stockapp.core.features import FeatureSpec
from stockapp.errors import DataError
from stockapp.gui.settings import app_settings
from stockapp.gui.training.model_panel import SETTINGS_KEY, ModelPanel
from stockapp.models.device import available_devices
from stockapp.models.trainer import TrainConfig, TrainProgress


@pytest.fixture
def panel(qtbot) -> ModelPanel:
    widget = ModelPanel()
    qtbot.addWidget(widget)
    return widget


def test_defaults_come_from_the_spec_and_config(panel):
    assert panel.spec() == FeatureSpec()
    assert panel.config() == TrainConfig()


def test_device_combo_offers_only_available_devices(panel):
    def offered() -> list[str]:
        return [panel.device_combo.itemData(i) for i in range(panel.device_combo.count())]

    assert offered() == ["auto", "cpu"]  # until the model code has loaded and looked
    panel.set_devices(available_devices())  # what the window does once it has
    assert offered() == ["auto", *available_devices()]


def test_a_remembered_device_is_chosen_once_the_devices_are_known(panel):
    panel.set_values(FeatureSpec(), TrainConfig(device="cuda:1"))
    assert panel.config().device == "auto"  # not listed yet
    panel.set_devices(["cpu", "cuda", "cuda:1"])
    assert panel.config().device == "cuda:1"
    panel.set_devices(["cpu"])  # a machine without it: auto, as before
    assert panel.config().device == "auto"


def test_unavailable_device_falls_back_to_auto(panel):
    panel.set_values(FeatureSpec(), TrainConfig(device="cuda:7"))
    assert panel.config().device == "auto"


def test_values_round_trip_through_settings(qtbot, panel):
    spec = FeatureSpec(window=10, features=("log_return", "hl_range"), target="price")
    cfg = TrainConfig(
        model="gru",
        hidden=4,
        layers=1,
        dropout=0.1,
        epochs=3,
        batch_size=16,
        lr=0.005,
        patience=2,
        seed=7,
        device="cpu",
        weight_decay=0.01,  # not shown, still carried over
    )
    panel.set_values(spec, cfg)
    assert panel.spec() == spec
    assert panel.config() == cfg
    panel.hidden_spin.setValue(8)  # a change made by hand is saved too
    again = ModelPanel()
    qtbot.addWidget(again)
    assert again.spec() == spec
    assert again.config() == dataclasses.replace(cfg, hidden=8)


def test_unreadable_settings_fall_back_to_defaults(qtbot):
    from stockapp.gui.settings import app_settings
    from stockapp.gui.training.model_panel import SETTINGS_KEY

    settings = app_settings()
    settings.setValue(SETTINGS_KEY, "{not json")
    settings.sync()
    panel = ModelPanel()
    qtbot.addWidget(panel)
    assert panel.config() == TrainConfig()


def test_features_the_series_lacks_are_greyed_out_and_left_out(panel):
    panel.set_values(FeatureSpec(features=("log_return", "log_volume_change")), TrainConfig())
    panel.set_columns(["Open", "High", "Low", "Close"])
    assert not panel.feature_boxes["log_volume_change"].isEnabled()
    assert panel.feature_boxes["hl_range"].isEnabled()
    assert panel.spec().features == ("log_return",)
    assert panel.train_button.isEnabled()
    panel.set_columns(["Open", "High", "Low", "Close", "Volume"])
    assert panel.spec().features == ("log_return", "log_volume_change")


def test_train_needs_data_and_a_feature(panel):
    assert not panel.train_button.isEnabled()
    panel.set_columns(["Close"])
    assert panel.train_button.isEnabled()
    panel.feature_boxes["log_return"].setChecked(False)
    assert not panel.train_button.isEnabled()
    with pytest.raises(DataError):
        panel.spec()


def test_busy_switches_buttons_and_progress_text(qtbot, panel):
    panel.set_columns(["Close"])
    with qtbot.waitSignal(panel.train_requested, timeout=1000):
        panel.train_button.click()
    panel.set_busy(True)
    assert not panel.train_button.isEnabled() and panel.cancel_button.isEnabled()
    progress = TrainProgress(
        kind="epoch",
        epoch=3,
        epochs=20,
        batch=10,
        batches=10,
        train_loss=0.5,
        val_loss=0.6,
        best_epoch=3,
        samples_per_s=12345.0,
        elapsed_s=3.0,
        eta_s=12.2,
        device="CPU (2 threads)",
    )
    panel.show_progress(progress)
    assert panel.progress_bar.format() == "epoch 3/20 · ETA 0:12"
    assert panel.progress_bar.value() == 150
    assert "12,345 samples/s" in panel.status_label.text()
    assert "CPU" in panel.status_label.text()
    with qtbot.waitSignal(panel.cancel_requested, timeout=1000):
        panel.cancel_button.click()
    panel.set_busy(False)
    assert panel.train_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_the_panel_does_not_choose_adjusted_prices(panel):
    """Adjusted or raw is the window's data choice, read when a job starts (issue 8.1): the
    panel neither stores nor restores it, so it cannot drift from what the chart shows."""
    panel.set_values(FeatureSpec(adjusted=False), TrainConfig())
    assert panel.spec().adjusted == FeatureSpec().adjusted
    assert "adjusted" not in json.loads(app_settings().value(SETTINGS_KEY))["spec"]

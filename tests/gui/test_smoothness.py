"""The window stays smooth while a model trains (issue 14), structurally: the training thread
sends the GUI thread a bounded number of progress values, the chart redraws on a frame timer,
not per event, and a window-started job leaves one core to the GUI. Also the loss chart's
persistence line and the Prices tab's test/validation shading (issue 10). No timing asserts."""

from __future__ import annotations

import dataclasses
import os
import time

import pandas as pd
import pytest
import torch

from stockapp.core.features import FeatureSpec
from stockapp.core.reference import backtest_spans, persistence_loss
from stockapp.gui.app import create_main_window
from stockapp.gui.training import adapter as training_module
from stockapp.gui.training.adapter import UI_REFRESH_MS, TrainingController
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig, TrainProgress

TINY_SPEC = FeatureSpec(window=10, features=("log_return",))
TINY_CFG = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=32, device="cpu", patience=0)
BURST = 1000
#: The training thread's least interval between two batch values it sends (s).
PROGRESS_INTERVAL_S = getattr(training_module, "PROGRESS_INTERVAL_S", 0.05)


@pytest.fixture
def controller(window) -> TrainingController:
    ctl = TrainingController()
    ctl.attach(window)
    ctl.panel.set_values(TINY_SPEC, TINY_CFG)
    return ctl


def _train(qtbot, ctl: TrainingController) -> None:
    with qtbot.waitSignal(ctl.training_ended, timeout=60000):
        assert ctl.start_training()
    assert ctl.wait(5000)


def _event(kind: str, epoch: int, batch: int) -> TrainProgress:
    return TrainProgress(kind, epoch, 3, batch, BURST, 1.0 / (batch + 1), None, 0, 0, 0, 0, "cpu")


def test_a_burst_of_progress_reaches_the_chart_a_few_times_a_second(qtbot, controller, monkeypatch):
    """1,000 batch events in a burst: the GUI thread hears of few, the chart redraws on its
    frame timer only, and each event costs the GUI thread O(1) (no whole-series work)."""
    real_fit = RecurrentForecaster.fit
    burst: dict[str, float] = {}

    def fit(self, prices, should_stop=None, **kwargs):
        t0 = time.monotonic()
        for epoch in (1, 2, 3):
            for b in range(BURST // 3):
                yield _event("batch", epoch, b)
            yield _event("epoch", epoch, BURST)
        burst["s"] = time.monotonic() - t0
        return (yield from real_fit(self, prices, should_stop, **kwargs))

    monkeypatch.setattr(RecurrentForecaster, "fit", fit)
    handled, redraws, batches = [], [], []
    on_progress = controller._on_progress
    monkeypatch.setattr(controller, "_on_progress", lambda p: (handled.append(p), on_progress(p)))
    chart = controller.chart
    redraw, add_batch = chart._redraw, chart.add_batch
    monkeypatch.setattr(chart, "_redraw", lambda: (redraws.append(1), redraw()))
    monkeypatch.setattr(chart, "add_batch", lambda *a: (batches.append(a), add_batch(*a)))
    # The worker connects to the controller's bound method at start: rebind through the spy.
    real_start = training_module.GeneratorWorker.start

    def start(worker):
        worker.progress.disconnect()
        worker.progress.connect(controller._on_progress)
        real_start(worker)

    monkeypatch.setattr(training_module.GeneratorWorker, "start", start)
    t0 = time.monotonic()
    _train(qtbot, controller)
    elapsed = time.monotonic() - t0
    fake_batches = [p for p in handled if isinstance(p, TrainProgress) and p.batches == BURST]
    # Every epoch end arrives; the batch values are thinned in the training thread to one per
    # PROGRESS_INTERVAL_S of the burst (plus the first).
    assert sum(p.kind == "epoch" and p.batches == BURST for p in fake_batches) == 3
    assert sum(p.kind == "batch" for p in fake_batches) <= 1 + burst["s"] / PROGRESS_INTERVAL_S
    assert len(fake_batches) < BURST / 10
    # The chart is redrawn per frame of the flush timer, not per event.
    frames = 2 + elapsed / (UI_REFRESH_MS / 1000)
    assert len(batches) <= frames
    assert len(redraws) <= 3 + 2 * frames  # epochs, the reference line, the final history


def test_window_training_leaves_a_core_to_the_gui_and_restores_threads(
    qtbot, controller, monkeypatch
):
    seen: list[int] = []
    real_fit = RecurrentForecaster.fit

    def fit(self, prices, should_stop=None, **kwargs):
        seen.append(torch.get_num_threads())
        return (yield from real_fit(self, prices, should_stop, **kwargs))

    monkeypatch.setattr(RecurrentForecaster, "fit", fit)
    before = torch.get_num_threads()
    _train(qtbot, controller)
    assert seen == [max(1, (os.cpu_count() or 1) - 1)]
    assert torch.get_num_threads() == before
    controller.panel.all_cores_box.setChecked(True)
    _train(qtbot, controller)
    assert seen[-1] == (os.cpu_count() or 1)
    assert torch.get_num_threads() == before


def test_loss_chart_shows_the_persistence_loss_of_the_training_data(qtbot, controller, tmp_path):
    _train(qtbot, controller)
    prices = controller.train_prices()
    cfg = controller.panel.config()
    expected = persistence_loss(prices, controller.spec(), cfg.val_fraction, cfg.loss_on)
    assert expected is not None
    assert controller.chart.reference() == pytest.approx(expected)
    assert controller.save_model_to(tmp_path / "m")
    assert controller.open_model_from(tmp_path / "m")
    assert controller.chart.reference() is None  # a saved model does not keep its data


def test_price_tab_shades_the_test_and_validation_spans(qtbot, aapl):
    window = create_main_window(quiet=True)
    qtbot.addWidget(window)
    window.set_series(aapl)
    training = window.findChild(TrainingController)
    training.panel.set_values(TINY_SPEC, TINY_CFG)
    from stockapp.gui.backtest.adapter import BacktestController

    backtest = window.findChild(BacktestController)
    dates = aapl.prices(True).index

    def expected() -> dict[str, float]:
        settings = backtest.panel.settings()
        test, val = backtest_spans(dates, TINY_SPEC.window, settings, TINY_CFG.val_fraction)
        return {"test": pd.Timestamp(test).timestamp(), "validation": pd.Timestamp(val).timestamp()}

    spans = window.chart.spans()
    assert spans["test"][0] == expected()["test"]
    assert spans["validation"] == (expected()["validation"], expected()["test"])
    backtest.panel.set_settings(dataclasses.replace(backtest.panel.settings(), test_fraction=0.3))
    assert window.chart.spans()["test"][0] == expected()["test"]
    training.panel.set_values(dataclasses.replace(TINY_SPEC, window=30), TINY_CFG)
    val = backtest_spans(dates, 30, backtest.panel.settings(), TINY_CFG.val_fraction)[1]
    assert window.chart.spans()["validation"][0] == pd.Timestamp(val).timestamp()
    training.panel.set_values(dataclasses.replace(TINY_SPEC, window=300), TINY_CFG)
    assert window.chart.spans() == {}  # too few bars before the test span: no shading


def test_backtest_from_the_window_leaves_a_core_and_thins_its_progress(qtbot, aapl, monkeypatch):
    from stockapp.gui.backtest import adapter as backtest_module
    from stockapp.gui.backtest.adapter import BacktestController

    window = create_main_window(quiet=True)
    qtbot.addWidget(window)
    window.set_series(aapl)
    window.findChild(TrainingController).panel.set_values(TINY_SPEC, TINY_CFG)
    backtest = window.findChild(BacktestController)
    seen: dict[str, float] = {}

    def fake_run_backtest(
        series,
        spec,
        cfg,
        settings,
        should_stop,
        forecaster=None,
        calibration=None,
        covariates=(),
        calendar=(),
    ):
        seen["threads"] = torch.get_num_threads()
        t0 = time.monotonic()
        for b in range(BURST):
            yield _event("batch", 1, b)
        seen["s"] = time.monotonic() - t0
        return None

    from stockapp.models import runner  # the window's backtest job runs runner.run_backtest

    monkeypatch.setattr(runner, "run_backtest", fake_run_backtest)
    handled: list[object] = []
    real_start = backtest_module.GeneratorWorker.start

    def start(worker):
        worker.progress.connect(handled.append)
        real_start(worker)

    monkeypatch.setattr(backtest_module.GeneratorWorker, "start", start)
    before = torch.get_num_threads()
    with qtbot.waitSignal(backtest.backtest_finished, timeout=30000):
        assert backtest.start_backtest()
    assert backtest._worker.wait(5000)
    assert seen["threads"] == max(1, (os.cpu_count() or 1) - 1)
    assert torch.get_num_threads() == before
    interval = getattr(backtest_module, "PROGRESS_INTERVAL_S", 0.1)
    assert len(handled) <= 1 + seen["s"] / interval


def test_sweep_table_cells_are_painted_without_a_pandas_lookup_each(qtbot, monkeypatch):
    import numpy as np

    from stockapp.gui.experiments.results import COLUMNS, ResultsModel

    names = [name for name, _header, _fmt in COLUMNS]
    table = pd.DataFrame({n: np.arange(20, dtype=float) for n in names})
    model = ResultsModel()
    model.set_table(table)
    looked_up: list[str] = []
    real = pd.DataFrame._get_value
    monkeypatch.setattr(
        pd.DataFrame,
        "_get_value",
        lambda self, *a, **k: (looked_up.append(1), real(self, *a, **k))[1],
    )
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            model.data(model.index(r, c))
    assert looked_up == []
    assert model.value(3, names[0]) == 3.0


def test_backtest_loss_chart_draws_the_running_line_once_a_second_at_most(qtbot, aapl):
    from stockapp.gui.backtest import adapter as backtest_module
    from stockapp.gui.backtest.adapter import BacktestController

    running_line_s = getattr(backtest_module, "RUNNING_LINE_S", 1.0)

    window = create_main_window(quiet=True)
    qtbot.addWidget(window)
    window.set_series(aapl)
    backtest = window.findChild(BacktestController)
    drawn: list[tuple] = []
    backtest.panel.loss_chart.add_batch = lambda *a: drawn.append(a)
    t0 = time.monotonic()
    for b in range(BURST):  # a burst straight into the GUI-thread handler
        backtest._on_progress(_event("batch", 1, b))
    assert len(drawn) <= 1 + (time.monotonic() - t0) / running_line_s

"""The loss chart keeps one point per epoch and marks the best epoch."""

from __future__ import annotations

import numpy as np
import pytest

from stockapp.gui.loss_chart import LossChart


def _ydata(curve) -> np.ndarray:
    _, y = curve.getData()
    return np.asarray(y if y is not None else [], dtype=float)


def test_add_epoch_appends_one_point_each_and_tracks_best(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.add_epoch(1, 1.0, 0.9)
    chart.add_epoch(2, 0.5, 0.4)
    chart.add_epoch(3, 0.3, 0.6)
    assert chart.epoch_count() == 3
    assert chart.best_epoch() == 2
    assert len(_ydata(chart._train_curve)) == 3
    # the curve is drawn on a log axis: pyqtgraph stores log10 of the losses
    np.testing.assert_allclose(_ydata(chart._val_curve), np.log10([0.9, 0.4, 0.6]))
    assert chart._best_line.isVisible() and chart._best_line.value() == 2


def test_repeated_epoch_replaces_rather_than_appends(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.add_epoch(1, 1.0, 0.9)
    chart.add_epoch(1, 0.8, 0.7)
    assert chart.epoch_count() == 1


def test_clear_and_history_without_validation(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.add_epoch(1, 1.0, 0.9)
    chart.clear()
    assert chart.epoch_count() == 0
    assert not chart._best_line.isVisible()
    chart.set_history([1.0, 0.2, 0.5], [None, None, None])
    assert chart.epoch_count() == 3
    assert chart.best_epoch() == 2  # lowest train loss when there is no validation loss
    assert len(_ydata(chart._val_curve)) == 0


def test_running_batch_line_resets_each_epoch(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.add_batch(1, 1, 4, 2.0)
    chart.add_batch(1, 2, 4, 1.5)
    assert len(_ydata(chart._running_curve)) == 2
    chart.add_batch(1, 3, 4, float("nan"))  # ignored, never a broken log axis
    assert len(_ydata(chart._running_curve)) == 2
    chart.add_epoch(1, 1.2, 1.1)
    assert len(_ydata(chart._running_curve)) == 0


def test_live_x_axis_grows_in_blocks_and_history_fits_the_data(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.clear(max_epochs=100)
    for epoch in (1, 2, 3):
        chart.add_epoch(epoch, 1.0 / epoch, 1.1 / epoch)
    assert chart.plot.viewRange()[0] == pytest.approx([0.5, 10.5])
    chart.add_batch(11, 1, 4, 0.2)  # the running line of epoch 11 needs more room
    assert chart.plot.viewRange()[0] == pytest.approx([0.5, 20.5])
    chart.clear(max_epochs=5)
    chart.add_epoch(1, 1.0, 1.0)
    assert chart.plot.viewRange()[0] == pytest.approx([0.5, 5.5])
    chart.show()
    chart.set_history([1.0, 0.5, 0.4], [1.1, 0.6, 0.5])
    # autorange is applied when the view repaints: it follows the data again
    qtbot.waitUntil(lambda: 3 < chart.plot.viewRange()[0][1] < 5, timeout=2000)


def test_live_curves_have_no_markers_and_finished_ones_do(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.clear(max_epochs=10)
    chart.add_epoch(1, 1.0, 0.9)
    assert chart._train_curve.opts["symbol"] is None
    chart.set_history([1.0, 0.5], [0.9, 0.4], best_epoch=2)
    assert chart._train_curve.opts["symbol"] == "o"
    assert chart._val_curve.opts["symbol"] == "o"

"""The loss chart keeps one point per epoch and marks the best epoch."""

from __future__ import annotations

import numpy as np
import pytest

from stockapp.gui.widgets.loss_chart import LossChart
from tests.gui.axis_labels import drawn_tick_labels


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


# ---------------------------------------------------------------- readable at every state
#: Losses like those of an LSTM on MSFT's log returns: train ~0.83 -> 0.80, validation ~0.72.
MSFT_TRAIN = [0.832, 0.821, 0.818, 0.811, 0.806, 0.803]
MSFT_VAL = [0.7191, 0.7172, 0.7165, 0.7158, 0.7152, 0.7149]


@pytest.fixture
def shown(qtbot):
    chart = LossChart()
    chart.resize(700, 420)
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def _assert_readable(chart, qtbot, losses: list[float]) -> None:
    """Once the view has fitted ``losses``, the y axis shows 3+ plain numbers inside it."""
    left, bottom = chart.plot.getAxis("left"), chart.plot.getAxis("bottom")
    lo, hi = np.log10(min(losses)), np.log10(max(losses))

    def fitted() -> bool:  # the view re-fits lazily, on the next paint
        y0, y1 = chart.plot.viewRange()[1]
        return y0 <= lo and y1 >= hi and (y1 - y0) < 1.0 and list(left.range) == [y0, y1]

    qtbot.waitUntil(fitted, timeout=3000)
    labels = drawn_tick_labels(left)
    assert len(labels) >= 3, labels
    values = [float(t.replace(",", "")) for t in labels]  # plain decimals: float() reads them
    assert values == sorted(values) and len(set(values)) == len(values)
    # every label lies inside the losses' view (log10 on the axis)
    y0, y1 = chart.plot.viewRange()[1]
    assert all(10**y0 * 0.999 <= v <= 10**y1 * 1.001 for v in values)
    for axis in (left, bottom):
        assert "(x" not in axis.labelString()  # no SI scale factor in the axis title


def test_empty_chart_shows_a_note_and_no_numbers(shown, qtbot):
    assert shown.is_empty()
    assert shown.empty_state.label.isVisible()
    assert "Train" in shown.empty_state.text()
    assert drawn_tick_labels(shown.plot.getAxis("left")) == []
    assert drawn_tick_labels(shown.plot.getAxis("bottom")) == []
    assert not shown.legend.isVisible()
    shown.add_epoch(1, 0.83, 0.72)
    assert not shown.is_empty() and not shown.empty_state.label.isVisible()
    assert shown.legend.isVisible()
    shown.clear(max_epochs=10)
    assert shown.is_empty()
    shown.set_empty_text("The first fit's loss appears here.")
    assert shown.empty_state.text() == "The first fit's loss appears here."


def test_msft_like_losses_get_three_plain_ticks_at_every_state(shown, qtbot):
    shown.clear(max_epochs=30)
    shown.add_batch(1, 1, 20, 0.851)  # first epoch: only the running line
    shown.add_batch(1, 2, 20, 0.846)
    _assert_readable(shown, qtbot, [0.851, 0.846])
    shown.add_epoch(1, MSFT_TRAIN[0], MSFT_VAL[0])  # one point each
    _assert_readable(shown, qtbot, [MSFT_TRAIN[0], MSFT_VAL[0]])
    for epoch in range(2, 5):  # mid-training
        shown.add_epoch(epoch, MSFT_TRAIN[epoch - 1], MSFT_VAL[epoch - 1])
    _assert_readable(shown, qtbot, MSFT_TRAIN[:4] + MSFT_VAL[:4])
    shown.set_history(MSFT_TRAIN, MSFT_VAL)  # finished
    _assert_readable(shown, qtbot, MSFT_TRAIN + MSFT_VAL)


def test_tiny_x_range_has_no_scale_factor(shown, qtbot):
    """The backtest page's small chart once read "epoch (x0.001)"."""
    shown.plot.setXRange(0.0, 0.002, padding=0)
    shown.plot.setYRange(-3.0, -2.9, padding=0)
    qtbot.wait(50)
    shown.plot.getAxis("bottom").update()
    for name in ("left", "bottom"):
        axis = shown.plot.getAxis(name)
        drawn_tick_labels(axis)
        assert "(x" not in axis.labelString()


def test_legend_sits_under_the_axis_not_over_the_curves(shown, qtbot):
    """A legend floating in the corner hid the curves' fall to the bottom right."""
    shown.set_history(MSFT_TRAIN, MSFT_VAL)
    qtbot.wait(20)
    item = shown.plot.getPlotItem()
    legend = shown.legend
    assert legend.isVisible() and legend.opts["offset"] is None
    data_area = item.vb.sceneBoundingRect()
    assert not legend.sceneBoundingRect().intersects(data_area)
    assert legend.sceneBoundingRect().top() >= item.getAxis("bottom").sceneBoundingRect().top()


def test_reference_line_is_drawn_listed_and_in_view(shown, qtbot):
    shown.set_history(MSFT_TRAIN, MSFT_VAL)
    shown.set_reference(0.95)
    assert shown.reference() == 0.95
    np.testing.assert_allclose(_ydata(shown._reference_curve), np.log10([0.95, 0.95]))
    labels = [label.text for _, label in shown.legend.items]
    assert any(t.startswith("persistence (no change)") and "0.95" in t for t in labels)
    # the line counts for the y range, so it is on screen with the curves
    _assert_readable(shown, qtbot, MSFT_TRAIN + MSFT_VAL + [0.95])
    shown.set_reference(float("nan"))  # not drawable on a log axis: no line rather than a wrong one
    assert shown.reference() is None and len(_ydata(shown._reference_curve)) == 0
    assert not any(t.startswith("persistence") for t in (lb.text for _, lb in shown.legend.items))
    shown.set_reference(0.9)
    shown.set_history(MSFT_TRAIN, MSFT_VAL)  # the finished run keeps its reference
    assert shown.reference() == 0.9
    shown.clear(max_epochs=10)  # a new run: the old data's reference goes
    assert shown.reference() is None and len(_ydata(shown._reference_curve)) == 0


def test_validation_below_training_is_explained(shown, qtbot):
    assert "dropout" in shown.plot.toolTip()
    shown.set_history([0.5, 0.4], [0.6, 0.45])  # validation above training: nothing to explain
    assert not shown.note.isVisible()
    shown.set_history(MSFT_TRAIN, MSFT_VAL)
    assert shown.note.isVisible()
    assert "dropout" in shown.note.text() and "calmer" in shown.note.text()
    shown.resize(300, 200)  # as narrow as the Backtest page's chart: the tooltip says it
    qtbot.waitUntil(lambda: not shown.note.isVisible(), timeout=3000)
    assert "dropout" in shown.plot.toolTip()


def test_reset_zoom_fits_the_losses_again(shown, qtbot):
    shown.set_history(MSFT_TRAIN, MSFT_VAL)
    shown.plot.setYRange(1.0, 2.0, padding=0)
    shown.reset_zoom()
    qtbot.waitUntil(lambda: shown.plot.viewRange()[1][1] < 0.0, timeout=3000)

"""The Forward chart reads as the other charts do: legend under the axis, prices unscaled."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from stockapp.gui.forward.view import ForwardView
from stockapp.gui.widgets.legend import LEGEND_ROW, WrappingLegend


def test_the_legend_sits_under_the_axis_and_the_close_axis_has_no_scale_factor(qtbot):
    view = ForwardView()
    qtbot.addWidget(view)
    assert isinstance(view.legend, WrappingLegend)
    assert view.plot.layout.itemAt(LEGEND_ROW, 1) is view.legend
    left = view.plot.getAxis("left")
    assert not left.autoSIPrefix  # an empty chart said "Close (x0.001)"
    assert "x0.001" not in left.labelString()


def _record(backfill: bool):
    import numpy as np

    dates = pd.bdate_range("2017-01-02", periods=40)
    close = 200 + np.arange(40.0)
    live = np.zeros(40, bool) if backfill else np.arange(40) >= 30
    chart = SimpleNamespace(
        dates=dates,
        realised=close,
        forecast=close + 0.5,
        backfill=~live,
        lower=np.where(live, close - 3, np.nan),
        upper=np.where(live, close + 3, np.nan),
    )
    return SimpleNamespace(
        ledger=Path("/runs/r/forward/ledger.jsonl"),
        folder=Path("/runs/r"),
        model_name="LSTM",
        series="SPY",
        scores=None,
        entries=[{}] * 40,
        problem=None,
        lines=lambda: ["40 forecasts"],
        counts=lambda: "0 forward bars scored",
        chart=lambda: chart,
    )


@pytest.mark.parametrize("backfill", [True, False])
def test_the_chart_spans_the_record_not_1970_and_zero(qtbot, backfill):
    """With only backfill (no band to shade) the empty fill widened the view to (0, 0)."""
    view = ForwardView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show_record(_record(backfill))
    (x0, x1), (y0, y1) = view.plot.getViewBox().childrenBounds()
    assert x0 >= pd.Timestamp("2016-12-01").timestamp()
    assert 190 <= y0 and y1 <= 250

"""The shaded spans on the price chart: the bars a backtest will forecast and, before them, the
bars its first fit validates on, each with a small label that says so."""

from __future__ import annotations

import pandas as pd
import pyqtgraph as pg

#: Shading of the spans a backtest will forecast (test) and the first fit validates on.
TEST_SPAN_BRUSH = (214, 39, 40, 28)
VALIDATION_SPAN_BRUSH = (255, 127, 14, 30)


class SpanShading:
    """The test and validation spans shaded on one price plot."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.test_region = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(*TEST_SPAN_BRUSH), pen=pg.mkPen(None)
        )
        self.validation_region = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(*VALIDATION_SPAN_BRUSH), pen=pg.mkPen(None)
        )
        self.test_label = pg.TextItem("test span", color="#a02020", anchor=(0, 0))
        self.test_label.setToolTip(
            "The backtest forecasts each of these bars from the bars before it only."
        )
        self.validation_label = pg.TextItem("validation", color="#b35900", anchor=(0, 1))
        self.validation_label.setToolTip(
            "The first fit stops training when its loss on these bars stops improving; they are "
            "never forecast in the backtest."
        )
        for item in (
            self.test_region,
            self.validation_region,
            self.test_label,
            self.validation_label,
        ):
            item.setVisible(False)
            item.setZValue(-10 if isinstance(item, pg.LinearRegionItem) else 5)
            self.plot.addItem(item, ignoreBounds=True)
        self.plot.vb.sigRangeChanged.connect(self.place_labels)

    def place_labels(self, *_: object) -> None:
        (x0, x1), (y0, y1) = self.plot.vb.viewRange()
        # The test label sits at the top, the validation label at the bottom: a narrow
        # validation slice then cannot push its label over the test span's.
        for region, label, y in (
            (self.test_region, self.test_label, y1),
            (self.validation_region, self.validation_label, y0),
        ):
            if region.isVisible():
                start = region.getRegion()[0]
                label.setPos(max(start, x0), y)

    def set_spans(
        self, test_start: pd.Timestamp | None, validation_start: pd.Timestamp | None = None
    ) -> None:
        """Shade the bars a backtest will forecast (``test_start`` to the end) and, before
        them, the validation slice of its first fit (``validation_start`` to ``test_start``).

        ``None`` removes a span. The spans stay when another series is loaded; the caller
        sends new ones when the settings or the data change.
        """
        far_future = 4.1e9  # 2099: the test span runs to the last bar, whichever series is shown
        test = None if test_start is None else float(pd.Timestamp(test_start).timestamp())
        val = (
            None if validation_start is None else float(pd.Timestamp(validation_start).timestamp())
        )
        if test is not None and val is not None and val >= test:
            val = None  # nothing to validate on before the test span
        for region, label, span in (
            (self.test_region, self.test_label, (test, far_future)),
            (self.validation_region, self.validation_label, (val, test)),
        ):
            visible = span[0] is not None and span[1] is not None
            region.setVisible(visible)
            label.setVisible(visible)
            if visible:
                region.setRegion(span)
        self.place_labels()

    def spans(self) -> dict[str, tuple[float, float]]:
        """The shaded spans as ``{"test": (start, end), "validation": ...}`` in timestamps."""
        out = {}
        for name, region in (("test", self.test_region), ("validation", self.validation_region)):
            if region.isVisible():
                out[name] = tuple(float(v) for v in region.getRegion())
        return out

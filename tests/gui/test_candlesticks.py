"""Candles and volume bars are built from arrays, never bar by bar, so a million rows show."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from stockapp.gui.widgets import candlesticks
from stockapp.gui.widgets.candlesticks import (
    ALL_BARS,
    WINDOW_BARS,
    CandlestickItem,
    VolumeBarsItem,
)


def _bars(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.arange(n, dtype=np.float64) * 60.0
    close = 100 + np.cumsum(rng.normal(size=n))
    open_ = close + rng.normal(size=n)
    high = np.maximum(open_, close) + rng.uniform(0, 1, n)
    low = np.minimum(open_, close) - rng.uniform(0, 1, n)
    return x, open_, high, low, close


@pytest.fixture
def counted(monkeypatch):
    """Every path built: how many bars each call drew (a per-bar loop would call per bar)."""
    calls: list[tuple[str, int]] = []
    for name in ("rects_path", "segments_path"):
        real = getattr(candlesticks, name)

        def spy(x, *rest, _real=real, _name=name):
            calls.append((_name, len(x)))
            return _real(x, *rest)

        monkeypatch.setattr(candlesticks, name, spy)
    return calls


def _shown(qtbot, item, x):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.addItem(item)
    plot.setXRange(x[0], x[-1], padding=0)
    return plot


def test_a_million_candles_are_a_few_array_calls(qtbot, counted):
    """Issue 20: the per-bar build froze the window on a 1M-row CSV. The number of path builds
    does not grow with the bars: 10k and 1M both take two per colour (wicks and bodies)."""
    for n in (10_000, 1_000_000):
        counted.clear()
        x, o, h, lo, c = _bars(n)
        item = CandlestickItem()
        item.set_data(x, o, h, lo, c)
        plot = _shown(qtbot, item, x)
        item.picture()
        assert item.recordings == 1
        assert [name for name, _ in counted] == ["segments_path", "rects_path"] * 2
        drawn = sum(k for name, k in counted if name == "rects_path")
        assert drawn == n if n <= ALL_BARS else drawn <= WINDOW_BARS
        rect = item.picture().boundingRect()  # integer device units of the recording
        assert rect.top() <= np.floor(lo.min()) + 1 and rect.bottom() >= np.floor(h.max())
        plot.close()


def test_zoomed_out_candles_merge_bars_as_a_longer_interval_would(qtbot, counted):
    n = 8 * WINDOW_BARS
    assert n > ALL_BARS
    x, o, h, lo, c = _bars(n, seed=1)
    item = CandlestickItem()
    item.set_data(x, o, h, lo, c)
    plot = _shown(qtbot, item, x)
    assert item._wanted_bars() == (0, n, 8), (item._wanted_bars(), plot.viewRange())
    captured = {}
    real = candlesticks.rects_path

    def keep(xs, bottom, top, half):
        captured.setdefault("bodies", []).append((np.asarray(xs), bottom, top))
        return real(xs, bottom, top, half)

    candlesticks.rects_path = keep
    try:
        item.picture()
    finally:
        candlesticks.rects_path = real
    step = 8  # 32k bars on screen, 4k at most drawn: groups of eight
    xs = np.concatenate([b[0] for b in captured["bodies"]])
    bottom = np.concatenate([b[1] for b in captured["bodies"]])
    top = np.concatenate([b[2] for b in captured["bodies"]])
    order = np.argsort(xs)
    groups = np.arange(n).reshape(-1, step)
    want_open, want_close = o[groups[:, 0]], c[groups[:, -1]]
    np.testing.assert_allclose(bottom[order], np.minimum(want_open, want_close))
    np.testing.assert_allclose(top[order], np.maximum(want_open, want_close))


def test_zoomed_in_a_million_bars_records_only_those_near_the_view(qtbot, counted):
    n = 1_000_000
    x, o, h, lo, c = _bars(n)
    item = CandlestickItem()
    item.set_data(x, o, h, lo, c)
    plot = _shown(qtbot, item, x)
    plot.setXRange(x[500_000], x[501_000], padding=0)
    item.picture()
    drawn = sum(k for name, k in counted if name == "rects_path")
    assert 1000 <= drawn <= 3 * WINDOW_BARS  # every bar near the view, at full detail
    before = item.recordings
    plot.setXRange(x[500_100], x[501_100], padding=0)  # a small pan stays inside the recording
    item.picture()
    assert item.recordings == before


def test_volume_bars_from_arrays_keep_both_colours(qtbot, counted):
    for n in (10_000, 1_000_000):
        counted.clear()
        x, o, _h, _lo, c = _bars(n)
        volume = VolumeBarsItem()
        volume.set_data(x, np.abs(c - o) * 1000, c >= o)
        plot = _shown(qtbot, volume, x)
        volume.picture()
        assert volume._recorded[2] == (1 if n <= ALL_BARS else 256)  # merged when zoomed out
        plot.close()
        assert len(counted) <= 2 * candlesticks.CHUNKS  # chunks, not bars
        assert volume.colours() == (int((c >= o).sum()), int((c < o).sum()))

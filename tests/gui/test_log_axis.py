"""Log-axis ticks a person can read: at least three, plain decimals, hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockapp.gui.widgets.log_axis import log_ticks, plain_number, scientific_labels, tick_labels


def labels(lo: float, hi: float, size: float = 300.0) -> list[str]:
    return tick_labels(10.0 ** log_ticks(math.log10(lo), math.log10(hi), size))


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        # several decades: one tick per decade, each written as it is
        (0.0009, 11.0, ["0.001", "0.01", "0.1", "1", "10"]),
        # one decade and a half: 1-2-5 steps, one number of decimals
        (0.045, 0.6, ["0.05", "0.10", "0.20", "0.50"]),
        # under a decade: every digit
        (0.55, 0.95, ["0.6", "0.7", "0.8", "0.9"]),
        # a loss creeping from 0.78 to 0.83 (no digit boundary inside): round linear steps
        (0.78, 0.83, ["0.78", "0.80", "0.82"]),
        (0.7149, 0.7191, ["0.715", "0.716", "0.717", "0.718", "0.719"]),
        (120.0, 980.0, ["200", "300", "400", "500", "600", "700", "800", "900"]),
    ],
)
def test_hand_worked_ticks(lo, hi, expected):
    assert labels(lo, hi) == expected


@pytest.mark.parametrize(
    ("lo", "hi"), [(0.8, 0.8001), (0.01, 0.011), (1e-4, 1e4), (3.0, 3000.0), (0.2, 0.21)]
)
def test_at_least_three_ticks_inside_the_range(lo, hi):
    ticks = 10.0 ** log_ticks(math.log10(lo), math.log10(hi), 200.0)
    assert len(ticks) >= 3
    assert np.all((ticks >= lo * (1 - 1e-9)) & (ticks <= hi * (1 + 1e-9)))
    assert np.all(np.diff(ticks) > 0)
    text = tick_labels(ticks)
    assert len(set(text)) == len(text)  # neighbours are told apart
    read_back = [float(t.replace(",", "")) for t in text]
    np.testing.assert_allclose(read_back, ticks, rtol=1e-6)


def test_many_decades_on_a_short_axis_are_thinned():
    ticks = log_ticks(-10.0, 10.0, size=100.0)
    assert 3 <= len(ticks) <= 4
    assert np.allclose(ticks, np.round(ticks))  # still whole decades


def test_unusable_ranges_give_no_ticks():
    assert len(log_ticks(float("nan"), 1.0)) == 0
    assert len(log_ticks(0.5, 0.5)) == 0


def test_one_number_form_per_axis():
    """Issue 20: one chart mixed "0.00001" and "1e-07"."""
    ticks = 10.0 ** log_ticks(-7.0, -3.0, 300.0)
    text = tick_labels(ticks)
    assert text[:2] == ["1e-7", "1e-6"] and text[-1] == "1e-3"
    assert all("e" in t for t in text)
    np.testing.assert_allclose([float(t) for t in text], ticks, rtol=1e-6)
    assert tick_labels(np.array([2e-5, 5e-5, 1e-4])) == ["2e-5", "5e-5", "1e-4"]
    assert tick_labels(np.array([0.001, 0.01, 0.1])) == ["0.001", "0.010", "0.100"]


def test_plain_numbers():
    assert plain_number(0.0004) == "0.0004"
    assert plain_number(800.0) == "800"
    assert plain_number(1234.5) == "1,234.5"
    assert plain_number(0.7149, 2) == "0.71"
    assert plain_number(float("inf")) == "n/a"


def test_one_axis_never_mixes_plain_decimals_with_exponents():
    """A gradient fading from 1e-2 to 1e-8 once read "0.00001" beside "1e-07"."""
    text = labels(1e-8, 1e-2)
    assert all("e" in t for t in text), text
    assert text == ["1e-8", "1e-7", "1e-6", "1e-5", "1e-4", "1e-3", "1e-2"]
    # 1-2-5 steps and a narrow range keep their mantissas apart and exact
    assert scientific_labels(np.array([1e-7, 2e-7, 5e-7])) == ["1e-7", "2e-7", "5e-7"]
    narrow = 10.0 ** log_ticks(math.log10(1.21e-7), math.log10(1.29e-7), 300.0)
    text = tick_labels(narrow)
    assert len(set(text)) == len(text) and all("e-7" in t for t in text)
    np.testing.assert_allclose([float(t) for t in text], narrow, rtol=1e-6)
    assert labels(0.0009, 11.0) == ["0.001", "0.01", "0.1", "1", "10"]  # plain numbers stay

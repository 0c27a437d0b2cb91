"""A sweep's failed runs are said once per reason, counted, largest group first."""

from __future__ import annotations

import math

from stockapp.core.sweep_failures import NO_REASON, failure_groups, failure_lines

SHORT = "Only 300 bars come before the test span; use a shorter window."


def test_reasons_are_grouped_counted_and_name_their_series():
    rows = [
        {"series": "AAPL", "status": "ok", "error": ""},
        {"series": "AAPL", "status": "failed", "error": "The run crashed: ValueError: x"},
        {"series": "AAPL", "status": "failed", "error": SHORT},
        {
            "series": "MSFT",
            "status": "failed",
            "error": "  Only 300 bars come before the test\n span; use a shorter window.",
        },  # the same sentence, other whitespace
        {"series": "MSFT", "status": "failed", "error": SHORT},
        {"series": "MSFT", "status": "cancelled", "error": "Cancelled before it finished."},
        {"series": "GLD", "status": "failed", "error": math.nan},  # as read from results.csv
    ]
    groups = failure_groups(rows)
    assert [(g.count, g.series) for g in groups] == [
        (3, ("AAPL", "MSFT")),
        (1, ("AAPL",)),
        (1, ("GLD",)),
    ]
    assert failure_lines(rows) == [
        f"3 runs failed on AAPL and MSFT: {SHORT}",
        "1 run failed on AAPL: The run crashed: ValueError: x",
        f"1 run failed on GLD: {NO_REASON}",
    ]


def test_three_series_and_none_failed():
    rows = [{"series": s, "status": "failed", "error": SHORT} for s in ("A", "B", "C")]
    assert failure_lines(rows) == [f"3 runs failed on A, B and C: {SHORT}"]
    assert failure_lines([{"series": "A", "status": "ok", "error": ""}]) == []
    assert failure_lines([]) == []

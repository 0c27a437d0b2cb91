"""drain: runs a progress generator to its result."""

from __future__ import annotations

from stockapp.core.progress import drain


def _job():
    yield 1
    yield 2
    return "done"


def test_drain_returns_the_result_and_reports_every_step():
    seen: list[int] = []
    assert drain(_job(), seen.append) == "done"
    assert seen == [1, 2]
    assert drain(_job()) == "done"

"""Why a sweep's runs failed, said once per reason: ``2 runs failed on AAPL: <sentence>``.

A failed run keeps its one-sentence reason in its row (``status`` failed, ``error``; see
:func:`stockapp.models.sweep.run_job`). Many runs of a grid usually fail for the same reason (a
window longer than the series fails for every seed), so the reasons are grouped by their exact
sentence and counted, largest group first. The command line and the window print the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The sentence of a failed row that carries none (an old results.csv, a lost reason).
NO_REASON = "No reason was recorded."


@dataclass(frozen=True)
class FailureGroup:
    """The runs that failed with one sentence: how many, and on which series."""

    reason: str
    count: int
    series: tuple[str, ...]

    def line(self) -> str:
        """``2 runs failed on AAPL and MSFT: <reason>``."""
        runs = f"{self.count} run{'s' * (self.count != 1)}"
        names = list(self.series)
        where = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
        return f"{runs} failed" + (f" on {where}" if where else "") + f": {self.reason}"


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):  # NaN from a CSV
        return ""
    return " ".join(str(value).split())


def failure_groups(rows: Iterable[Mapping]) -> list[FailureGroup]:
    """The failed rows of ``rows`` grouped by reason, largest group first (then first met)."""
    groups: dict[str, tuple[int, list[str]]] = {}
    for row in rows:
        if _text(row.get("status")) != "failed":
            continue
        reason = _text(row.get("error")) or NO_REASON
        count, series = groups.get(reason, (0, []))
        name = _text(row.get("series"))
        if name and name not in series:
            series.append(name)
        groups[reason] = (count + 1, series)
    ordered = sorted(groups.items(), key=lambda item: -item[1][0])  # stable: first met first
    return [FailureGroup(reason, count, tuple(series)) for reason, (count, series) in ordered]


def failure_lines(rows: Iterable[Mapping]) -> list[str]:
    """One line per reason (see :meth:`FailureGroup.line`); empty when no run failed."""
    return [group.line() for group in failure_groups(rows)]

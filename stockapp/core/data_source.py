"""Where a price series came from, as typed data: how to load it again, never parsed from a label.

Every loader puts a :class:`DataSource` on the :class:`~stockapp.data.series.PriceSeries` it makes
(a bundled sample, a CSV file, a Yahoo Finance ticker); a run's manifest records it in its data
section, and the window, the command line and the forward record read it back to load the same
data again. ``PriceSeries.source`` stays the words shown to people ("sample AAPL").

Runs saved before the identity was recorded carry only those words; :func:`legacy_source` reads
them, once, for the manifest reader and for a forward ledger's ``source`` text, and nowhere else.

It lives in ``core`` (plain data, no I/O) because the run manifest, which ``core`` reads and
writes, records it; :mod:`stockapp.data` re-exports it next to the loaders that make it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from stockapp.core.exchange import exchange_for

#: What a source can be: a bundled sample, a CSV file, a Yahoo Finance ticker, or not known
#: (a series built by hand, or a run saved with a source stockapp cannot read).
KINDS = ("sample", "csv", "ticker", "unknown")
#: Yahoo's interval names for the bar sizes stockapp downloads.
YAHOO_INTERVALS = ("1d", "1wk")
#: The words of each kind in a "Load ..." offer.
KIND_WORDS = {"sample": "sample", "csv": "CSV", "ticker": "Yahoo Finance"}

_YAHOO_TEXT = re.compile(r"^Yahoo Finance (\S+) \((\w+)\)")


@dataclass(frozen=True)
class DataSource:
    """The typed identity of a price series.

    ``kind`` is one of :data:`KINDS`; ``where`` the sample name, the file path or the ticker;
    ``interval`` the bar size in Yahoo's words (``"1d"``, ``"1wk"``, ``"1h"``; ``None`` when not
    known); ``adjusted`` whether the closes are (to be) adjusted for splits and dividends: a
    loader sets whether the prices have adjusted closes, a result records what was modelled;
    ``dayfirst`` how a CSV's ambiguous dates were read (``None``: decided from the file).
    """

    kind: str = "unknown"
    where: str = ""
    interval: str | None = None
    adjusted: bool = True
    dayfirst: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown data source kind {self.kind!r}")

    # ------------------------------------------------------------------ words
    def describe(self) -> str:
        """The source in the words a run's manifest and a forward ledger use:
        ``sample AAPL``, ``CSV /x/y.csv``, ``Yahoo Finance MSFT (1d)``."""
        if self.kind == "sample":
            return f"sample {self.where}"
        if self.kind == "csv":
            return f"CSV {self.where}"
        if self.kind == "ticker":
            return f"Yahoo Finance {self.where} ({self.interval or '1d'})"
        return self.where or "an unknown source"

    @property
    def reloadable(self) -> bool:
        """Whether the data can be loaded again from this source."""
        return self.kind != "unknown" and bool(self.where)

    def reload_text(self, name: str) -> str:
        """The offer to load the data again: ``Load AAPL (sample)``; "" when it cannot be."""
        return f"Load {name} ({KIND_WORDS[self.kind]})" if self.reloadable else ""

    @property
    def exchange(self) -> str | None:
        """The trading calendar of this source (see :func:`stockapp.core.exchange.exchange_for`)."""
        kind = {"ticker": "yahoo"}.get(self.kind, self.kind)
        return exchange_for(kind, self.where)

    def modelled(self, adjusted: bool) -> DataSource:
        """This source as a result records it: with the closes that were modelled."""
        return replace(self, adjusted=bool(adjusted))

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> DataSource:
        """Rebuild from :meth:`to_dict` output; anything unreadable is an unknown source."""
        if not isinstance(d, dict):
            return cls()
        kind = d.get("kind")
        interval = d.get("interval")
        dayfirst = d.get("dayfirst")
        return cls(
            kind=kind if kind in KINDS else "unknown",
            where=str(d.get("where") or ""),
            interval=str(interval) if interval else None,
            adjusted=bool(d.get("adjusted", True)),
            dayfirst=dayfirst if isinstance(dayfirst, bool) else None,
        )


def legacy_source(text: str, name: str = "", adjusted: bool = True) -> DataSource:
    """The identity a record written before it was typed names in words (``sample AAPL``,
    ``CSV /x.csv``, ``Yahoo Finance AAPL (1d)``, as :meth:`DataSource.describe` writes them).

    Only for such records: an old run's manifest (read once, by its reader) and a forward
    ledger's ``source`` text. Text it does not know is an ``unknown`` source.
    """
    text = str(text or "")
    if text.startswith("sample "):
        return DataSource("sample", text.removeprefix("sample ").strip(), "1d", adjusted)
    if text.startswith("CSV "):
        return DataSource("csv", text.removeprefix("CSV ").strip(), None, adjusted)
    found = _YAHOO_TEXT.match(text)
    if found:
        return DataSource("ticker", found.group(1), found.group(2), adjusted)
    if text.startswith("Yahoo Finance "):  # older words, without the interval
        return DataSource("ticker", name or text.split()[2], "1d", adjusted)
    return DataSource("unknown", "", None, adjusted)

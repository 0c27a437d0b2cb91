"""Prices from a source choice, the same way for the window and the command line.

A choice is a :class:`~stockapp.core.data_source.DataSource` (a bundled sample, a CSV file read
day first, month first or as the file says, a Yahoo Finance ticker with its bar size) and, for a
ticker, the dates wanted. :func:`load_series` loads one; :func:`load_several` loads the series
of an experiment and refuses, in one sentence, a series named twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from stockapp.core.data_source import DataSource
from stockapp.data import PriceSeries, list_samples, load_csv, load_sample, load_ticker
from stockapp.errors import DataError, StockappError


def sample(name: str) -> DataSource:
    """A bundled sample, by name (``AAPL``, ``^GSPC``)."""
    return DataSource("sample", name, "1d")


def csv_file(path: str, dayfirst: bool | None = None) -> DataSource:
    """A CSV file; ``dayfirst`` says how to read dates like 01/02/1999 (None: as the file says)."""
    return DataSource("csv", str(path), dayfirst=dayfirst)


def ticker(symbol: str, interval: str | None = None) -> DataSource:
    """A Yahoo Finance ticker with daily (``1d``, the default) or weekly (``1wk``) bars."""
    return DataSource("ticker", symbol.strip().upper(), interval or "1d")


def load_series(
    source: DataSource,
    start: date | str | None = None,
    end: date | str | None = None,
    session=None,
) -> PriceSeries:
    """The prices ``source`` names (a ticker's from ``start`` to before ``end``, through the
    cache; ``session`` is handed to yfinance, the tests pass a fake one).

    Raises a one-sentence :class:`~stockapp.errors.StockappError` for bad input.
    """
    if source.kind == "sample":
        return load_sample(source.where)
    if source.kind == "csv":
        if source.dayfirst is None:
            return load_csv(source.where)
        return load_csv(source.where, dayfirst=source.dayfirst)
    if source.kind == "ticker":
        given = {} if session is None else {"session": session}
        return load_ticker(
            source.where, start=start, end=end, interval=source.interval or "1d", **given
        )
    raise DataError(f"The prices came from {source.describe()}, which cannot be loaded again.")


def experiment_sources(
    samples: Iterable[str] = (),
    csvs: Iterable[str] = (),
    tickers: Iterable[str] = (),
    all_samples: bool = False,
) -> list[DataSource]:
    """The sources of an experiment: every bundled sample (with ``all_samples``) or the named
    ones, then the files, then the tickers."""
    names = [i.name for i in list_samples()] if all_samples else []
    names += [n for n in samples if n not in names]
    return [
        *(sample(n) for n in names),
        *(csv_file(p) for p in csvs),
        *(ticker(t) for t in tickers),
    ]


def load_several(sources: Iterable[DataSource]) -> list[PriceSeries]:
    """Load every source; one sentence when two of them give series of the same name (an
    experiment names its runs and results by series)."""
    series = [load_series(s) for s in sources]
    seen: set[str] = set()
    for s in series:
        if s.name in seen:
            raise StockappError(f"{s.name} is named twice; give each series once.")
        seen.add(s.name)
    return series

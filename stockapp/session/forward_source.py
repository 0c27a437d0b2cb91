"""Where a forward record's prices come from, and whether they are still the run's series.

A run names its data in words (``sample AAPL``, ``CSV /path/prices.csv``, ``Yahoo Finance AAPL
(1d)``); :func:`run_source` reads that back once, here, into a :class:`Source`. (Once
``PriceSeries`` carries a typed data source, this parsing goes.) :func:`check_matches` refuses,
in one sentence, prices that are not the series the model learned from: other bars (weekly for
daily), other closes (raw for adjusted), or another instrument, told by comparing the bar-to-bar
log returns on the run's own test bars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stockapp.core.bars import bar_size
from stockapp.core.exchange import exchange_for
from stockapp.data import PriceSeries, load_csv, load_sample, load_ticker
from stockapp.errors import DataError

_YAHOO = re.compile(r"^Yahoo Finance (\S+) \((1d|1wk)\)")
#: Two series are the same instrument when this share of their bar-to-bar log returns on the
#: run's test bars agree within :data:`RETURN_TOLERANCE`. Yahoo re-adjusts dividends into
#: "Adj Close", which moves the return of an ex-dividend day by the yield (about 0.5% on a
#: quarterly payer), so a few bars may differ; another ticker agrees on almost none.
SAME_SHARE = 0.9
RETURN_TOLERANCE = 0.01
#: Fewer common bars than this cannot tell two series apart; the names must then agree.
MIN_COMMON = 20
#: Bar sizes a forward record supports (the next bar's date must be known in advance).
BAR_SIZES = ("daily", "weekly")


@dataclass(frozen=True)
class Source:
    """A price source: ``kind`` is ``"sample"``, ``"csv"`` or ``"yahoo"``; ``where`` the sample
    name, file path or ticker; ``interval`` Yahoo's ``"1d"``/``"1wk"``."""

    kind: str
    where: str
    interval: str | None = None

    def describe(self) -> str:
        """The source in the words a run's manifest uses."""
        if self.kind == "sample":
            return f"sample {self.where}"
        if self.kind == "csv":
            return f"CSV {self.where}"
        return f"Yahoo Finance {self.where} ({self.interval or '1d'})"

    @property
    def exchange(self) -> str | None:
        """The trading calendar of this source (see :func:`stockapp.core.exchange.exchange_for`)."""
        return exchange_for(self.kind, self.where)

    def load(self, session=None) -> PriceSeries:
        """The prices, refreshed: the sample, the CSV as it is now, or Yahoo through the cache
        (``session`` is handed to yfinance; the tests pass a fake one)."""
        if self.kind == "sample":
            return load_sample(self.where)
        if self.kind == "csv":
            return load_csv(self.where)
        return load_ticker(self.where, interval=self.interval or "1d", session=session)


def parse_source(text: str) -> Source | None:
    """A :class:`Source` from a manifest's or an entry's ``source`` text; ``None`` if unknown."""
    if text.startswith("sample "):
        return Source("sample", text.removeprefix("sample ").strip())
    if text.startswith("CSV "):
        return Source("csv", text.removeprefix("CSV ").strip())
    found = _YAHOO.match(text)
    if found:
        return Source("yahoo", found.group(1), found.group(2))
    return None


def run_source(manifest: dict) -> Source:
    """The source a run's prices came from, to refresh them; one sentence when it cannot be."""
    text = str(manifest.get("data", {}).get("source", ""))
    source = parse_source(text)
    if source is None:
        raise DataError(
            f"The run's prices came from {text or 'an unknown source'}, which cannot be loaded "
            "again; give --csv, --ticker or --sample."
        )
    return source


def chosen_source(
    run_manifest: dict,
    bars: str,
    csv: str | None = None,
    ticker: str | None = None,
    sample: str | None = None,
) -> Source:
    """The source named on the command line, or the run's own; a ticker keeps the run's bars."""
    if csv is not None:
        return Source("csv", str(Path(csv)))
    if sample is not None:
        return Source("sample", sample)
    if ticker is not None:
        own = parse_source(str(run_manifest.get("data", {}).get("source", "")))
        interval = own.interval if own is not None and own.interval else None
        if interval is None:
            interval = "1wk" if bars == "weekly" else "1d"
        return Source("yahoo", ticker.strip().upper(), interval)
    return run_source(run_manifest)


def _key(name: str) -> str:
    return name.strip().lstrip("^").upper()


def check_matches(series: PriceSeries, source: Source, run) -> None:
    """Refuse, in one sentence, prices that are not the series ``run`` (a saved run) learned."""
    what = source.describe()
    label = what if series.name in what else f"{what} ({series.name})"
    size = bar_size(series.dates)
    if size not in BAR_SIZES:
        raise DataError(
            f"{what} has {size} bars; a forward record needs daily or weekly bars, whose next "
            "date is known in advance."
        )
    if size != run.bars:
        raise DataError(f"{what} has {size} bars but the run learned from {run.bars} bars.")
    if run.adjusted and not series.has_adjusted:
        raise DataError(
            f"The run learned from adjusted closes but {what} has no Adj Close column; give "
            "prices with adjusted closes."
        )
    result = run.result
    close = series.prices(run.adjusted)["Close"]
    common = result.dates.intersection(series.dates)
    name, theirs = _key(series.name), _key(str(run.manifest.get("data", {}).get("name", "")))
    if len(common) < MIN_COMMON:
        if name != theirs:
            raise DataError(
                f"{label} shares only {len(common)} bars with the run's test bars "
                f"and is not named like the run's series ({theirs}), so it cannot be told to be "
                "the same series."
            )
        return
    run_close = result.realised[result.dates.get_indexer(common)]
    r_run = np.diff(np.log(run_close))
    r_new = np.diff(np.log(close.loc[common].to_numpy(np.float64)))
    agree = float(np.mean(np.abs(r_run - r_new) <= RETURN_TOLERANCE))
    if agree < SAME_SHARE:
        raise DataError(
            f"{label} is not the run's series ({theirs}): its closes move like the "
            f"run's on only {agree:.0%} of the {len(common)} test bars both hold."
        )

"""Other series as a model's inputs (covariates), loaded the same way for the window and the
command line: ``SPY`` or ``SPY:return,range`` names a series and the features taken from it
(:func:`~stockapp.core.covariates.parse_request`); :func:`load_covariates` loads each and wraps
it as a :class:`~stockapp.core.covariates.Covariate` with its source identity."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from stockapp.core.covariates import (
    CALENDAR_FEATURES,
    COVARIATE_FEATURES,
    DEFAULT_COVARIATE_FEATURES,
    Covariate,
    parse_request,
)
from stockapp.core.data_source import KIND_WORDS, DataSource
from stockapp.session.loading import csv_file, load_series, sample, ticker


def covariate_requests(
    samples: Iterable[str] = (), csvs: Iterable[str] = (), tickers: Iterable[str] = ()
) -> list[tuple[DataSource, tuple[str, ...]]]:
    """Each requested input's source and features, samples first, then files, then tickers."""
    out: list[tuple[DataSource, tuple[str, ...]]] = []
    for make, texts in ((sample, samples), (csv_file, csvs), (ticker, tickers)):
        for text in texts or ():
            where, features = parse_request(text)
            out.append((make(where), features))
    return out


def covariate_of(series, features: tuple[str, ...], adjusted: bool) -> Covariate:
    """``series`` (a :class:`~stockapp.data.series.PriceSeries`) as an input with ``features``,
    its closes adjusted as the target's are, recording where it came from."""
    origin = getattr(series, "data_source", None)
    identity = {
        "source": str(series.source),
        "fingerprint": str(series.fingerprint),
        "adjusted": bool(adjusted and series.has_adjusted),
    }
    if origin is not None:
        identity["data_source"] = origin.modelled(identity["adjusted"]).to_dict()
    return Covariate(series.name, series.prices(adjusted), tuple(features), identity)


def load_covariates(
    requests: Iterable[tuple[DataSource, tuple[str, ...]]],
    adjusted: bool,
    start: date | str | None = None,
    end: date | str | None = None,
) -> list[Covariate]:
    """Load every requested input (a ticker's over ``start`` .. ``end``, like the target's)."""
    return [
        covariate_of(load_series(source, start=start, end=end), features, adjusted)
        for source, features in requests
    ]


#: Features offered for another series, in the window's words.
FEATURE_WORDS: dict[str, str] = {
    "return": "log return",
    "abs_return": "|log return|",
    "range": "high-low range",
    "volume": "volume change",
}
#: Calendar inputs in the window's words.
CALENDAR_WORDS: dict[str, str] = {"dow": "day of the week", "month": "month"}


@dataclass(frozen=True)
class InputChoice:
    """The other series and calendar inputs the window's next backtest gives its model, as the
    command line's ``--with-sample/--with-csv/--with-ticker`` and ``--calendar`` do.

    ``requests`` holds each series' source and features (one entry per source: adding a source
    again replaces its features); ``calendar`` the calendar keys (``"dow"``, ``"month"``).
    Nothing is loaded here: :meth:`load` does it when the job runs (a ticker downloads off the
    window's thread), over the target's dates."""

    requests: tuple[tuple[DataSource, tuple[str, ...]], ...] = ()
    calendar: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.requests or self.calendar)

    def add(self, source: DataSource, features: Iterable[str]) -> InputChoice:
        """This choice with ``source`` taken with ``features`` (in the order the app knows them;
        none given: the log return), replacing an earlier entry of the same source."""
        chosen = tuple(k for k in COVARIATE_FEATURES if k in set(features))
        chosen = chosen or DEFAULT_COVARIATE_FEATURES
        kept = tuple((s, f) for s, f in self.requests if _key(s) != _key(source))
        return replace(self, requests=kept + ((source, chosen),))

    def without(self, index: int) -> InputChoice:
        """This choice without its ``index``-th series."""
        return replace(self, requests=self.requests[:index] + self.requests[index + 1 :])

    def with_calendar(self, keys: Iterable[str]) -> InputChoice:
        wanted = set(keys)
        return replace(self, calendar=tuple(k for k in CALENDAR_FEATURES if k in wanted))

    def lines(self) -> list[str]:
        """Each series in words: ``SPY (sample): log return, high-low range``."""
        return [
            f"{s.where if s.kind != 'csv' else Path(s.where).name} ({KIND_WORDS[s.kind]}): "
            + ", ".join(FEATURE_WORDS[k] for k in f)
            for s, f in self.requests
        ]

    def summary(self) -> str:
        """The whole choice in one short phrase ("" when empty): ``SPY, ^GSPC; day of week``."""
        names = [s.where if s.kind != "csv" else Path(s.where).name for s, _ in self.requests]
        words = [CALENDAR_WORDS[k] for k in self.calendar]
        return "; ".join(p for p in (", ".join(names), ", ".join(words)) if p)

    def load(self, adjusted: bool, dates: Any = None) -> tuple[Covariate, ...]:
        """Every series loaded as a :class:`~stockapp.core.covariates.Covariate` (a ticker over
        ``dates``' first to last day, one day past the last as the loader's end is exclusive)."""
        start = end = None
        if dates is not None and len(dates) and any(s.kind == "ticker" for s, _ in self.requests):
            start = dates[0].date()
            end = (dates[-1] + timedelta(days=1)).date()
        return tuple(load_covariates(self.requests, adjusted, start=start, end=end))

    def to_list(self) -> list[str]:
        """The choice as plain strings, to remember between launches (see :meth:`from_list`)."""
        out = [json.dumps({"source": s.to_dict(), "features": list(f)}) for s, f in self.requests]
        return out + [json.dumps({"calendar": list(self.calendar)})]

    @classmethod
    def from_list(cls, items: Iterable[str]) -> InputChoice:
        """What :meth:`to_list` wrote; anything unreadable is left out."""
        choice = cls()
        for item in items or ():
            try:
                d = json.loads(item)
                if "calendar" in d:
                    choice = choice.with_calendar(d["calendar"])
                    continue
                source = DataSource.from_dict(d["source"])
                if source.reloadable:  # a source it cannot load again is not offered
                    choice = choice.add(source, d["features"])
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
        return choice


def _key(source: DataSource) -> tuple[str, str, str]:
    return (source.kind, source.where, getattr(source, "interval", "") or "")

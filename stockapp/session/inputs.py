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
    """What the window's next backtest reads and forecasts besides the series on screen: other
    series and calendar inputs given to its model, as the command line's
    ``--with-sample/--with-csv/--with-ticker`` and ``--calendar`` do, and other series it forecasts
    too, as ``--sample/--csv/--ticker`` repeated (``--global`` when ``one_network``).

    ``requests`` holds each input series' source and features; ``targets`` the sources of the
    series forecast beside the one on screen (a source is listed once: adding it again replaces
    its entry); ``calendar`` the calendar keys (``"dow"``, ``"month"``). Nothing is loaded here:
    :meth:`load` and :meth:`load_targets` do it when the job runs (a ticker downloads off the
    window's thread, over the dates of the series on screen)."""

    requests: tuple[tuple[DataSource, tuple[str, ...]], ...] = ()
    calendar: tuple[str, ...] = ()
    targets: tuple[DataSource, ...] = ()
    one_network: bool = False

    def __bool__(self) -> bool:
        """Whether the model reads anything besides the past of the series it forecasts."""
        return bool(self.requests or self.calendar)

    def add(self, source: DataSource, features: Iterable[str]) -> InputChoice:
        """This choice with ``source`` taken with ``features`` (in the order the app knows them;
        none given: the log return), replacing an earlier entry of the same source."""
        chosen = tuple(k for k in COVARIATE_FEATURES if k in set(features))
        chosen = chosen or DEFAULT_COVARIATE_FEATURES
        rest = self._without_source(source)
        return replace(rest, requests=rest.requests + ((source, chosen),))

    def add_target(self, source: DataSource) -> InputChoice:
        """This choice with ``source`` forecast too (no longer an input if it was one)."""
        rest = self._without_source(source)
        return replace(rest, targets=rest.targets + (source,))

    def without(self, index: int) -> InputChoice:
        """This choice without the ``index``-th entry of :meth:`lines` (inputs, then targets)."""
        if index < len(self.requests):
            return replace(self, requests=self.requests[:index] + self.requests[index + 1 :])
        k = index - len(self.requests)
        return replace(self, targets=self.targets[:k] + self.targets[k + 1 :])

    def with_calendar(self, keys: Iterable[str]) -> InputChoice:
        wanted = set(keys)
        return replace(self, calendar=tuple(k for k in CALENDAR_FEATURES if k in wanted))

    def with_one_network(self, one: bool) -> InputChoice:
        return replace(self, one_network=bool(one))

    def lines(self) -> list[str]:
        """Each entry in words: ``SPY (sample): log return, high-low range`` for an input,
        ``GOOG (sample): forecast too`` for a target."""
        inputs = [
            f"{_name(s)} ({KIND_WORDS[s.kind]}): " + ", ".join(FEATURE_WORDS[k] for k in f)
            for s, f in self.requests
        ]
        return inputs + [f"{_name(s)} ({KIND_WORDS[s.kind]}): forecast too" for s in self.targets]

    def summary(self) -> str:
        """The inputs in one short phrase ("" when none): ``SPY, ^GSPC; day of the week``."""
        names = [_name(s) for s, _ in self.requests]
        words = [CALENDAR_WORDS[k] for k in self.calendar]
        return "; ".join(p for p in (", ".join(names), ", ".join(words)) if p)

    def target_summary(self) -> str:
        """The series forecast too, in words ("" when none): ``GOOG, MSFT (one network)``."""
        if not self.targets:
            return ""
        how = " (one network)" if self.one_network else ""
        return ", ".join(_name(s) for s in self.targets) + how

    def load(self, adjusted: bool, dates: Any = None) -> tuple[Covariate, ...]:
        """Every input series loaded as a :class:`~stockapp.core.covariates.Covariate` (a
        ticker over ``dates``' first to last day)."""
        start, end = _ticker_span(dates, [s for s, _ in self.requests])
        return tuple(load_covariates(self.requests, adjusted, start=start, end=end))

    def load_targets(self, dates: Any = None) -> list:
        """Every series forecast too, loaded (a ticker over ``dates``' first to last day)."""
        start, end = _ticker_span(dates, self.targets)
        return [load_series(s, start=start, end=end) for s in self.targets]

    def to_list(self) -> list[str]:
        """The choice as plain strings, to remember between launches (see :meth:`from_list`)."""
        out = [json.dumps({"source": s.to_dict(), "features": list(f)}) for s, f in self.requests]
        out += [json.dumps({"target": s.to_dict()}) for s in self.targets]
        return out + [json.dumps({"calendar": list(self.calendar), "one": self.one_network})]

    @classmethod
    def from_list(cls, items: Iterable[str]) -> InputChoice:
        """What :meth:`to_list` wrote; anything unreadable is left out."""
        choice = cls()
        for item in items or ():
            try:
                d = json.loads(item)
                if "calendar" in d:
                    choice = choice.with_calendar(d["calendar"])
                    choice = choice.with_one_network(d.get("one") is True)
                    continue
                source = DataSource.from_dict(d["target"] if "target" in d else d["source"])
                if not source.reloadable:  # a source it cannot load again is not offered
                    continue
                if "target" in d:
                    choice = choice.add_target(source)
                else:
                    choice = choice.add(source, d["features"])
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
        return choice

    def _without_source(self, source: DataSource) -> InputChoice:
        key = _key(source)
        return replace(
            self,
            requests=tuple((s, f) for s, f in self.requests if _key(s) != key),
            targets=tuple(s for s in self.targets if _key(s) != key),
        )


def _name(source: DataSource) -> str:
    return Path(source.where).name if source.kind == "csv" else source.where


def _ticker_span(dates: Any, sources: Iterable[DataSource]) -> tuple[date | None, date | None]:
    """The days a ticker among ``sources`` is downloaded over: ``dates``' first to the day after
    its last (the loader's end is exclusive); ``None`` when no ticker needs them."""
    if dates is None or not len(dates) or not any(s.kind == "ticker" for s in sources):
        return None, None
    return dates[0].date(), (dates[-1] + timedelta(days=1)).date()


def _key(source: DataSource) -> tuple[str, str, str]:
    return (source.kind, source.where, getattr(source, "interval", "") or "")

"""Other series as a model's inputs (covariates), loaded the same way for the window and the
command line: ``SPY`` or ``SPY:return,range`` names a series and the features taken from it
(:func:`~stockapp.core.covariates.parse_request`); :func:`load_covariates` loads each and wraps
it as a :class:`~stockapp.core.covariates.Covariate` with its source identity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from stockapp.core.covariates import Covariate, parse_request
from stockapp.core.data_source import DataSource
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

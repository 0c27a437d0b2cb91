"""Where a forward record's prices come from, and whether they are still the run's series.

A run records where its prices came from as a typed
:class:`~stockapp.core.data_source.DataSource` (read from an older run's words by its manifest
reader); :func:`run_source` takes it, :func:`chosen_source` takes the one named on the command
line instead. :func:`check_matches` refuses, in one sentence, prices that are not the series the
model learned from: other bars (weekly for daily), other closes (raw for adjusted), or another
instrument, told by comparing the bar-to-bar log returns on the run's own test bars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stockapp.core.bars import bar_size
from stockapp.core.data_source import DataSource
from stockapp.data import PriceSeries
from stockapp.errors import DataError
from stockapp.session.loading import csv_file, sample, ticker

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


def run_source(manifest) -> DataSource:
    """The source a run's prices came from (a :class:`~stockapp.core.manifest.RunManifest`),
    to refresh them; one sentence when it cannot be loaded again."""
    data = manifest.data
    source = DataSource() if data is None else data.data_source
    if not source.reloadable:
        text = "" if data is None else data.source
        raise DataError(
            f"The run's prices came from {text or 'an unknown source'}, which cannot be loaded "
            "again; give --csv, --ticker or --sample."
        )
    return source


def chosen_source(
    run_manifest,
    bars: str,
    csv: str | None = None,
    symbol: str | None = None,
    sample_name: str | None = None,
) -> DataSource:
    """The source named on the command line, or the run's own; a ticker keeps the run's bars."""
    if csv is not None:
        return csv_file(str(Path(csv)))
    if sample_name is not None:
        return sample(sample_name)
    if symbol is not None:
        data = run_manifest.data
        own = None if data is None else data.data_source
        interval = own.interval if own is not None and own.kind == "ticker" else None
        if interval is None:
            interval = "1wk" if bars == "weekly" else "1d"
        return ticker(symbol, interval)
    return run_source(run_manifest)


def _key(name: str) -> str:
    return name.strip().lstrip("^").upper()


def check_matches(series: PriceSeries, source: DataSource, run) -> None:
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
    name, theirs = _key(series.name), _key(run.manifest.data_name)
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

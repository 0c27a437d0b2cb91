"""The other series and calendar inputs of a saved run, loaded again for its model.

A run made with inputs (``--with-sample/--with-csv/--with-ticker``, ``--calendar``) records in
its manifest each covariate's name, features, typed source (``data_source``), fingerprint and
span, and its calendar inputs. :func:`reload_inputs` loads every covariate again from its
source (as :mod:`stockapp.session.inputs` loaded it for the backtest) and checks it is the data
the model learned from; :meth:`RunInputs.align` then adds the columns to the target's prices by
the one rule of :mod:`stockapp.core.covariates` (the forecast of the bar dated d reads a
covariate's bars dated strictly before d), so the model reads the columns it was trained on.

Whether the data must be unchanged depends on the use:

* ``explain`` reproduces the run's own forecasts, so a covariate's data must be the very data
  (its whole fingerprint), as the target's is;
* a forward record reads the data as it grows, so the bars of the run's span must be unchanged
  (the fingerprint of those bars) for a sample or a CSV file; a ticker is not checked, because
  Yahoo re-adjusts its history after every dividend (the target's own check allows for that)
  and its symbol names the instrument; the ledger keeps what each forecast read.

Every failure (a moved file, a ticker with no network, changed data) is one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stockapp.core.covariates import Covariate, align_covariates
from stockapp.core.data_source import DataSource
from stockapp.data.series import fingerprint_frame
from stockapp.errors import DataError, StockappError
from stockapp.session.inputs import covariate_of
from stockapp.session.loading import load_series


@dataclass(frozen=True)
class RunInputs:
    """A run's covariates as loaded again, and its calendar inputs."""

    covariates: tuple[Covariate, ...] = ()
    calendar: tuple[str, ...] = ()
    sources: tuple[DataSource, ...] = ()  # where each covariate was loaded from

    def __bool__(self) -> bool:
        return bool(self.covariates or self.calendar)

    def align(
        self, prices: pd.DataFrame, target_name: str, next_date: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """``prices`` with the inputs' columns, aligned as in training (``next_date``: the date
        of the bar after the last, when known, for the calendar inputs of the last row)."""
        if not self:
            return prices
        aligned = align_covariates(
            prices, self.covariates, self.calendar, target_name, next_date=next_date
        )
        return aligned.frame

    def read_by(self, through: pd.Timestamp) -> list[dict]:
        """Per covariate: its name, source and the fingerprint of its bars dated on or before
        ``through``, the last bar a forecast from data through then may read."""
        out = []
        for cov, source in zip(self.covariates, self.sources, strict=True):
            bars = cov.prices[cov.prices.index <= through]
            out.append({"name": cov.name, "source": source.describe(),
                        "fingerprint": fingerprint_frame(bars)})  # fmt: skip
        return out


def _source(record: dict) -> DataSource:
    source = DataSource.from_dict(record.get("data_source"))
    if not source.reloadable:
        raise DataError(
            f"The run reads {record.get('name', 'another series')} as an input but its manifest "
            f"does not say where that came from ({record.get('source') or 'unknown'}), so it "
            "cannot be loaded again."
        )
    return source


def _load(record: dict, source: DataSource, start, session):
    try:
        return load_series(source, start=start, session=session)
    except StockappError as exc:
        reason = str(exc).rstrip(".")
        reason = reason[:1].lower() + reason[1:]
        tail = "; put the file back where the run found it" if source.kind == "csv" else ""
        raise DataError(
            f"The run's input {record.get('name')} cannot be loaded again from "
            f"{source.describe()} ({reason}){tail}."
        ) from None


def _changed(record: dict, series, whole: bool) -> bool:
    """Whether ``series`` is not the data the run learned from (see the module docstring)."""
    saved = record.get("fingerprint")
    if not saved:
        return False
    if whole:
        return series.fingerprint != saved
    first, last = record.get("first_date"), record.get("last_date")
    frame = series.frame
    if first and last:
        dates = frame.index
        frame = frame[(dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last))]
    return fingerprint_frame(frame) != saved


def reload_inputs(
    manifest,
    adjusted: bool,
    whole: bool = False,
    session=None,
    closed=None,
) -> RunInputs:
    """Load again the inputs a run's manifest (a
    :class:`~stockapp.core.manifest.RunManifest`) records, checked as the module docstring says
    (``whole``: the whole data must be unchanged, for explaining the run's own forecasts).

    ``closed`` (a function of a covariate's source and dates giving a boolean mask) keeps only
    bars that have closed, for a forward record. ``session`` is handed to yfinance.
    Raises a one-sentence :class:`~stockapp.errors.DataError`.
    """
    covariates, sources = [], []
    for record in manifest.covariates:
        source = _source(record)
        name = record.get("name")
        if whole and source.kind == "ticker":
            raise DataError(
                f"The run's input {name} came from {source.describe()}, whose history Yahoo "
                "re-adjusts; explain can reopen runs whose inputs are bundled samples or CSV "
                "files."
            )
        start = record.get("first_date") if source.kind == "ticker" else None
        series = _load(record, source, start, session)
        if source.kind != "ticker" and _changed(record, series, whole):
            span = f"{record.get('first_date')} .. {record.get('last_date')}"
            raise DataError(
                f"The prices of {name} in {source.describe()}, an input of the run, have "
                f"changed since the run was made ({span}), so its model would read other data; "
                "put back the data the run learned from."
            )
        cov = covariate_of(series, tuple(record.get("features") or ()), adjusted)
        keep = closed(source, cov.prices.index) if closed is not None else slice(None)
        # named as the run named it: the model's columns are ``with:NAME:FEATURE``
        covariates.append(Covariate(name, cov.prices[keep], cov.features, cov.identity))
        sources.append(source)
    return RunInputs(tuple(covariates), tuple(manifest.calendar), tuple(sources))

"""What one window is about, without Qt: its data, the model just trained, the results shown.

A :class:`Session` holds the price series on screen (and whether it is modelled adjusted), the
model the Model page trained or opened (:class:`TrainedModel`), the backtest results shown
(:class:`Results`), the test span training keeps out (``split``) and the one job slot
(:class:`~stockapp.session.job_slot.JobSlot`). It decides what the window says about them:

- a model or results computed on other data than the window now shows are *stale*: saving
  them waits until that data is back, and the results offer to load it again;
- the model just trained may forecast a backtest's test span only when it learnt from exactly
  the bars the backtest's first fit would (:meth:`Session.reusable_model`), the span
  :func:`~stockapp.core.walkforward.first_fit_span` gives to the engine, the CLI and the window.

Its events (:mod:`stockapp.session.events`) tell the Qt adapters what changed; it is tested
without Qt (``tests/session``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from stockapp.core.manifest import RunManifest
from stockapp.core.walkforward import BacktestSettings, first_fit_span
from stockapp.errors import StockappError
from stockapp.session.data_tag import DataTag, day_text
from stockapp.session.events import Event
from stockapp.session.inputs import CALENDAR_WORDS, FEATURE_WORDS, InputChoice
from stockapp.session.job_slot import JobSlot

#: Why the model just trained cannot be used when there is none (with a training history).
NO_TRAINED_MODEL = (
    "Train a model first (Model page); its training must end just before the test span."
)


@dataclass(frozen=True)
class TrainedModel:
    """The model of the Model page: trained in this window, or opened from a folder.

    ``result`` is its training (a ``TrainResult``; ``None`` for a model opened without one);
    ``trained_on`` the data and span it learnt from and ``trained_dates`` the dates of its
    training bars (both ``None`` for an opened model: a saved model records a fingerprint only).
    """

    forecaster: Any
    result: Any = None
    trained_on: DataTag | None = None
    trained_dates: pd.DatetimeIndex | None = None


@dataclass(frozen=True)
class Results:
    """The backtest the results tab shows: made in this window (``outcome``, with its model) or
    opened from a run folder (``folder``); ``spans`` splits a sweep's run at its test span."""

    result: Any
    model_name: str = "Model"
    manifest: RunManifest | None = None
    data_tag: DataTag | None = None
    outcome: Any = None
    folder: Path | None = None
    spans: Any = None
    #: A backtest of several series (a ``SeveralOutcome``), of which this shows ``shown``.
    several: Any = None
    shown: str = ""

    @classmethod
    def live(cls, outcome: Any, job_tag: DataTag | None = None) -> Results:
        """A backtest just run (a ``BacktestOutcome``); ``job_tag`` names its data when its
        manifest does not. Of several series (a ``SeveralOutcome``) the first, the window's,
        is shown, and ``job_tag`` names the run's data."""
        if hasattr(outcome, "outcomes"):
            first = next(iter(outcome.outcomes))
            one = cls.live(outcome.outcomes[first], job_tag)
            return replace(one, data_tag=job_tag or one.data_tag, several=outcome, shown=first)
        manifest = outcome.manifest
        return cls(
            result=outcome.result,
            model_name=outcome.model_name,
            manifest=manifest,
            data_tag=DataTag.from_manifest(manifest) or job_tag,
            outcome=outcome,
        )

    @classmethod
    def opened_several(cls, several: Any) -> Results:
        """A run of several series opened from its folder (an ``OpenedSeveral``): the first
        series shown, as after a backtest of several just run."""
        first = next(iter(several.outcomes))
        one = cls.opened(several.outcomes[first].result, several.outcomes[first].manifest,
                         several.folder)  # fmt: skip
        return replace(one, several=several, shown=first)

    @classmethod
    def opened(cls, result: Any, manifest: RunManifest, folder: Path, spans: Any = None) -> Results:
        """A run opened from ``folder`` (no model in memory)."""
        return cls(
            result=result,
            model_name=manifest.shown_model_name,
            manifest=manifest,
            data_tag=DataTag.from_manifest(manifest),
            folder=Path(folder),
            spans=spans,
        )

    @property
    def series_names(self) -> list[str]:
        """The series of a backtest of several ([] for one)."""
        return [] if self.several is None else list(self.several.outcomes)

    def of_series(self, name: str) -> Results:
        """These results showing series ``name`` of a backtest of several."""
        one = self.several.outcomes[name]
        opened = getattr(self.several, "opened", False)  # from disk: no model in memory
        return replace(
            self, result=one.result, model_name=one.model_name, manifest=one.manifest,
            outcome=None if opened else one, shown=name,
        )  # fmt: skip

    def several_text(self) -> str:
        """`` and GOOG, MSFT (a model each) · showing <b>GOOG</b>`` ("" for one series)."""
        if self.several is None:
            return ""
        others = ", ".join(n for n in self.series_names[1:])
        how = "one network" if self.several.one_network else "a model each"
        return f" and {others} ({how}) · showing <b>{self.shown}</b>"

    @property
    def scored(self) -> Any:
        """The result the scores are read from: a sweep's run on its test span only."""
        return self.result if self.spans is None else self.spans.test


@dataclass(frozen=True)
class DataHeader:
    """What the results tab says above its charts about their data."""

    text: str  # may hold <b> for the data's name
    stale: bool
    reload_text: str = ""  # the button offering to load the results' data again ("" hides it)
    reload_tip: str = ""


class Session:
    """The Qt-free state of one window; the adapters read it and follow its events.

    Events
    ------
    data_changed()
        another series was loaded, or adjusted/raw prices were switched;
    model_changed(TrainedModel | None)
        a model was trained or opened;
    results_changed(Results | None)
        results were shown (a backtest finished, a run was opened) or cleared;
    inputs_changed(InputChoice)
        other series or calendar inputs were added to or taken from the next backtest.
    """

    def __init__(self, split: BacktestSettings | None = None) -> None:
        self.series: Any = None
        self.adjusted = True
        self.split = split or BacktestSettings()
        self.slot = JobSlot()
        self.model: TrainedModel | None = None
        self.results: Results | None = None
        self.inputs = InputChoice()
        self.inputs_changed = Event()
        self.data_changed = Event()
        self.model_changed = Event()
        self.results_changed = Event()

    # ------------------------------------------------------------------ the data
    def set_data(self, series: Any, adjusted: bool) -> None:
        """Show ``series`` (a :class:`~stockapp.data.series.PriceSeries`) modelled ``adjusted``."""
        self.series, self.adjusted = series, bool(adjusted)
        self.data_changed.emit()

    def set_adjusted(self, adjusted: bool) -> None:
        self.adjusted = bool(adjusted)
        self.data_changed.emit()

    @property
    def modelled_adjusted(self) -> bool:
        """Whether the closes modelled now are adjusted (asked for, and the series has them)."""
        return bool(self.adjusted and getattr(self.series, "has_adjusted", False))

    def data_tag(self) -> DataTag | None:
        """The tag of the data on screen (``None`` without data)."""
        return None if self.series is None else DataTag.of(self.series, self.adjusted)

    def data_text(self) -> str:
        """The data on screen in words: ``AAPL · adjusted · 2004-08-19 to 2018-01-19``."""
        tag = self.data_tag()
        return "no data" if tag is None else tag.text()

    def same_data(self, tag: DataTag | None) -> bool:
        """Whether ``tag`` names the data on screen, modelled as it is now."""
        return tag is not None and tag.same_data(self.series, self.adjusted)

    def set_inputs(self, inputs: InputChoice) -> None:
        """The other series and calendar inputs the next backtest gives its model."""
        self.inputs = inputs
        self.inputs_changed.emit(inputs)

    # ------------------------------------------------------------------ the model
    def set_model(self, model: TrainedModel | None) -> None:
        self.model = model
        self.model_changed.emit(model)

    def model_is_stale(self) -> bool:
        """Whether the model was trained on other data than the window shows now."""
        model = self.model
        if model is None or model.trained_on is None:
            return False
        return not self.same_data(model.trained_on)

    def model_note(self) -> str:
        """A warning line when the model belongs to other data ("" otherwise)."""
        if not self.model_is_stale():
            return ""
        return (
            f"⚠ This model belongs to the previous data ({self.model.trained_on.text()}), not "
            "to the data now shown."
        )

    def training_prices(self, spec: Any, series: Any = None) -> pd.DataFrame:
        """The bars a model may learn from: those before the backtest's test span (``split``),
        exactly the first fit's span (:func:`~stockapp.core.walkforward.first_fit_span`)."""
        return training_prices(self.series if series is None else series, spec, split=self.split)

    def reusable_model(
        self, settings: BacktestSettings | Callable[[], BacktestSettings]
    ) -> tuple[str | None, str]:
        """The span of the model just trained when it can forecast the test span of
        ``settings`` (or of what calling it gives), else ``(None, why not)``.

        It can when it learnt from exactly the bars the backtest's first fit would train on:
        the same data, adjusted or raw as the window shows, ending on the bar before the test
        span, and its weights learnt through that bar (``weights_through``: a training
        cancelled while it learnt from its validation slice stopped short of it).
        """
        model = self.model
        if model is None or model.trained_on is None or model.result is None:
            return None, NO_TRAINED_MODEL
        if self.inputs:
            return None, (
                f"The model just trained reads only {model.trained_on.name}'s own past; with "
                f"other inputs ({self.inputs.summary()}) Run backtest trains a fresh model."
            )
        if self.inputs.targets:
            return None, (
                f"The model just trained knows {model.trained_on.name} only; forecasting "
                f"{self.inputs.target_summary()} too, Run backtest trains fresh models."
            )
        tag = model.trained_on
        if not self.same_data(tag):
            return None, (
                f"The model just trained belongs to {tag.text()}, not to the data now shown; "
                "train again on it."
            )
        try:
            chosen = settings() if callable(settings) else settings
            span = self._first_fit_dates(model.forecaster.spec, chosen)
        except StockappError as exc:
            return None, str(exc)
        if span is None or span != (tag.first, tag.last):
            want = "no bars" if span is None else f"{span[0]} to {span[-1]}"
            return None, (
                f"The model just trained learnt from {tag.first} to {tag.last}, but this test "
                f"span's first fit trains on {want}; train again or change the test span."
            )
        through = getattr(model.result, "weights_through", None)
        if through is None or through != getattr(model.result, "trained_through", None):
            return None, (
                f"The model just trained stopped before its weights learnt from the bars up to "
                f"{tag.last} (they learnt through {through or 'an earlier bar'}); train again."
            )
        return f"{tag.first} to {tag.last}", ""

    def _first_fit_dates(self, spec: Any, settings: BacktestSettings) -> tuple[str, str] | None:
        """First and last date the walk-forward engine's first fit trains on."""
        dates = self.series.prices(spec.adjusted).index
        span = first_fit_span(dates, settings)
        if span.stop <= span.start:
            return None
        return day_text(dates[span.start]), day_text(dates[span.stop - 1])

    # ------------------------------------------------------------------ the results
    def show_results(self, results: Results | None) -> None:
        self.results = results
        self.results_changed.emit(results)

    def show_series(self, name: str) -> None:
        """Show series ``name`` of the backtest of several series shown."""
        results = self.results
        if results is not None and name in results.series_names and name != results.shown:
            self.show_results(results.of_series(name))

    def note_saved(self, folder: Path) -> None:
        """The results shown were saved in ``folder`` (a later re-save copies its model)."""
        if self.results is not None:
            self.results = replace(self.results, folder=Path(folder))

    def results_are_stale(self) -> bool:
        """Whether the results shown came from other data than the window shows now."""
        results = self.results
        if results is None or results.data_tag is None:
            return False
        return not self.same_data(results.data_tag)

    def results_header(self) -> DataHeader:
        """The results' data named above the charts; a warning when the window shows other
        data, with the offer to load theirs again."""
        results = self.results
        tag = None if results is None else results.data_tag
        if results is None or tag is None:
            text = "No backtest yet." if results is None else "Data not recorded."
            return DataHeader(text, False)
        if not self.results_are_stale():
            more = inputs_text(results) + results.several_text()
            return DataHeader(f"Results for <b>{tag.text()}</b>{more}", False)
        reload_text = tag.reload_text()
        return DataHeader(
            f"⚠ These results belong to the previous data: <b>{tag.text()}</b>. The window "
            f"now shows {self.data_text()}.",
            True,
            reload_text,
            f"Load the data these results came from: {tag.source}" if reload_text else "",
        )

    def results_save_block(self) -> str:
        """Why the results shown may not be saved now ("" when they may): a backtest run in
        this window is saved with its model, a pairing easy to mistake while other data is on
        screen, so saving waits until the run's data is back."""
        results = self.results
        if results is None or results.outcome is None or not self.results_are_stale():
            return ""
        return (
            f"These results belong to {results.data_tag.text()}; load that data again to save them."
        )


def inputs_text(results: Results) -> str:
    """`` · with SPY (log return); day of the week``: the other inputs a result's model read
    ("" when it read only its own series' past)."""
    manifest = results.manifest
    others = getattr(manifest, "covariates", ()) or ()
    days = getattr(manifest, "calendar", ()) or ()
    if not others and not days:
        return ""
    names = []
    for c in others:
        taken = ", ".join(FEATURE_WORDS.get(f, f) for f in c.get("features", ()))
        names.append(f"{c.get('name', '?')} ({taken})")
    parts = [", ".join(names), ", ".join(CALENDAR_WORDS.get(k, k) for k in days)]
    return " · with " + "; ".join(p for p in parts if p)


def training_prices(
    series: Any,
    spec: Any,
    test_fraction: float = 0.2,
    split: BacktestSettings | None = None,
) -> pd.DataFrame:
    """The bars a model may learn from: everything before the backtest's test span.

    ``series`` is a :class:`~stockapp.data.series.PriceSeries`; the test span is ``split``'s
    (a share of the bars or a start date), else the last ``test_fraction``. The span is the
    walk-forward engine's first fit's (:func:`~stockapp.core.walkforward.first_fit_span`), so
    training here never sees a bar that the backtest later scores.
    """
    prices = series.prices(spec.adjusted)
    split = BacktestSettings(test_fraction=test_fraction) if split is None else split
    return prices.iloc[first_fit_span(prices.index, split)]

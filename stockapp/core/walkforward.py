"""Walk-forward backtests: every forecast made from the past alone.

The test span is the last fraction of the bars (or starts at a chosen date). It is cut into
segments; before each segment the forecaster is (re)fitted on the bars *before* the segment only,
then forecasts every bar of the segment in one batched pass from inputs that end the bar before.
The first fit trains from scratch; each refit warm-starts from the previous weights and scaling
and fine-tunes for ``refit_epochs`` on the windows of the last ``refit_bars`` bars, which keeps
refitting every 20 bars within a few times the cost of one training.
Look-ahead is impossible by construction: :func:`walk_forward` hands the forecaster and the
baselines slices of the data that stop before the bars they forecast.

The forecaster is duck-typed (see :class:`Forecaster`) so this module stays free of torch.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from stockapp.core.backtest import BacktestResult, FitSummary, assemble_result
from stockapp.core.baselines import baseline_forecasts
from stockapp.core.features import FeatureSpec
from stockapp.core.trading import TradingRule
from stockapp.errors import BacktestError

REFIT_MODES = ("expanding", "rolling")


class Forecaster(Protocol):
    """What the walk-forward engine needs from a model (see ``RecurrentForecaster``)."""

    def fit(
        self,
        prices: pd.DataFrame,
        should_stop: Callable[[], bool] | None = None,
        warm_start: bool = False,
        epochs: int | None = None,
    ) -> Generator[Any, None, Any]: ...

    def predict_next(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class BacktestSettings:
    """How the test span is chosen and how often the model is refitted."""

    test_fraction: float = 0.2
    test_start: str | None = None  # ISO date; overrides test_fraction when set
    refit_every: int = 0  # bars between refits; 0 = train once
    refit_mode: str = "expanding"  # or "rolling": train on the last `rolling_bars` bars only
    rolling_bars: int = 1000
    refit_epochs: int = 1  # epochs of each warm-started refit
    refit_bars: int = 250  # a warm refit fine-tunes on the windows forecasting these last bars
    rule: TradingRule = field(default_factory=TradingRule)

    def __post_init__(self) -> None:
        if self.test_start is None and not 0.0 < self.test_fraction < 1.0:
            raise BacktestError(
                f"The test fraction must be between 0 and 1, not {self.test_fraction}."
            )
        if self.refit_every < 0:
            raise BacktestError("Refit every must be 0 (train once) or a positive number of bars.")
        if self.refit_mode not in REFIT_MODES:
            raise BacktestError(
                f"Unknown refit mode '{self.refit_mode}'; use expanding or rolling."
            )
        if self.refit_epochs < 1:
            raise BacktestError("Each refit needs at least one epoch.")
        if self.refit_bars < 60:
            raise BacktestError("A refit needs at least 60 recent bars to fine-tune on.")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rule"] = self.rule.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BacktestSettings:
        d = dict(d)
        d["rule"] = TradingRule.from_dict(d.get("rule", {}))
        return cls(**d)


@dataclass(frozen=True)
class Segment:
    """Bars ``[test_start, test_end)``, forecast by a model fitted on ``[train_start, train_end)``.

    Indices are bar positions in the price frame.
    """

    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class BacktestProgress:
    """Reported before each (re)fit: segment ``index`` (1-based) of ``count``."""

    index: int
    count: int
    first_date: pd.Timestamp
    refit: bool


def first_test_bar(dates: pd.DatetimeIndex, settings: BacktestSettings, min_train: int) -> int:
    """Index of the first test bar; at least ``min_train`` bars must come before it."""
    n = len(dates)
    if settings.test_start is not None:
        try:
            when = pd.Timestamp(settings.test_start)
        except (ValueError, TypeError) as exc:
            raise BacktestError(
                f"The test start '{settings.test_start}' is not a date like 2015-01-02."
            ) from exc
        start = int(dates.searchsorted(when))
        if start >= n:
            raise BacktestError(
                f"The test start {when:%Y-%m-%d} is after the last bar ({dates[-1]:%Y-%m-%d})."
            )
    else:
        start = n - max(1, int(round(n * settings.test_fraction)))
    if start < min_train:
        raise BacktestError(
            f"Only {start} bars come before the test span but training needs at least {min_train}; "
            "start the test later or use a shorter window."
        )
    return start


def plan_segments(n_bars: int, test_start: int, settings: BacktestSettings) -> list[Segment]:
    """Cut ``[test_start, n_bars)`` into refit segments (one segment when not refitting)."""
    step = settings.refit_every or (n_bars - test_start)
    out = []
    for s in range(test_start, n_bars, step):
        e = min(s + step, n_bars)
        train_start = 0
        if settings.refit_mode == "rolling":
            train_start = max(0, s - settings.rolling_bars)
        out.append(Segment(train_start, s, s, e))
    return out


def walk_forward(
    prices: pd.DataFrame,
    spec: FeatureSpec,
    forecaster: Forecaster,
    settings: BacktestSettings,
    should_stop: Callable[[], bool] | None = None,
    periods_per_year: float = 252.0,
) -> Generator[Any, None, BacktestResult | None]:
    """Fit, forecast and score the test span; yields progress, returns ``None`` if cancelled.

    ``prices`` is a frame like ``PriceSeries.prices(adjusted)``. Progress values are
    :class:`BacktestProgress` before each fit and whatever the forecaster's ``fit`` yields.
    """
    min_train = spec.window + 1 + 64
    start = first_test_bar(prices.index, settings, min_train)  # type: ignore[arg-type]
    segments = plan_segments(len(prices), start, settings)
    close = prices["Close"].to_numpy(dtype=np.float64)
    n_test = len(prices) - start
    model = np.full(n_test, np.nan)
    base: dict[str, np.ndarray] = {}
    fits: list[FitSummary] = []
    for k, seg in enumerate(segments):
        yield BacktestProgress(k + 1, len(segments), prices.index[seg.test_start], k > 0)
        first = seg.train_start
        if k > 0:  # warm start: fine-tune on the most recent past only, keeping the scaler
            first = max(first, seg.train_end - settings.refit_bars - spec.window - 1)
        past = prices.iloc[first : seg.train_end]
        result = yield from forecaster.fit(
            past,
            should_stop,
            warm_start=k > 0,
            epochs=settings.refit_epochs if k > 0 else None,
        )
        fits.append(FitSummary.from_train_result(result, prices.index[seg.test_start]))
        if should_stop is not None and should_stop():
            return None
        # Forecasts for bars [s, e) need rows up to e-2 only: the slice stops there.
        visible = prices.iloc[: seg.test_end - 1]
        ends = np.arange(seg.test_start - 1, seg.test_end - 1)
        lo, hi = seg.test_start - start, seg.test_end - start
        model[lo:hi] = forecaster.predict_next(visible, ends)
        # The baselines index closes by bar; they read closes before each target bar only.
        local = close[seg.train_start : seg.test_end]
        targets = np.arange(seg.test_start, seg.test_end) - seg.train_start
        for name, values in baseline_forecasts(
            local, seg.train_end - seg.train_start, targets, spec.window
        ).items():
            base.setdefault(name, np.full(n_test, np.nan))[lo:hi] = values
    return assemble_result(
        dates=prices.index[start:],  # type: ignore[arg-type]
        realised=close[start:],
        previous=close[start - 1 : -1],
        forecasts={"model": model, **base},
        rule=settings.rule,
        refit_dates=[prices.index[s.test_start] for s in segments],
        fits=fits,
        periods_per_year=periods_per_year,
    )

"""Walk-forward backtests: every forecast made from the past alone.

The test span is the last fraction of the bars (or starts at a chosen date). It is cut into
segments; before each segment the forecaster is (re)fitted on bars *before* the segment only,
then forecasts every bar of the segment in one batched pass from inputs that end the bar before.

The first fit trains from scratch on every bar before the test span, early-stopping on a
validation slice carved from the end of that past; once the slice has chosen the epoch count,
the weights go on learning from it for that many epochs (see ``RecurrentForecaster.fit``), so
they learn through the bar before the test span, as every refit's do. A refit before bar ``s``
warm-starts from the previous weights and scaling and trains on targets up to and including bar
``s-1``: no validation slice is carved from its own recent past; it runs exactly
``refit_epochs`` epochs (no early stopping) and keeps the final weights. "expanding" refits
draw on every earlier bar, "rolling" ones on the last ``rolling_bars``; either way each refit
epoch is the windows of the newest ``refit_bars`` bars plus an equal-size uniform sample of the
older windows (fresh each epoch), which keeps refitting every 20 bars within a few times the
cost of one training. Without refits the refit mode does not apply.

Look-ahead is impossible by construction: :func:`walk_forward` hands the forecaster and the
baselines slices of the data that stop before the bars they forecast.

A distribution head's forecasts and the volatility baselines' are then calibrated online
(:mod:`stockapp.core.calibration`): each bar's calibration learns from the outcomes before it
only, starting from a calibration slice of the bars just before the test span, which the first
fit and the baselines fitted on the same past forecast right after that fit.

The forecaster is duck-typed (see :class:`Forecaster`) so this module stays free of torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from stockapp.core.backtest import BacktestResult, FitSummary, assemble_result
from stockapp.core.bars import is_intraday
from stockapp.core.baselines import baseline_forecasts
from stockapp.core.calibration import CalibrationSettings
from stockapp.core.distribution import BandForecasts, CalibrationSlice, stitch
from stockapp.core.features import FeatureSpec
from stockapp.core.ridge import ridge_forecasts
from stockapp.core.trading import TradingRule
from stockapp.core.volatility import load_band_libraries, vol_forecasts
from stockapp.errors import BacktestError

REFIT_MODES = ("expanding", "rolling")
#: Training windows the first fit needs at least: fewer cannot both train and early-stop.
MIN_FIT_WINDOWS = 64


class Forecaster(Protocol):
    """What the walk-forward engine needs from a model (see ``RecurrentForecaster``)."""

    def fit(
        self,
        prices: pd.DataFrame,
        should_stop: Callable[[], bool] | None = None,
        warm_start: bool = False,
        epochs: int | None = None,
        recent: int | None = None,
    ) -> Generator[Any, None, Any]: ...

    def predict_next(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class BacktestSettings:
    """How the test span is chosen and how often the model is refitted."""

    test_fraction: float = 0.2
    test_start: str | None = None  # ISO date; overrides test_fraction when set
    refit_every: int = 0  # bars between refits; 0 = train once
    refit_mode: str = "expanding"  # refits draw on all earlier bars; "rolling": the last N only
    rolling_bars: int = 1000  # N for rolling refits (the first fit always uses all earlier bars)
    refit_epochs: int = 1  # epochs of each warm-started refit (no early stopping)
    # Each refit epoch: the windows of these newest bars + as many sampled from older ones.
    refit_bars: int = 250
    rule: TradingRule = field(default_factory=TradingRule)
    # Ridge on the model's own inputs beside the baselines (issue 24), refitted with the model
    ridge: bool = False

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

    @property
    def rolling_applied(self) -> bool:
        """Whether ``rolling_bars`` limits anything: only rolling refits use it."""
        return self.refit_every > 0 and self.refit_mode == "rolling"

    def to_dict(self) -> dict:
        """The settings, plus ``rolling_applied`` so a manifest says whether the rolling length
        was used (it is not without refits, nor for expanding refits)."""
        d = asdict(self)
        d["rule"] = self.rule.to_dict()
        d["rolling_applied"] = self.rolling_applied
        if not self.ridge:  # runs without it keep the keys they always had
            d.pop("ridge")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BacktestSettings:
        d = dict(d)
        d.pop("rolling_applied", None)
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


def min_train_bars(window: int) -> int:
    """Bars the first fit needs before the test span: one window, its target, and
    :data:`MIN_FIT_WINDOWS` more windows."""
    return window + 1 + MIN_FIT_WINDOWS


def first_fit_span(
    dates: pd.DatetimeIndex, settings: BacktestSettings, window: int | None = None
) -> slice:
    """The bars the backtest's first fit learns from: ``slice(0, s)``, every bar before the first
    test bar ``s`` (the first segment's past; see :func:`plan_segments`).

    The one rule for that span: the engine cuts its first fit with it, the reference spans and
    the window's training (which learns from exactly these bars, so the backtest may reuse its
    model) take it too. With ``window`` the engine's minimum (:func:`min_train_bars`) is
    enforced with a :class:`~stockapp.errors.BacktestError`; without, any span is given (a
    training on too few bars says so itself).
    """
    return slice(
        0, first_test_bar(dates, settings, 0 if window is None else min_train_bars(window))
    )


def plan_segments(n_bars: int, test_start: int, settings: BacktestSettings) -> list[Segment]:
    """Cut ``[test_start, n_bars)`` into refit segments (one segment when not refitting).

    The first segment's fit trains on every bar before the test span; a rolling refit on the
    last ``rolling_bars`` bars before its segment, an expanding one on all of them.
    """
    step = settings.refit_every or (n_bars - test_start)
    out = []
    for s in range(test_start, n_bars, step):
        e = min(s + step, n_bars)
        train_start = 0
        if s > test_start and settings.rolling_applied:
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
    calibration: CalibrationSettings | None = None,
) -> Generator[Any, None, BacktestResult | None]:
    """Fit, forecast and score the test span; yields progress, returns ``None`` if cancelled.

    ``prices`` is a frame like ``PriceSeries.prices(adjusted)``. Progress values are
    :class:`BacktestProgress` before each fit and whatever the forecaster's ``fit`` yields.
    ``calibration`` says how a distribution head's bands and the baselines' are calibrated
    (default: :class:`~stockapp.core.calibration.CalibrationSettings`, online ACI).
    """
    calibration = calibration or CalibrationSettings()
    start = first_fit_span(prices.index, settings, spec.window).stop  # type: ignore[arg-type]
    intraday = is_intraday(prices.index)  # fits name their first test bar with its time
    segments = plan_segments(len(prices), start, settings)
    close = prices["Close"].to_numpy(dtype=np.float64)
    n_test = len(prices) - start
    model = np.full(n_test, np.nan)
    base: dict[str, np.ndarray] = {}
    fits: list[FitSummary] = []
    # A distribution head's (mu, sigma, nu) and the volatility baselines', per segment
    with_bands = bool(getattr(forecaster, "is_distribution", False))
    parts: list[dict] = []
    slices: list[slice] = []
    before: CalibrationSlice | None = None  # the calibration slice
    slice_seconds = 0.0
    for k, seg in enumerate(segments):
        yield BacktestProgress(k + 1, len(segments), prices.index[seg.test_start], k > 0)
        past = prices.iloc[seg.train_start : seg.train_end]
        if k == 0:
            result = yield from forecaster.fit(past, should_stop)
        else:  # warm refit on targets through bar s-1, newest refit_bars + a sample of older
            result = yield from forecaster.fit(
                past,
                should_stop,
                warm_start=True,
                epochs=settings.refit_epochs,
                recent=settings.refit_bars,
            )
        fits.append(FitSummary.from_train_result(result, prices.index[seg.test_start], intraday))
        if should_stop is not None and should_stop():
            return None
        if k == 0 and with_bands and calibration.method != "none":
            load_band_libraries()  # their import is the bands' cost, not calibrating's
            clock = time.perf_counter()
            before = calibration_slice(prices, start, spec, forecaster, calibration.slice_bars)
            slice_seconds = time.perf_counter() - clock
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
        if settings.ridge:  # on the same windows, fitted on the same past as the model
            ridge = ridge_forecasts(prices, spec, seg.train_start, seg.train_end, ends)
            if ridge is not None:
                base.setdefault("ridge", np.full(n_test, np.nan))[lo:hi] = ridge
        if with_bands:  # GARCH is refitted on the same past as the model, on the same schedule
            vols = vol_forecasts(local, seg.train_end - seg.train_start, targets)
            parts.append({"model": forecaster.predict_distribution(visible, ends), **vols})
            slices.append(slice(lo, hi))
    result = assemble_result(
        dates=prices.index[start:],  # type: ignore[arg-type]
        realised=close[start:],
        previous=close[start - 1 : -1],
        forecasts={"model": model, **base},
        rule=settings.rule,
        refit_dates=[prices.index[s.test_start] for s in segments],
        fits=fits,
        periods_per_year=periods_per_year,
    )
    if not with_bands:
        return result
    bands = BandForecasts.build(
        stitch(parts, n_test, slices),
        result.previous,
        result.realised,
        settings.rule,
        periods_per_year,
        before,
        calibration,
    )
    # what calibrating cost: the slice's forecasts and the online rule
    bands = replace(bands, calibration_seconds=bands.calibration_seconds + slice_seconds)
    return replace(result, bands=bands)


def calibration_slice(
    prices: pd.DataFrame, start: int, spec: FeatureSpec, forecaster: Any, bars: int
) -> CalibrationSlice | None:
    """The forecasts of the (up to) ``bars`` bars before the first test bar ``start``, by the
    forecaster as its first fit left it and by the baselines fitted on the same past, with
    those bars' log returns; ``None`` when no bar before ``start`` can be forecast.

    Only rows before ``start`` are read (a forecast for bar ``t`` reads rows up to ``t - 1``).
    """
    first = max(start - int(bars), spec.window + 1, 3)
    if first >= start:
        return None
    close = prices["Close"].to_numpy(dtype=np.float64)[:start]
    targets = np.arange(first, start)
    ends = targets - 1
    dists = {
        "model": forecaster.predict_distribution(prices.iloc[: start - 1], ends),
        **vol_forecasts(close, start, targets, in_sample=True),
    }
    return CalibrationSlice(dists, np.log(close[targets] / close[ends]))

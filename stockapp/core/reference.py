"""Reference points a trained network is read against: the persistence loss, the spans a
backtest's first fit trains, validates and tests on, and the bars every fit learns from.

All are computed from the rules the trainer and the walk-forward engine follow
(:func:`~stockapp.core.dataset.training_set`, :func:`~stockapp.core.walkforward.first_fit_span`),
written out again here in bar arithmetic, so the loss chart's dashed line and the price chart's
shading mean what they say, and tests can check each fit the engine records against
:func:`fit_spans`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.dataset import training_set
from stockapp.core.features import FeatureSpec, step_targets, target_vector
from stockapp.core.walkforward import BacktestSettings, first_fit_span, plan_segments


def persistence_loss(
    prices: pd.DataFrame, spec: FeatureSpec, val_fraction: float, loss_on: str = "last"
) -> float | None:
    """Validation loss (MSE of the standardised target) of forecasting *no change*.

    On the same validation windows, scaling and steps (``loss_on``: ``"last"`` or ``"all"``) as
    the trainer's validation loss for a fresh fit on ``prices``:

    - ``target="return"``: no change is a log return of 0, i.e. ``scaler.target(0.0)``;
    - ``target="price"``: no change is the close of the bar before, i.e. the previous bar's
      target (for every step of a window, the step before it).

    ``None`` when there is no validation slice (``val_fraction == 0``) or the loss is not finite.
    """
    data = training_set(prices, spec, val_fraction)
    if data.y_val.shape[0] == 0:
        return None
    y = data.y_val.astype(np.float64)
    if spec.target == "price":
        scaled = data.scaler.target(target_vector(prices, spec))
        pred = step_targets(scaled, data.val_ends - 1, spec.window)
    else:
        pred = np.full_like(y, float(data.scaler.target(np.float64(0.0))))
    if loss_on == "last":
        y, pred = y[:, -1], pred[:, -1]
    value = float(np.mean((y - pred) ** 2))
    return value if np.isfinite(value) else None


def validation_start(n_bars: int, window: int, val_fraction: float) -> int | None:
    """Index (within a fit's ``n_bars`` prices) of the first bar whose target is validated.

    Mirrors :func:`~stockapp.core.dataset.training_set`: ``n = n_bars - 1 - window`` windows, the
    last ``max(1, round(n * val_fraction))`` of them validate, and a window ending at bar ``e``
    forecasts bar ``e + 1``. ``None`` without a validation slice or with too few bars.
    """
    n = n_bars - 1 - window
    if val_fraction <= 0 or n <= 1:
        return None
    n_val = max(int(round(n * val_fraction)), 1)
    if n_val >= n:
        return None
    return window + (n - n_val) + 1


def backtest_spans(
    dates: pd.DatetimeIndex, window: int, settings: BacktestSettings, val_fraction: float
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """First test date and the first validated date of the backtest's first fit.

    Raises the engine's :class:`~stockapp.errors.BacktestError` for unusable settings.
    """
    start = first_fit_span(dates, settings, window).stop  # the engine's own minimum
    seg = plan_segments(len(dates), start, settings)[0]
    val = validation_start(seg.train_end - seg.train_start, window, val_fraction)
    val_date = None if val is None else dates[seg.train_start + val]
    return dates[start], val_date


def fit_spans(
    dates: pd.DatetimeIndex,
    window: int,
    settings: BacktestSettings,
    val_fraction: float,
    loss_on: str = "last",
) -> list[dict[str, str | None]]:
    """What every fit of a backtest should record, by the rules, as ISO labels.

    For each fit (the first, then one per refit): ``first_test_date``; ``trained_from``, the
    first bar whose target it trains on (the bar after its past's first window, or that
    window's second bar with the all-steps loss); ``trained_through``, the bar before its first
    test bar; ``validated_from``, where the first fit's validation slice starts (``None`` for a
    refit, which carves none); and ``weights_through``, the last bar whose target the kept
    weights learnt from. That is the bar before the first test bar for every fit: a refit
    trains through it, and the first fit, once early stopping has chosen its epoch count on the
    validation slice, goes on learning from that slice (see ``RecurrentForecaster.fit``).
    """
    start = first_fit_span(dates, settings, window).stop
    out = []
    for k, seg in enumerate(plan_segments(len(dates), start, settings)):
        first = seg.train_start + (window + 1 if loss_on == "last" else 2)
        val = None
        if k == 0:
            v = validation_start(seg.train_end - seg.train_start, window, val_fraction)
            val = None if v is None else seg.train_start + v
        bars = [seg.test_start, first, seg.train_end - 1, seg.train_end - 1]
        labels = format_dates(pd.DatetimeIndex(dates[bars]), intraday=is_intraday(dates))
        out.append(
            {
                "first_test_date": labels[0],
                "trained_from": labels[1],
                "trained_through": labels[2],
                "validated_from": None
                if val is None
                else format_dates(dates[[val]], intraday=is_intraday(dates))[0],
                "weights_through": labels[3],
            }
        )
    return out

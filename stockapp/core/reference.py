"""Reference points a trained network is read against: the persistence loss and the spans a
backtest's first fit trains, validates and tests on.

Both are computed exactly as the trainer and the walk-forward engine cut the data
(:func:`~stockapp.core.dataset.training_set`, :func:`~stockapp.core.walkforward.first_test_bar`),
so the loss chart's dashed line and the price chart's shading mean what they say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockapp.core.dataset import training_set
from stockapp.core.features import FeatureSpec, step_targets, target_vector
from stockapp.core.walkforward import BacktestSettings, first_test_bar, plan_segments


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
    start = first_test_bar(dates, settings, window + 1 + 64)  # the engine's own minimum
    seg = plan_segments(len(dates), start, settings)[0]
    val = validation_start(seg.train_end - seg.train_start, window, val_fraction)
    val_date = None if val is None else dates[seg.train_start + val]
    return dates[start], val_date

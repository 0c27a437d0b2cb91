"""Backtest a model that is already trained, instead of training a fresh one first.

:func:`~stockapp.core.walkforward.walk_forward` fits its forecaster from scratch before the
first test segment. When a model was just trained on exactly the bars that first fit would use
(the window's Model page trains on the bars before the test span), training again only repeats
that work. :class:`AlreadyFitted` wraps such a model: it answers the first, from-scratch fit with
the model's own training result, after checking that the past it is handed is the very past the
model was trained on, so no forecast can come from a model that saw a test bar, and that its
weights learnt through the last bar of that past (``weights_through``), as a fresh first fit's
do. Warm refits and forecasts go to the model itself.

The wrapped model is used as it is, so callers that want to keep their copy unchanged by refits
pass a copy (``copy.deepcopy``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import pandas as pd

from stockapp.errors import BacktestError


def _day(stamp: pd.Timestamp) -> str:
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else stamp.isoformat()


class AlreadyFitted:
    """A fitted forecaster whose first (from-scratch) fit is the training it already had.

    Parameters
    ----------
    forecaster
        A fitted forecaster (see :class:`~stockapp.core.walkforward.Forecaster`).
    result
        What its training returned (a ``TrainResult``), recorded as the backtest's first fit.
    trained_on
        The dates of the rows it was trained on (the price frame given to its ``fit``).
    """

    def __init__(self, forecaster: Any, result: Any, trained_on: pd.DatetimeIndex) -> None:
        if result is None or len(trained_on) == 0:
            raise BacktestError(
                "The model has no training record, so it cannot stand in for a fit."
            )
        self.model = forecaster
        self.result = result
        self.trained_on = pd.DatetimeIndex(trained_on)
        self._first_fit_done = False

    def fit(
        self,
        prices: pd.DataFrame,
        should_stop: Callable[[], bool] | None = None,
        warm_start: bool = False,
        epochs: int | None = None,
        recent: int | None = None,
    ) -> Generator[Any, None, Any]:
        """The first from-scratch fit returns the existing training; any other fit trains."""
        if warm_start or self._first_fit_done:
            return (yield from self.model.fit(prices, should_stop, warm_start, epochs, recent))
        self._first_fit_done = True
        wanted = pd.DatetimeIndex(prices.index)
        if not wanted.equals(self.trained_on):
            have, need = self.trained_on, wanted
            raise BacktestError(
                f"The model just trained learnt from {len(have)} bars, {_day(have[0])} to "
                f"{_day(have[-1])}, but this backtest's first fit needs "
                + (
                    f"{len(need)} bars, {_day(need[0])} to {_day(need[-1])}"
                    if len(need)
                    else "no bars"
                )
                + "; train again or untick 'Use the model just trained'."
            )
        through = getattr(self.result, "weights_through", None)
        if through != getattr(self.result, "trained_through", None):
            raise BacktestError(
                f"The model just trained stopped before its weights learnt from every bar it "
                f"was given (they learnt through {through or 'an earlier bar'}); train again or "
                "untick 'Use the model just trained'."
            )
        yield from ()
        return self.result

    def predict_next(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        return self.model.predict_next(prices, ends)

    def __getattr__(self, name: str) -> Any:
        # Everything else (spec, cfg, save, data_fingerprint, ...) is the model's.
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("model", "result", "trained_on", "_first_fit_done"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.model, name, value)

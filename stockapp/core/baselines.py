"""Naive forecasts that any network must beat to be worth its training time.

Each baseline forecasts the close of bar ``t`` from closes before ``t`` only, and any parameter
(the drift, the AR coefficients) is fitted on bars before ``train_end`` only. Forecasting a bar
inside the training rows would let those parameters see the answer, so it is refused.

All three are vectorised over the target bars: one numpy expression, no per-bar Python loop.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stockapp.core.bars import PERSISTENCE_PHRASES
from stockapp.errors import DataError


def baseline_labels(bar_size: str = "daily") -> dict[str, str]:
    """Baseline key -> the label shown in tables and legends, for bars of ``bar_size``.

    Persistence reads "tomorrow = today" only for daily bars: "next bar = this bar" for
    intraday ones, "next week = this week" for weekly ones (see
    :data:`stockapp.core.bars.PERSISTENCE_PHRASES`).
    """
    phrase = PERSISTENCE_PHRASES.get(bar_size, PERSISTENCE_PHRASES["intraday"])
    return {
        "persistence": f"Persistence ({phrase})",
        "drift": "Drift (mean training return)",
        "ar": "Linear AR (least squares)",
    }


#: Baseline key -> the label for daily bars.
BASELINE_LABELS: dict[str, str] = baseline_labels("daily")


def _close(close: np.ndarray) -> np.ndarray:
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1:
        raise DataError(f"The closes must be a single column, not shape {c.shape}.")
    if c.size and not (np.all(np.isfinite(c)) and c.min() > 0.0):
        raise DataError("The closes must all be positive numbers to compute log returns.")
    return c


def _targets(targets: np.ndarray, n: int, first: int = 1) -> np.ndarray:
    t = np.asarray(targets, dtype=np.int64).reshape(-1)
    if t.size and (t.min() < first or t.max() >= n):
        raise IndexError(f"target bars must lie in [{first}, {n - 1}]")
    return t


def _check_after_training(t: np.ndarray, train_end: int) -> None:
    if t.size and t.min() < train_end:
        raise ValueError(
            f"bar {int(t.min())} is inside the training rows (< {train_end}): look-ahead"
        )


def _log_returns(close: np.ndarray) -> np.ndarray:
    """``r[i]`` is the log return of bar ``i + 1`` (from close ``i`` to close ``i + 1``)."""
    return np.diff(np.log(close))


def persistence(close: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Forecast ``close[t]`` by ``close[t-1]``: "tomorrow = today"."""
    c = _close(close)
    t = _targets(targets, c.size)
    return c[t - 1]


def drift(close: np.ndarray, train_end: int, targets: np.ndarray) -> np.ndarray:
    """``close[t-1] * exp(mu)``, ``mu`` the mean log return of bars ``1 .. train_end-1``."""
    c = _close(close)
    if train_end < 2 or train_end > c.size:
        raise DataError(
            f"The drift baseline needs at least 2 training bars, but the training part has "
            f"{min(train_end, c.size)}; use more history."
        )
    t = _targets(targets, c.size)
    _check_after_training(t, train_end)
    mu = float(np.mean(_log_returns(c[:train_end])))
    return c[t - 1] * np.exp(mu)


def min_training_bars(lags: int) -> int:
    """Fewest bars before ``train_end`` that :func:`fit_ar` accepts with ``lags`` lags.

    An AR(p) regression on log returns loses the first ``p + 1`` bars and needs more rows than
    its ``p + 1`` coefficients, so at least one residual is left.
    """
    return 2 * lags + 3


def fit_ar(close: np.ndarray, train_end: int, lags: int) -> np.ndarray:
    """Least-squares AR(``lags``) on log returns, fitted on bars before ``train_end``.

    Regresses ``r_t`` on ``[1, r_{t-1}, ..., r_{t-lags}]`` for every ``t`` with
    ``t - lags >= 1`` and ``t < train_end``.

    Returns
    -------
    numpy.ndarray
        ``lags + 1`` coefficients, intercept first.
    """
    if lags < 1:
        raise DataError(f"The AR baseline needs at least 1 lag, not {lags}.")
    c = _close(close)
    have = min(train_end, c.size)
    if have < min_training_bars(lags):
        raise DataError(
            f"The linear AR baseline with {lags} lags needs at least {min_training_bars(lags)} "
            f"training bars, but there are only {have}; use more history or a shorter window."
        )
    r = _log_returns(c[:train_end])
    rows = sliding_window_view(r, lags + 1)  # row k: r_{k+1} .. r_{k+lags+1}
    y = rows[:, -1]
    x = np.empty((rows.shape[0], lags + 1))
    x[:, 0] = 1.0
    x[:, 1:] = rows[:, -2::-1]  # r_{t-1}, ..., r_{t-lags}
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return coef


def ar_forecast(close: np.ndarray, coef: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``close[t-1] * exp(rhat_t)`` with ``rhat_t`` from the returns up to bar ``t-1``."""
    coef = np.asarray(coef, dtype=np.float64)
    lags = coef.size - 1
    if lags < 1:
        raise DataError("The AR coefficients must hold an intercept and at least one lag.")
    c = _close(close)
    t = _targets(targets, c.size, first=lags + 1)
    if t.size == 0:
        return np.empty(0)
    r = _log_returns(c[: t.max()])  # closes up to the last target's previous bar only
    lagged = sliding_window_view(r, lags)[t - lags - 1]  # r_{t-lags} .. r_{t-1}
    rhat = coef[0] + lagged[:, ::-1] @ coef[1:]
    return c[t - 1] * np.exp(rhat)


def baseline_forecasts(
    close: np.ndarray, train_end: int, targets: np.ndarray, lags: int
) -> dict[str, np.ndarray]:
    """Forecasts of every baseline for the ``targets`` bars, keyed as :data:`BASELINE_LABELS`.

    ``lags`` is the AR order; pass the model's input window so both see the same history.
    """
    t = _targets(targets, np.asarray(close).shape[0])
    _check_after_training(t, train_end)
    return {
        "persistence": persistence(close, t),
        "drift": drift(close, train_end, t),
        "ar": ar_forecast(close, fit_ar(close, train_end, lags), t),
    }

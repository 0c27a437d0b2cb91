"""A linear baseline on the model's own inputs: ridge regression on the same windows.

On Qlib's CSI300 benchmark linear models and gradient-boosted trees match or beat recurrent
nets, so a run that gives the network other series as inputs shows what a linear model makes of
the very same inputs. :func:`ridge_forecasts` fits on the windows of the past it is given (every
input row and target before the first forecast bar), scaled by a
:class:`~stockapp.core.scaling.Scaler` fitted on those rows only, in closed form; the penalty is
chosen among :data:`ALPHAS` by exact leave-one-out error on the same past (no later bar). The
walk-forward engine refits it with the model, on the same past and schedule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockapp.core.dataset import input_windows, training_set
from stockapp.core.features import FeatureSpec, needs_fit, price_from_target

#: Penalties tried (on standardised inputs, per window); the one with the smallest
#: leave-one-out squared error on the training past is kept.
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def fit_ridge(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(coef, intercept, alpha)`` of ridge on ``x`` ``(N, P)``, ``y`` ``(N,)``; the
    intercept is not penalised; alpha by exact leave-one-out error (hat-matrix shortcut)."""
    xm, ym = x.mean(axis=0), float(y.mean())
    xc, yc = x - xm, y - ym
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    uty = u.T @ yc
    best = None
    for alpha in ALPHAS:
        shrink = s**2 / (s**2 + alpha)
        fitted = u @ (shrink * uty)
        # leverage of each row (the centring adds 1/N)
        h = np.einsum("ij,j,ij->i", u, shrink, u) + 1.0 / len(y)
        loo = np.mean(((yc - fitted) / np.maximum(1.0 - h, 1e-9)) ** 2)
        if best is None or loo < best[0]:
            best = (loo, alpha)
    alpha = best[1]
    coef = vt.T @ ((s / (s**2 + alpha)) * uty)
    return coef, ym - float(xm @ coef), alpha


def ridge_forecasts(
    prices: pd.DataFrame, spec: FeatureSpec, train_start: int, train_end: int, ends: np.ndarray
) -> np.ndarray | None:
    """Forecasts of the close of bars ``ends + 1`` by ridge on the spec's windows, fitted on
    bars ``[train_start, train_end)`` only; reads rows up to ``ends.max()`` to forecast.
    ``None`` when the spec needs parameters fitted elsewhere (GARCH's sigma)."""
    if needs_fit(spec):
        return None
    past = prices.iloc[train_start:train_end]
    data = training_set(past, spec, val_fraction=0.0)
    n, w, f = data.x_train.shape
    x = data.x_train.reshape(n, w * f).astype(np.float64)
    y = data.y_train[:, -1].astype(np.float64)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    coef, intercept, _ = fit_ridge(x[ok], y[ok])
    ends = np.asarray(ends, np.int64)
    visible = prices.iloc[: int(ends.max()) + 1]
    xs = input_windows(visible, spec, data.scaler, ends).reshape(len(ends), w * f)
    target = data.scaler.inverse_target(xs.astype(np.float64) @ coef + intercept)
    last_close = visible["Close"].to_numpy(np.float64)[ends]
    return price_from_target(target, last_close, spec)

"""Training and validation windows carved from the past only, built once as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockapp.core.features import (
    FeatureSpec,
    feature_matrix,
    step_targets,
    target_vector,
    windows,
)
from stockapp.core.scaling import Scaler
from stockapp.errors import DataError

#: Fewest training windows worth fitting a network on.
MIN_TRAIN_WINDOWS = 32


@dataclass(frozen=True)
class TrainingSet:
    """Scaled float32 arrays ready to become tensors.

    ``x_*`` are ``(N, W, F)`` windows and ``y_*`` are ``(N, W)`` step targets (column ``W-1`` is
    each sample's own next-bar target). The validation windows are the *last* ones of the past
    given, so early stopping never looks at anything later than the training data.

    The windows are views of one scaled ``(T, F)`` feature matrix and one target vector: they
    overlap in memory, so they take the memory of the bars, not of the bars times the window
    (see :func:`stockapp.core.features.windows`); never write into them.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    scaler: Scaler
    train_ends: np.ndarray
    val_ends: np.ndarray


def training_set(
    prices: pd.DataFrame,
    spec: FeatureSpec,
    val_fraction: float = 0.15,
    scaler: Scaler | None = None,
    garch=None,
    target_base: np.ndarray | None = None,
) -> TrainingSet:
    """Windows from ``prices`` (only the past the model may learn from).

    The scaler is fitted on the training rows only (never the validation rows) unless one is
    given, e.g. to keep the scaling of a model that is being warm-started. ``garch`` is the
    :class:`~stockapp.core.volatility.GarchFit` a ``garch_sigma`` feature needs;
    ``target_base[i]``, when given, divides bar ``i``'s target (a head that scales GARCH's
    sigma learns the return in units of it: see ``RecurrentForecaster``).
    """
    feats = feature_matrix(prices, spec, garch)
    target = target_vector(prices, spec)
    if target_base is not None:
        target = target / np.asarray(target_base, np.float64)
    w = spec.window
    n = len(prices) - 1 - w  # window ends e = w .. T-2 forecast bars w+1 .. T-1
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if val_fraction > 0:
        n_val = max(n_val, 1)
    n_train = n - n_val
    if n_train < MIN_TRAIN_WINDOWS:
        raise DataError(
            f"Too little data to train: {len(prices)} bars give {max(n_train, 0)} training windows "
            f"of {w} bars (at least {MIN_TRAIN_WINDOWS} needed); use a shorter window or more data."
        )
    ends = np.arange(w, w + n, dtype=np.int64)
    train_ends, val_ends = ends[:n_train], ends[n_train:]
    last_train_row = int(train_ends[-1]) + 1  # the last training target's bar
    if scaler is None:
        scaler = Scaler.fit(feats[1:last_train_row], target[1 : last_train_row + 1])
    f_scaled = scaler.features(feats).astype(np.float32)
    t_scaled = scaler.target(target).astype(np.float32)
    del feats, target

    def pack(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if e.size == 0:
            return (
                np.empty((0, w, spec.n_features), np.float32),
                np.empty((0, w), np.float32),
            )
        return windows(f_scaled, e, w), step_targets(t_scaled, e, w)

    x_tr, y_tr = pack(train_ends)
    x_va, y_va = pack(val_ends)
    return TrainingSet(x_tr, y_tr, x_va, y_va, scaler, train_ends, val_ends)


def input_windows(
    prices: pd.DataFrame, spec: FeatureSpec, scaler: Scaler, ends: np.ndarray, garch=None
) -> np.ndarray:
    """Scaled float32 ``(N, W, F)`` windows ending at ``ends`` (forecasting bars ``ends + 1``);
    a view of the scaled features for consecutive ``ends``. ``garch`` as for
    :func:`training_set`."""
    feats = scaler.features(feature_matrix(prices, spec, garch)).astype(np.float32)
    ends = np.asarray(ends, dtype=np.int64)
    if ends.size and ends.min() < spec.window:
        raise DataError(
            f"A forecast needs {spec.window + 1} earlier bars; the data is too short for window "
            f"{spec.window}."
        )
    return windows(feats, ends, spec.window)

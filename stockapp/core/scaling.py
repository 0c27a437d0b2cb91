"""Standardisation fitted on training rows only, and saved with the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scaler:
    """Per-feature and target mean/std, fitted once on the training past."""

    feature_mean: np.ndarray  # (F,)
    feature_std: np.ndarray  # (F,)
    target_mean: float
    target_std: float

    @classmethod
    def fit(cls, feature_rows: np.ndarray, target_rows: np.ndarray) -> Scaler:
        """Fit on ``(n, F)`` feature rows and ``(m,)`` target values (NaNs ignored)."""
        fm = np.nanmean(feature_rows, axis=0)
        fs = np.nanstd(feature_rows, axis=0)
        fs = np.where(np.isfinite(fs) & (fs > 1e-12), fs, 1.0)
        tm = float(np.nanmean(target_rows))
        ts = float(np.nanstd(target_rows))
        if not np.isfinite(ts) or ts <= 1e-12:
            ts = 1.0
        return cls(fm.astype(np.float64), fs.astype(np.float64), tm, ts)

    def features(self, x: np.ndarray) -> np.ndarray:
        return (x - self.feature_mean) / self.feature_std

    def target(self, y: np.ndarray) -> np.ndarray:
        return (y - self.target_mean) / self.target_std

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) * self.target_std + self.target_mean

    def to_dict(self) -> dict:
        return {
            "feature_mean": self.feature_mean.tolist(),
            "feature_std": self.feature_std.tolist(),
            "target_mean": self.target_mean,
            "target_std": self.target_std,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        return cls(
            np.asarray(d["feature_mean"], dtype=np.float64),
            np.asarray(d["feature_std"], dtype=np.float64),
            float(d["target_mean"]),
            float(d["target_std"]),
        )

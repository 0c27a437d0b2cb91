"""Model inputs and targets: per-bar features, sliding windows and the next-bar target.

Conventions used everywhere (and relied on for the no-look-ahead guarantee):

* ``features[i]`` uses only bar ``i`` and earlier (row 0 is NaN for differenced features).
* ``target[i]`` is the quantity to forecast *for* bar ``i``: the log return from ``i-1`` to ``i``
  (``target="return"``) or the close of bar ``i`` (``target="price"``).
* A sample that forecasts bar ``t`` has inputs ``features[t-W .. t-1]`` (a window that *ends* at
  ``e = t-1``) and target ``target[t]``. For the all-steps loss, step ``k`` of the window is
  paired with ``target[e-W+2+k]``, the bar after input row ``e-W+1+k``.

All windows are built in one vectorised step (no per-sample Python loop), and windows that end
on consecutive bars (every training, validation and test span) are views of the feature matrix:
a million bars of 60-bar windows take the memory of the million bars, not sixty times that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from stockapp.core.covariates import check_external, is_external
from stockapp.errors import DataError

#: Feature name -> what it means (shown as tooltips).
FEATURES: dict[str, str] = {
    "log_return": "log return of the close over the previous bar",
    "close": "the close price level (scaled); pairs with the price target",
    "log_volume_change": "log change of volume over the previous bar (needs Volume)",
    "hl_range": "high-low range relative to the close (needs High/Low)",
    "oc_return": "open-to-close log return of the bar (needs Open)",
}
#: Volatility inputs (issue 22): what a network needs to know how far the next bar may move.
#: Apart from FEATURES (the Model page's check boxes) until the window names them in words
#: (VOLATILITY_WORDS); every feature spec accepts them (ALL_FEATURES).
VOLATILITY_FEATURES: dict[str, str] = {
    "abs_return": "absolute log return of the close over the previous bar",
    "rv_5": "log realised volatility: root mean square of the last 5 log returns",
    "rv_20": "log realised volatility: root mean square of the last 20 log returns",
    "rv_60": "log realised volatility: root mean square of the last 60 log returns",
    "garch_sigma": "log of GARCH(1,1)'s sigma for the next bar, fitted on the training past",
}
VOLATILITY_WORDS: dict[str, str] = {
    "abs_return": "Absolute return",
    "rv_5": "Realised volatility, 5 bars",
    "rv_20": "Realised volatility, 20 bars",
    "rv_60": "Realised volatility, 60 bars",
    "garch_sigma": "GARCH sigma",
}
#: Every feature a spec may name.
ALL_FEATURES: dict[str, str] = {**FEATURES, **VOLATILITY_FEATURES}
#: Features whose values need parameters fitted on the training past (a GarchFit).
FITTED = ("garch_sigma",)
#: The default inputs of a distribution head (issue 22): of the volatility inputs tried, the
#: high-low range with absolute returns scored the best mean calibrated log score on the bundled
#: samples' selection spans (the bars before each test span; scripts/vol_inputs_table.py and
#: the README: 2.921 against 2.893 for log returns alone and 2.893 for GARCH).
DISTRIBUTION_FEATURES = ("log_return", "hl_range", "abs_return")
#: Target name -> what it means.
TARGETS: dict[str, str] = {
    "return": "next bar's log return of the close; the price is rebuilt from the last close",
    "price": "next bar's close (scaled): forecasts tend to lag the price, see for yourself",
}
_NEEDS = {"log_volume_change": ("Volume",), "hl_range": ("High", "Low"), "oc_return": ("Open",)}


@dataclass(frozen=True)
class FeatureSpec:
    """What the model sees and what it forecasts."""

    window: int = 60
    features: tuple[str, ...] = ("log_return",)
    target: str = "return"
    adjusted: bool = True  # use split+dividend adjusted closes when the data has them

    def __post_init__(self) -> None:
        if self.window < 2:
            raise DataError(f"The window must be at least 2 bars, not {self.window}.")
        if not self.features:
            raise DataError("Choose at least one input feature.")
        for f in self.features:
            if is_external(f):  # another series' or the calendar's column (issue 24)
                check_external(f)
            elif f not in ALL_FEATURES:
                raise DataError(f"Unknown feature '{f}'; choose from {', '.join(ALL_FEATURES)}.")
        if self.target not in TARGETS:
            raise DataError(f"Unknown target '{self.target}'; choose 'return' or 'price'.")

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def first_target(self) -> int:
        """Index of the first bar that can be forecast (its whole window is defined)."""
        return self.window + 1

    def check_columns(self, columns: pd.Index | list[str]) -> None:
        """Raise a one-sentence :class:`DataError` if the data lacks a column a feature needs."""
        for f in self.features:
            if is_external(f) and f not in columns:
                raise DataError(
                    f"The input '{f}' is another series' (or the calendar's) column, which this "
                    "data does not carry; load that series beside it as an input."
                )
            missing = [c for c in _NEEDS.get(f, ()) if c not in columns]
            if missing:
                raise DataError(
                    f"The feature '{f}' needs a {'/'.join(missing)} column, which this data lacks."
                )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        return cls(
            window=int(d["window"]),
            features=tuple(d["features"]),
            target=str(d["target"]),
            adjusted=bool(d.get("adjusted", True)),
        )


def realised_vol(log_return: np.ndarray, window: int) -> np.ndarray:
    """``log`` of the root mean square of the ``window`` log returns up to and including each
    bar (fewer near the start; NaN returns left out; NaN before any)."""
    r = np.asarray(log_return, np.float64)
    sq = np.nan_to_num(r * r, nan=0.0)
    have = np.isfinite(r).astype(np.float64)
    cs = np.concatenate([[0.0], np.cumsum(sq)])
    cn = np.concatenate([[0.0], np.cumsum(have)])
    i = np.arange(1, r.size + 1)
    lo = np.maximum(i - window, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ms = (cs[i] - cs[lo]) / (cn[i] - cn[lo])
        return 0.5 * np.log(np.maximum(ms, 1e-16))


def default_features(head: str, columns) -> tuple[str, ...]:
    """The default inputs for ``head`` on data with ``columns``: a distribution head's
    (:data:`DISTRIBUTION_FEATURES`, those the data can feed), else the spec's own default."""
    if head == "point":
        return FeatureSpec().features
    return tuple(f for f in DISTRIBUTION_FEATURES if all(c in columns for c in _NEEDS.get(f, ())))


def needs_fit(spec: FeatureSpec) -> bool:
    """Whether ``spec``'s features need parameters fitted on the training past."""
    return any(f in FITTED for f in spec.features)


def feature_matrix(prices: pd.DataFrame, spec: FeatureSpec, garch=None) -> np.ndarray:
    """``(T, F)`` float64 features; row ``i`` uses bars ``<= i`` only.

    ``garch`` (a :class:`~stockapp.core.volatility.GarchFit` fitted on the training past) is
    needed by the ``garch_sigma`` feature.
    """
    spec.check_columns(prices.columns)
    close = prices["Close"].to_numpy(dtype=np.float64)
    ret = np.empty_like(close)
    ret[:1] = np.nan
    ret[1:] = np.diff(np.log(close))
    cols = []
    for f in spec.features:
        if is_external(f):  # aligned by stockapp.core.covariates: row i reads dates <= bar i's
            col = prices[f].to_numpy(dtype=np.float64)
        elif f == "abs_return":
            col = np.abs(ret)
        elif f.startswith("rv_"):
            col = realised_vol(ret, int(f[3:]))
            col[0] = np.nan
        elif f == "garch_sigma":
            if garch is None:
                raise DataError("The feature 'garch_sigma' needs GARCH fitted on the past.")
            from stockapp.core.volatility import garch_sigma_path

            col = np.log(garch_sigma_path(close, garch))
            col[0] = np.nan
        elif f == "log_return":
            col = np.empty_like(close)
            col[0] = np.nan
            col[1:] = np.diff(np.log(close))
        elif f == "close":
            col = close.copy()
        elif f == "log_volume_change":
            vol = np.log1p(prices["Volume"].to_numpy(dtype=np.float64))
            col = np.empty_like(close)
            col[0] = np.nan
            col[1:] = np.diff(vol)
        elif f == "hl_range":
            col = (prices["High"].to_numpy(np.float64) - prices["Low"].to_numpy(np.float64)) / close
        else:  # oc_return
            col = np.log(close / prices["Open"].to_numpy(np.float64))
        cols.append(col)
    return np.stack(cols, axis=1)


def target_vector(prices: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """``(T,)`` float64; ``target[i]`` is what a forecast *for* bar ``i`` aims at."""
    close = prices["Close"].to_numpy(dtype=np.float64)
    if spec.target == "price":
        return close.copy()
    out = np.empty_like(close)
    out[0] = np.nan
    out[1:] = np.diff(np.log(close))
    return out


def _consecutive(ends: np.ndarray) -> bool:
    return ends.size > 0 and bool((np.diff(ends) == 1).all())


def _rows(view: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``view[starts]``: a slice (still a view) when the starts are consecutive, else a copy."""
    if _consecutive(starts):
        return view[int(starts[0]) : int(starts[-1]) + 1]
    return np.ascontiguousarray(view[starts])


def windows(features: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """``(N, W, F)`` input windows whose last row is ``ends[n]``.

    For consecutive ``ends`` this is a view of ``features`` (no copy: the windows overlap in
    memory, so it must not be written to); otherwise a gathered copy.
    """
    ends = np.asarray(ends, dtype=np.int64)
    if ends.size and (ends.min() < window - 1 or ends.max() >= len(features)):
        raise IndexError("window ends out of range")
    # writeable: torch.as_tensor warns on read-only arrays; nothing writes into windows
    view = sliding_window_view(features, window, axis=0, writeable=True)  # (T-W+1, F, W)
    return _rows(view, ends - window + 1).transpose(0, 2, 1)


def step_targets(target: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """``(N, W)``: for each input row of each window, the target of the bar after it.

    Column ``W-1`` is the sample's own target ``target[ends + 1]``. A view of ``target`` for
    consecutive ``ends`` (see :func:`windows`).
    """
    ends = np.asarray(ends, dtype=np.int64)
    view = sliding_window_view(target, window, writeable=True)  # (T-W+1, W)
    return _rows(view, ends - window + 2)


def price_from_target(pred: np.ndarray, last_close: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Turn forecasts of the target back into forecasts of the close."""
    if spec.target == "price":
        return np.asarray(pred, dtype=np.float64)
    return np.asarray(last_close, dtype=np.float64) * np.exp(np.asarray(pred, dtype=np.float64))

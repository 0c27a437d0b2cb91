"""Other series as inputs (covariates), aligned to the target's calendar so look-ahead is
impossible, and calendar inputs known in advance.

The one alignment rule: **the forecast of the target's bar dated d reads a covariate's bars dated
strictly before d only**, even where the other market closes earlier on the same day. It is
built in two steps:

1. *as-of alignment*: target row ``i`` (dated ``d_i``) takes the covariate's last bar dated on or
   before ``d_i`` (:func:`align_covariates`); a covariate with no bar on ``d_i`` carries its
   earlier bar forward, and each such date is counted (``carried``) for the quality report;
2. *the shift by one target bar* is the window convention of :mod:`stockapp.core.features`: a
   forecast for bar ``t`` reads input rows up to ``t - 1`` only, so it reads covariate bars
   dated on or before ``d_{t-1}``, which is strictly before ``d_t``.

A covariate's log return at row ``i`` is the change of its as-of log close from ``d_{i-1}`` to
``d_i`` (so a day the target did not trade is not lost: its move joins the next row's). A
covariate that starts after the target shortens the span: the aligned frame starts where every
covariate has a value, and :attr:`Alignment.sentences` says so in one sentence.

Each aligned input is a column of the price frame named ``with:NAME:FEATURE`` (or ``cal:dow``,
``cal:month``); a :class:`~stockapp.core.features.FeatureSpec` names those columns among its
features, so the scaler fitted on the training rows scales them (on the training past only, as
the target's own inputs) and the network's attribution names them.

Calendar inputs describe the bar being forecast: row ``i`` holds the day of the week (0 Monday)
and month (1-12) of bar ``i + 1``, known in advance; the last row's next bar is the next weekday
for daily bars, else one typical bar later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockapp.errors import DataError

#: A covariate's features: key -> what it means. The default is the log return.
COVARIATE_FEATURES: dict[str, str] = {
    "return": "log return of its close since the target's previous bar",
    "abs_return": "absolute value of that log return",
    "range": "high-low range relative to the close of its last bar (needs High/Low)",
    "volume": "log change of its volume since the target's previous bar (needs Volume)",
}
DEFAULT_COVARIATE_FEATURES = ("return",)
#: Calendar inputs known in advance: key -> what it means.
CALENDAR_FEATURES: dict[str, str] = {
    "dow": "day of the week of the bar being forecast (0 Monday)",
    "month": "month of the bar being forecast (1-12)",
}
_NEEDS = {"range": ("High", "Low"), "volume": ("Volume",)}
#: The prefixes of the columns this module adds to a price frame.
COVARIATE_PREFIX, CALENDAR_PREFIX = "with:", "cal:"


def column_name(name: str, feature: str) -> str:
    """``with:SPY:return``: the price-frame column (and feature name) of a covariate input."""
    return f"{COVARIATE_PREFIX}{name}:{feature}"


def is_external(feature: str) -> bool:
    """Whether ``feature`` names a column added by this module rather than one computed from
    the target's own prices."""
    return feature.startswith((COVARIATE_PREFIX, CALENDAR_PREFIX))


def check_external(feature: str) -> None:
    """Raise a one-sentence :class:`DataError` for a malformed covariate or calendar name."""
    if feature.startswith(CALENDAR_PREFIX):
        if feature[len(CALENDAR_PREFIX) :] not in CALENDAR_FEATURES:
            raise DataError(
                f"Unknown calendar input '{feature}'; choose from "
                + ", ".join(CALENDAR_PREFIX + k for k in CALENDAR_FEATURES)
                + "."
            )
        return
    name, _, key = feature[len(COVARIATE_PREFIX) :].rpartition(":")
    if not name or key not in COVARIATE_FEATURES:
        raise DataError(
            f"'{feature}' is not a covariate input like with:SPY:return (features: "
            f"{', '.join(COVARIATE_FEATURES)})."
        )


def parse_request(text: str) -> tuple[str, tuple[str, ...]]:
    """``"SPY:return,range"`` -> ``("SPY", ("return", "range"))``; ``"SPY"`` -> the default
    features. The name is everything before the last colon when what follows it names
    features (a Windows path like ``C:\\x.csv`` stays whole)."""
    text = str(text).strip()
    head, sep, tail = text.rpartition(":")
    keys = tuple(k.strip() for k in tail.split(",") if k.strip()) if sep else ()
    if sep and head and keys and all(k in COVARIATE_FEATURES for k in keys):
        return head, keys
    if sep and head and keys and not any("\\" in k or "/" in k for k in keys):
        bad = [k for k in keys if k not in COVARIATE_FEATURES]
        raise DataError(
            f"Unknown covariate feature '{bad[0]}' in '{text}'; choose from "
            f"{', '.join(COVARIATE_FEATURES)}."
        )
    if not text:
        raise DataError("A covariate needs a name, like SPY or SPY:return,range.")
    return text, DEFAULT_COVARIATE_FEATURES


@dataclass(frozen=True)
class Covariate:
    """One series given as an input: its name, prices (a frame like ``PriceSeries.prices``),
    the features taken from it and where it came from (for the manifest)."""

    name: str
    prices: pd.DataFrame
    features: tuple[str, ...] = DEFAULT_COVARIATE_FEATURES
    identity: dict = field(default_factory=dict)  # source, fingerprint, data_source...

    def __post_init__(self) -> None:
        for key in self.features:
            if key not in COVARIATE_FEATURES:
                raise DataError(
                    f"Unknown covariate feature '{key}' for {self.name}; choose from "
                    f"{', '.join(COVARIATE_FEATURES)}."
                )
            missing = [c for c in _NEEDS.get(key, ()) if c not in self.prices.columns]
            if missing:
                raise DataError(
                    f"The covariate {self.name} has no {'/'.join(missing)} column, which its "
                    f"feature '{key}' needs."
                )


@dataclass(frozen=True)
class Alignment:
    """The target's prices with the aligned input columns, and what aligning did."""

    frame: pd.DataFrame
    columns: tuple[str, ...]  # the added columns, in order (features of the spec)
    records: tuple[dict, ...]  # per covariate: name, features, identity, carried, first_date
    dropped: int = 0  # target bars before the first bar every covariate has a value for
    sentences: tuple[str, ...] = ()

    def quality(self) -> dict:
        """The covariates' part of the data quality report."""
        return {
            "covariates": [dict(r) for r in self.records],
            "covariate_bars_dropped": int(self.dropped),
            "covariate_warnings": list(self.sentences),
        }


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.isoformat() if (stamp - stamp.normalize()).value else f"{stamp:%Y-%m-%d}"


def as_of_positions(target: pd.DatetimeIndex, covariate: pd.DatetimeIndex) -> np.ndarray:
    """For each target date, the position of the covariate's last bar dated on or before it
    (-1 where the covariate has none yet)."""
    return covariate.searchsorted(target, side="right").astype(np.int64) - 1


def _columns(cov: Covariate, pos: np.ndarray) -> list[np.ndarray]:
    """The covariate's features at the target's rows (as of each target date)."""
    ok = pos >= 0
    at = np.where(ok, pos, 0)

    def take(values: np.ndarray) -> np.ndarray:
        return np.where(ok, values[at], np.nan)

    def change(values: np.ndarray) -> np.ndarray:
        level = take(values)
        out = np.full(level.shape, np.nan)
        out[1:] = np.diff(level)
        return out

    p = cov.prices
    log_close = np.log(p["Close"].to_numpy(np.float64))
    out = []
    for key in cov.features:
        if key == "return":
            out.append(change(log_close))
        elif key == "abs_return":
            out.append(np.abs(change(log_close)))
        elif key == "range":
            hl = (p["High"].to_numpy(np.float64) - p["Low"].to_numpy(np.float64)) / p[
                "Close"
            ].to_numpy(np.float64)
            out.append(take(hl))
        else:  # volume
            out.append(change(np.log1p(p["Volume"].to_numpy(np.float64))))
    return out


def next_bar_dates(index: pd.DatetimeIndex, last: pd.Timestamp | None = None) -> pd.DatetimeIndex:
    """The date of each bar's next bar: the following bar's, and for the last one ``last``
    when known (a forward record's exchange calendar), else the next weekday (daily bars) or
    one typical bar later."""
    if len(index) == 0:
        return index
    if last is not None:
        return pd.DatetimeIndex([*index[1:], pd.Timestamp(last)])
    step = pd.Series(index).diff().median() if len(index) > 1 else pd.Timedelta(days=1)
    if pd.isna(step) or step <= pd.Timedelta(0):
        step = pd.Timedelta(days=1)
    last = index[-1] + (pd.offsets.BDay(1) if step == pd.Timedelta(days=1) else step)
    return pd.DatetimeIndex([*index[1:], last])


def calendar_column(
    index: pd.DatetimeIndex, key: str, last: pd.Timestamp | None = None
) -> np.ndarray:
    """Calendar input ``key`` (``dow``, ``month``) of the bar after each bar (``last``: the
    date of the bar after the last one, when known)."""
    nxt = next_bar_dates(pd.DatetimeIndex(index), last)
    if key == "dow":
        return nxt.day_of_week.to_numpy(np.float64)
    if key == "month":
        return nxt.month.to_numpy(np.float64)
    raise DataError(f"Unknown calendar input '{key}'; choose from {', '.join(CALENDAR_FEATURES)}.")


def align_covariates(
    prices: pd.DataFrame,
    covariates: list[Covariate] | tuple[Covariate, ...] = (),
    calendar: tuple[str, ...] = (),
    target_name: str = "the target",
    next_date: pd.Timestamp | None = None,
) -> Alignment:
    """``prices`` (the target's, by date) with one column per covariate feature and calendar
    input, aligned under the module's rule; the span starts where every covariate has a value.
    ``next_date`` is the date of the bar after the last one when it is known (the forward
    record's exchange calendar): the last row's calendar inputs describe it.

    Raises a one-sentence :class:`DataError` when a covariate shares no span with the target
    or two covariates have the same name.
    """
    index = pd.DatetimeIndex(prices.index)
    seen: set[str] = set()
    for cov in covariates:
        if cov.name in seen:
            raise DataError(f"The covariate {cov.name} is named twice; give each series once.")
        seen.add(cov.name)
    added: dict[str, np.ndarray] = {}
    records = []
    first = 0  # first row where every covariate's features are defined
    for cov in covariates:
        cidx = pd.DatetimeIndex(cov.prices.index)
        pos = as_of_positions(index, cidx)
        cols = _columns(cov, pos)
        defined = np.all(np.isfinite(np.stack(cols, axis=1)), axis=1)
        if not defined.any():
            raise DataError(
                f"The covariate {cov.name} ({_iso(cidx[0])} .. {_iso(cidx[-1])}) has no bar "
                f"before {target_name}'s last date; choose a series covering its span."
            )
        k = int(np.argmax(defined))
        first = max(first, k)
        for key, col in zip(cov.features, cols, strict=True):
            added[column_name(cov.name, key)] = col
        records.append({"name": cov.name, "features": list(cov.features), **cov.identity,
                        "_pos": pos, "_cidx": cidx})  # fmt: skip
    # Row ``first - 1`` stays: like the target's own first row, no window reads it as an input.
    start = max(first - 1, 0)
    done = []
    for rec in records:
        pos, cidx = rec.pop("_pos"), rec.pop("_cidx")
        kept = pos[start:]
        exact = (kept >= 0) & (cidx.values[np.maximum(kept, 0)] == index.values[start:])
        rec["carried_forward"] = int((~exact[1:]).sum()) if kept.size > 1 else 0
        rec["first_date"], rec["last_date"] = _iso(cidx[0]), _iso(cidx[-1])
        done.append(rec)
    for key in calendar:
        added[CALENDAR_PREFIX + key] = calendar_column(index, key, next_date)
    frame = prices.iloc[start:].copy()
    for name, col in added.items():
        frame[name] = col[start:]
    sentences = []
    if start > 0:
        late = max(done, key=lambda r: r["first_date"])
        sentences.append(
            f"{late['name']} starts on {late['first_date']}, after {target_name}'s first bar "
            f"({_iso(index[0])}), so the span starts on {_iso(index[start])}: {start:,} bars "
            "fewer."
        )
    for rec in done:
        if rec["carried_forward"]:
            n = rec["carried_forward"]
            sentences.append(
                f"{rec['name']} has no bar on {n:,} of {target_name}'s dates; its earlier bar "
                f"was carried forward there."
            )
    return Alignment(frame, tuple(added), tuple(done), start, tuple(sentences))

"""A forward entry's bands, calibrated as the run's backtest calibrated its own.

:class:`Calibrator` reads a saved run's calibration (its manifest's record and its backtest's
calibrated bands) and gives each entry of a ledger, in order, what it is calibrated with
(:mod:`stockapp.core.forward_calibration`): the backtest's own calibration for a bar of its test
span, the backtest's final state continued online over the outcomes known when the entry was
issued for a later bar. The forward job and ``--verify`` both use it, so verification
reproduces calibrated bands exactly as they were written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockapp.core.forward_calibration import (
    advance,
    calibrated_levels,
    from_backtest,
    from_state,
    steps,
)
from stockapp.core.forward_record import band_levels

#: One ledger row as the calibration reads it: (target date, mu, raw sigma, nu).
Row = tuple[str, float, float, float | None]


@dataclass(frozen=True)
class Calibrator:
    """What a run's forward entries are calibrated with (inactive for an uncalibrated run)."""

    final_state: dict | None
    scale_step: float
    level_step: float
    dates: pd.DatetimeIndex
    raw_sigma: np.ndarray | None
    sigma: np.ndarray | None
    bounds: dict | None

    @classmethod
    def of(cls, manifest, result, is_distribution: bool) -> Calibrator:
        """From a run's manifest and backtest result."""
        record = manifest.calibration or {}
        state = (record.get("final_state") or {}).get("model")
        bands = getattr(result, "bands", None)
        usable = (
            is_distribution
            and record.get("method") == "aci"
            and isinstance(state, dict)
            and bands is not None
            and bands.raw is not None
            and bands.bounds is not None
            and "model" in bands.bounds
        )
        if not usable:
            return cls(None, 0.0, 0.0, pd.DatetimeIndex([]), None, None, None)
        scale_step, level_step = steps(record)
        return cls(
            state, scale_step, level_step, pd.DatetimeIndex(result.dates),
            bands.raw.dists["model"][1], bands.dists["model"][1], bands.bounds["model"],
        )  # fmt: skip

    @property
    def active(self) -> bool:
        return self.final_state is not None

    def _backtest_bar(self, target: str) -> int | None:
        pos = int(self.dates.searchsorted(pd.Timestamp(target)))
        if pos < len(self.dates) and self.dates[pos] == pd.Timestamp(target):
            return pos
        return None

    def calibrations(
        self, rows: Sequence[Row], known: Callable[[int, int], float | None]
    ) -> list[dict | None]:
        """Each row's calibration (``None`` for all when inactive). ``known(j, i)`` is row
        ``j``'s log return as known when row ``i`` was issued, ``None`` when it was not."""
        if not self.active:
            return [None] * len(rows)
        assert self.raw_sigma is not None and self.sigma is not None and self.bounds is not None
        out: list[dict | None] = []
        state, folded, online = self.final_state, 0, []
        for i, (target, mu, sigma, nu) in enumerate(rows):
            pos = self._backtest_bar(target)
            if pos is not None:
                bounds = {lv: (float(lo[pos]), float(hi[pos])) for lv, (lo, hi) in
                          self.bounds.items()}  # fmt: skip
                out.append(from_backtest(float(self.raw_sigma[pos]), float(self.sigma[pos]),
                                         bounds))  # fmt: skip
                continue
            while folded < len(online):
                y = known(online[folded], i)
                if y is None:
                    break
                _, m, s, v = rows[online[folded]]
                state = advance(state, m, s, v, y, self.scale_step, self.level_step)
                folded += 1
            out.append(from_state(state, mu, sigma, nu))
            online.append(i)
        return out


def entry_bands(
    mu: float, raw_sigma: float, nu: float | None, last_close: float, calibration: dict | None
) -> dict:
    """An entry's ``bands``: calibrated when ``calibration`` is given, else the model's own."""
    if calibration is None:
        return band_levels(mu, raw_sigma, nu, last_close)
    return calibrated_levels(mu, raw_sigma, nu, last_close, calibration)


def row_of(entry: dict) -> Row:
    """A ledger entry as the calibration reads it (its raw sigma: ``raw_sigma`` when its
    bands were calibrated, else ``sigma``)."""
    b = entry["bands"]
    return (entry["target_date"], float(b["mu"]), float(b.get("raw_sigma", b["sigma"])), b["nu"])


def next_close(frame: pd.DataFrame, entry: dict) -> tuple[pd.Timestamp, float] | None:
    """The bar after the entry's data in ``frame`` and the log return to it (how its results
    row scores it); ``None`` when ``frame`` lacks either bar."""
    index = frame.index
    through = pd.Timestamp(entry["data_through"])
    pos = int(index.searchsorted(through))
    if pos >= len(index) - 1 or index[pos] != through:
        return None
    close = frame["Close"].to_numpy(np.float64)[pos : pos + 2]
    log_close = np.log(close)
    return index[pos + 1], float(log_close[1] - log_close[0])


def outcome_in(frame: pd.DataFrame, entry: dict) -> float | None:
    """The entry's log return (its data's last bar to the next) in ``frame``, if it holds both
    (as its results row scores it)."""
    found = next_close(frame, entry)
    return None if found is None else found[1]

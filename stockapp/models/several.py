"""A backtest of several target series in one run (``backtest`` with ``--sample`` etc. repeated).

Without ``global_model`` each series gets its own model, trained and backtested exactly as a
one-series run (:func:`~stockapp.models.runner.run_backtest`). With it one network is trained
across all of them (:mod:`stockapp.models.global_model`) on their common dates; walk-forward,
refits, baselines, Diebold-Mariano and Pesaran-Timmermann tests, bands and the trading rule still
run per series. With three or more series the forecasts are also scored across the series each
day (:mod:`stockapp.core.cross_section`).

The run folder holds one ``forecasts.csv`` with a ``series`` column, ``metrics.json`` with
``series: {name: {...a one-series run's keys...}}`` plus ``cross_section``, ``manifest.json``
with each series' manifest under ``series`` and the models under ``model/`` (one per series, in
``model/<k>`` by the series' order, or one global model).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from stockapp.core.covariates import Covariate, align_covariates
from stockapp.core.cross_section import CrossSection, cross_section_scores, returns_panel
from stockapp.core.features import FeatureSpec
from stockapp.core.manifest import MANIFEST_VERSION, RUN_FORMAT
from stockapp.core.runs import write_csv, write_json, write_run_folder
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import DataError
from stockapp.models.global_model import GlobalModel
from stockapp.models.runner import BacktestOutcome, run_backtest
from stockapp.models.trainer import TrainConfig


class _Prepared:
    """A series whose prices are a prepared frame (common dates, aligned inputs)."""

    def __init__(self, series: Any, frame: pd.DataFrame):
        self._series, self._frame = series, frame

    def prices(self, adjusted: bool = False) -> pd.DataFrame:
        return self._frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._series, name)


@dataclass
class SeveralOutcome:
    """Every series' backtest, and their cross-section scores (3+ series)."""

    outcomes: dict[str, BacktestOutcome]
    cross_section: CrossSection | None
    global_model: GlobalModel | None = None
    notes: tuple[str, ...] = ()

    @property
    def one_network(self) -> bool:
        """Whether one network learnt across the series (else a model each)."""
        return self.global_model is not None

    def metrics_dict(self) -> dict:
        out: dict[str, Any] = {"series": {}, "global": self.global_model is not None}
        for name, o in self.outcomes.items():
            m = o.result.metrics_dict(o.model_name)
            if o.manifest.inputs_dict() is not None:
                m["inputs"] = o.manifest.inputs_dict()
            out["series"][name] = m
        out["cross_section"] = None if self.cross_section is None else self.cross_section.to_dict()
        out["notes"] = list(self.notes)
        return out

    def forecasts_frame(self) -> pd.DataFrame:
        frames = []
        for name, o in self.outcomes.items():
            f = o.result.forecasts_frame()
            f.insert(0, "series", name)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def save(self, folder: Path, every_fit: bool = True) -> Path:
        """Write the run folder whole (see the module), replacing an earlier run there."""
        names = list(self.outcomes)

        def write(staging: Path) -> None:
            write_csv(staging / "forecasts.csv", self.forecasts_frame(), index=False)
            write_json(staging / "metrics.json", self.metrics_dict())
            manifest = {
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "format": RUN_FORMAT,
                "manifest_version": MANIFEST_VERSION,
                "several": {"series": names, "global": self.global_model is not None},
                "series": {
                    n: replace(o.manifest, fit_weights="every fit" if every_fit else "last fit")
                    .completed(o.result, o.model_name)
                    .to_dict()
                    for n, o in self.outcomes.items()
                },
            }
            write_json(staging / "manifest.json", manifest)
            if self.global_model is not None:
                self.global_model.save(staging / "model", every_fit)
            else:
                for k, o in enumerate(self.outcomes.values()):
                    o.forecaster.save(staging / "model" / str(k), every_fit=every_fit)

        return write_run_folder(folder, write)


def common_dates(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The frames cut to the dates they all share, and one sentence per series that lost bars."""
    index = None
    for f in frames.values():
        index = f.index if index is None else index.intersection(f.index)
    if index is None or len(index) == 0:
        raise DataError("The series share no dates, so one network cannot learn across them.")
    notes = [
        f"{n}: {len(f) - len(index):,} bars on dates the other series lack were left out."
        for n, f in frames.items()
        if len(f) > len(index)
    ]
    return {n: f.loc[index] for n, f in frames.items()}, notes


def run_several(
    series: list[Any],
    spec: FeatureSpec,
    cfg: TrainConfig,
    settings: BacktestSettings,
    should_stop: Callable[[], bool] | None = None,
    calibration: Any = None,
    covariates: tuple[Covariate, ...] | list[Covariate] = (),
    calendar: tuple[str, ...] = (),
    global_model: bool = False,
) -> Generator[Any, None, SeveralOutcome | None]:
    """Backtest every series (see the module); yields progress, ``None`` when cancelled."""
    names = [s.name for s in series]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{twice} is named twice; give each target once.")
    outcomes: dict[str, BacktestOutcome] = {}
    notes: list[str] = []
    model = None
    if not global_model:
        for s in series:
            out = yield from run_backtest(
                s, spec, cfg, settings, should_stop, calibration=calibration,
                covariates=covariates, calendar=calendar,
            )  # fmt: skip
            if out is None:
                return None
            outcomes[s.name] = out
    else:
        frames, notes = common_dates({s.name: s.prices(spec.adjusted) for s in series})
        full = spec
        records: dict[str, tuple[dict, ...]] = {}
        if covariates or calendar:
            for name in frames:
                aligned = align_covariates(frames[name], tuple(covariates), tuple(calendar), name)
                frames[name] = aligned.frame
                records[name] = aligned.records
                notes += list(aligned.sentences)
            frames, _ = common_dates(frames)  # a later covariate cuts every series alike
            extra = tuple(c for c in aligned.columns if c not in spec.features)
            full = replace(spec, features=spec.features + extra)
        model = GlobalModel(frames, full, cfg)
        for s in series:
            out = yield from run_backtest(
                _Prepared(s, frames[s.name]), full, cfg, settings, should_stop,
                forecaster=model.view(s.name), calibration=calibration,
            )  # fmt: skip
            if out is None:
                return None
            if covariates or calendar:  # the manifest names the inputs as a single run does
                out.manifest = replace(
                    out.manifest, covariates=records[s.name], calendar=tuple(calendar)
                )
            outcomes[s.name] = out
    cross = None
    if len(outcomes) >= 3:
        f, r = returns_panel({n: o.result for n, o in outcomes.items()})
        first = next(iter(outcomes.values())).manifest
        cross = cross_section_scores(f, r, settings.rule.cost_bps, first.bars_per_year)
    return SeveralOutcome(outcomes, cross, model, tuple(notes))

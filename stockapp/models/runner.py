"""A whole backtest job: train the recurrent model walk-forward on a price series and record it.

Used alike by the command line and the desktop window. The series is duck-typed (anything with
``prices(adjusted)``, ``name``, ``source``, ``fingerprint`` and ``dates``, i.e. a
``stockapp.data.PriceSeries``) so this package does not depend on the data package.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import stockapp
from stockapp.core.backtest import BacktestResult
from stockapp.core.calibration import CalibrationSettings
from stockapp.core.covariates import Covariate, align_covariates
from stockapp.core.features import FeatureSpec
from stockapp.core.manifest import DataRecord, RunManifest, Timings
from stockapp.core.runs import save_run
from stockapp.core.trading import annualisation
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.errors import ModelError
from stockapp.models.device import resolve_device
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.networks import MODEL_KINDS
from stockapp.models.trainer import TrainConfig


def library_versions() -> dict[str, str]:
    return {
        "stockapp": stockapp.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


@dataclass
class BacktestOutcome:
    """A finished backtest with the model that made it and everything needed to save it."""

    result: BacktestResult
    manifest: RunManifest
    forecaster: RecurrentForecaster
    #: The frame the model read: the series' prices, with other series' and calendar inputs
    #: aligned beside them (``with:``/``cal:`` columns) when it had any.
    prices: pd.DataFrame | None = None

    @property
    def model_name(self) -> str:
        return MODEL_KINDS.get(self.manifest.model_kind, "Model")

    def save(
        self,
        folder: Path,
        picture: Callable[[Path], None] | None = None,
        every_fit: bool = True,
    ) -> Path:
        """Write the run folder whole (manifest, forecasts, metrics, the model with every fit's
        weights, and ``backtest.png`` when ``picture(path)`` draws it), replacing an earlier
        run there; see :func:`~stockapp.core.runs.save_run`. ``every_fit=False`` keeps only the
        last fit's weights (a sweep's runs; the manifest's ``fit_weights`` says which)."""
        manifest = replace(self.manifest, fit_weights="every fit" if every_fit else "last fit")

        def save_model(path: Path) -> None:
            self.forecaster.save(path, every_fit=every_fit)

        return save_run(folder, self.result, manifest, save_model, self.model_name, picture)


def run_backtest(
    series: Any,
    spec: FeatureSpec,
    cfg: TrainConfig,
    settings: BacktestSettings,
    should_stop: Callable[[], bool] | None = None,
    forecaster: RecurrentForecaster | None = None,
    calibration: CalibrationSettings | str | None = None,
    covariates: tuple[Covariate, ...] | list[Covariate] = (),
    calendar: tuple[str, ...] = (),
) -> Generator[Any, None, BacktestOutcome | None]:
    """Train and backtest; yields progress; returns ``None`` when cancelled.

    ``calibration`` (a method name or :class:`CalibrationSettings`; default online ``"aci"``)
    says how a distribution head's bands and the baselines' are calibrated; a point head has
    no bands to calibrate.

    The manifest records the data (first and last bars as ISO dates, full timestamps for
    intraday bars) and its quality report (``"data_quality"``: what loading removed or warned
    about), the settings, versions and timings, and for a distribution head its
    ``"calibration"`` (method, steps and each forecaster's state after the last bar) with
    ``timings["calibration_seconds"]``.

    ``covariates`` (other series as inputs) and ``calendar`` inputs (``"dow"``, ``"month"``) are
    aligned to the series' dates by :func:`~stockapp.core.covariates.align_covariates` (the
    forecast of the bar dated d reads their bars dated strictly before d) and appended to the
    spec's features; the manifest records them (``covariates``, ``calendar``) and the data
    quality report counts the bars carried forward.
    """
    if not isinstance(calibration, CalibrationSettings):
        calibration = CalibrationSettings(method=calibration or "aci")
    started = time.perf_counter()
    prices = series.prices(spec.adjusted)
    alignment = None
    if covariates or calendar:  # issue 24: other series and the calendar as inputs
        alignment = align_covariates(prices, tuple(covariates), tuple(calendar), series.name)
        prices = alignment.frame
        extra = tuple(c for c in alignment.columns if c not in spec.features)
        spec = replace(spec, features=spec.features + extra)
        inner = getattr(forecaster, "model", forecaster)  # an AlreadyFitted wraps its model
        given = getattr(inner, "spec", getattr(forecaster, "spec", None))
        if given is not None and tuple(given.features) != spec.features:
            raise ModelError(
                "This model was trained without the other series or calendar inputs asked for; "
                "backtest with a new model to use them."
            )
    spec.check_columns(prices.columns)
    resolve_device(cfg.device)  # an absent device is refused before any work starts
    annual = annualisation(prices.index)
    ppy = annual.bars_per_year
    if forecaster is None:
        forecaster = RecurrentForecaster(spec, cfg)
    forecaster.data_fingerprint = series.fingerprint
    result = yield from walk_forward(
        prices, spec, forecaster, settings, should_stop, ppy, calibration
    )
    if result is None:
        return None
    total = time.perf_counter() - started
    fit_seconds = float(sum(f.seconds for f in result.fits))
    report = getattr(getattr(series, "report", None), "to_dict", None)
    quality = report() if report is not None else None
    if alignment is not None:  # what aligning the inputs carried forward or cut off
        quality = dict(quality or {})
        quality["warnings"] = [*quality.get("warnings", []), *alignment.sentences]
        quality.update(alignment.quality())
    bands = result.bands
    manifest = RunManifest.build(
        data=DataRecord.of(series, spec.adjusted, prices.index),
        # What loading found and did (duplicates removed, rows dropped, warnings).
        data_quality=quality,
        spec=spec,
        train_config=cfg.to_dict(),
        settings=settings,
        periods_per_year=ppy,
        periods_per_year_basis=annual.basis,
        device=result.fits[0].device if result.fits else cfg.device,
        versions=library_versions(),
        timings=Timings(
            total_seconds=total,
            fit_seconds=fit_seconds,
            first_fit_seconds=result.fits[0].seconds if result.fits else 0.0,
            # issue 22: what calibrating a distribution head's bands cost
            calibration_seconds=None if bands is None else bands.calibration_seconds,
        ),
        # issue 22: how the bands were calibrated
        calibration=None if bands is None else bands.calibration_record() or {"method": "none"},
        covariates=() if alignment is None else alignment.records,
        calendar=tuple(calendar),
    )
    return BacktestOutcome(result, manifest, forecaster, prices=prices)

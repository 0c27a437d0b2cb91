"""A run's ``manifest.json`` as one typed, versioned record, built in one place.

The backtest job builds a :class:`RunManifest` (:meth:`RunManifest.build`), saving a run
completes it with what the result says (:meth:`RunManifest.completed`: the format, the model's
name, the trading rule, the refit dates and every fit) and writes :meth:`RunManifest.to_dict`;
every reader takes :meth:`RunManifest.from_dict` and reads attributes.

On disk the JSON keeps every key and name it always had (other tools read them), plus
``manifest_version``. :meth:`RunManifest.from_dict` reads every earlier version:

- version 1 (no ``manifest_version`` key): runs saved before the manifest was typed. Their data
  section names its source only in words; it is read here, once, into a typed
  :class:`~stockapp.core.data_source.DataSource` (:func:`~stockapp.core.data_source.legacy_source`).
  Fits saved before ``weights_through`` (or the catch-up epochs) was recorded read as ``None``
  (or none);
- version 2: the data section also records ``data_source`` (kind, where, interval, adjusted,
  day-first);
- version 3: ``covariates`` (other series given as inputs: name, features, source identity,
  span, bars carried forward) and ``calendar`` (calendar inputs), absent when none (issue 24).

Keys this version does not know are kept in :attr:`RunManifest.extra` and written back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from stockapp.core.backtest import FitSummary
from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.data_source import DataSource, legacy_source
from stockapp.core.features import FeatureSpec
from stockapp.core.trading import TradingRule
from stockapp.core.walkforward import BacktestSettings

#: The run folder's format (``format`` in the manifest): what :func:`~stockapp.core.runs.load_run`
#: can read at all.
RUN_FORMAT = 1
#: This manifest's version (``manifest_version``); manifests without one are version 1.
MANIFEST_VERSION = 3


def _text(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _dict(value: Any) -> dict:
    return dict(value) if isinstance(value, dict) else {}


@dataclass(frozen=True)
class DataRecord:
    """The manifest's ``data`` section: which prices the run was made on."""

    name: str
    source: str = ""  # where they came from, in words
    fingerprint: str = ""
    rows: int | None = None
    first_date: str = ""  # ISO; a full timestamp for intraday bars
    last_date: str = ""
    adjusted: bool = False  # adjusted closes were modelled
    data_source: DataSource = field(default_factory=DataSource)  # how to load them again
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, series: Any, adjusted: bool, dates: pd.DatetimeIndex) -> DataRecord:
        """The record of ``series`` (a :class:`~stockapp.data.series.PriceSeries`, duck-typed)
        modelled over ``dates``, adjusted when ``adjusted`` (and it has adjusted closes)."""
        effective = bool(adjusted and getattr(series, "has_adjusted", False))
        first, last = format_dates(dates[[0, -1]], intraday=is_intraday(dates))
        origin = getattr(series, "data_source", None) or DataSource()
        return cls(
            name=str(series.name),
            source=str(series.source),
            fingerprint=str(series.fingerprint),
            rows=len(dates),
            first_date=first,
            last_date=last,
            adjusted=effective,
            data_source=origin.modelled(effective),
        )

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "adjusted": self.adjusted,
            "data_source": self.data_source.to_dict(),
            **self.extra,
        }
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> DataRecord:
        known = {f.name for f in fields(cls)} - {"extra"}
        adjusted = bool(d.get("adjusted", False))
        name, source = _text(d.get("name")), _text(d.get("source"))
        if isinstance(d.get("data_source"), dict):
            origin = DataSource.from_dict(d["data_source"])
        else:  # version 1: the source only in words, read here once
            origin = legacy_source(source, name, adjusted)
        rows = d.get("rows")
        return cls(
            name=name,
            source=source,
            fingerprint=_text(d.get("fingerprint")),
            rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
            first_date=_text(d.get("first_date")),
            last_date=_text(d.get("last_date")),
            adjusted=adjusted,
            data_source=origin,
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass(frozen=True)
class Timings:
    """Seconds the whole job took, its fits together, and its first fit."""

    total_seconds: float = 0.0
    fit_seconds: float = 0.0
    first_fit_seconds: float = 0.0
    calibration_seconds: float | None = None  # a distribution head's bands' calibration

    def to_dict(self) -> dict:
        out = {
            "total_seconds": self.total_seconds,
            "fit_seconds": self.fit_seconds,
            "first_fit_seconds": self.first_fit_seconds,
        }
        if self.calibration_seconds is not None:
            out["calibration_seconds"] = self.calibration_seconds
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Timings:
        return cls(
            *(_float(d.get(k)) or 0.0 for k in ("total_seconds", "fit_seconds",
                                                "first_fit_seconds")),
            calibration_seconds=_float(d.get("calibration_seconds")),
        )  # fmt: skip


@dataclass(frozen=True)
class RunManifest:
    """Everything a run records besides its forecasts: data, settings, versions, timings, fits.

    ``feature_spec``, ``train_config`` and ``backtest`` are kept as their own classes wrote them
    (``FeatureSpec.to_dict``, ``TrainConfig.to_dict``, ``BacktestSettings.to_dict``), so a run
    re-saved by a later version keeps its settings as they were; :meth:`spec` and
    :meth:`settings` read them back as objects.
    """

    data: DataRecord | None = None
    data_quality: dict | None = None  # QualityReport.to_dict(): what loading found and did
    feature_spec: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    backtest: dict = field(default_factory=dict)
    seed: int | None = None
    periods_per_year: float | None = None
    periods_per_year_basis: str | None = None
    device: str | None = None
    versions: dict = field(default_factory=dict)
    timings: Timings | None = None
    # How a distribution head's bands were calibrated (issue 22: method, steps, each
    # forecaster's state after the last bar); None for a point head
    calibration: dict | None = None
    # Other series given as inputs (issue 24): one dict each (name, features, source,
    # fingerprint, data_source, first/last date, carried_forward); calendar inputs by key
    covariates: tuple[dict, ...] = ()
    calendar: tuple[str, ...] = ()
    created: str | None = None  # ISO time with its UTC offset
    # Completed when the run is saved:
    fit_weights: str | None = None  # "every fit" or "last fit" (a sweep's runs)
    model_name: str | None = None  # the name the run's forecaster is shown by
    rule: TradingRule | None = None
    refit_dates: tuple[str, ...] = ()
    fits: tuple[FitSummary, ...] = ()
    format: Any = RUN_FORMAT  # as written: load_run refuses any but RUN_FORMAT
    manifest_version: int = MANIFEST_VERSION
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        *,
        data: DataRecord,
        data_quality: dict | None,
        spec: FeatureSpec,
        train_config: dict,
        settings: BacktestSettings,
        periods_per_year: float,
        periods_per_year_basis: str,
        device: str,
        versions: dict,
        timings: Timings,
        calibration: dict | None = None,
        covariates: tuple[dict, ...] = (),
        calendar: tuple[str, ...] = (),
        created: datetime | None = None,
    ) -> RunManifest:
        """The manifest of a finished backtest job (the one place one is made)."""
        when = created or datetime.now(timezone.utc)
        return cls(
            created=when.isoformat(timespec="seconds"),
            data=data,
            data_quality=data_quality,
            feature_spec=spec.to_dict(),
            train_config=dict(train_config),
            backtest=settings.to_dict(),
            seed=train_config.get("seed"),
            periods_per_year=float(periods_per_year),
            periods_per_year_basis=periods_per_year_basis,
            device=device,
            versions=dict(versions),
            timings=timings,
            calibration=calibration,
            covariates=tuple(dict(c) for c in covariates),
            calendar=tuple(calendar),
        )

    def completed(self, result: Any, model_name: str) -> RunManifest:
        """This manifest as a run saves it: with the run format and what ``result`` (a
        :class:`~stockapp.core.backtest.BacktestResult`) says of its fits."""
        refits = pd.DatetimeIndex(result.refit_dates)
        return replace(
            self,
            format=RUN_FORMAT,
            manifest_version=MANIFEST_VERSION,
            model_name=model_name,
            rule=result.rule,
            refit_dates=tuple(format_dates(refits, intraday=result.intraday)),
            fits=tuple(result.fits),
        )

    # ------------------------------------------------------------------ reading
    @property
    def data_name(self) -> str:
        """The name of the run's series ("" when not recorded)."""
        return "" if self.data is None else self.data.name

    @property
    def shown_model_name(self) -> str:
        """The model's name as the run shows it ("Model" when not recorded)."""
        return self.model_name or "Model"

    @property
    def model_kind(self) -> str:
        """The network kind (``lstm``, ``gru``, ``rnn``; "" when not recorded)."""
        return _text(self.train_config.get("model"))

    @property
    def bars_per_year(self) -> float:
        """The annualisation the run used (252 when a run did not record it)."""
        return 252.0 if self.periods_per_year is None else self.periods_per_year

    @property
    def quality_warnings(self) -> list[str] | None:
        """The data quality warnings recorded; ``None`` when the run recorded none (saved before
        runs recorded them)."""
        quality = self.data_quality
        if isinstance(quality, dict) and isinstance(quality.get("warnings"), list):
            return [str(w) for w in quality["warnings"]]
        return None

    def inputs_dict(self) -> dict | None:
        """The other series and calendar inputs the model read (``metrics.json``'s
        ``inputs``); ``None`` when it read its own prices only."""
        if not self.covariates and not self.calendar:
            return None
        return {"covariates": [dict(c) for c in self.covariates], "calendar": list(self.calendar)}

    def spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.feature_spec)

    def settings(self) -> BacktestSettings:
        return BacktestSettings.from_dict(self.backtest)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """The JSON object of ``manifest.json``: every key it always had, ``manifest_version``
        and the unknown keys read with it; absent values (``None``) are left out."""
        out = {
            "created": self.created,
            "data": None if self.data is None else self.data.to_dict(),
            "data_quality": self.data_quality,
            "feature_spec": self.feature_spec or None,
            "train_config": self.train_config or None,
            "backtest": self.backtest or None,
            "seed": self.seed,
            "periods_per_year": self.periods_per_year,
            "periods_per_year_basis": self.periods_per_year_basis,
            "device": self.device,
            "versions": self.versions or None,
            "timings": None if self.timings is None else self.timings.to_dict(),
            "calibration": self.calibration,
            "covariates": [dict(c) for c in self.covariates] or None,
            "calendar": list(self.calendar) or None,
            "fit_weights": self.fit_weights,
            "format": self.format,
            "manifest_version": self.manifest_version,
            "model_name": self.model_name,
            "rule": None if self.rule is None else self.rule.to_dict(),
            "refit_dates": list(self.refit_dates),
            "fits": [f.to_dict() for f in self.fits],
            **self.extra,
        }
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> RunManifest:
        """Read a manifest of any version. A part that cannot be read (a fit that is not one)
        raises ``ValueError``, ``TypeError`` or ``KeyError``; the run reader words it."""
        if not isinstance(d, dict):
            raise TypeError("a manifest is a JSON object")
        known = {f.name for f in fields(cls)} - {"extra"}
        data = d.get("data")
        timings = d.get("timings")
        rule = d.get("rule")
        seed = d.get("seed")
        version = d.get("manifest_version", 1)
        return cls(
            created=d["created"] if isinstance(d.get("created"), str) else None,
            data=DataRecord.from_dict(data) if isinstance(data, dict) else None,
            data_quality=d["data_quality"] if isinstance(d.get("data_quality"), dict) else None,
            feature_spec=_dict(d.get("feature_spec")),
            train_config=_dict(d.get("train_config")),
            backtest=_dict(d.get("backtest")),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            periods_per_year=_float(d.get("periods_per_year")),
            periods_per_year_basis=_opt_text(d.get("periods_per_year_basis")),
            device=_opt_text(d.get("device")),
            versions=_dict(d.get("versions")),
            timings=Timings.from_dict(timings) if isinstance(timings, dict) else None,
            calibration=d["calibration"] if isinstance(d.get("calibration"), dict) else None,
            covariates=tuple(dict(c) for c in d.get("covariates") or () if isinstance(c, dict)),
            calendar=tuple(str(c) for c in d.get("calendar") or ()),
            fit_weights=_opt_text(d.get("fit_weights")),
            model_name=_opt_text(d.get("model_name")),
            rule=TradingRule.from_dict(rule) if isinstance(rule, dict) else None,
            refit_dates=tuple(str(x) for x in d.get("refit_dates") or ()),
            fits=tuple(FitSummary(**f) for f in d.get("fits") or ()),
            format=d.get("format"),
            manifest_version=version if isinstance(version, int) else 1,
            extra={k: v for k, v in d.items() if k not in known},
        )


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)

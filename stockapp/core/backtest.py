"""The result of a walk-forward backtest: forecasts, scores, equity curves, and their tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stockapp.core.bars import bar_size, format_dates, is_intraday
from stockapp.core.baselines import baseline_labels
from stockapp.core.metrics import (
    ForecastMetrics,
    describe_direction,
    describe_significance,
    forecast_metrics,
)
from stockapp.core.significance import dm_variance
from stockapp.core.trading import EquityCurve, TradingRule, describe_trading, run_rule

#: Forecast column in ``forecasts.csv`` for each forecaster key.
COLUMNS = {"model": "forecast", "persistence": "naive", "drift": "drift", "ar": "ar"}
#: Forecasters a run has only when asked for (issue 24): key -> (column, label).
OPTIONAL = {"ridge": ("ridge", "Ridge (same inputs)")}


@dataclass(frozen=True)
class FitSummary:
    """One (re)fit of the model during a backtest."""

    first_test_date: str
    epochs: int
    epoch_seconds: list[float]
    best_epoch: int
    stop_reason: str
    device: str
    cuda_graphs: bool
    message: str
    # The bars whose targets the fit used (ISO; a full timestamp for intraday bars): from the
    # first training target through the last target seen in training or in early stopping's
    # validation slice, which starts at ``validated_from`` (None for a refit: no validation).
    trained_from: str | None = None
    trained_through: str | None = None
    validated_from: str | None = None
    # The last bar whose target the kept weights learnt from: the bar before the first test bar
    # (after early stopping, the weights go on learning from the validation slice for
    # ``catchup_epochs`` epochs, see RecurrentForecaster.fit). None in runs saved before it.
    weights_through: str | None = None
    catchup_epochs: int = 0
    catchup_seconds: list[float] = field(default_factory=list)

    @classmethod
    def from_train_result(
        cls, result: Any, first_test_date: pd.Timestamp, intraday: bool = False
    ) -> FitSummary:
        """The summary of one fit; ``intraday`` writes the first test bar with its time of day."""
        return cls(
            trained_from=getattr(result, "trained_from", None),
            trained_through=getattr(result, "trained_through", None),
            validated_from=getattr(result, "validated_from", None),
            weights_through=getattr(result, "weights_through", None),
            catchup_epochs=len(getattr(result, "catchup_losses", []) or []),
            catchup_seconds=[float(s) for s in getattr(result, "catchup_seconds", []) or []],
            first_test_date=format_dates(pd.DatetimeIndex([first_test_date]), intraday)[0],
            epochs=len(result.train_losses),
            epoch_seconds=[float(s) for s in result.epoch_seconds],
            best_epoch=int(result.best_epoch),
            stop_reason=str(result.stop_reason),
            device=str(result.device),
            cuda_graphs=bool(result.cuda_graphs),
            message=str(result.message),
        )

    @property
    def seconds(self) -> float:
        """Time spent fitting: the epochs and the catch-up on the validation slice."""
        return float(sum(self.epoch_seconds) + sum(self.catchup_seconds))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BacktestResult:
    """Everything a backtest produced, aligned on the test bars."""

    dates: pd.DatetimeIndex
    realised: np.ndarray  # close of each test bar
    previous: np.ndarray  # close of the bar before (= the persistence forecast)
    forecasts: dict[str, np.ndarray]  # "model", "persistence", "drift", "ar"
    metrics: dict[str, ForecastMetrics]
    strategy: EquityCurve
    buy_and_hold: EquityCurve
    rule: TradingRule
    refit_dates: list[pd.Timestamp]
    fits: list[FitSummary]
    # The forecast distributions and their scores, when the model has a distribution head
    # (a stockapp.core.distribution.BandForecasts); None for a point forecast.
    bands: Any = None

    @property
    def n(self) -> int:
        return len(self.dates)

    @property
    def intraday(self) -> bool:
        """Whether timestamps are written with their time of day (see ``core.bars``)."""
        return is_intraday(self.dates)

    def segment_ids(self) -> np.ndarray:
        """For each test bar, the index of the refit segment that forecast it."""
        starts = pd.DatetimeIndex(self.refit_dates)
        return np.searchsorted(starts.values, self.dates.values, side="right") - 1

    def forecasts_frame(self) -> pd.DataFrame:
        """One row per test bar: the layout of ``forecasts.csv``.

        ``date`` is an ISO date, or an ISO timestamp when the bars are intraday
        (:func:`stockapp.core.bars.format_dates`).
        """
        cols: dict[str, Any] = {"date": format_dates(self.dates), "realised": self.realised}
        for key, col in COLUMNS.items():
            if key in self.forecasts:
                cols[col] = self.forecasts[key]
        for key, (col, _) in OPTIONAL.items():
            if key in self.forecasts:
                cols[col] = self.forecasts[key]
        cols["error"] = self.forecasts["model"] - self.realised
        cols["position"] = self.strategy.positions
        cols["strategy_equity"] = self.strategy.equity
        cols["buyhold_equity"] = self.buy_and_hold.equity
        cols["segment"] = self.segment_ids()
        if self.bands is not None:
            cols.update(self.bands.columns(self.previous))
        return pd.DataFrame(cols)

    def labels(self, model_name: str = "Model") -> dict[str, str]:
        """Display names of the forecasters, persistence named for this result's bar size."""
        out = forecaster_labels(model_name, self.dates)
        out.update({k: label for k, (_, label) in OPTIONAL.items() if k in self.forecasts})
        return out

    def sentences(self, model_name: str = "The model") -> list[str]:
        """The significance results and the trading rule's verdict in plain words."""
        m = self.metrics["model"]
        return [
            describe_significance(model_name, m),
            describe_direction(model_name, m),
            describe_trading(self.strategy, self.buy_and_hold),
        ]

    def metrics_dict(self, model_name: str = "The model") -> dict:
        """The layout of ``metrics.json``: the model's scores at the top level, then the rest."""
        m = self.metrics["model"].to_dict()
        first, last = format_dates(self.dates[[0, -1]], intraday=self.intraday)
        out: dict[str, Any] = {
            "rmse": m["rmse"],
            "mae": m["mae"],
            "mape": m["mape"],
            "directional_accuracy": m["directional_accuracy"],
            "direction_pvalue": m["direction_pvalue"],
            "naive_rmse": self.metrics["persistence"].to_dict()["rmse"],
            "skill": m["skill"],
            "dm_stat": m["dm_stat"],
            "dm_pvalue": m["dm_pvalue"],
            "dm_better_pvalue": m["dm_better_pvalue"],
            "verdict": self.metrics["model"].verdict,
            "dm_variance": dm_variance(self.n),
            "up_share": m["up_share"],
            "pt_pvalue": m["pt_pvalue"],
            "n": self.n,
            "first_date": first,
            "last_date": last,
            "bar_size": bar_size(self.dates),
            "strategy": self.strategy.stats.to_dict(),
            "buy_and_hold": self.buy_and_hold.stats.to_dict(),
            "rule": self.rule.to_dict(),
            "forecasters": {k: v.to_dict() for k, v in self.metrics.items()},
            "labels": self.labels(model_name),
            "summary": self.sentences(model_name),
        }
        if self.fits:
            first = self.fits[0]
            out["train"] = {
                "epoch_seconds": first.epoch_seconds,
                "device": first.device,
                "epochs": first.epochs,
                "best_epoch": first.best_epoch,
                "stop_reason": first.stop_reason,
                "cuda_graphs": first.cuda_graphs,
                "refits": len(self.fits) - 1,
                "total_fit_seconds": float(sum(f.seconds for f in self.fits)),
            }
        if self.bands is not None:
            labels = format_dates(self.dates, intraday=self.intraday)
            out.update(self.bands.metrics_dict(model_name, labels))
        return out


def forecaster_labels(
    model_name: str = "Model", dates: pd.DatetimeIndex | None = None
) -> dict[str, str]:
    """Display names for every forecaster key; persistence is named for the bar size of
    ``dates`` ("next bar = this bar" for intraday bars), daily when no dates are given."""
    size = "daily" if dates is None else bar_size(dates)
    return {"model": model_name, **baseline_labels(size)}


def assemble_result(
    dates: pd.DatetimeIndex,
    realised: np.ndarray,
    previous: np.ndarray,
    forecasts: dict[str, np.ndarray],
    rule: TradingRule,
    refit_dates: list[pd.Timestamp],
    fits: list[FitSummary],
    periods_per_year: float = 252.0,
) -> BacktestResult:
    """Score every forecaster on the same bars and run the trading rule on the model."""
    naive = forecasts["persistence"]
    metrics = {k: forecast_metrics(realised, f, previous, naive) for k, f in forecasts.items()}
    predicted_return = np.log(forecasts["model"] / previous)
    strategy, buy_and_hold = run_rule(previous, realised, predicted_return, rule, periods_per_year)
    return BacktestResult(
        dates=pd.DatetimeIndex(dates),
        realised=np.asarray(realised, dtype=np.float64),
        previous=np.asarray(previous, dtype=np.float64),
        forecasts={k: np.asarray(v, dtype=np.float64) for k, v in forecasts.items()},
        metrics=metrics,
        strategy=strategy,
        buy_and_hold=buy_and_hold,
        rule=rule,
        refit_dates=list(refit_dates),
        fits=list(fits),
    )

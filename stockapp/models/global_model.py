"""One network trained across several series (``backtest --global``, issue 24).

The series share one calendar (their common dates; see :mod:`stockapp.models.several`), so the
walk-forward engine cuts every series' segments at the same bars. Each series is scaled on its
own training past (its own :class:`~stockapp.core.scaling.Scaler`, kept by refits like a single
model's) and its windows carry a one-hot identity of the series as extra inputs, so the network
can learn what the series share and where they differ.

:meth:`GlobalModel.view` gives each series a forecaster with the interface the walk-forward engine
needs. The first series' ``fit`` for a span trains the network on the windows of *every* series
over that span (their pasts only, cut at the same bar); the other series' ``fit`` for the same
span reuse that fit (its weights and scalers are kept per span), so every series is forecast by
the network as it was fitted on the bars before its segment, exactly as a single model is. A
fresh fit early-stops on the last windows of every series and then learns from them, as
:meth:`RecurrentForecaster.fit` does (the catch-up); windows are ordered by their last bar across
the series, so a refit's "newest bars" are the newest bars of every series.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.dataset import TrainingSet, input_windows, training_set
from stockapp.core.features import FeatureSpec, needs_fit, price_from_target
from stockapp.core.scaling import Scaler
from stockapp.errors import ModelError
from stockapp.models.checkpoint import FORMAT_VERSION, save_checkpoint
from stockapp.models.networks import MODEL_KINDS, RecurrentNet
from stockapp.models.trainer import TrainConfig, TrainProgress, TrainResult, train


def with_identity(x: np.ndarray, k: int, n: int) -> np.ndarray:
    """``x`` ``(N, W, F)`` with the one-hot identity of series ``k`` of ``n`` appended."""
    hot = np.zeros((x.shape[0], x.shape[1], n), np.float32)
    hot[:, :, k] = 1.0
    return np.concatenate([x.astype(np.float32, copy=False), hot], axis=2)


def _interleave(parts: list[np.ndarray]) -> np.ndarray:
    """Stack equal-length per-series arrays so row ``i * n + k`` is series ``k``'s ``i``-th:
    ordered by the bar each window ends on, every series' newest last."""
    if not parts or parts[0].shape[0] == 0:
        return np.concatenate(parts) if parts else np.empty(0, np.float32)
    stacked = np.stack(parts, axis=1)
    return stacked.reshape(-1, *stacked.shape[2:])


class GlobalModel:
    """One network across the series ``frames`` (name -> prices on a shared index)."""

    def __init__(self, frames: dict[str, pd.DataFrame], spec: FeatureSpec, cfg: TrainConfig):
        if cfg.head != "point":
            raise ModelError("--global trains a point forecast; leave --head at point.")
        if needs_fit(spec) or cfg.head_base != "none":
            raise ModelError("--global does not take GARCH inputs; choose other features.")
        self.names = list(frames)
        index = frames[self.names[0]].index
        if any(not f.index.equals(index) for f in frames.values()):
            raise ModelError("The series of a global model must share their dates.")
        self.frames, self.spec, self.cfg, self.index = frames, spec, cfg, index
        self.net: RecurrentNet | None = None
        self.scalers: dict[str, Scaler] = {}
        # (first bar, end bar, warm) -> (weights, scalers, result) of that fit
        self._fits: dict[tuple[int, int, bool], tuple[dict, dict, TrainResult]] = {}

    @property
    def n_inputs(self) -> int:
        return self.spec.n_features + len(self.names)

    def view(self, name: str) -> SeriesView:
        """The forecaster of series ``name`` (see the module)."""
        return SeriesView(self, name)

    def _new_net(self) -> RecurrentNet:
        gen = torch.Generator().manual_seed(self.cfg.seed)
        c = self.cfg
        return RecurrentNet(c.model, self.n_inputs, c.hidden, c.layers, c.dropout, generator=gen)

    def _data(self, start: int, stop: int, val_fraction: float, keep: bool) -> TrainingSet:
        """Every series' windows over bars ``[start, stop)``, interleaved (see the module)."""
        parts = []
        for k, name in enumerate(self.names):
            past = self.frames[name].iloc[start:stop]
            scaler = self.scalers.get(name) if keep else None
            data = training_set(past, self.spec, val_fraction, scaler)
            self.scalers[name] = data.scaler
            parts.append((k, data))
        n = len(self.names)
        return TrainingSet(
            _interleave([with_identity(d.x_train, k, n) for k, d in parts]),
            _interleave([d.y_train for _, d in parts]),
            _interleave([with_identity(d.x_val, k, n) for k, d in parts]),
            _interleave([d.y_val for _, d in parts]),
            parts[0][1].scaler,
            parts[0][1].train_ends,
            parts[0][1].val_ends,
        )

    def fit(
        self,
        start: int,
        stop: int,
        should_stop: Callable[[], bool] | None,
        warm: bool,
        epochs: int | None,
        recent: int | None,
    ) -> Generator[TrainProgress, None, TrainResult]:
        """Fit on every series' bars ``[start, stop)`` (or reuse that fit); see the module."""
        warm = warm and self.net is not None
        key = (start, stop, warm)
        if key in self._fits:
            state, scalers, result = self._fits[key]
            self.net.load_state_dict(state)
            self.scalers = dict(scalers)
            return result
        cfg = self.cfg if epochs is None else replace(self.cfg, epochs=int(epochs))
        if warm:
            cfg = replace(cfg, val_fraction=0.0)
        data = self._data(start, stop, cfg.val_fraction, keep=warm)
        net = self.net if warm else self._new_net()
        n = len(self.names)
        result = yield from train(
            net, data, cfg, should_stop, recent=recent * n if warm and recent else None,
            keep_best=not warm,
        )  # fmt: skip
        self.net = net
        dates = self.index[start:stop]
        w = self.spec.window
        first = int(data.train_ends[0]) + 1 if cfg.loss_on == "last" else data.train_ends[0] - w + 2
        labels = format_dates(
            pd.DatetimeIndex(dates[[int(first), len(dates) - 1]]), intraday=is_intraday(dates)
        )
        result.trained_from, result.trained_through = labels[0], labels[1]
        result.validated_from = None
        result.weights_through = labels[1]
        if data.val_ends.size:
            result.validated_from = format_dates(
                pd.DatetimeIndex([dates[int(data.val_ends[0]) + 1]]), intraday=is_intraday(dates)
            )[0]
            result.weights_through = format_dates(
                pd.DatetimeIndex([dates[int(data.train_ends[-1]) + 1]]),
                intraday=is_intraday(dates),
            )[0]
            if result.best_epoch > 0 and result.stop_reason != "cancelled":
                every = self._data(start, stop, 0.0, keep=True)
                more = replace(cfg, epochs=int(result.best_epoch), val_fraction=0.0)
                extra = yield from train(
                    net, every, more, should_stop, recent=int(data.val_ends.size) * n,
                    keep_best=False, phase="catch-up",
                )  # fmt: skip
                if extra.stop_reason != "cancelled":
                    result.catchup_losses = list(extra.train_losses)
                    result.catchup_seconds = list(extra.epoch_seconds)
                    result.weights_through = result.trained_through
        result.message += f" One network across {n} series ({', '.join(self.names)})."
        state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}
        self._fits[key] = (state, dict(self.scalers), result)
        return result

    def predict(self, name: str, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        """Forecasts of the target of bars ``ends + 1`` of series ``name`` (unscaled)."""
        if self.net is None:
            raise ModelError("This model has not been trained yet; train it before forecasting.")
        ends = np.asarray(ends, np.int64)
        if ends.size == 0:
            return np.empty(0)
        scaler = self.scalers[name]
        past = prices.iloc[: int(ends.max()) + 1]
        x = input_windows(past, self.spec, scaler, ends)
        x = with_identity(x, self.names.index(name), len(self.names))
        net = self.net
        device = next(net.parameters()).device
        was = net.training
        net.eval()
        try:
            with torch.no_grad():
                out = net(torch.as_tensor(x, device=device))[:, -1]
        finally:
            net.train(was)
        return scaler.inverse_target(net.location(out).double().cpu().numpy())

    def save(self, folder, every_fit: bool = True) -> None:
        """The last fit's weights and every series' scaler, in the single model's file layout
        (``model.json`` adds ``series`` and ``scalers``; earlier fits are not kept)."""
        if self.net is None:
            raise ModelError("This model has not been trained yet, so there is nothing to save.")
        meta = {
            "format": FORMAT_VERSION,
            "model_type": self.net.kind,
            "model_name": MODEL_KINDS[self.net.kind],
            "sizes": self.net.sizes(),
            "feature_spec": self.spec.to_dict(),
            "global": True,
            "series": list(self.names),
            "identity_inputs": "one-hot of the series, after the features, in this order",
            "scalers": {k: v.to_dict() for k, v in self.scalers.items()},
            "train_config": self.cfg.to_dict(),
            "fits": len(self._fits),
            "earlier_fits_saved": False,
        }
        save_checkpoint(folder, self.net.state_dict(), meta)


class SeriesView:
    """One series' forecaster of a :class:`GlobalModel` (the walk-forward engine's interface)."""

    is_distribution = False

    def __init__(self, model: GlobalModel, name: str):
        self.model, self.name = model, name
        self.spec, self.cfg = model.spec, model.cfg
        self.data_fingerprint: str | None = None
        self._key: tuple[int, int] | None = None

    def fit(
        self,
        prices: pd.DataFrame,
        should_stop: Callable[[], bool] | None = None,
        warm_start: bool = False,
        epochs: int | None = None,
        recent: int | None = None,
    ) -> Generator[TrainProgress, None, TrainResult]:
        index = self.model.index
        start = int(index.get_loc(prices.index[0]))
        stop = int(index.get_loc(prices.index[-1])) + 1
        return (yield from self.model.fit(start, stop, should_stop, warm_start, epochs, recent))

    def predict_next(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        ends = np.asarray(ends, np.int64)
        target = self.model.predict(self.name, prices, ends)
        last_close = prices["Close"].to_numpy(np.float64)[ends]
        return price_from_target(target, last_close, self.spec)

    def save(self, folder, every_fit: bool = True) -> None:
        self.model.save(folder, every_fit)

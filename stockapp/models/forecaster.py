"""The user-facing model: features + scaler + network + training, saved and loaded as one.

A :class:`RecurrentForecaster` learns only from the prices it is given and forecasts from a
slice it cuts itself, so a forecast for bar ``t`` cannot see bar ``t`` or later (house style
habit 3). The network (:class:`RecurrentNet`) stays a plain module; this wrapper owns the
feature spec, the scaler fitted on the training rows and the training settings.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Generator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import stockapp
from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.dataset import TrainingSet, input_windows, training_set
from stockapp.core.features import FeatureSpec, price_from_target
from stockapp.core.scaling import Scaler
from stockapp.errors import DataError, ModelError
from stockapp.models.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from stockapp.models.device import describe_device, resolve_device
from stockapp.models.explain import epoch_flow_recorder
from stockapp.models.networks import MODEL_KINDS, RecurrentNet
from stockapp.models.trainer import TrainConfig, TrainProgress, TrainResult, train


class RecurrentForecaster:
    """Forecasts the next bar's target with an RNN/LSTM/GRU trained on past prices.

    Parameters
    ----------
    spec
        Window length, input features and target.
    cfg
        Network sizes and training settings.
    """

    def __init__(self, spec: FeatureSpec, cfg: TrainConfig):
        self.spec = spec
        self.cfg = cfg
        #: Set by callers to identify the data the model was trained on (saved with it).
        self.data_fingerprint: str | None = None
        self._net: RecurrentNet | None = None
        self._scaler: Scaler | None = None
        self._last_result: TrainResult | None = None

    @property
    def is_fitted(self) -> bool:
        return self._net is not None and self._scaler is not None

    @property
    def scaler(self) -> Scaler | None:
        return self._scaler

    @property
    def last_result(self) -> TrainResult | None:
        return self._last_result

    @property
    def net(self) -> RecurrentNet | None:
        return self._net

    @property
    def device_name(self) -> str:
        """Where the network lives (or would be trained): e.g. ``"CPU (2 threads)"``."""
        if self._net is not None:
            return describe_device(next(self._net.parameters()).device)
        try:
            return describe_device(resolve_device(self.cfg.device))
        except ModelError:
            return self.cfg.device

    def _new_net(self, generator: torch.Generator) -> RecurrentNet:
        return RecurrentNet(
            self.cfg.model,
            self.spec.n_features,
            self.cfg.hidden,
            self.cfg.layers,
            self.cfg.dropout,
            generator=generator,
            head=self.cfg.head,
        )

    def fit(
        self,
        prices: pd.DataFrame,
        should_stop: Callable[[], bool] | None = None,
        warm_start: bool = False,
        epochs: int | None = None,
        recent: int | None = None,
    ) -> Generator[TrainProgress, None, TrainResult]:
        """Train on ``prices`` (only the past it may learn from), yielding progress.

        A fresh fit makes a network with weights drawn from a generator seeded by ``cfg.seed``
        (torch's global generator is not used) and a scaler fitted on the training rows, and
        early-stops on a validation slice carved from the end of ``prices``.

        A warm start (a refit: ``warm_start`` on a fitted model) continues from the current
        weights and keeps the current scaling, so the weights keep their meaning, and trains on
        every window of ``prices`` up to its last bar, with no validation slice, for exactly
        ``epochs`` epochs (no early stopping), keeping the final weights. With ``recent``, each
        of its epochs is the newest ``recent`` windows plus an equal-size uniform sample of the
        older ones, so a refit over a long expanding past stays as cheap as one over ``recent``
        bars while still revisiting all of it.

        ``epochs`` overrides ``cfg.epochs`` for this call. The result's ``trained_from``,
        ``trained_through`` and ``validated_from`` name the bars whose targets the fit used.
        """
        self.check_compatible(prices.columns)
        if self.cfg.head != "point" and self.spec.target != "return":
            raise ModelError(
                "A distribution head forecasts the next log return; choose the return target "
                "or the point head."
            )
        cfg = self.cfg if epochs is None else replace(self.cfg, epochs=int(epochs))
        warm = warm_start and self.is_fitted
        if warm:
            cfg = replace(cfg, val_fraction=0.0)
        data = training_set(prices, self.spec, cfg.val_fraction, self._scaler if warm else None)
        net = self._net if warm else self._new_net(torch.Generator().manual_seed(cfg.seed))
        flows: list[list[float]] = []  # the gradient through time after each epoch
        result = yield from train(
            net, data, cfg, should_stop, recent=recent if warm else None, keep_best=not warm,
            on_epoch=epoch_flow_recorder(
                data.x_train, data.y_train, flows, recent=recent if warm else None
            ),
        )  # fmt: skip
        result.gradient_flow_epochs = flows
        self._net, self._scaler, self._last_result = net, data.scaler, result
        self._record_span(result, prices.index, data, cfg.loss_on)
        return result

    def _record_span(
        self, result: TrainResult, dates: pd.Index, data: TrainingSet, loss_on: str
    ) -> None:
        """Name the first and last bars whose targets the fit used (see :class:`TrainResult`)."""
        w = self.spec.window
        last = int(np.concatenate([data.train_ends, data.val_ends])[-1]) + 1
        # A window ending at e has the target of bar e+1; the all-steps loss also uses the
        # targets of its earlier steps, from bar e-w+2.
        e0 = int(data.train_ends[0])
        first = e0 + 1 if loss_on == "last" else e0 - w + 2
        bars = [first, last] + ([int(data.val_ends[0]) + 1] if data.val_ends.size else [])
        labels = format_dates(pd.DatetimeIndex(dates[bars]), intraday=is_intraday(dates))
        result.trained_from, result.trained_through = labels[0], labels[1]
        result.validated_from = labels[2] if data.val_ends.size else None

    def check_compatible(self, columns: pd.Index | list[str]) -> None:
        """Raise a :class:`ModelError` naming a column the model's features need but lack."""
        if "Close" not in columns:
            raise ModelError("The data has no Close column, which every model needs.")
        try:
            self.spec.check_columns(columns)
        except DataError as exc:
            raise ModelError(str(exc)) from None

    def predict_target(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        """Unscaled forecasts of the target for bars ``ends + 1``, from windows ending at ``ends``.

        The prices are cut after ``ends.max()`` first, so no later row can reach the inputs.
        """
        out = self._last_outputs(prices, ends)
        if out is None:
            return np.empty(0, dtype=np.float64)
        loc = self._net.location(out)
        return self._scaler.inverse_target(loc.double().cpu().numpy())

    def _last_outputs(self, prices: pd.DataFrame, ends: np.ndarray) -> torch.Tensor | None:
        """The network's last-step outputs for windows ending at ``ends`` (cut after them)."""
        if not self.is_fitted:
            raise ModelError("This model has not been trained yet; train it before forecasting.")
        ends = np.asarray(ends, dtype=np.int64)
        if ends.size == 0:
            return None
        past = prices.iloc[: int(ends.max()) + 1]
        self.check_compatible(past.columns)
        x = input_windows(past, self.spec, self._scaler, ends)
        net = self._net
        device = next(net.parameters()).device
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                return net(torch.as_tensor(x, device=device))[:, -1]
        finally:
            net.train(was_training)

    @property
    def is_distribution(self) -> bool:
        """Whether this model forecasts a distribution of the next log return."""
        return self.cfg.head != "point"

    def predict_distribution(
        self, prices: pd.DataFrame, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(mu, sigma, nu)`` of the next log return for bars ``ends + 1``, unscaled.

        ``sigma`` is the standard deviation; ``nu`` the Student-t dof per bar (``None`` for a
        Gaussian head). Refused for a point head, which forecasts no spread.
        """
        if not self.is_distribution:
            raise ModelError("This model forecasts a single value, not a distribution.")
        out = self._last_outputs(prices, ends)
        if out is None:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty, (None if self.cfg.head == "gaussian" else empty)
        mu = self._scaler.inverse_target(self._net.location(out).double().cpu().numpy())
        sd = RecurrentNet.scale(out).double().cpu().numpy() * self._scaler.target_std
        dof = self._net.dof()
        nu = None if dof is None else np.full(mu.shape, float(dof.detach().cpu()))
        return mu, sd, nu

    def predict_next(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        """Forecasts of the close of bars ``ends + 1`` (rebuilt from the last close if needed)."""
        ends = np.asarray(ends, dtype=np.int64)
        target = self.predict_target(prices, ends)
        last_close = prices["Close"].to_numpy(dtype=np.float64)[ends]
        return price_from_target(target, last_close, self.spec)

    def save(self, folder: Path) -> None:
        """Write the weights and everything needed to use or retrain them into ``folder``."""
        if not self.is_fitted:
            raise ModelError("This model has not been trained yet, so there is nothing to save.")
        meta = {
            "format": FORMAT_VERSION,
            "model_type": self._net.kind,
            "model_name": MODEL_KINDS[self._net.kind],
            "sizes": self._net.sizes(),
            "feature_spec": self.spec.to_dict(),
            "scaler": self._scaler.to_dict(),
            "train_config": self.cfg.to_dict(),
            "data_fingerprint": self.data_fingerprint,
            "last_training": None if self._last_result is None else self._last_result.to_dict(),
            "versions": {
                "stockapp": stockapp.__version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "pandas": pd.__version__,
                "python": platform.python_version(),
            },
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        save_checkpoint(Path(folder), self._net.state_dict(), meta)

    @classmethod
    def load(cls, folder: Path) -> RecurrentForecaster:
        """Open a model written by :meth:`save`; the network starts on the CPU."""
        folder = Path(folder)
        state, meta = load_checkpoint(folder)
        try:
            spec = FeatureSpec.from_dict(meta["feature_spec"])
            cfg = TrainConfig.from_dict(meta["train_config"])
            scaler = Scaler.from_dict(meta["scaler"])
            sizes = meta["sizes"]
            net = RecurrentNet(
                sizes["kind"], sizes["n_features"], sizes["hidden"], sizes["layers"],
                sizes["dropout"], generator=torch.Generator(), head=sizes.get("head", "point"),
            )  # fmt: skip
            last = meta.get("last_training")
            result = None if last is None else TrainResult.from_dict(last)
        except (KeyError, TypeError, ValueError, DataError, ModelError) as exc:
            raise ModelError(
                f"The description in {folder / 'model.json'} is incomplete or invalid "
                f"({type(exc).__name__}: {exc}); the file is damaged."
            ) from None
        if net.n_features != spec.n_features or len(scaler.feature_mean) != spec.n_features:
            raise ModelError(
                f"The model in {folder} has {net.n_features} input(s) but its feature list has "
                f"{spec.n_features}; the files do not belong together."
            )
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError:
            raise ModelError(
                f"The weights in {folder} do not fit the network it describes "
                f"({MODEL_KINDS[net.kind]}, {net.layers} layer(s) of {net.hidden} units); the "
                "files do not belong together."
            ) from None
        model = cls(spec, cfg)
        model._net, model._scaler, model._last_result = net, scaler, result
        model.data_fingerprint = meta.get("data_fingerprint")
        return model

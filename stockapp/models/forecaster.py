"""The user-facing model: features + scaler + network + training, saved and loaded as one.

A :class:`RecurrentForecaster` learns only from the prices it is given and forecasts from a
slice it cuts itself, so a forecast for bar ``t`` cannot see bar ``t`` or later (house style
habit 3). The network (:class:`RecurrentNet`) stays a plain module; this wrapper owns the
feature spec, the scaler fitted on the training rows and the training settings.

It also keeps the weights of every fit since its last fresh one (a backtest's first fit and
each refit): :meth:`RecurrentForecaster.for_fit` gives back the model as fit ``k`` left it, so
a forecast can be explained by the fit that made it, and :meth:`~RecurrentForecaster.save`
writes them all.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.dataset import TrainingSet, input_windows, training_set
from stockapp.core.features import FeatureSpec, needs_fit, price_from_target, target_vector
from stockapp.core.scaling import Scaler
from stockapp.core.volatility import GarchFit, fit_garch, garch_sigma_path
from stockapp.errors import DataError, ModelError
from stockapp.models.device import describe_device, resolve_device
from stockapp.models.forecaster_files import (
    FitRecord,
    cpu_copy,
    load_forecaster,
    net_like,
    save_forecaster,
)
from stockapp.models.gradient_flow import epoch_flow_recorder
from stockapp.models.networks import RecurrentNet
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
        # GARCH fitted on the last fit's past, for a garch_sigma input or a GARCH head base
        self._garch: GarchFit | None = None
        # The fresh fit and every warm refit since, oldest first (the last is the model itself).
        self._fits: list[FitRecord] = []
        self._omitted = 0  # earlier fits a saved model went through but did not keep

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
    def garch(self) -> GarchFit | None:
        """GARCH(1,1)-t as the last fit fitted it on its past, when the model reads its sigma
        (a ``garch_sigma`` input or the ``garch`` head base); else ``None``."""
        return self._garch

    @property
    def uses_garch(self) -> bool:
        return needs_fit(self.spec) or self.cfg.head_base == "garch"

    def _base(self, prices: pd.DataFrame) -> np.ndarray | None:
        """``b[i]``: the sigma the head's forecast for bar ``i + 1`` is in units of (GARCH's,
        made at bar ``i``), or ``None`` without a head base."""
        if self.cfg.head_base != "garch":
            return None
        return garch_sigma_path(prices["Close"].to_numpy(np.float64), self._garch)

    def training_target(self, prices: pd.DataFrame) -> np.ndarray:
        """Each bar's target in the units the network learns it (unscaled): the target, over
        GARCH's sigma with the ``garch`` head base."""
        target = target_vector(prices, self.spec)
        base = self._target_base(prices)
        return target if base is None else target / base

    def _target_base(self, prices: pd.DataFrame) -> np.ndarray | None:
        """The base of each bar's own target (``b[i - 1]`` for bar ``i``)."""
        b = self._base(prices)
        return None if b is None else np.concatenate([[np.nan], b[:-1]])

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

        After early stopping, a fresh fit goes on learning from the validation slice, so its
        weights learn from every bar they are given, through the last one (``weights_through``):
        it continues from the kept weights, with the same scaling, for as many epochs as early
        stopping chose (``best_epoch``), each epoch the validation slice's windows plus as many
        sampled from the older ones (the scheme of a refit, with the slice as its recent
        windows). Why continue rather than train again from scratch on everything: the
        validation slice chose the epoch count for *these* weights and this scaling; the
        continuation keeps both, so the loss curves shown describe the weights used, and it
        costs the slice's share of the data (about 0.3 of an epoch each) rather than a second
        training. Its progress events have ``phase="catch-up"``; its losses and seconds are in
        the result's ``catchup_losses`` and ``catchup_seconds``. Cancelled during it, the fit
        keeps the early-stopped weights (``weights_through`` then says so).

        ``epochs`` overrides ``cfg.epochs`` for this call. The result's ``trained_from``,
        ``trained_through`` and ``validated_from`` name the bars whose targets the fit used,
        ``weights_through`` the last one the kept weights learnt from.
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
        earlier_garch = self._garch
        if self.uses_garch:  # fitted at every fit on the past it is given, never later bars
            self._garch = fit_garch(prices["Close"].to_numpy(np.float64))
        try:
            data = training_set(
                prices, self.spec, cfg.val_fraction, self._scaler if warm else None,
                garch=self._garch, target_base=self._target_base(prices),
            )  # fmt: skip
        except BaseException:
            self._garch = earlier_garch
            raise
        net = self._net if warm else self._new_net(torch.Generator().manual_seed(cfg.seed))
        flows: list[list[float]] = []  # the gradient through time after each epoch
        result = yield from train(
            net, data, cfg, should_stop, recent=recent if warm else None, keep_best=not warm,
            on_epoch=epoch_flow_recorder(
                data.x_train, data.y_train, flows, recent=recent if warm else None
            ),
        )  # fmt: skip
        result.gradient_flow_epochs = flows
        if not warm:
            self._fits = []
        self._net, self._scaler, self._last_result = net, data.scaler, result
        labels = self._record_span(result, prices.index, data, cfg.loss_on)
        if data.val_ends.size and result.best_epoch > 0 and result.stop_reason != "cancelled":
            yield from self._catch_up(prices, data, cfg, result, labels, should_stop)
        self._fits.append(FitRecord(cpu_copy(net), result, self._garch))
        return result

    def _catch_up(
        self,
        prices: pd.DataFrame,
        data: TrainingSet,
        cfg: TrainConfig,
        result: TrainResult,
        labels: list[str],
        should_stop: Callable[[], bool] | None,
    ) -> Generator[TrainProgress, None, None]:
        """After early stopping: ``best_epoch`` more epochs over the validation slice (plus as
        many older windows each), so the weights learn through the last bar (see :meth:`fit`)."""
        net = self._net
        every = training_set(
            prices, self.spec, 0.0, data.scaler, self._garch, self._target_base(prices)
        )
        kept = {k: v.detach().clone() for k, v in net.state_dict().items()}
        more = replace(cfg, epochs=int(result.best_epoch), val_fraction=0.0)
        try:
            extra = yield from train(
                net, every, more, should_stop, recent=int(data.val_ends.size), keep_best=False,
                phase="catch-up",
            )  # fmt: skip
        except BaseException:
            net.load_state_dict(kept)  # a diverged or abandoned catch-up leaves nothing behind
            raise
        if extra.stop_reason == "cancelled":
            net.load_state_dict(kept)
            result.stop_reason = "cancelled"
            result.message += (
                f" Cancelled while learning from the validation slice, so the weights learnt "
                f"only through {result.weights_through}."
            )
            return
        result.catchup_losses = list(extra.train_losses)
        result.catchup_seconds = list(extra.epoch_seconds)
        result.weights_through = result.trained_through
        n = len(extra.train_losses)
        result.message += (
            f" Then {n} epoch{'s' if n != 1 else ''} on the validation slice from "
            f"{labels[2]} (with as many older windows each), so the weights learnt through "
            f"{result.trained_through}."
        )

    def _record_span(
        self, result: TrainResult, dates: pd.Index, data: TrainingSet, loss_on: str
    ) -> list[str]:
        """Name the first and last bars whose targets the fit used (see :class:`TrainResult`);
        returns the labels ``[from, through(, validated_from, last trained before it)]``."""
        w = self.spec.window
        last = int(np.concatenate([data.train_ends, data.val_ends])[-1]) + 1
        # A window ending at e has the target of bar e+1; the all-steps loss also uses the
        # targets of its earlier steps, from bar e-w+2.
        e0 = int(data.train_ends[0])
        first = e0 + 1 if loss_on == "last" else e0 - w + 2
        bars = [first, last]
        if data.val_ends.size:  # the validation slice, and the last target trained on before it
            bars += [int(data.val_ends[0]) + 1, int(data.train_ends[-1]) + 1]
        labels = format_dates(pd.DatetimeIndex(dates[bars]), intraday=is_intraday(dates))
        result.trained_from, result.trained_through = labels[0], labels[1]
        result.validated_from = labels[2] if data.val_ends.size else None
        result.weights_through = labels[3] if data.val_ends.size else labels[1]
        return list(labels)

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
        loc = self._scaler.inverse_target(self._net.location(out).double().cpu().numpy())
        base = self._base(prices.iloc[: int(np.max(ends)) + 1])
        return loc if base is None else loc * base[np.asarray(ends, np.int64)]

    def _last_outputs(self, prices: pd.DataFrame, ends: np.ndarray) -> torch.Tensor | None:
        """The network's last-step outputs for windows ending at ``ends`` (cut after them)."""
        if not self.is_fitted:
            raise ModelError("This model has not been trained yet; train it before forecasting.")
        ends = np.asarray(ends, dtype=np.int64)
        if ends.size == 0:
            return None
        past = prices.iloc[: int(ends.max()) + 1]
        self.check_compatible(past.columns)
        x = input_windows(past, self.spec, self._scaler, ends, self._garch)
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
        base = self._base(prices.iloc[: int(np.max(ends)) + 1])
        if base is not None:  # the head forecast the return in units of GARCH's sigma
            at = np.asarray(ends, np.int64)
            mu, sd = mu * base[at], sd * base[at]
        dof = self._net.dof()
        nu = None if dof is None else np.full(mu.shape, float(dof.detach().cpu()))
        return mu, sd, nu

    def predict_next(self, prices: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        """Forecasts of the close of bars ``ends + 1`` (rebuilt from the last close if needed)."""
        ends = np.asarray(ends, dtype=np.int64)
        target = self.predict_target(prices, ends)
        last_close = prices["Close"].to_numpy(dtype=np.float64)[ends]
        return price_from_target(target, last_close, self.spec)

    @property
    def fit_count(self) -> int:
        """Fits whose weights this model keeps: its fresh fit and each refit since (0 when
        none; 1 for a model saved before models kept every fit, whatever it went through)."""
        return len(self._fits)

    @property
    def omitted_fits(self) -> int:
        """Earlier fits this model went through but whose weights were not saved with it (a
        sweep's runs keep only their last fit, see :meth:`save`)."""
        return self._omitted

    def for_fit(self, k: int) -> RecurrentForecaster:
        """The model as fit ``k`` (0: the fresh fit; then each refit) left it, on the CPU.

        It shares this model's features, settings and scaler (a refit keeps the scaling).
        """
        if not 0 <= k < len(self._fits):
            raise ModelError(f"This model keeps {len(self._fits)} fit(s); there is no fit {k}.")
        record = self._fits[k]
        net = net_like(self._net)
        net.load_state_dict(record.state, strict=True)
        model = RecurrentForecaster(self.spec, self.cfg)
        model._net, model._scaler, model._last_result = net, self._scaler, record.result
        model._garch = record.garch
        model._fits = [record]
        model.data_fingerprint = self.data_fingerprint
        return model

    def save(self, folder: Path, every_fit: bool = True) -> None:
        """Write the weights and everything needed to use or retrain them into ``folder``, and
        the weights of the earlier fits (``every_fit=False``: the last fit's only; see
        :func:`~stockapp.models.forecaster_files.save_forecaster`)."""
        save_forecaster(self, folder, every_fit)

    @classmethod
    def load(cls, folder: Path) -> RecurrentForecaster:
        """Open a model written by :meth:`save`; the network starts on the CPU."""
        return load_forecaster(cls, folder)

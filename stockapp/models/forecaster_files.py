"""Saving and opening a :class:`~stockapp.models.forecaster.RecurrentForecaster`: its weights,
the weights of every fit since its last fresh one, and everything needed to use or retrain them
(the file layout itself is :mod:`~stockapp.models.checkpoint`'s)."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import stockapp
from stockapp.core.features import FeatureSpec
from stockapp.core.scaling import Scaler
from stockapp.core.volatility import GarchFit
from stockapp.errors import DataError, ModelError
from stockapp.models.checkpoint import (
    FORMAT_VERSION,
    load_checkpoint,
    load_fits,
    save_checkpoint,
    save_fits,
)
from stockapp.models.networks import MODEL_KINDS, RecurrentNet
from stockapp.models.trainer import TrainConfig, TrainResult


@dataclass
class FitRecord:
    """One fit's weights (a CPU copy), how its training went, and the GARCH it read (if any)."""

    state: dict[str, torch.Tensor]
    result: TrainResult | None
    garch: GarchFit | None = None


def cpu_copy(net: RecurrentNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}


def net_like(net: RecurrentNet) -> RecurrentNet:
    """An untrained network of ``net``'s kind and sizes, on the CPU."""
    sizes = net.sizes()
    return RecurrentNet(
        sizes["kind"], sizes["n_features"], sizes["hidden"], sizes["layers"], sizes["dropout"],
        generator=torch.Generator(), head=sizes.get("head", "point"),
    )  # fmt: skip


def save_forecaster(self: Any, folder: Path, every_fit: bool = True) -> None:
    """Write the weights and everything needed to use or retrain them into ``folder``, and
    the weights of the earlier fits (see :mod:`~stockapp.models.checkpoint`).

    ``every_fit=False`` keeps the last fit's weights only (a sweep writes many runs; a
    default LSTM's fit is 203 KB, so refitting every 20 bars would add megabytes to each);
    ``model.json`` still counts the fits, so a reader knows what was left out.
    """
    if not self.is_fitted:
        raise ModelError("This model has not been trained yet, so there is nothing to save.")
    earlier = self._fits[:-1]
    if earlier and every_fit:
        save_fits(
            Path(folder),
            [r.state for r in earlier],
            [None if r.result is None else r.result.to_dict() for r in earlier],
        )
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
        "fits": max(len(self._fits), 1) + self._omitted,
        "earlier_fits_saved": every_fit and not self._omitted,
        # GARCH as each kept fit fitted it (the last is the model's), when the model reads it
        "garch": None if self._garch is None else self._garch.to_dict(),
        "garch_fits": [
            None if r.garch is None else r.garch.to_dict()
            for r in (self._fits if every_fit else self._fits[-1:])
        ],  # fmt: skip
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


def load_forecaster(cls: Any, folder: Path) -> Any:
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
        count = int(meta.get("fits", 1))
        earlier_saved = bool(meta.get("earlier_fits_saved", True))
        garch = None if meta.get("garch") is None else GarchFit.from_dict(meta["garch"])
        garch_fits = [None if g is None else GarchFit.from_dict(g)
                      for g in meta.get("garch_fits") or []]  # fmt: skip
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
    if model.uses_garch and garch is None:
        raise ModelError(
            f"The model in {folder} reads GARCH's sigma but {folder / 'model.json'} holds no "
            "GARCH fit; the file is damaged."
        )
    model._net, model._scaler, model._last_result = net, scaler, result
    model._garch = garch
    model.data_fingerprint = meta.get("data_fingerprint")
    model._fits = [FitRecord(state, result, garch)]
    if count > 1 and not earlier_saved:
        model._omitted = count - 1
    elif count > 1:
        states, records = load_fits(folder, count - 1)
        try:
            garches = garch_fits[:-1] if len(garch_fits) == count else [garch] * (count - 1)
            earlier = [
                FitRecord(st, None if r is None else TrainResult.from_dict(r), g)
                for st, r, g in zip(states, records, garches, strict=True)
            ]
            for r in earlier:
                net_like(net).load_state_dict(r.state, strict=True)
        except (RuntimeError, TypeError, ValueError):
            raise ModelError(
                f"The earlier fits saved in {folder} do not fit the network it describes; "
                "the files do not belong together."
            ) from None
        model._fits = earlier + model._fits
    return model

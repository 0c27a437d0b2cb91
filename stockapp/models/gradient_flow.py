"""Gradient flow: how far back backpropagation through time carries error.

The norm of the last-step loss's gradient with respect to the input at each lag, averaged over
windows: over a trained model's newest training windows (:func:`training_flow`), or over a fixed
batch after every training epoch (:func:`epoch_flow_recorder`, the vanishing-gradient curves).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from stockapp.core.dataset import input_windows
from stockapp.core.features import target_vector
from stockapp.errors import ModelError
from stockapp.models.networks import exact_copy, last_output

#: Training windows averaged for the gradient flow (the newest ones before the test span): the
#: curve's shape settles well before 512 windows and the cost stays one batched backward.
FLOW_WINDOWS = 512
#: Windows of the fixed batch measured after every training epoch. On scripts/bench_train.py's
#: standard workload (2 x 64 LSTM, 2,642 AAPL windows, one CPU thread) 128 windows cost 1.065x an
#: epoch's CPU time, over the 1.05x the issue allows; 64 cost half as much (one extra backward
#: over a batch of 64): ``scripts/bench_train.py --flow`` measured the hook at 0.086 s of a 3.8 s
#: epoch there, 1.023x (wall ratio against the app without it 1.016x).
EPOCH_FLOW_WINDOWS = 64
#: A shorter epoch (a walk-forward refit's: ``recent`` windows plus as many older ones) gets a
#: batch of at most 1/40 of its windows, so the flow stays near 2.5% of it, and at least 8.
EPOCH_FLOW_SHARE = 40
EPOCH_FLOW_MIN = 8


def gradient_flow(net: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor):
    """Mean over windows of ``|d loss / d input|`` at each lag, lag 1 first: shape ``(W,)``.

    The loss is each window's squared error on its last step (the forecast that is used), so a
    window's gradient is its own; the norm is over the features of a bar. Computed in eval mode
    on the network's own device and dtype, without touching its parameters' ``.grad``.
    """
    param = next(net.parameters())
    xt = torch.as_tensor(x).to(device=param.device, dtype=param.dtype).detach()
    yt = torch.as_tensor(y).to(device=param.device, dtype=param.dtype)
    if yt.ndim == 2:
        yt = yt[:, -1]
    was_training = net.training
    net.eval()
    try:
        # cuDNN's fused RNN backward refuses eval mode; the plain kernels give the same numbers.
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            req = xt.requires_grad_(True)
            loss = (last_output(net, req) - yt).square().sum()
            grad = torch.autograd.grad(loss, req)[0]
    finally:
        net.train(was_training)
    per_lag = grad.norm(dim=2).mean(dim=0)  # (W,), oldest bar first
    return per_lag.flip(0).double().cpu().numpy()


def epoch_flow_windows(n: int, recent: int | None = None) -> int:
    """Windows of the per-epoch fixed batch for ``n`` training windows (``recent``: as
    :func:`~stockapp.models.trainer.train`'s, a refit's epoch of the newest ``recent`` plus as
    many older windows): :data:`EPOCH_FLOW_WINDOWS`, fewer for a short epoch."""
    per_epoch = n if recent is None or recent >= n else recent + min(recent, n - recent)
    return min(n, EPOCH_FLOW_WINDOWS, max(EPOCH_FLOW_MIN, per_epoch // EPOCH_FLOW_SHARE))


def epoch_flow_recorder(
    x: np.ndarray, y: np.ndarray, curves: list[list[float]], recent: int | None = None
) -> Callable[[nn.Module, int], None]:
    """An ``on_epoch`` hook for :func:`~stockapp.models.trainer.train` that appends the gradient
    flow of a fixed batch (the newest :func:`epoch_flow_windows` of the windows ``x``, targets
    ``y``) to ``curves`` after every epoch, as plain floats (lag 1 first).

    The batch is copied to the network's device once, at the first epoch.
    """
    count = epoch_flow_windows(len(x), recent)
    held: dict[str, torch.Tensor] = {}

    def record(net: nn.Module, epoch: int) -> None:
        param = next(net.parameters())
        if "x" not in held:
            held["x"] = torch.as_tensor(x[-count:]).to(param.device, param.dtype)
            held["y"] = torch.as_tensor(y[-count:]).to(param.device, param.dtype)
        curves.append([float(v) for v in gradient_flow(net, held["x"], held["y"])])

    return record


def training_flow(forecaster, past: pd.DataFrame, count: int = FLOW_WINDOWS) -> np.ndarray:
    """The model's gradient flow over the newest ``count`` windows of ``past`` (float64, CPU)."""
    spec = forecaster.spec
    w = spec.window
    ends = np.arange(max(w, len(past) - 1 - count), len(past) - 1, dtype=np.int64)
    if ends.size == 0:
        raise ModelError("There are no training windows before this bar to measure gradients on.")
    x = input_windows(past, spec, forecaster.scaler, ends, getattr(forecaster, "garch", None))
    target = (
        forecaster.training_target(past)
        if hasattr(forecaster, "training_target")
        else target_vector(past, spec)
    )
    y = forecaster.scaler.target(target)[ends + 1]
    return gradient_flow(exact_copy(forecaster.net), x.astype(np.float64), y)

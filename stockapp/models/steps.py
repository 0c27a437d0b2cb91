"""The per-batch work of the training loop: losses, optimizers, batch order, one step.

Two interchangeable steps take a batch of window indices (on the device) and that batch's
dropout noise, and return the batch loss as a device tensor without synchronising:
:class:`EagerStep` launches the ops one by one; :class:`GraphedStep` replays the whole step from
a CUDA graph. All randomness (batch order, dropout noise) comes from the job's own
``torch.Generator`` (see :class:`Shuffler` and :func:`draw_noise`), never the global one.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import clip_grad_norm_

#: Eager steps run on a side stream before a CUDA graph is captured.
WARMUP_STEPS = 3
#: Fewest planned steps for which a fit captures a CUDA graph; shorter fits run eagerly.
#: Capturing costs the warm-up steps (3 eager steps), ``gc.collect()``, ``empty_cache()`` and
#: the capture itself: tens of milliseconds. Each replay then saves the launch overhead of one
#: eager step: the README's H200 reference figures (plain eager 171 ms, replay 26 ms for a
#: 79-batch epoch) put that at ~1.8 ms a step, so the capture repays itself after ~10-30 steps.
#: 64 keeps a margin: every default first fit (~40 batches x up to 20 epochs) is graphed and a
#: one-epoch warm refit (~8 batches of 64) runs eagerly. ``scripts/bench_train.py --device cuda``
#: reports the measured capture time (``capture_s``) so this can be checked on a real card.
GRAPH_MIN_STEPS = 64

LossFn = Callable[..., torch.Tensor]

#: Held while a CUDA graph is captured: two jobs must never capture at the same time.
_CAPTURE_LOCK = threading.Lock()


def _per_window_last(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred[:, -1] - target[:, -1]).square()


def _per_window_all(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).square().mean(dim=1)


def _loss_all(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None):
    if weight is None:
        return F.mse_loss(pred, target)
    return (_per_window_all(pred, target) * weight).sum() / weight.sum()


def _loss_last(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None):
    if weight is None:
        return F.mse_loss(pred[:, -1], target[:, -1])
    return (_per_window_last(pred, target) * weight).sum() / weight.sum()


def nll(out: torch.Tensor, target: torch.Tensor, dof: torch.Tensor | None) -> torch.Tensor:
    """Negative log-likelihood of ``target`` under a distribution head's output, per step.

    ``out[..., 0]`` is the location, ``softplus(out[..., 1]) + MIN_SCALE`` the standard
    deviation. Gaussian (``dof`` None): ``0.5 log(2 pi var) + 0.5 (y - mu)^2 / var``, as
    ``torch.nn.GaussianNLLLoss(full=True)``. Student-t with ``dof`` and that standard deviation
    (scale ``sd sqrt((dof - 2) / dof)``): minus the log of its density.
    """
    from stockapp.models.networks import RecurrentNet

    mu, sd = out[..., 0], RecurrentNet.scale(out)
    if dof is None:
        return 0.5 * (_LOG_2PI + 2.0 * torch.log(sd) + ((target - mu) / sd).square())
    scale = sd * torch.sqrt((dof - 2.0) / dof)
    z2 = ((target - mu) / scale).square()
    const = (
        torch.lgamma(dof / 2.0) - torch.lgamma((dof + 1.0) / 2.0) + 0.5 * torch.log(dof * math.pi)
    )
    return const + torch.log(scale) + 0.5 * (dof + 1.0) * torch.log1p(z2 / dof)


_LOG_2PI = math.log(2.0 * math.pi)


def _nll_loss(net: nn.Module, loss_on: str) -> LossFn:
    def loss(out: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None):
        if loss_on == "last":
            per_window = nll(out[:, -1], target[:, -1], net.dof())
        else:
            per_window = nll(out, target, net.dof()).mean(dim=1)
        if weight is None:
            return per_window.mean()
        return (per_window * weight).sum() / weight.sum()

    return loss


def loss_function(loss_on: str, net: nn.Module | None = None) -> LossFn:
    """The training loss on every step of each window (``"all"``) or on its last step only.

    MSE for a point head; the negative log-likelihood (:func:`nll`) for a distribution head
    (``net.is_distribution``), whose Student-t dof is read from ``net`` at every call. The
    returned ``loss(pred, target, weight=None)`` takes optional per-window weights: a
    weighted mean over the windows, so a padded batch whose pad rows weigh 0 has exactly the
    loss (and gradient) of the real rows alone.
    """
    if net is not None and getattr(net, "is_distribution", False):
        return _nll_loss(net, loss_on)
    return _loss_last if loss_on == "last" else _loss_all


def make_optimizer(
    net: nn.Module,
    name: str,
    lr: float,
    weight_decay: float,
    device: torch.device,
    capturable: bool = False,
) -> torch.optim.Optimizer:
    """Adam or AdamW; multi-tensor (foreach) on CUDA, and capturable for a CUDA graph.

    On the CPU torch's own default implementation is kept (foreach is a CUDA optimisation).
    """
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    extra = {"foreach": True, "capturable": capturable} if device.type == "cuda" else {}
    return cls(net.parameters(), lr=lr, weight_decay=weight_decay, **extra)


def job_generator(device: torch.device, seed: int) -> torch.Generator:
    """A generator for one job: on the CUDA device itself there, else on the CPU."""
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu")
    gen.manual_seed(int(seed))
    return gen


def draw_noise(
    net: nn.Module, rows: int, steps: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor | None:
    """The uniform dropout noise for a batch of ``rows`` windows, or ``None`` if none is needed."""
    shape_of = getattr(net, "noise_shape", None)
    shape = shape_of(rows, steps) if shape_of is not None else None
    if shape is None:
        return None
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def device_guard(device: torch.device) -> contextlib.AbstractContextManager:
    """Make ``device`` the current CUDA device (e.g. ``cuda:1``); a no-op elsewhere.

    CUDA graphs, side streams and the memory pool belong to the current device: capture and
    replay must run with the training device current, whichever device the thread had before.
    """
    if device.type == "cuda":
        return torch.cuda.device(device)
    return contextlib.nullcontext()


def use_cuda_graph(device: torch.device, enabled: bool, planned_steps: int) -> bool:
    """Whether a fit should capture a CUDA graph: on CUDA, if enabled, and if it repays itself."""
    return enabled and device.type == "cuda" and planned_steps >= GRAPH_MIN_STEPS


class EagerStep:
    """One training step launched op by op (CPU, MPS, or CUDA without graphs)."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: LossFn,
        clip_norm: float,
        x: torch.Tensor,
        y: torch.Tensor,
    ):
        self.net, self.optimizer, self.loss_fn = net, optimizer, loss_fn
        self.clip_norm = clip_norm
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.x, self.y = x, y

    def __call__(self, idx: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)
        self.optimizer.zero_grad(set_to_none=True)
        pred = self.net(xb) if noise is None else self.net(xb, noise)
        loss = self.loss_fn(pred, yb)
        loss.backward()
        if self.clip_norm > 0:
            clip_grad_norm_(self.params, self.clip_norm)
        self.optimizer.step()
        return loss.detach()


class GraphedStep:
    """The whole step (forward, loss, backward, clip, Adam) replayed from one CUDA graph.

    Follows PyTorch's "whole network capture" recipe: static input/target/noise buffers, a few
    eager warm-up steps on a side stream, then capture with a capturable optimizer. The warm-up
    steps really update the weights, so they are undone afterwards (weights copied back in place
    and the optimizer's moments and step counts zeroed, which is exactly a fresh Adam): replay
    then trains from the same start as the eager path.

    The graph has a fixed batch size; a shorter batch (an epoch's last) fills the first rows of
    the static buffers and gives the rest weight 0 in the loss, so it trains on exactly its own
    windows, as the eager step would. Capture and replay run with the training device current
    (:func:`device_guard`), and one capture at a time in the process.
    """

    def __init__(
        self,
        net: nn.Module,
        make_capturable_optimizer: Callable[[], torch.optim.Optimizer],
        loss_fn: LossFn,
        clip_norm: float,
        x: torch.Tensor,
        y: torch.Tensor,
        batch: int,
    ):
        self.device = device = x.device
        self.x, self.y, self.batch = x, y, batch
        params = [p for p in net.parameters() if p.requires_grad]
        self.static_x, self.static_y = x[:batch].clone(), y[:batch].clone()
        self.static_w = torch.ones(batch, device=device)
        shape = net.noise_shape(batch, x.shape[1]) if hasattr(net, "noise_shape") else None
        self.static_noise = None if shape is None else torch.ones(shape, device=device)
        self._rows = batch
        clip = clip_norm

        def step() -> torch.Tensor:
            if self.static_noise is None:
                pred = net(self.static_x)
            else:
                pred = net(self.static_x, self.static_noise)
            loss = loss_fn(pred, self.static_y, self.static_w)
            loss.backward()
            if clip > 0:
                clip_grad_norm_(params, clip)  # foreach on CUDA, as eager
            optimizer.step()
            return loss.detach()

        with _CAPTURE_LOCK, device_guard(device):
            start = [p.detach().clone() for p in params]
            optimizer = make_capturable_optimizer()
            self.graph, self.loss = capture(step, optimizer, device)
            with torch.no_grad():
                for p, p0 in zip(params, start, strict=True):
                    p.copy_(p0)
                for state in optimizer.state.values():
                    for value in state.values():
                        if torch.is_tensor(value):
                            value.zero_()
        self.optimizer = optimizer

    def __call__(self, idx: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        rows = idx.shape[0]
        with device_guard(self.device):
            torch.index_select(self.x, 0, idx, out=self.static_x[:rows])
            torch.index_select(self.y, 0, idx, out=self.static_y[:rows])
            if noise is not None and self.static_noise is not None:
                self.static_noise[:, :rows].copy_(noise)
            if rows != self._rows:  # pad rows (left from the previous batch) weigh nothing
                self.static_w.copy_(pad_weights(rows, self.batch, self.device))
                self._rows = rows
            self.graph.replay()
        return self.loss


def capture(
    step: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer, device: torch.device
) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
    """Run :data:`WARMUP_STEPS` eager steps on a side stream, then capture ``step`` in a graph.

    Returns the graph and the loss tensor each replay writes. The warm-up steps update the
    weights and the optimizer (the caller undoes that); the capture itself computes nothing.
    """
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(WARMUP_STEPS):
            optimizer.zero_grad(set_to_none=True)
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    # thread_local: the GUI thread may use CUDA while a worker thread captures.
    with torch.cuda.graph(graph, stream=side, capture_error_mode="thread_local"):
        loss = step()
    return graph, loss


def pad_weights(rows: int, batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Loss weights for a batch of ``rows`` real windows padded to ``batch``: 1s then 0s."""
    return (torch.arange(batch, device=device) < rows).to(torch.float32)


class Shuffler:
    """A seeded order of the training windows each epoch, split into index batches on the device.

    Every window of an epoch is in exactly one batch (the last batch may be short). With
    ``recent`` set (a warm refit), an epoch is the newest ``recent`` windows plus an equal-size
    uniform sample, without replacement and fresh each epoch, of the older ones, shuffled
    together: a refit of an expanding span costs the same at every date, the newest bars are
    always in it, and every older window has the same chance of being revisited.
    """

    def __init__(
        self,
        n: int,
        batch: int,
        device: torch.device,
        generator: torch.Generator,
        recent: int | None = None,
    ):
        self.n, self.batch, self.device, self.gen = n, batch, device, generator
        self.recent = None if recent is None or recent >= n else int(recent)

    @property
    def per_epoch(self) -> int:
        """Windows in each epoch."""
        if self.recent is None:
            return self.n
        return self.recent + min(self.recent, self.n - self.recent)

    def epoch(self) -> list[torch.Tensor]:
        dev = self.gen.device
        if self.recent is None:
            order = torch.randperm(self.n, generator=self.gen, device=dev)
        else:
            n_old = self.n - self.recent
            old = torch.randperm(n_old, generator=self.gen, device=dev)[: self.recent]
            new = torch.arange(n_old, self.n, device=dev)
            both = torch.cat((old, new))
            order = both[torch.randperm(both.shape[0], generator=self.gen, device=dev)]
        return list(order.to(self.device).split(self.batch))

"""The per-batch work of the training loop: losses, optimizers, batch order, one step.

Two interchangeable steps take a batch of window indices (on the device) and return the batch
loss as a device tensor without synchronising: :class:`EagerStep` launches the ops one by one;
:class:`GraphedStep` replays the whole step from a CUDA graph.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import clip_grad_norm_

#: Eager steps run on a side stream before a CUDA graph is captured.
WARMUP_STEPS = 3

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _loss_all(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def _loss_last(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred[:, -1], target[:, -1])


def loss_function(loss_on: str) -> LossFn:
    """MSE on every step of each window (``"all"``) or on its last step only (``"last"``)."""
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

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.net(xb), yb)
        loss.backward()
        if self.clip_norm > 0:
            clip_grad_norm_(self.params, self.clip_norm)
        self.optimizer.step()
        return loss.detach()


class GraphedStep:
    """The whole step (forward, loss, backward, clip, Adam) replayed from one CUDA graph.

    Follows PyTorch's "whole network capture" recipe: static input/target buffers, a few eager
    warm-up steps on a side stream, then capture with a capturable optimizer. The warm-up steps
    really update the weights, so they are undone afterwards (weights copied back in place and
    the optimizer's moments and step counts zeroed, which is exactly a fresh Adam): replay then
    trains from the same start as the eager path. Every replay needs a full batch.
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
        device = x.device
        self.x, self.y = x, y
        params = [p for p in net.parameters() if p.requires_grad]
        start = [p.detach().clone() for p in params]
        optimizer = make_capturable_optimizer()
        self.static_x, self.static_y = x[:batch].clone(), y[:batch].clone()
        clip = clip_norm

        def step() -> torch.Tensor:
            loss = loss_fn(net(self.static_x), self.static_y)
            loss.backward()
            if clip > 0:
                clip_grad_norm_(params, clip, foreach=True)
            optimizer.step()
            return loss.detach()

        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                optimizer.zero_grad(set_to_none=True)
                step()
        torch.cuda.current_stream(device).wait_stream(side)

        self.graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)
        # thread_local: the GUI thread may use CUDA while a worker thread captures.
        with torch.cuda.graph(self.graph, stream=side, capture_error_mode="thread_local"):
            self.loss = step()

        with torch.no_grad():
            for p, p0 in zip(params, start, strict=True):
                p.copy_(p0)
            for state in optimizer.state.values():
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()
        self.optimizer = optimizer

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        torch.index_select(self.x, 0, idx, out=self.static_x)
        torch.index_select(self.y, 0, idx, out=self.static_y)
        self.graph.replay()
        return self.loss


class Shuffler:
    """A seeded permutation of the windows each epoch, split into index batches on the device.

    With ``full_only`` (the graphed loop) every batch has exactly ``batch`` windows: the windows
    left over after the last full batch are carried to the front of the next epoch's order, so
    every window is still used and epochs differ in size by less than one batch.
    """

    def __init__(self, n: int, batch: int, device: torch.device, seed: int, full_only: bool):
        self.n, self.batch, self.device, self.full_only = n, batch, device, full_only
        self.gen = torch.Generator(device=device if device.type == "cuda" else "cpu")
        self.gen.manual_seed(seed)
        self.carry = torch.empty(0, dtype=torch.long, device=device)

    def epoch(self) -> list[torch.Tensor]:
        perm = torch.randperm(self.n, generator=self.gen, device=self.gen.device)
        perm = perm.to(self.device)
        if not self.full_only:
            return list(perm.split(self.batch))
        order = torch.cat((self.carry, perm)) if self.carry.shape[0] else perm
        k = order.shape[0] // self.batch
        self.carry = order[k * self.batch :]
        return list(order[: k * self.batch].view(k, self.batch).unbind(0))

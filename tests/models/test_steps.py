"""The per-batch machinery on the CPU: batch order, padded batches, the graph decision, devices."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pytest
import torch

from stockapp.models import steps as steps_module
from stockapp.models import trainer as trainer_module
from stockapp.models.networks import RecurrentNet
from stockapp.models.steps import (
    GRAPH_MIN_STEPS,
    Shuffler,
    device_guard,
    job_generator,
    loss_function,
    pad_weights,
    use_cuda_graph,
)
from stockapp.models.trainer import train
from tests.models.conftest import run, sine_set, tiny_cfg

CPU = torch.device("cpu")


@pytest.mark.parametrize(("n", "batch"), [(250, 32), (256, 32), (5, 64), (1, 1)])
def test_every_window_is_seen_exactly_once_per_epoch(n, batch):
    """No window is carried over or dropped, so even a one-epoch refit sees all of them."""
    order = Shuffler(n, batch, CPU, job_generator(CPU, 0))
    epochs = [torch.cat(order.epoch()) for _ in range(3)]
    for seen in epochs:
        assert torch.equal(seen.sort().values, torch.arange(n))
    if n > 5:
        assert not torch.equal(epochs[0], epochs[1])  # reshuffled every epoch
    sizes = [b.shape[0] for b in order.epoch()]
    assert sizes == [batch] * (n // batch) + ([n % batch] if n % batch else [])


def test_a_refit_epoch_is_the_newest_windows_plus_as_many_older_ones():
    n, recent = 1000, 100
    order = Shuffler(n, 64, CPU, job_generator(CPU, 3), recent=recent)
    assert order.per_epoch == 200
    picked_old = torch.zeros(n - recent, dtype=torch.long)
    for _ in range(40):
        seen = torch.cat(order.epoch())
        assert seen.shape[0] == 200 and seen.unique().shape[0] == 200  # each once
        newest = seen[seen >= n - recent]
        assert torch.equal(newest.sort().values, torch.arange(n - recent, n))
        picked_old += torch.bincount(seen[seen < n - recent], minlength=n - recent)
    # Uniform without replacement: each older window has chance 100/900 per epoch, so over 40
    # epochs each is picked ~4.4 times; all 900 should have been picked at least once by now
    # (a window never picked has probability (8/9)**40 ~ 0.9%, so a few may be missed).
    assert (picked_old == 0).sum() <= 30
    assert picked_old.sum() == 40 * 100
    # Fewer older windows than recent ones: every window, every epoch.
    small = Shuffler(150, 64, CPU, job_generator(CPU, 3), recent=100)
    assert small.per_epoch == 150
    assert torch.equal(torch.cat(small.epoch()).sort().values, torch.arange(150))
    assert Shuffler(80, 64, CPU, job_generator(CPU, 3), recent=100).per_epoch == 80


@pytest.mark.parametrize("loss_on", ["last", "all"])
def test_a_padded_batch_trains_on_its_real_windows_only(loss_on):
    """The graph's fixed-size batch, padded with stale rows of weight 0, gives the short
    batch's own loss and gradient: the eager step's mean over the real rows."""
    gen = torch.Generator().manual_seed(0)
    net = RecurrentNet("lstm", 2, 8, 2, 0.0, generator=gen)
    x, y = torch.randn(7, 5, 2, generator=gen), torch.randn(7, 5, generator=gen)
    loss = loss_function(loss_on)
    real = loss(net(x[:4]), y[:4])
    real.backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    w = pad_weights(4, 7)
    assert w.tolist() == [1, 1, 1, 1, 0, 0, 0]
    padded = loss(net(x), y, w)
    padded.backward()
    torch.testing.assert_close(padded, real)
    for g, p in zip(grads, net.parameters(), strict=True):
        torch.testing.assert_close(p.grad, g)
    # All weights 1: the plain mean.
    torch.testing.assert_close(loss(net(x), y, pad_weights(7, 7)), loss(net(x), y))


def test_short_fits_run_eagerly_long_ones_replay_a_graph():
    cuda = torch.device("cuda", 0)
    assert use_cuda_graph(cuda, True, GRAPH_MIN_STEPS)
    assert use_cuda_graph(cuda, True, 20 * 42)  # a default first fit on AAPL
    assert not use_cuda_graph(cuda, True, 1 * 8)  # a one-epoch warm refit of 500 windows
    assert not use_cuda_graph(cuda, True, GRAPH_MIN_STEPS - 1)
    assert not use_cuda_graph(cuda, False, 10_000)
    assert not use_cuda_graph(CPU, True, 10_000)
    assert not use_cuda_graph(torch.device("mps"), True, 10_000)


def test_the_training_device_is_made_current_for_capture_and_replay():
    guard = device_guard(torch.device("cuda", 1))
    assert isinstance(guard, torch.cuda.device) and guard.idx == 1
    assert device_guard(torch.device("cuda", 0)).idx == 0
    assert isinstance(device_guard(CPU), contextlib.nullcontext)


def test_the_job_generator_lives_on_the_training_device():
    assert job_generator(CPU, 4).device == CPU
    a, b = job_generator(CPU, 4), job_generator(CPU, 4)
    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))


class _ReplayEagerly:
    """Stands in for a CUDA graph on the CPU: each replay re-runs the captured step.

    Like a real replay it overwrites (not accumulates) the gradients and writes the loss into the
    tensor captured; like a real capture, capturing computes nothing.
    """

    def __init__(self, step, optimizer):
        self.step, self.optimizer = step, optimizer
        self.loss = torch.zeros(())
        self.replays = 0

    def replay(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.loss.copy_(self.step())
        self.replays += 1


def _fake_capture(graphs: list):
    def capture(step, optimizer, device):
        for _ in range(steps_module.WARMUP_STEPS):  # the warm-up really trains, as on a GPU
            optimizer.zero_grad(set_to_none=True)
            step()
        graph = _ReplayEagerly(step, optimizer)
        graphs.append(graph)
        return graph, graph.loss

    return capture


@pytest.mark.parametrize(("layers", "dropout", "n"), [(2, 0.2, 250), (1, 0.0, 256)])
def test_the_graphed_step_trains_like_the_eager_one(monkeypatch, layers, dropout, n):
    """GraphedStep's plumbing on the CPU (static buffers, padded short batch, dropout noise,
    undoing the warm-up): same losses and weights as eager launches, on the default model's
    shape. Only the graph itself is replaced (by eager replays), see ``_ReplayEagerly``."""
    data = sine_set(n_train=n, n_val=40)
    cfg = tiny_cfg(layers=layers, dropout=dropout, epochs=3, optimizer="adamw", clip_norm=1.0)
    start = RecurrentNet("lstm", 1, 16, layers, dropout, generator=torch.Generator())
    eager_net, graph_net = copy.deepcopy(start), copy.deepcopy(start)
    _, eager = run(train(eager_net, data, cfg))
    graphs: list = []
    monkeypatch.setattr(trainer_module, "use_cuda_graph", lambda *a: True)
    monkeypatch.setattr(steps_module, "capture", _fake_capture(graphs))
    _, graphed = run(train(graph_net, data, cfg))
    assert graphed.cuda_graphs is True and eager.cuda_graphs is False
    assert graphs[0].replays == 3 * -(-n // 32)  # a short last batch is replayed, not skipped
    np.testing.assert_allclose(graphed.train_losses, eager.train_losses, rtol=1e-5)
    np.testing.assert_allclose(graphed.val_losses, eager.val_losses, rtol=1e-5)
    for name, value in graph_net.state_dict().items():
        torch.testing.assert_close(value, eager_net.state_dict()[name], rtol=1e-5, atol=1e-6)

"""Each job draws from its own torch.Generator: weights, batch order and dropout masks.

Two jobs at the same time (a training and a backtest in two threads) must not disturb each
other's reproducible results, so nothing in a job may read or advance torch's global generator.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from stockapp.models.networks import RecurrentNet
from stockapp.models.trainer import train
from tests.models.conftest import run, sine_set, tiny_cfg

CFG = dict(layers=2, dropout=0.3, epochs=3)  # dropout between layers: masks are drawn


def _net(seed: int) -> RecurrentNet:
    return RecurrentNet("lstm", 1, 16, 2, 0.3, generator=torch.Generator().manual_seed(seed))


def test_training_neither_reads_nor_moves_the_global_generator():
    data = sine_set()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    net = _net(0)
    _, first = run(train(net, data, tiny_cfg(**CFG, seed=5)))
    assert torch.equal(torch.get_rng_state(), before)
    # ...and what the global generator holds does not change the result.
    torch.manual_seed(999)
    _, second = run(train(_net(0), data, tiny_cfg(**CFG, seed=5)))
    assert second.train_losses == first.train_losses
    assert second.val_losses == first.val_losses


def test_two_trainings_interleaved_match_each_alone():
    """Advanced alternately epoch by epoch, with global draws in between, as two threads would."""
    data = sine_set()
    cfgs = {"a": tiny_cfg(**CFG, seed=1), "b": tiny_cfg(**CFG, seed=2)}
    alone, alone_nets = {}, {}
    for name, cfg in cfgs.items():
        alone_nets[name] = _net(cfg.seed)
        alone[name] = run(train(alone_nets[name], data, cfg))[1].train_losses

    nets = {name: _net(cfg.seed) for name, cfg in cfgs.items()}
    gens = {name: train(nets[name], data, cfg) for name, cfg in cfgs.items()}
    together: dict[str, list[float]] = {"a": [], "b": []}
    live = set(gens)
    while live:
        for name in sorted(live):
            torch.rand(7)  # someone else using the global generator meanwhile
            try:
                event = next(gens[name])
            except StopIteration:
                live.discard(name)
                continue
            if event.kind == "epoch":
                together[name].append(event.train_loss)
    assert together == alone
    assert alone["a"] != alone["b"]
    for name in cfgs:
        for key, value in nets[name].state_dict().items():
            assert torch.equal(value, alone_nets[name].state_dict()[key]), key


def test_dropout_is_really_applied_and_changes_with_the_seed():
    data = sine_set()
    losses = [run(train(_net(0), data, tiny_cfg(**CFG, seed=s)))[1].train_losses for s in (1, 2)]
    assert losses[0] != losses[1]
    plain = RecurrentNet("lstm", 1, 16, 2, 0.0, generator=torch.Generator().manual_seed(0))
    no_dropout = run(train(plain, data, tiny_cfg(**{**CFG, "dropout": 0.0}, seed=1)))[1]
    assert no_dropout.train_losses != losses[0]


def test_building_a_network_leaves_the_global_generator_alone():
    before = torch.get_rng_state()
    a = _net(4)
    assert torch.equal(torch.get_rng_state(), before)
    b = _net(4)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not torch.equal(a.head.weight, _net(5).head.weight)


def test_weights_are_drawn_from_torchs_default_ranges():
    net = RecurrentNet("gru", 3, 50, 2, 0.0, generator=torch.Generator().manual_seed(0))
    bound = 1 / 50**0.5
    for name, p in net.named_parameters():
        assert p.abs().max() <= bound, name
        if p.numel() > 20:
            assert p.abs().max() > 0.9 * bound, name  # spread over the whole range


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_a_stacked_torch_module_loads_into_the_per_layer_network(kind):
    """Checkpoints saved from ``nn.LSTM(num_layers=2)`` keep loading, and compute the same."""
    torch.manual_seed(0)
    fused = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](3, 8, 2, batch_first=True)
    head = nn.Linear(8, 1)
    state = {f"rnn.{k}": v for k, v in fused.state_dict().items()}
    state.update({f"head.{k}": v for k, v in head.state_dict().items()})
    net = RecurrentNet(kind, 3, 8, 2, 0.2, generator=torch.Generator())
    assert sorted(net.state_dict()) == sorted(state)
    net.load_state_dict(state, strict=True)
    net.eval()
    x = torch.randn(4, 9, 3)
    torch.testing.assert_close(net(x), head(fused(x)[0]).squeeze(-1), rtol=0, atol=1e-6)


def test_dropout_noise_decides_the_mask():
    net = _net(0).train()
    x = torch.randn(5, 6, 1)
    shape = net.noise_shape(5, 6)
    assert shape == (1, 5, 6, 16)
    keep_all, drop_all = torch.ones(shape), torch.zeros(shape)
    net_eval = copy.deepcopy(net).eval()
    # Keeping every unit (noise >= p) scales the layer's output by 1/(1-p) and nothing else;
    # dropping every unit leaves layer 2 with zero inputs.
    layer2 = net.rnn.l1
    zero_in = net.head(layer2(torch.zeros(5, 6, 16))[0]).squeeze(-1)
    torch.testing.assert_close(net(x, drop_all), zero_in)
    with torch.no_grad():
        h = net_eval.rnn.l0(x)[0] / 0.7
        expected = net_eval.head(net_eval.rnn.l1(h)[0]).squeeze(-1)
    torch.testing.assert_close(net(x, keep_all), expected)
    noise = torch.rand(shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(net(x, noise), net(x, noise.clone()))
    assert _net(0).noise_shape(5, 6) is not None
    assert RecurrentNet("lstm", 1, 4, 1, 0.5, torch.Generator()).noise_shape(5, 6) is None

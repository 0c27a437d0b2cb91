"""The gradient through time recorded once per epoch during the model's own training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from stockapp.core.dataset import training_set
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.models.attribution import attribute
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.gradient_flow import gradient_flow
from stockapp.models.networks import RecurrentNet
from stockapp.models.trainer import TrainConfig, TrainResult, train
from tests.models.conftest import sine_set, tiny_cfg, tiny_net


def test_on_epoch_is_called_once_per_finished_epoch_with_that_epochs_weights():
    data = sine_set()
    net = tiny_net()
    seen: list[tuple[int, dict]] = []

    def hook(module, epoch):
        assert module is net
        seen.append((epoch, {k: v.clone() for k, v in module.state_dict().items()}))

    events = []
    drain(train(net, data, tiny_cfg(epochs=3), keep_best=False, on_epoch=hook), events.append)
    assert [e for e, _ in seen] == [1, 2, 3]
    # the hook sees an epoch's final weights: after the last epoch, those kept (keep_best=False)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(seen[-1][1][k], v)
    assert not torch.equal(seen[0][1]["head.weight"], seen[-1][1]["head.weight"])
    # it runs before the epoch is reported, so a consumer of the epoch event sees it done
    assert sum(e.kind == "epoch" for e in events) == 3


def test_on_epoch_is_not_called_for_an_epoch_cut_short_by_cancel():
    calls: list[int] = []
    job = train(
        tiny_net(), sine_set(), tiny_cfg(epochs=3), should_stop=lambda: bool(calls),
        on_epoch=lambda m, e: calls.append(e),
    )  # fmt: skip
    result = drain(job)
    assert result.stop_reason == "cancelled" and calls == [1]


def _prices(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    idx = pd.bdate_range("2020-01-01", periods=n)
    return pd.DataFrame({"Close": close, "Volume": rng.uniform(1e6, 2e6, n)}, index=idx)


def test_fit_records_each_epochs_gradient_flow_on_a_fixed_batch(tmp_path):
    prices = _prices()
    spec = FeatureSpec(window=12)
    # No validation slice, so no catch-up epochs after early stopping: the kept weights are the
    # one epoch's.
    cfg = TrainConfig(
        hidden=6, layers=1, epochs=1, patience=0, device="cpu", dropout=0.0, val_fraction=0.0
    )
    model = RecurrentForecaster(spec, cfg)
    result = drain(model.fit(prices))
    assert len(result.gradient_flow_epochs) == 1 and not result.catchup_losses
    # The curve is the flow of the newest training windows (287 of them here; 1/40 of that is
    # 7, so the least batch, 8), computed here again, independently.
    data = training_set(prices, spec, cfg.val_fraction)
    assert len(data.x_train) == 287
    again = gradient_flow(model.net, data.x_train[-8:], data.y_train[-8:])
    np.testing.assert_allclose(result.gradient_flow_epochs[0], again, rtol=1e-5)
    assert len(result.gradient_flow_epochs[0]) == 12

    more = RecurrentForecaster(spec, TrainConfig(**{**cfg.to_dict(), "epochs": 3}))
    curves = drain(more.fit(prices)).gradient_flow_epochs
    assert len(curves) == 3 and all(len(c) == 12 for c in curves)
    assert all(isinstance(v, float) for c in curves for v in c)  # JSON-ready

    # saved and reopened with the model; a file written before the field still loads
    more.save(tmp_path / "m")
    assert RecurrentForecaster.load(tmp_path / "m").last_result.gradient_flow_epochs == curves
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    del meta["last_training"]["gradient_flow_epochs"]
    assert TrainResult.from_dict(meta["last_training"]).gradient_flow_epochs == []


def test_gradient_flow_and_attribution_use_a_distribution_heads_location():
    net = RecurrentNet("gru", 1, 5, 1, 0.0, torch.Generator().manual_seed(0), head="gaussian")
    x = np.random.default_rng(0).normal(size=(16, 9, 1))
    flow = gradient_flow(net, x, np.zeros(16))
    # the location alone, written out here: mean over windows of |d (mu - y)^2 / dx| per lag
    xt = torch.as_tensor(x, dtype=torch.float32).requires_grad_(True)
    net.eval()
    mu = net(xt)[:, -1, 0]
    (g,) = torch.autograd.grad(mu.square().sum(), xt)
    np.testing.assert_allclose(flow, g.norm(dim=2).mean(0).flip(0).numpy(), rtol=1e-5)
    a = attribute(net, x[0])
    assert a.completeness_error <= 0.01


def test_recording_the_flow_leaves_training_exactly_as_it_was():
    """The hook runs in eval mode on its own batch: same losses, same weights, same randomness."""
    from stockapp.models.gradient_flow import epoch_flow_recorder

    data = sine_set()
    cfg = tiny_cfg(epochs=3, layers=2, dropout=0.3)
    plain, hooked = tiny_net(layers=2, dropout=0.3), tiny_net(layers=2, dropout=0.3)
    curves: list[list[float]] = []
    a = drain(train(plain, data, cfg))
    b = drain(train(hooked, data, cfg, on_epoch=epoch_flow_recorder(data.x_train, data.y_train,
                                                                   curves)))  # fmt: skip
    assert len(curves) == 3
    assert a.train_losses == b.train_losses and a.val_losses == b.val_losses
    for k, v in plain.state_dict().items():
        assert torch.equal(v, hooked.state_dict()[k]), k


def test_the_training_benchmark_times_the_hook_once_per_epoch():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_train.py"
    spec = importlib.util.spec_from_file_location("bench_train_flow", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = bench.standard_data(200)
    cfg = TrainConfig(hidden=8, layers=1, dropout=0.0, epochs=2, patience=0, val_fraction=0.0,
                      device="cpu")  # fmt: skip
    hooks: list[float] = []
    with_flow = list(bench.app_loop(data, cfg, [], flow_s=hooks))
    assert len(hooks) == 2 and all(h > 0 for h in hooks)
    assert with_flow == list(bench.app_loop(data, cfg, []))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")
def test_the_flow_is_recorded_on_cuda_between_graph_replays():
    """cuDNN refuses an eval-mode RNN backward; the hook bypasses it, outside the CUDA graph."""
    from stockapp.models.gradient_flow import epoch_flow_recorder, epoch_flow_windows
    from stockapp.models.steps import GRAPH_MIN_STEPS

    data = sine_set()
    epochs = -(-GRAPH_MIN_STEPS // 8) + 1  # 256 windows / 32 a batch = 8 steps an epoch
    cfg = tiny_cfg(epochs=epochs, device="cuda", cuda_graphs=True)
    net = tiny_net()
    curves: list[list[float]] = []
    hook = epoch_flow_recorder(data.x_train, data.y_train, curves)
    result = drain(train(net, data, cfg, keep_best=False, on_epoch=hook))
    assert result.cuda_graphs and len(curves) == epochs
    k = epoch_flow_windows(len(data.x_train))  # the hook's own fixed batch (8 of 256 here)
    again = gradient_flow(net.cpu(), data.x_train[-k:], data.y_train[-k:])
    np.testing.assert_allclose(curves[-1], again, rtol=1e-3)


def test_the_fixed_batch_shrinks_with_a_short_epoch_so_the_cost_stays_small():
    """A refit's epoch (``recent`` windows plus as many older ones) may be a few batches long."""
    from stockapp.models.gradient_flow import epoch_flow_recorder, epoch_flow_windows

    assert epoch_flow_windows(2642) == 64  # the standard workload: the full batch
    assert epoch_flow_windows(2000, recent=250) == 12  # 500 windows an epoch, / 40
    assert epoch_flow_windows(300, recent=250) == 8  # 250 + 50 = 300 / 40 = 7, at least 8
    assert epoch_flow_windows(5) == 5
    x = np.random.default_rng(0).normal(size=(2000, 6, 1))
    y = np.zeros((2000, 6))
    curves: list[list[float]] = []
    net = tiny_net()
    epoch_flow_recorder(x, y, curves, recent=250)(net, 1)
    np.testing.assert_allclose(curves[0], gradient_flow(net, x[-12:], y[-12:]), rtol=1e-6)

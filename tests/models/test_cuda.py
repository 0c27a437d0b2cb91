"""The CUDA path (graph replay, data kept on the GPU); skipped on machines without one.

Graph replay is checked against eager launches on the default model (2 LSTM layers, dropout 0.2
between them, AdamW, gradient clipping): both draw the batch order and the dropout noise from
the job's generator in the same sequence, so they train on the same batches with the same
masks. They still differ by float32 rounding (capturable Adam does its bias correction on the
device, and the graph's loss is a weighted mean), so loss histories must agree within a relative
2e-3 and forecasts (log returns of about 1e-2) within 2e-4 absolute.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from stockapp.core.features import FeatureSpec
from stockapp.models.device import available_devices, describe_device, resolve_device
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.steps import GRAPH_MIN_STEPS
from stockapp.models.trainer import TrainConfig, device_tensors, train
from tests.models.conftest import run, sine_set, tiny_cfg, tiny_net

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA"),
]
GPU = "cuda:0"
LOSS_RTOL = 2e-3
FORECAST_ATOL = 2e-4


def test_cuda_is_listed_and_described():
    assert "cuda" in available_devices()
    assert resolve_device("auto") == torch.device(GPU) == resolve_device("cuda")
    assert describe_device(GPU).endswith("(cuda:0)")


def test_data_is_copied_to_the_gpu_once():
    tensors = device_tensors(sine_set(), torch.device(GPU))
    assert all(t.device == torch.device(GPU) and t.dtype == torch.float32 for t in tensors)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_graph_replay_matches_eager(kind, optimizer):
    # 256 windows in batches of 32 for 8 epochs: 64 steps, enough to be worth a graph.
    data = sine_set(n_train=256, n_val=64)
    start = tiny_net(kind)
    cfg = tiny_cfg(model=kind, device="cuda", epochs=8, optimizer=optimizer, weight_decay=1e-3)
    assert cfg.epochs * 8 >= GRAPH_MIN_STEPS
    eager_net, graph_net = copy.deepcopy(start), copy.deepcopy(start)
    _, eager = run(train(eager_net, data, replace(cfg, cuda_graphs=False)))
    _, graphed = run(train(graph_net, data, cfg))
    assert graphed.cuda_graphs is True and eager.cuda_graphs is False
    assert "capture failed" not in graphed.message
    np.testing.assert_allclose(graphed.train_losses, eager.train_losses, rtol=LOSS_RTOL, atol=1e-6)
    np.testing.assert_allclose(graphed.val_losses, eager.val_losses, rtol=LOSS_RTOL, atol=1e-6)
    eager_state = eager_net.state_dict()
    for name, value in graph_net.state_dict().items():
        assert value.device.type == "cuda", name
        torch.testing.assert_close(value, eager_state[name], rtol=1e-3, atol=1e-4)


def _default_cfg(epochs: int = 13) -> TrainConfig:
    # The app's defaults (2 layers, dropout 0.2, AdamW, clipping at 1) with a fixed epoch count.
    return replace(TrainConfig(), device="cuda", epochs=epochs, patience=0)


def test_default_model_replays_a_graph_and_matches_eager(aapl):
    """The default model, trained by the forecaster: the graph is really used, and it trains
    to the same losses and forecasts as eager launches."""
    cfg = _default_cfg()
    assert (cfg.layers, cfg.dropout, cfg.optimizer) == (2, 0.2, "adamw") and cfg.clip_norm > 0
    spec = FeatureSpec()  # window 60: 400 bars give 288 training windows, 5 batches of 64
    graphed = RecurrentForecaster(spec, cfg)
    eager = RecurrentForecaster(spec, replace(cfg, cuda_graphs=False))
    rg = run(graphed.fit(aapl.iloc[:400]))[1]
    re_ = run(eager.fit(aapl.iloc[:400]))[1]
    assert rg.cuda_graphs is True, rg.message
    assert "capture failed" not in rg.message and rg.capture_seconds > 0
    assert re_.cuda_graphs is False
    np.testing.assert_allclose(rg.train_losses, re_.train_losses, rtol=LOSS_RTOL)
    np.testing.assert_allclose(rg.val_losses, re_.val_losses, rtol=LOSS_RTOL)
    ends = np.arange(300, 399)
    np.testing.assert_allclose(
        graphed.predict_target(aapl, ends), eager.predict_target(aapl, ends), atol=FORECAST_ATOL
    )


def test_a_short_warm_refit_runs_eagerly_without_a_capture(aapl):
    model = RecurrentForecaster(FeatureSpec(), _default_cfg(epochs=20))  # 4 batches x 20
    assert run(model.fit(aapl.iloc[:350]))[1].cuda_graphs is True
    refit = run(model.fit(aapl.iloc[:370], warm_start=True, epochs=1, recent=60))[1]
    assert refit.cuda_graphs is False and refit.capture_seconds == 0.0
    assert "capture" not in refit.message


def test_graphed_training_learns_with_a_remainder_batch():
    data = sine_set(n_train=250, n_val=40)  # 250 = 7 full batches of 32 + a short one of 26
    net = tiny_net(layers=2, dropout=0.1)
    _, result = run(train(net, data, tiny_cfg(device="cuda", layers=2, dropout=0.1, epochs=20)))
    assert result.cuda_graphs is True and result.stop_reason == "completed"
    assert result.train_losses[-1] < result.train_losses[0] / 5
    assert next(net.parameters()).device.type == "cuda"


def test_forecaster_on_gpu_saves_and_reloads_on_cpu(aapl, tmp_path):
    spec = FeatureSpec(window=10)
    model = RecurrentForecaster(spec, TrainConfig(hidden=8, layers=1, epochs=2, device="cuda"))
    _, result = run(model.fit(aapl.iloc[:300]))
    assert result.device.endswith("(cuda:0)")
    ends = np.arange(300, 399)
    on_gpu = model.predict_next(aapl, ends)
    model.save(tmp_path / "m")
    loaded = RecurrentForecaster.load(tmp_path / "m")
    assert loaded.device_name.startswith("CPU")
    np.testing.assert_allclose(loaded.predict_next(aapl, ends), on_gpu, rtol=1e-5)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_a_second_gpu_captures_and_replays_on_itself():
    """Training on cuda:1 while cuda:0 is current: graph on cuda:1, current device untouched."""
    torch.cuda.set_device(0)
    data = sine_set(n_train=256, n_val=64)
    start = tiny_net(layers=2, dropout=0.2)
    cfg = tiny_cfg(device="cuda:1", layers=2, dropout=0.2, epochs=8)
    graph_net, eager_net = copy.deepcopy(start), copy.deepcopy(start)
    _, graphed = run(train(graph_net, data, cfg))
    assert torch.cuda.current_device() == 0
    _, eager = run(train(eager_net, data, replace(cfg, cuda_graphs=False)))
    assert graphed.cuda_graphs is True and graphed.device.endswith("(cuda:1)")
    assert all(p.device == torch.device("cuda", 1) for p in graph_net.parameters())
    np.testing.assert_allclose(graphed.train_losses, eager.train_losses, rtol=LOSS_RTOL, atol=1e-6)

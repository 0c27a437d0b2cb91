"""The CUDA path (graph replay, data kept on the GPU); skipped on machines without one."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from stockapp.core.features import FeatureSpec
from stockapp.models.device import available_devices, describe_device, resolve_device
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig, device_tensors, train
from tests.models.conftest import run, sine_set, tiny_cfg, tiny_net

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA"),
]
GPU = "cuda:0"


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
    # 256 windows in batches of 32: no remainder, so both loops see the same batches.
    data = sine_set(n_train=256, n_val=64)
    start = tiny_net(kind)
    cfg = tiny_cfg(model=kind, device="cuda", epochs=4, optimizer=optimizer, weight_decay=1e-3)
    eager_net, graph_net = copy.deepcopy(start), copy.deepcopy(start)
    _, eager = run(train(eager_net, data, TrainConfig(**{**cfg.to_dict(), "cuda_graphs": False})))
    _, graphed = run(train(graph_net, data, cfg))
    assert graphed.cuda_graphs is True and eager.cuda_graphs is False
    assert "capture failed" not in graphed.message
    np.testing.assert_allclose(graphed.train_losses, eager.train_losses, rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(graphed.val_losses, eager.val_losses, rtol=2e-3, atol=1e-6)
    eager_state = eager_net.state_dict()
    for name, value in graph_net.state_dict().items():
        assert value.device.type == "cuda", name
        torch.testing.assert_close(value, eager_state[name], rtol=1e-3, atol=1e-4)


def test_graphed_training_learns_with_a_remainder_batch():
    data = sine_set(n_train=250, n_val=40)  # 250 = 7 full batches of 32 + 26 carried over
    net = tiny_net(layers=2, dropout=0.1)
    _, result = run(train(net, data, tiny_cfg(device="cuda", layers=2, dropout=0.1, epochs=20)))
    assert result.stop_reason == "completed"
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

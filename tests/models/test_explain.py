"""Inside the network: integrated gradients, gates by the cell equations, gradient flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stockapp.core.dataset import TrainingSet
from stockapp.core.progress import drain
from stockapp.core.scaling import Scaler
from stockapp.errors import ModelError
from stockapp.models.attribution import attribute
from stockapp.models.cell_states import SIGMOID, STATE_NAMES, cell_states
from stockapp.models.explain import KindsProgress, compare_kinds
from stockapp.models.gradient_flow import gradient_flow
from stockapp.models.networks import RecurrentNet
from stockapp.models.trainer import TrainConfig, train


def _net(kind: str, layers: int, n_features: int = 2, hidden: int = 5, seed: int = 3):
    return RecurrentNet(kind, n_features, hidden, layers, 0.3, torch.Generator().manual_seed(seed))


def _windows(n=4, w=7, f=2, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, w, f))


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
def test_cell_equations_reproduce_torch_every_layer(kind, layers):
    net = _net(kind, layers).double().eval()
    x = _windows()
    states = cell_states(net, x)
    assert len(states) == layers
    assert set(states[0]) == set(STATE_NAMES[kind])
    # torch's own modules, layer by layer (eval: no dropout between layers)
    inp = torch.as_tensor(x)
    with torch.no_grad():
        for k, layer in enumerate(net.rnn.children()):
            inp, _ = layer(inp)
            np.testing.assert_allclose(states[k]["hidden"], inp.numpy(), atol=1e-5, rtol=0)
        head = net.head(inp).squeeze(-1).numpy()
        np.testing.assert_allclose(head, net(torch.as_tensor(x)).numpy(), atol=1e-12)


def test_gates_in_their_ranges_and_the_cell_update_holds():
    net = _net("lstm", 2, hidden=8)
    x = _windows(n=3, w=12) * 3.0  # large inputs push gates towards their bounds
    for layer in cell_states(net, x):
        for name, v in layer.items():
            assert v.shape == (3, 12, 8)
            if name in SIGMOID:
                assert v.min() >= 0.0 and v.max() <= 1.0, name
            elif name != "cell":
                assert v.min() >= -1.0 and v.max() <= 1.0, name
        # c_t = f_t * c_{t-1} + i_t * g_t, h_t = o_t * tanh(c_t): checked by hand at one step
        c, f, i, g = layer["cell"], layer["forget"], layer["input"], layer["candidate"]
        np.testing.assert_allclose(c[:, 5], f[:, 5] * c[:, 4] + i[:, 5] * g[:, 5], atol=1e-12)
        np.testing.assert_allclose(layer["hidden"], layer["output"] * np.tanh(c), atol=1e-12)
    gru = cell_states(_net("gru", 1), _windows() * 3.0)[0]
    for name in ("reset", "update"):
        assert 0.0 <= gru[name].min() and gru[name].max() <= 1.0
    z, n, h = gru["update"], gru["candidate"], gru["hidden"]
    np.testing.assert_allclose(h[:, 3], (1 - z[:, 3]) * n[:, 3] + z[:, 3] * h[:, 2], atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_integrated_gradients_are_complete(kind):
    net = _net(kind, 2, hidden=12)
    x = _windows(n=1, w=20, seed=5)[0] * 2.0
    att = attribute(net, x, scale=0.02)
    with torch.no_grad():
        twin = net.double().eval()
        out = float(twin(torch.as_tensor(x)[None])[0, -1]) * 0.02
        base = float(twin(torch.zeros(1, 20, 2, dtype=torch.float64))[0, -1]) * 0.02
    assert att.output == pytest.approx(out, abs=1e-12)
    assert att.baseline_output == pytest.approx(base, abs=1e-12)
    diff = out - base
    assert abs(att.attribution.sum() - diff) <= 0.01 * abs(diff)
    assert att.completeness_error <= 0.01
    assert att.attribution.shape == att.gradient_x_input.shape == (20, 2)
    assert list(att.lags[[0, -1]]) == [20, 1]


def test_integrated_gradients_by_hand_for_a_one_unit_one_step_rnn():
    # f(x) = 2 tanh(0.7 x + 0.1) + 0.5: IG and gradient x input have closed forms.
    net = RecurrentNet("rnn", 1, 1, 1, 0.0, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p, v in zip(net.parameters(), [0.7, 0.0, 0.1, 0.0, 2.0, 0.5], strict=True):
            p.fill_(v)
    x = np.array([[1.3]])
    att = attribute(net, x, tolerance=1e-6, max_steps=1 << 16)
    # one input, so IG from 0 is exactly f(x) - f(0)
    expected = 2 * np.tanh(0.7 * 1.3 + 0.1) - 2 * np.tanh(0.1)
    assert att.attribution[0, 0] == pytest.approx(expected, rel=1e-6)
    # gradient x input by hand: 2 * 0.7 * (1 - tanh^2) * 1.3
    assert att.gradient_x_input[0, 0] == pytest.approx(
        2 * 0.7 * (1 - np.tanh(0.7 * 1.3 + 0.1) ** 2) * 1.3,
        rel=1e-6,  # weights are float32 values
    )


def test_attribute_refuses_a_window_of_the_wrong_shape():
    with pytest.raises(ModelError, match="feature"):
        attribute(_net("lstm", 1), np.zeros((5, 3)))


def _lag_task(k: int, n=512, w=8, seed=0) -> TrainingSet:
    """Targets that are the input ``k`` bars before the forecast bar, nothing else."""
    x = np.random.default_rng(seed).normal(size=(n, w, 1)).astype(np.float32)
    y = np.zeros((n, w), np.float32)
    y[:, -1] = x[:, w - k, 0]
    cut = n - 64
    ends = np.arange(n)
    scaler = Scaler(np.zeros(1), np.ones(1), 0.0, 1.0)
    return TrainingSet(x[:cut], y[:cut], x[cut:], y[cut:], scaler, ends[:cut], ends[cut:])


@pytest.mark.parametrize("k", [3, 6])
def test_gradient_flow_peaks_at_the_lag_the_target_depends_on(k):
    data = _lag_task(k)
    net = RecurrentNet("lstm", 1, 16, 1, 0.0, torch.Generator().manual_seed(0))
    cfg = TrainConfig(hidden=16, layers=1, epochs=15, batch_size=64, lr=1e-2, patience=0,
                      device="cpu", loss_on="last")  # fmt: skip
    drain(train(net, data, cfg))
    flow = gradient_flow(net, data.x_val, data.y_val)
    assert flow.shape == (8,)
    assert int(np.argmax(flow)) + 1 == k  # index 0 is lag 1


def test_gradient_flow_leaves_parameter_gradients_and_mode_alone():
    net = _net("gru", 1)
    net.train()
    flow = gradient_flow(net, _windows(), np.zeros(4))
    assert net.training
    assert all(p.grad is None for p in net.parameters())
    assert np.all(np.isfinite(flow)) and flow.shape == (7,)


def test_compare_kinds_records_every_epoch_and_can_be_cancelled(aapl):
    from stockapp.core.features import FeatureSpec

    spec = FeatureSpec(window=10)
    cfg = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=64, device="cpu")
    events: list[KindsProgress] = []
    result = drain(compare_kinds(aapl, spec, cfg, epochs=2), events.append)
    assert set(result.flows) == {"rnn", "gru", "lstm"}
    for kind in result.flows:
        assert result.epochs[kind].shape == (2, 10)
        np.testing.assert_array_equal(result.epochs[kind][-1], result.flows[kind])
    assert [e.kind for e in events if e.flow is not None] == ["rnn"] * 2 + ["gru"] * 2 + [
        "lstm"
    ] * 2
    # cancelled at the first epoch report: the job returns what it has, marked so
    stop = {"now": False}

    def flip(event: KindsProgress) -> None:
        if event.flow is not None:
            stop["now"] = True

    job = compare_kinds(aapl, spec, cfg, epochs=2, should_stop=lambda: stop["now"])
    cancelled = drain(job, flip)
    assert cancelled.cancelled
    assert cancelled.flows == {}

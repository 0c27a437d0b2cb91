"""Each recurrent kind really learns: a noiseless sine wave ends far below the mean's loss."""

from __future__ import annotations

import pytest
import torch

from stockapp.models.trainer import device_tensors, train, validation_loss
from tests.models.conftest import run, tiny_cfg, tiny_net


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_learns_a_sine_wave(kind, sine):
    net = tiny_net(kind)
    _, result = run(train(net, sine, tiny_cfg(model=kind, epochs=25)))
    _, _, x_val, y_val = device_tensors(sine, torch.device("cpu"))
    last = y_val[:, -1]
    mean_loss = float(((last - last.mean()) ** 2).mean())
    assert result.stop_reason == "completed"
    assert result.train_losses[-1] < result.train_losses[0] / 5
    assert validation_loss(net, x_val, y_val, "last") < mean_loss / 50

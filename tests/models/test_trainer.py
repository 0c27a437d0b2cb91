"""The training loop: seeding, early stopping, divergence, cancellation, progress pacing."""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from stockapp.errors import ModelError, TrainingDiverged
from stockapp.models.trainer import (
    REPORT_EVERY_S,
    TrainConfig,
    TrainResult,
    device_tensors,
    train,
    validation_loss,
)
from tests.models.conftest import run, sine_set, tiny_cfg, tiny_net

CPU = torch.device("cpu")


def test_same_seed_same_loss_history(sine):
    cfg = tiny_cfg(layers=2, dropout=0.2, epochs=4, seed=7)
    histories = []
    for _ in range(2):
        net = tiny_net(layers=2, dropout=0.2, seed=7)
        _, result = run(train(net, sine, cfg))
        histories.append((result.train_losses, result.val_losses))
    assert histories[0] == histories[1]
    net = tiny_net(layers=2, dropout=0.2, seed=7)
    _, other = run(train(net, sine, replace(cfg, seed=8)))
    assert other.train_losses != histories[0][0]


def test_early_stopping_restores_the_best_epoch(sine):
    # Validation targets are the negated sine: the better the fit, the worse the validation.
    data = replace(sine, y_val=-sine.y_val)
    net = tiny_net()
    _, result = run(train(net, data, tiny_cfg(epochs=30, patience=3)))
    assert result.stop_reason == "early_stopped"
    assert len(result.val_losses) == result.best_epoch + 3 < 30
    assert result.val_losses[-1] > result.best_loss
    assert result.message == (
        f"Stopped early at epoch {len(result.val_losses)}; restored the best weights from epoch "
        f"{result.best_epoch}."
    )
    _, _, x_val, y_val = device_tensors(data, CPU)
    loss_on = tiny_cfg().loss_on
    assert validation_loss(net, x_val, y_val, loss_on) == pytest.approx(result.best_loss, rel=1e-6)


def test_without_validation_windows_the_training_loss_decides(sine):
    data = replace(sine, x_val=sine.x_val[:0], y_val=sine.y_val[:0])
    _, result = run(train(tiny_net(), data, tiny_cfg(epochs=3)))
    assert result.val_losses == []
    assert result.best_loss == min(result.train_losses)
    assert "lowest training loss" in result.message


@pytest.mark.parametrize("loss_on", ["all", "last"])
def test_validation_loss_uses_the_training_steps(sine, loss_on):
    net = tiny_net()
    _, result = run(train(net, sine, tiny_cfg(epochs=2, loss_on=loss_on)))
    _, _, x_val, y_val = device_tensors(sine, CPU)
    assert result.val_losses[-1] == pytest.approx(validation_loss(net, x_val, y_val, loss_on))
    other = "last" if loss_on == "all" else "all"
    assert result.val_losses[-1] != pytest.approx(validation_loss(net, x_val, y_val, other))


def test_patience_running_out_at_the_last_epoch_is_completion(sine):
    data = replace(sine, y_val=-sine.y_val)  # validation only gets worse after epoch 1
    _, result = run(train(tiny_net(), data, tiny_cfg(epochs=4, patience=3)))
    assert result.best_epoch == 1 and result.stop_reason == "completed"


@pytest.mark.parametrize(("part", "bad"), [("y_train", np.inf), ("x_train", np.nan)])
def test_a_non_finite_loss_stops_with_a_sentence(sine, part, bad):
    values = getattr(sine, part).copy()
    values[5, -1] = bad  # the last step: counted by either loss
    data = replace(sine, **{part: values})
    with pytest.raises(TrainingDiverged) as err:
        run(train(tiny_net(), data, tiny_cfg()))
    assert re.fullmatch(
        r"The training loss became (NaN|infinite) at epoch 1; try a lower learning rate or "
        r"stronger gradient clipping\.",
        str(err.value),
    )


def test_a_huge_learning_rate_diverges(sine):
    data = replace(sine, x_train=sine.x_train * 1e30)
    with pytest.raises(TrainingDiverged, match="^The training loss became"):
        run(train(tiny_net(), data, tiny_cfg(lr=1e30, clip_norm=0.0)))


def test_cancel_from_another_thread_stops_fast_and_keeps_best(no_leaked_threads):
    data = sine_set(n_train=4096, n_val=64, window=24)
    net = tiny_net(hidden=24)
    stop = threading.Event()
    stopped_at: list[float] = []

    def cancel() -> None:
        stopped_at.append(time.monotonic())
        stop.set()

    timer = threading.Timer(0.3, cancel)
    gen = train(net, data, tiny_cfg(hidden=24, epochs=10_000, batch_size=16), stop.is_set)
    events, times = [], []
    try:
        while True:
            try:
                event = next(gen)
            except StopIteration as done:
                result: TrainResult = done.value
                break
            events.append(event)
            times.append(time.monotonic())
            if event.kind == "epoch" and event.epoch == 1:
                timer.start()
    finally:
        timer.cancel()
        timer.join()
    finished = time.monotonic()
    assert result.stop_reason == "cancelled"
    assert finished - stopped_at[0] < 1.0
    assert result.best_epoch >= 1
    assert result.message.startswith("Cancelled during epoch ")
    _, _, x_val, y_val = device_tensors(data, CPU)
    loss_on = tiny_cfg().loss_on
    assert validation_loss(net, x_val, y_val, loss_on) == pytest.approx(result.best_loss, rel=1e-6)
    # "batch" events are paced by wall time, not sent for every batch.
    batch_events = [i for i, e in enumerate(events) if e.kind == "batch"]
    assert batch_events, "an epoch of 256 batches should report progress within it"
    for i in batch_events:
        if i > 0:
            assert times[i] - times[i - 1] >= REPORT_EVERY_S * 0.9
    first = events[batch_events[0]]
    assert 1 <= first.batch < first.batches == 256
    assert first.samples_per_s > 0 and first.eta_s > 0 and first.device.startswith("CPU")


def test_cancel_before_the_first_epoch_says_so(sine):
    _, result = run(train(tiny_net(), sine, tiny_cfg(), lambda: True))
    assert result.stop_reason == "cancelled"
    assert result.best_epoch == 0 and result.train_losses == []
    assert "before any epoch finished" in result.message


def test_epoch_events_carry_losses(sine):
    events, result = run(train(tiny_net(), sine, tiny_cfg(epochs=3)))
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert [e.train_loss for e in epochs] == result.train_losses
    assert [e.val_loss for e in epochs] == result.val_losses
    assert epochs[-1].eta_s == 0 and len(result.epoch_seconds) == 3
    assert result.device.startswith("CPU") and result.cuda_graphs is False


def test_data_that_does_not_fit_the_network(sine):
    net = tiny_net()
    net2 = type(net)("lstm", 2, 8, 1, 0.0)
    with pytest.raises(ModelError, match="takes 2 feature"):
        run(train(net2, sine, tiny_cfg()))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("model", "transformer", "Unknown model type"),
        ("hidden", 0, "hidden size"),
        ("epochs", 2.5, "number of epochs"),
        ("dropout", 1.0, "dropout"),
        ("lr", -1.0, "learning rate"),
        ("lr", math.nan, "learning rate"),
        ("optimizer", "sgd", "Unknown optimizer"),
        ("loss_on", "first", "'all' steps"),
        ("val_fraction", 0.95, "validation fraction"),
        ("clip_norm", -1, "clipping"),
        ("patience", -1, "patience"),
    ],
)
def test_config_values_are_checked(field, value, words):
    with pytest.raises(ModelError, match=words):
        TrainConfig(**{field: value})


def test_config_round_trip_ignores_unknown_keys():
    cfg = TrainConfig(model="gru", hidden=8, loss_on="last", cuda_graphs=False)
    assert TrainConfig.from_dict({**cfg.to_dict(), "future_option": 1}) == cfg

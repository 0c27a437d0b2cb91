"""Before a long training gets far, it says how long an epoch will take (issue 21)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stockapp import cli
from stockapp.cli import backtest as cli_backtest
from stockapp.core.walkforward import BacktestProgress
from stockapp.errors import StockappError
from stockapp.models import trainer
from stockapp.models.trainer import EpochEstimate, TrainProgress, duration_text, train

from .conftest import run, sine_set, tiny_cfg, tiny_net


def _estimates(events: list) -> list[EpochEstimate]:
    return [e for e in events if isinstance(e, EpochEstimate)]


def test_a_fit_yields_one_estimate_from_its_first_batches_before_the_first_epoch(monkeypatch):
    monkeypatch.setattr(trainer, "ESTIMATE_MIN_S", math.inf)  # time exactly ESTIMATE_BATCHES
    data = sine_set(n_train=400, n_val=100)
    events, result = run(train(tiny_net(), data, tiny_cfg(epochs=3, batch_size=16)))
    (estimate,) = _estimates(events)
    first_epoch = next(i for i, e in enumerate(events) if getattr(e, "kind", "") == "epoch")
    assert events.index(estimate) < first_epoch
    assert estimate.timed == trainer.ESTIMATE_BATCHES
    assert (estimate.batches, estimate.windows, estimate.epochs) == (25, 400, 3)
    assert estimate.batch_s > 0 and estimate.validation_s > 0
    assert estimate.epoch_s == pytest.approx(25 * estimate.batch_s + estimate.validation_s)
    assert estimate.sentence().startswith("One epoch of 400 training windows will take about ")
    assert "(25 batches at " in estimate.sentence() and "timed on 8)" in estimate.sentence()
    assert len(result.train_losses) == 3


def test_timing_the_first_batches_changes_nothing(monkeypatch):
    data = sine_set(n_train=400, n_val=100)
    cfg = tiny_cfg(epochs=2, batch_size=16, dropout=0.0)
    net_a, net_b = tiny_net(seed=3), tiny_net(seed=3)
    events, timed = run(train(net_a, data, cfg))
    assert _estimates(events)
    monkeypatch.setattr(trainer, "ESTIMATE_BATCHES", 10**9)
    monkeypatch.setattr(trainer, "ESTIMATE_MIN_S", math.inf)
    events, untimed = run(train(net_b, data, cfg))
    assert not _estimates(events)
    assert timed.train_losses == untimed.train_losses
    assert timed.val_losses == untimed.val_losses
    for a, b in zip(net_a.parameters(), net_b.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_an_epoch_too_short_to_time_gets_no_estimate():
    events, _ = run(train(tiny_net(), sine_set(n_train=40, n_val=8), tiny_cfg(batch_size=32)))
    assert not _estimates(events)  # two batches: the epoch is over before it could be timed


def test_the_sentence_by_hand():
    estimate = EpochEstimate(
        epochs=20, batches=12_500, windows=799_959, batch_s=0.0199, timed=8, validation_s=12.5,
        device="CPU (2 threads)",
    )  # fmt: skip
    assert estimate.epoch_s == pytest.approx(261.25)
    assert estimate.sentence() == (
        "One epoch of 799,959 training windows will take about 4 min 21 s (12,500 batches at "
        "19.9 ms plus validation on CPU (2 threads), timed on 8); 20 epochs at most: about "
        "1 h 27 min."
    )
    one = EpochEstimate(1, 40, 2_560, 0.01, 8, 0.0, "CPU")
    assert one.sentence() == (
        "One epoch of 2,560 training windows will take about 0.4 s (40 batches at 10.0 ms on "
        "CPU, timed on 8)."
    )
    assert [duration_text(s) for s in (0.42, 12.4, 59.6, 250, 3599, 5025)] == [
        "0.4 s", "12 s", "60 s", "4 min 10 s", "59 min 59 s", "1 h 24 min",
    ]  # fmt: skip


def test_the_cli_prints_the_first_fits_estimate_not_the_refits(monkeypatch, capsys):
    estimate = EpochEstimate(1, 400, 25_600, 0.02, 8, 0.0, "CPU")
    assert cli_backtest._progress_line(estimate) == f"  {estimate.sentence()}"
    fit = TrainProgress("epoch", 1, 1, 4, 4, 0.5, None, 1, 100.0, 1.0, 0.0, "CPU")
    events = [
        BacktestProgress(1, 2, pd.Timestamp("2020-01-01"), False),
        estimate,
        fit,
        BacktestProgress(2, 2, pd.Timestamp("2020-02-03"), True),
        estimate,
    ]

    def backtest(*args, **kwargs):
        yield from events
        raise StockappError("stopped after the events")

    monkeypatch.setattr("stockapp.models.runner.run_backtest", backtest)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)  # progress goes to terminals only
    assert cli.main(["backtest", "--sample", "AAPL", "--out", "unused"]) == 2
    printed = capsys.readouterr().err.splitlines()
    assert printed.count(f"  {estimate.sentence()}") == 1
    assert printed.index(f"  {estimate.sentence()}") == 1  # after "fit 1/2 ...", before epoch 1

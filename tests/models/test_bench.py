"""The training benchmark compares like with like: its plain loop does exactly the app's work."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from stockapp.models.trainer import TrainConfig

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_train.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plain_loop_and_app_compute_the_same_losses():
    bench = _bench()
    data = bench.standard_data(300)
    assert data.x_train.shape == (300, 60, 1) and data.x_val.shape[0] == 0
    cfg = TrainConfig(
        hidden=8, layers=1, dropout=0.0, optimizer="adam", weight_decay=0.0, epochs=3,
        patience=0, val_fraction=0.0, device="cpu",
    )  # fmt: skip
    app = list(bench.app_loop(data, cfg, []))
    plain = list(bench.plain_loop(data, cfg, torch.device("cpu")))
    assert len(app) == 3
    assert app == plain


def test_standard_workload_has_the_documented_size():
    assert len(_bench().standard_data(None).x_train) == 2642


def test_the_global_workload_is_the_six_samples_with_their_identity():
    data = _bench().global_six_data()
    assert data.x_train.shape == (13007, 60, 7)
    hot = data.x_train[:, 0, 1:]
    assert (hot.sum(axis=1) == 1).all() and (hot.sum(axis=0) > 1000).all()

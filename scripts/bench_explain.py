"""What the Inside tab's per-epoch gradient flow costs next to an epoch, and what an explanation
costs, for the default model on a bundled sample (CPU by default).

    python scripts/bench_explain.py [--sample AAPL] [--epochs 3] [--device cpu]

The per-epoch curve is one batched backward over a fixed batch of
:data:`stockapp.models.gradient_flow.EPOCH_FLOW_WINDOWS` windows; the issue asks that it keep an
epoch within 1.05x of its time. Prints the median epoch time, the median flow time and their ratio.
Measured on 2 shared CPU cores with 128 windows: epoch 12.8 s, flow 0.39 s, 1.031x (512 windows:
1.099x). The batch is now 64 windows, because on ``scripts/bench_train.py --flow``'s standard
workload (no validation, one thread) 128 cost 1.065x; there 64 cost 1.023x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    from stockapp.core.dataset import training_set
    from stockapp.core.features import FeatureSpec
    from stockapp.data import load_sample
    from stockapp.models.explain import explain_forecast
    from stockapp.models.forecaster import RecurrentForecaster
    from stockapp.models.gradient_flow import EPOCH_FLOW_WINDOWS, gradient_flow
    from stockapp.models.networks import RecurrentNet
    from stockapp.models.trainer import TrainConfig, train

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sample", default="AAPL")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    import torch

    prices = load_sample(args.sample).prices(True)
    past = prices.iloc[: int(len(prices) * 0.8)]
    spec = FeatureSpec()
    cfg = TrainConfig(epochs=args.epochs, patience=0, device=args.device)
    data = training_set(past, spec, cfg.val_fraction)
    net = RecurrentNet(cfg.model, spec.n_features, cfg.hidden, cfg.layers, cfg.dropout,
                       torch.Generator().manual_seed(0))  # fmt: skip
    xb, yb = data.x_train[-EPOCH_FLOW_WINDOWS:], data.y_train[-EPOCH_FLOW_WINDOWS:]
    flow_s: list[float] = []
    job = train(net, data, cfg)
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            result = stop.value
            break
        if event.kind == "epoch":
            t0 = time.perf_counter()
            gradient_flow(net, xb, yb)
            flow_s.append(time.perf_counter() - t0)
    epoch = statistics.median(result.epoch_seconds)
    flow = statistics.median(flow_s)
    print(f"epoch {epoch:.3f} s, flow {flow:.3f} s: {1 + flow / epoch:.3f}x an epoch")

    model = RecurrentForecaster(spec, TrainConfig(epochs=1, device=args.device))
    for _ in model.fit(past):
        pass
    t0 = time.perf_counter()
    ex = explain_forecast(model, prices, len(past) + 10)
    print(f"explanation {time.perf_counter() - t0:.3f} s ({ex.attribution.steps} IG steps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

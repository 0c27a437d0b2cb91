"""Time a backtest without refits against one with refits every 20 bars, and the forecast pass.

    python scripts/bench_backtest.py [--sample AAPL] [--epochs 20] [--refit-every 20] [--threads 1]

Prints JSON: the seconds of a train-once backtest (one training of the standard model, fixed
epochs, no early stopping), of the same backtest refitting every K bars with warm starts, their
ratio (target: <= 3), and the milliseconds of forecasting a 1,000-bar span in one batched pass.
Each warm refit trains one epoch on the windows of the newest ``refit_bars`` (250) bars plus an
equal-size sample of the older ones (expanding), so ~500 windows; ``*_cpu_s`` are this
process's CPU seconds, steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_sample
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default="AAPL")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--refit-every", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args()
    if args.threads:  # on a shared machine, 1 keeps torch's threads from spinning
        torch.set_num_threads(args.threads)
    series = load_sample(args.sample)
    spec = FeatureSpec(window=60, features=("log_return",))
    # patience 0: a fixed number of epochs, so the two runs do comparable work.
    cfg = TrainConfig(
        model="lstm",
        hidden=64,
        layers=2,
        epochs=args.epochs,
        batch_size=64,
        patience=0,
        device=args.device,
    )
    times, cpu, outcomes = {}, {}, {}
    for name, refit in (("train_once", 0), ("refit", args.refit_every)):
        started, started_cpu = time.perf_counter(), time.process_time()
        outcomes[name] = drain(run_backtest(series, spec, cfg, BacktestSettings(refit_every=refit)))
        times[name] = time.perf_counter() - started
        cpu[name] = time.process_time() - started_cpu

    forecaster: RecurrentForecaster = outcomes["train_once"].forecaster
    prices = series.prices(spec.adjusted)
    ends = np.arange(len(prices) - 1001, len(prices) - 1)
    forecaster.predict_next(prices, ends)  # warm-up
    reps = []
    for _ in range(5):
        t = time.perf_counter()
        forecaster.predict_next(prices, ends)
        reps.append(time.perf_counter() - t)

    refit_result = outcomes["refit"].result
    print(
        json.dumps(
            {
                "sample": args.sample,
                "test_bars": refit_result.n,
                "refits": len(refit_result.fits) - 1,
                "epochs": args.epochs,
                "train_once_s": round(times["train_once"], 2),
                "refit_every": args.refit_every,
                "refit_s": round(times["refit"], 2),
                "ratio": round(times["refit"] / times["train_once"], 3),
                "train_once_cpu_s": round(cpu["train_once"], 2),
                "refit_cpu_s": round(cpu["refit"], 2),
                "cpu_ratio": round(cpu["refit"] / cpu["train_once"], 3),
                "target_ratio": 3.0,
                "first_fit_cuda_graphs": refit_result.fits[0].cuda_graphs,
                "refits_cuda_graphs": sum(f.cuda_graphs for f in refit_result.fits[1:]),
                "forecast_1000_bars_ms": round(1000 * float(np.median(reps)), 2),
                "device": refit_result.fits[0].device,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark the sweep engines: the same 8 small runs one after another, on local worker
processes, and on a local Ray; prints runs/minute for each and the ratios.

    .venv/bin/python scripts/bench_sweep.py [--workers N] [--no-ray]

The 8 runs: GRU 16 units (1 layer), window 20, 3 epochs, seeds 0-3, on the AAPL and MSFT samples (a
selection span and a test span of 20% each). Each engine writes into a fresh temporary folder,
so nothing is skipped. The sequential loop is timed with torch's default threads and with one
thread (what each worker of the local engine gets on 2 cores with 2 workers).
Targets on 2 cores: local >= 1.5x sequential; Ray within 1.3x of local.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.data import load_sample
from stockapp.models.sweep import SweepRequest, available_cores, run_sweep
from stockapp.models.trainer import TrainConfig


def _time(engine: str, series, request: SweepRequest, workers: int | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outcome = drain(run_sweep(series, request, Path(tmp), engine=engine, workers=workers))
        seconds = time.perf_counter() - started
    bad = [r for r in outcome.rows if r["status"] != "ok"]
    if bad or len(outcome.rows) != 8:
        raise SystemExit(f"{engine}: {len(bad)} runs failed: {bad[:1]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    series = [load_sample("AAPL"), load_sample("MSFT")]
    request = SweepRequest(
        grid={"model": ["gru"], "hidden": [16], "window": [20]},
        seeds=(0, 1, 2, 3),
        spec=FeatureSpec(window=20),
        train=TrainConfig(epochs=3, layers=1, device="cpu"),
    )
    print(f"8 runs, {available_cores()} cores, {args.workers} workers")
    results = {}
    default_threads = torch.get_num_threads()
    runs = [
        ("inline", f"sequential, {default_threads} threads", default_threads),
        ("inline", "sequential, 1 thread", 1),
        ("local", f"local engine, {args.workers} workers", None),
        ("ray", "ray (local)", None),
    ]
    for engine, name, threads in runs:
        if engine == "ray" and args.no_ray:
            continue
        if threads is not None:
            torch.set_num_threads(threads)
        seconds = _time(engine, series, request, None if engine == "inline" else args.workers)
        results[name] = 8 / seconds * 60
        print(f"{name:28} {seconds:7.1f} s  {results[name]:6.1f} runs/min", flush=True)
    torch.set_num_threads(default_threads)
    local = results[runs[2][1]]
    for name, _ in ((runs[0][1], 0), (runs[1][1], 1)):
        print(f"local / {name}: {local / results[name]:.2f}x")
    if runs[3][1] in results:
        print(f"ray / local: {results[runs[3][1]] / local:.2f}x")


if __name__ == "__main__":
    main()

"""Training speed: the app's ``train`` against a minimal plain PyTorch loop doing the same work.

The standard workload: the bundled AAPL sample (unadjusted Close), trained on its first 80% of
bars; windows of 60 bars of one feature (log return); an LSTM of 2 x 64 units; batches of 64;
Adam; MSE with gradient-norm clipping at 1; no validation windows, so both loops see the same
~2,642 windows. Both use the same network class, start from the same seeded weights and keep
their tensors on the device, and they run interleaved in one process (alternating which goes
first in turn) epoch by epoch, so that both see the same load on a shared machine; each epoch
is timed from outside in the same way, the first epoch of every run is a warm-up and is
dropped, and the report gives the medians of the epoch times and of the paired ratios.

``--flow`` also times the app recording the gradient through time after every epoch (the
forecaster's ``on_epoch`` hook: one backward over a fixed batch of 64 windows) against the app
without it, interleaved (``flow_vs_app_ratio``), and the hook's own seconds against the rest of
the same epochs (``flow_overhead``, the steadiest on a shared machine); issue 13 allows 1.05x.
Measured (2 shared cores, load ~6, 1 thread): flow_overhead 1.023, wall ratio 1.016.

``--global-six`` times issue 24's global workload instead: one network across the six bundled
samples (each's first 80% of bars, scaled on its own, the one-hot series identity as six more
inputs: 7 inputs a bar, 13,007 windows) against the standard workload, interleaved; the report
gives each epoch's seconds per window and their ratio (``global_per_window_ratio``; issue 24
allows 1.1).

On CUDA the app is timed twice, eagerly and replaying each step from a CUDA graph, both against
the plain eager loop. ``--windows N`` tiles the windows to N (e.g. 5000) for a GPU-sized epoch.

    python scripts/bench_train.py --device cpu --epochs 4 --repeats 3 [--threads 1]

On a machine shared with other work, ``--threads 1`` avoids torch's worker threads spinning
against other processes, which otherwise swamps the comparison with noise; the CPU seconds
(``*_cpu_s``) of this process are reported next to the wall seconds for the same reason.
    python scripts/bench_train.py --device cuda --windows 5000 --epochs 6 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from torch.nn.utils import clip_grad_norm_

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stockapp.core.dataset import TrainingSet, training_set  # noqa: E402
from stockapp.core.features import FeatureSpec  # noqa: E402
from stockapp.data.samples import samples_dir  # noqa: E402
from stockapp.models.device import describe_device, resolve_device  # noqa: E402
from stockapp.models.global_model import with_identity  # noqa: E402
from stockapp.models.gradient_flow import epoch_flow_recorder  # noqa: E402
from stockapp.models.networks import RecurrentNet  # noqa: E402
from stockapp.models.trainer import TrainConfig, device_tensors, train  # noqa: E402


def standard_data(windows: int | None) -> TrainingSet:
    """The AAPL 80% training windows, tiled to ``windows`` if given."""
    csv = samples_dir() / "AAPL.csv"
    prices = pd.read_csv(csv, parse_dates=["Date"], index_col="Date")
    prices = prices[["Open", "High", "Low", "Close", "Volume"]]
    train_rows = prices.iloc[: int(len(prices) * 0.8)]
    data = training_set(train_rows, FeatureSpec(window=60, features=("log_return",)), 0.0)
    if windows:
        reps = -(-windows // len(data.x_train))
        data = replace(
            data,
            x_train=np.concatenate([data.x_train] * reps)[:windows],
            y_train=np.concatenate([data.y_train] * reps)[:windows],
        )
    return data


def global_six_data() -> TrainingSet:
    """The six bundled samples' first 80% of bars each (unadjusted Close), each scaled on its
    own, with the one-hot series identity appended (a global model's inputs), all in one
    training set."""
    xs, ys = [], []
    names = sorted(p.stem for p in samples_dir().glob("*.csv"))
    for k, name in enumerate(names):
        prices = pd.read_csv(samples_dir() / f"{name}.csv", parse_dates=["Date"], index_col="Date")
        train_rows = prices[["Close"]].iloc[: int(len(prices) * 0.8)]
        part = training_set(train_rows, FeatureSpec(window=60, features=("log_return",)), 0.0)
        xs.append(with_identity(part.x_train, k, len(names)))
        ys.append(part.y_train)
    x, y = np.concatenate(xs), np.concatenate(ys)
    empty = np.empty((0, *x.shape[1:]), np.float32)
    return TrainingSet(x, y, empty, np.empty((0, y.shape[1]), np.float32), part.scaler,
                       np.arange(len(x)), np.empty(0, np.int64))  # fmt: skip


def new_net(cfg: TrainConfig, n_features: int = 1) -> RecurrentNet:
    gen = torch.Generator().manual_seed(cfg.seed)
    return RecurrentNet(
        cfg.model, n_features, cfg.hidden, cfg.layers, cfg.dropout, generator=gen, head=cfg.head
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(data: TrainingSet, cfg: TrainConfig, device: torch.device) -> Iterator[float]:
    """The reference: the simplest correct loop a PyTorch user would write.

    Yields each epoch's mean batch loss, read once per epoch (a device sync), as the app does.
    """
    net = new_net(replace(cfg, head="point")).to(device).train()  # the reference is MSE
    x, y, _, _ = device_tensors(data, device)
    params = list(net.parameters())
    extra = {"foreach": True} if device.type == "cuda" else {}
    opt = torch.optim.Adam(params, lr=cfg.lr, **extra)
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu")
    gen.manual_seed(cfg.seed)
    last = cfg.loss_on == "last"
    for _ in range(cfg.epochs):
        perm = torch.randperm(x.shape[0], generator=gen, device=gen.device).to(device)
        total = torch.zeros((), device=device)
        batches = perm.split(cfg.batch_size)
        for idx in batches:
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            pred = net(xb)
            loss = F.mse_loss(pred[:, -1], yb[:, -1]) if last else F.mse_loss(pred, yb)
            loss.backward()
            clip_grad_norm_(params, cfg.clip_norm)
            opt.step()
            total += loss.detach()
        yield total.item() / len(batches)


def app_loop(
    data: TrainingSet,
    cfg: TrainConfig,
    replayed: list[bool],
    capture_s: list[float] | None = None,
    flow_s: list[float] | None = None,
) -> Iterator[float]:
    """The app's ``train``, advanced one epoch per step; yields each epoch's training loss.

    Appends whether the step was replayed from a CUDA graph to ``replayed``, the seconds
    the capture took (in the first epoch's time) to ``capture_s``, and with ``flow_s`` the
    seconds of each epoch's gradient-flow hook, which is then called.
    """
    hook = None
    if flow_s is not None:  # record the gradient flow after each epoch, timing the hook itself
        record = epoch_flow_recorder(data.x_train, data.y_train, [])

        def hook(net: torch.nn.Module, epoch: int) -> None:
            start = time.perf_counter()
            record(net, epoch)
            sync(next(net.parameters()).device)
            flow_s.append(time.perf_counter() - start)

    gen = train(new_net(cfg, data.x_train.shape[2]), data, cfg, on_epoch=hook)
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            replayed.append(done.value.cuda_graphs)
            if capture_s is not None:
                capture_s.append(done.value.capture_seconds)
            return
        if event.kind == "epoch":
            yield event.train_loss


def timed_epochs(
    loops: dict[str, Iterator[float]], order: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Advance the loops epoch by epoch in turn, timing each epoch from outside the same way.

    Returns wall seconds and CPU seconds of this process (steadier on a shared machine).
    """
    seconds: dict[str, list[float]] = {name: [] for name in loops}
    cpu: dict[str, list[float]] = {name: [] for name in loops}
    while True:
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            if next(loops[name], StopIteration) is StopIteration:
                return seconds, cpu
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
        order = order[::-1]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | mps | auto")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (first dropped)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each loop")
    parser.add_argument("--windows", type=int, default=None, help="tile the windows to N")
    parser.add_argument("--loss-on", choices=["all", "last"], default=TrainConfig.loss_on)
    parser.add_argument("--no-graphs", action="store_true", help="skip the CUDA-graph app runs")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--head",
        choices=["point", "gaussian", "student-t"],
        default="point",
        help="the app's output head; a distribution head is also timed against the point head",
    )
    parser.add_argument(
        "--flow", action="store_true", help="also time the per-epoch gradient-flow hook"
    )
    parser.add_argument(
        "--global-six",
        action="store_true",
        help="time one network across the six samples against the standard workload, per window",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    data = standard_data(args.windows)
    # The standard workload pins Adam, no dropout and no weight decay whatever the app defaults.
    cfg = TrainConfig(
        model="lstm", hidden=64, layers=2, dropout=0.0, batch_size=64, optimizer="adam",
        lr=1e-3, weight_decay=0.0, epochs=args.epochs, patience=0, val_fraction=0.0,
        device=str(device), loss_on=args.loss_on, cuda_graphs=False, head=args.head,
    )  # fmt: skip
    if args.global_six:
        return global_report(data, cfg, args.repeats)
    with_point = args.head != "point"  # also time the app's point head, interleaved
    use_graphs = device.type == "cuda" and not args.no_graphs
    keep = slice(1, None) if args.epochs > 1 else slice(None)
    names = ("app", "plain", "graph", "point", "flow")
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu_times: dict[str, list[float]] = {name: [] for name in names}
    replayed: list[bool] = []
    capture_s: list[float] = []
    hook_s: list[float] = []
    for r in range(args.repeats):
        loops = {"app": app_loop(data, cfg, []), "plain": plain_loop(data, cfg, device)}
        if with_point:
            loops["point"] = app_loop(data, replace(cfg, head="point"), [])
        if args.flow:
            run_hooks: list[float] = []
            loops["flow"] = app_loop(data, cfg, [], flow_s=run_hooks)
        if use_graphs:
            loops["graph"] = app_loop(data, replace(cfg, cuda_graphs=True), replayed, capture_s)
        order = list(loops) if r % 2 == 0 else list(loops)[::-1]
        wall, cpu = timed_epochs(loops, order)
        for name in loops:
            times[name] += wall[name][keep]
            cpu_times[name] += cpu[name][keep]
        if args.flow:
            hook_s += run_hooks[keep]
    pairs = [a / p for a, p in zip(times["app"], times["plain"], strict=True)]
    app, plain = statistics.median(times["app"]), statistics.median(times["plain"])
    report = {
        "device": describe_device(device),
        "windows": int(len(data.x_train)),
        "batch_size": cfg.batch_size,
        "loss_on": cfg.loss_on,
        "head": cfg.head,
        "epochs_timed": len(times["plain"]),
        "app_epoch_s": round(app, 4),
        "plain_epoch_s": round(plain, 4),
        "ratio": round(app / plain, 4),
        "paired_ratio_median": round(statistics.median(pairs), 4),
        "app_epoch_cpu_s": round(statistics.median(cpu_times["app"]), 4),
        "plain_epoch_cpu_s": round(statistics.median(cpu_times["plain"]), 4),
    }
    report["cpu_ratio"] = round(report["app_epoch_cpu_s"] / report["plain_epoch_cpu_s"], 4)
    if with_point:  # the distribution head's training cost against the point head's
        point = statistics.median(times["point"])
        head_pairs = [a / p for a, p in zip(times["app"], times["point"], strict=True)]
        report.update(
            point_epoch_s=round(point, 4),
            head_vs_point_ratio=round(app / point, 4),
            head_vs_point_paired_median=round(statistics.median(head_pairs), 4),
            head_vs_point_cpu_ratio=round(
                statistics.median(cpu_times["app"]) / statistics.median(cpu_times["point"]), 4
            ),
        )
    if args.flow:  # the per-epoch gradient flow's cost against the same app without it
        flow_pairs = [f / a for f, a in zip(times["flow"], times["app"], strict=True)]
        # The hook's own seconds against the rest of the same epochs: steadier than comparing two
        # trainings on a shared machine, because both parts of an epoch see the same load.
        rest = [t - h for t, h in zip(times["flow"], hook_s, strict=True)]
        report.update(
            flow_hook_s=round(statistics.median(hook_s), 4),
            flow_overhead=round(1 + statistics.median(hook_s) / statistics.median(rest), 4),
            flow_epoch_s=round(statistics.median(times["flow"]), 4),
            flow_vs_app_ratio=round(statistics.median(times["flow"]) / app, 4),
            flow_vs_app_paired_median=round(statistics.median(flow_pairs), 4),
            flow_vs_app_cpu_ratio=round(
                statistics.median(cpu_times["flow"]) / statistics.median(cpu_times["app"]), 4
            ),
        )
    if use_graphs:
        graph = statistics.median(times["graph"])
        report.update(
            app_graph_epoch_s=round(graph, 4),
            graph_ratio=round(graph / plain, 4),
            graph_speedup_vs_plain=round(plain / graph, 2),
            cuda_graphs_replayed=all(replayed) and bool(replayed),
            # warm-up steps + capture, once per training (steps.GRAPH_MIN_STEPS is set from it)
            capture_s=round(statistics.median(capture_s), 4) if capture_s else None,
        )
    report.update(
        torch=torch.__version__, threads=torch.get_num_threads(), python=platform.python_version()
    )
    print(json.dumps(report, indent=2))
    return report


def global_report(data: TrainingSet, cfg: TrainConfig, repeats: int) -> dict:
    """Seconds per window of an epoch of the global six-sample workload against the standard
    one, the app's ``train`` for both, interleaved (see the module)."""
    six = global_six_data()
    keep = slice(1, None) if cfg.epochs > 1 else slice(None)
    per: dict[str, list[float]] = {"standard": [], "global": []}
    cpu_per: dict[str, list[float]] = {"standard": [], "global": []}
    sizes = {"standard": len(data.x_train), "global": len(six.x_train)}
    for r in range(repeats):
        loops = {"standard": app_loop(data, cfg, []), "global": app_loop(six, cfg, [])}
        order = list(loops) if r % 2 == 0 else list(loops)[::-1]
        wall, cpu = timed_epochs(loops, order)
        for name in loops:
            per[name] += [t / sizes[name] for t in wall[name][keep]]
            cpu_per[name] += [t / sizes[name] for t in cpu[name][keep]]
    med = {k: statistics.median(v) for k, v in per.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu_per.items()}
    report = {
        "device": describe_device(resolve_device(cfg.device)),
        "standard_windows": sizes["standard"],
        "global_windows": sizes["global"],
        "global_inputs": int(six.x_train.shape[2]),
        "standard_ms_per_window": round(med["standard"] * 1e3, 4),
        "global_ms_per_window": round(med["global"] * 1e3, 4),
        "global_per_window_ratio": round(med["global"] / med["standard"], 4),
        "global_per_window_cpu_ratio": round(cpu_med["global"] / cpu_med["standard"], 4),
        "epochs_timed": len(per["global"]),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()

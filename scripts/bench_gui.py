"""How responsive is the window while it works? Gaps between ticks of a 10 ms GUI timer.

Starts the real app offscreen on the bundled AAPL sample and, for each scenario, does what a
person's click does, through the window's own controllers:

- ``train``: trains the standard workload (LSTM, hidden 64 x 2 layers, window 60, batch 64, the
  log_return feature, on the CPU), as pressing Train does;
- ``backtest``: a walk-forward backtest of the same model that refits every ``--refit-every``
  bars (one warm-started epoch each), as pressing Run backtest does;
- ``sweep``: a small experiment (2 runs of 1 epoch) on the local engine, as the Experiments
  page's Run does (skipped when ``stockapp.models.sweep`` is missing);
- ``open``: opens a saved backtest run (saved once before, not timed), as the Runs list does.

Meanwhile a 10 ms ``QTimer`` on the GUI thread records when it actually fires; a gap much longer
than 10 ms is a moment the window could not repaint or react to the mouse. Each scenario runs
``--runs`` times (default 5). The output is a Markdown table for the README, per scenario the
median and the worst of the runs' worst gaps and of their p99, followed by one JSON line per run
(``--json`` prints only those). The ``train`` rows also give the training throughput from the
window beside that of the same fit run headless (as the CLI runs it, every core).

The target is a median worst gap of at most 50 ms and a median p99 of at most 20 ms per
scenario (exit status 1 when one is missed). The same timer is first watched for ``--idle-s``
seconds with nothing running: on a machine whose cores are busy with other programs, that idle
baseline already shows how late the OS wakes the GUI thread, which no code in the app can
improve. ``--trace`` adds the worst gaps with the progress event that came before each.
Settings are kept in a temporary folder, never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from stockapp.core.features import FeatureSpec  # noqa: E402
from stockapp.core.progress import drain  # noqa: E402
from stockapp.core.walkforward import BacktestSettings  # noqa: E402
from stockapp.data.samples import load_sample  # noqa: E402
from stockapp.gui.app import create_main_window  # noqa: E402
from stockapp.gui.backtest.adapter import BacktestController  # noqa: E402
from stockapp.gui.training.adapter import TrainingController  # noqa: E402
from stockapp.models.forecaster import RecurrentForecaster  # noqa: E402
from stockapp.models.trainer import TrainConfig  # noqa: E402

TARGET_WORST_MS = 50.0
TARGET_P99_MS = 20.0
SCENARIOS = ("train", "backtest", "sweep", "open")


def _last_event(events: list[tuple[float, str]], when: float) -> str:
    """The progress event delivered last before ``when``, with how long before."""
    before = [(t, what) for t, what in events if t <= when]
    if not before:
        return "start"
    t, what = before[-1]
    return f"{what} {1000 * (when - t):.0f} ms earlier"


def _event_name(p: object) -> str:
    return str(getattr(p, "kind", type(p).__name__))


class Bench:
    """One window, its controllers and the workload, measured scenario by scenario."""

    def __init__(self, args: argparse.Namespace, home: Path) -> None:
        self.args = args
        self.home = home
        self.window = create_main_window(sample=args.ticker, quiet=True)
        self.app = QApplication.instance()
        self.window.resize(1280, 800)
        self.window.show()
        if self.window.series is None:
            self.window.set_series(load_sample(args.ticker))
        self.training = self.window.findChild(TrainingController)
        self.backtest = self.window.findChild(BacktestController)
        self.spec = FeatureSpec(window=args.window, features=("log_return",))
        self.cfg = replace(
            TrainConfig(),
            model=args.model,
            hidden=args.hidden,
            layers=args.layers,
            epochs=args.epochs,
            batch_size=args.batch,
            device=args.device,
            patience=0,  # run every epoch: the workload must not depend on the validation curve
        )
        self.training.panel.set_values(self.spec, self.cfg)
        self.training.panel.all_cores_box.setChecked(args.all_cores)
        self.saved_run: Path | None = None

    # ------------------------------------------------------------- measuring
    def measure(
        self,
        start: Callable[[], object | None],
        finished: object | None,
        hold_s: float = 0.5,
    ) -> dict:
        """Ticks of the timer while ``start()`` runs a job, until ``finished`` (a signal) fires
        or, for work done on the GUI thread itself, ``hold_s`` after ``start()`` returned."""
        ticks: list[float] = []
        events: list[tuple[float, str]] = []
        marks: dict = {}
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(self.args.interval_ms)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))

        def ended(*outcome: object) -> None:
            if "t1" in marks:
                return
            if outcome and outcome[0] is None:  # a backtest or sweep that failed or stopped
                marks["failed"] = True
            marks["t1"] = time.perf_counter()
            timer.stop()
            QTimer.singleShot(0, self.app.quit)

        def begin() -> None:
            marks["t0"] = time.perf_counter()
            worker = start()
            if worker is False:
                marks["failed"] = True
                ended()
                return
            if hasattr(worker, "progress"):
                worker.progress.connect(
                    lambda p: events.append((time.perf_counter(), _event_name(p)))
                )
                worker.done.connect(lambda: events.append((time.perf_counter(), "result")))
            if finished is None:
                QTimer.singleShot(int(hold_s * 1000), ended)

        def begin_idle() -> None:
            timer.start()
            ticks.append(time.perf_counter())
            QTimer.singleShot(int(self.args.idle_s * 1000), begin)

        if finished is not None:
            finished.connect(ended)
        QTimer.singleShot(200, begin_idle)  # let the window settle first
        self.app.exec()
        if finished is not None:
            finished.disconnect(ended)
        t0, t1 = marks.get("t0", 0.0), marks.get("t1", 0.0)
        all_ticks = np.array(ticks)
        idle = np.diff(all_ticks[all_ticks <= t0]) * 1000.0
        busy = all_ticks[all_ticks >= t0]
        gaps = np.diff(busy) * 1000.0 if len(busy) > 1 else np.array([0.0])
        report = {
            "ticks": len(busy),
            "worst_gap_ms": round(float(gaps.max()), 1),
            "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
            "median_gap_ms": round(float(np.median(gaps)), 1),
            "gaps_over_50ms": int((gaps > TARGET_WORST_MS).sum()),
            "idle_worst_gap_ms": round(float(idle.max()), 1) if len(idle) else None,
            "idle_p99_gap_ms": round(float(np.percentile(idle, 99)), 1) if len(idle) else None,
            "seconds": round(t1 - t0, 2),
            "failed": bool(marks.get("failed")),
            "error": (self.window.last_error or "no result") if marks.get("failed") else None,
        }
        if self.args.trace:
            worst = np.argsort(gaps)[::-1][:10]
            report["worst_gaps"] = [
                {
                    "at_s": round(float(busy[i] - t0), 3),
                    "gap_ms": round(float(gaps[i]), 1),
                    "after": _last_event(events, busy[i + 1]),
                }
                for i in sorted(worst)
                if i + 1 < len(busy)
            ]
        return report

    # ------------------------------------------------------------- scenarios
    def train(self) -> dict:
        ctl = self.training

        def start():
            return ctl._worker if ctl.start_training() else False

        report = self.measure(start, ctl.training_ended)
        ctl.wait(10000)
        result = ctl.result
        if result is not None and result.epoch_seconds:
            n = len(ctl.train_prices()) - 1 - self.spec.window
            n_train = n - max(1, round(n * self.cfg.val_fraction))
            report["samples_per_s"] = round(n_train / float(np.mean(result.epoch_seconds)), 1)
            report["torch_threads"] = "all" if self.args.all_cores else "all but one"
        return report

    def headless_samples_per_s(self) -> float:
        """The same fit as :meth:`train`, drained on this thread with torch's own thread count
        (as the command line runs it)."""
        prices = self.training.train_prices()
        result = drain(RecurrentForecaster(self.spec, self.cfg).fit(prices))
        n = len(prices) - 1 - self.spec.window
        n_train = n - max(1, round(n * self.cfg.val_fraction))
        return round(n_train / float(np.mean(result.epoch_seconds)), 1)

    def _backtest_settings(self) -> BacktestSettings:
        return replace(
            self.backtest.panel.settings(),
            test_fraction=self.args.test_fraction,
            refit_every=self.args.refit_every,
            refit_epochs=1,
        )

    def backtest_run(self) -> dict:
        ctl = self.backtest
        ctl.panel.set_settings(self._backtest_settings())
        ctl.panel.use_trained_check.setChecked(False)  # train the first fit in the job

        def start():
            return ctl._worker if ctl.start_backtest() else False

        report = self.measure(start, ctl.backtest_finished)
        if ctl._worker is not None:
            ctl._worker.wait(10000)
        if ctl.outcome is not None and self.saved_run is None:
            folder = self.home / "bench-run"
            if ctl.save_run_to(folder):
                self.saved_run = folder
        return report

    def sweep(self) -> dict | None:
        try:
            from stockapp.gui.experiments.adapter import ExperimentsController
            from stockapp.gui.experiments.panel import ExperimentChoices
        except ImportError:
            return None
        ctl = self.window.findChild(ExperimentsController)
        if ctl is None:
            return None
        runs = getattr(self, "_sweeps", 0)
        self._sweeps = runs + 1
        choices = ExperimentChoices(
            samples=[self.args.ticker],
            csvs=[],
            tickers=[],
            grid={
                "model": ["lstm", "gru"],
                "window": [20],
                "hidden": [16],
                "layers": [1],
                "dropout": [0.0],
                "lr": [5e-4],
            },
            seeds=(0,),
            epochs=1,
            test_fraction=self.args.test_fraction,
            engine="local",
            ray_address=None,
            out=str(self.home / f"sweep-{runs}"),
        )
        ctl.panel.choices = lambda: choices  # the page's fields, filled in as a person would

        def start():
            return ctl._worker if ctl.start() else False

        report = self.measure(start, ctl.experiment_finished)
        ctl.wait(10000)
        return report

    def open_run(self) -> dict | None:
        if self.saved_run is None:
            self.backtest_run()  # makes the run to open; not part of this scenario's figures
        if self.saved_run is None:
            return None
        folder = self.saved_run
        return self.measure(lambda: self.backtest.open_run_from(folder), None, hold_s=0.5)


def summarise(name: str, reports: list[dict]) -> dict:
    worst = np.array([r["worst_gap_ms"] for r in reports])
    p99 = np.array([r["p99_gap_ms"] for r in reports])
    idle = [r["idle_worst_gap_ms"] for r in reports if r["idle_worst_gap_ms"] is not None]
    return {
        "scenario": name,
        "runs": len(reports),
        "worst_median": round(float(np.median(worst)), 1),
        "worst_max": round(float(worst.max()), 1),
        "p99_median": round(float(np.median(p99)), 1),
        "p99_max": round(float(p99.max()), 1),
        "idle_worst_median": round(float(np.median(idle)), 1) if idle else None,
        "seconds_median": round(float(np.median([r["seconds"] for r in reports])), 1),
        "failed": sum(r["failed"] for r in reports),
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| Scenario | Runs | Worst gap, median (ms) | Worst gap, worst (ms) | p99, median (ms) "
        "| p99, worst (ms) | Idle worst gap, median (ms) | Seconds per run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['runs']} | {r['worst_median']} | {r['worst_max']} | "
            f"{r['p99_median']} | {r['p99_max']} | {r['idle_worst_median']} | "
            f"{r['seconds_median']} |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, home: Path) -> tuple[list[dict], list[dict], dict]:
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = Bench(args, home)
    scenarios = {
        "train": bench.train,
        "backtest": bench.backtest_run,
        "sweep": bench.sweep,
        "open": bench.open_run,
    }
    rows: list[dict] = []
    per_run: list[dict] = []
    extra: dict = {}
    for name in args.scenarios:
        reports = []
        for i in range(args.runs):
            report = scenarios[name]()
            if report is None:
                print(f"{name}: not available here; skipped.", file=sys.stderr)
                break
            per_run.append({"scenario": name, "run": i + 1, **report})
            reports.append(report)
        if reports:
            rows.append(summarise(name, reports))
            if name == "train":
                speeds = [r["samples_per_s"] for r in reports if "samples_per_s" in r]
                if speeds:
                    extra["gui_samples_per_s"] = round(float(np.median(speeds)), 1)
    if "train" in args.scenarios and not args.no_headless:
        extra["cli_samples_per_s"] = bench.headless_samples_per_s()
        extra["cli_torch_threads"] = torch.get_num_threads()
        if "gui_samples_per_s" in extra:
            extra["gui_vs_cli"] = round(extra["gui_samples_per_s"] / extra["cli_samples_per_s"], 2)
    extra["cpus"] = os.cpu_count()
    extra["load_average"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    bench.window.close()
    return rows, per_run, extra


def _scenarios(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario '{unknown[0] if unknown else text}'; choose from "
            f"{', '.join(SCENARIOS)}"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios",
        type=_scenarios,
        default=list(SCENARIOS),
        help=f"comma-separated, from {','.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument("--ticker", default="AAPL")
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--refit-every", type=int, default=126, help="backtest refit interval")
    parser.add_argument(
        "--threads", type=int, default=0, help="CPU threads for torch (0: its default)"
    )
    parser.add_argument(
        "--all-cores", action="store_true", help="tick 'Use all cores' (no core left to the GUI)"
    )
    parser.add_argument("--no-headless", action="store_true", help="skip the headless fit")
    parser.add_argument("--interval-ms", type=int, default=10)
    parser.add_argument("--idle-s", type=float, default=2.0, help="idle baseline before each run")
    parser.add_argument("--trace", action="store_true", help="list the worst gaps of each run")
    parser.add_argument("--json", action="store_true", help="print only one JSON line per run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        print("--runs must be at least 1.", file=sys.stderr)
        return 2
    # A private settings folder: the benchmark must not overwrite the user's remembered values.
    with tempfile.TemporaryDirectory(prefix="stockapp-bench-") as home:
        os.environ["STOCKAPP_HOME"] = home
        rows, per_run, extra = run(args, Path(home))
    if not args.json:
        print(markdown(rows))
        print()
        print(json.dumps(extra))
    for report in per_run:
        print(json.dumps(report))
    met = all(
        r["worst_median"] <= TARGET_WORST_MS and r["p99_median"] <= TARGET_P99_MS for r in rows
    )
    return 0 if met and not any(r["failed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

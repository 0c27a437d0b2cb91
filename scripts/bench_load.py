"""The CSV loader against pandas' own reader on big generated files: time and peak memory.

    python scripts/bench_load.py [--rows 1000000] [--eu-rows 200000] [--repeat 3]
                                 [--dir FOLDER] [--json OUT.json] [--backtest]

Writes (once, into ``--dir``, default a folder under the system temp) three files:

* ``minute.csv``: ``--rows`` 1-minute bars (``Datetime,Open,High,Low,Close,Volume``,
  ``2019-01-02 09:30:00``, prices at full float precision), about 100 MB for a million rows;
* ``minute_tz.csv``: the same bars as yfinance writes intraday ones, with New York's UTC offset
  on every timestamp (``-05:00`` / ``-04:00``);
* ``european.csv``: the first ``--eu-rows`` of them the European way (``;`` separators, decimal
  commas, ``02.01.2019 09:30``).

Then, ``--repeat`` times, each measurement in a fresh Python process so none inherits another's
memory: pandas' ``read_csv`` plus ``to_datetime`` with the right ``sep``, ``decimal`` and
explicit date format (given, not sniffed); the ``stockapp data --csv`` command's own work
(``stockapp.cli.main`` timed inside the process, so the interpreter's and the imports' start-up
is left out, as in the issue's target); and the whole command's wall time, less that of
``stockapp data --sample AAPL`` (the command's start-up). Peak memory is each process's own
peak resident set (``VmHWM``), imports included. Prints the medians.
Targets (issue 21): minute file <= 2.5x pandas and <= 400 MB; European file <= 3x pandas.

``--backtest`` also backtests the minute file once, in a fresh process, as ``stockapp backtest
--csv minute.csv --model gru --hidden 8 --layers 1 --window 20 --epochs 1`` does (load, walk
forward, save the run folder): its wall time, peak memory (target: within 4 GB) and the epoch
time the trainer estimated from its first batches against the epoch time it took.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    # name: (sep, decimal, date column, date format given to pandas)
    "minute.csv": (",", ".", "Datetime", "%Y-%m-%d %H:%M:%S"),
    "minute_tz.csv": (",", ".", "Datetime", "%Y-%m-%d %H:%M:%S%z"),
    "european.csv": (";", ",", "Datetime", "%d.%m.%Y %H:%M"),
}


def write_files(folder: Path, rows: int, eu_rows: int) -> None:
    """The benchmark files, written once (kept when they exist with the same row counts)."""
    import numpy as np
    import pandas as pd

    stamp = folder / "rows.json"
    wanted = {"rows": rows, "eu_rows": eu_rows}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2019-01-02", periods=rows // 390 + 2)
    minutes = np.timedelta64(570, "m") + np.arange(390) * np.timedelta64(1, "m")
    wall = pd.DatetimeIndex((days.values[:, None] + minutes[None, :]).ravel()[:rows])
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, rows)))
    frame = pd.DataFrame(
        {
            "Open": close * (1 + rng.normal(0, 2e-4, rows)),
            "High": close * 1.001,
            "Low": close * 0.999,
            "Close": close,
            "Volume": rng.integers(100, 100_000, rows),
        }
    )
    text = wall.strftime("%Y-%m-%d %H:%M:%S")
    frame.insert(0, "Datetime", text)
    frame.to_csv(folder / "minute.csv", index=False)
    offset = wall.tz_localize("America/New_York").tz_convert("UTC").tz_localize(None) - wall
    suffix = np.where(offset == pd.Timedelta(hours=5), "-05:00", "-04:00")
    frame["Datetime"] = text + pd.Index(suffix)
    frame.to_csv(folder / "minute_tz.csv", index=False)
    european = frame.iloc[:eu_rows].copy()
    european["Datetime"] = wall[:eu_rows].strftime("%d.%m.%Y %H:%M")
    european.to_csv(folder / "european.csv", index=False, sep=";", decimal=",")
    stamp.write_text(json.dumps(wanted))


def _peak_mb() -> float:
    """This process's peak resident memory. Linux's ``VmHWM`` starts afresh at ``exec``;
    ``ru_maxrss`` (used elsewhere) carries over the parent's peak at ``fork``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, path: str) -> None:
    """One measurement, in this (fresh) process; prints a JSON line."""
    if kind == "backtest":
        backtest_child(path)
        return
    if kind == "pandas":
        import pandas as pd

        sep, decimal, column, fmt = FILES[Path(path).name]
        start = time.perf_counter()
        frame = pd.read_csv(path, sep=sep, decimal=decimal)
        utc = fmt.endswith("%z")  # several offsets: pandas needs utc=True
        frame[column] = pd.to_datetime(frame[column], format=fmt, utc=utc)
        seconds = time.perf_counter() - start
        out = {"seconds": seconds, "rows": len(frame)}
    else:
        from stockapp import cli

        sink = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(sink):
            status = cli.main(["data", "--csv", path])
        seconds = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"stockapp data failed on {path}")
        lines = sink.getvalue().splitlines()
        rows = next(int(line.split()[1]) for line in lines if line.startswith("rows:"))
        careful = [line for line in lines if line.startswith("rows read cell by cell")]
        out = {"seconds": seconds, "rows": rows, "careful": careful}
    out["peak_mb"] = _peak_mb()
    print(json.dumps(out))


def backtest_child(path: str) -> None:
    """The 1M-bar backtest of ``--backtest``, in this (fresh) process; prints a JSON line."""
    from stockapp.core.features import FeatureSpec
    from stockapp.core.progress import drain
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.data import load_csv
    from stockapp.models.runner import run_backtest
    from stockapp.models.trainer import EpochEstimate, TrainConfig

    start = time.perf_counter()
    series = load_csv(path)
    spec = FeatureSpec(window=20)
    cfg = TrainConfig(model="gru", hidden=8, layers=1, epochs=1)
    estimates = []

    def keep(event) -> None:
        if isinstance(event, EpochEstimate):
            estimates.append(event)

    outcome = drain(run_backtest(series, spec, cfg, BacktestSettings()), keep)
    with tempfile.TemporaryDirectory() as out:
        outcome.save(Path(out) / "run")
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - start,
                "peak_mb": _peak_mb(),
                "bars": len(series),
                "estimate": estimates[0].sentence() if estimates else None,
                "estimated_epoch_s": estimates[0].epoch_s if estimates else None,
                "epoch_s": outcome.result.fits[0].epoch_seconds[0],
            }
        )
    )


def _env() -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="stockapp_bench_load_")
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "STOCKAPP_HOME": home}


def measure(kind: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} on {path.name} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def command_seconds(args: list[str]) -> float:
    """Wall time of a whole ``python -m stockapp ...`` command."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "stockapp", *args],
        env=_env(),
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--eu-rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, help="where the generated files are kept")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--backtest", action="store_true", help="also backtest the minute file")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.write:
        write_files(Path(args.write[0]), int(args.write[1]), int(args.write[2]))
        return 0
    if args.child:
        child(*args.child)
        return 0
    folder = args.dir or Path(tempfile.gettempdir()) / "stockapp_bench_load"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"writing the files in {folder} (once)...", flush=True)
    subprocess.run(  # in a child, so this process stays small
        [sys.executable, __file__, "--write", str(folder), str(args.rows), str(args.eu_rows)],
        check=True,
    )
    summary: dict = {"rows": args.rows, "eu_rows": args.eu_rows, "files": {}}
    startup = [command_seconds(["data", "--sample", "AAPL"]) for _ in range(args.repeat)]
    summary["startup_s"] = statistics.median(startup)
    print(f"stockapp data --sample AAPL (the command's start-up): {summary['startup_s']:.2f} s")
    header = (
        f"{'file':<15}{'MB':>6}{'pandas s':>10}{'stockapp s':>12}{'ratio':>7}"
        f"{'command s':>11}{'pandas MB':>11}{'stockapp MB':>13}"
    )
    print(header)
    for name in FILES:
        path = folder / name
        runs: dict[str, list[dict]] = {"pandas": [], "stockapp": []}
        commands = []
        for i in range(args.repeat):  # alternate, so a busy moment hits both alike
            for kind in ("pandas", "stockapp") if i % 2 == 0 else ("stockapp", "pandas"):
                runs[kind].append(measure(kind, path))
            commands.append(command_seconds(["data", "--csv", str(path)]))
        figures = {
            "size_mb": path.stat().st_size / 1e6,
            "pandas_s": statistics.median(r["seconds"] for r in runs["pandas"]),
            "stockapp_s": statistics.median(r["seconds"] for r in runs["stockapp"]),
            "command_s": statistics.median(commands),
            "command_beyond_startup_s": statistics.median(commands) - summary["startup_s"],
            "pandas_peak_mb": statistics.median(r["peak_mb"] for r in runs["pandas"]),
            "stockapp_peak_mb": statistics.median(r["peak_mb"] for r in runs["stockapp"]),
            "rows": runs["stockapp"][0]["rows"],
            "careful": runs["stockapp"][0]["careful"],
        }
        figures["ratio"] = figures["stockapp_s"] / figures["pandas_s"]
        summary["files"][name] = figures
        print(
            f"{name:<15}{figures['size_mb']:>6.0f}{figures['pandas_s']:>10.2f}"
            f"{figures['stockapp_s']:>12.2f}{figures['ratio']:>7.2f}{figures['command_s']:>11.2f}"
            f"{figures['pandas_peak_mb']:>11.0f}{figures['stockapp_peak_mb']:>13.0f}"
        )
    print(
        "ratio: stockapp data's own work / pandas read_csv + to_datetime (medians of "
        f"{args.repeat}); command s: the whole 'python -m stockapp data --csv' run"
    )
    if args.backtest:
        bt = measure("backtest", folder / "minute.csv")
        summary["backtest"] = bt
        print(
            f"backtest of minute.csv ({bt['bars']:,} bars, GRU 8, window 20, 1 epoch): "
            f"{bt['seconds']:.0f} s, peak {bt['peak_mb']:.0f} MB; epoch estimated "
            f"{bt['estimated_epoch_s']:.0f} s from its first batches, took {bt['epoch_s']:.0f} s"
        )
        print(f"  {bt['estimate']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

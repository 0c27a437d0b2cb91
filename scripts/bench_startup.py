"""Launch-to-window time of the desktop app: when the splash and the main window first paint.

    python scripts/bench_startup.py [--runs 5] [--platform offscreen] [--json OUT.json]

Starts ``python -m stockapp gui --sample AAPL`` ``--runs`` times, each in a fresh STOCKAPP_HOME,
with ``STOCKAPP_STARTUP_MARKER`` (the app appends the time of the splash's and of the main
window's first paint) and ``STOCKAPP_QUIT_AFTER_SHOWN=1`` (it closes once the window has painted).
Times are from just before the process is started, so they include Python's own start-up.
Prints the median (and the range) of each. The platform is ``offscreen`` by default, so it runs
headless; ``--platform xcb`` measures on a real X display (or under ``xvfb-run``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def launch(platform: str, sample: str, timeout_s: float) -> dict[str, float]:
    """One launch; seconds from start to the first paint of ``splash`` and ``window``."""
    with tempfile.TemporaryDirectory(prefix="stockapp_startup_") as tmp:
        marker = Path(tmp) / "marker.txt"
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": platform,
            "STOCKAPP_HOME": str(Path(tmp) / "home"),
            "STOCKAPP_STARTUP_MARKER": str(marker),
            "STOCKAPP_QUIT_AFTER_SHOWN": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        start = time.time()
        done = subprocess.run(
            [sys.executable, "-m", "stockapp", "gui", "--sample", sample],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise SystemExit(f"the app exited with status {done.returncode}: {done.stderr.strip()}")
        times = {}
        for line in marker.read_text(encoding="utf-8").splitlines():
            label, stamp, _ = line.split()
            times.setdefault(label, float(stamp) - start)
    missing = {"splash", "window"} - times.keys()
    if missing:
        raise SystemExit(f"the app never painted its {', '.join(sorted(missing))}")
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--platform", default="offscreen", help="Qt platform plugin (offscreen, xcb)")
    ap.add_argument("--sample", default="AAPL")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per launch")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    runs = []
    for i in range(args.runs):
        times = launch(args.platform, args.sample, args.timeout)
        runs.append(times)
        print(f"run {i + 1}: splash {times['splash']:.2f} s, window {times['window']:.2f} s")
    summary = {"runs": runs, "platform": args.platform}
    for label in ("splash", "window"):
        values = [r[label] for r in runs]
        summary[f"{label}_median_s"] = statistics.median(values)
        print(
            f"{label}: median {statistics.median(values):.2f} s"
            f" (min {min(values):.2f}, max {max(values):.2f}, {len(values)} launches)"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

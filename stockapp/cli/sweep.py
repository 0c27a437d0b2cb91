"""``stockapp sweep``: try a grid of models and settings over seeds and series, choose honestly.

Parsing and printing only; the job is :func:`stockapp.models.sweep_tune.run_search` over
:func:`stockapp.models.sweep.run_sweep`. Lists are given as ``--window 20,60``, ranges (for
``--search random`` or ``tpe`` with ``--trials N``) as ``--lr 1e-4:1e-2:log``, and seeds as
``--seeds 0-4`` (or ``0,2,5``); ``--with-sample/--with-csv/--with-ticker`` and ``--calendar``
give every run the same other series and calendar inputs, as ``stockapp backtest`` takes them
(loaded once here, sent with each series to the workers); ``--mlflow [URI]`` also logs every
run to MLflow (:mod:`stockapp.session.sweep_tracking`). Writes ``DIR/runs/<key>/`` (ordinary
run folders), ``DIR/results.csv`` and ``DIR/summary.json``; rerunning the same command resumes
(runs made with other inputs are other runs: never mixed in). The reasons runs failed are
printed once per reason; the exit status is 1 when no run finished (2 for bad input).
Registered in :mod:`stockapp.cli` by :func:`add_sweep_command`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from stockapp.cli.common import add_input_options, load_inputs
from stockapp.core.ray_address import ray_endpoint
from stockapp.core.sweep_plan import inputs_change
from stockapp.core.sweep_search import Search, Space
from stockapp.session.formatting import eta_text, p_text, ratio_text
from stockapp.session.grid import FIELDS, parse_seeds, parse_space
from stockapp.session.loading import experiment_sources, load_several

__all__ = ["add_sweep_command", "parse_seeds"]

#: Most configurations listed per series in the closing summary (the rest are in results.csv).
SHOWN = 10


def add_sweep_command(commands) -> None:
    """Add the ``sweep`` subcommand to the ``stockapp`` parser's subcommands."""
    p = commands.add_parser(
        "sweep",
        help="backtest a grid of models, settings and seeds on several series; choose honestly",
    )
    p.add_argument("--sample", action="append", default=[], metavar="NAME", help="repeatable")
    p.add_argument("--csv", action="append", default=[], metavar="PATH", help="repeatable")
    p.add_argument("--ticker", action="append", default=[], metavar="SYMBOL", help="repeatable")
    p.add_argument("--all-samples", action="store_true", help="every bundled sample")
    add_input_options(p)  # the same other series and calendar inputs for every run
    p.add_argument("--model", default="lstm", metavar="A,B", help="lstm, gru, rnn (default lstm)")
    ranged = " or a range LOW:HIGH[:log] for --search random/tpe"
    p.add_argument("--window", metavar="N,M", help="input windows in bars (default 60)" + ranged)
    p.add_argument("--hidden", metavar="N,M", help="hidden units (default 64)" + ranged)
    p.add_argument("--layers", metavar="N,M", help="recurrent layers (default 2)" + ranged)
    p.add_argument("--dropout", metavar="X,Y", help="dropout (default 0.2)" + ranged)
    p.add_argument("--lr", metavar="X,Y", help="learning rates (default 5e-4), e.g. 1e-4:1e-2:log")
    p.add_argument("--target", metavar="A,B", help="return, price (default return)")
    p.add_argument("--refit-every", metavar="K,L", help="bars between refits, 0 = train once")
    p.add_argument(
        "--search",
        choices=("grid", "random", "tpe"),
        default="grid",
        help="grid: every combination (default); random: --trials N drawn from the lists and "
        "ranges; tpe: Optuna's TPE steered by the selection span (pip install 'stockapp[tune]')",
    )
    p.add_argument("--trials", type=int, metavar="N", help="configurations to try (random, tpe)")
    p.add_argument(
        "--search-seed", type=int, default=0, metavar="N", help="seed of random and tpe (0)"
    )
    p.add_argument("--seeds", default="0", metavar="0-4", help="seeds: 0-4 or 0,2,5")
    p.add_argument("--epochs", type=int, metavar="N", help="most epochs of each first fit")
    p.add_argument("--patience", type=int, metavar="N", help="early-stopping patience")
    p.add_argument(
        "--batch-size", type=int, metavar="N", help="windows per training step (default 64)"
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="the share of the bars at the end held out to score on (default 0.2)",
    )
    p.add_argument(
        "--selection-fraction",
        type=float,
        metavar="F",
        help="the span before the test span on which the configuration is chosen "
        "(default: as long as the test span)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="runs in processes on this machine (local, the default) or on a Ray cluster",
    )
    p.add_argument("--ray-address", metavar="ADDR", help="join a Ray cluster (e.g. auto)")
    p.add_argument("--workers", type=int, metavar="N", help="runs side by side (default: cores)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 or mps")
    p.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        metavar="URI",
        help="also log every run to MLflow (default store: sqlite in the sweep folder; "
        "pip install 'stockapp[mlflow]')",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the sweep folder (resumable)")
    p.add_argument("--quiet", action="store_true", help="no progress lines (terminal only)")
    p.set_defaults(func=_cmd_sweep, parser=p)


def _space(args: argparse.Namespace) -> Space:
    """The lists and ranges the options ask for, checked as the window checks its fields."""
    return parse_space({f.name: getattr(args, f.name) for f in FIELDS}, labels="option")


def _search(args: argparse.Namespace, space: Space):
    """The search asked for, checked against the space before any data loads."""
    search = Search(args.search, args.trials, args.search_seed)
    search.check(space)
    return search


def _load_series(args: argparse.Namespace) -> list:
    sources = experiment_sources(args.sample, args.csv, args.ticker, args.all_samples)
    if not sources:
        args.parser.error("name what to sweep: --sample, --csv, --ticker or --all-samples")
    return load_several(sources)


def _request(args: argparse.Namespace):
    from stockapp.core.features import FeatureSpec
    from stockapp.models.sweep import SweepRequest
    from stockapp.models.trainer import TrainConfig

    train = TrainConfig().to_dict()
    for key in ("epochs", "patience", "batch_size"):
        value = getattr(args, key)
        if value is not None:
            train[key] = value
    train["device"] = args.device
    space = _space(args)
    spec = FeatureSpec().to_dict()
    if space.get("target") == ["price"]:
        spec["features"] = ["close"]
    return SweepRequest(
        grid={k: v for k, v in space.items() if isinstance(v, list)},
        seeds=parse_seeds(args.seeds),
        spec=FeatureSpec.from_dict(spec),
        train=TrainConfig.from_dict(train),
        test_fraction=args.test_fraction,
        selection_fraction=(
            args.test_fraction if args.selection_fraction is None else args.selection_fraction
        ),
    )


def _cmd_sweep(args: argparse.Namespace) -> int:
    from stockapp.models.device import resolve_device
    from stockapp.models.sweep_tune import run_search

    if args.workers is not None and args.workers < 1:
        args.parser.error(f"--workers must be at least 1, not {args.workers}")
    if args.ray_address and args.engine != "ray":
        args.parser.error("--ray-address only applies to --engine ray")
    if args.ray_address:
        ray_endpoint(args.ray_address)  # a malformed address is refused before data is loaded
    request = _request(args)
    space = _space(args)
    search = _search(args, space)
    resolve_device(args.device)  # an absent GPU is refused before anything starts
    out = Path(args.out)
    tracker = None
    if args.mlflow is not None:  # a missing MLflow or a bad store is refused before training
        from stockapp.session.sweep_tracking import open_tracker

        tracker = open_tracker(out, args.mlflow or None)
    series = _load_series(args)
    covariates, calendar = load_inputs(args, request.spec.adjusted)  # once, for every run
    request = replace(request, covariates=tuple(covariates), calendar=calendar)
    show = not args.quiet and sys.stderr.isatty()
    note = inputs_change(_earlier_inputs(out), request.inputs())
    job = run_search(
        series,
        request,
        space,
        search,
        out,
        engine=args.engine,
        workers=args.workers,
        ray_address=args.ray_address,
    )
    try:
        while True:
            try:
                event = next(job)
            except StopIteration as stop:
                outcome = stop.value
                break
            if show:
                row = event.latest or {}
                last = f"{row.get('series')} seed {row.get('seed')}: {row.get('status')}"
                print(
                    f"[{event.done}/{event.total}] {eta_text(event.eta_seconds)}  {last}",
                    file=sys.stderr,
                    flush=True,
                )
    except KeyboardInterrupt:
        print(
            f"stockapp: interrupted; finished runs are kept in {out / 'runs'}; run the same "
            "command again to resume.",
            file=sys.stderr,
        )
        return 130
    _print_summary(outcome, out, note)
    if tracker is not None:
        from stockapp.session.sweep_tracking import log_sweep

        print(log_sweep(tracker, outcome.rows, outcome.summary).describe())
    return _print_failures(outcome)


def _print_failures(outcome) -> int:
    """Say why runs failed, once per reason; the exit status: 1 when no run finished."""
    from stockapp.core.sweep_failures import failure_lines

    lines = failure_lines(outcome.rows)
    if lines:
        print("\nWhy runs failed:")
        for line in lines:
            print(f"  {line}")
    if any(row.get("status") == "ok" for row in outcome.rows):
        return 0
    print(
        f"stockapp: none of the {outcome.total} runs finished, so nothing was chosen; the "
        "reasons are printed above and in results.csv.",
        file=sys.stderr,
    )
    return 1


def _earlier_inputs(out: Path) -> dict | None:
    """The inputs the sweep last written to ``out`` read (none recorded: none), or ``None``."""
    import json

    try:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    inputs = summary.get("inputs") if isinstance(summary, dict) else None
    return inputs if isinstance(inputs, dict) else {"covariates": [], "calendar": []}


def _print_summary(outcome, out: Path, note: str = "") -> None:
    summary = outcome.summary
    print(
        f"{summary['runs_finished']} of {summary['runs_total']} runs finished"
        f" ({outcome.trained} trained now), {summary['runs_failed']} failed."
    )
    if note:  # the folder's earlier sweep read other inputs
        print(note)
    if summary.get("engine_note"):  # workers lost and runs retried (summary.json has it too)
        print(summary["engine_note"])
    search = summary.get("search")
    if search:
        print(
            f"{search['method']} search, seed {search['seed']}: every configuration it tried "
            "is counted below, in Holm and in SPA."
        )
    for entry in summary["series"]:
        configs = entry.get("configurations", [])
        if configs:
            print(f"\n{entry['series']}: {entry['spans']}")
            width = max(13, *(len(c["configuration"]) for c in configs[:SHOWN]))
            print(
                f"  {'configuration':{width}} {'sel ratio':>9} {'test ratio':>10} {'+-sd':>7} "
                f"{'ensemble':>9} {'p better':>8} {'Holm':>6}  vs persistence"
            )
            ranked = sorted(configs, key=lambda c: c["selection_rmse_ratio_mean"])
            for c in ranked[:SHOWN]:
                ens = c["ensemble_test"]
                sel, test = c["selection_rmse_ratio_mean"], c["test_rmse_ratio_mean"]
                print(
                    f"  {c['configuration']:{width}} {ratio_text(sel):>9} {ratio_text(test):>10} "
                    f"{ratio_text(c['test_rmse_ratio_sd']):>7} {ratio_text(ens['rmse_ratio']):>9} "
                    f"{p_text(ens.get('dm_better_pvalue')):>8} "
                    f"{p_text(ens.get('dm_better_pvalue_holm')):>6}  {ens.get('verdict') or 'n/a'}"
                )
            if len(configs) > SHOWN:
                print(f"  ... {len(configs) - SHOWN} more in results.csv")
        print(entry["verdict"])
    print(
        "\nratios are RMSE / persistence; sel: mean over seeds on the selection span (used to "
        "choose); test: on the test span; ensemble: the seeds' mean forecast on the test span; "
        "p better: the ensemble's one-sided Diebold-Mariano p that its squared errors are "
        "smaller than persistence's, Holm: adjusted over the configurations tried; better / "
        "worse: below 0.05 after Holm one way or the other, else tie"
    )
    print(f"results: {out / 'results.csv'}; summary: {out / 'summary.json'}")

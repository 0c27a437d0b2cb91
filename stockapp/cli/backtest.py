"""``stockapp backtest``: train a model, backtest it walk-forward, write a run folder, print a
summary. Parsing and printing only; the job is :func:`stockapp.models.runner.run_backtest`."""

from __future__ import annotations

import argparse
import sys

from stockapp.cli.common import add_input_options, add_source_options, load_inputs, load_sources
from stockapp.data.series import PriceSeries
from stockapp.errors import StockappError


def add_backtest_command(commands) -> None:
    """Add ``backtest`` to the ``stockapp`` parser's subcommands."""
    backtest = commands.add_parser(
        "backtest", help="train a model, backtest it walk-forward and write a run folder"
    )
    add_source_options(backtest, required=True, dates=True, repeat=True)
    _add_backtest_options(backtest)
    backtest.set_defaults(func=_cmd_backtest, parser=backtest)


def _backtest_inputs(args: argparse.Namespace):
    """The feature spec, training config and backtest settings the options ask for."""
    from stockapp.core.features import FeatureSpec
    from stockapp.core.trading import TradingRule
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.models.trainer import TrainConfig

    spec = FeatureSpec().to_dict()
    if args.window is not None:
        spec["window"] = args.window
    if args.target is not None:
        spec["target"] = args.target
        if args.target == "price" and not args.features:
            spec["features"] = ["close"]
    if args.features:
        spec["features"] = [f.strip() for f in args.features.split(",") if f.strip()]
    if args.raw_close:
        spec["adjusted"] = False
    cfg = TrainConfig().to_dict()
    for key in (
        "model",
        "hidden",
        "layers",
        "dropout",
        "epochs",
        "batch_size",
        "lr",
        "seed",
        "patience",
        "device",
        "head",
        "head_base",
    ):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    rule = TradingRule(
        mode="long_short" if args.long_short else "long_flat",
        threshold=args.threshold,
        cost_bps=args.cost_bps,
    )
    settings = BacktestSettings(
        test_fraction=args.test_fraction,
        test_start=args.test_start,
        refit_every=args.refit_every,
        refit_mode=args.refit_mode,
        refit_epochs=args.refit_epochs,
        refit_bars=args.refit_bars,
        rule=rule,
        # a linear model on the same inputs: asked for, or whenever other series are inputs
        ridge=bool(args.ridge or args.with_sample or args.with_csv or args.with_ticker),
    )
    return FeatureSpec.from_dict(spec), TrainConfig.from_dict(cfg), settings


def _progress_line(event) -> str | None:
    """One stderr line per epoch and per refit segment, and a fit's epoch-time estimate;
    batch events are skipped."""
    if getattr(event, "kind", None) == "estimate":
        return f"  {event.sentence()}"
    if getattr(event, "kind", None) == "epoch":
        val = "" if event.val_loss is None else f"  val {event.val_loss:.4f}"
        # After early stopping, the weights learn from the validation slice too (issue 18.3).
        what = "catch-up epoch" if getattr(event, "phase", "fit") == "catch-up" else "epoch"
        return (
            f"  {what} {event.epoch}/{event.epochs}  train {event.train_loss:.4f}{val}"
            f"  ({event.samples_per_s:,.0f} samples/s on {event.device})"
        )
    if hasattr(event, "count") and hasattr(event, "first_date"):
        what = "refit" if event.refit else "fit"
        return f"{what} {event.index}/{event.count} for bars from {event.first_date:%Y-%m-%d}"
    return None


def _cmd_backtest(args: argparse.Namespace) -> int:
    """Train, backtest walk-forward, write the run folder and print a summary."""
    from pathlib import Path

    from stockapp.core.progress import drain
    from stockapp.core.runs import check_run_target
    from stockapp.models.runner import run_backtest

    spec, cfg, settings = _backtest_inputs(args)
    targets = load_sources(args, args.parser)
    series = targets[0]
    if not args.features and cfg.head != "point" and spec.target == "return":
        # a distribution head's default inputs carry volatility (issue 22)
        from dataclasses import replace

        from stockapp.core.features import default_features

        columns = series.prices(spec.adjusted).columns
        spec = replace(spec, features=default_features(cfg.head, columns))
    out = Path(args.out)
    # Before any training: a file, or a folder of other files, is refused; an earlier run's
    # folder is replaced whole once this one is written.
    if out.exists() and not out.is_dir():
        raise StockappError(f"--out {out} is a file; give a folder for the run.")
    check_run_target(out)
    # Progress goes to a terminal only: a script reading stderr sees just an error, if any.
    show = not args.quiet and sys.stderr.isatty()
    refitting = False

    def report(event) -> None:
        nonlocal refitting
        refitting = getattr(event, "refit", refitting)
        if refitting and getattr(event, "kind", None) == "estimate":
            return  # a refit is a short fine-tune: only the first fit's length is worth a line
        line = _progress_line(event)
        if line and show:
            print(line, file=sys.stderr, flush=True)

    calibration = args.calibrate
    if calibration == "aci" and cfg.head == "point":  # asked for, but nothing to calibrate
        raise StockappError(
            "--calibrate aci calibrates a distribution's bands; choose --head student-t or "
            "gaussian, or leave --calibrate out."
        )
    covariates, calendar = load_inputs(args, spec.adjusted)
    if len(targets) > 1 or args.global_model:  # several targets (issue 24)
        from stockapp.cli.backtest_several import run_several_command

        return run_several_command(
            args, targets, spec, cfg, settings, calibration or "aci", covariates, calendar,
            report, _print_summary,
        )  # fmt: skip
    outcome = drain(
        run_backtest(
            series, spec, cfg, settings, calibration=calibration or "aci",
            covariates=covariates, calendar=calendar,
        ),
        report,
    )  # fmt: skip
    picture = None
    if not args.no_png:
        from stockapp.cli.png import backtest_png

        def picture(path: Path) -> None:
            backtest_png(outcome.result, outcome.model_name, path)

    outcome.save(out, picture)  # the whole folder, picture included, then swapped in
    _print_summary(outcome, series, out)
    return 0


def _number(v: float) -> str:
    """A score for the summary table: four decimals, or four significant digits when huge."""
    return f"{v:10.4f}" if abs(v) < 1e6 else f"{v:10.4g}"


def _print_summary(outcome, series: PriceSeries, out, where: bool = True) -> None:
    from stockapp.core.bars import format_dates
    from stockapp.core.significance import dm_variance

    result = outcome.result
    labels = result.labels(outcome.model_name)
    first, last = format_dates(result.dates[[0, -1]], intraday=result.intraday)
    print(f"{series.name}: {result.n} test bars {first} .. {last}")
    warnings = outcome.manifest.quality_warnings or series.report.warnings
    if warnings:
        print("data warnings: " + "; ".join(warnings))
    width = max(32, *(len(label) for label in labels.values()))
    print(
        f"{'forecaster':{width}} {'RMSE':>10} {'MAE':>10} {'MAPE %':>8} {'skill':>8} "
        f"{'p better':>8} {'vs pers.':>8} {'hit %':>7} {'up %':>7} {'PT p':>7}"
    )

    def cell(v: float, fmt: str) -> str:
        return "" if v != v else format(v, fmt)

    for key, m in result.metrics.items():
        # undefined when every call was "up" (or "down"): the sentences below say why
        pt = "n/a" if m.pt_pvalue != m.pt_pvalue and m.direction_n else cell(m.pt_pvalue, ".3f")
        print(
            f"{labels[key]:{width}} {_number(m.rmse)} {_number(m.mae)} {m.mape:8.3f} "
            f"{m.skill:8.4f} {cell(m.dm_better_pvalue, '.3f'):>8} {m.verdict or '':>8} "
            f"{cell(m.directional_accuracy * 100, '.1f'):>7} {cell(m.up_share * 100, '.1f'):>7} "
            f"{pt:>7}"
        )
    print(
        "p better: one-sided Diebold-Mariano p that the squared errors are smaller than "
        "persistence's; vs pers.: better or worse where one side's p is below 0.05, else tie "
        f"(long-run variance: {dm_variance(result.n)})"
    )
    print(
        "hit %: direction called right where forecast and market moved; up %: what always up "
        "scores there; PT p: Pesaran-Timmermann test of direction skill given that share"
    )
    for name, curve in (("strategy", result.strategy), ("buy and hold", result.buy_and_hold)):
        s = curve.stats
        print(
            f"{name:14} total return {s.total_return:+.1%}  Sharpe {s.sharpe:.2f}  "
            f"max drawdown {s.max_drawdown:.1%}  trades {s.trades} (exit at the last close "
            "included)"
        )
    ppy, basis = outcome.manifest.periods_per_year, outcome.manifest.periods_per_year_basis
    if ppy is not None and basis:
        print(f"annualised with {ppy:,.4g} bars a year: {basis}")
    for sentence in result.sentences(outcome.model_name):
        print(sentence)
    if result.bands is not None:
        print(result.bands.sentence(outcome.model_name))
        if result.bands.raw is not None:
            print(result.bands.calibration_sentence(outcome.model_name))
        else:
            print("The bands are the forecasters' own (--calibrate none).")
        print(result.bands.vol_sentence())
    if where:  # the folder, once (several targets print it after them all)
        print(f"run written to {out}")


def _add_backtest_options(p: argparse.ArgumentParser) -> None:
    """The model, training, backtest and trading options of ``stockapp backtest``."""
    p.add_argument("--model", choices=("lstm", "gru", "rnn"), help="network type")
    p.add_argument("--window", type=int, metavar="N", help="input window in bars")
    p.add_argument("--hidden", type=int, metavar="N", help="hidden units per layer")
    p.add_argument("--layers", type=int, metavar="N", help="recurrent layers")
    p.add_argument("--dropout", type=float, metavar="X", help="dropout between layers")
    p.add_argument("--epochs", type=int, metavar="N", help="most epochs of the first fit")
    p.add_argument(
        "--batch-size", type=int, metavar="N", help="windows per training step (default 64)"
    )
    p.add_argument("--lr", type=float, metavar="X", help="learning rate")
    p.add_argument("--patience", type=int, metavar="N", help="early-stopping patience (0 = off)")
    p.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed of the weights' start and the batches' order; the same seed repeats a run "
        "on the same machine (default 0)",
    )
    p.add_argument("--target", choices=("return", "price"), help="what the network forecasts")
    p.add_argument(
        "--head",
        choices=("point", "gaussian", "student-t"),
        help="one forecast, or a distribution of the next log return with bands",
    )
    p.add_argument(
        "--head-base",
        choices=("none", "garch"),
        help="a distribution head's units: the log return, or GARCH(1,1)'s sigma it scales",
    )
    p.add_argument(
        "--calibrate",
        choices=("aci", "none"),
        help="calibrate the bands online from past outcomes (default aci with a distribution "
        "head) or keep the head's own",
    )
    p.add_argument(
        "--features",
        metavar="A,B",
        help="e.g. log_return,hl_range (default log_return; log_return,hl_range,abs_return "
        "with a distribution head on data with High/Low)",
    )
    p.add_argument("--raw-close", action="store_true", help="raw instead of adjusted closes")
    add_input_options(p)  # --with-sample/--with-csv/--with-ticker and --calendar
    p.add_argument(
        "--global",
        dest="global_model",
        action="store_true",
        help="with several targets: one network trained across all of them (each scaled on its "
        "own past, the series' identity as an input) instead of a model each",
    )
    p.add_argument(
        "--ridge",
        action="store_true",
        help="also score ridge regression on the model's inputs, refitted with it (on by "
        "default with --with-*)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="the share of the bars at the end forecast out of sample (default 0.2)",
    )
    p.add_argument(
        "--test-start", metavar="YYYY-MM-DD", help="first test date (beats the fraction)"
    )
    p.add_argument("--refit-every", type=int, default=0, metavar="K", help="0 = train once")
    p.add_argument(
        "--refit-mode",
        choices=("expanding", "rolling"),
        default="expanding",
        help="refits draw on every earlier bar (expanding, the default) or on recent ones",
    )
    p.add_argument("--refit-epochs", type=int, default=1, metavar="N", help="epochs per refit")
    p.add_argument(
        "--refit-bars", type=int, default=250, metavar="N", help="recent bars a refit tunes on"
    )
    p.add_argument("--long-short", action="store_true", help="trade long/short, not long/flat")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.0,
        metavar="X",
        help="predicted log return needed to take a position",
    )
    p.add_argument(
        "--cost-bps",
        type=float,
        default=5.0,
        metavar="X",
        help="costs in basis points per unit of turnover",
    )
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 or mps")
    p.add_argument("--out", required=True, metavar="DIR", help="the run folder to write")
    p.add_argument("--no-png", action="store_true", help="skip backtest.png")
    p.add_argument(
        "--quiet", action="store_true", help="no progress lines (shown on a terminal only)"
    )

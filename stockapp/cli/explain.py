"""``stockapp explain``: look inside the model of a saved run, or compare RNN, GRU and LSTM.

``stockapp explain RUN_DIR [--date YYYY-MM-DD] --out DIR`` reopens the run's model and prices
(the prices it names, checked against the fingerprint it saved, and so the other series it read
as inputs) and writes, for the forecast of one test bar (default: the last), with the weights of
the fit that made it (a run keeps every fit's weights; ``explain.json`` names it:
``fit_index``, its ``trained_through``):
``attribution.csv`` (lag, feature, input, attribution, gradient_x_input), ``explain.json``,
``states.npz`` (``layer0_forget`` ...: time x units), ``gradient_flow.csv`` (lag, grad_norm),
``gradient_flow_epochs.csv`` (epoch, lag, grad_norm: that fit's curve after each epoch of its
training, when its model file recorded them) and ``explain.png``. Every file is written
atomically.

``stockapp explain --compare-kinds (--sample NAME | --csv PATH) --out DIR`` trains a plain RNN,
a GRU and an LSTM of the same size on the same bars and writes ``gradient_flow_kinds.csv``
(kind, lag, grad_norm: each kind's curve after its last epoch),
``gradient_flow_kinds_epochs.csv`` (the same after every epoch) and
``gradient_flow_kinds.png``. Parsing and files only; the work is in
:mod:`stockapp.models.explain`. Registered in :mod:`stockapp.cli` by
:func:`add_explain_command`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from stockapp.errors import StockappError


def add_explain_command(commands) -> None:
    """Add the ``explain`` subcommand to the ``stockapp`` parser's subcommands."""
    p = commands.add_parser(
        "explain",
        help="what a run's forecast looked at, its gates, and how far gradients reach back",
    )
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a run folder from backtest")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the test bar (default: the last)")
    p.add_argument(
        "--compare-kinds",
        action="store_true",
        help="train RNN, GRU and LSTM on --sample/--csv and compare their gradient flow",
    )
    p.add_argument("--sample", metavar="NAME", help="with --compare-kinds: a bundled sample")
    p.add_argument("--csv", metavar="PATH", help="with --compare-kinds: a CSV of prices")
    p.add_argument("--epochs", type=int, metavar="N", help="with --compare-kinds (default 5)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the files")
    p.add_argument("--no-png", action="store_true", help="skip the picture")
    p.set_defaults(func=_cmd_explain, parser=p)


def _out_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise StockappError(f"--out {out} is a file; give a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StockappError(f"Could not create {out}: {exc.strerror or exc}.") from None
    return out


def _cmd_explain(args: argparse.Namespace) -> int:
    if args.compare_kinds:
        if args.run_dir or args.date:
            args.parser.error("--compare-kinds takes --sample or --csv, not a run folder or --date")
        if (args.sample is None) == (args.csv is None):
            args.parser.error("--compare-kinds needs one of --sample NAME or --csv PATH")
        return _compare(args)
    if not args.run_dir:
        args.parser.error("give a run folder (RUN_DIR), or --compare-kinds with --sample/--csv")
    if args.sample or args.csv or args.epochs is not None:
        args.parser.error("--sample, --csv and --epochs only apply to --compare-kinds")
    return _explain_run(args)


def load_run_model(folder: Path):
    """``(forecaster, prices, result)`` of a saved run, its prices (and the other series it
    read as inputs) reloaded and checked; the forecaster keeps every fit's weights the run
    saved (see ``choose_fit``)."""
    from stockapp.core.runs import load_run
    from stockapp.models.forecaster import RecurrentForecaster
    from stockapp.session.loading import load_series
    from stockapp.session.run_inputs import reload_inputs

    result, manifest = load_run(folder)
    if not (folder / "model").is_dir():
        raise StockappError(f"{folder} has no saved model (model/), so there is nothing to open.")
    model = RecurrentForecaster.load(folder / "model")
    data = manifest.data
    source = "" if data is None else data.source
    if data is None or data.data_source.kind not in ("sample", "csv"):
        raise StockappError(
            f"The run's prices came from {source or 'an unknown source'}; explain can reopen "
            "runs on a bundled sample or a CSV file."
        )
    series = load_series(data.data_source)
    if data.fingerprint and series.fingerprint != data.fingerprint:
        raise StockappError(
            f"The prices in {source} have changed since the run was made, so its forecasts "
            "cannot be explained from them."
        )
    # the other series and calendar inputs it was trained with, aligned as in training
    inputs = reload_inputs(manifest, model.spec.adjusted, whole=True)
    return model, inputs.align(series.prices(model.spec.adjusted), series.name), result


def _explain_run(args: argparse.Namespace) -> int:
    from stockapp.core.bars import format_dates
    from stockapp.core.explain_text import completeness_text
    from stockapp.models.explain import choose_fit, explain_forecast

    folder = Path(args.run_dir)
    model, prices, result = load_run_model(folder)
    dates = format_dates(result.dates, intraday=result.intraday)
    date = args.date or dates[-1]
    if date not in dates:
        raise StockappError(
            f"{date} is not a test bar of this run; its test bars run from {dates[0]} to "
            f"{dates[-1]} (YYYY-MM-DD)."
        )
    bar = dates.index(date)
    first = int(prices.index.get_loc(result.dates[0]))
    end = first + bar - 1
    # The fit that made this forecast; its gradient flow is measured on its own training
    # windows, which end before its first test bar.
    fit = choose_fit(model, result, bar)
    model = fit.forecaster
    ex = explain_forecast(model, prices, end, flow_before=int(prices.index.get_loc(fit.start)))
    out = _out_dir(args.out)
    write_explanation(ex, out, fit.record())
    curves = [] if model.last_result is None else model.last_result.gradient_flow_epochs
    if curves:
        write_epoch_flows(curves, out / "gradient_flow_epochs.csv")
    if not args.no_png:
        from stockapp.cli.png import explanation_png

        explanation_png(ex, out / "explain.png", epochs=curves)
    if fit.note:
        print(fit.note)
    a = ex.attribution
    print(
        f"{date}: forecast {a.output:+.6f} ({ex.forecast_price:,.2f}), flat-past baseline "
        f"{a.baseline_output:+.6f}; {completeness_text(a.steps, a.completeness_error)}"
    )
    if fit.count > 1:
        made = f"fit {fit.index + 1} of {fit.count}" + (
            f", trained through {fit.fit.trained_through}" if fit.fit is not None else ""
        )
        print(f"made by {made} (fit_index {fit.index} in explain.json)")
    print(f"written to {out}")
    return 0


def write_epoch_flows(curves: list[list[float]], path: Path) -> None:
    """``epoch, lag, grad_norm``: the model's gradient through time after each training epoch."""
    import pandas as pd

    from stockapp.core.runs import write_csv

    c = np.asarray(curves, dtype=np.float64)
    n, w = c.shape
    frame = pd.DataFrame(
        {
            "epoch": np.repeat(np.arange(1, n + 1), w),
            "lag": np.tile(np.arange(1, w + 1), n),
            "grad_norm": c.ravel(),
        }
    )
    write_csv(path, frame, index=False, float_format="%.17g")


def write_explanation(ex, out: Path, extra: dict | None = None) -> None:
    """The CSV, JSON and NPZ files of one explanation (full float precision)."""
    import pandas as pd

    from stockapp.core.atomic import atomic_open
    from stockapp.core.runs import write_csv, write_json

    a = ex.attribution
    w, f = a.inputs.shape
    lags = np.repeat(a.lags, f)
    table = pd.DataFrame(
        {
            "lag": lags,
            "date": np.repeat(ex.input_dates, f),
            "feature": np.tile(ex.features, w),
            "input": ex.raw_inputs.ravel(),
            "attribution": a.attribution.ravel(),
            "gradient_x_input": a.gradient_x_input.ravel(),
        }
    ).sort_values(["lag", "feature"], kind="stable")
    write_csv(out / "attribution.csv", table, index=False, float_format="%.17g")
    flow = pd.DataFrame({"lag": np.arange(1, ex.flow.size + 1), "grad_norm": ex.flow})
    write_csv(out / "gradient_flow.csv", flow, index=False, float_format="%.17g")
    write_json(out / "explain.json", {**ex.summary(), **(extra or {})})
    arrays = {
        f"layer{k}_{name}": values
        for k, layer in enumerate(ex.states)
        for name, values in layer.items()
    }
    with atomic_open(out / "states.npz", "wb") as fh:
        np.savez(fh, **arrays)


def _compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from stockapp.core.features import FeatureSpec
    from stockapp.core.progress import drain
    from stockapp.core.runs import write_csv
    from stockapp.core.walkforward import BacktestSettings, first_fit_span
    from stockapp.data import load_csv, load_sample
    from stockapp.models.explain import COMPARE_EPOCHS, compare_kinds
    from stockapp.models.trainer import TrainConfig

    epochs = COMPARE_EPOCHS if args.epochs is None else args.epochs
    if epochs < 1:
        raise StockappError(f"--epochs must be at least 1, not {epochs}.")
    series = load_sample(args.sample) if args.sample else load_csv(args.csv)
    spec = FeatureSpec()
    prices = series.prices(spec.adjusted)
    # The comparison learns from the span a default backtest's first fit trains on.
    past = prices.iloc[first_fit_span(prices.index, BacktestSettings())]
    cfg = TrainConfig(device="cpu")
    show = sys.stderr.isatty()

    def report(p) -> None:
        if show and p.flow is not None:
            print(f"  {p.kind} epoch {p.epoch}/{p.epochs}", file=sys.stderr, flush=True)

    result = drain(compare_kinds(past, spec, cfg, epochs=epochs), report)
    out = _out_dir(args.out)
    kinds = list(result.epochs)
    final = np.stack([result.flows[k] for k in kinds])  # (K, W)
    lags = np.arange(1, final.shape[1] + 1)
    kinds_table = pd.DataFrame(
        {"kind": np.repeat(kinds, lags.size), "lag": np.tile(lags, len(kinds)),
         "grad_norm": final.ravel()}
    )  # fmt: skip
    write_csv(out / "gradient_flow_kinds.csv", kinds_table, index=False, float_format="%.17g")
    per_epoch = [
        pd.DataFrame(
            {
                "kind": kind,
                "epoch": np.repeat(np.arange(1, c.shape[0] + 1), c.shape[1]),
                "lag": np.tile(lags, c.shape[0]),
                "grad_norm": c.ravel(),
            }
        )  # fmt: skip
        for kind, c in result.epochs.items()
    ]
    write_csv(
        out / "gradient_flow_kinds_epochs.csv",
        pd.concat(per_epoch),
        index=False,
        float_format="%.17g",
    )
    if not args.no_png:
        from stockapp.cli.png import kinds_png

        title = (
            f"{series.name}: plain RNN vs GRU vs LSTM, {cfg.layers} x {cfg.hidden} units, "
            f"{epochs} epoch{'s' if epochs != 1 else ''} on {len(past):,} bars"
        )
        kinds_png(result, out / "gradient_flow_kinds.png", title=title)
    from stockapp.core.explain_text import kinds_sentence

    print(kinds_sentence(result.flows))
    print(f"written to {out}")
    return 0

"""`stockapp explain`: a reopened run explains its forecast with the same numbers, and bad input
gets one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.cli import main
from stockapp.core.bars import format_dates
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_sample
from stockapp.models.cell_states import STATE_NAMES
from stockapp.models.explain import explain_forecast
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny two-layer GRU backtest on MSFT, saved, with the outcome kept in memory."""
    series = load_sample("MSFT")
    spec = FeatureSpec(window=10, features=("log_return", "hl_range"))
    cfg = TrainConfig(model="gru", hidden=4, layers=2, epochs=2, seed=1, device="cpu")
    outcome = drain(run_backtest(series, spec, cfg, BacktestSettings(test_fraction=0.05)))
    folder = tmp_path_factory.mktemp("explain") / "run"
    outcome.save(folder)
    return outcome, series.prices(spec.adjusted), folder


def test_a_reopened_run_explains_with_identical_numbers(run, tmp_path, capsys):
    outcome, prices, folder = run
    dates = format_dates(outcome.result.dates)
    date = dates[7]
    first = int(prices.index.get_loc(outcome.result.dates[0]))
    live = explain_forecast(outcome.forecaster, prices, first + 7 - 1, flow_before=first)
    assert live.date == date
    out = tmp_path / "ex"
    assert main(["explain", str(folder), "--date", date, "--out", str(out), "--no-png"]) == 0
    assert date in capsys.readouterr().out

    table = pd.read_csv(out / "attribution.csv")
    assert list(table.columns) == [
        "lag", "date", "feature", "input", "attribution", "gradient_x_input"
    ]  # fmt: skip
    assert len(table) == 10 * 2 and table["lag"].iloc[0] == 1
    for j, name in enumerate(("log_return", "hl_range")):
        rows = table[table["feature"] == name].sort_values("lag", ascending=False)
        np.testing.assert_array_equal(rows["attribution"], live.attribution.attribution[:, j])
        np.testing.assert_array_equal(
            rows["gradient_x_input"], live.attribution.gradient_x_input[:, j]
        )
        np.testing.assert_array_equal(rows["input"], live.raw_inputs[:, j])
    # the raw input of lag 1 is the feature of the bar before the forecast bar
    row = prices.index.get_loc(outcome.result.dates[7]) - 1
    lag1 = table[(table["lag"] == 1) & (table["feature"] == "log_return")]["input"].iloc[0]
    close = prices["Close"].to_numpy()
    assert lag1 == pytest.approx(np.log(close[row] / close[row - 1]), rel=1e-12)

    summary = json.loads((out / "explain.json").read_text())
    assert summary["output"] == live.attribution.output
    assert summary["baseline_output"] == live.attribution.baseline_output
    assert summary["forecast_price"] == live.forecast_price
    assert summary["model_kind"] == "gru" and summary["steps"] >= 64 and summary["date"] == date
    assert "model_note" not in summary  # one fit: the saved model made every forecast
    # completeness, from the files alone
    total = table["attribution"].sum()
    diff = summary["output"] - summary["baseline_output"]
    assert abs(total - diff) <= 0.01 * abs(diff)
    # the forecast explained is the forecast the backtest made (float64 copy vs float32 net)
    saved = pd.read_csv(folder / "forecasts.csv")
    assert summary["forecast_price"] == pytest.approx(saved["forecast"].iloc[7], rel=1e-6)

    states = np.load(out / "states.npz")
    assert sorted(states.files) == sorted(
        f"layer{k}_{n}" for k in range(2) for n in STATE_NAMES["gru"]
    )
    for k in range(2):
        for name in STATE_NAMES["gru"]:
            assert states[f"layer{k}_{name}"].shape == (10, 4)
            np.testing.assert_array_equal(states[f"layer{k}_{name}"], live.states[k][name])
    flow = pd.read_csv(out / "gradient_flow.csv")
    assert list(flow.columns) == ["lag", "grad_norm"] and list(flow["lag"]) == list(range(1, 11))
    np.testing.assert_array_equal(flow["grad_norm"], live.flow)
    # and the curve after each epoch of the model's own training, saved with the model
    epochs = pd.read_csv(out / "gradient_flow_epochs.csv")
    assert list(epochs.columns) == ["epoch", "lag", "grad_norm"]
    curves = outcome.forecaster.last_result.gradient_flow_epochs
    assert len(curves) >= 1 and set(epochs["epoch"]) == set(range(1, len(curves) + 1))
    np.testing.assert_array_equal(
        epochs.pivot(index="epoch", columns="lag", values="grad_norm").to_numpy(),
        np.array(curves),
    )


def test_default_date_is_the_last_test_bar_and_a_picture_is_drawn(run, tmp_path):
    outcome, _, folder = run
    out = tmp_path / "ex"
    assert main(["explain", str(folder), "--out", str(out)]) == 0
    summary = json.loads((out / "explain.json").read_text())
    assert summary["date"] == format_dates(outcome.result.dates)[-1]
    png = (out / "explain.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_compare_kinds_writes_the_curves(tmp_path, aapl_csv):
    short = tmp_path / "short.csv"
    pd.read_csv(aapl_csv).iloc[:260].to_csv(short, index=False)
    out = tmp_path / "kinds"
    code = main(["explain", "--compare-kinds", "--csv", str(short), "--epochs", "1",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    table = pd.read_csv(out / "gradient_flow_kinds.csv")
    assert list(table.columns) == ["kind", "lag", "grad_norm"]
    assert sorted(set(table["kind"])) == ["gru", "lstm", "rnn"]
    assert len(table) == 3 * FeatureSpec().window and (table["grad_norm"] > 0).all()
    epochs = pd.read_csv(out / "gradient_flow_kinds_epochs.csv")
    assert set(epochs["epoch"]) == {1}
    assert (out / "gradient_flow_kinds.png").read_bytes().startswith(b"\x89PNG")


def _fails(capsys, argv: list[str], words: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert words in err, err


def test_bad_input_gets_one_line(run, tmp_path, capsys):
    _, _, folder = run
    out = str(tmp_path / "x")
    _fails(capsys, ["explain", str(tmp_path / "nope"), "--out", out], "does not exist")
    _fails(capsys, ["explain", str(folder), "--date", "1999-01-01", "--out", out],
           "not a test bar")  # fmt: skip
    _fails(capsys, ["explain", "--out", out], "give a run folder")
    _fails(capsys, ["explain", "--compare-kinds", "--out", out], "--sample NAME or --csv")
    _fails(capsys, ["explain", str(folder), "--compare-kinds", "--sample", "AAPL", "--out", out],
           "not a run folder")  # fmt: skip
    _fails(capsys, ["explain", str(folder), "--sample", "AAPL", "--out", out], "only apply")
    _fails(capsys, ["explain", "--compare-kinds", "--sample", "NOPE", "--out", out], "NOPE")
    (tmp_path / "file").write_text("x")
    _fails(capsys, ["explain", str(folder), "--out", str(tmp_path / "file")], "is a file")


def test_changed_prices_are_refused(tmp_path, capsys, aapl_csv):
    csv = tmp_path / "p.csv"
    pd.read_csv(aapl_csv).iloc[:400].to_csv(csv, index=False)
    run_dir = tmp_path / "run"
    tiny = ["--window", "10", "--hidden", "2", "--layers", "1", "--epochs", "1"]
    argv = ["backtest", "--csv", str(csv), *tiny, "--device", "cpu", "--quiet", "--no-png",
            "--out", str(run_dir)]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    frame = pd.read_csv(csv)
    frame.loc[5, "Close"] *= 1.01
    frame.to_csv(csv, index=False)
    _fails(capsys, ["explain", str(run_dir), "--out", str(tmp_path / "x")], "have changed")


@pytest.fixture(scope="module")
def refitted(tmp_path_factory):
    """A backtest refitted every 40 bars (four fits) on MSFT, saved through the command line."""
    folder = tmp_path_factory.mktemp("refits") / "run"
    argv = ["backtest", "--sample", "MSFT", "--test-fraction", "0.05", "--refit-every", "40",
            "--window", "10", "--hidden", "4", "--layers", "1", "--epochs", "2", "--seed", "2",
            "--device", "cpu", "--quiet", "--no-png", "--out", str(folder)]  # fmt: skip
    assert main(argv) == 0
    return folder


def test_every_forecast_is_explained_with_the_fit_that_made_it(refitted, tmp_path, capsys):
    """Issue 18.2: after refits, `explain --date` explained the last refit's model whatever the
    date (119.60 where forecasts.csv had 119.54); now the fit that made the forecast."""
    capsys.readouterr()
    saved = pd.read_csv(refitted / "forecasts.csv")
    manifest = json.loads((refitted / "manifest.json").read_text())
    fits = manifest["fits"]
    n = len(fits)
    assert n >= 3 and sorted(set(saved["segment"])) == list(range(n))
    starts = [int(np.flatnonzero(saved["segment"] == k)[0]) for k in range(n)]
    for i in sorted({0, 1, starts[1] - 1, starts[1], starts[2], starts[2] + 5, len(saved) - 1}):
        date = saved["date"].iloc[i]
        out = tmp_path / f"ex{i}"
        assert main(["explain", str(refitted), "--date", date, "--out", str(out), "--no-png"]) == 0
        summary = json.loads((out / "explain.json").read_text())
        k = int(saved["segment"].iloc[i])
        assert summary["fit_index"] == k and summary["fits"] == n, i
        assert summary["trained_through"] == fits[k]["trained_through"]
        assert summary["weights_through"] == fits[k]["weights_through"]
        assert summary["first_test_date"] == saved["date"].iloc[starts[k]]
        assert summary["forecast_price"] == pytest.approx(saved["forecast"].iloc[i], rel=1e-6)
        assert "model_note" not in summary
        assert f"made by fit {k + 1} of {n}" in capsys.readouterr().out


def test_an_older_run_without_every_fits_weights_explains_and_says_what_it_lacks(
    refitted, tmp_path, capsys
):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(refitted, old)
    # As written before runs kept every fit (and before fits recorded weights_through).
    for name in ("fits.safetensors", "fits.json"):
        (old / "model" / name).unlink()
    meta = json.loads((old / "model" / "model.json").read_text())
    del meta["fits"]
    (old / "model" / "model.json").write_text(json.dumps(meta))
    manifest = json.loads((old / "manifest.json").read_text())
    for fit in manifest["fits"]:
        del fit["weights_through"], fit["catchup_epochs"], fit["catchup_seconds"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    saved = pd.read_csv(old / "forecasts.csv")
    capsys.readouterr()

    first = tmp_path / "first"
    assert main(["explain", str(old), "--date", saved["date"].iloc[0], "--out", str(first),
                 "--no-png"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    note = json.loads((first / "explain.json").read_text())["model_note"]
    assert note.startswith("This run was saved before runs kept every fit's weights, so the ")
    n = len(manifest["fits"])
    assert (
        f"made by fit 1 of {n} (trained through {manifest['fits'][0]['trained_through']})" in note
    )
    assert note.endswith("and its numbers differ from forecasts.csv.")
    assert "saved before fits recorded weights_through" not in note  # the last fit is used
    assert note in printed
    last = tmp_path / "last"
    assert main(["explain", str(old), "--out", str(last), "--no-png"]) == 0
    summary = json.loads((last / "explain.json").read_text())
    assert "model_note" not in summary and summary["weights_through"] is None
    assert summary["forecast_price"] == pytest.approx(saved["forecast"].iloc[-1], rel=1e-6)


def test_an_older_run_without_weights_through_says_what_it_lacks(run, tmp_path, capsys):
    import shutil

    _, _, folder = run
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["fits"][0]["weights_through"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(["explain", str(old), "--out", str(tmp_path / "ex"), "--no-png"]) == 0
    note = json.loads((tmp_path / "ex" / "explain.json").read_text())["model_note"]
    val = manifest["fits"][0]["validated_from"]
    assert note == (
        "This run was saved before fits recorded weights_through: its first fit's weights "
        f"learnt only from targets before {val} (its validation slice only chose the epoch "
        "count), not through the bar before its test span."
    )
    assert note in capsys.readouterr().out

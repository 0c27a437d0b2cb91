"""A sweep's run split at its test span: each part scored on its own bars, as the sweep does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.core.backtest import assemble_result
from stockapp.core.distribution import BandForecasts
from stockapp.core.manifest import RunManifest
from stockapp.core.selection import span_scores
from stockapp.core.sweep_plan import ROW_FILE
from stockapp.core.sweep_run import split_result, sweep_spans
from stockapp.core.trading import TradingRule

N, START = 120, 50


def _result(bands: bool = False):
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2020-01-01", periods=N)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, N + 1)))
    previous, realised = close[:-1], close[1:]
    model = previous * np.exp(rng.normal(0, 0.01, N))
    forecasts = {"model": model, "persistence": previous, "drift": previous * 1.0002}
    rule = TradingRule()
    refits = [dates[0], dates[30], dates[START], dates[90]]
    result = assemble_result(dates, realised, previous, forecasts, rule, refits, [], 252.0)
    if bands:
        mu, sigma = np.zeros(N), np.full(N, 0.01)
        dists = {"model": (mu, sigma, None), "garch": (mu, sigma * 1.2, np.full(N, 6.0))}
        result = result.__class__(
            **{**result.__dict__, "bands": BandForecasts.build(dists, previous, realised, rule)}
        )
    return result


def test_each_part_is_scored_on_its_own_bars_as_the_sweep_scores_them():
    result = _result()
    sel, test = split_result(result, START, 252.0)
    assert (sel.n, test.n) == (START, N - START)
    assert test.dates[0] == result.dates[START] and sel.dates[-1] == result.dates[START - 1]
    for part, where in ((sel, slice(0, START)), (test, slice(START, N))):
        row = span_scores(
            result.realised[where],
            result.forecasts["model"][where],
            result.previous[where],
            result.rule,
            252.0,
        )
        m = part.metrics["model"]
        assert m.rmse == pytest.approx(row.rmse, rel=1e-12)
        assert part.metrics["persistence"].rmse == pytest.approx(row.naive_rmse, rel=1e-12)
        assert m.dm_pvalue == pytest.approx(row.dm_pvalue, rel=1e-12)
        assert part.strategy.stats.sharpe == pytest.approx(row.strategy_sharpe, rel=1e-12)
    # the refits that made each part's forecasts, starting at its first bar
    assert sel.refit_dates == [result.dates[0], result.dates[30]]
    assert test.refit_dates == [result.dates[START], result.dates[90]]
    assert list(test.segment_ids()[[0, 39, 40]]) == [0, 0, 1]
    with pytest.raises(ValueError):
        split_result(result, 0)


def test_bands_are_split_and_scored_too():
    result = _result(bands=True)
    sel, test = split_result(result, START)
    assert test.bands.dists["model"][1].shape == (N - START,)
    mu, sigma, nu = result.bands.dists["garch"]
    alone = BandForecasts.build(
        {
            "model": (mu[START:] * 0, sigma[START:] / 1.2, None),
            "garch": (mu[START:], sigma[START:], nu[START:]),
        },
        test.previous,
        test.realised,
        result.rule,
    )
    assert test.bands.scores["garch"] == alone.scores["garch"]
    assert sel.bands.realised_return.shape == (START,)


def test_a_run_is_split_only_inside_its_sweep(tmp_path):
    result = _result()
    run = tmp_path / "sweep" / "runs" / "abc"
    run.mkdir(parents=True)
    manifest = RunManifest(periods_per_year=252.0)
    assert sweep_spans(run, result, manifest) is None  # not a sweep's run: no row
    (run / ROW_FILE).write_text(json.dumps({"series": "S", "status": "ok"}))
    assert sweep_spans(run, result, manifest) is None  # no summary.json to name the span
    span = {"test_from": f"{result.dates[START]:%Y-%m-%d}", "selection_bars": START}
    summary = {"series": [{"series": "T"}, {"series": "S", "selection_span": span}]}
    (tmp_path / "sweep" / "summary.json").write_text(json.dumps(summary))
    spans = sweep_spans(run, result, manifest)
    assert spans is not None and (spans.selection.n, spans.test.n) == (START, N - START)
    text = spans.sentence()
    ratio = spans.test.metrics["model"].rmse / spans.test.metrics["persistence"].rmse
    assert text.startswith(
        f"This run is one of an experiment's: the scores are on its test span ({N - START} "
        f"bars; RMSE {ratio:.4f}x of persistence's, DM p "
    )
    assert f"the selection span before it, {result.dates[0]:%Y-%m-%d} to " in text
    verdict = spans.test.metrics["model"].verdict
    assert f"that its errors are smaller: {verdict}), as in the experiment's table" in text
    span["test_from"] = "1999-01-04"  # a date the run did not forecast
    (tmp_path / "sweep" / "summary.json").write_text(json.dumps(summary))
    assert sweep_spans(run, result, manifest) is None

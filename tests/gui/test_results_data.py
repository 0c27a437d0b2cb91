"""Every result says which data it came from, one job runs at a time, and Run backtest says
what it will do (issue 8 items 4, 5 and 6; issue 7 item 6 in the window)."""

from __future__ import annotations

import json
import math

import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BACKTEST_RUNS, TRAINING_RUNS, BacktestController
from stockapp.gui.backtest.metrics_table import (
    BINOMIAL_COLUMN,
    FORECAST_COLUMNS,
    PT_COLUMN,
    UP_COLUMN,
    fmt_p,
)
from stockapp.gui.backtest.panel import FRESH_PLAN, TRAINED_PLAN
from stockapp.gui.training.adapter import TrainingController
from stockapp.models.trainer import TrainConfig

SPEC = FeatureSpec(window=10, features=("log_return",))
CFG = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=32, device="cpu", patience=0)


@pytest.fixture
def app(qtbot, short_aapl_csv):
    """The real window (controllers and all) with the short AAPL CSV loaded."""
    window = create_main_window(csv=str(short_aapl_csv), quiet=True)
    qtbot.addWidget(window)
    training = window.findChild(TrainingController)
    backtest = window.findChild(BacktestController)
    training.panel.set_values(SPEC, CFG)
    backtest.panel.set_settings(BacktestSettings(test_fraction=0.2))
    return window, training, backtest


def _train(qtbot, training):
    with qtbot.waitSignal(training.training_ended, timeout=60000):
        assert training.start_training()
    assert training.wait(5000)


def _backtest(qtbot, backtest):
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000) as done:
        assert backtest.start_backtest()
    assert backtest.wait(5000)
    return done.args[0]


@pytest.mark.usefixtures("no_leaked_threads")
def test_one_job_at_a_time(qtbot, app):
    window, training, backtest = app
    run, train = backtest.panel.run_button, training.panel.train_button
    assert run.isEnabled() and train.isEnabled()
    with qtbot.waitSignal(training.training_ended, timeout=60000):
        assert training.start_training()
        assert not run.isEnabled()
        assert run.toolTip() == TRAINING_RUNS == "A model is training; wait for it or cancel it."
        assert not backtest.start_backtest()  # refused in code too, with the same sentence
        assert window.last_error == TRAINING_RUNS
    assert training.wait(5000)
    assert run.isEnabled() and run.toolTip() == FRESH_PLAN

    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000):
        assert backtest.start_backtest()
        assert not train.isEnabled()
        assert train.toolTip() == BACKTEST_RUNS
        assert not training.start_training()
        assert window.last_error == BACKTEST_RUNS
    assert backtest.wait(5000)
    assert train.isEnabled() and run.isEnabled()


def test_run_backtest_says_what_it_does_and_offers_the_model_just_trained(qtbot, app):
    window, training, backtest = app
    panel = backtest.panel
    assert "trains a fresh model" in panel.run_button.toolTip()
    assert "on the bars before the test span" in panel.plan_label.text()
    box = panel.use_trained_check
    assert not box.isEnabled() and "Train a model first" in box.toolTip()

    _train(qtbot, training)
    span = f"{window.series.dates[0]:%Y-%m-%d} to {window.series.dates[319]:%Y-%m-%d}"
    assert box.isEnabled()
    assert box.text() == f"Use the model just trained\n(trained on {span})"
    box.setChecked(True)
    assert panel.run_button.toolTip() == TRAINED_PLAN == panel.plan_label.text()

    # Another test span: the model learnt from bars the backtest would test on, or not from
    # all of its training past, so it may not stand in for the first fit.
    panel.fraction_spin.setValue(10.0)
    assert not box.isEnabled() and not box.isChecked()
    assert "train again or change the test span" in box.toolTip()
    panel.fraction_spin.setValue(20.0)
    assert box.isEnabled()
    box.setChecked(True)

    window.tabs.setCurrentWidget(training.tab)
    outcome = _backtest(qtbot, backtest)
    assert outcome is not None
    assert window.tabs.currentWidget() is backtest.tab  # the results come forward
    # The first fit is the Model page's training, not a new one; the model there is unchanged.
    assert outcome.result.fits[0].epochs == len(training.result.train_losses)
    # Its weights learnt through the bar before the test span, as a fresh first fit's do.
    last_trained = f"{window.series.dates[319]:%Y-%m-%d}"
    assert outcome.result.fits[0].weights_through == last_trained == training.result.weights_through
    assert outcome.result.fits[0].catchup_epochs == training.result.best_epoch
    assert outcome.forecaster.model is not training.forecaster
    assert backtest.panel.loss_chart.epoch_count() == len(training.result.train_losses)

    # A training cancelled while its weights learnt from the validation slice stopped short of
    # the bar before the test span: it may not stand in for the first fit.
    training.result.weights_through = training.result.validated_from
    backtest.panel.settings_changed.emit()
    assert not box.isEnabled()
    assert "stopped before its weights learnt from the bars up to" in box.toolTip()


def test_results_name_their_data_and_go_stale_with_other_data(qtbot, app, tmp_path):
    window, training, backtest = app
    _train(qtbot, training)
    assert "AAPL_short · adjusted · " in training.summary.text()
    outcome = _backtest(qtbot, backtest)
    tag = backtest.data_tag
    assert tag.text() == (
        f"AAPL_short · adjusted · {window.series.dates[0]:%Y-%m-%d} to "
        f"{window.series.dates[-1]:%Y-%m-%d}"
    )
    assert tag.text() in backtest.data_label.text()
    assert backtest.suggested_name("forecasts").startswith("AAPL_short_adjusted_")
    assert backtest.save_action.isEnabled() and training.save_action.isEnabled()
    assert not backtest.reload_button.isVisible()

    window.data_panel.load_sample("MSFT")
    assert backtest.is_stale() and training.is_stale()
    assert "previous data" in backtest.data_label.text()
    assert "MSFT" in backtest.data_label.text()
    assert "previous data" in training.summary.text()
    assert not backtest.save_action.isEnabled() and not training.save_action.isEnabled()
    assert "load that data again" in backtest.save_action.toolTip()
    assert backtest.view.forecast_count() == outcome.result.n  # kept, but marked
    assert not backtest.panel.use_trained_check.isEnabled()
    assert backtest.reload_button.text() == "Load AAPL_short (CSV)"
    assert not backtest.reload_button.isHidden()

    backtest.reload_button.click()
    assert window.series.name == "AAPL_short"
    assert not backtest.is_stale() and not training.is_stale()
    assert backtest.save_action.isEnabled() and training.save_action.isEnabled()
    assert backtest.reload_button.isHidden()

    # Raw prices on screen: the adjusted results are not theirs either.
    window.data_panel.adjusted_check.setChecked(False)
    assert backtest.is_stale() and not backtest.save_action.isEnabled()
    assert backtest.reload_button.text() == "Load AAPL_short (CSV)"
    backtest.reload_button.click()
    assert window.adjusted and not backtest.is_stale()

    png = tmp_path / "chart.png"
    assert backtest.export_png_to(png)


def test_an_opened_run_shows_its_data_and_offers_to_load_it(qtbot, app, tmp_path):
    window, training, backtest = app
    _backtest(qtbot, backtest)
    folder = tmp_path / "run"
    assert backtest.save_run_to(folder)
    window.data_panel.load_sample("MSFT")

    fresh = BacktestController()
    fresh.attach(window, training)
    assert fresh.open_run_from(folder)
    assert "AAPL_short · adjusted" in fresh.data_label.text()
    assert fresh.is_stale()
    assert fresh.save_action.isEnabled()  # an opened run is re-saved as it is, data named
    assert fresh.reload_button.text() == "Load AAPL_short (CSV)"
    fresh.reload_button.click()
    assert window.series.name == "AAPL_short" and not fresh.is_stale()


def test_the_table_shows_the_direction_tests_and_the_data_quality(qtbot, app, tmp_path):
    window, training, backtest = app
    outcome = _backtest(qtbot, backtest)
    table = backtest.table
    assert PT_COLUMN in FORECAST_COLUMNS
    assert BINOMIAL_COLUMN in FORECAST_COLUMNS
    for key in table.row_keys():
        m = outcome.result.metrics[key]
        if not math.isfinite(m.directional_accuracy):
            continue
        assert table.cell_text(key, PT_COLUMN) == fmt_p(m.pt_pvalue)
        assert table.cell_text(key, BINOMIAL_COLUMN) == fmt_p(m.direction_pvalue)
        assert table.cell_text(key, UP_COLUMN) == f"{m.up_share * 100:.1f}%"
    assert table.quality.text() == "Data quality: no warnings."

    # A run whose data had warnings says so above the tables, also when reopened.
    folder = tmp_path / "run"
    assert backtest.save_run_to(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["data_quality"] = {"warnings": ["3 duplicate dates removed (kept the last)"]}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert backtest.open_run_from(folder)
    assert table.quality.text() == "⚠ Data quality: 3 duplicate dates removed (kept the last)."
    del manifest["data_quality"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert backtest.open_run_from(folder)
    assert "not recorded" in table.quality.text()


def _synthetic_result():
    """A random walk with a noisy model whose calls go both ways, so every test is defined."""
    import numpy as np
    import pandas as pd

    from stockapp.core.backtest import assemble_result
    from stockapp.core.trading import TradingRule

    rng = np.random.default_rng(1)
    n = 300
    dates = pd.bdate_range("2018-01-02", periods=n + 1)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n + 1)))
    previous, realised = close[:-1], close[1:]
    forecasts = {
        "model": previous * np.exp(0.05 * np.log(realised / previous) + rng.normal(0, 0.01, n)),
        "persistence": previous.copy(),
        "drift": previous * np.exp(0.0003),
        "ar": previous * np.exp(rng.normal(0.0, 0.002, n)),
    }
    return assemble_result(dates[1:], realised, previous, forecasts, TradingRule(), [], [])


def test_the_table_shows_pesaran_timmermann_and_always_up(qtbot):
    from stockapp.gui.backtest.metrics_table import MetricsTable

    result = _synthetic_result()
    table = MetricsTable()
    qtbot.addWidget(table)
    table.set_result(result, "LSTM")
    m = result.metrics["model"]
    assert math.isfinite(m.pt_pvalue) and math.isfinite(m.up_share)
    assert table.cell_text("model", PT_COLUMN) == fmt_p(m.pt_pvalue)
    assert table.cell_text("model", UP_COLUMN) == f"{m.up_share * 100:.1f}%"
    assert table.cell_text("model", BINOMIAL_COLUMN) == fmt_p(m.direction_pvalue)
    assert fmt_p(m.pt_pvalue) != fmt_p(m.direction_pvalue)


def test_the_picture_names_its_data_and_judges_direction_by_pesaran_timmermann(qtbot):
    from PySide6.QtWidgets import QLabel

    from stockapp.core.significance import format_pvalue
    from stockapp.gui.pictures import BacktestPicture, summary_html

    result = _synthetic_result()
    m = result.metrics["model"]
    html = summary_html(result, "LSTM")
    assert f"always up {m.up_share * 100:.1f}%" in html
    assert f"Pesaran-Timmermann {format_pvalue(m.pt_pvalue)}" in html
    assert format_pvalue(m.direction_pvalue) not in html
    data = "AAPL · adjusted · 2018-01-02 to 2019-02-25"
    picture = BacktestPicture(result, "LSTM", data=data)
    assert data in picture.findChildren(QLabel)[0].text()
    picture.deleteLater()


def test_hourly_results_name_the_baseline_by_the_bar(qtbot):
    import numpy as np
    import pandas as pd

    from stockapp.core.backtest import assemble_result
    from stockapp.core.trading import TradingRule
    from stockapp.gui.backtest.metrics_table import MetricsTable
    from stockapp.gui.pictures import summary_html

    n = 84
    dates = pd.date_range("2024-03-04 10:00", periods=n + 1, freq="h")
    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.002, n + 1)))
    previous, realised = close[:-1], close[1:]
    forecasts = {k: previous * (1 + 1e-4 * i) for i, k in enumerate(("model", "persistence"))}
    forecasts.update(drift=previous * 1.0001, ar=previous * 0.9999)
    result = assemble_result(dates[1:], realised, previous, forecasts, TradingRule(), [], [])
    table = MetricsTable()
    qtbot.addWidget(table)
    table.set_result(result, "LSTM")
    assert table.row_label("persistence") == "Persistence (next bar = this bar)"
    assert "tomorrow" not in summary_html(result, "LSTM")


def test_a_run_saved_by_an_older_version_names_its_data_and_loads_it(qtbot, app):
    """A version 1 run (written by main before the manifest was typed) records its source only in
    words; the manifest reader makes it the typed identity that loads the sample again."""
    from tests.core.test_manifest import V1_RUN

    window, _training, backtest = app
    assert backtest.open_run_from(V1_RUN)
    assert "AAPL · adjusted" in backtest.data_label.text() and backtest.is_stale()
    assert backtest.reload_button.text() == "Load AAPL (sample)"
    backtest.reload_button.click()
    assert window.series.data_source.kind == "sample" and window.series.name == "AAPL"
    assert not backtest.is_stale()


def test_a_weekly_ticker_loads_again_with_its_weekly_bars(qtbot, app, monkeypatch):
    """The interval comes from the typed identity, not from the words of the source."""
    import dataclasses

    from stockapp.core.data_source import DataSource
    from stockapp.session.data_tag import DataTag
    from tests.core.test_manifest import V1_RUN

    window, _training, backtest = app
    asked: list[tuple] = []
    monkeypatch.setattr(
        window.data_panel, "load_ticker", lambda *args: asked.append(args) or object()
    )
    series = dataclasses.replace(
        window.series,
        source="words that say nothing",
        data_source=DataSource("ticker", "MSFT", "1wk", True),
    )
    assert backtest.open_run_from(V1_RUN)
    shown = window.session.results
    window.session.results = dataclasses.replace(shown, data_tag=DataTag.of(series, True))
    assert backtest.load_results_data()
    assert asked[0][0] == "MSFT" and asked[0][3] == "1wk"

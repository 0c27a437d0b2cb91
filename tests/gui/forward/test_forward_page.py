"""The Forward page: a saved run's forecasts against the outcomes, "Forecast now" through the
window's job slot (the same ledger as ``stockapp forward``), "Verify" in one sentence, bad input
in one sentence, the Runs list's "Forward record", and closing while forecasting."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
import time_machine

from stockapp.cli import main
from stockapp.core.features import FeatureSpec
from stockapp.core.ledger import chained
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_csv
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.forward.adapter import TAB_TITLE, ForwardController
from stockapp.gui.forward.view import NO_ENTRIES
from stockapp.gui.runs.library import RunsDialog
from stockapp.gui.training.adapter import TrainingController
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig
from stockapp.paths import runs_dir
from stockapp.session.forward import default_ledger
from stockapp.session.job_slot import REASONS
from tests.conftest import SAMPLES


def at(day: str):
    return time_machine.travel(datetime.fromisoformat(f"{day}T22:00:00+00:00"), tick=False)


def _csv(path, through: str) -> None:
    header, *rows = (SAMPLES / "SPY.csv").read_text().splitlines()
    path.write_text("\n".join([header, *(r for r in rows if r[:10] <= through)]) + "\n")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A calibrated Student-t run of SPY saved on 2017-12-20, and the CSV it reads (which the
    tests grow)."""
    root = tmp_path_factory.mktemp("forward_page")
    csv = root / "SPY.csv"
    _csv(csv, "2017-12-20")
    cfg = TrainConfig(hidden=4, epochs=1, seed=5, device="cpu", head="student-t")
    with at("2017-12-20"):
        outcome = drain(run_backtest(load_csv(csv), FeatureSpec(window=10), cfg,
                                     BacktestSettings(test_fraction=0.01)))  # fmt: skip
    outcome.save(root / "run")
    return root / "run", csv


@pytest.fixture
def run(saved, tmp_path):
    """A fresh copy of the saved run (its CSV back to 2017-12-20)."""
    folder, csv = saved
    _csv(csv, "2017-12-20")
    copy = tmp_path / "a" / "run"
    shutil.copytree(folder, copy)
    return copy


# every test here ends with no thread of its own still running
pytestmark = pytest.mark.usefixtures("no_leaked_threads")


@pytest.fixture
def page(window):
    ctl = ForwardController()
    ctl.attach(window)
    return ctl


def _forecast(qtbot, page) -> None:
    worker = page.forecast_now()
    assert worker is not None
    qtbot.waitUntil(lambda: not worker.is_running(), timeout=60000)


def test_the_page_is_a_tab_and_says_what_to_do_before_a_run_is_chosen(window, page):
    assert window.tabs.tabText(window.tabs.indexOf(page.view)) == TAB_TITLE
    assert page.view.empty.is_empty() and "Runs" in page.view.empty.label.text()
    assert not page.view.forecast_button.isEnabled() and not page.view.verify_button.isEnabled()


def test_forecast_now_writes_what_the_command_line_writes(qtbot, window, page, run, saved,
                                                          tmp_path, capsys):  # fmt: skip
    _, csv = saved
    other = tmp_path / "b" / "run"
    shutil.copytree(run, other)  # the same run under the same name, for the command line
    page.show_run(run)
    assert page.view.empty.label.text() == NO_ENTRIES
    for day in ("2017-12-20", "2017-12-21"):
        _csv(csv, day)
        capsys.readouterr()
        with at(day):
            worker = page.forecast_now()
            assert window.session.slot.holder == "forward"  # the window's one job slot
            assert not page.view.forecast_button.isEnabled()
            qtbot.waitUntil(lambda w=worker: not w.is_running(), timeout=60000)
            assert main(["forward", str(other)]) == 0
    printed = capsys.readouterr().out
    assert window.session.slot.holder is None
    assert default_ledger(run).read_bytes() == default_ledger(other).read_bytes()
    record = page.record
    assert record.lines()[1:] == [
        line for line in printed.splitlines() if line in record.lines()[1:]
    ]
    for line in record.lines()[1:]:
        assert line in page.view.scores.text() and line in printed
    live = [e for e in record.entries if not e["backfill"]]
    assert len(page.view.forward.getData()[0]) == len(live) == 2
    assert len(page.view.backfill.getData()[0]) == len(record.entries) - 2
    assert page.view.counts.text().startswith("1 forward bar scored, 1 waiting")
    assert page.view.start_line.isVisible()
    assert "Appended" in page.view.status.text()


def test_verify_answers_in_one_sentence_and_names_an_edited_entry(qtbot, page, run, saved):
    _, csv = saved
    _csv(csv, "2017-12-21")
    page.show_run(run)
    with at("2017-12-21"):
        _forecast(qtbot, page)
    worker = page.verify()
    qtbot.waitUntil(lambda: not worker.is_running(), timeout=60000)
    assert page.view.status.text().startswith("Verified: the ")
    ledger = default_ledger(run)
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    entries[-1]["forecast"] *= 1.01
    rows = entries[:-1] + chained(entries[-1:], entries[-2]["hash"])
    ledger.write_text("".join(json.dumps(e) + "\n" for e in rows))
    worker = page.verify()
    qtbot.waitUntil(lambda: not worker.is_running(), timeout=60000)
    text = page.view.status.text()
    assert text.startswith("Verification failed: ") and f"line {len(entries)}" in text
    assert "Traceback" not in text and "\n" not in text


def _untouched(run):
    path = default_ledger(run)
    return path.read_bytes() if path.exists() else None


def test_bad_input_is_one_sentence_and_the_ledger_untouched(qtbot, page, run, saved):
    _, csv = saved
    _csv(csv, "2017-12-21")
    page.show_run(run)
    with at("2017-12-21"):
        _forecast(qtbot, page)
    before = _untouched(run)
    with at("2017-12-20"):  # a clock earlier than the last entry
        _forecast(qtbot, page)
    assert "earlier than the last entry" in page.view.status.text()
    # another series where the run's own CSV was
    header, *rows = (SAMPLES / "AAPL.csv").read_text().splitlines()
    csv.write_text("\n".join([header, *(r for r in rows if r[:10] <= "2017-12-22")]) + "\n")
    with at("2017-12-22"):
        _forecast(qtbot, page)
    assert "is not the run's series" in page.view.status.text()
    # a model that cannot be loaded
    _csv(csv, "2017-12-22")
    for f in (run / "model").iterdir():
        if f.is_file() and f.suffix in (".pt", ".safetensors"):
            f.write_bytes(b"not a model")
    with at("2017-12-22"):
        _forecast(qtbot, page)
    assert "cannot be loaded" in page.view.status.text()
    assert _untouched(run) == before
    for text in (page.view.status.text(),):
        assert "Traceback" not in text and "\n" not in text
    # a ledger edited by hand shows as one sentence in the chart's place
    lines = default_ledger(run).read_text().splitlines()
    default_ledger(run).write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    page.show_run(run)
    note = page.view.empty.label.text()
    assert page.view.empty.is_empty() and "changed after stockapp wrote it" in note
    assert "Traceback" not in note


def test_forecast_now_waits_for_the_job_slot(page, run, window):
    page.show_run(run)
    window.session.slot.take("training")
    assert not page.view.forecast_button.isEnabled()
    assert page.view.forecast_button.toolTip() == REASONS["training"]
    assert page.forecast_now() is None and page.view.status.text() == REASONS["training"]
    window.session.slot.release("training")
    assert page.view.forecast_button.isEnabled()


def test_the_runs_lists_forward_record_opens_the_page(qtbot, window, run):
    training = TrainingController()
    training.attach(window)
    backtest = BacktestController()
    backtest.attach(window, training)
    page = ForwardController()
    page.attach(window, backtest)
    target = runs_dir() / "spy"
    shutil.copytree(run, target)
    dialog = backtest.show_runs()
    qtbot.addWidget(dialog)
    assert isinstance(dialog, RunsDialog) and dialog.select(target)
    dialog.forward_button.click()
    assert page.folder == target and window.tabs.currentWidget() is page.view
    assert page.view.verify_button.isEnabled()
    assert not dialog.isVisible()  # the list goes, as after Open, so the page shows


def test_closing_the_window_while_forecasting_joins_the_worker(qtbot, window, page, run, saved):
    _, csv = saved
    _csv(csv, "2017-12-21")
    page.show_run(run)
    with at("2017-12-21"):
        worker = page.forecast_now()
        assert worker is not None and worker.is_running()
        window.close()
        assert worker.wait(0)  # the window waited for it: the thread has ended
    qtbot.waitUntil(lambda: not worker.is_running(), timeout=10000)
    entries = default_ledger(run).read_text().splitlines()
    assert len(entries) > 1  # written whole


def test_the_page_reads_the_ledger_again_when_shown(window, page, run, saved, capsys):
    _, csv = saved
    page.show_run(run)
    window.tabs.setCurrentIndex(0)
    with at("2017-12-20"):  # a scheduled `stockapp forward` while the window is open
        assert main(["forward", str(run)]) == 0
    assert page.view.empty.is_empty()
    window.tabs.setCurrentWidget(page.view)
    assert not page.view.empty.is_empty()
    assert len(page.record.entries) == len(default_ledger(run).read_text().splitlines())

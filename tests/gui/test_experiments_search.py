"""The Experiment settings page's search: ranges, trials, one sentence, and a random search run
in the window that tries what ``stockapp sweep --search random`` tries."""

from __future__ import annotations

import pytest

from stockapp.core.sweep_search import Range, Search, random_trials
from stockapp.errors import StockappError
from stockapp.gui.app import create_main_window
from stockapp.gui.experiments.adapter import ExperimentsController


@pytest.fixture
def ctl(qtbot, short_aapl_csv, tmp_path):
    """The Experiments page set to tiny GRUs on a 400-bar CSV, in this process."""
    window = create_main_window(csv=str(short_aapl_csv), quiet=True)
    qtbot.addWidget(window)
    ctl = window.findChild(ExperimentsController)
    panel = ctl.panel
    panel.set_checked_samples([])
    panel.csv_edit.setText(str(short_aapl_csv))
    texts = {"model": "gru", "window": "10", "hidden": "4:12", "layers": "1", "dropout": "0"}
    for name, text in {**texts, "lr": "1e-3:1e-1:log"}.items():
        panel.grid_edits[name].setText(text)
    panel.seeds_edit.setText("0")
    panel.epochs_spin.setValue(1)
    panel.engine_combo.setCurrentIndex(panel.engine_combo.findData("inline"))
    panel.out_edit.setText(str(tmp_path / "sweep"))
    return ctl


def test_a_range_needs_a_search_and_trials_show_with_one(ctl):
    panel = ctl.panel
    assert panel.search_combo.currentData() == "grid"
    assert not panel.trials_spin.isVisibleTo(panel)
    assert panel.count_label.text() == (
        "A grid tries lists of values, and hidden is a range (4:12): list the values or choose "
        "a random or TPE search."
    )
    with pytest.raises(StockappError, match="A grid tries lists of values"):
        panel.choices()
    panel.search_combo.setCurrentIndex(panel.search_combo.findData("random"))
    panel.trials_spin.setValue(3)
    assert panel.trials_spin.isVisibleTo(panel)
    assert panel.count_label.text() == "3 configurations x 1 seed x 1 series = 3 backtests."
    assert panel.choices().search == Search("random", 3)
    panel.grid_edits["hidden"].setText("4,8")
    panel.grid_edits["lr"].setText("0.01")
    assert panel.count_label.text() == (
        "3 trials ask for more configurations than the 2 the values allow; ask for fewer, or "
        "try every combination."
    )


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_random_search_in_the_window_tries_what_the_command_line_tries(qtbot, ctl):
    panel = ctl.panel
    panel.search_combo.setCurrentIndex(panel.search_combo.findData("random"))
    panel.trials_spin.setValue(2)
    with qtbot.waitSignal(ctl.experiment_finished, timeout=180000) as done:
        assert ctl.start()
    assert ctl.wait(5000)
    outcome = done.args[0]
    assert outcome is not None and outcome.trained == 2
    space = {
        "model": ["gru"],
        "window": [10],
        "hidden": Range(4, 12, integer=True),
        "layers": [1],
        "dropout": [0.0],
        "lr": Range(1e-3, 1e-1, log=True),
    }
    tried = [c["settings"] for c in outcome.summary["series"][0]["configurations"]]
    assert tried == random_trials(space, 2, seed=0)  # --search random --trials 2 (seed 0)
    assert outcome.summary["search"]["method"] == "random"
    assert "Accounting for the 2 tried (SPA)" in outcome.verdicts[0]

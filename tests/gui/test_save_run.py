"""Save run as uses the command line's writer (issue 18.6): an earlier run is replaced whole,
a folder of other files is refused in one sentence; an older run says what it lacks."""

from __future__ import annotations

import json

import pytest

from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.training.adapter import TrainingController
from stockapp.models.runner import run_backtest
from tests.gui.test_backtest import TINY_CFG, TINY_SPEC


@pytest.fixture
def backtest(window) -> BacktestController:
    training = TrainingController()
    training.attach(window)
    ctl = BacktestController()
    ctl.attach(window, training)
    return ctl


@pytest.fixture
def outcome(aapl):
    settings = BacktestSettings(test_fraction=0.2, refit_every=40)
    return drain(run_backtest(aapl, TINY_SPEC, TINY_CFG, settings))


def test_save_run_as_replaces_an_earlier_run_whole_and_refuses_other_folders(
    window, backtest, outcome, tmp_path
):
    backtest._on_finished(outcome)
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"x")
    assert not backtest.save_run_to(photos)
    assert window.last_error == (
        f"{photos} holds files and is not a stockapp run, so nothing was written there; give a "
        "new or empty folder (an earlier run's folder is replaced whole)."
    )
    assert [p.name for p in photos.iterdir()] == ["holiday.jpg"]

    folder = tmp_path / "run"
    assert backtest.save_run_to(folder)
    assert {p.name for p in (folder / "model").iterdir()} == {
        "fits.json", "fits.safetensors", "model.json", "model.safetensors"
    }  # fmt: skip
    (folder / "stale.txt").write_text("from the earlier run")
    assert backtest.save_run_to(folder)  # saved again: the folder is written anew
    assert sorted(p.name for p in folder.iterdir()) == [
        "backtest.png", "forecasts.csv", "manifest.json", "metrics.json", "model"
    ]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    # A reopened run saved over its own folder keeps its model, every fit of it.
    assert backtest.open_run_from(folder)
    assert backtest.save_run_to(folder)
    assert {p.name for p in (folder / "model").iterdir()} == {
        "fits.json", "fits.safetensors", "model.json", "model.safetensors"
    }  # fmt: skip


def test_an_older_run_says_on_opening_what_its_fits_lack(window, backtest, outcome, tmp_path):
    folder = tmp_path / "old"
    outcome.save(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    for fit in manifest["fits"]:
        del fit["weights_through"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert backtest.open_run_from(folder)
    status = backtest.panel.controls.status_label.text()
    assert status.endswith(
        "This run was saved before fits recorded weights_through: its first fit's weights "
        f"learnt only from targets before {manifest['fits'][0]['validated_from']} (its "
        "validation slice only chose the epoch count), not through the bar before its test span."
    )

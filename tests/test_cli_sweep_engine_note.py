"""The sweep command says in words what the engine had to do (summary.json's engine_note)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from stockapp.cli.sweep import _print_summary


def outcome(note: str):
    summary = {
        "runs_finished": 3,
        "runs_total": 3,
        "runs_failed": 0,
        "series": [],
        "engine_note": note,
    }
    return SimpleNamespace(summary=summary, trained=3)


def test_a_retried_run_is_reported(capsys):
    note = "1 run(s) lost their worker and were run once more (1 finished)."
    _print_summary(outcome(note), Path("sweep"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 of 3 runs finished")
    assert lines[1] == note


def test_no_note_when_every_run_ran_once(capsys):
    _print_summary(outcome(""), Path("sweep"))
    assert "worker" not in capsys.readouterr().out

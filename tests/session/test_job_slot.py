"""One job at a time, its reason said in one place (no Qt)."""

from __future__ import annotations

import pytest

from stockapp.session.job_slot import REASONS, JobBusy, JobSlot


def test_a_job_holds_the_slot_until_it_releases_it():
    slot, heard = JobSlot(), []
    slot.changed.connect(heard.append)
    assert slot.holder is None and slot.why_not("backtest") == ""
    slot.take("training")
    assert slot.holder == "training" and heard == ["training"]
    assert slot.blocked_for("backtest") == "A model is training; wait for it or cancel it."
    assert slot.blocked_for("sweep") == REASONS["training"]
    assert slot.blocked_for("training") == ""  # its own panel shows it running, not blocked
    with pytest.raises(JobBusy, match="A model is training"):
        slot.take("backtest")
    with pytest.raises(JobBusy):
        slot.take("training")  # not twice either
    slot.release("backtest")  # another kind's release changes nothing
    assert slot.holder == "training" and heard == ["training"]
    slot.release("training")
    assert slot.holder is None and heard == ["training", None]
    slot.take("backtest")
    assert slot.blocked_for("training") == "A backtest is running; wait for it or cancel it."


def test_every_job_kind_has_a_sentence():
    for kind, why in REASONS.items():
        slot = JobSlot()
        slot.take(kind)
        assert slot.why_not("training") == why and why.endswith(".")
    with pytest.raises(ValueError):
        JobSlot().take("nap")

"""The F1 page says what the verdicts mean, signed (issue 18.1)."""

from __future__ import annotations

from stockapp.gui.help import HOW_TO_READ


def test_how_to_read_signs_the_diebold_mariano_verdict():
    text = " ".join(HOW_TO_READ.split())
    assert "really smaller" not in text  # a two-sided p was described as "smaller errors"
    for needed in ('"better" (green)', '"worse" (red)', '"tie"', "one-sided", "Holm-adjusted"):
        assert needed in text, needed
    assert "A small two-sided p alone never means success" in text
    # the bands' three coverage tests, as abbreviated in the scores table
    assert "Kupiec (K:" in text and "independence (I:" in text and "(CC: both at once)" in text

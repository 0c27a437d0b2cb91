"""The sentences under the Inside tab's charts say what the numbers show (hand-worked cases)."""

from __future__ import annotations

import numpy as np

from stockapp.core.explain_text import (
    attribution_sentence,
    completeness_text,
    flow_sentence,
    gate_sentence,
    inputs_sentence,
    kinds_sentence,
)


def test_gate_sentences_follow_the_level():
    high = np.full((30, 4), 0.9)
    assert gate_sentence("forget", high) == (
        "The forget gate stays near 0.90 over the last 20 bars: the cell keeps most of what it "
        "carried."
    )
    low = np.full((30, 4), 0.1)
    assert "forgets most" in gate_sentence("forget", low)
    mixed = np.zeros((10, 2))
    mixed[:, 1] = 1.0  # mean 0.5, one unit always open, one always shut
    text = gate_sentence("update", mixed)
    assert "over the last 10 bars (units differ a lot)" in text and "about half" in text
    assert "near 0.50" in text


def test_state_sentences():
    assert "saturated" in gate_sentence("hidden", np.full((25, 3), -0.95))
    # |values| 0.2, steps alternate sign: moves 0.4 a bar
    wave = np.tile(np.array([[0.2], [-0.2]]), (10, 3))
    assert gate_sentence("hidden", wave) == (
        "The hidden state's units average 0.20 in size over the last 20 bars and move by 0.40 a "
        "bar on average."
    )
    assert "unbounded" in gate_sentence("cell", np.full((5, 2), 3.0))


def test_attribution_sentence_names_the_recent_share_and_the_biggest_push():
    a = np.zeros((10, 1))
    a[-1, 0] = 0.3  # lag 1
    a[-3, 0] = -0.6  # lag 3
    a[0, 0] = 0.1  # lag 10
    assert attribution_sentence(a) == (
        "The last 5 bars carry 90% of the attribution; the biggest single push is lag 3 "
        "(down, -0.60)."
    )
    two = np.zeros((4, 2))
    two[:, 1] = 1.0
    two[0, 0] = 1.0  # feature b carries 4 of 5
    assert "and b carries 80% of it" in attribution_sentence(two, ("a", "b"))
    assert "No input moved" in attribution_sentence(np.zeros((3, 1)))


def test_flow_and_kinds_sentences():
    flow = 10.0 ** -np.arange(6.0)  # lag 6 is 1e-5 of lag 1
    assert flow_sentence(flow) == (
        "The gradient at lag 6 is 1/100,000 of its size at lag 1: errors at the forecast barely "
        "reach the oldest bars (the gradient vanishes)."
    )
    flat = np.array([1.0, 2.0, 1.5])
    assert "largest at lag 2" in flow_sentence(flat) and "whole window" in flow_sentence(flat)
    text = kinds_sentence({"rnn": flow, "lstm": np.array([1.0, 0.8, 0.7, 0.6, 0.5, 0.5])})
    assert text == (
        "At lag 6 the gradient is 1/2 of its size at lag 1 in the LSTM and 1/100,000 in the "
        "plain RNN: here the LSTM carries errors furthest back and the plain RNN least."
    )
    same = kinds_sentence({"gru": flat, "lstm": flat})
    assert "about equally far" in same
    assert "Run the comparison" in kinds_sentence({})


def test_inputs_sentence():
    raw = np.array([[0.01], [-0.03], [0.02], [0.0]])
    assert inputs_sentence(raw, ("log_return",)) == (
        "The forecast saw 4 bars of log_return: mean 0, largest move -0.03, 50% above 0."
    )


def test_tiny_ratios_read_as_powers_of_ten_and_vanishing_everywhere_is_said():
    tiny = np.array([1.0, 1e-3, 4e-11])
    assert "is 4e-11 of its size" in flow_sentence(tiny)
    text = kinds_sentence({"rnn": tiny, "lstm": np.array([1.0, 0.1, 1e-4])})
    assert text.endswith(
        "here the LSTM carries errors furthest back and the plain RNN least, and none of them "
        "carries errors to the oldest bars."
    )


def test_epochs_flow_sentence_compares_the_first_and_last_epoch():
    from stockapp.core.explain_text import epochs_flow_sentence

    first = np.array([1.0, 0.1, 0.01])  # lag 3 at 1/100 of lag 1
    last = np.array([2.0, 1.0, 0.2])  # lag 3 at 1/10 of lag 1
    assert epochs_flow_sentence([first, last]) == (
        "Faint lines: the gradient after each of the 2 training epochs (on a fixed batch of "
        "windows); from epoch 1 to epoch 2 the share reaching lag 3 went from 1/100 to 1/10 of "
        "lag 1's."
    )
    assert "after its 1 training epoch" in epochs_flow_sentence([first])
    assert epochs_flow_sentence([]) == (
        "This model's training did not record the gradient after each epoch (it was trained "
        "before the app recorded it)."
    )


def test_a_tie_names_no_winner():
    lstm = np.array([1.0, 0.8, 0.5])  # lag 3 at 1/2 of lag 1
    gru = np.array([1.0, 0.6, 0.25])  # 1/4: within a factor of 3 of the LSTM's
    rnn = np.array([1.0, 0.1, 1e-4])  # 1/10,000
    assert kinds_sentence({"rnn": rnn, "gru": gru, "lstm": lstm}) == (
        "At lag 3 the gradient is 1/2 of its size at lag 1 in the LSTM, 1/4 in the GRU and "
        "1/10,000 in the plain RNN: here the LSTM and the GRU carry errors furthest back, about "
        "equally, and the plain RNN least."
    )
    # exactly equal: neither is named first
    assert kinds_sentence({"gru": lstm, "lstm": lstm.copy()}) == (
        "At lag 3 the gradient is 1/2 of its size at lag 1 in the GRU and 1/2 in the LSTM: on "
        "this data the kinds reach back about equally far."
    )
    # two near the bottom are named together too
    text = kinds_sentence({"rnn": rnn, "gru": np.array([1.0, 0.1, 2e-4]), "lstm": lstm})
    assert text.endswith(
        "here the LSTM carries errors furthest back and the GRU and the plain RNN least, about "
        "equally."
    )
    assert kinds_sentence({"lstm": lstm, "rnn": np.array([0.0, 1.0, 1.0])}) == (
        "At lag 3 the gradient is 1/2 of its size at lag 1 in the LSTM: the other kinds' "
        "gradients could not be measured."
    )


def test_completeness_says_how_closely_the_attributions_add_up():
    text = "integrated gradients with 64 steps add up to the forecast's change from the flat past"
    assert completeness_text(64, 0.0) == f"{text} exactly"
    assert completeness_text(64, 3.1e-7) == f"{text} to within 0.01%"  # never "0.00%"
    assert completeness_text(64, 0.0037) == f"{text} to within 0.37%"
    assert completeness_text(64, 0.012301) == f"{text} to within 1.24%"  # rounded up: a bound
    assert completeness_text(8192, float("nan")) == (
        "integrated gradients with 8192 steps; how closely they add up could not be measured"
    )


def test_other_inputs_are_credited_with_their_share_of_the_attribution():
    a = np.zeros((3, 4))
    a[0] = [3.0, 1.0, 1.0, 5.0]  # own 3, SPY 1 + 1 (two features), day of the week 5
    text = attribution_sentence(a, ("log_return", "with:SPY:return", "with:SPY:range", "cal:dow"))
    assert text.endswith(
        "and cal:dow carries 50% of it. By input: its own past 30%, SPY 20%, day of the week 50%."
    )
    assert "By input" not in attribution_sentence(a, ("a", "b", "c", "d"))

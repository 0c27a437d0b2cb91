"""One sentence in words under each chart of the Inside tab (numpy only, shared with the CLI).

Each function reads the numbers the chart draws and says what they show for *this* model and
data, whatever it is: a gate near 0.5 is described as undecided, not as the textbook says.
"""

from __future__ import annotations

import numpy as np

#: Bars the gate sentences look at (the end of the window is what the forecast is made from).
RECENT = 20

_GATE_MEANING: dict[str, tuple[str, str, str]] = {
    # name: (what "high" means, what "low" means, what "middling" means)
    "forget": (
        "the cell keeps most of what it carried",
        "the cell forgets most of what it carried at each bar",
        "the cell keeps about half of what it carried at each bar",
    ),
    "input": (
        "each bar writes strongly into the cell",
        "new bars barely write into the cell",
        "each bar writes partly into the cell",
    ),
    "output": (
        "the cell is shown almost fully to the forecast",
        "most of the cell is hidden from the forecast",
        "about half of the cell reaches the forecast",
    ),
    "update": (
        "the state mostly keeps its old value",
        "the state is mostly replaced by each new bar",
        "each bar replaces about half of the state",
    ),
    "reset": (
        "the candidate uses nearly all of the old state",
        "the candidate ignores most of the old state",
        "the candidate uses about half of the old state",
    ),
}
_NAMES = {
    "input": "input gate",
    "forget": "forget gate",
    "output": "output gate",
    "update": "update gate",
    "reset": "reset gate",
    "candidate": "candidate",
    "cell": "cell state",
    "hidden": "hidden state",
}


def _fmt(v: float) -> str:
    if abs(v) < 1e-12:  # rounding noise of a mean that is zero
        return "0"
    return f"{v:.2g}" if abs(v) < 0.01 and v != 0 else f"{v:.2f}"


def gate_sentence(name: str, values: np.ndarray, recent: int = RECENT) -> str:
    """What a ``(time, units)`` gate or state did over the last ``recent`` bars of the window."""
    v = np.asarray(values, dtype=np.float64)
    n = min(recent, v.shape[0])
    tail = v[-n:]
    mean = float(tail.mean())
    label = _NAMES.get(name, name)
    span = f"over the last {n} bars"
    if name in _GATE_MEANING:
        high, low, mid = _GATE_MEANING[name]
        meaning = high if mean >= 0.7 else low if mean <= 0.3 else mid
        spread = float(tail.mean(axis=0).std())
        units = " (units differ a lot)" if spread > 0.2 else ""
        return f"The {label} stays near {_fmt(mean)} {span}{units}: {meaning}."
    saturated = float(np.mean(np.abs(tail) > 0.9))
    size = float(np.abs(tail).mean())
    if name == "cell":
        return (
            f"The cell state's units average {_fmt(size)} in size {span} (it is unbounded; "
            "large values are memory the gates chose to keep)."
        )
    if saturated > 0.5:
        return (
            f"The {label} is saturated near \u00b11 for {saturated:.0%} of values {span}: "
            "those units act like switches."
        )
    change = float(np.abs(np.diff(tail, axis=0)).mean()) if n > 1 else 0.0
    return (
        f"The {label}'s units average {_fmt(size)} in size {span} and move by "
        f"{_fmt(change)} a bar on average."
    )


def attribution_sentence(attribution: np.ndarray, features: tuple[str, ...] = ()) -> str:
    """Which lags (and feature) moved the forecast away from the flat-past baseline."""
    a = np.asarray(attribution, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    per_lag = a.sum(axis=1)[::-1]  # lag 1 first
    total_abs = float(np.abs(per_lag).sum())
    if total_abs == 0.0:
        return "No input moved the forecast away from the flat-past baseline."
    w = per_lag.size
    k = min(5, w)
    recent_share = float(np.abs(per_lag[:k]).sum()) / total_abs
    top = int(np.argmax(np.abs(per_lag)))
    sign = "up" if per_lag[top] > 0 else "down"
    text = (
        f"The last {k} bars carry {recent_share:.0%} of the attribution; the biggest single "
        f"push is lag {top + 1} ({sign}, {_fmt(float(per_lag[top]))})"
    )
    if a.shape[1] > 1 and len(features) == a.shape[1]:
        share = np.abs(a).sum(axis=0) / float(np.abs(a).sum())
        best = int(np.argmax(share))
        text += f", and {features[best]} carries {share[best]:.0%} of it"
        credits = input_credits(share, features)
        if credits:
            return f"{text}. By input: {credits}."
    return text + "."


def input_credits(share: np.ndarray, features: tuple[str, ...]) -> str:
    """With other series or calendar inputs (issue 24), each input's share of the attribution:
    ``its own past 61%, SPY 30%, day of the week 9%`` (a series' features summed); "" when the
    model read only its own series."""
    from stockapp.core.covariates import CALENDAR_PREFIX, COVARIATE_PREFIX, is_external

    if not any(is_external(f) for f in features):
        return ""
    words = {"cal:dow": "day of the week", "cal:month": "month"}
    groups: dict[str, float] = {}
    for name, part in zip(features, share, strict=True):
        if name.startswith(COVARIATE_PREFIX):
            key = name[len(COVARIATE_PREFIX) :].rpartition(":")[0]
        elif name.startswith(CALENDAR_PREFIX):
            key = words.get(name, name)
        else:
            key = "its own past"
        groups[key] = groups.get(key, 0.0) + float(part)
    return ", ".join(f"{k} {v:.0%}" for k, v in groups.items())


def flow_sentence(flow: np.ndarray) -> str:
    """How far back the gradient reaches: its size at the oldest lag against lag 1."""
    f = np.asarray(flow, dtype=np.float64)
    w = f.size
    if w == 0 or not np.all(np.isfinite(f)) or f[0] <= 0.0:
        return "The gradient could not be measured for this model."
    ratio = f[-1] / f[0]
    peak = int(np.argmax(f)) + 1
    where = f"; it is largest at lag {peak}" if peak != 1 else ""
    if ratio < 1e-3:
        verdict = "errors at the forecast barely reach the oldest bars (the gradient vanishes)"
    elif ratio < 0.1:
        verdict = "the oldest bars get a small share of the learning signal"
    else:
        verdict = "errors reach back through the whole window"
    return f"The gradient at lag {w} is {_ratio(ratio)} of its size at lag 1{where}: {verdict}."


def epochs_flow_sentence(curves: list) -> str:
    """What the per-epoch gradient curves of the model's own training show (lag 1 first)."""
    if len(curves) == 0:
        return (
            "This model's training did not record the gradient after each epoch (it was trained "
            "before the app recorded it)."
        )
    c = [np.asarray(v, dtype=np.float64) for v in curves]
    n, w = len(c), c[0].size
    if n == 1:
        return "Faint line: the gradient after its 1 training epoch (on a fixed batch of windows)."
    shares = [v[-1] / v[0] if v[0] > 0 and np.isfinite(v[[0, -1]]).all() else np.nan for v in c]
    head = (
        f"Faint lines: the gradient after each of the {n} training epochs (on a fixed batch of "
        "windows)"
    )
    if not np.isfinite([shares[0], shares[-1]]).all():
        return head + "."
    return (
        f"{head}; from epoch 1 to epoch {n} the share reaching lag {w} went from "
        f"{_ratio(shares[0])} to {_ratio(shares[-1])} of lag 1's."
    )


def _ratio(r: float) -> str:
    if r >= 1.0:
        return f"{r:.1f}x"
    if r < 1e-6:  # 1/24,135,405,012 reads worse than 4e-11
        return f"{r:.0e}"
    return f"1/{1.0 / r:,.0f}" if r > 0 else "0"


#: Gradient shares within this factor of each other count as reaching back about equally far.
TIE_FACTOR = 3.0


def _names(kinds: list[str], names: dict[str, str]) -> str:
    """``the LSTM``, ``the LSTM and the GRU``, ``the LSTM, the GRU and the plain RNN``."""
    words = [f"the {names.get(k, k)}" for k in kinds]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" and {words[-1]}"


def kinds_sentence(flows: dict[str, np.ndarray], names: dict[str, str] | None = None) -> str:
    """What the overlaid RNN/GRU/LSTM gradient curves show for this data.

    Kinds whose shares at the oldest lag are within :data:`TIE_FACTOR` of the largest are named
    together as reaching furthest back (and likewise those near the smallest), so a tie never
    reads as a winner.
    """
    names = names or {"rnn": "plain RNN", "gru": "GRU", "lstm": "LSTM"}
    ratios = {}
    for kind, flow in flows.items():
        f = np.asarray(flow, dtype=np.float64)
        if f.size and f[0] > 0 and np.isfinite(f).all():
            ratios[kind] = float(f[-1] / f[0])
    if not ratios:
        return "Run the comparison to see how far back each kind's gradient reaches."
    w = int(np.asarray(next(iter(flows.values()))).size)
    order = sorted(ratios, key=ratios.get, reverse=True)
    shares = [f"{_ratio(ratios[k])} in the {names.get(k, k)}" for k in order]
    shares[0] = shares[0].replace(" in the ", " of its size at lag 1 in the ", 1)
    listed = shares[0] if len(shares) == 1 else ", ".join(shares[:-1]) + f" and {shares[-1]}"
    top, bottom = ratios[order[0]], ratios[order[-1]]
    leaders = [k for k in order if ratios[k] * TIE_FACTOR >= top]
    laggards = [k for k in order if k not in leaders and ratios[k] <= TIE_FACTOR * bottom]
    if len(order) == 1:
        end = "the other kinds' gradients could not be measured."
    elif not laggards:
        end = "on this data the kinds reach back about equally far."
    else:
        verb = "carries" if len(leaders) == 1 else "carry"
        end = (
            f"here {_names(leaders, names)} {verb} errors furthest back"
            + (", about equally," if len(leaders) > 1 else "")
            + f" and {_names(laggards, names)} least"
            + (", about equally." if len(laggards) > 1 else ".")
        )
    if all(r < 1e-3 for r in ratios.values()):
        end = end[:-1] + ", and none of them carries errors to the oldest bars."
    return f"At lag {w} the gradient is {listed}: {end}"


def completeness_text(steps: int, error: float) -> str:
    """How closely the integrated gradients add up to the forecast's change from the flat past.

    ``error`` is the attributions' completeness error (relative to that change); the bound is
    rounded up, so "within 0.01%" is never an understatement.
    """
    head = f"integrated gradients with {steps} steps"
    if not np.isfinite(error):
        return f"{head}; how closely they add up could not be measured"
    if error == 0.0:
        within = "exactly"
    else:
        within = f"to within {max(np.ceil(error * 1e4) / 1e4, 1e-4):.2%}"
    return f"{head} add up to the forecast's change from the flat past {within}"


def inputs_sentence(raw: np.ndarray, features: tuple[str, ...]) -> str:
    """The window the forecast saw, in one line (its first feature)."""
    v = np.asarray(raw, dtype=np.float64)
    col = v[:, 0] if v.ndim == 2 else v
    name = features[0] if features else "input"
    return (
        f"The forecast saw {col.size} bars of {name}: mean {_fmt(float(col.mean()))}, largest "
        f"move {_fmt(float(col[np.argmax(np.abs(col))]))}, {float(np.mean(col > 0)):.0%} above 0."
    )

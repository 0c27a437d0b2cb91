"""A backtest's online calibration continued over a forward record.

A calibrated run (``--calibrate aci``) keeps in its manifest the model's calibration state after
its last test bar (:attr:`stockapp.core.calibration.Calibration.final_state`). A forward entry is
calibrated as the backtest would have calibrated that bar:

* a bar of the backtest's own test span takes that bar's calibration from the backtest
  (``forecasts.csv``: its calibrated ``sigma`` over its ``raw_sigma`` is the scale, its bands'
  half-widths over the calibrated sigma the multipliers);
* a later bar takes the final state, advanced online (:func:`advance`, the recursions of
  :func:`stockapp.core.calibration.calibrate`, one bar at a time) over the outcomes of the
  forward bars before it, in target order, up to the first outcome not yet known when the entry
  was issued; so no entry's calibration reads an outcome from after its issue.

The one departure from an extended backtest: a new bar's sigma group is read from the edges the
backtest ended with (as :func:`~stockapp.core.calibration.apply_state` does), not ranked among
every sigma so far, which would need the calibration slice's sigmas the run does not keep.

An entry records what it was calibrated with as ``{"from": "backtest" | "online", "scale",
"half_50", "half_80", "half_95"}``: its bands are ``mu +/- raw_sigma * scale * half_L`` in log
return (:func:`calibrated_levels`).
"""

from __future__ import annotations

import math

import numpy as np

from stockapp.core.calibration import (
    LEVEL_STEP,
    SCALE_STEP,
    U_CLIP,
    apply_state,
)
from stockapp.core.calibration_steps import group_of, scale_gradient, tail_pvalue

#: Band levels (percent) an entry's calibration gives a half-width for.
PERCENTS = (50, 80, 95)


def advance(
    state: dict, mu: float, sigma: float, nu: float | None, y: float, scale_step: float,
    level_step: float,
) -> dict:  # fmt: skip
    """The state after one bar whose raw forecast was ``(mu, sigma, nu)`` and log return ``y``:
    one step of the scale's online gradient and of each band's ACI in the bar's sigma group.
    A non-finite outcome or forecast leaves the state as it was."""
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in state.items()}
    a, b = math.log(float(state["scale"])), float(state.get("slope", 0.0))
    slope = "slope" in state
    u = 0.0
    if slope:
        if not (sigma > 0 and math.isfinite(sigma)):
            return out
        u = (math.log(sigma) - state["log_sigma_mean"]) / state["log_sigma_sd"]
        u = min(max(u, -U_CLIP), U_CLIP)
    if not (sigma > 0 and math.isfinite(y) and math.isfinite(mu)):
        return out
    ls = a + b * u
    z = (y - mu) / sigma
    x = z * z * math.exp(-2.0 * ls)
    g = float(scale_gradient(x, nu))
    out["scale"] = math.exp(a + scale_step * g)
    if slope:
        out["slope"] = b + scale_step * g * u
    s = math.exp(ls)
    group = 0
    if "sigma_edges" in state:
        group = int(group_of(np.array([sigma * s]), state["sigma_edges"])[0])
    p = float(tail_pvalue(z / s, nu))
    for key, values in state.items():
        if not key.startswith("alpha_"):
            continue
        level = int(key.split("_")[1]) / 100
        k = min(group, len(values) - 1)
        alphas = list(values)
        alphas[k] = alphas[k] + level_step * ((1.0 - level) - (1.0 if p < alphas[k] else 0.0))
        out[key] = alphas
    return out


def from_state(state: dict, mu: float, sigma: float, nu: float | None) -> dict:
    """An entry's calibration for a bar forecast ``(mu, sigma, nu)`` under ``state``."""
    sd, bounds = apply_state(np.array([mu]), np.array([sigma]), nu, state)
    out: dict = {"from": "online", "scale": float(sd[0] / sigma)}
    for level, (lo, hi) in bounds.items():
        out[f"half_{round(level * 100)}"] = float((hi[0] - lo[0]) / 2.0 / sd[0])
    return out


def from_backtest(raw_sigma: float, sigma: float, bounds: dict) -> dict:
    """An entry's calibration for a backtest bar: its calibrated ``sigma`` over ``raw_sigma``
    and its bands ``{level: (lower, upper)}`` (log return) over the calibrated sigma."""
    out: dict = {"from": "backtest", "scale": float(sigma / raw_sigma)}
    for level, (lo, hi) in bounds.items():
        out[f"half_{round(level * 100)}"] = float((hi - lo) / 2.0 / sigma)
    return out


def calibrated_levels(
    mu: float, raw_sigma: float, nu: float | None, last_close: float, calibration: dict
) -> dict:
    """An entry's ``bands`` under ``calibration``: the calibrated distribution, the raw sigma and
    the 50/80/95% price bands."""
    sd = float(raw_sigma) * float(calibration["scale"])
    out = {
        "mu": float(mu), "sigma": sd, "nu": None if nu is None else float(nu),
        "raw_sigma": float(raw_sigma),
    }  # fmt: skip
    for level in PERCENTS:
        h = sd * float(calibration[f"half_{level}"])
        out[f"lower_{level}"] = float(last_close * math.exp(float(mu) - h))
        out[f"upper_{level}"] = float(last_close * math.exp(float(mu) + h))
    return out


def steps(record: dict) -> tuple[float, float]:
    """``(scale_step, level_step)`` of a manifest's calibration record."""
    return (
        float(record.get("scale_step", SCALE_STEP)),
        float(record.get("level_step", LEVEL_STEP)),
    )

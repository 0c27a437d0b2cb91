"""Integrated gradients: what one forecast looked at.

The forecast's integrated gradients with respect to every input (lag x feature) from a stated
baseline window, zero scaled inputs (every feature at its training mean: for log returns, a flat
past with the average drift), with enough steps that the attributions sum to output minus
baseline output within 1%; and the plain gradient x input. Computed in eval mode on a float64
CPU copy of the network (:func:`~stockapp.models.networks.exact_copy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from stockapp.errors import ModelError
from stockapp.models.networks import RecurrentNet, exact_copy, last_output

#: Integrated-gradient steps tried first; doubled until the attributions are complete to within
#: :data:`IG_TOLERANCE`. 64 midpoints already suffice for the default LSTM on AAPL (the error is
#: below 0.1% there); the doubling covers sharper networks.
IG_STEPS = 64
IG_MAX_STEPS = 8192
IG_TOLERANCE = 0.01


@dataclass
class Attribution:
    """Integrated gradients of one forecast, in target units (e.g. log return), per lag x feature.

    Row ``i`` of every ``(W, F)`` array is the input ``lags[i]`` bars before the forecast bar, so
    the last row (lag 1) is the bar just before it.
    """

    inputs: np.ndarray  # (W, F) scaled inputs the network saw
    baseline: np.ndarray  # (W, F) the baseline window (zeros: features at their training mean)
    attribution: np.ndarray  # (W, F) integrated gradients; they sum to output - baseline_output
    gradient_x_input: np.ndarray  # (W, F) gradient at the input times (input - baseline)
    output: float
    baseline_output: float
    steps: int
    completeness_error: float  # |sum - (output - baseline_output)| / |output - baseline_output|

    @property
    def lags(self) -> np.ndarray:
        return np.arange(self.inputs.shape[0], 0, -1)


def attribute(
    net: RecurrentNet,
    x: np.ndarray,
    scale: float = 1.0,
    steps: int = IG_STEPS,
    tolerance: float = IG_TOLERANCE,
    max_steps: int = IG_MAX_STEPS,
) -> Attribution:
    """Integrated gradients of ``net``'s last-step output for one ``(W, F)`` window ``x``.

    The path from the zero window to ``x`` is integrated with the midpoint rule, all steps in one
    batch; the steps double (up to ``max_steps``) until the attributions sum to the output
    difference within ``tolerance`` (relative; absolute below 1e-12). ``scale`` multiplies the
    network's output (the target's standard deviation turns scaled outputs into target units).
    """
    twin = exact_copy(net)
    xt = torch.as_tensor(np.asarray(x, np.float64))
    if xt.ndim != 2 or xt.shape[1] != twin.n_features:
        raise ModelError(
            f"The window to explain must be bars x {twin.n_features} feature(s), not "
            f"{tuple(xt.shape)}."
        )
    base = torch.zeros_like(xt)
    with torch.no_grad():
        ends = last_output(twin, torch.stack([base, xt])) * scale
    b_out, out = float(ends[0]), float(ends[1])
    diff = out - b_out
    req = xt.detach().clone().requires_grad_(True)
    grad_at_x = torch.autograd.grad(last_output(twin, req[None]).sum() * scale, req)[0]
    n = int(steps)
    while True:
        alphas = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        path = (base + alphas[:, None, None] * (xt - base)).requires_grad_(True)
        grads = torch.autograd.grad(last_output(twin, path).sum() * scale, path)[0]
        ig = (xt - base) * grads.mean(dim=0)
        err = abs(float(ig.sum()) - diff)
        rel = err / abs(diff) if abs(diff) > 1e-12 else err
        if rel <= tolerance or n >= max_steps:
            break
        n *= 2
    return Attribution(
        inputs=xt.numpy().copy(),
        baseline=base.numpy().copy(),
        attribution=ig.detach().numpy(),
        gradient_x_input=(grad_at_x * (xt - base)).detach().numpy(),
        output=out,
        baseline_output=b_out,
        steps=n,
        completeness_error=rel,
    )

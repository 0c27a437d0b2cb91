"""The gates and states of every layer at every step, by the cell equations.

PyTorch's fused ``nn.LSTM``/``nn.GRU`` do not expose their gates, so they are recomputed here
from the trained weights, in eval mode (no dropout) on a float64 CPU copy of the network.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from stockapp.errors import ModelError
from stockapp.models.networks import RecurrentNet, exact_copy

#: Gate and state names per kind, in the order the cell computes them.
STATE_NAMES: dict[str, tuple[str, ...]] = {
    "lstm": ("input", "forget", "candidate", "output", "cell", "hidden"),
    "gru": ("reset", "update", "candidate", "hidden"),
    "rnn": ("hidden",),
}
#: Which states are sigmoid gates (in [0, 1]); the others are tanh outputs (in [-1, 1]) or the
#: LSTM cell state (unbounded).
SIGMOID = frozenset({"input", "forget", "output", "reset", "update"})


def cell_states(net: RecurrentNet, x: np.ndarray | torch.Tensor) -> list[dict[str, np.ndarray]]:
    """Every layer's gates and states for ``(B, W, F)`` windows, by the cell equations.

    One dict per layer, name (see :data:`STATE_NAMES`) -> ``(B, W, hidden)`` array, from zero
    initial states as the network's own forward uses; eval mode, so no dropout between layers.
    The loop runs over the window's steps (the recurrence), batched over windows and units.
    """
    twin = exact_copy(net)
    inp = torch.as_tensor(np.asarray(x, np.float64) if not torch.is_tensor(x) else x.double())
    if inp.ndim != 3:
        raise ModelError(f"Expected windows x bars x features, not {tuple(inp.shape)}.")
    out: list[dict[str, np.ndarray]] = []
    with torch.no_grad():
        for layer in twin.rnn.children():
            states = _layer_states(twin.kind, layer, inp)
            out.append({k: v.numpy() for k, v in states.items()})
            inp = states["hidden"]
    return out


def _layer_states(kind: str, layer: nn.RNNBase, x: torch.Tensor) -> dict[str, torch.Tensor]:
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b_ih, b_hh = layer.bias_ih_l0, layer.bias_hh_l0
    batch, steps, _ = x.shape
    hid = w_hh.shape[1]
    pre = x @ w_ih.T + b_ih  # (B, W, G*H): the input part of every gate at every step at once
    h = x.new_zeros(batch, hid)
    c = x.new_zeros(batch, hid)
    rows: dict[str, list[torch.Tensor]] = {name: [] for name in STATE_NAMES[kind]}
    for t in range(steps):
        rec = h @ w_hh.T + b_hh
        if kind == "lstm":
            gi, gf, gg, go = (pre[:, t] + rec).chunk(4, dim=1)
            i, f, g, o = gi.sigmoid(), gf.sigmoid(), gg.tanh(), go.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            values = (i, f, g, o, c, h)
        elif kind == "gru":
            xr, xz, xn = pre[:, t].chunk(3, dim=1)
            hr, hz, hn = rec.chunk(3, dim=1)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            n = (xn + r * hn).tanh()
            h = (1 - z) * n + z * h
            values = (r, z, n, h)
        else:
            h = (pre[:, t] + rec).tanh()
            values = (h,)
        for name, v in zip(STATE_NAMES[kind], values, strict=True):
            rows[name].append(v)
    return {name: torch.stack(v, dim=1) for name, v in rows.items()}

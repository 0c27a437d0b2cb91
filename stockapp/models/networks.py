"""The recurrent networks: a stack of RNN, LSTM or GRU layers with a linear head on every step.

The module only maps windows to forecasts; training, scaling and saving live elsewhere (darts
keeps its ``nn.Module`` apart from the user-facing model the same way), so the same class serves
the app's trainer, the plain benchmark loop and a checkpoint reload.

Randomness comes only from generators the caller owns, never from torch's global one: the
weights are drawn from a given ``torch.Generator`` and the dropout between layers is applied
from uniform noise the caller draws (:meth:`RecurrentNet.noise_shape`). So two jobs training at
the same time in two threads cannot disturb each other's reproducible results, and a CUDA-graph
replay applies the same dropout masks as an eager step fed the same noise.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from stockapp.errors import ModelError
from stockapp.models.config import HEAD_BASES, HEADS, MODEL_KINDS

__all__ = ["HEAD_BASES", "HEADS", "MODEL_KINDS", "RecurrentNet"]
#: Smallest standard deviation a distribution head can emit, in scaled-target units.
MIN_SCALE = 1e-3
#: A learned Student-t dof starts here (softplus(dof_raw) + 2).
INITIAL_DOF = 6.0

_LAYERS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
_STACKED = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class _Stack(nn.Module):
    """Single-layer recurrent modules run in turn, saved under ``nn.LSTM(num_layers=L)``'s names.

    One module per layer lets dropout between layers use the caller's noise (torch's fused
    multi-layer call draws its dropout from the global generator). The state dict keeps torch's
    stacked names (``weight_ih_l1`` ...), so checkpoints written by the fused version still load.
    """

    def __init__(self, cls: type[nn.RNNBase], n_in: int, hidden: int, layers: int, **kw):
        super().__init__()
        for k in range(layers):
            layer = cls(
                input_size=n_in if k == 0 else hidden,
                hidden_size=hidden,
                num_layers=1,
                batch_first=True,
                **kw,
            )
            self.add_module(f"l{k}", layer)
        self.register_state_dict_post_hook(_to_stacked_names)
        self.register_load_state_dict_pre_hook(_from_stacked_names)


def _to_stacked_names(module, state_dict, prefix, local_metadata) -> None:
    for k in range(len(module._modules)):
        for name in _STACKED:
            key = f"{prefix}l{k}.{name}_l0"
            if key in state_dict:
                state_dict[f"{prefix}{name}_l{k}"] = state_dict.pop(key)


def _from_stacked_names(module, state_dict, prefix, *args) -> None:
    for k in range(len(module._modules)):
        for name in _STACKED:
            key = f"{prefix}{name}_l{k}"
            if key in state_dict:
                state_dict[f"{prefix}l{k}.{name}_l0"] = state_dict.pop(key)


class RecurrentNet(nn.Module):
    """Stacked recurrent layers followed by a linear head applied at every step.

    The ``"point"`` head is ``Linear(hidden, 1)``: one forecast per step. A distribution head
    (``"gaussian"`` or ``"student-t"``) is ``Linear(hidden, 2)``: a location and a raw scale per
    step, the standard deviation being ``softplus(raw) + MIN_SCALE``; the Student-t head also
    learns one dof for the whole network, ``2 + softplus(dof_raw)`` (so its variance exists).

    Parameters
    ----------
    kind
        ``"lstm"``, ``"gru"`` or ``"rnn"`` (Elman RNN with tanh), see :data:`MODEL_KINDS`.
    n_features
        Inputs per time step.
    hidden
        Units per recurrent layer.
    layers
        Stacked recurrent layers.
    dropout
        Dropout between stacked layers, as torch's ``nn.LSTM(dropout=...)`` does (none after the
        last layer, so it does nothing for a single layer).
    generator
        Draws the initial weights (torch's default ranges: uniform within ``1/sqrt(hidden)`` for
        the recurrent layers, ``1/sqrt(fan_in)`` for the head). ``None`` draws from torch's
        global generator, as torch's own modules do.
    head
        ``"point"``, ``"gaussian"`` or ``"student-t"`` (see :data:`HEADS`).
    """

    def __init__(
        self,
        kind: str,
        n_features: int,
        hidden: int,
        layers: int,
        dropout: float,
        generator: torch.Generator | None = None,
        head: str = "point",
    ):
        super().__init__()
        if head not in HEADS:
            raise ModelError(f"Unknown output head '{head}'; choose {', '.join(HEADS)}.")
        if kind not in _LAYERS:
            raise ModelError(f"Unknown model type '{kind}'; choose {', '.join(MODEL_KINDS)}.")
        if int(n_features) < 1:
            raise ModelError("The network needs at least one input feature.")
        if int(hidden) < 1:
            raise ModelError(f"The hidden size must be at least 1, not {hidden}.")
        if int(layers) < 1:
            raise ModelError(f"The network needs at least one layer, not {layers}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ModelError(f"The dropout must be at least 0 and below 1, not {dropout}.")
        self.kind = kind
        self.n_features = int(n_features)
        self.hidden = int(hidden)
        self.layers = int(layers)
        self.dropout = float(dropout)
        self.head_kind = head
        extra = {"nonlinearity": "tanh"} if kind == "rnn" else {}
        # Built on the meta device (no memory, no random draws), then given real storage and
        # initialised from ``generator``: construction never touches the global generator.
        self.rnn = _Stack(
            _LAYERS[kind], self.n_features, self.hidden, self.layers, device="meta", **extra
        )
        self.head = nn.Linear(self.hidden, 1 if head == "point" else 2, device="meta")
        if head == "student-t":
            self.dof_raw = nn.Parameter(torch.empty((), device="meta"))
        self.to_empty(device="cpu")
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every weight from torch's default ranges, using ``generator``."""
        bound = 1.0 / math.sqrt(self.hidden)
        for p in self.rnn.parameters():
            p.uniform_(-bound, bound, generator=generator)
        for p in self.head.parameters():  # kaiming_uniform(a=sqrt(5)) is this range too
            p.uniform_(-bound, bound, generator=generator)
        if self.head_kind == "student-t":
            self.dof_raw.fill_(math.log(math.expm1(INITIAL_DOF - 2.0)))

    @property
    def is_distribution(self) -> bool:
        """Whether the network forecasts a distribution (location and scale), not a point."""
        return self.head_kind != "point"

    def dof(self) -> torch.Tensor | None:
        """The Student-t degrees of freedom (a 0-d tensor), or ``None`` for other heads."""
        if self.head_kind != "student-t":
            return None
        return 2.0 + F.softplus(self.dof_raw)

    def location(self, out: torch.Tensor) -> torch.Tensor:
        """The point forecast in (a slice of) :meth:`forward`'s output, whichever the head."""
        return out if self.head_kind == "point" else out[..., 0]

    @staticmethod
    def scale(out: torch.Tensor) -> torch.Tensor:
        """The standard deviation in (a slice of) a distribution head's output."""
        return F.softplus(out[..., 1]) + MIN_SCALE

    @property
    def uses_noise(self) -> bool:
        """Whether training applies dropout (between layers) and so needs noise."""
        return self.dropout > 0.0 and self.layers > 1

    def noise_shape(self, batch: int, steps: int) -> tuple[int, ...] | None:
        """Shape of the uniform noise one training batch needs, or ``None`` if it needs none."""
        if not self.uses_noise:
            return None
        return (self.layers - 1, batch, steps, self.hidden)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, W, F)`` windows -> ``(B, W)``: the forecast of the next bar after every step;
        ``(B, W, 2)`` for a distribution head (location, raw scale: see :meth:`location` and
        :meth:`scale`).

        In training mode with dropout, ``noise`` (uniform in [0, 1), see :meth:`noise_shape`)
        decides which units are dropped: a unit is kept where its noise is at least the dropout
        rate, and scaled by ``1 / (1 - dropout)``. Without noise, torch's ``F.dropout`` (global
        generator) is used, for callers outside the app's trainer.
        """
        out = x
        for k, layer in enumerate(self.rnn.children()):
            if k and self.training and self.dropout > 0.0:
                if noise is None:
                    out = F.dropout(out, self.dropout, True)
                else:
                    keep = (noise[k - 1] >= self.dropout).to(out.dtype)
                    out = out * keep * (1.0 / (1.0 - self.dropout))
            out, _ = layer(out)
        out = self.head(out)
        return out.squeeze(-1) if self.head_kind == "point" else out

    def sizes(self) -> dict:
        """The constructor arguments, to rebuild the same network from a checkpoint."""
        return {
            "kind": self.kind,
            "n_features": self.n_features,
            "hidden": self.hidden,
            "layers": self.layers,
            "dropout": self.dropout,
            "head": self.head_kind,
        }


def exact_copy(net: RecurrentNet) -> RecurrentNet:
    """A float64 CPU copy of ``net`` in eval mode (the original is left as it was): what the
    explanations of a forecast are computed on, so they are exact and repeatable."""
    twin = copy.deepcopy(net).to("cpu").double()
    twin.eval()
    return twin


def last_output(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The forecast of each window: the last step's output (a distribution head's location)."""
    out = net(x)[:, -1]
    return net.location(out) if hasattr(net, "location") else out

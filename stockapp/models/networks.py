"""The recurrent networks: a torch RNN, LSTM or GRU with a linear head on every step.

The module only maps windows to forecasts; training, scaling and saving live elsewhere (darts
keeps its ``nn.Module`` apart from the user-facing model the same way), so the same class serves
the app's trainer, the plain benchmark loop and a checkpoint reload.
"""

from __future__ import annotations

import torch
from torch import nn

from stockapp.errors import ModelError

#: Network kind -> the name shown to people.
MODEL_KINDS: dict[str, str] = {"lstm": "LSTM", "gru": "GRU", "rnn": "Plain RNN (tanh)"}

_LAYERS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RecurrentNet(nn.Module):
    """A stacked recurrent layer followed by ``Linear(hidden, 1)`` applied at every step.

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
        Dropout between stacked layers (torch applies none after the last one, so it is ignored
        for a single layer rather than triggering torch's warning).
    """

    def __init__(self, kind: str, n_features: int, hidden: int, layers: int, dropout: float):
        super().__init__()
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
        extra = {"nonlinearity": "tanh"} if kind == "rnn" else {}
        self.rnn = _LAYERS[kind](
            input_size=self.n_features,
            hidden_size=self.hidden,
            num_layers=self.layers,
            batch_first=True,
            dropout=self.dropout if self.layers > 1 else 0.0,
            **extra,
        )
        self.head = nn.Linear(self.hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, W, F)`` windows -> ``(B, W)``: the forecast of the next bar after every step."""
        out, _ = self.rnn(x)
        return self.head(out).squeeze(-1)

    def sizes(self) -> dict:
        """The constructor arguments, to rebuild the same network from a checkpoint."""
        return {
            "kind": self.kind,
            "n_features": self.n_features,
            "hidden": self.hidden,
            "layers": self.layers,
            "dropout": self.dropout,
        }

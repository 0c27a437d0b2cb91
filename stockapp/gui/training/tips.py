"""The Model page's tooltips and notes: what each setting does, in words."""

from __future__ import annotations

HEAD_TIP = (
    "What the network outputs. A distribution head forecasts a whole distribution of the next "
    "return (a centre and a spread, trained on its likelihood), so the backtest draws 50/80/95% "
    "bands around the forecast and scores how often they held; the README's bands table shows "
    "how calibrated they are on the bundled samples.\n"
)
LOCKED_NOTE = "Settings are locked while the model trains; cancel to change them."


def with_id(text: str, name: str) -> str:
    return f"{text[:1].upper()}{text[1:]}.\nIdentifier: {name} (command line and saved files)."


TRAIN_TIP = "Train on the first part of the series (the past only)."

TIPS = {
    "model": "The recurrent layer: LSTM and GRU remember over long windows; a plain RNN is the "
    "simplest baseline and forgets quickly.",
    "window": "How many past bars the network reads to forecast the next one.",
    "hidden": "Units per recurrent layer: more can fit more patterns, and more noise.",
    "layers": "Stacked recurrent layers.",
    "dropout": "Share of units dropped between stacked layers while training (0 = none); "
    "has no effect with one layer.",
    "epochs": "Most passes over the training windows; early stopping may end sooner.",
    "batch": "Windows per optimiser step.",
    "lr": "Learning rate of the optimiser: too high diverges, too low learns slowly.",
    "patience": "Stop after this many epochs without a better validation loss and keep the "
    "best epoch's weights; 0 never stops early.",
    "seed": "Random seed: the same seed, data and settings train the same model on the CPU.",
    "device": "Where to train: 'auto' takes a GPU when there is one, else the CPU. Only devices "
    "this machine has are listed.",
}

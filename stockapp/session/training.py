"""What the Training tab says about a model: how it was trained, and its next forecast."""

from __future__ import annotations

from typing import Any

import numpy as np

from stockapp.errors import StockappError
from stockapp.models.config import MODEL_KINDS
from stockapp.session.data_tag import DataTag
from stockapp.session.labels import TARGET_LABELS, feature_label


def training_summary(forecaster: Any, tag: DataTag, bars: int, result: Any, next_bar: str) -> str:
    """Lines on a finished training: the network, the data it learnt from (``bars`` bars, those
    before the backtest's test span), speed and best loss, the trainer's sentence and
    ``next_bar`` (see :func:`next_bar_text`)."""
    spec, cfg = forecaster.spec, forecaster.cfg
    kind = MODEL_KINDS.get(cfg.model, cfg.model)
    per_epoch = sum(result.epoch_seconds) / max(len(result.epoch_seconds), 1)
    monitored = "validation" if result.val_losses else "training"
    return "\n".join(
        [
            f"{kind}, hidden {cfg.hidden} × {cfg.layers} layer(s), window {spec.window}, "
            f"features {', '.join(feature_label(f) for f in spec.features)} → "
            f"{TARGET_LABELS.get(spec.target, spec.target).lower()}.",
            f"Trained on {tag.text()} ({bars} bars; the bars after them are kept for the "
            "backtest).",
            f"{result.device}{' with CUDA graphs' if result.cuda_graphs else ''}: "
            f"{len(result.train_losses)} epoch(s), {per_epoch:.2f} s per epoch; best "
            f"{monitored} loss {result.best_loss:.4g} at epoch {result.best_epoch}.",
            result.message,
            next_bar,
        ]
    ).strip()


def next_bar_text(forecaster: Any, series: Any) -> str:
    """The model's forecast for the bar after the last one of ``series`` ("" if it cannot make
    one), made from the latest window with the model as trained (on the past before the test
    span)."""
    if series is None:
        return ""
    try:
        prices = series.prices(forecaster.spec.adjusted)
        last = len(prices) - 1
        forecast = float(forecaster.predict_next(prices, np.array([last]))[0])
    except StockappError:
        return ""
    close = float(prices["Close"].iloc[-1])
    return (
        f"Forecast for the bar after {prices.index[-1]:%Y-%m-%d}: {forecast:,.2f} "
        f"({forecast / close - 1:+.2%} on the last close {close:,.2f}); judge it by the "
        "backtest, not by this number."
    )

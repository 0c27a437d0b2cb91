"""Inside the network: what a forecast looked at, what the gates did, how far gradients reach.

Three views of a trained :class:`~stockapp.models.networks.RecurrentNet`, all computed in eval
mode (no dropout) on a float64 copy of the network on the CPU, so they are exact and repeatable:

* :func:`~stockapp.models.attribution.attribute`: integrated gradients of the forecast with
  respect to every input (lag x feature) from a stated baseline window, zero scaled inputs
  (every feature at its training mean: for log returns, a flat past with the average drift),
  with enough steps that the attributions sum to output minus baseline output within 1%; and the
  plain gradient x input.
* :func:`~stockapp.models.cell_states.cell_states`: the gates and states of every layer at every
  step, by the cell equations from the trained weights (PyTorch's fused ``nn.LSTM``/``nn.GRU``
  do not expose the gates).
* :func:`~stockapp.models.gradient_flow.gradient_flow`: the norm of the last-step loss's
  gradient with respect to the input at each lag, averaged over windows: how far back
  backpropagation through time carries error.

This module holds the Inside tab's two jobs. :func:`explain_forecast` puts the three views of one
test bar's forecast together (:func:`choose_fit` finds the fit that made it).
:func:`compare_kinds` trains a plain RNN, a GRU and an LSTM of the same size on the same windows
and records their gradient flow after every epoch: the vanishing-gradient demonstration. It is a
generator (progress and cancellation at each epoch), like every long job of the app.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.dataset import input_windows, training_set
from stockapp.core.features import FeatureSpec, feature_matrix, needs_fit, price_from_target
from stockapp.core.runs import weights_through_note
from stockapp.core.volatility import fit_garch
from stockapp.errors import ModelError
from stockapp.models.attribution import Attribution, attribute
from stockapp.models.cell_states import cell_states
from stockapp.models.gradient_flow import (
    EPOCH_FLOW_WINDOWS,
    gradient_flow,
    training_flow,
)
from stockapp.models.networks import RecurrentNet
from stockapp.models.trainer import TrainConfig, TrainProgress, train


@dataclass
class Explanation:
    """Everything the Inside tab and ``stockapp explain`` show for one test bar's forecast."""

    date: str  # the bar forecast
    end: int  # row of the window's last bar in the prices
    kind: str
    features: tuple[str, ...]
    raw_inputs: np.ndarray  # (W, F) feature values before scaling
    input_dates: list[str]
    attribution: Attribution
    forecast_price: float
    states: list[dict[str, np.ndarray]]  # per layer: name -> (W, hidden)
    flow: np.ndarray  # (W,) gradient norm at lags 1..W over the training windows

    def summary(self) -> dict:
        a = self.attribution
        return {
            "date": self.date,
            "output": a.output,
            "baseline_output": a.baseline_output,
            "forecast_price": self.forecast_price,
            "model_kind": self.kind,
            "method": "integrated gradients (midpoint rule) from a zero scaled-input baseline",
            "baseline": "every scaled input 0: each feature at its training mean (a flat past)",
            "steps": a.steps,
            "completeness_error": a.completeness_error,
            "units": "target units (the unscaled forecast, e.g. a log return)",
        }


@dataclass(frozen=True)
class FitChoice:
    """The fit that made one test bar's forecast, and the model to explain it with.

    ``index`` is the fit that made the forecast (0: the first fit; the ``segment`` column of
    ``forecasts.csv``); ``forecaster`` has that fit's weights, unless the run kept only its
    last fit's (saved before runs kept every fit), in which case ``used`` is the last fit and
    ``note`` says so in one sentence. ``start`` is the first test bar of the fit ``used``: its
    training windows end before it.
    """

    forecaster: Any
    index: int
    used: int
    count: int
    start: pd.Timestamp
    fit: Any = None  # the FitSummary the run records for fit ``index`` (None if it records none)
    note: str | None = None

    def record(self) -> dict:
        """What ``explain.json`` says about the fit: ``fit_index``, ``trained_through``, ..."""
        fit = self.fit
        out = {
            "fit_index": self.index,
            "fits": self.count,
            "first_test_date": getattr(fit, "first_test_date", None),
            "trained_through": getattr(fit, "trained_through", None),
            "weights_through": getattr(fit, "weights_through", None),
        }
        if self.note:
            out["model_note"] = self.note
        return out


def choose_fit(forecaster, result: Any, bar: int) -> FitChoice:
    """The fit of ``result`` (a backtest, live or reopened) that forecast its test bar ``bar``
    (0-based), with ``forecaster`` (the backtest's model) as that fit left it.

    Old runs: without every fit's weights, an earlier fit's forecast is explained with the last
    fit and the note says so; without ``weights_through``, the note says what that means.
    """
    k = int(result.segment_ids()[bar])
    count = max(len(result.fits), len(result.refit_dates), 1)
    fits = list(result.fits)
    fit = fits[k] if k < len(fits) else None
    notes = []
    if count == 1 or forecaster.fit_count == count:
        model, used = (forecaster if k == count - 1 else forecaster.for_fit(k)), k
    else:
        model, used = forecaster, count - 1
        if k != used:
            last = fits[used] if used < len(fits) else None

            def through(f: Any) -> str:
                return f" (trained through {f.trained_through})" if f and f.trained_through else ""

            made, with_last = through(fit), through(last)
            why = (
                "This sweep run kept only its last fit's weights, as sweeps do to stay small"
                if getattr(forecaster, "omitted_fits", 0)
                else "This run was saved before runs kept every fit's weights"
            )
            notes.append(
                f"{why}, so the forecast made by fit {k + 1} of {count}{made} is explained with "
                f"the last fit's weights{with_last}, and its numbers differ from forecasts.csv."
            )
    if used == 0 and fit is not None and fit.weights_through is None:
        notes.append(weights_through_note(fits) or "")
    start = pd.Timestamp(result.refit_dates[used]) if used < len(result.refit_dates) else None
    if start is None:
        start = pd.Timestamp(result.dates[0])
    return FitChoice(model, k, used, count, start, fit, " ".join(notes) or None)


def explain_forecast(
    forecaster, prices: pd.DataFrame, end: int, flow_before: int | None = None
) -> Explanation:
    """Explain the fitted ``forecaster``'s forecast of bar ``end + 1`` of ``prices``.

    Only rows up to ``end`` reach the window (as when the forecast was made). The gradient flow
    is averaged over the newest :data:`~stockapp.models.gradient_flow.FLOW_WINDOWS` training
    windows whose targets lie before row ``flow_before`` (default: the bar explained).
    """
    if not forecaster.is_fitted:
        raise ModelError("This model has not been trained yet; train it before explaining it.")
    spec: FeatureSpec = forecaster.spec
    scaler = forecaster.scaler
    net: RecurrentNet = forecaster.net
    w = spec.window
    if not w <= end < len(prices):
        raise ModelError(f"A forecast to explain needs {w} bars before it in the data.")
    past = prices.iloc[: end + 1]
    garch = getattr(forecaster, "garch", None)  # a garch_sigma input's fit (issue 22)
    x = input_windows(past, spec, scaler, np.array([end]), garch)[0]
    att = attribute(net, x, scale=scaler.target_std)
    # Unscale: the network forecasts standardised targets.
    att.output += scaler.target_mean
    att.baseline_output += scaler.target_mean
    intraday = is_intraday(prices.index)
    label = format_dates(prices.index[[min(end + 1, len(prices) - 1)]], intraday=intraday)[0]
    last_close = float(past["Close"].iloc[-1])
    price = float(price_from_target(np.array([att.output]), np.array([last_close]), spec)[0])
    if getattr(forecaster.cfg, "head_base", "none") != "none":  # output in units of GARCH's sigma
        price = float(forecaster.predict_next(past, np.array([end]))[0])
    states = [{k: v[0] for k, v in layer.items()} for layer in cell_states(net, x[None])]
    stop = end + 1 if flow_before is None else int(flow_before)
    flow = training_flow(forecaster, prices.iloc[:stop])
    raw = feature_matrix(past, spec, garch)[end - w + 1 : end + 1]  # float64, before scaling
    return Explanation(
        date=label,
        end=int(end),
        kind=net.kind,
        features=tuple(spec.features),
        raw_inputs=raw,
        input_dates=list(format_dates(past.index[-w:], intraday=intraday)),
        attribution=att,
        forecast_price=price,
        states=states,
        flow=flow,
    )


# ----------------------------------------------------------------------------- kinds compared

KINDS = ("rnn", "gru", "lstm")
#: Epochs of the comparison: enough for the three curves to separate on the bundled samples,
#: short enough to finish in about a minute on two CPU cores at the default sizes.
COMPARE_EPOCHS = 5


@dataclass
class KindsProgress:
    """One step of :func:`compare_kinds`: a kind's epoch finished (``flow`` is its curve)."""

    kind: str
    index: int  # 1-based position of the kind
    count: int
    epoch: int
    epochs: int
    flow: np.ndarray | None = None
    train: TrainProgress | None = None


@dataclass
class KindsComparison:
    """Gradient flow per kind after each epoch (``epochs[kind]`` is ``(E, W)``), lag 1 first."""

    window: int
    flows: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> final (W,)
    epochs: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> (E, W)
    cancelled: bool = False


def compare_kinds(
    prices: pd.DataFrame,
    spec: FeatureSpec,
    cfg: TrainConfig,
    epochs: int = COMPARE_EPOCHS,
    should_stop: Callable[[], bool] | None = None,
    kinds: tuple[str, ...] = KINDS,
    fixed: int = EPOCH_FLOW_WINDOWS,
) -> Generator[KindsProgress, None, KindsComparison]:
    """Train each kind (same size, seed and windows) for ``epochs`` and record its gradient flow.

    ``prices`` is the past to learn from. After every epoch the flow is measured on a fixed batch
    (the newest ``fixed`` training windows): one extra batched backward per epoch. Yields after
    every training report (a cancellation point); returns what was finished when stopped.
    """
    stop = should_stop or (lambda: False)
    garch = None
    if needs_fit(spec):  # a garch_sigma input: GARCH fitted on the past given (issue 22)
        garch = fit_garch(prices["Close"].to_numpy(np.float64))
    data = training_set(prices, spec, cfg.val_fraction, garch=garch)
    xb = data.x_train[-fixed:]
    yb = data.y_train[-fixed:]
    result = KindsComparison(window=spec.window)
    for index, kind in enumerate(kinds, start=1):
        kcfg = replace(cfg, model=kind, epochs=int(epochs), patience=0)
        net = RecurrentNet(
            kind, spec.n_features, kcfg.hidden, kcfg.layers, kcfg.dropout,
            generator=torch.Generator().manual_seed(kcfg.seed),
        )  # fmt: skip
        curves: list[np.ndarray] = []
        job = train(net, data, kcfg, stop, keep_best=False)
        while True:
            try:
                event = next(job)
            except StopIteration:
                break
            flow = None
            if event.kind == "epoch":
                flow = gradient_flow(net, xb, yb)
                curves.append(flow)
            yield KindsProgress(kind, index, len(kinds), event.epoch, event.epochs, flow, event)
        if stop():
            result.cancelled = True
            return result
        if curves:
            result.epochs[kind] = np.stack(curves)
            result.flows[kind] = curves[-1]
    return result

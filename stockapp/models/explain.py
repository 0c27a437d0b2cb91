"""Inside the network: what a forecast looked at, what the gates did, how far gradients reach.

Three views of a trained :class:`~stockapp.models.networks.RecurrentNet`, all computed in eval
mode (no dropout) on a float64 copy of the network on the CPU, so they are exact and repeatable:

* :func:`attribute`: integrated gradients of the forecast with respect to every input (lag x
  feature) from a stated baseline window, zero scaled inputs (every feature at its training
  mean: for log returns, a flat past with the average drift), with enough steps that the
  attributions sum to output minus baseline output within 1%; and the plain gradient x input.
* :func:`cell_states`: the gates and states of every layer at every step, by the cell equations
  from the trained weights (PyTorch's fused ``nn.LSTM``/``nn.GRU`` do not expose the gates).
* :func:`gradient_flow`: the norm of the last-step loss's gradient with respect to the input at
  each lag, averaged over windows: how far back backpropagation through time carries error.

:func:`compare_kinds` trains a plain RNN, a GRU and an LSTM of the same size on the same windows
and records their gradient flow after every epoch: the vanishing-gradient demonstration. It is a
generator (progress and cancellation at each epoch), like every long job of the app.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from stockapp.core.bars import format_dates, is_intraday
from stockapp.core.dataset import input_windows, training_set
from stockapp.core.features import (
    FeatureSpec,
    feature_matrix,
    needs_fit,
    price_from_target,
    target_vector,
)
from stockapp.core.runs import weights_through_note
from stockapp.core.volatility import fit_garch
from stockapp.errors import ModelError
from stockapp.models.networks import RecurrentNet
from stockapp.models.trainer import TrainConfig, TrainProgress, train

#: Integrated-gradient steps tried first; doubled until the attributions are complete to within
#: :data:`IG_TOLERANCE`. 64 midpoints already suffice for the default LSTM on AAPL (the error is
#: below 0.1% there); the doubling covers sharper networks.
IG_STEPS = 64
IG_MAX_STEPS = 8192
IG_TOLERANCE = 0.01
#: Training windows averaged for the gradient flow (the newest ones before the test span): the
#: curve's shape settles well before 512 windows and the cost stays one batched backward.
FLOW_WINDOWS = 512
#: Windows of the fixed batch measured after every training epoch. On scripts/bench_train.py's
#: standard workload (2 x 64 LSTM, 2,642 AAPL windows, one CPU thread) 128 windows cost 1.065x an
#: epoch's CPU time, over the 1.05x the issue allows; 64 cost half as much (one extra backward
#: over a batch of 64): ``scripts/bench_train.py --flow`` measured the hook at 0.086 s of a 3.8 s
#: epoch there, 1.023x (wall ratio against the app without it 1.016x).
EPOCH_FLOW_WINDOWS = 64
#: A shorter epoch (a walk-forward refit's: ``recent`` windows plus as many older ones) gets a
#: batch of at most 1/40 of its windows, so the flow stays near 2.5% of it, and at least 8.
EPOCH_FLOW_SHARE = 40
EPOCH_FLOW_MIN = 8
#: Gate and state names per kind, in the order the cell computes them.
STATE_NAMES: dict[str, tuple[str, ...]] = {
    "lstm": ("input", "forget", "candidate", "output", "cell", "hidden"),
    "gru": ("reset", "update", "candidate", "hidden"),
    "rnn": ("hidden",),
}
#: Which states are sigmoid gates (in [0, 1]); the others are tanh outputs (in [-1, 1]) or the
#: LSTM cell state (unbounded).
SIGMOID = frozenset({"input", "forget", "output", "reset", "update"})


def _exact(net: RecurrentNet) -> RecurrentNet:
    """A float64 CPU copy of ``net`` in eval mode (the original is left as it was)."""
    twin = copy.deepcopy(net).to("cpu").double()
    twin.eval()
    return twin


def _last_output(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The forecast of each window: the last step's output (a distribution head's location)."""
    out = net(x)[:, -1]
    return net.location(out) if hasattr(net, "location") else out


# ----------------------------------------------------------------------------- attribution


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
    twin = _exact(net)
    xt = torch.as_tensor(np.asarray(x, np.float64))
    if xt.ndim != 2 or xt.shape[1] != twin.n_features:
        raise ModelError(
            f"The window to explain must be bars x {twin.n_features} feature(s), not "
            f"{tuple(xt.shape)}."
        )
    base = torch.zeros_like(xt)
    with torch.no_grad():
        ends = _last_output(twin, torch.stack([base, xt])) * scale
    b_out, out = float(ends[0]), float(ends[1])
    diff = out - b_out
    req = xt.detach().clone().requires_grad_(True)
    grad_at_x = torch.autograd.grad(_last_output(twin, req[None]).sum() * scale, req)[0]
    n = int(steps)
    while True:
        alphas = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        path = (base + alphas[:, None, None] * (xt - base)).requires_grad_(True)
        grads = torch.autograd.grad(_last_output(twin, path).sum() * scale, path)[0]
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


# ----------------------------------------------------------------------------- gates and states


def cell_states(net: RecurrentNet, x: np.ndarray | torch.Tensor) -> list[dict[str, np.ndarray]]:
    """Every layer's gates and states for ``(B, W, F)`` windows, by the cell equations.

    One dict per layer, name (see :data:`STATE_NAMES`) -> ``(B, W, hidden)`` array, from zero
    initial states as the network's own forward uses; eval mode, so no dropout between layers.
    The loop runs over the window's steps (the recurrence), batched over windows and units.
    """
    twin = _exact(net)
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


# ----------------------------------------------------------------------------- gradient flow


def gradient_flow(net: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor):
    """Mean over windows of ``|d loss / d input|`` at each lag, lag 1 first: shape ``(W,)``.

    The loss is each window's squared error on its last step (the forecast that is used), so a
    window's gradient is its own; the norm is over the features of a bar. Computed in eval mode
    on the network's own device and dtype, without touching its parameters' ``.grad``.
    """
    param = next(net.parameters())
    xt = torch.as_tensor(x).to(device=param.device, dtype=param.dtype).detach()
    yt = torch.as_tensor(y).to(device=param.device, dtype=param.dtype)
    if yt.ndim == 2:
        yt = yt[:, -1]
    was_training = net.training
    net.eval()
    try:
        # cuDNN's fused RNN backward refuses eval mode; the plain kernels give the same numbers.
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            req = xt.requires_grad_(True)
            loss = (_last_output(net, req) - yt).square().sum()
            grad = torch.autograd.grad(loss, req)[0]
    finally:
        net.train(was_training)
    per_lag = grad.norm(dim=2).mean(dim=0)  # (W,), oldest bar first
    return per_lag.flip(0).double().cpu().numpy()


def epoch_flow_windows(n: int, recent: int | None = None) -> int:
    """Windows of the per-epoch fixed batch for ``n`` training windows (``recent``: as
    :func:`~stockapp.models.trainer.train`'s, a refit's epoch of the newest ``recent`` plus as
    many older windows): :data:`EPOCH_FLOW_WINDOWS`, fewer for a short epoch."""
    per_epoch = n if recent is None or recent >= n else recent + min(recent, n - recent)
    return min(n, EPOCH_FLOW_WINDOWS, max(EPOCH_FLOW_MIN, per_epoch // EPOCH_FLOW_SHARE))


def epoch_flow_recorder(
    x: np.ndarray, y: np.ndarray, curves: list[list[float]], recent: int | None = None
) -> Callable[[nn.Module, int], None]:
    """An ``on_epoch`` hook for :func:`~stockapp.models.trainer.train` that appends the gradient
    flow of a fixed batch (the newest :func:`epoch_flow_windows` of the windows ``x``, targets
    ``y``) to ``curves`` after every epoch, as plain floats (lag 1 first).

    The batch is copied to the network's device once, at the first epoch.
    """
    count = epoch_flow_windows(len(x), recent)
    held: dict[str, torch.Tensor] = {}

    def record(net: nn.Module, epoch: int) -> None:
        param = next(net.parameters())
        if "x" not in held:
            held["x"] = torch.as_tensor(x[-count:]).to(param.device, param.dtype)
            held["y"] = torch.as_tensor(y[-count:]).to(param.device, param.dtype)
        curves.append([float(v) for v in gradient_flow(net, held["x"], held["y"])])

    return record


# ----------------------------------------------------------------------------- a whole forecast


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
    is averaged over the newest :data:`FLOW_WINDOWS` training windows whose targets lie before
    row ``flow_before`` (default: the bar explained).
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


def training_flow(forecaster, past: pd.DataFrame, count: int = FLOW_WINDOWS) -> np.ndarray:
    """The model's gradient flow over the newest ``count`` windows of ``past`` (float64, CPU)."""
    spec = forecaster.spec
    w = spec.window
    ends = np.arange(max(w, len(past) - 1 - count), len(past) - 1, dtype=np.int64)
    if ends.size == 0:
        raise ModelError("There are no training windows before this bar to measure gradients on.")
    x = input_windows(past, spec, forecaster.scaler, ends, getattr(forecaster, "garch", None))
    target = (
        forecaster.training_target(past)
        if hasattr(forecaster, "training_target")
        else target_vector(past, spec)
    )
    y = forecaster.scaler.target(target)[ends + 1]
    return gradient_flow(_exact(forecaster.net), x.astype(np.float64), y)


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

"""Mini-batch BPTT for the recurrent networks, as a generator of progress events.

:func:`train` is the one training loop of the app: the GUI adapts its events to signals, the CLI
prints them, the tests drive it directly. Its per-batch work is what a minimal hand-written
PyTorch loop does (gather a batch by index from tensors already on the device, forward, MSE,
backward, clip, optimizer step) and nothing more: the loss is accumulated on the device and only
read at reporting points, and progress is reported by wall time rather than per batch.

On a CUDA device the whole step can be replayed from a CUDA graph (PyTorch's "whole network
capture"), see :class:`stockapp.models.steps.GraphedStep`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn

from stockapp.core.dataset import TrainingSet
from stockapp.errors import ModelError, TrainingDiverged
from stockapp.models.device import describe_device, resolve_device
from stockapp.models.networks import HEAD_BASES, HEADS, MODEL_KINDS, RecurrentNet
from stockapp.models.steps import (
    EagerStep,
    GraphedStep,
    Shuffler,
    draw_noise,
    job_generator,
    loss_function,
    make_optimizer,
    nll,
    use_cuda_graph,
)

log = logging.getLogger(__name__)

#: Least wall time between two "batch" progress events.
REPORT_EVERY_S = 0.2
#: Windows per no-grad forward when computing the validation loss.
EVAL_CHUNK = 2048
#: The first epoch's length is estimated from its batches after the first (which pays for lazy
#: set-up): at most ESTIMATE_BATCHES of them, as few as ESTIMATE_MIN_BATCHES once
#: ESTIMATE_MIN_S have passed. On the build machine a default batch takes ~20 ms, so the
#: estimate arrives ~0.2 s into training; one timed batch alone was off by 60% there.
ESTIMATE_BATCHES = 8
ESTIMATE_MIN_BATCHES = 3
ESTIMATE_MIN_S = 0.1


@dataclass
class TrainConfig:
    """How to build and train a network; every field is checked on creation."""

    # The defaults are regularised so that, on every bundled sample, the default model loses to
    # "tomorrow = today" by less than 1% of RMSE (see README and scripts/defaults_table.py).
    # Unregularised (dropout 0, Adam, lr 1e-3, patience 5) it lost by 3% on ^GSPC.
    model: str = "lstm"
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.2
    epochs: int = 20
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.01
    optimizer: str = "adamw"  # "adam" | "adamw"
    patience: int = 3  # epochs without improvement before stopping; 0 = never stop early
    clip_norm: float = 1.0  # gradient-norm clipping; 0 = off
    seed: int = 0
    device: str = "auto"
    # "last": MSE on each window's last step, the forecast that is used; "all": on every step, as
    # darts does. "last" won on AAPL (80/20, return target, 3 seeds): RMSE 1.003x persistence
    # against 1.010x; "all" did better for the price target (6.5x against 9.8x, both far worse).
    loss_on: str = "last"
    val_fraction: float = 0.15
    cuda_graphs: bool = True
    # "point": one forecast, MSE. "gaussian" / "student-t": a location and a standard deviation
    # of the next log return, trained on the negative log-likelihood (the point forecast is the
    # location); see stockapp.models.networks.HEADS and scripts/bands_table.py.
    head: str = "point"
    # What a distribution head forecasts in units of: "none" (the log return) or "garch" (the
    # return over GARCH's sigma fitted on the past; see networks.HEAD_BASES and the README).
    head_base: str = "none"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise a one-sentence :class:`ModelError` for the first unusable value."""
        if self.model not in MODEL_KINDS:
            raise ModelError(f"Unknown model type '{self.model}'; choose lstm, gru or rnn.")
        _at_least("hidden size", self.hidden, 1)
        _at_least("number of layers", self.layers, 1)
        _at_least("number of epochs", self.epochs, 1)
        _at_least("batch size", self.batch_size, 1)
        _at_least("patience", self.patience, 0)
        _at_least("seed", self.seed, 0)
        if not (_number(self.dropout) and 0.0 <= self.dropout < 1.0):
            raise ModelError(f"The dropout must be at least 0 and below 1, not {self.dropout}.")
        if not (_number(self.lr) and self.lr > 0):
            raise ModelError(f"The learning rate must be a positive number, not {self.lr}.")
        if not (_number(self.weight_decay) and self.weight_decay >= 0):
            raise ModelError(f"The weight decay must be 0 or more, not {self.weight_decay}.")
        if not (_number(self.clip_norm) and self.clip_norm >= 0):
            raise ModelError(
                f"The gradient clipping norm must be 0 (off) or more, not {self.clip_norm}."
            )
        if self.optimizer not in ("adam", "adamw"):
            raise ModelError(f"Unknown optimizer '{self.optimizer}'; choose 'adam' or 'adamw'.")
        if self.loss_on not in ("all", "last"):
            raise ModelError(
                f"The loss must be on 'all' steps or the 'last' one, not '{self.loss_on}'."
            )
        if not (_number(self.val_fraction) and 0.0 <= self.val_fraction < 0.9):
            raise ModelError(
                "The validation fraction must be at least 0 and below 0.9, "
                f"not {self.val_fraction}."
            )
        if self.head not in HEADS:
            raise ModelError(f"Unknown output head '{self.head}'; choose {', '.join(HEADS)}.")
        if self.head_base not in HEAD_BASES:
            raise ModelError(
                f"Unknown head base '{self.head_base}'; choose {' or '.join(HEAD_BASES)}."
            )
        if self.head_base != "none" and self.head == "point":
            raise ModelError(
                "A head base scales a distribution's sigma; choose the gaussian or student-t "
                "head, or no base."
            )
        if not isinstance(self.device, str) or not self.device:
            raise ModelError("Name a device: 'auto', 'cpu', 'cuda' or 'mps'.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _at_least(what: str, value: object, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ModelError(f"The {what} must be a whole number of at least {low}, not {value}.")


@dataclass
class TrainProgress:
    """One progress report: after an epoch, or every ~0.2 s within one."""

    kind: str  # "batch" | "epoch"
    epoch: int  # 1-based
    epochs: int
    batch: int
    batches: int
    train_loss: float  # mean over the epoch's batches so far
    val_loss: float | None
    best_epoch: int
    samples_per_s: float
    elapsed_s: float
    eta_s: float
    device: str
    # "fit": the training itself; "catch-up": the epochs after early stopping that go on
    # learning from the validation slice (see RecurrentForecaster.fit), which a loss chart of
    # the training does not draw as more epochs.
    phase: str = "fit"


def duration_text(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``4 min 10 s`` or ``2 h 05 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(int(round(seconds / 60)), 60)
    return f"{hours} h {rest:02d} min"


@dataclass(frozen=True)
class EpochEstimate:
    """How long each epoch of a fit will take, from its first batches, timed.

    :func:`train` yields one, before its first epoch has gone far (after about
    :data:`ESTIMATE_BATCHES` batches), whenever that epoch has more batches than were timed:
    the GUI and the CLI show :meth:`sentence` so that a long training says up front how long
    it is going to be.
    """

    epochs: int
    batches: int  # per epoch
    windows: int  # training windows per epoch
    batch_s: float  # seconds per batch, the mean of the timed ones
    timed: int  # batches timed
    validation_s: float  # the validation pass after each epoch (0: none)
    device: str
    kind: str = "estimate"  # as TrainProgress.kind, for code that reads progress events
    epoch: int = 1

    @property
    def epoch_s(self) -> float:
        return self.batch_s * self.batches + self.validation_s

    def sentence(self) -> str:
        """E.g. ``One epoch of 799,959 training windows will take about 4 min 10 s (12,500
        batches at 19.9 ms on CPU, timed on 8); 20 epochs at most: about 1 h 23 min.``"""
        val = " plus validation" if self.validation_s else ""
        text = (
            f"One epoch of {self.windows:,} training windows will take about "
            f"{duration_text(self.epoch_s)} ({self.batches:,} batches at "
            f"{self.batch_s * 1000:.1f} ms{val} on {self.device}, timed on {self.timed})"
        )
        if self.epochs > 1:
            text += (
                f"; {self.epochs} epochs at most: about {duration_text(self.epochs * self.epoch_s)}"
            )
        return text + "."


def _sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a clock reading means it is done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@torch.no_grad()
def _time_validation(net: nn.Module, x_val: torch.Tensor, device: torch.device) -> float:
    """Seconds the validation pass will take, from one timed no-grad chunk (weights, dropout
    and random state untouched: eval mode draws no noise)."""
    n = x_val.shape[0]
    if n == 0:
        return 0.0
    chunk = min(n, EVAL_CHUNK)
    was_training = net.training
    net.eval()
    try:
        start = time.monotonic()
        net(x_val[:chunk])
        _sync(device)
        return (time.monotonic() - start) * n / chunk
    finally:
        net.train(was_training)


@dataclass
class TrainResult:
    """What a finished (or stopped) training run did; the network holds the kept weights."""

    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = math.inf
    stop_reason: str = "completed"  # "completed" | "early_stopped" | "cancelled"
    epoch_seconds: list[float] = field(default_factory=list)
    device: str = ""
    cuda_graphs: bool = False
    message: str = ""
    capture_seconds: float = 0.0  # spent capturing the CUDA graph (0 when eager)
    # The bars whose targets the fit used, as ISO dates (set by the forecaster, which knows the
    # dates): from the first training target through the last target of training or of early
    # stopping's validation slice, which starts at ``validated_from`` (None: no validation).
    trained_from: str | None = None
    trained_through: str | None = None
    validated_from: str | None = None
    # The last bar whose target the kept weights learnt from (set by the forecaster): the bar
    # before ``validated_from`` when early stopping restored weights that never trained on the
    # validation slice, ``trained_through`` once they have (after the catch-up epochs).
    weights_through: str | None = None
    # The catch-up after early stopping: its training losses and seconds, one per epoch.
    catchup_losses: list[float] = field(default_factory=list)
    catchup_seconds: list[float] = field(default_factory=list)
    # The gradient through time after each epoch, lag 1 first (see stockapp.models.explain), set
    # by the forecaster; empty for results written before it was recorded.
    gradient_flow_epochs: list[list[float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["best_loss"] = self.best_loss if math.isfinite(self.best_loss) else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainResult:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if kw.get("best_loss") is None:
            kw["best_loss"] = math.inf
        return cls(**kw)


def device_tensors(data: TrainingSet, device: torch.device) -> tuple[torch.Tensor, ...]:
    """``x_train, y_train, x_val, y_val`` as float32 tensors on ``device``, copied once.

    The windows are views of one feature matrix (:class:`~stockapp.core.dataset.TrainingSet`)
    and stay views: on the CPU they share its memory, and to another device only the memory
    they span travels (the bars, not the bars times the window).
    """
    arrays = (data.x_train, data.y_train, data.x_val, data.y_val)
    return tuple(_to_device(torch.as_tensor(a, dtype=torch.float32), device) for a in arrays)


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cpu" or tensor.is_contiguous() or tensor.numel() == 0:
        return tensor.to(device)
    span = 1 + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride(), strict=True))
    flat = torch.as_strided(tensor, (span,), (1,))  # the memory the overlapping rows span
    return torch.as_strided(flat.to(device), tensor.shape, tensor.stride())


@torch.no_grad()
def validation_loss(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_on: str = "all", chunk: int = EVAL_CHUNK
) -> float:
    """Mean squared error of ``net`` on ``(x, y)`` in eval mode, in large no-grad batches; the
    mean negative log-likelihood for a distribution head (the loss it is trained on)."""
    was_training = net.training
    net.eval()
    dist = getattr(net, "is_distribution", False)
    try:
        total = 0.0
        for i in range(0, x.shape[0], chunk):
            pred, target = net(x[i : i + chunk]), y[i : i + chunk]
            if dist:
                out, tgt = (pred[:, -1], target[:, -1]) if loss_on == "last" else (pred, target)
                total += float(nll(out, tgt, net.dof()).sum())
                continue
            if loss_on == "last":
                pred, target = pred[:, -1], target[:, -1]
            total += float((pred - target).square().sum())
        per_window = 1 if loss_on == "last" else y.shape[1]
        return total / max(x.shape[0] * per_window, 1)
    finally:
        net.train(was_training)


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _check_finite(value: float, which: str, epoch: int) -> float:
    if math.isfinite(value):
        return value
    what = "NaN" if math.isnan(value) else "infinite"
    if which == "validation":
        raise TrainingDiverged(
            f"The validation loss became {what} at epoch {epoch}; check the data for gaps or "
            "extreme values, or try a lower learning rate."
        )
    raise TrainingDiverged(
        f"The training loss became {what} at epoch {epoch}; try a lower learning rate or "
        "stronger gradient clipping."
    )


def _outcome(reason: str, epoch: int, best_epoch: int, monitored: str) -> str:
    if reason == "early_stopped":
        return f"Stopped early at epoch {epoch}; restored the best weights from epoch {best_epoch}."
    if reason == "cancelled":
        if best_epoch == 0:
            return (
                f"Cancelled during epoch {epoch} before any epoch finished; the weights are only "
                "partly trained."
            )
        return (
            f"Cancelled during epoch {epoch}; kept the best weights so far, from epoch "
            f"{best_epoch}."
        )
    if not monitored:
        return f"Completed {epoch} epoch{'s' if epoch != 1 else ''}; kept the final weights."
    return (
        f"Completed {epoch} epoch{'s' if epoch != 1 else ''}; kept the weights from epoch "
        f"{best_epoch}, which had the lowest {monitored} loss."
    )


def train(
    net: nn.Module,
    data: TrainingSet,
    cfg: TrainConfig,
    should_stop: Callable[[], bool] | None = None,
    recent: int | None = None,
    keep_best: bool = True,
    on_epoch: Callable[[nn.Module, int], None] | None = None,
    phase: str = "fit",
) -> Generator[TrainProgress | EpochEstimate, None, TrainResult]:
    """Train ``net`` in place on ``data``, yielding progress; returns a :class:`TrainResult`.

    MSE on the standardised targets (the negative log-likelihood for a distribution head; every
    step or the last, per ``cfg.loss_on``), Adam/AdamW,
    gradient-norm clipping, and early stopping on the validation loss (the training loss when
    there are no validation windows) that restores the best epoch's weights, which are also kept
    when training completes or is cancelled. With ``keep_best=False`` (a warm refit: a fixed
    number of epochs) the weights after the last epoch are kept and nothing stops early. The
    validation loss uses the same steps (``loss_on``) as the training loss, so the two curves
    are comparable. ``should_stop`` is polled before every batch. ``on_epoch(net, epoch)`` is
    called after every finished epoch, once its weights are final and before it is reported,
    eagerly (outside any CUDA graph); an epoch cut short by cancelling is not passed to it.
    ``phase`` is copied into every progress event.

    Early in the first epoch it also yields one :class:`EpochEstimate` (timed on its first
    batches; nothing about the training changes for it).

    The data are copied to the device once. All randomness (the order of the windows each epoch
    and the dropout noise) comes from one ``torch.Generator`` seeded with ``cfg.seed`` for this
    job alone; torch's global generator is neither read nor changed, so jobs running at the same
    time stay reproducible. Every training window is in exactly one batch per epoch; with
    ``recent`` an epoch is the newest ``recent`` windows plus as many sampled from the older
    ones (see :class:`~stockapp.models.steps.Shuffler`).

    On CUDA with ``cfg.cuda_graphs``, a fit of at least
    :data:`~stockapp.models.steps.GRAPH_MIN_STEPS` planned steps replays the step from a CUDA
    graph (shorter fits would not repay the capture). If capture fails, training runs eagerly
    and the result's message says so (``cuda_graphs`` is then False).

    Raises
    ------
    TrainingDiverged
        When a loss becomes NaN or infinite (the best weights so far are restored first).
    ModelError
        For an unusable device or data that does not fit the network.
    """
    cfg.validate()
    device = resolve_device(cfg.device)
    label = describe_device(device)
    net.to(device).train()
    x, y, x_val, y_val = device_tensors(data, device)
    n = x.shape[0]
    if n == 0:
        raise ModelError("There are no training windows; use more data or a shorter window.")
    expected = getattr(net, "n_features", x.shape[2])
    if x.shape[2] != expected:
        raise ModelError(
            f"The network takes {expected} feature(s) per bar but the data has {x.shape[2]}; "
            "train a new model for these features."
        )
    batch = min(cfg.batch_size, n)
    loss_fn = loss_function(cfg.loss_on, net)

    def new_optimizer(capturable: bool = False) -> torch.optim.Optimizer:
        return make_optimizer(net, cfg.optimizer, cfg.lr, cfg.weight_decay, device, capturable)

    gen = job_generator(device, cfg.seed)
    order = Shuffler(n, batch, device, gen, recent)
    steps_per_epoch = -(-order.per_epoch // batch)
    step: EagerStep | GraphedStep | None = None
    graph_note = ""
    capture_s = 0.0
    if use_cuda_graph(device, cfg.cuda_graphs, cfg.epochs * steps_per_epoch):
        start = _snapshot(net)
        t_capture = time.monotonic()
        try:
            step = GraphedStep(
                net, lambda: new_optimizer(True), loss_fn, cfg.clip_norm, x, y, batch
            )
        except Exception as exc:  # any capture failure: train eagerly instead
            log.warning("CUDA graph capture failed; training eagerly", exc_info=True)
            net.load_state_dict(start)
            net.zero_grad(set_to_none=True)
            graph_note = f"; CUDA graph capture failed ({type(exc).__name__}), so it ran eagerly"
        capture_s = time.monotonic() - t_capture
    graphed = step is not None
    if step is None:
        step = EagerStep(net, new_optimizer(), loss_fn, cfg.clip_norm, x, y)
    steps_in_window = x.shape[1]

    result = TrainResult(device=label, cuda_graphs=graphed, capture_seconds=capture_s)
    has_val = x_val.shape[0] > 0
    best_state: dict[str, torch.Tensor] | None = None
    acc = torch.zeros((), device=device)
    t0 = last_report = time.monotonic()
    batches_est = steps_per_epoch
    done_batches = 0
    epoch = 0
    t_timed: float | None = None  # when the first (untimed) batch of epoch 1 ended
    try:
        for epoch in range(1, cfg.epochs + 1):
            t_epoch = time.monotonic()
            batches = order.epoch()
            acc.zero_()
            seen = 0
            for b, idx in enumerate(batches, 1):
                if should_stop is not None and should_stop():
                    result.stop_reason = "cancelled"
                    break
                acc += step(idx, draw_noise(net, idx.shape[0], steps_in_window, gen, device))
                seen += idx.shape[0]
                if epoch == 1 and b < len(batches) and t_timed != math.inf and phase == "fit":
                    if b == 1:
                        _sync(device)
                        t_timed = time.monotonic()
                    elif b - 1 >= ESTIMATE_BATCHES or (
                        b - 1 >= ESTIMATE_MIN_BATCHES
                        and time.monotonic() - t_timed >= ESTIMATE_MIN_S
                    ):
                        _sync(device)
                        batch_s = (time.monotonic() - t_timed) / (b - 1)
                        t_timed = math.inf  # once per fit
                        yield EpochEstimate(
                            cfg.epochs, len(batches), order.per_epoch, batch_s, b - 1,
                            _time_validation(net, x_val, device) if has_val else 0.0, label,
                        )  # fmt: skip
                        last_report = time.monotonic()  # the next batch report is paced from it
                if time.monotonic() - last_report >= REPORT_EVERY_S:
                    loss = _check_finite(acc.item() / b, "training", epoch)  # syncs the device
                    last_report = now = time.monotonic()
                    done = done_batches + b
                    left = len(batches) - b + (cfg.epochs - epoch) * batches_est
                    yield TrainProgress(
                        "batch", epoch, cfg.epochs, b, len(batches), loss, None,
                        result.best_epoch, seen / max(now - t_epoch, 1e-9), now - t0,
                        (now - t0) / done * left, label, phase,
                    )  # fmt: skip
            if result.stop_reason == "cancelled":
                break
            done_batches += len(batches)
            train_loss = _check_finite(acc.item() / len(batches), "training", epoch)
            val_loss = None
            if has_val:
                val_loss = validation_loss(net, x_val, y_val, cfg.loss_on)
                _check_finite(val_loss, "validation", epoch)
            if on_epoch is not None:
                on_epoch(net, epoch)
            monitored = val_loss if val_loss is not None else train_loss
            if not keep_best:  # a fixed number of epochs: the last one is the one kept
                result.best_loss, result.best_epoch = monitored, epoch
            elif monitored < result.best_loss:
                result.best_loss, result.best_epoch = monitored, epoch
                best_state = _snapshot(net)
            result.train_losses.append(train_loss)
            if val_loss is not None:
                result.val_losses.append(val_loss)
            now = time.monotonic()
            result.epoch_seconds.append(now - t_epoch)
            last_report = now
            yield TrainProgress(
                "epoch", epoch, cfg.epochs, len(batches), len(batches), train_loss, val_loss,
                result.best_epoch, seen / max(now - t_epoch, 1e-9), now - t0,
                (now - t0) / epoch * (cfg.epochs - epoch), label, phase,
            )  # fmt: skip
            if (
                keep_best
                and cfg.patience
                and epoch - result.best_epoch >= cfg.patience
                and epoch < cfg.epochs
            ):
                result.stop_reason = "early_stopped"
                break
    finally:
        # Also on divergence or when the consumer abandons the generator: keep the best weights.
        if best_state is not None:
            net.load_state_dict(best_state)
        net.zero_grad(set_to_none=True)
    monitored_name = "validation" if has_val else "training"
    if not keep_best and result.stop_reason == "completed":
        monitored_name = ""
    result.message = (
        _outcome(result.stop_reason, epoch, result.best_epoch, monitored_name).removesuffix(".")
        + graph_note
        + "."
    )
    return result


_warmed_up = False


def warm_up() -> None:
    """Pay torch's one-off lazy imports now, once per process.

    The first optimizer torch builds imports ``torch._dynamo`` (and sympy) on the spot, about two
    seconds of module loading. In a background training thread that import holds the GIL in long
    stretches and freezes a GUI for up to ~0.2 s at a time; a GUI calls this at start-up instead.
    """
    global _warmed_up
    if not _warmed_up:
        net = RecurrentNet("lstm", 1, 1, 1, 0.0, generator=torch.Generator())
        make_optimizer(net, "adam", 1e-3, 0.0, torch.device("cpu"))
        _warmed_up = True

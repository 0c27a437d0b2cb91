"""What a training is asked to do and what it reports, free of torch.

:class:`TrainConfig` (the network and its training), :data:`MODEL_KINDS` and :data:`HEADS`, and
the events and result of a training (:class:`TrainProgress`, :class:`EpochEstimate`,
:class:`TrainResult`) are plain data: the window's settings pages, the command line's options
and the progress handlers read them without importing torch, which loads only when a model is
built or trained (:mod:`stockapp.models.trainer` and :mod:`stockapp.models.networks` re-export
them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from stockapp.errors import ModelError

#: Network kind -> the name shown to people.
MODEL_KINDS: dict[str, str] = {"lstm": "LSTM", "gru": "GRU", "rnn": "Plain RNN (tanh)"}

#: Output head -> what it forecasts for the next bar's (scaled) target.
HEADS: dict[str, str] = {
    "point": "a single value (trained on squared error)",
    "gaussian": "a Gaussian: location and standard deviation (trained on its log-likelihood)",
    "student-t": "a Student-t: location, standard deviation and a learned dof (log-likelihood)",
}
#: What a distribution head's location and scale are in units of (issue 22): the plain log
#: return, or the return over GARCH(1,1)'s sigma fitted on the training past at each (re)fit,
#: so the head learns a correction to GARCH (the network itself is the same; the forecaster
#: divides the target by the base when training and multiplies the forecast back).
HEAD_BASES: dict[str, str] = {
    "none": "the head forecasts the log return itself",
    "garch": "the head scales GARCH(1,1)'s sigma, fitted on the training past at each fit",
}


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
    # return over GARCH's sigma fitted on the past; see HEAD_BASES and the README).
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

    :func:`~stockapp.models.trainer.train` yields one, before its first epoch has gone far
    (after about :data:`~stockapp.models.trainer.ESTIMATE_BATCHES` batches), whenever that
    epoch has more batches than were timed: the GUI and the CLI show :meth:`sentence` so that
    a long training says up front how long it is going to be.
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

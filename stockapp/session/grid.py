"""An experiment's grid and seeds as typed, checked the same way in the window and on the
command line: ``20, 60`` -> ``[20, 60]``, ``0-4`` -> ``(0, 1, 2, 3, 4)``, or one sentence that
names the field (the window's label or the command line's option) and what it takes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from stockapp.core.sweep_search import Range, Space, parse_range
from stockapp.errors import StockappError

#: Model kinds a grid may try.
MODEL_TYPES = ("lstm", "gru", "rnn")


@dataclass(frozen=True)
class GridField:
    """One setting a grid varies: its name in the request, its label in the window, its option
    on the command line, the type of its values, what it takes in words, and the least value
    (for numbers; ``None`` when any number is fine)."""

    name: str
    label: str
    option: str
    kind: type
    what: str
    least: float | None = None

    def parse(self, text: str, label: str | None = None) -> list:
        """The values typed (duplicates dropped, order kept); one sentence naming ``label``
        (default: the window's label) when they are not what the field takes."""
        said = self.label if label is None else label
        parts = [t.strip() for t in str(text).split(",") if t.strip()]
        try:
            values = [self.kind(t) if self.kind is not str else t.lower() for t in parts]
        except ValueError:
            values = []
        if self.least is not None and any(
            isinstance(v, float) and math.isnan(v) or v < self.least for v in values
        ):
            values = []
        if not values:
            raise StockappError(
                f"{said} takes {self.what} separated by commas, not '{text.strip()}'."
            )
        values = list(dict.fromkeys(values))
        self.check(values)
        return values

    def parse_space(self, text: str, label: str | None = None) -> list | Range:
        """A list as :meth:`parse` reads it, or a range (``low:high`` or ``low:high:log``) for
        a numeric setting, checked against the values the setting can take."""
        said = self.label if label is None else label
        if ":" not in str(text) or self.kind is str:
            return self.parse(text, label)
        span = parse_range(str(text), self.kind is int, said)
        if self.least is not None and span.low < self.least:
            raise StockappError(
                f"{said} takes {self.what}; its range {span.text()} starts below {self.least:g}."
            )
        self.check([span.low, span.high])
        return span

    def check(self, values: list) -> None:
        """Refuse, in one sentence, values of the right type that the setting cannot take."""
        if self.name == "model":
            unknown = [m for m in values if m not in MODEL_TYPES]
            if unknown:
                raise StockappError(f"Unknown model type '{unknown[0]}'; use lstm, gru or rnn.")
        elif self.name == "target":
            unknown = [t for t in values if t not in ("return", "price")]
            if unknown:
                raise StockappError(f"Unknown target '{unknown[0]}'; use return or price.")
        elif self.name == "dropout" and any(d >= 1 for d in values):
            raise StockappError("Dropout takes numbers from 0 to below 1.")
        elif self.name == "lr" and any(lr <= 0 for lr in values):
            raise StockappError("Learning rates must be positive.")


#: Every setting a grid may vary, in the order the window shows them.
FIELDS = (
    GridField("model", "Model types", "--model", str, "lstm, gru or rnn"),
    GridField("window", "Windows (bars)", "--window", int, "whole numbers of bars", 1),
    GridField("hidden", "Hidden units", "--hidden", int, "whole numbers", 1),
    GridField("layers", "Layers", "--layers", int, "whole numbers", 1),
    GridField("dropout", "Dropout", "--dropout", float, "numbers from 0 to below 1", 0),
    GridField("lr", "Learning rates", "--lr", float, "positive numbers", 0),
    GridField("target", "Targets", "--target", str, "targets (return, price)"),
    GridField("refit_every", "Refit every", "--refit-every", int, "whole numbers of bars", 0),
)
BY_NAME = {f.name: f for f in FIELDS}


def parse_grid(texts: dict[str, str | None], labels: str = "label") -> dict[str, list]:
    """The grid of the fields given (``None`` or absent: not varied), each checked;
    ``labels="option"`` names a bad field by its command-line option."""
    grid: dict[str, list] = {}
    for field in FIELDS:
        text = texts.get(field.name)
        if text is None:
            continue
        grid[field.name] = field.parse(text, field.option if labels == "option" else None)
    return grid


def parse_space(texts: dict[str, str | None], labels: str = "label") -> Space:
    """Like :func:`parse_grid`, but a numeric field may also be a range (``1e-4:1e-2:log``)
    for random or TPE search."""
    space: Space = {}
    for field in FIELDS:
        text = texts.get(field.name)
        if text is None:
            continue
        space[field.name] = field.parse_space(text, field.option if labels == "option" else None)
    return space


def parse_seeds(text: str, takes: str = "--seeds takes", example: str = "0-4") -> tuple[int, ...]:
    """``0-4`` -> (0, 1, 2, 3, 4); ``0,2,5`` -> those, in order, once each.

    Anything else raises one sentence that starts with ``takes`` (the option or field and its
    verb, e.g. ``"Seeds take"`` in the window).
    """
    bad = StockappError(
        f"{takes} a range like {example} or a list like 0,2,5, not '{text.strip()}'."
    )
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-"))
                if hi < lo:
                    raise bad
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise bad from None
    if not seeds or min(seeds) < 0:
        raise bad
    return tuple(dict.fromkeys(seeds))

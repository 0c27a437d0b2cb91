"""Which configurations a sweep tries: every combination (grid) or N drawn from value lists and
ranges (random; TPE in :mod:`stockapp.core.sweep_tpe`).

A search space maps a setting to a list of values or a :class:`Range` (``1e-4:1e-2:log``,
``8:64``, ``0:0.3``). A grid needs lists only. Random search draws ``trials`` distinct
configurations with numpy's generator seeded by ``seed``: the same space, number and seed give
the same trials, in the same order, on any machine. Floats drawn from a range are rounded to 4
significant digits so labels stay readable and a configuration is the same key every time.

Every configuration tried is a run of the sweep like a grid's: it is counted in the Holm
adjustments, in SPA and in the verdict's "accounting for the N tried". A search that tries 50
configurations pays for 50 in its p-values whichever way they were picked.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stockapp.core.sweep_plan import SETTING_ORDER, expand_grid
from stockapp.errors import StockappError

SEARCHES = ("grid", "random", "tpe")
#: Draws per wanted trial before a random search gives up finding new distinct configurations.
ATTEMPTS_PER_TRIAL = 50
SIGNIFICANT = 4
#: Optuna's own default: TPE's first 10 trials are drawn at random before it models the scores.
STARTUP_TRIALS = 10
TPE_INSTALL = "pip install 'stockapp[tune]'"


@dataclass(frozen=True)
class Range:
    """Values from ``low`` to ``high`` (both included), uniform or (``log``) log-uniform;
    whole numbers when ``integer``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def text(self) -> str:
        """``1e-04:0.01:log`` -- the form typed."""
        fmt = "{:d}" if self.integer else "{:g}"
        lo, hi = (fmt.format(int(v) if self.integer else v) for v in (self.low, self.high))
        return f"{lo}:{hi}" + (":log" if self.log else "")

    def sample(self, rng: np.random.Generator) -> int | float:
        """One value drawn with ``rng``."""
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            if self.log:  # log-uniform over [lo, hi + 1), floored: each whole number its share
                value = int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))
            else:
                value = int(rng.integers(lo, hi + 1))
            return min(max(value, lo), hi)
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return rounded(min(max(value, self.low), self.high))

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "log": self.log, "integer": self.integer}


Space = dict[str, "list | Range"]


def rounded(value: float) -> float:
    """``value`` to :data:`SIGNIFICANT` significant digits (0 stays 0)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{SIGNIFICANT - 1}e}")


def parse_range(text: str, integer: bool, said: str) -> Range:
    """``low:high`` or ``low:high:log`` -> a :class:`Range`; one sentence naming ``said``
    (the option or the window's label) when it is not one."""
    parts = [p.strip() for p in text.strip().split(":")]
    kind = "whole numbers" if integer else "numbers"
    bad = StockappError(
        f"{said} takes a range like low:high or low:high:log ({kind}), not '{text.strip()}'."
    )
    log = len(parts) == 3 and parts[2].lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise bad
    try:
        low, high = ((int(p) if integer else float(p)) for p in parts[:2])
    except ValueError:
        raise bad from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise bad
    if not low < high:
        raise StockappError(
            f"{said}'s range {text.strip()} must go from a smaller value to a larger one."
        )
    if log and low <= 0:
        raise StockappError(f"{said}'s log range {text.strip()} must start above 0.")
    return Range(low, high, log, integer)


def space_to_json(space: Space) -> dict:
    """The space as plain data for ``summary.json``."""
    return {k: v.to_dict() if isinstance(v, Range) else list(v) for k, v in space.items()}


def ordered_names(space: Space) -> list[str]:
    return [k for k in SETTING_ORDER if k in space] + [k for k in space if k not in SETTING_ORDER]


def space_size(space: Space) -> int | None:
    """How many distinct configurations the space holds (``None``: too many to matter)."""
    size = 1
    for value in space.values():
        if isinstance(value, Range):
            if not value.integer:
                return None
            size *= int(value.high) - int(value.low) + 1
        else:
            size *= len(value)
    return size


def check_trials(space: Space, trials: int) -> None:
    """Refuse, in one sentence, a number of trials the space cannot give distinct ones for."""
    if trials < 1:
        raise StockappError(f"--trials must be at least 1, not {trials}.")
    size = space_size(space)
    if size is not None and trials > size:
        raise StockappError(
            f"--trials {trials} asks for more configurations than the {size} the values "
            f"allow; ask for at most {size}, or use --search grid to try them all."
        )


@dataclass(frozen=True)
class Search:
    """How configurations are picked: ``method`` (grid, random or tpe), how many (``trials``;
    ``None`` for a grid), the sampler's ``seed``, and TPE's random start."""

    method: str = "grid"
    trials: int | None = None
    seed: int = 0
    startup_trials: int = STARTUP_TRIALS

    def check(self, space: Space, window: bool = False) -> None:
        """One sentence for a search that cannot run on ``space``, before anything loads
        (in the window's words when ``window``, else the command line's)."""
        if window:
            self._check_in_words(space)
        if self.method not in SEARCHES:
            raise StockappError(f"Unknown search '{self.method}'; use grid, random or tpe.")
        if self.method == "grid":
            if self.trials is not None:
                raise StockappError(
                    "--trials applies to --search random or tpe; a grid tries every combination."
                )
            grid_trials(space)
            return
        if self.trials is None:
            raise StockappError(
                f"--search {self.method} needs --trials N: how many configurations to try."
            )
        check_trials(space, self.trials)
        if self.method == "tpe":
            load_optuna()

    def _check_in_words(self, space: Space) -> None:
        if self.method == "grid":
            for name in ordered_names(space):
                if isinstance(space[name], Range):
                    raise StockappError(
                        f"A grid tries lists of values, and {name} is a range "
                        f"({space[name].text()}): list the values or choose a random or TPE "
                        "search."
                    )
        size = space_size(space)
        if self.trials is not None and size is not None and self.trials > size:
            raise StockappError(
                f"{self.trials} trials ask for more configurations than the {size} the values "
                "allow; ask for fewer, or try every combination."
            )

    def to_dict(self, space: Space) -> dict:
        record = {"method": self.method, "seed": self.seed, "space": space_to_json(space)}
        if self.trials is not None:
            record["trials"] = self.trials
        if self.method == "tpe":
            record["startup_trials"] = self.startup_trials
            record["objective"] = "mean RMSE/persistence on the selection span"
        return record


def load_optuna() -> Any:
    """The ``optuna`` module (imported here and in :mod:`stockapp.core.sweep_tpe` only, when
    a TPE search is asked for), or one sentence naming the install command."""
    try:
        import optuna
    except ImportError:
        raise StockappError(
            f"--search tpe needs Optuna, which is not installed: {TPE_INSTALL} (or pip install "
            "optuna)."
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial on stderr
    return optuna


def grid_trials(space: Space, option: str = "--search grid") -> list[dict]:
    """Every combination (today's grid, in its order); one sentence for a range in the space."""
    for name in ordered_names(space):
        value = space[name]
        if isinstance(value, Range):
            raise StockappError(
                f"{option} tries lists of values, and {name} is a range ({value.text()}): list "
                "the values (e.g. 8,16,32) or use --search random or tpe with --trials N."
            )
    return expand_grid({k: list(v) for k, v in space.items()})


def random_trials(space: Space, trials: int, seed: int) -> list[dict]:
    """``trials`` distinct configurations drawn from ``space`` with ``seed`` (same -> same)."""
    check_trials(space, trials)
    names = ordered_names(space)
    for name in names:
        if not isinstance(space[name], Range) and not space[name]:
            raise StockappError(f"Give at least one value for {name}.")
    rng = np.random.default_rng(seed)
    found: dict[str, dict] = {}
    for _ in itertools.repeat(None, trials * ATTEMPTS_PER_TRIAL):
        config = {name: draw(space[name], rng) for name in names}
        found.setdefault(config_id(config), config)
        if len(found) == trials:
            break
    if len(found) < trials:
        raise StockappError(
            f"Only {len(found)} distinct configurations came out of "
            f"{trials * ATTEMPTS_PER_TRIAL} draws; widen the ranges or ask for fewer trials."
        )
    return list(found.values())


def draw(values: list | Range, rng: np.random.Generator):
    """One value of a list (uniformly) or of a range."""
    if isinstance(values, Range):
        return values.sample(rng)
    return values[int(rng.integers(len(values)))]


def config_id(config: dict) -> str:
    """A configuration as one comparable string (the sweep's own ``config_id`` form)."""
    return json.dumps(config, sort_keys=True)


def selection_objective(rows: list[dict], config: dict) -> float | None:
    """The score a search is steered by: the configuration's mean RMSE/persistence on the
    **selection span** over its finished runs (every series and seed); ``None`` when none
    finished. Only ``selection_rmse_ratio`` is read, so the test span cannot steer the search."""
    cid = config_id(config)
    scores = [
        float(r["selection_rmse_ratio"])
        for r in rows
        if r.get("status") == "ok" and r.get("config_id") == cid
    ]
    scores = [s for s in scores if math.isfinite(s)]
    return float(np.mean(scores)) if scores else None

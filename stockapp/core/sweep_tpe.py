"""TPE search through Optuna (an optional extra: ``pip install 'stockapp[tune]'``).

Optuna's Tree-structured Parzen Estimator proposes each next configuration from the scores of
the earlier ones. The score it is told is :func:`~stockapp.core.sweep_search.selection_objective`:
a configuration's mean RMSE/persistence on the **selection span** only, so the test span can
neither steer the search nor the choice. Every configuration it proposes is a run of the sweep,
counted like a grid's in Holm, SPA and the verdict.

The sampler is seeded; with the same space, seed and scores it proposes the same configurations
in the same order (Optuna's in-memory study, nothing written to disk). A configuration proposed
again is not run again: its known score is told to the repeat and another is asked for.
Optuna is imported only here and by :func:`~stockapp.core.sweep_search.load_optuna`, when a
TPE search is asked for.
"""

from __future__ import annotations

from typing import Any

from stockapp.core.sweep_search import (
    STARTUP_TRIALS,
    Range,
    Space,
    load_optuna,
    ordered_names,
    rounded,
)


class TpeSearch:
    """Ask for configurations, tell their selection-span scores (``None``: every run failed)."""

    def __init__(self, space: Space, seed: int, startup_trials: int = STARTUP_TRIALS) -> None:
        optuna = load_optuna()
        self._optuna = optuna
        self._names = ordered_names(space)
        self._dists = {name: _distribution(optuna, space[name]) for name in self._names}
        sampler = optuna.samplers.TPESampler(seed=int(seed), n_startup_trials=int(startup_trials))
        self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._trials: dict[int, Any] = {}

    def ask(self) -> tuple[int, dict]:
        """A new trial's number and its configuration (floats rounded as random search's)."""
        trial = self._study.ask(fixed_distributions=self._dists)
        self._trials[trial.number] = trial
        config = {}
        for name in self._names:
            value = trial.params[name]
            config[name] = rounded(value) if isinstance(value, float) else value
        return trial.number, config

    def tell(self, number: int, value: float | None) -> None:
        """The selection-span score of trial ``number`` (``None``: it could not be scored)."""
        trial = self._trials.pop(number)
        if value is None:
            self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, float(value))


def _distribution(optuna: Any, values: list | Range) -> Any:
    dist = optuna.distributions
    if isinstance(values, Range):
        if values.integer:
            return dist.IntDistribution(int(values.low), int(values.high), log=values.log)
        return dist.FloatDistribution(float(values.low), float(values.high), log=values.log)
    return dist.CategoricalDistribution(tuple(values))

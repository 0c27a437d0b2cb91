"""Size and power of the tests of a mean loss difference, checked by simulation (issue 19).

Loss differences with zero mean and MA(1) autocorrelation: a 5% test must reject about 5% of
the time whatever the autocorrelation, and a true mean difference of 0.15 standard deviations
must be found most of the time. The one-step Diebold-Mariano variance (lag 0 only) rejected 0%
at theta -0.5 and 15% at +0.5 (400 replications, n = 500), because it ignores the
autocorrelation of the differential. Seeded and small: each case is 400 replications of 500 bars.
"""

from __future__ import annotations

import numpy as np
import pytest

from stockapp.core import bands
from stockapp.core.significance import diebold_mariano

N, REPS = 500, 400
THETAS = (-0.4, 0.0, 0.4)


def _ma1(theta: float, seed: int) -> np.ndarray:
    """``REPS`` rows of ``N`` MA(1) loss differences ``e_t + theta e_{t-1}``, mean zero."""
    e = np.random.default_rng(seed).standard_normal((REPS, N + 1))
    return e[:, 1:] + theta * e[:, :-1]


def _dm_pvalues(d: np.ndarray) -> np.ndarray:
    """Two-sided p of :func:`diebold_mariano` for each row of loss differences ``d``.

    ``diebold_mariano`` takes errors and tests ``e_model**2 - e_bench**2``: a model error of
    ``sqrt(d + c)`` against a constant benchmark error ``sqrt(c)`` gives exactly ``d``.
    """
    out = np.empty(d.shape[0])
    for i, row in enumerate(d):
        c = 1.0 - row.min()
        out[i] = diebold_mariano(np.sqrt(row + c), np.full(row.size, np.sqrt(c)))[1]
    return out


@pytest.mark.parametrize("theta", THETAS)
def test_dm_size_is_five_percent_under_ma1_autocorrelation(theta):
    d = _ma1(theta, seed=19)
    rate = float(np.mean(_dm_pvalues(d) < 0.05))
    assert 0.03 <= rate <= 0.07, f"MA(1) theta {theta}: the 5% test rejected {rate:.1%}"


@pytest.mark.parametrize("theta", THETAS)
def test_dm_power_against_a_mean_of_015_sd(theta):
    d = _ma1(theta, seed=20)
    d = d + 0.15 * np.sqrt(1.0 + theta**2)  # 0.15 standard deviations of the differential
    rate = float(np.mean(_dm_pvalues(d) < 0.05))
    assert rate > 0.6, f"MA(1) theta {theta}: a 0.15 sd mean was found {rate:.1%} of the time"


@pytest.mark.parametrize("theta", THETAS)
def test_log_score_dm_has_the_same_size(theta):
    d = _ma1(theta, seed=21)
    p = np.array([bands.dm_pvalue(row, np.zeros(N)) for row in d])
    rate = float(np.mean(p < 0.05))
    assert 0.03 <= rate <= 0.07, f"MA(1) theta {theta}: the 5% test rejected {rate:.1%}"

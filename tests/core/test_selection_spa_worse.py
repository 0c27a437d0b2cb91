"""SPA where every model is clearly worse than the benchmark: no evidence, as arch says.

The statistic was floored at 0 while its bootstrap draws were not, so when every configuration
was clearly worse than persistence (all draws far below 0) the p-value came out near 0 and the
verdict read "at least one configuration beats persistence" (found by a TPE search whose four
trials were all worse: p = 0.005 here, 0.5 from arch)."""

from __future__ import annotations

import numpy as np
import pytest

from stockapp.core.multiple_testing import spa_test
from stockapp.core.significance import long_run_variance


def test_spa_sees_no_winner_when_every_model_is_clearly_worse():
    arch_bootstrap = pytest.importorskip("arch.bootstrap")
    rng = np.random.default_rng(11)
    bench = rng.chisquare(1, 400)
    models = np.column_stack([bench * rng.uniform(1.1, hi, bench.size) for hi in (1.4, 1.5, 1.6)])
    d = bench[:, None] - models
    w = np.sqrt(long_run_variance(d))
    got = spa_test(bench, models, seed=3, block_size=5)
    assert (got.t_stats < -4).all()  # every one clearly worse
    ref = arch_bootstrap.SPA(np.zeros(bench.size), -d / w, block_size=5, reps=1000, seed=3)
    ref.compute()
    assert got.pvalue == pytest.approx(float(ref.pvalues["consistent"]), abs=1e-12)
    assert got.pvalue > 0.05

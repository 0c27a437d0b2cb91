"""The Pesaran-Timmermann (1992) test: does a forecaster call up and down better than chance?

The hit rate on the bars where both the forecast and the market moved is compared with what
forecasts independent of the market would score given how often each side moved (in a rising
market "always up" scores above 50% without any skill).
:func:`stockapp.core.metrics.describe_direction` says the verdict in one sentence.
"""

from __future__ import annotations

import math

import numpy as np

from stockapp.core.lazy import stats  # scipy.stats, imported when first used
from stockapp.errors import DataError


def pesaran_timmermann(forecast_up: np.ndarray, realised_up: np.ndarray) -> tuple[float, float]:
    """Pesaran-Timmermann (1992) test that forecast directions predict realised ones.

    With ``P`` the hit rate, ``Px``/``Py`` the shares of forecast and realised up moves, the hit
    rate of a forecaster independent of the market is ``P* = Py Px + (1 - Py)(1 - Px)``, and
    ``PT = (P - P*) / sqrt(V(P) - V(P*))`` with ``V(P) = P*(1 - P*)/n`` and
    ``V(P*) = (2Py - 1)^2 Px(1 - Px)/n + (2Px - 1)^2 Py(1 - Py)/n + 4 Py Px (1 - Py)(1 - Px)/n^2``
    is asymptotically standard normal under independence. (``PT^2`` equals Pearson's chi-square
    of independence of the 2x2 table times ``n / (n - 1)``.)

    Returns
    -------
    (stat, pvalue)
        ``pvalue`` is one-sided, ``P(Z >= stat)``: small when the calls beat chance. ``(nan,
        nan)`` when the test is undefined: the forecaster called the same direction on every
        bar (then ``P = P*`` exactly: its hits are just the market's share of that move), the
        market moved one way on every bar, or there are fewer than two bars. Deciding "undefined"
        rather than ``p = 1`` keeps "no test possible" apart from "tested and found nothing".
    """
    x = np.asarray(forecast_up, dtype=bool).reshape(-1)
    y = np.asarray(realised_up, dtype=bool).reshape(-1)
    if x.shape != y.shape:
        raise DataError(
            f"There are {x.size} forecast directions but {y.size} realised ones; "
            "compare them over the same bars."
        )
    n = x.size
    if n < 2:
        return math.nan, math.nan
    px, py = float(x.mean()), float(y.mean())
    if px in (0.0, 1.0) or py in (0.0, 1.0):
        return math.nan, math.nan
    hit = float(np.mean(x == y))
    p_star = py * px + (1.0 - py) * (1.0 - px)
    var_p = p_star * (1.0 - p_star) / n
    var_p_star = (
        (2.0 * py - 1.0) ** 2 * px * (1.0 - px) / n
        + (2.0 * px - 1.0) ** 2 * py * (1.0 - py) / n
        + 4.0 * py * px * (1.0 - py) * (1.0 - px) / n**2
    )
    var = var_p - var_p_star
    if not var > 0.0:
        return math.nan, math.nan
    stat = (hit - p_star) / math.sqrt(var)
    return stat, float(stats.norm.sf(stat))

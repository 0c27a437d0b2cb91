"""Volatility baselines for the band: rolling historical, EWMA (RiskMetrics) and GARCH(1,1)-t.

Each one forecasts the distribution of the log return of bar ``t`` from closes before ``t`` only,
with any parameter (the rolling window, GARCH's coefficients) fitted on the training past alone,
like :mod:`stockapp.core.baselines` for the point forecasts. The location is 0 for the rolling
and EWMA baselines (persistence of the price) and GARCH's fitted constant mean for GARCH.

Every forecaster returns ``(mu, sigma, nu)`` per target bar: the location and standard
deviation of the log return and the Student-t dof (``None`` for a Gaussian).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from stockapp.core.lazy import signal  # scipy.signal, imported when first used
from stockapp.core.return_distribution import log_density
from stockapp.errors import DataError

#: RiskMetrics' decay for daily returns.
EWMA_LAMBDA = 0.94
#: Rolling windows tried on the training past; the best Gaussian log score there wins.
ROLLING_WINDOWS = (10, 20, 60, 120, 250)
#: Labels shown in tables and legends.
VOL_LABELS = {
    "rolling": "Persistence + rolling volatility",
    "ewma": "Persistence + EWMA volatility (RiskMetrics)",
    "garch": "GARCH(1,1), Student-t",
}

Dist = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


def log_returns(close: np.ndarray) -> np.ndarray:
    """``r[i] = log(close[i] / close[i-1])``; ``r[0]`` is NaN."""
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1 or not np.all(np.isfinite(c)) or c.size and c.min() <= 0.0:
        raise DataError("The closes for the volatility forecasts must be positive numbers.")
    out = np.full(c.shape, np.nan)
    out[1:] = np.diff(np.log(c))
    return out


def _check_targets(
    targets: np.ndarray, train_end: int, n: int, in_sample: bool = False
) -> np.ndarray:
    t = np.asarray(targets, dtype=np.int64)
    first = 3 if in_sample else train_end
    if t.size and (t.min() < first or t.max() >= n):
        if in_sample:
            raise DataError("In-sample volatility forecasts need bars 3 to the last one.")
        raise DataError("Volatility forecasts are only made for bars after the training past.")
    if train_end < 3:
        raise DataError("The volatility forecasts need at least 3 training bars.")
    return t


def rolling_sigma(r: np.ndarray, targets: np.ndarray, window: int) -> np.ndarray:
    """Root mean square of the ``window`` log returns before each target bar.

    Near the start, where fewer returns exist, the ones available are used (at least one).
    """
    r = np.asarray(r, np.float64)
    sq = np.nan_to_num(r * r, nan=0.0)
    have = np.isfinite(r).astype(np.float64)
    csum = np.concatenate([[0.0], np.cumsum(sq)])
    ccount = np.concatenate([[0.0], np.cumsum(have)])
    t = np.asarray(targets, np.int64)
    lo = np.maximum(t - window, 0)
    count = ccount[t] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((csum[t] - csum[lo]) / count)


def choose_window(r_train: np.ndarray, windows: tuple[int, ...] = ROLLING_WINDOWS) -> int:
    """The window whose rolling volatility had the best Gaussian log score on the training past."""
    r = np.asarray(r_train, np.float64)
    best, best_score = windows[0], -math.inf
    start = min(max(windows), max(r.size // 2, 2))
    t = np.arange(start, r.size)
    for w in windows:
        if w >= r.size:
            continue
        s = rolling_sigma(r, t, w)
        ok = np.isfinite(r[t]) & np.isfinite(s) & (s > 0)
        if not ok.any():
            continue
        score = float(np.mean(log_density(r[t][ok], 0.0, s[ok])))
        if score > best_score:
            best, best_score = w, score
    return best


def ewma_sigma(r: np.ndarray, train_end: int, targets: np.ndarray, lam: float = EWMA_LAMBDA):
    """RiskMetrics: ``v[t+1] = lam v[t] + (1 - lam) r[t]^2``, started from the variance of the
    training returns at the first bar, so the forecast for bar ``t`` uses returns before ``t``."""
    r = np.asarray(r, np.float64)
    v0 = float(np.nanmean(r[1:train_end] ** 2))
    sq = np.nan_to_num(r * r, nan=v0)
    # v after observing r[0..k]: lfilter's recursion y[k] = lam y[k-1] + (1-lam) x[k]
    after, _ = signal.lfilter([1.0 - lam], [1.0, -lam], sq, zi=[lam * v0])
    t = np.asarray(targets, np.int64)
    return np.sqrt(after[t - 1])


def load_band_libraries() -> None:
    """Import what every band forecast needs, whether calibrated or not (``arch`` for GARCH,
    SciPy's signal filter and distributions for the baselines and the scores), so that their
    first import, a second or so, is not timed as the online calibration's cost when a
    backtest's first use of them falls inside its clock (issue 22's "at most 5%")."""
    import arch  # noqa: F401

    from stockapp.core.lazy import stats

    stats.t, signal.lfilter  # noqa: B018  the lazy modules, imported now


def garch_t(r: np.ndarray, train_end: int, targets: np.ndarray) -> Dist:
    """GARCH(1,1) with Student-t errors from ``arch``, fitted on the returns before
    ``train_end`` and filtered (parameters fixed) up to the bar before each target."""
    from arch import arch_model  # imported here: a second or so, needed only for bands

    t = np.asarray(targets, np.int64)
    r = np.asarray(r, np.float64)
    # pct[k] is bar k+1's return; it stops at bar max(t) - 1 (or the last training bar)
    pct = 100.0 * r[1 : max(int(t.max()), train_end)]
    spec = dict(mean="Constant", vol="GARCH", p=1, q=1, dist="t")
    with warnings.catch_warnings():
        # arch warns when its optimiser ends without full convergence; the fit is still used
        warnings.simplefilter("ignore")
        res = arch_model(pct[: train_end - 1], **spec).fit(disp="off", show_warning=False)
        fc = (
            arch_model(pct, **spec)
            .fix(res.params)
            .forecast(horizon=1, start=int(t.min()) - 2, reindex=False)
        )
    var = fc.variance.to_numpy()[:, 0]  # row j: forecast for bar (t.min() - 2 + j) + 2
    sigma = np.sqrt(var[t - t.min()]) / 100.0
    mu = np.full(t.shape, float(res.params["mu"]) / 100.0)
    nu = float(res.params["nu"])
    if not (math.isfinite(nu) and nu > 2.0):
        nu = 200.0  # the fit drifted to a Gaussian; any dof above 2 must be finite for scores
    return mu, sigma, np.full(t.shape, nu)


#: arch's GARCH(1,1)-t with a constant mean, on percentage log returns (its optimiser's scale).
GARCH_SPEC = dict(mean="Constant", vol="GARCH", p=1, q=1, dist="t")


@dataclass(frozen=True)
class GarchFit:
    """GARCH(1,1)-t parameters fitted on a past, in arch's percentage units, and the variance
    its filter starts from (the mean squared residual of that past).

    What a model that reads GARCH's sigma (as an input, or as the base its head scales) keeps
    with its weights: fitted at each (re)fit on the bars that fit may learn from, applied to
    later bars with the parameters fixed.
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    nu: float
    start_variance: float
    bars: int  # returns it was fitted on

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GarchFit:
        return cls(**{k: (int(d[k]) if k == "bars" else float(d[k])) for k in cls.__annotations__})


def fit_garch(close: np.ndarray) -> GarchFit:
    """Fit GARCH(1,1)-t on the log returns of ``close`` (every bar given is the past)."""
    from arch import arch_model  # imported here: a second or so, needed only for volatility

    r = log_returns(close)[1:]
    r = r[np.isfinite(r)]
    if r.size < 30:
        raise DataError(f"GARCH needs at least 30 returns to fit, not {r.size}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in garch_t: a fit that ends unconverged is used
        res = arch_model(100.0 * r, **GARCH_SPEC).fit(disp="off", show_warning=False)
    p = res.params
    nu = float(p["nu"]) if math.isfinite(p["nu"]) and p["nu"] > 2.0 else 200.0
    e = 100.0 * r - float(p["mu"])
    return GarchFit(
        float(p["mu"]), float(p["omega"]), float(p["alpha[1]"]), float(p["beta[1]"]), nu,
        float(np.mean(e * e)), int(r.size),
    )  # fmt: skip


def garch_sigma_path(close: np.ndarray, fit: GarchFit) -> np.ndarray:
    """``s[i]``: GARCH's standard deviation of the log return of bar ``i + 1``, made at the
    close of bar ``i`` with the parameters of ``fit`` (decimal units; ``s[i]`` reads closes up
    to ``i`` only). The filter starts at ``fit.start_variance`` before bar 1."""
    r = log_returns(close)
    e2 = (100.0 * r - fit.mu) ** 2
    e2[~np.isfinite(e2)] = fit.start_variance
    # v[i] = omega + alpha e2[i] + beta v[i-1]: the variance of bar i+1 after bar i's return
    v, _ = signal.lfilter([1.0], [1.0, -fit.beta], fit.omega + fit.alpha * e2,
                          zi=[fit.beta * fit.start_variance])  # fmt: skip
    return np.sqrt(np.maximum(v, 1e-12)) / 100.0


def vol_forecasts(
    close: np.ndarray, train_end: int, targets: np.ndarray, in_sample: bool = False
) -> dict[str, Dist]:
    """The three baselines' ``(mu, sigma, nu)`` for the bars ``targets``, from ``close``.

    ``close[:train_end]`` is the training past (the rolling window and GARCH are fitted on it);
    the forecast for bar ``t`` reads closes before ``t`` only. ``in_sample`` allows targets
    inside the training past (a calibration slice: forecasts of the past by the fits of the
    first test bar, see :mod:`stockapp.core.calibration`).
    """
    c = np.asarray(close, np.float64)
    t = _check_targets(targets, train_end, c.size, in_sample)
    if t.size == 0:
        empty = np.empty(0)
        return {k: (empty, empty, None if k != "garch" else empty) for k in VOL_LABELS}
    r = log_returns(c[: max(int(t.max()), train_end)])
    r = np.concatenate([r, np.full(c.size - r.size, np.nan)])  # no return at or after max(t)
    zero = np.zeros(t.shape)
    w = choose_window(r[1:train_end])
    return {
        "rolling": (zero, rolling_sigma(r, t, w), None),
        "ewma": (zero, ewma_sigma(r, train_end, t), None),
        "garch": garch_t(r, train_end, t),
    }

"""Online calibration of forecast distributions: a scale and per-level band adjustments that
learn from each outcome only once it is known.

Any forecaster's distribution of bar ``t``'s log return, ``(mu_t, sigma_t, nu_t)`` (Gaussian, or
Student-t with standard deviation ``sigma_t``), is recalibrated bar by bar from its standardised
outcomes ``z_t = (y_t - mu_t) / sigma_t``:

* **a scale** ``s_t`` for the whole distribution, so the log score and the CRPS stay defined:
  the calibrated forecast is ``(mu_t, s_t sigma_t, nu_t)``. After bar ``t`` is known,
  ``log s_{t+1} = log s_t + scale_step * g_t``, one step of online gradient ascent on the log
  score, ``g_t`` being the derivative of ``log f(z_t)`` with respect to ``log s``:
  ``(nu + 1) x / (nu - 2 + x) - 1`` with ``x = z_t^2 / s_t^2`` for a Student-t (bounded by
  ``nu``, so one crash cannot throw the scale), ``min(x, GAUSS_CLIP) - 1`` for a Gaussian;
* **per-level adjustments** for the central 50/80/95% bands by adaptive conformal inference
  (ACI, Gibbs and Candes 2021) on the volatility-scaled conformity score ``|z_t| / s_t``: the
  band at level ``1 - alpha`` is the calibrated distribution's central ``1 - alpha_t`` interval,
  and after bar ``t`` is known ``alpha_{t+1} = alpha_t + level_step (alpha - err_t)``, where
  ``err_t`` is 1 when the outcome fell outside that band. A run of misses widens the band, a run
  of hits narrows it, and over any ``T`` bars the share of misses is within
  ``(max(alpha_1, 1 - alpha_1) + level_step) / (level_step T)`` of ``alpha`` whatever the data
  (their Proposition 4.1).

Both start from a **calibration slice** of the past (the last bars before the test span, forecast
by the first fit): the scale at the value that maximises the slice's log score, each
``alpha_1`` at the split-conformal level that held the slice's outcomes at the nominal share.
The state used for bar ``t`` is built from bars before ``t`` only; the state after the last bar is
kept (:attr:`Calibration.final_state`) to calibrate the next forecast.

The recursions are sequential by nature but cheap: plain float arithmetic per bar (the quantile
functions are evaluated vectorised, outside the loops), a few milliseconds for a thousand bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from stockapp.core.calibration_steps import (
    MIN_SLICE,
    aci_alphas,
    group_of,
    half_width,
    running_groups,
    start_alpha,
    start_scale,
    tail_pvalue,
    track_scale,
)
from stockapp.errors import DataError

#: Calibration method -> what it does (``--calibrate``).
METHODS: dict[str, str] = {
    "aci": "online scale + adaptive conformal inference on each band (past outcomes only)",
    "none": "the forecasters' own distributions, uncalibrated",
}
#: The levels whose bands are adjusted one by one.
LEVELS = (0.5, 0.8, 0.95)
#: ACI's step: Gibbs and Candes (2021) use 0.005 throughout, stock volatility included. The
#: choice between 0.005, 0.01, 0.02 and 0.05 was checked on the bundled samples' selection spans
#: (the bars before each test span) by scripts/calibration_choice.py; see the README.
LEVEL_STEP = 0.01
#: The scale's step: its memory is about 1 / (2 step) bars and the noise it adds to log s about
#: sqrt(step / 2) (5% at 0.005); checked like LEVEL_STEP.
SCALE_STEP = 0.0025
#: Bars of the calibration slice before the test span (one year of daily bars).
CALIBRATION_BARS = 250
#: The standardised log sigma the scale's slope multiplies is held within +/- this.
U_CLIP = 3.0


@dataclass(frozen=True)
class CalibrationSettings:
    """The rule and its steps; ``method="none"`` keeps every forecaster's own distribution."""

    method: str = "aci"
    scale_step: float = SCALE_STEP
    level_step: float = LEVEL_STEP
    slice_bars: int = CALIBRATION_BARS
    # The scale's slope on the forecaster's own log sigma (see track_scale): on the selection
    # spans every baseline's sigma was too dispersed (its low tercile missed, its high one
    # over-covered), which one scale cannot mend.
    slope: bool = True
    # Each band's alpha is adapted apart in each third of the forecasts' sigmas (ranked among
    # the slice's and the test's so far): ACI's guarantee then holds in each third.
    groups: int = 3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise DataError(f"Unknown calibration '{self.method}'; choose {' or '.join(METHODS)}.")
        for name in ("scale_step", "level_step"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v < 1.0):
                raise DataError(f"The calibration's {name.replace('_', ' ')} must be in [0, 1).")
        if int(self.groups) < 1:
            raise DataError("The calibration needs at least one sigma group.")
        if int(self.slice_bars) < 0:
            raise DataError("The calibration slice cannot have a negative number of bars.")

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "scale_step": self.scale_step,
            "level_step": self.level_step,
            "slice_bars": int(self.slice_bars),
            "slope": bool(self.slope),
            "groups": int(self.groups),
        }


@dataclass(frozen=True)
class Calibration:
    """One forecaster's calibration over the ``n`` test bars.

    ``scale[t]`` (length ``n + 1``; the last is the state after the last bar, at the slice's
    mean log sigma) is what bar ``t``'s standard deviation was multiplied by; ``slope`` the
    scale's slope on the standardised log sigma then (``None``: no slope). ``group[t]`` is bar
    ``t``'s sigma group (0 = lowest third, by rank among the sigmas so far) and ``alpha[level]``
    (length ``n``) the adjusted miss rate its band was built with; ``final_alpha[level]`` holds
    each group's after the last bar, ``edges`` the sigmas between the groups then. All of bar
    ``t``'s entries are built from earlier outcomes only.
    """

    scale: np.ndarray
    alpha: dict[float, np.ndarray] = field(default_factory=dict)
    slope: np.ndarray | None = None
    log_sigma: tuple[float, float] | None = None
    group: np.ndarray | None = None
    final_alpha: dict[float, np.ndarray] = field(default_factory=dict)
    edges: np.ndarray | None = None

    @property
    def final_state(self) -> dict:
        """The state after the last outcome: what the next forecast is calibrated with
        (:func:`apply_state`); plain numbers and lists, for JSON."""
        out: dict = {"scale": float(self.scale[-1])}
        if self.slope is not None and self.log_sigma is not None:
            out["slope"] = float(self.slope[-1])
            out["log_sigma_mean"], out["log_sigma_sd"] = map(float, self.log_sigma)
        if self.edges is not None:
            out["sigma_edges"] = [float(e) for e in self.edges]
        for level, a in self.final_alpha.items():
            out[f"alpha_{round(level * 100)}"] = [float(v) for v in np.atleast_1d(a)]
        return out


@dataclass(frozen=True)
class Calibrated:
    """A forecaster's calibrated distributions and bands over the test bars.

    ``sigma`` is the calibrated standard deviation; ``bounds[level]`` the ``(lower, upper)``
    log-return band at each level; ``state`` how they were made.
    """

    mu: np.ndarray
    sigma: np.ndarray
    nu: np.ndarray | None
    bounds: dict[float, tuple[np.ndarray, np.ndarray]]
    state: Calibration


def apply(mu, sigma, nu, scale, alphas: dict[float, np.ndarray]):
    """The calibrated standard deviations and bands from per-bar ``scale`` and ``alphas``."""
    mu = np.asarray(mu, np.float64)
    sd = np.asarray(sigma, np.float64) * np.asarray(scale, np.float64)
    bounds = {}
    for level, a in alphas.items():
        h = sd * half_width(a, nu)
        bounds[level] = (mu - h, mu + h)
    return sd, bounds


def apply_state(mu, sigma, nu, state: dict):
    """Calibrate new forecasts with a :attr:`Calibration.final_state` (e.g. the next bar's,
    after a backtest): ``(sigma, {level: (lower, upper)})``."""
    sigma = np.asarray(sigma, np.float64)
    scale = np.full(sigma.shape, float(state["scale"]))
    if "slope" in state:
        with np.errstate(invalid="ignore", divide="ignore"):
            u = (np.log(sigma) - state["log_sigma_mean"]) / state["log_sigma_sd"]
        scale = scale * np.exp(state["slope"] * np.clip(u, -U_CLIP, U_CLIP))
    g = np.zeros(sigma.shape, np.int64)
    if "sigma_edges" in state:
        g = group_of(sigma * scale, state["sigma_edges"])
    alphas = {
        int(k.split("_")[1]) / 100: np.asarray(v, np.float64)[np.minimum(g, len(v) - 1)]
        for k, v in state.items()
        if k.startswith("alpha_")
    }
    return apply(mu, sigma, nu, scale, alphas)


def calibrate(
    y: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    nu: np.ndarray | None,
    past: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None] | None,
    settings: CalibrationSettings | None = None,
    levels: tuple[float, ...] = LEVELS,
) -> Calibrated:
    """Calibrate one forecaster's distributions of ``y`` (one per test bar) online.

    ``past`` is the calibration slice ``(y, mu, sigma, nu)`` of bars before the first test bar
    (or ``None``). ``y`` is read one bar at a time: the calibration of bar ``t`` depends on
    ``y[:t]``, the forecasts through bar ``t`` and the slice only. With ``method="none"`` the
    distributions are returned as they are, with their parametric bands.
    """
    settings = settings or CalibrationSettings()
    y, mu, sigma = (np.asarray(a, np.float64) for a in (y, mu, sigma))
    if not (y.shape == mu.shape == sigma.shape) or y.ndim != 1:
        raise DataError("The outcomes, locations and scales must be columns of the same length.")
    nu = None if nu is None else np.broadcast_to(np.asarray(nu, np.float64), y.shape)
    n = y.size
    if settings.method == "none":
        alphas = {lv: np.full(n, 1.0 - lv) for lv in levels}
        state = Calibration(np.ones(n + 1), alphas)
        sd, bounds = apply(mu, sigma, nu, state.scale[:-1], alphas)
        return Calibrated(mu, sd, nu, bounds, state)
    start = _start(past, levels, settings)
    u = None
    if start.log_sigma is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.clip((np.log(sigma) - start.log_sigma[0]) / start.log_sigma[1], -U_CLIP, U_CLIP)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sigma > 0, (y - mu) / sigma, np.nan)
    scale, slope = track_scale(z, nu, start.scale, settings.scale_step, u, start.slope)
    p = tail_pvalue(z / scale[:-1], nu)
    groups, edges = running_groups(start.history, sigma * scale[:-1], settings.groups)
    alphas: dict[float, np.ndarray] = {}
    final: dict[float, np.ndarray] = {}
    for lv in levels:
        alphas[lv] = np.full(n, 1.0 - lv)
        final[lv] = np.empty(settings.groups)
        for g in range(settings.groups):
            at = np.flatnonzero(groups == g)
            path = aci_alphas(p[at], 1.0 - lv, start.alpha[lv][g], settings.level_step)
            alphas[lv][at] = path[:-1]
            final[lv][g] = path[-1]
    sd, bounds = apply(mu, sigma, nu, scale[:-1], alphas)
    state = Calibration(
        scale, alphas, slope if u is not None else None, start.log_sigma, groups, final, edges
    )
    return Calibrated(mu, sd, nu, bounds, state)


@dataclass(frozen=True)
class _Start:
    scale: float
    slope: float
    log_sigma: tuple[float, float] | None
    alpha: dict[float, np.ndarray]
    history: np.ndarray


def _start(past, levels, settings: CalibrationSettings) -> _Start:
    """Where the online rule starts, from the calibration slice: the scale and its slope that
    maximise the slice's log score, the slice's calibrated sigmas (the history the groups are
    ranked in) and each group's split-conformal alpha at each level."""
    k = settings.groups
    nominal = {lv: np.full(k, 1.0 - lv) for lv in levels}
    if past is None:
        return _Start(1.0, 0.0, None, nominal, np.empty(0))
    y, mu, sigma, nu = past
    y, mu, sigma = (np.asarray(a, np.float64) for a in (y, mu, sigma))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sigma > 0, (y - mu) / sigma, np.nan)
    nu = None if nu is None else np.broadcast_to(np.asarray(nu, np.float64), z.shape)
    log_sigma = None
    u = None
    if settings.slope:
        with np.errstate(invalid="ignore", divide="ignore"):
            ls = np.log(sigma)
        fin = ls[np.isfinite(ls)]
        if fin.size >= MIN_SLICE and np.std(fin) > 0:
            log_sigma = (float(fin.mean()), float(fin.std()))
            u = np.clip((ls - log_sigma[0]) / log_sigma[1], -U_CLIP, U_CLIP)
    s1, b1 = start_scale(z, nu, u)
    scale = s1 * (1.0 if u is None else np.exp(b1 * np.nan_to_num(u)))
    p = tail_pvalue(z / scale, nu)
    cal = sigma * scale
    ok = np.isfinite(p) & np.isfinite(cal)
    alpha = {}
    thirds = np.array_split(np.argsort(np.where(ok, cal, np.inf), kind="stable")[: ok.sum()], k)
    for lv in levels:
        alpha[lv] = np.array([start_alpha(p[g], 1.0 - lv) for g in thirds])
    return _Start(s1, b1, log_sigma, alpha, cal[ok])

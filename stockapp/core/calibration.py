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

from stockapp.core.lazy import stats  # scipy.stats, imported when first used
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
#: Fewest slice bars worth starting from; with fewer the rule starts from s = 1 and nominal alpha.
MIN_SLICE = 20
#: A Gaussian's squared standardised outcome counts at most this much in the scale's step (a
#: 3-sigma move), so one crash moves the scale by at most ``8 * SCALE_STEP``.
GAUSS_CLIP = 9.0
#: The standardised log sigma the scale's slope multiplies is held within +/- this.
U_CLIP = 3.0
#: alpha below this gives the band of this alpha (ACI's own band would be infinite).
ALPHA_FLOOR = 1e-4


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


def _shape_scale(nu) -> np.ndarray | float:
    """Scale of the standard t with ``nu`` dof whose standard deviation is 1 (1 for Gaussian)."""
    if nu is None:
        return 1.0
    v = np.asarray(nu, np.float64)
    return np.sqrt((v - 2.0) / v)


def tail_pvalue(z, nu=None) -> np.ndarray:
    """``P(|Z| >= |z|)`` for the standardised forecast shape (SD 1): the outcome lies outside the
    central ``1 - a`` band exactly when this is below ``a``."""
    z = np.abs(np.asarray(z, np.float64))
    if nu is None:
        return 2.0 * stats.norm.sf(z)
    return 2.0 * stats.t.sf(z / _shape_scale(nu), nu)


def half_width(alpha, nu=None) -> np.ndarray:
    """Half-width, in standard deviations, of the central ``1 - alpha`` band of the shape;
    ``alpha`` is held in ``[ALPHA_FLOOR, 1]`` (ACI's alpha can leave ``(0, 1)``: at or below 0
    its band would be the whole line, at or above 1 empty)."""
    a = np.clip(np.asarray(alpha, np.float64), ALPHA_FLOOR, 1.0)
    if nu is None:
        return stats.norm.isf(a / 2.0)
    return stats.t.isf(a / 2.0, nu) * _shape_scale(nu)


def scale_gradient(x: np.ndarray, nu=None) -> np.ndarray:
    """``d log f / d log s`` at ``x = z^2 / s^2`` (see the module doc), vectorised."""
    x = np.asarray(x, np.float64)
    if nu is None:
        return np.minimum(x, GAUSS_CLIP) - 1.0
    v = np.asarray(nu, np.float64)
    return (v + 1.0) * x / (v - 2.0 + x) - 1.0


def track_scale(
    z: np.ndarray, nu, s0: float, step: float, u: np.ndarray | None = None, b0: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Online gradient ascent on the log score of ``log s_t = a_t + b_t u_t``.

    ``u`` is the forecaster's own log sigma, standardised on the calibration slice
    (:func:`sigma_feature`); ``None`` keeps ``b = 0`` (one scale for every bar). Returns
    ``(s, b)`` of length ``n + 1``: ``s[t]`` calibrates bar ``t`` (from ``z[:t]`` and ``u[:t+1]``
    only: ``u_t`` is known when bar ``t`` is forecast) and ``s[n]``, ``b[n]`` are the state
    after the last bar (``s[n]`` at ``u = 0``: multiply by ``exp(b[n] u)`` for the next bar).
    A NaN ``z`` or ``u`` leaves the state as it was.
    """
    z = np.asarray(z, np.float64)
    n = z.size
    vs = None if nu is None else np.broadcast_to(np.asarray(nu, np.float64), z.shape).tolist()
    us = np.zeros(n).tolist() if u is None else np.asarray(u, np.float64).tolist()
    slope = u is not None
    logs = np.empty(n + 1)
    bs = np.empty(n + 1)
    a, b = math.log(s0), float(b0)
    zz = (z * z).tolist()
    for t in range(n):
        ut = us[t]
        if ut != ut:
            ut = 0.0
            x = math.nan
        else:
            x = zz[t]
        ls = a + b * ut
        logs[t] = ls
        bs[t] = b
        v = math.inf if vs is None else vs[t]
        if x == x and v == v:
            x *= math.exp(-2.0 * ls)
            if vs is None:
                g = (x if x < GAUSS_CLIP else GAUSS_CLIP) - 1.0
            else:
                g = (v + 1.0) * x / (v - 2.0 + x) - 1.0
            a += step * g
            if slope:
                b += step * g * ut
    logs[n] = a
    bs[n] = b
    return np.exp(logs), bs


def aci_alphas(pvalues: np.ndarray, alpha: float, alpha1: float, step: float) -> np.ndarray:
    """Gibbs and Candes' update over a run of outcomes: ``a`` of length ``n + 1`` with
    ``a[0] = alpha1`` and ``a[t + 1] = a[t] + step * (alpha - err_t)``, where ``err_t`` is 1 when
    bar ``t`` fell outside its band, i.e. when its tail p-value is below ``a[t]``. A NaN p-value
    (no forecast or no outcome) leaves ``a`` as it was."""
    p = np.asarray(pvalues, np.float64).tolist()
    out = np.empty(len(p) + 1)
    a = float(alpha1)
    for t, pt in enumerate(p):
        out[t] = a
        if pt == pt:
            a += step * (alpha - (1.0 if pt < a else 0.0))
    out[len(p)] = a
    return out


def _loss(log_s: np.ndarray, z2: np.ndarray, nu) -> np.ndarray:
    """Minus the log score as a function of ``log s`` (constants dropped), whose derivative is
    minus :func:`scale_gradient`: the Gaussian's with its squared outcomes clipped Huber-wise."""
    x = z2 * np.exp(-2.0 * log_s)
    if nu is None:
        c = GAUSS_CLIP
        return log_s + 0.5 * np.where(x < c, x, c + c * np.log(np.maximum(x, c) / c))
    return log_s + 0.5 * (nu + 1.0) * np.log1p(x / (nu - 2.0))


def _curvature(x: np.ndarray, nu) -> np.ndarray:
    """``d^2 loss / d (log s)^2`` at ``x = z^2 / s^2`` (:func:`_loss` is convex in ``log s``)."""
    if nu is None:
        return np.where(x < GAUSS_CLIP, 2.0 * x, 0.0)
    return 2.0 * x * (nu + 1.0) * (nu - 2.0) / (nu - 2.0 + x) ** 2


def start_scale(z: np.ndarray, nu=None, u: np.ndarray | None = None) -> tuple[float, float]:
    """``(s, b)`` that maximise the slice's log score under ``log s_t = log s + b u_t``
    (``b = 0`` without ``u``), by Newton's method with step halving (the loss is convex in
    ``(log s, b)``); ``(1, 0)`` without enough usable bars."""
    z = np.asarray(z, np.float64)
    ok = np.isfinite(z)
    if u is not None:
        u = np.asarray(u, np.float64)
        ok &= np.isfinite(u)
    if nu is not None:
        nu = np.broadcast_to(np.asarray(nu, np.float64), z.shape)
        ok &= np.isfinite(nu)
        nu = nu[ok]
    z2 = z[ok] ** 2
    if z2.size < MIN_SLICE or not np.any(z2 > 0):
        return 1.0, 0.0
    design = np.stack([np.ones(z2.size), np.zeros(z2.size) if u is None else u[ok]], axis=1)
    p = np.array([0.5 * math.log(float(np.mean(z2))), 0.0])

    def loss(q: np.ndarray) -> float:
        return float(np.mean(_loss(design @ q, z2, nu)))

    current = loss(p)
    for _ in range(50):
        x = z2 * np.exp(-2.0 * (design @ p))
        grad = -(design * scale_gradient(x, nu)[:, None]).mean(axis=0)
        hess = (design * _curvature(x, nu)[:, None]).T @ design / z2.size
        hess += 1e-9 * np.eye(2)
        if u is None:
            grad[1], hess[0, 1], hess[1, 0], hess[1, 1] = 0.0, 0.0, 0.0, 1.0
        step = np.linalg.solve(hess, grad)
        for _ in range(30):  # halve until the loss falls
            trial = p - step
            trial[1] = min(max(trial[1], -2.0), 2.0)
            new = loss(trial)
            if new <= current:
                break
            step = step / 2.0
        else:
            break
        converged = abs(current - new) < 1e-13
        p, current = trial, new
        if converged:
            break
    return math.exp(float(p[0])), float(p[1])


def start_alpha(pvalues: np.ndarray, alpha: float) -> float:
    """Split conformal on the slice: the ``alpha`` quantile of its tail p-values, the level at
    which the slice's outcomes would have missed at the nominal share; nominal without bars."""
    p = np.asarray(pvalues, np.float64)
    p = p[np.isfinite(p)]
    if p.size < MIN_SLICE:
        return alpha
    return float(np.quantile(p, alpha))


def running_groups(
    history: np.ndarray, x: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """The group of each ``x[t]`` by its rank among ``history`` and ``x[: t + 1]``: the lowest
    ``1/groups`` of them is group 0, and so on (a NaN ``x[t]`` joins nothing and is group -1).
    Also returns the edges between the groups after the last value (for the next one).

    ``x[t]`` is known before bar ``t``'s outcome (it is the forecast's own sigma), so the group
    of bar ``t`` uses nothing from its outcome or later.
    """
    import bisect

    pool = sorted(float(v) for v in np.asarray(history, np.float64) if v == v)
    out = np.full(len(x), -1, dtype=np.int64)
    for t, v in enumerate(np.asarray(x, np.float64).tolist()):
        if v != v:
            continue
        bisect.insort(pool, v)
        rank = bisect.bisect_left(pool, v)
        out[t] = min(groups - 1, rank * groups // len(pool))
    m = len(pool)
    edges = (
        np.array([pool[min(m - 1, (j * m) // groups)] for j in range(1, groups)])
        if m
        else (np.full(groups - 1, np.nan))
    )
    return out, edges


def group_of(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The group of new values ``x`` given the edges :func:`running_groups` ended with."""
    return np.searchsorted(np.asarray(edges, np.float64), np.asarray(x, np.float64), "right")


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

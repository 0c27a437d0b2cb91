"""The steps of the online calibration (:mod:`stockapp.core.calibration`): the forecast shape's
tail p-values and band half-widths, the two online recursions (the scale's gradient step and
Gibbs and Candes' ACI update), where they start on the calibration slice, and the sigma groups
each band's alpha is adapted in.

Each is a plain function of arrays, vectorised where the recursion allows; none reads an outcome
after the bar it calibrates.
"""

from __future__ import annotations

import math

import numpy as np

from stockapp.core.lazy import stats  # scipy.stats, imported when first used

#: Fewest slice bars worth starting from; with fewer the rule starts from s = 1 and nominal alpha.
MIN_SLICE = 20
#: A Gaussian's squared standardised outcome counts at most this much in the scale's step (a
#: 3-sigma move), so one crash moves the scale by at most ``8 * SCALE_STEP``.
GAUSS_CLIP = 9.0
#: alpha below this gives the band of this alpha (ACI's own band would be infinite).
ALPHA_FLOOR = 1e-4


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
    """``d log f / d log s`` at ``x = z^2 / s^2`` (:mod:`stockapp.core.calibration`), vectorised."""
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

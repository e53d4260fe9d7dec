"""BG/NBD ("beta-geometric / negative binomial") purchase model, vectorised numpy.

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2). Notation and data conventions as in the paper,
`lifetimes` and PyMC-Marketing:

- ``x``  number of *repeat* purchase days (purchases on the first day do not count, several
  purchases on one day count once),
- ``t_x`` time from the first to the last purchase (recency),
- ``T``  time from the first purchase to the analysis date,

all in one time unit (days or weeks). While alive, a customer buys at Poisson rate λ ~
Gamma(r, α); after every purchase she drops out with probability p ~ Beta(a, b).

The log-likelihood (paper eq. 6, written in log space so that nothing overflows) is

    LL_i = ln Γ(r+x) − ln Γ(r) + r ln α
         + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
         + logsumexp( −(r+x) ln(α+T),
                      [x>0] (ln a − ln(b+x−1) − (r+x) ln(α+t_x)) )

and is maximised over ln r, ln α, ln a, ln b with L-BFGS-B and its analytic gradient (below);
terms that depend on ``x`` alone are evaluated once per distinct ``x`` and gathered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

from pipelines.models._mle import std_errors as _std_errors

# Parameters are searched in ln-space inside these bounds; a result at a bound is reported.
LOG_BOUNDS = (math.log(1e-6), math.log(1e6))
PARAMETER_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class FitResult:
    params: BgNbdParams
    log_likelihood: float
    converged: bool
    at_bounds: tuple[str, ...]
    iterations: int
    message: str
    n_customers: int
    std_errors: dict[str, float] = field(default_factory=dict)


class _Data:
    """The data split into non-repeaters (x = 0) and repeaters, with per-customer weights
    (1 unless identical customers were collapsed)."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None):
        x = np.asarray(x, dtype=np.int64)
        t_x = np.asarray(t_x, dtype=np.float64)
        T = np.asarray(T, dtype=np.float64)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        if not (len(x) == len(t_x) == len(T) == len(w)):
            raise ValueError("x, t_x and T must have the same length")
        if len(x) == 0:
            raise ValueError("no customers to fit")
        if (x < 0).any() or (t_x < 0).any() or (t_x > T).any():
            raise ValueError("need x ≥ 0 and 0 ≤ t_x ≤ T for every customer")
        zero = x == 0
        self.n = float(w.sum())
        # non-repeaters differ only in T: collapse them to one weighted row per distinct T
        self.T0, inverse = np.unique(T[zero], return_inverse=True)
        self.w0 = np.bincount(inverse, weights=w[zero], minlength=len(self.T0))
        self.x1, self.tx1, self.T1, self.w1 = x[~zero], t_x[~zero], T[~zero], w[~zero]
        # T and t_x take few distinct values (days): logs are computed per distinct value
        # and gathered, which halves the cost of an evaluation on a million customers
        self.T1_u, self.T1_i = np.unique(self.T1, return_inverse=True)
        self.tx1_u, self.tx1_i = np.unique(self.tx1, return_inverse=True)
        self.b_idx = self.x1 - 1
        # how many customers have each x (for the per-x terms)
        self.x_max = int(x.max())
        self.count_x = np.bincount(x, weights=w, minlength=self.x_max + 1)
        self.xs = np.arange(self.x_max + 1, dtype=np.float64)


def _neg_ll_and_grad(log_theta: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    r, alpha, a, b = np.exp(log_theta)
    xs, cx = d.xs, d.count_x

    # --- terms that depend on x only: one value per distinct x, weighted by its count
    ll_x = (gammaln(r + xs) - gammaln(r) + r * math.log(alpha)
            + gammaln(a + b) + gammaln(b + xs) - gammaln(b) - gammaln(a + b + xs))
    ll = float(cx @ ll_x)
    g_r = float(cx @ (digamma(r + xs) - digamma(r) + math.log(alpha)))
    g_alpha = d.n * r / alpha
    g_a = float(cx @ (digamma(a + b) - digamma(a + b + xs)))
    g_b = float(cx @ (digamma(a + b) + digamma(b + xs) - digamma(b) - digamma(a + b + xs)))

    # --- non-repeaters: only the "still alive at T" term
    if len(d.T0):
        log_aT0 = np.log(alpha + d.T0)
        ll -= r * float(d.w0 @ log_aT0)
        g_r -= float(d.w0 @ log_aT0)
        g_alpha -= r * float(d.w0 @ (1.0 / (alpha + d.T0)))

    # --- repeaters: log-sum-exp of "alive at T" (A3) and "dropped out after the last
    #     purchase" (A4), as A3 + softplus(A4 − A3); w4 = sigmoid(A4 − A3) is A4's share
    if len(d.x1):
        rx = r + d.x1
        inv_aT_u, inv_atx_u = 1.0 / (alpha + d.T1_u), 1.0 / (alpha + d.tx1_u)
        log_aT = np.log(alpha + d.T1_u)[d.T1_i]
        log_atx = np.log(alpha + d.tx1_u)[d.tx1_i]
        inv_b = 1.0 / (b + d.xs[1:] - 1.0)  # per distinct x ≥ 1
        diff = (math.log(a) + np.log(inv_b))[d.b_idx] - rx * (log_atx - log_aT)
        # softplus(diff) and sigmoid(diff) from one exp, stable for any sign
        e = np.exp(-np.abs(diff))
        ll += float(d.w1 @ (np.maximum(diff, 0.0) + np.log1p(e) - rx * log_aT))
        w4 = d.w1 * np.where(diff >= 0, 1.0, e) / (1.0 + e)
        w3 = d.w1 - w4
        g_r -= float(w3 @ log_aT + w4 @ log_atx)
        g_alpha -= float(np.bincount(d.T1_i, weights=w3 * rx, minlength=len(d.T1_u)) @ inv_aT_u
                         + np.bincount(d.tx1_i, weights=w4 * rx, minlength=len(d.tx1_u)) @ inv_atx_u)
        g_a += float(w4.sum()) / a
        g_b -= float(w4 @ inv_b[d.b_idx])

    grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])  # chain rule for ln θ
    return -ll / d.n, -grad / d.n


def log_likelihood(params: BgNbdParams, x, t_x, T, weights=None) -> float:
    """Total log-likelihood of the data under `params` (paper's LL, e.g. −9582.4 for CDNOW)."""
    d = _Data(x, t_x, T, weights)
    value, _ = _neg_ll_and_grad(np.log([params.r, params.alpha, params.a, params.b]), d)
    return -value * d.n


def fit(x, t_x, T, weights=None, start: BgNbdParams | None = None) -> FitResult:
    """Maximum-likelihood fit. Never raises on non-convergence: the result says so."""
    d = _Data(x, t_x, T, weights)
    if start is None:
        # r/α ≈ purchase rate of repeaters; a, b mid-range
        mean_T = float(np.average(np.concatenate([d.T0, d.T1]),
                                  weights=np.concatenate([d.w0, d.w1])))
        start = BgNbdParams(r=1.0, alpha=max(mean_T, 1e-3), a=1.0, b=1.0)
    x0 = np.log([start.r, start.alpha, start.a, start.b])
    res = minimize(_neg_ll_and_grad, x0, args=(d,), jac=True, method="L-BFGS-B",
                   bounds=[LOG_BOUNDS] * 4,
                   options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-8})
    theta = np.exp(res.x)
    params = BgNbdParams(*map(float, theta))
    at_bounds = tuple(name for name, v in zip(PARAMETER_NAMES, res.x, strict=True)
                      if v <= LOG_BOUNDS[0] + 1e-3 or v >= LOG_BOUNDS[1] - 1e-3)
    finite = bool(np.isfinite(res.fun)) and bool(np.isfinite(theta).all())
    std_errors = _std_errors(_neg_ll_and_grad, res.x, (d,), d.n, PARAMETER_NAMES) if finite else {}
    return FitResult(params=params, log_likelihood=float(-res.fun * d.n),
                     converged=bool(res.success) and finite, at_bounds=at_bounds,
                     iterations=int(res.nit), message=str(res.message), std_errors=std_errors,
                     n_customers=int(d.n))


def _dropout_odds(p: BgNbdParams, x, t_x, T) -> np.ndarray:
    """a/(b+x−1) · ((α+T)/(α+t_x))^(r+x) for repeaters, 0 for x = 0 (computed in log space)."""
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    out = np.zeros_like(x)
    rep = x > 0
    log_odds = (math.log(p.a) - np.log(p.b + x[rep] - 1.0)
                + (p.r + x[rep]) * (np.log(p.alpha + T[rep]) - np.log(p.alpha + t_x[rep])))
    out[rep] = np.exp(np.minimum(log_odds, 700.0))
    return out


def p_alive(p: BgNbdParams, x, t_x, T) -> np.ndarray:
    """P(still alive at T | x, t_x, T), paper eq. 11. 1.0 for customers without repeat
    purchases (in BG/NBD a customer can only drop out right after a purchase)."""
    return 1.0 / (1.0 + _dropout_odds(p, x, t_x, T))


def expected_purchases(p: BgNbdParams, t: float, x, t_x, T) -> np.ndarray:
    """Expected number of purchases in (T, T+t] given the history, paper eq. 10."""
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if t <= 0:
        return np.zeros_like(x)
    z = t / (p.alpha + T + t)
    log_ratio = (p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + T + t))
    f = hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1.0, z)
    numerator = (p.a + p.b + x - 1.0) / (p.a - 1.0) * (1.0 - np.exp(log_ratio) * f)
    return numerator / (1.0 + _dropout_odds(p, x, t_x, T))


def expected_purchases_new_customer(p: BgNbdParams, t: float) -> float:
    """E[X(t)] for a randomly chosen new customer, paper eq. 7."""
    z = t / (p.alpha + t)
    return float((p.a + p.b - 1.0) / (p.a - 1.0)
                 * (1.0 - (p.alpha / (p.alpha + t)) ** p.r * hyp2f1(p.r, p.b, p.a + p.b - 1.0, z)))


def simulate(p: BgNbdParams, T: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw (x, t_x) for customers observed for T after their first purchase — the model's own
    generative process, used to check that `fit` recovers known parameters."""
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=np.float64)
    n = len(T)
    lam = rng.gamma(p.r, 1.0 / p.alpha, n)
    drop = rng.beta(p.a, p.b, n)
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0 / lam[idx])
        bought = now[idx] <= T[idx]
        hit = idx[bought]
        x[hit] += 1
        t_x[hit] = now[hit]
        # after each purchase the customer leaves with probability p
        leaves = rng.random(len(hit)) < drop[hit]
        active[idx[~bought]] = False
        active[hit[leaves]] = False
    return x, t_x

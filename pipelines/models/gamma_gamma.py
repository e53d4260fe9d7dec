"""Gamma-Gamma spend model, vectorised numpy.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", Journal of Marketing Research 42(4); Fader & Hardie (2013), "The Gamma-Gamma
model of monetary value". A customer's transaction values are Gamma(p, ν) around her own
mean; ν ~ Gamma(q, γ) across customers. Fitted on repeat buyers only (x ≥ 1) with ``m`` =
their mean spend per repeat purchase day. Log-likelihood per customer

    LL_i = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x
           − (px+q) ln(γ + x m)

maximised over ln p, ln q, ln γ with L-BFGS-B and the analytic gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from pipelines.models._mle import std_errors as _std_errors

LOG_BOUNDS = (math.log(1e-6), math.log(1e6))
PARAMETER_NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def population_mean_spend(self) -> float:
        """E[M] = pγ/(q−1); infinite for q ≤ 1."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1 else math.inf


@dataclass(frozen=True)
class FitResult:
    params: GammaGammaParams
    log_likelihood: float
    converged: bool
    at_bounds: tuple[str, ...]
    iterations: int
    message: str
    n_customers: int
    std_errors: dict[str, float] = field(default_factory=dict)


def _prepare(x, m):
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    if len(x) != len(m):
        raise ValueError("x and m must have the same length")
    if len(x) == 0:
        raise ValueError("no repeat buyers to fit")
    if (x < 1).any() or (m <= 0).any() or not np.isfinite(m).all():
        raise ValueError("Gamma-Gamma needs x ≥ 1 and a positive, finite mean spend m")
    return x, m


class _Data:
    """Repeat buyers' (x, m) with everything that does not depend on the parameters
    precomputed; terms that depend on x only are evaluated once per distinct x."""

    def __init__(self, x: np.ndarray, m: np.ndarray):
        self.x, self.m = x, m
        self.n = len(x)
        self.x_u, self.x_i, counts = np.unique(x, return_inverse=True, return_counts=True)
        self.count_u = counts.astype(np.float64)
        self.sum_log_m = float(np.log(m).sum())
        self.sum_x_log_m = float(x @ np.log(m))
        self.log_x_u = np.log(self.x_u)


def _neg_ll_and_grad(log_theta: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of Fader & Hardie's Gamma-Gamma and its gradient in
    log-parameters. Per customer: ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m
    + px ln x − (px+q) ln(γ + x m)."""
    p, q, g = np.exp(log_theta)
    px_u = p * d.x_u
    c = d.count_u
    gl = gammaln(px_u + q) - gammaln(px_u) + px_u * d.log_x_u
    dig = digamma(px_u + q)
    log_gxm = np.log(g + d.x * d.m)
    sum_log_gxm = float(log_gxm.sum())
    sum_x_log_gxm = float(d.x @ log_gxm)
    ll = (float(c @ gl) + d.n * (q * math.log(g) - gammaln(q))
          + p * d.sum_x_log_m - d.sum_log_m - p * sum_x_log_gxm - q * sum_log_gxm)
    g_p = float(c @ (d.x_u * (dig - digamma(px_u) + d.log_x_u))) + d.sum_x_log_m - sum_x_log_gxm
    g_q = float(c @ dig) - d.n * digamma(q) + d.n * math.log(g) - sum_log_gxm
    g_g = d.n * q / g - float(((p * d.x + q) / (g + d.x * d.m)).sum())
    grad = np.array([g_p * p, g_q * q, g_g * g])
    return -ll / d.n, -grad / d.n


def log_likelihood(params: GammaGammaParams, x, m) -> float:
    d = _Data(*_prepare(x, m))
    value, _ = _neg_ll_and_grad(np.log([params.p, params.q, params.gamma]), d)
    return -value * d.n


def fit(x, m, start: GammaGammaParams | None = None) -> FitResult:
    x, m = _prepare(x, m)
    d = _Data(x, m)
    if start is None:
        start = GammaGammaParams(p=1.0, q=2.0, gamma=float(np.mean(m)))
    res = minimize(_neg_ll_and_grad, np.log([start.p, start.q, start.gamma]),
                   args=(d,), jac=True, method="L-BFGS-B",
                   bounds=[LOG_BOUNDS] * 3,
                   options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-8})
    theta = np.exp(res.x)
    params = GammaGammaParams(*map(float, theta))
    at_bounds = tuple(name for name, v in zip(PARAMETER_NAMES, res.x, strict=True)
                      if v <= LOG_BOUNDS[0] + 1e-3 or v >= LOG_BOUNDS[1] - 1e-3)
    finite = bool(np.isfinite(res.fun)) and bool(np.isfinite(theta).all())
    std_errors = _std_errors(_neg_ll_and_grad, res.x, (d,), d.n, PARAMETER_NAMES) if finite else {}
    return FitResult(params=params, log_likelihood=float(-res.fun * d.n),
                     converged=bool(res.success) and finite, at_bounds=at_bounds,
                     iterations=int(res.nit), message=str(res.message), std_errors=std_errors,
                     n_customers=d.n)


def expected_spend(params: GammaGammaParams, x, m) -> np.ndarray:
    """E[spend per purchase | x, m] = p(γ + x m) / (p x + q − 1) (Fader & Hardie 2013, eq. 5);
    the population mean pγ/(q−1) for customers without repeat purchases."""
    x = np.asarray(x, dtype=np.float64)
    m = np.nan_to_num(np.asarray(m, dtype=np.float64), nan=0.0)
    p, q, g = params.p, params.q, params.gamma
    out = np.full_like(x, params.population_mean_spend)
    rep = x > 0
    out[rep] = p * (g + x[rep] * m[rep]) / (p * x[rep] + q - 1.0)
    return out


def simulate(params: GammaGammaParams, x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mean spend of x transactions per customer drawn from the model (for recovery tests)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.int64)
    nu = rng.gamma(params.q, 1.0 / params.gamma, len(x))
    # the sum of x Gamma(p, ν) draws is Gamma(p x, ν)
    return rng.gamma(params.p * x, 1.0 / nu) / x

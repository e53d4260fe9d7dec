"""Shared maximum-likelihood helper: asymptotic standard errors from the observed
information (numerical Hessian of the analytic gradient, in log-parameter space)."""

import numpy as np


def std_errors(neg_mean_ll_and_grad, log_theta: np.ndarray, args: tuple, n: float,
               names: tuple[str, ...]) -> dict[str, float]:
    """SE of each parameter θ = exp(log θ) at the optimum: Cov(log θ) = H⁻¹ with H the
    Hessian of the total negative log-likelihood, then the delta method SE(θ) = θ·SE(log θ).
    NaN where the Hessian is singular (parameter not identified by the data)."""
    k = len(log_theta)
    h = 1e-6
    _, g0 = neg_mean_ll_and_grad(log_theta, *args)
    hess = np.empty((k, k))
    for i in range(k):  # forward differences of the analytic gradient: k + 1 evaluations
        step = np.zeros(k)
        step[i] = h
        _, g_plus = neg_mean_ll_and_grad(log_theta + step, *args)
        hess[i] = (g_plus - g0) * n / h
    hess = (hess + hess.T) / 2
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return dict.fromkeys(names, float("nan"))
    var = np.diag(cov)
    theta = np.exp(log_theta)
    return {name: float(t * np.sqrt(v)) if v > 0 else float("nan")
            for name, t, v in zip(names, theta, var, strict=True)}

"""Compute allocation from a fitted law: the compute-optimal model size, tokens and loss.

Everything here is vectorised over parameter samples, so the same call gives the point answer
(from the best fit) and its bootstrap distribution (from the resamples).
"""

from __future__ import annotations

import numpy as np

from .errors import FitError
from .families import get_family

#: FLOPs per parameter per training token (C = 6 N D, Kaplan et al. 2020).
FLOPS_PER_TOKEN_PARAM = 6.0


def chinchilla_exponents(theta) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal exponents a = beta/(alpha+beta), b = alpha/(alpha+beta) (N* ~ C^a, D* ~ C^b)."""
    theta = np.asarray(theta, float)
    alpha, beta = theta[..., 3], theta[..., 4]
    return beta / (alpha + beta), alpha / (alpha + beta)


def chinchilla_optimum(theta, compute, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """Closed-form compute-optimal allocation of Hoffmann et al. (2022), eq. 4.

    ``N* = G (C/k)^a``, ``D* = G^-1 (C/k)^b``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``.
    ``theta`` is (5,) or (B, 5) in the chinchilla order (E, A, B, alpha, beta); ``compute`` a
    scalar or array broadcasting against the batch. Returns arrays ``params``, ``tokens``,
    ``loss``, ``a``, ``b``.
    """
    theta = np.asarray(theta, float)
    E, A, B, alpha, beta = (theta[..., i] for i in range(5))
    c = np.asarray(compute, float) / k
    with np.errstate(all="ignore"):
        a, b = beta / (alpha + beta), alpha / (alpha + beta)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        n_opt = G * c**a
        d_opt = c**b / G
        loss = E + A / n_opt**alpha + B / d_opt**beta
    return {"params": n_opt, "tokens": d_opt, "loss": loss, "a": a, "b": b}


def iso_flop_optimum(family, theta, compute, k: float = FLOPS_PER_TOKEN_PARAM, n_range=(1e3, 1e16)) -> dict:
    """Numerical compute-optimal allocation for any two-input family.

    Minimises the predicted loss along ``D = C/(k N)`` over log N by a coarse grid followed by
    golden-section refinement, for every row of ``theta`` at once. Used for laws without a closed
    form (Kaplan) and to check the closed form in tests.
    """
    fam = get_family(family)
    if not fam.is_two_input:
        raise FitError(f"a compute-optimal N and D needs a law in N and D; `{fam.name}` has one input")
    theta = np.atleast_2d(np.asarray(theta, float))
    c = float(compute)
    grid = np.linspace(np.log(n_range[0]), np.log(n_range[1]), 241)

    z = fam.to_internal(theta)

    def loss_at(log_n):  # (B, m) -> model value in the family's space, (B, m)
        n = np.exp(log_n)
        return fam.evaluate(z, {"params": n, "tokens": c / (k * n)}, jac=False)[0]

    f = loss_at(np.broadcast_to(grid, (len(theta), len(grid))))
    i = np.clip(np.argmin(f, axis=1), 1, len(grid) - 2)
    lo, hi = grid[i - 1], grid[i + 1]
    invphi = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(60):
        x1 = hi - invphi * (hi - lo)
        x2 = lo + invphi * (hi - lo)
        f12 = loss_at(np.stack([x1, x2], axis=1))
        left = f12[:, 0] < f12[:, 1]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
    log_n = 0.5 * (lo + hi)
    n_opt = np.exp(log_n)
    d_opt = c / (k * n_opt)
    f_opt = loss_at(log_n[:, None])[:, 0]
    loss = np.exp(f_opt) if fam.space == "log" else f_opt
    return {"params": n_opt, "tokens": d_opt, "loss": loss}

"""Slow, plain reference implementations that the fast code is checked against.

Not used by the app. The tests and ``bench/`` run them in the same process as the fast code, so
every claim "as good as / N times faster than" is measured, not remembered.

- :func:`hoffmann_grid` -- Hoffmann et al. 2022, Approach 3: L-BFGS-B from every point of the grid
  alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25} (4,500 starts),
  objective the summed Huber_delta of log residuals with ``L = exp(LSE(a - alpha log N, b - beta
  log D, e))``.
- :func:`lbfgsb_polished` -- one warm-started L-BFGS-B per problem, polished with tight
  tolerances: what a careful per-resample bootstrap loop would do.
- :func:`continuation_optima` -- other paths to each resample's optimum (a wider Huber threshold
  first, then the real one): where they end lower, the bootstrap kept a local optimum;
  :func:`probe_local_optima` runs them against a seeded bootstrap.
- :func:`reference_objective` -- the objective every optimum is judged by, written out from each
  family's formula in natural parameters (numpy's ``logaddexp``, ``scipy.special.huber``), not from
  ``Family.evaluate`` (the code under test); :func:`case_weights` -- a seeded case bootstrap's
  weights counted run by run, not by ``bootstrap.resample_weights``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from .families import get_family
from .fitting import fit_problem, solve

#: The wider thresholds :func:`continuation_optima` starts from (log space; the fits use 1e-3).
CONTINUATION_DELTAS = (3e-3, 1e-2, 3e-2, 1e-1)


def log_model(family, theta, inputs) -> np.ndarray:
    """The metric of ``family`` in its residual space (log for the loss laws, the value itself for
    the logistic), written out from the family's formula: ``theta`` natural parameters (p,) or
    (B, p) in the family's order; ``inputs`` ``{"x": ...}`` or ``{"params": ..., "tokens": ...}``.
    Returns (n,) or (B, n)."""
    name = get_family(family).name
    th = np.atleast_2d(np.asarray(theta, float))
    col = [th[:, j : j + 1] for j in range(th.shape[1])]
    with np.errstate(divide="ignore"):
        if name == "chinchilla":  # L = E + A / N^alpha + B / D^beta
            E, A, B, alpha, beta = col
            ln, ld = np.log(inputs["params"]), np.log(inputs["tokens"])
            f = np.logaddexp(np.logaddexp(np.log(E), np.log(A) - alpha * ln), np.log(B) - beta * ld)
        elif name == "kaplan":  # L = ((N_c / N)^(alpha_N / alpha_D) + D_c / D)^alpha_D
            nc, dc, an, ad = col
            ln, ld = np.log(inputs["params"]), np.log(inputs["tokens"])
            f = ad * np.logaddexp((an / ad) * (np.log(nc) - ln), np.log(dc) - ld)
        elif name == "power_law":  # y = A x^-alpha
            A, alpha = col
            f = np.log(A) - alpha * np.log(inputs["x"])
        elif name == "offset_power_law":  # y = E + A x^-alpha
            E, A, alpha = col
            f = np.logaddexp(np.log(E), np.log(A) - alpha * np.log(inputs["x"]))
        elif name == "broken_power_law":  # y = E + A x^-alpha (1 + (x / x_b)^(1/f))^(-c f)
            E, A, alpha, c, xb, sharp = col
            lx = np.log(inputs["x"])
            f = np.logaddexp(np.log(E), np.log(A) - alpha * lx - c * sharp * np.logaddexp(0.0, (lx - np.log(xb)) / sharp))
        elif name == "logistic":  # y = y0 + (y1 - y0) sigmoid(slope (log10 x - m))
            from scipy.special import expit

            y0, y1, slope, mid = col
            f = y0 + (y1 - y0) * expit(slope * (np.log10(inputs["x"]) - mid))
        else:
            raise ValueError(f"no reference formula for the family `{name}`")
    return f[0] if np.ndim(theta) == 1 else f


def reference_objective(family, inputs, target, theta, weights=None, loss="huber", delta=1e-3) -> np.ndarray:
    """``sum_i w_i Huber_delta(f(x_i; theta) - t_i)`` (``r^2/2`` for ``loss="ls"``) of natural
    parameters ``theta`` (p,) or (B, p), with :func:`log_model` for ``f`` and
    ``scipy.special.huber`` for the loss; ``weights`` (n,) or (B, n), default 1."""
    from scipy.special import huber

    r = log_model(family, theta, inputs) - np.asarray(target, float)
    per_point = 0.5 * r**2 if loss == "ls" else huber(delta, r)
    w = np.ones(r.shape[-1]) if weights is None else np.asarray(weights, float)
    return np.sum(w * per_point, axis=-1)


def case_weights(n: int, n_resamples: int, seed) -> np.ndarray:
    """(B, n) counts of each run in each case resample of a bootstrap seeded with ``seed``: the
    run indices drawn as the bootstrap draws them (``rng.integers(0, n, size=(B, n))`` first from
    ``default_rng(seed)``), counted one by one."""
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    w = np.zeros((n_resamples, n))
    for b in range(n_resamples):
        for i in idx[b]:
            w[b, i] += 1.0
    return w


def _objective_and_gradient(family, inputs, target, weights, loss, delta):
    def fun(z):
        f, J = family.evaluate(z[None, :], inputs)  # the gradient needs the family's Jacobian
        r = f[0] - target
        psi = r if loss == "ls" else np.clip(r, -delta, delta)
        per_point = 0.5 * r**2 if loss == "ls" else np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
        return float(np.sum(weights * per_point)), J[:, 0] @ (weights * psi)

    return fun


def lbfgsb(family, inputs, target, z0, *, weights=None, loss="huber", delta=1e-3, polish=True):
    """L-BFGS-B from internal start ``z0``; with ``polish`` restarted with tight tolerances.

    Returns (z, objective).
    """
    family = get_family(family)
    weights = np.ones(len(target)) if weights is None else np.asarray(weights, float)
    fun = _objective_and_gradient(family, inputs, target, weights, loss, delta)
    lo, hi = family.internal_bounds()
    bounds = list(zip(np.where(np.isfinite(lo), lo, None), np.where(np.isfinite(hi), hi, None)))
    res = minimize(fun, np.clip(z0, lo, hi), jac=True, method="L-BFGS-B", bounds=bounds)
    if polish:
        for _ in range(3):
            prev = res.fun
            res = minimize(
                fun, res.x, jac=True, method="L-BFGS-B", bounds=bounds,
                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000, "maxcor": 30},
            )
            if prev - res.fun <= 1e-15 * abs(prev):
                break
    return res.x, float(res.fun)


def hoffmann_grid_starts() -> np.ndarray:
    """The 4,500 starts of Hoffmann et al. in the chinchilla family's internal order (e, a, b, alpha, beta)."""
    e = np.arange(-1.0, 1.01, 0.5)
    ab = np.arange(0.0, 25.1, 5.0)
    ex = np.arange(0.0, 2.01, 0.5)
    mesh = np.meshgrid(e, ab, ab, ex, ex, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1)


def hoffmann_grid(inputs, target, *, loss="huber", delta=1e-3, starts=None):
    """Best L-BFGS-B optimum over Hoffmann's grid (no polishing: as published).

    Returns (z_best, objective_best, objectives_of_all_starts).
    """
    fam = get_family("chinchilla")
    starts = hoffmann_grid_starts() if starts is None else starts
    results = [lbfgsb(fam, inputs, target, z0, loss=loss, delta=delta, polish=False) for z0 in starts]
    objectives = np.array([r[1] for r in results])
    best = int(np.nanargmin(objectives))
    return results[best][0], float(objectives[best]), objectives


def continuation_optima(problem, weights, z0, deltas=CONTINUATION_DELTAS):
    """The best optimum of each problem (rows of case ``weights``, (B, n)) reached from internal
    starts ``z0`` (B, p) by way of each wider Huber threshold in ``deltas``: solved with that
    threshold first, then with the problem's own. A robust loss this close to L1 has a rough
    landscape for a law that does not fit the runs; a smoother loss first takes another path
    through it. Returns (z, objective), the objective at the problem's threshold.
    """
    fam = problem.family
    best_z = np.full_like(np.asarray(z0, float), np.nan)
    best = np.full(len(weights), np.inf)
    for wide in deltas:
        first = solve(fam, problem.inputs, problem.target, weights, z0, loss=problem.loss, delta=wide)
        sol = solve(fam, problem.inputs, problem.target, weights, first.z, loss=problem.loss, delta=problem.delta)
        better = sol.converged & (sol.objective < best)
        best_z[better], best[better] = sol.z[better], sol.objective[better]
    return best_z, best


class Probe(NamedTuple):
    """What :func:`probe_local_optima` found."""

    boot: object  # the seeded BootstrapResult
    objective: np.ndarray  # (B,) each resample's objective at the bootstrap's optimum
    other: np.ndarray  # (B,) the lowest objective the other paths reached
    lower: np.ndarray  # (B,) resamples (not failed) that another path takes lower
    best: object  # ``boot`` with those resamples' samples replaced by the lower optima


def probe_local_optima(problem, n_resamples: int, seed: int = 0) -> Probe:
    """A seeded case bootstrap of ``problem`` and, for each of its resamples, the other paths of
    :func:`continuation_optima` from the full-data optimum."""
    fam = problem.family
    fit = fit_problem(problem)
    boot = fit.bootstrap(n_resamples, seed=seed)
    weights = case_weights(problem.n, n_resamples, seed)
    z, other = continuation_optima(problem, weights, np.repeat(fam.to_internal(fit.theta)[None, :], n_resamples, 0))
    ok = ~boot.failed
    ours = objective_of(problem, weights, np.where(ok[:, None], boot.samples, fit.theta))
    lower = ok & (other < ours * (1 - 1e-9))
    best = replace(boot, samples=np.where(lower[:, None], fam.to_natural(z), boot.samples))
    return Probe(boot, ours, other, lower, best)


def objective_of(problem, weights, theta):
    """The summed Huber objective of natural parameters ``theta`` (B, p) under case ``weights``
    (:func:`reference_objective`)."""
    return reference_objective(problem.family, problem.inputs, problem.target, theta, weights, problem.loss,
                               problem.delta)

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
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from .bootstrap import bootstrap_problem, resample_weights
from .families import get_family
from .fitting import fit_problem, rho, solve

#: The wider thresholds :func:`continuation_optima` starts from (log space; the fits use 1e-3).
CONTINUATION_DELTAS = (3e-3, 1e-2, 3e-2, 1e-1)


def _objective_and_gradient(family, inputs, target, weights, loss, delta):
    def fun(z):
        f, J = family.evaluate(z[None, :], inputs)
        r = f[0] - target
        psi = r if loss == "ls" else np.clip(r, -delta, delta)
        return float(np.sum(weights * rho(r, loss, delta))), J[:, 0] @ (weights * psi)

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
    boot = bootstrap_problem(problem, n_resamples=n_resamples, seed=seed, fit=fit)
    weights, _ = resample_weights(problem, n_resamples, "cases", np.random.default_rng(seed))
    z, other = continuation_optima(problem, weights, np.repeat(fam.to_internal(fit.theta)[None, :], n_resamples, 0))
    ok = ~boot.failed
    ours = objective_of(problem, weights, np.where(ok[:, None], boot.samples, fit.theta))
    lower = ok & (other < ours * (1 - 1e-9))
    best = replace(boot, samples=np.where(lower[:, None], fam.to_natural(z), boot.samples))
    return Probe(boot, ours, other, lower, best)


def objective_of(problem, weights, theta):
    """The summed Huber objective of natural parameters ``theta`` (B, p) under case ``weights``."""
    fam = problem.family
    f, _ = fam.evaluate(fam.to_internal(theta), problem.inputs, jac=False)
    return np.sum(weights * rho(f - problem.target, problem.loss, problem.delta), axis=1)

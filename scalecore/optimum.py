"""The compute-optimal frontier of a law, computed once for every surface.

Budget, comparison, the bootstrap result, the Explore page and the report all read the frontier
from here: for a batch of parameter vectors and a grid of compute budgets, the compute-optimal
model size N*, token count D* and loss L*; the frontier read on the params or tokens axis (the loss
of the compute-optimal run whose N, or D, is x); and the prediction at a target on any axis.

Each question goes through the family's hook when it has one (a closed form: Chinchilla's and
Kaplan's laws, see :mod:`scalecore.families`) and otherwise through the ONE generic numerical
default here:

=====================  ==========================================================================
hook                   generic default
=====================  ==========================================================================
optimum                :func:`numerical_optimum`: a grid over log N along ``D = C/(kN)``, then
                       golden-section refinement, vectorised over thetas x budgets
budget_for             :func:`numerical_budget_for`: the optimum tabulated at 8 budgets per decade,
                       log C interpolated against log N* (or log D*)
floor                  the model at N = D = x = e^150 ("unlimited" scale)
log_params_for_loss    bisection on log N with unlimited data
log_tokens_for_loss    bisection on log D
compute_for_loss       :func:`least_cost` with no inference
exponents              the parameters listed in ``Family.exponent_params``
=====================  ==========================================================================

Nothing here imports streamlit, budget or bootstrap (a bootstrap result is read through its
``family``, ``fit.theta``, ``good``, ``estimate`` and ``compute_optimal``), so budget and bootstrap
both import this module and not each other.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import FitError
from .families import Family, get_family
from .stats import percentile_interval
from .uncertainty import Band

#: FLOPs per parameter per training token (C = 6 N D, Kaplan et al. 2020).
FLOPS_PER_TOKEN_PARAM = 6.0
#: FLOPs per parameter per token served at inference (a forward pass, 2 N; Sardana et al. 2023).
INFERENCE_FLOPS_PER_TOKEN_PARAM = 2.0

#: e^150 ~ 1e65: "unlimited" N, D or x.
LOG_HUGE = 150.0
BISECTIONS = 80
#: The numerical optimum: model sizes searched, grid points over log N, golden-section steps.
N_RANGE = (1e3, 1e16)
GRID_POINTS = 241
GOLDEN_STEPS = 60
#: The numerical inverse of N*(C) or D*(C): budgets 10^0 ... 10^60, this many per decade.
BUDGETS_PER_DECADE = 8
#: Elements of the largest array one step of the numerical optimum builds (bounds the memory).
_CHUNK = 2_000_000
AXES = ("compute", "params", "tokens")


def training_compute(params, tokens, k: float = FLOPS_PER_TOKEN_PARAM):
    """C = k·N·D: the training FLOPs of a model of ``params`` trained on ``tokens``."""
    return k * params * tokens


def tokens_for(compute, params, k: float = FLOPS_PER_TOKEN_PARAM):
    """D = C / (k·N): the tokens a model of ``params`` trains on with ``compute``."""
    return compute / (k * params)


def next_decade(values) -> float:
    """The power of ten at or above the largest finite value: the budget a plan opens on, one step
    beyond the runs."""
    return float(10 ** np.ceil(np.log10(np.nanmax(values))))


def _need_two_inputs(fam: Family) -> None:
    if not fam.is_two_input:
        raise FitError(f"a compute-optimal N and D needs a law in N and D; `{fam.name}` has one input")


# ============================================================================ N*, D*, L* at budgets


def compute_optimum(family, theta, compute, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """Compute-optimal N*, D*, L* of a two-input law: the family's closed form where it has one,
    else :func:`numerical_optimum`.

    ``theta`` (p,) or (..., p) and ``compute`` broadcast against each other; every returned array
    (``params``, ``tokens``, ``loss``, and ``a``, ``b`` when the closed form gives them) has the
    broadcast shape.
    """
    fam = get_family(family)
    _need_two_inputs(fam)
    if fam.optimum is not None:
        return fam.optimum(theta, compute, k)
    return numerical_optimum(fam, theta, compute, k)


def numerical_optimum(family, theta, compute, k: float = FLOPS_PER_TOKEN_PARAM, n_range=N_RANGE) -> dict:
    """The generic compute-optimal allocation of any two-input family.

    Minimises the predicted loss along ``D = C/(k N)`` over log N in ``n_range`` by a grid of
    :data:`GRID_POINTS` followed by :data:`GOLDEN_STEPS` golden-section steps, for every
    (theta, budget) pair of the broadcast of ``theta`` (..., p) and ``compute`` (...) at once.
    """
    fam = get_family(family)
    _need_two_inputs(fam)
    theta = np.asarray(theta, float)
    c = np.asarray(compute, float)
    shape = np.broadcast_shapes(theta.shape[:-1], c.shape)
    rows = np.broadcast_to(theta, shape + theta.shape[-1:]).reshape(-1, theta.shape[-1])
    cs = np.broadcast_to(c, shape).ravel()
    out = {key: np.empty(len(rows)) for key in ("params", "tokens", "loss")}
    step = max(1, _CHUNK // GRID_POINTS)
    for s0 in range(0, len(rows), step):
        part = _golden_rows(fam, rows[s0 : s0 + step], cs[s0 : s0 + step], k, n_range)
        for key in out:
            out[key][s0 : s0 + step] = part[key]
    return {key: v.reshape(shape) for key, v in out.items()}


def _row_minimum(fn, grid: np.ndarray, steps: int, rows: int) -> np.ndarray:
    """Per row, the argument minimising ``fn`` ((rows, m) -> (rows, m)): the best point of ``grid``
    (NaN counts as +inf), then ``steps`` golden-section steps between its neighbours."""
    f = fn(np.broadcast_to(grid, (rows, grid.size)))
    f = np.where(np.isnan(f), np.inf, f)
    i = np.clip(np.argmin(f, axis=1), 1, grid.size - 2)
    lo, hi = grid[i - 1], grid[i + 1]
    invphi = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(steps):
        x1 = hi - invphi * (hi - lo)
        x2 = lo + invphi * (hi - lo)
        f12 = fn(np.stack([x1, x2], axis=1))
        left = f12[:, 0] < f12[:, 1]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
    return 0.5 * (lo + hi)


def _golden_rows(fam: Family, theta: np.ndarray, c: np.ndarray, k: float, n_range) -> dict:
    """:func:`numerical_optimum` of B rows, one budget per row."""
    grid = np.linspace(np.log(n_range[0]), np.log(n_range[1]), GRID_POINTS)
    z = fam.to_internal(theta)
    cc = c[:, None]

    def loss_at(log_n):  # (B, m) -> model value in the family's space, (B, m); NaN counts as +inf
        n = np.exp(log_n)
        with np.errstate(all="ignore"):
            f = fam.evaluate(z, {"params": n, "tokens": cc / (k * n)}, jac=False)[0]
        return np.where(np.isnan(f), np.inf, f)

    log_n = _row_minimum(loss_at, grid, GOLDEN_STEPS, len(theta))
    n_opt = np.exp(log_n)
    d_opt = c / (k * n_opt)
    f_opt = loss_at(log_n[:, None])[:, 0]
    with np.errstate(all="ignore"):
        loss = np.exp(f_opt) if fam.space == "log" else f_opt
    return {"params": n_opt, "tokens": d_opt, "loss": np.where(np.isinf(f_opt), np.nan, loss)}


# ============================================================================ the frontier on an axis


def budget_for(family, thetas, axis: str, xs, k: float = FLOPS_PER_TOKEN_PARAM) -> np.ndarray:
    """The compute budget at which each row of ``thetas`` (R, p) puts its optimum on ``axis`` at
    ``xs`` (m,): (R, m). On the compute axis that is ``xs`` itself; on ``params`` (``tokens``) the
    budget whose N* (D*) is x -- the family's closed form, else :func:`numerical_budget_for`."""
    fam = get_family(family)
    thetas = np.atleast_2d(np.asarray(thetas, float))
    xs = np.atleast_1d(np.asarray(xs, float))
    if axis == "compute":
        return np.array(np.broadcast_to(xs, (len(thetas), len(xs))))
    if axis not in ("params", "tokens"):
        raise FitError(f"unknown axis `{axis}`; choose one of: {', '.join(AXES)}")
    _need_two_inputs(fam)
    if fam.budget_for is not None:
        return np.asarray(fam.budget_for(thetas, axis, xs, k), float)
    return numerical_budget_for(fam, thetas, axis, xs, k)


def numerical_budget_for(family, thetas, axis: str, xs, k: float = FLOPS_PER_TOKEN_PARAM) -> np.ndarray:
    """The generic inverse of N*(C) (or D*(C)): the optimum of every row tabulated on budgets
    10^0 ... 10^60 (:data:`BUDGETS_PER_DECADE` per decade), log C interpolated linearly against
    log x* at log ``xs``; NaN outside a row's table (and where N* sits at the edge of the search)."""
    fam = get_family(family)
    thetas = np.atleast_2d(np.asarray(thetas, float))
    lx = np.log(np.atleast_1d(np.asarray(xs, float)))
    lc = np.linspace(0.0, 60.0 * math.log(10.0), 60 * BUDGETS_PER_DECADE + 1)
    opt = compute_optimum(fam, thetas[:, None, :], np.exp(lc)[None, :], k)
    with np.errstate(all="ignore"):
        lxs = np.log(opt[axis])
        ln = np.log(opt["params"])
    inside = (ln > math.log(N_RANGE[0]) + 1e-6) & (ln < math.log(N_RANGE[1]) - 1e-6) if fam.optimum is None \
        else np.ones(ln.shape, dtype=bool)
    out = np.full((len(thetas), len(lx)), np.nan)
    for r in range(len(thetas)):
        ok = np.isfinite(lxs[r]) & inside[r]
        if ok.sum() < 2:
            continue
        u, v = lxs[r][ok], lc[ok]
        order = np.argsort(u)
        u, v = u[order], v[order]
        row = np.interp(lx, u, v)
        row[(lx < u[0]) | (lx > u[-1])] = np.nan
        out[r] = np.exp(row)
    return out


def frontier_loss(family, thetas, axis: str, xs, k: float = FLOPS_PER_TOKEN_PARAM) -> np.ndarray:
    """L* at ``xs`` on ``axis`` for every row of ``thetas`` (R, p): (R, m).

    Against compute this is L*(C); against N (or D) the loss of the compute-optimal run whose model
    size is N (or whose token count is D): the budget from :func:`budget_for`, then L* there."""
    fam = get_family(family)
    thetas = np.atleast_2d(np.asarray(thetas, float))
    compute = budget_for(fam, thetas, axis, xs, k)
    return np.asarray(compute_optimum(fam, thetas[:, None, :], compute, k)["loss"], float)


def frontier_on_axis(boot, axis: str, xs, k: float = FLOPS_PER_TOKEN_PARAM) -> tuple[np.ndarray, np.ndarray]:
    """The frontier loss of a bootstrapped two-input law at ``xs`` on ``axis``: the best fit (m,)
    and each good resample (B, m)."""
    loss = frontier_loss(boot.family, np.vstack([boot.fit.theta[None, :], boot.good]), axis, xs, k)
    return loss[0], loss[1:]


def frontier_band(boot, axis: str, xs, k: float = FLOPS_PER_TOKEN_PARAM) -> Band:
    """The frontier of a bootstrapped two-input law over ``xs`` on ``axis`` with its percentile
    band (points where fewer than two resamples are finite have none)."""
    point, samples = frontier_on_axis(boot, axis, xs, k)
    ok = np.isfinite(samples).sum(axis=0) >= 2
    lower, median, upper = (np.full(point.shape, np.nan) for _ in range(3))
    if ok.any():
        lower[ok], median[ok], upper[ok] = percentile_interval(samples[:, ok], boot.confidence_level,
                                                               with_median=True)
    return Band(point=point, median=median, lower=lower, upper=upper, kind="confidence",
                confidence_level=boot.confidence_level)


def predict_at(boot, axis: str, target: float, k: float = FLOPS_PER_TOKEN_PARAM):
    """The metric a bootstrapped law predicts at ``target`` on ``axis``, with its interval: a
    one-input law on its own x (None for another axis); a law in N and D along its compute-optimal
    frontier, on every axis. What Explore, the report and the review page show."""
    fam = boot.family
    if not fam.is_two_input:
        return boot.predict_at(np.array([float(target)])) if boot.fit.x == axis else None
    if axis == "compute":
        return boot.compute_optimal(float(target), k)["loss"]
    point, samples = frontier_on_axis(boot, axis, np.array([float(target)]), k)
    return boot.estimate(float(point[0]), samples[:, 0])


def frontier_point(family, theta, axis: str, target: float, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """The compute-optimal run of one law (``theta`` (p,)) whose ``axis`` value is ``target``:
    ``{"compute", "params", "tokens", "loss"}`` as floats."""
    fam = get_family(family)
    compute = float(budget_for(fam, np.asarray(theta, float)[None, :], axis, [float(target)], k)[0, 0])
    opt = compute_optimum(fam, theta, compute, k)
    return {"compute": compute, **{key: float(np.ravel(opt[key])[0]) for key in ("params", "tokens", "loss")}}


# ============================================================================ floors and inverses


def log_model(family, thetas: np.ndarray, log_n, log_d) -> np.ndarray:
    """log of a two-input model's value at per-row inputs (M, m)."""
    fam = get_family(family)
    log_n, log_d = np.broadcast_arrays(log_n, log_d)
    with np.errstate(all="ignore"):
        f, _ = fam.evaluate(fam.to_internal(thetas), {"params": np.exp(log_n), "tokens": np.exp(log_d)}, jac=False)
        return f if fam.space == "log" else np.log(f)


def floor(family, thetas) -> np.ndarray:
    """The value each row of ``thetas`` (M, p) approaches with unlimited scale: (M,)."""
    fam = get_family(family)
    thetas = np.atleast_2d(np.asarray(thetas, float))
    if fam.floor is not None:
        return np.asarray(fam.floor(thetas), float)
    if fam.is_two_input:
        huge = np.full((len(thetas), 1), LOG_HUGE)
        return np.exp(log_model(fam, thetas, huge, huge)[:, 0])
    with np.errstate(all="ignore"):
        return fam.predict(thetas, {"x": np.array([math.exp(LOG_HUGE)])})[:, 0]


def log_params_for_loss(family, thetas, loss) -> np.ndarray:
    """log of the smallest N that reaches ``loss`` (M,) with unlimited data (+inf where no N can)."""
    fam = get_family(family)
    if fam.log_params_for_loss is not None:
        return fam.log_params_for_loss(thetas, loss)
    big = np.full((len(thetas), 1), LOG_HUGE)
    lo, hi = np.zeros(len(thetas)), np.full(len(thetas), LOG_HUGE)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(loss)
    reachable = log_model(fam, thetas, big, big)[:, 0] < target
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = log_model(fam, thetas, mid[:, None], big)[:, 0] > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(reachable, hi, np.inf)


def log_tokens_for_loss(family, thetas, log_n, loss) -> np.ndarray:
    """log D such that L(N, D) = loss, for log N (M, m) and loss (M, 1); +inf where unreachable."""
    fam = get_family(family)
    if fam.log_tokens_for_loss is not None:
        return fam.log_tokens_for_loss(thetas, log_n, loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(loss)
    lo, hi = np.zeros_like(log_n), np.full_like(log_n, LOG_HUGE)
    reachable = log_model(fam, thetas, log_n, hi) < target
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = log_model(fam, thetas, log_n, mid) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(reachable, hi, np.inf)


def least_cost(family, thetas: np.ndarray, loss, inference_tokens: float = 0.0,
               k: float = FLOPS_PER_TOKEN_PARAM, k_inf: float = INFERENCE_FLOPS_PER_TOKEN_PARAM) -> dict:
    """min over N of ``k N D + k_inf N T`` subject to ``L(N, D) = loss``, for every row at once.

    ``D(N)`` comes from :func:`log_tokens_for_loss`; N is searched above the smallest size that
    can reach the loss (:func:`log_params_for_loss`), as ``log N = log N_min + exp(v)``, on a grid
    of v and then by golden section. The objective is convex in log N for Chinchilla's law (a sum of
    two functions that are convex in log N), so the search finds the global minimum. Rows that
    cannot reach ``loss`` get ``compute = inf``. Returns params, tokens, training, inference (FLOPs)
    and total (M,).
    """
    fam = get_family(family)
    M = len(thetas)
    loss = np.broadcast_to(np.asarray(loss, float), (M,)).copy()
    T = float(inference_tokens)
    log_floor = log_params_for_loss(fam, thetas, loss)
    ok = np.isfinite(log_floor)
    base = np.where(ok, log_floor, 0.0)
    log_k, log_inf = math.log(k), (math.log(k_inf * T) if T > 0 else None)

    def objective(v):  # v (M, m) -> log of the total FLOPs
        log_n = base[:, None] + np.exp(v)
        log_d = log_tokens_for_loss(fam, thetas, log_n, loss[:, None])
        train = log_k + log_n + log_d
        return train if log_inf is None else np.logaddexp(train, log_inf + log_n)

    grid = np.linspace(math.log(1e-9), math.log(60.0), 321)
    log_n = base + np.exp(_row_minimum(objective, grid, 90, M))
    with np.errstate(all="ignore"):
        log_d = log_tokens_for_loss(fam, thetas, log_n[:, None], loss[:, None])[:, 0]
        params = np.where(ok, np.exp(log_n), np.nan)
        tokens = np.where(ok, np.exp(log_d), np.inf)
        training = np.where(ok, k * params * tokens, np.inf)
        inference = np.where(ok, k_inf * params * T, np.nan)
    return {"params": params, "tokens": tokens, "training": training, "inference": inference,
            "total": training + np.nan_to_num(inference, nan=0.0) if T > 0 else training.copy()}


def compute_for_loss(family, thetas, loss, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """The least training compute reaching ``loss`` (scalar or (M,)) per row of ``thetas`` (M, p),
    with its N and D: the family's closed form, else :func:`least_cost` with no inference."""
    fam = get_family(family)
    thetas = np.atleast_2d(np.asarray(thetas, float))
    loss = np.broadcast_to(np.asarray(loss, float), (len(thetas),))
    if fam.compute_for_loss is not None:
        return fam.compute_for_loss(thetas, loss, k)
    out = least_cost(fam, thetas, loss, 0.0, k)
    return {"compute": out["training"], "params": out["params"], "tokens": out["tokens"]}


def exponents(family, theta) -> dict[str, np.ndarray]:
    """The exponents a family reports (and a comparison differences), by name, for ``theta`` (..., p)."""
    fam = get_family(family)
    theta = np.asarray(theta, float)
    if fam.exponents is not None:
        return fam.exponents(theta)
    return {n: theta[..., fam.param_names.index(n)] for n in fam.exponent_params}

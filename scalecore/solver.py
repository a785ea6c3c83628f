"""The numerical engine under every fit and bootstrap: the summed Huber objective and one batched
Levenberg-Marquardt solver (:func:`solve`) that minimises it for many problems at once (several
starting points of one fit, or all resamples of a bootstrap).

It knows families only through ``Family.evaluate`` and bounds; :mod:`fitting` (one fit) and
:mod:`bootstrap` (all resamples) both sit on it, and neither imports the other's module for it.
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .families import Family


# ------------------------------------------------------------------------------ the objective


def rho(r: np.ndarray, loss: str, delta: float) -> np.ndarray:
    """Per-point loss: Huber_delta (as ``scipy.special.huber``) or ``r**2 / 2``."""
    return _huber(np.asarray(r, dtype=float), _threshold(loss, delta))


def _threshold(loss: str, delta: float) -> float:
    """Least squares is the Huber loss with an infinite threshold."""
    return math.inf if loss == "ls" else float(delta)


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber_delta(r) as ``m (|r| - m/2)`` with ``m = min(|r|, delta)``: ``r^2/2`` inside the
    threshold, ``delta (|r| - delta/2)`` outside, ``r^2/2`` everywhere for ``delta = inf``."""
    a = np.abs(r)
    m = np.minimum(a, delta)
    a -= 0.5 * m
    a *= m
    return a


def _objective(W: np.ndarray, r: np.ndarray, delta: float) -> np.ndarray:
    """``sum_i w_i rho(r_i)`` per problem, with the weights ``W`` shared (n,) or per problem (B, n)."""
    per_point = _huber(r, delta)
    return per_point @ W if W.ndim == 1 else np.einsum("bn,bn->b", W, per_point)


def _gram(J: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_i w_i J_i J_i'`` for each problem: (B, p, p) from the Jacobian's (p, B, n) planes.

    One dot product per pair of parameters over the contiguous planes: 1.3-1.6x faster than a
    batched matrix product at 1,000 problems, and each problem's sums are added in the same order
    whatever its batch (a matrix product at small batches would change the rounding)."""
    p, k, n = J.shape
    WJ = J * w
    G = np.empty((k, p, p))
    for i in range(p):
        for j in range(i, p):
            G[:, i, j] = np.einsum("bn,bn->b", WJ[i], J[j])
            if j > i:
                G[:, j, i] = G[:, i, j]
    return G


@dataclass
class Solution:
    """What :func:`solve` returns for a batch of B problems."""

    z: np.ndarray  # (B, p) internal parameters
    objective: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) bool
    n_iter: np.ndarray  # (B,) int


#: Batches at least this large (problems x runs) are split across threads: numpy releases the GIL
#: in its array loops, and the problems of a batch are independent, so the answer is the same.
PARALLEL_MIN_SIZE = 40_000
_POOL: list = []


_LOCAL = threading.local()


class NotSettling(Exception):
    """A batch gave up: at one of the iterations of ``give_up`` more than its share of the problems
    were still being solved (:func:`_solve`). ``active`` counts them of ``total``; ``z`` holds
    every problem's parameters at that moment and ``moving`` marks the ones still being solved."""

    def __init__(self, active: int, total: int, z: np.ndarray, moving: np.ndarray, iteration: int):
        super().__init__(f"{active} of {total} problems still moving after {iteration} iterations")
        self.active, self.total, self.z, self.moving, self.iteration = active, total, z, moving, iteration


class Cancelled(Exception):
    """A solve stopped by its thread's stop check (:func:`in_background`). Not a user error, so
    not a :class:`ScaleCoreError`: nothing catches it on the way out, and nothing is cached."""


@contextmanager
def in_background(stop: Callable[[], bool], threads: int = 1) -> Iterator[None]:
    """Solve on this thread with at most ``threads`` cores, and raise :class:`Cancelled` from the
    solver's next iteration once ``stop()`` is true: work done ahead of the user yields to the
    user. The answers are the same as in the foreground (a batch's rows are independent of the
    batch's split)."""
    saved = getattr(_LOCAL, "control", None)
    _LOCAL.control = (stop, threads)
    try:
        yield
    finally:
        _LOCAL.control = saved


def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    control = getattr(_LOCAL, "control", None)
    limit = int(os.environ.get("SCALECORE_THREADS", cpus))
    if control is not None:
        limit = min(limit, control[1])
    return max(1, min(cpus, limit))


def _pool(workers: int):
    if not _POOL or _POOL[0]._max_workers != workers:
        from concurrent.futures import ThreadPoolExecutor

        _POOL[:] = [ThreadPoolExecutor(workers, thread_name_prefix="scalecore-solve")]
    return _POOL[0]


#: A batch of more than this many problems x runs is solved in blocks of about this size, one
#: after another on each core: the working arrays of a block (a Jacobian plane per parameter, the
#: residuals) then stay in the processor's cache. Chinchilla's law on one core, the pass from the
#: full-data optimum (CPU, best of 3, blocks of 100,000-400,000 against one batch): 240 runs x
#: 5,000 resamples 0.32-0.39 s against 0.54 s, 1,000 x 1,000 0.19-0.22 s against 0.30 s, 10,000 x
#: 200 0.35-0.45 s against 0.90 s, 240 x 1,000 (one block or two) 0.065-0.071 s against 0.073 s.
BLOCK_SIZE = 200_000


def solve(family: Family, inputs: dict, target: np.ndarray, weights: np.ndarray, z0: np.ndarray, **options) -> Solution:
    """Minimise ``sum_i w_bi * rho(f_b(x_i) - t_bi)`` for B problems at once (see :func:`_solve`).

    A large batch is cut into blocks (:data:`BLOCK_SIZE`, and at least one per core when it is
    worth threads; ``SCALECORE_THREADS`` caps the cores), solved in threads. The blocks are
    independent problems, so the result is identical to one call; the blocks advance together from
    one ``give_up`` check to the next, which counts the problems still moving over the whole batch.
    """
    z0 = np.asarray(z0, dtype=float)
    B = z0.shape[0]
    n = np.shape(next(iter(inputs.values())))[-1]
    control = getattr(_LOCAL, "control", None)
    if control is not None:
        options["should_stop"] = control[0]  # read here: the pool's threads do not see this thread's locals
    workers = _workers()
    blocks = math.ceil(B * n / BLOCK_SIZE)
    if workers > 1 and B >= 2 * workers and B * n >= PARALLEL_MIN_SIZE:
        blocks = max(blocks, workers)
    blocks = min(blocks, B)
    if blocks <= 1:
        return _solve(family, inputs, target, weights, z0, **options)
    progress = options.pop("progress", None)  # --- progress plumbing (issue 22): chunks' counts summed

    def rows_of(a, rows):
        a = np.asarray(a, dtype=float)
        return a[rows] if a.ndim == 2 and a.shape[0] == B else a

    give_up = options.pop("give_up", ())
    parts = np.array_split(np.arange(B), blocks)
    settled = [0] * len(parts)

    def reporter(i):  # --- progress plumbing (issue 22): the blocks' counts summed
        if progress is None:
            return {}

        def report(done, total):
            settled[i] = done
            progress(sum(settled), B)
        return {"progress": report}

    steps = [_solve_steps(family, {k: rows_of(v, rows) for k, v in inputs.items()}, rows_of(target, rows),
                          rows_of(weights, rows), z0[rows], checks=tuple(k for k, _ in give_up), **options,
                          **reporter(i))
             for i, rows in enumerate(parts)]
    if workers > 1 and B * n >= PARALLEL_MIN_SIZE:
        pool = _pool(workers)
        return _drive(steps, give_up, B, lambda f, xs: list(pool.map(f, xs)))
    return _drive(steps, give_up, B)


def _drive(steps: list, give_up: tuple[tuple[int, float], ...], total: int, run=None) -> Solution:
    """Advance the solves ``steps`` (generators of :func:`_solve_steps`, blocks of one batch of
    ``total`` problems, in order) to each ``give_up`` check together, ``run(f, indices)`` mapping
    over them (threads, or in turn). At a check, the problems still moving are counted over all
    blocks: more than the check's share of ``total`` raises :class:`NotSettling` for the batch."""
    run = run or (lambda f, xs: [f(x) for x in xs])
    share = {}
    for k, s in give_up:
        share[k] = min(s, share.get(k, s))
    out: list = [None] * len(steps)
    reply: list = [None] * len(steps)

    def advance(i):
        try:
            with np.errstate(all="ignore"):
                return steps[i].send(reply[i])
        except StopIteration as done:
            out[i] = done.value
            return None

    live = list(range(len(steps)))
    while live:
        points = run(advance, live)
        live = [i for i, point in zip(live, points) if point is not None]
        if not live:
            break
        it = points[next(j for j, point in enumerate(points) if point is not None)][0]
        active = sum(point[1] for point in points if point is not None)
        if active > share[it] * total:
            for i in live:
                try:
                    with np.errstate(all="ignore"):
                        steps[i].send(False)
                except NotSettling as exc:
                    out[i] = exc
            moving = [o.moving if isinstance(o, NotSettling) else np.zeros(len(o.objective), dtype=bool) for o in out]
            raise NotSettling(active, total, np.concatenate([o.z for o in out]), np.concatenate(moving), it)
        for i in live:
            reply[i] = True
    if len(out) == 1:
        return out[0]
    return Solution(*(np.concatenate([getattr(part, f) for part in out]) for f in ("z", "objective", "converged", "n_iter")))


#: A ``progress`` callback of :func:`_solve` is called every this many iterations (issue 22).
PROGRESS_EVERY = 5


@contextmanager
def reporting(progress: Callable[[int, int], None] | None) -> Iterator[None]:
    """Every bootstrap started on this thread inside the block reports ``progress(settled, total)``
    (resamples settled of all) as its resamples settle, from the solver's threads (so the callback
    must be thread-safe and must not draw: a Streamlit page polls what it records). The answers are
    unchanged."""
    saved = getattr(_LOCAL, "progress", None)
    _LOCAL.progress = progress
    try:
        yield
    finally:
        _LOCAL.progress = saved


def progress_callback() -> Callable[[int, int], None] | None:
    """The callback of the innermost :func:`reporting` block on this thread, if any."""
    return getattr(_LOCAL, "progress", None)


#: The Levenberg-Marquardt damping every problem starts with.
LAM0 = 0.1
#: The damping metric is the IRLS curvature S plus this share of its own diagonal. Without it, S is
#: nearly singular along directions the data hardly determine, and the broken power law's
#: resamples wander there (319 of 1,000 unconverged on compute_saturating, against 92 with it);
#: a larger share brings back the zig-zag (offset power law: 37 loops at 1e-3, 59 at 0.1).
METRIC_DIAGONAL = 1e-3
#: Below this damping a step also gives the Newton decrement: g' step = g' (H + lam S)^-1 g.
DECREMENT_DAMPING = 1e-4


def _row_max(a: np.ndarray) -> np.ndarray:
    """Largest entry of each row of a (k, p) array with few columns (faster than a max over axis 1)."""
    out = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        np.maximum(out, a[:, j], out=out)
    return out


def _diagonal(H: np.ndarray) -> np.ndarray:
    """A writable (k, p) view of the diagonals of a C-contiguous (k, p, p) batch."""
    if not H.flags.c_contiguous:
        raise ValueError("_diagonal needs a C-contiguous array")
    k, p, _ = H.shape
    return H.reshape(k, p * p)[:, :: p + 1]


def _local_model(J, r, W, z, lo, hi, delta):
    """The quadratic model of the objective at points z: gradient, Hessian and damping metric.

    ``g = J' W psi(r)`` is the exact gradient. ``H`` is the Gauss-Newton matrix over the points
    inside the Huber threshold, where the loss has curvature 1 (0 outside), with a tiny ridge.
    ``S = J' W (psi(r)/r) J`` is the IRLS curvature, which majorises the loss: it is the metric
    of the Levenberg-Marquardt damping, so a damped step ``(H + lam S)^-1 g`` turns from
    Gauss-Newton (``lam`` small) towards the IRLS step, a guaranteed descent, as ``lam`` grows.
    Where fewer than p points sit inside, ``H`` is singular and ``S`` sets the step along the
    valley; a diagonal damping there instead zig-zags down the valley of these strongly
    correlated parameters (offset power law: 72 loops of the solver against 37). ``S`` carries a
    little extra on its diagonal (:data:`METRIC_DIAGONAL`) for the directions the data hardly
    determine (a broken power law's break beyond the data). Pure IRLS
    converges linearly on this nearly-L1 objective (median 44 iterations per Chinchilla
    resample, against 8 with ``H``). Parameters held at a bound, with the gradient pushing
    outward, drop out of the system.
    """
    a = np.abs(r)
    # the IRLS weight psi(r)/r: 1 inside the threshold, delta/|r| outside (1 for least squares)
    if math.isfinite(delta):
        wi = np.maximum(a, delta)
        np.divide(delta, wi, out=wi)
    else:
        wi = np.ones_like(a)
    wi *= W
    g = np.einsum("pbn,bn->bp", J, wi * r)
    H = _gram(J, W * (a <= delta))
    S = _gram(J, wi)
    diag = _diagonal(H)
    ridge = _row_max(diag)[:, None]
    ridge *= 1e-14
    ridge += 1e-300
    metric = _diagonal(S)
    metric *= 1.0 + METRIC_DIAGONAL
    metric += ridge
    diag += ridge
    at_lo, at_hi = z <= lo, z >= hi
    if at_lo.any() or at_hi.any():
        fixed = (at_lo & (g > 0)) | (at_hi & (g < 0))
        if fixed.any():
            free = ~fixed
            g[fixed] = 0.0
            mask = free[:, :, None] * free[:, None, :]
            H *= mask
            S *= mask
            diag[fixed] = 1.0
    return g, H, S


def _solve(family: Family, inputs: dict, target: np.ndarray, weights: np.ndarray, z0: np.ndarray, *,
           give_up: tuple[tuple[int, float], ...] = (), **options) -> Solution:
    """:func:`_solve_steps` as one call (a batch solved as one block)."""
    return _drive([_solve_steps(family, inputs, target, weights, z0, checks=tuple(k for k, _ in give_up), **options)],
                  give_up, np.shape(z0)[0])


def _solve_steps(
    family: Family,
    inputs: dict,
    target: np.ndarray,
    weights: np.ndarray,
    z0: np.ndarray,
    *,
    loss: str = "huber",
    delta: float = 1e-3,
    max_iter: int = 400,
    rtol: float = 1e-12,
    should_stop: Callable[[], bool] | None = None,
    checks: tuple[int, ...] = (),
    progress: Callable[[int, int], None] | None = None,
):
    """Minimise ``sum_i w_bi * rho(f_b(x_i) - t_bi)`` for B problems at once.

    ``target`` and ``weights`` have shape (n,) (shared) or (B, n); ``z0`` is (B, p) internal
    parameters. Each iteration takes a Levenberg-Marquardt step on the local quadratic model
    (:func:`_local_model`), projected onto the bounds, and accepts it only if the objective does
    not increase; a rejected step is retried with more damping on the same model. A problem is
    converged when its Newton decrement ``g' H^-1 g`` is below ``rtol`` times its objective (read
    off the step once the damping is below ``DECREMENT_DAMPING``), or when no step can lower the
    objective any further. ``max_iter`` bounds the steps tried (model evaluations) per problem;
    ``should_stop``, asked once per iteration, ends the solve with :class:`Cancelled`.

    Problems still being solved are kept packed in the working arrays, so each iteration costs in
    proportion to them; the model is rebuilt only where a step was accepted.

    A generator, driven by :func:`_drive` (``_solve`` and ``solve`` return the
    :class:`Solution`): after each of the iterations ``checks`` it yields ``(iteration, problems
    still being solved)`` and is sent whether to go on; told not to, it raises :class:`NotSettling`
    (``give_up=((K, share), ...)`` of ``solve``: more than ``share`` of the batch still being
    solved after ``K`` iterations, the bootstrap's early stop on a law the runs do not determine).
    Problems that settle in time are untouched by it: the check only reads.

    ``progress(settled, B)`` is called every :data:`PROGRESS_EVERY` iterations and once at the end
    (``settled == B``): the problems no longer being solved (the working set's size is free).
    """
    z0 = np.asarray(z0, dtype=float)
    B, p = z0.shape
    lo, hi = family.internal_bounds()
    delta = _threshold(loss, delta)
    T = np.asarray(target, dtype=float)
    W = np.asarray(weights, dtype=float)
    shared_T, shared_W = T.ndim == 1, W.ndim == 1

    z_out = np.clip(z0, lo, hi)
    converged = np.zeros(B, dtype=bool)
    n_iter = np.zeros(B, dtype=int)
    # floating-point warnings are silenced by the driver (:func:`_drive`) around each resumption:
    # an errstate held across a yield would be left in another thread's context
    f, J = family.evaluate(z_out, inputs)
    r = f - T
    F_out = _objective(W, r, delta)
    bad = ~np.isfinite(F_out) | ~np.isfinite(J.sum(axis=(0, 2)))
    F_out[bad] = np.inf

    # the working set: problems still being solved, their state packed in these arrays
    rows = np.flatnonzero(~bad)
    if rows.size < B:
        J, r = J[:, rows], r[rows]
    z, F = z_out[rows], F_out[rows]
    T = T if shared_T else T[rows]
    W = W if shared_W else W[rows]
    g, H, S = _local_model(J, r, W, z, lo, hi, delta)
    del f, J, r
    lam = np.full(rows.size, LAM0)
    finished = np.zeros(rows.size, dtype=bool)

    for it in range(max_iter + 1):
        damped = lam[:, None, None] * S
        damped += H
        step = _spd_solve(damped, g)
        # converged when the Newton decrement g' H^-1 g is negligible; with little damping
        # g' step is that decrement (to a factor 1 + lam S / H)
        done = finished | ((lam <= DECREMENT_DAMPING) & ((g * step).sum(axis=1) <= rtol * np.maximum(F, 1e-300)))
        if done.any():
            stop = rows[done]
            z_out[stop], F_out[stop], converged[stop] = z[done], F[done], True
            keep = ~done
            rows, z, F, g, H, S, lam, step = (
                rows[keep], z[keep], F[keep], g[keep], H[keep], S[keep], lam[keep], step[keep])
            T = T if shared_T else T[keep]
            W = W if shared_W else W[keep]
        if it in checks and not (yield it, int(rows.size)):
            z_out[rows] = z
            moving = np.zeros(B, dtype=bool)
            moving[rows] = True
            raise NotSettling(int(rows.size), B, z_out, moving, it)
        if progress is not None and it % PROGRESS_EVERY == 0:  # --- progress plumbing (issue 22)
            progress(B - int(rows.size), B)
        if rows.size == 0 or it == max_iter:
            break
        if should_stop is not None and should_stop():
            raise Cancelled("stopped by the caller")
        zn = np.clip(z - step, lo, hi)
        fn, Jn = family.evaluate(zn, inputs)
        rn = fn - T
        Fn = _objective(W, rn, delta)
        finite = np.isfinite(Fn) & np.isfinite(Jn.sum(axis=(0, 2)))
        ok = finite & (Fn <= F)
        n_iter[rows] += 1
        stalled = ok & (F - Fn <= 1e-15 * np.maximum(F, 1e-300)) & (_row_max(np.abs(step)) < 1e-13)
        if ok.all():
            z, F = zn, Fn
            g, H, S = _local_model(Jn, rn, W, z, lo, hi, delta)
        elif ok.any():
            acc = np.flatnonzero(ok)
            z[acc], F[acc] = zn[acc], Fn[acc]
            if 2 * acc.size > ok.size and finite.all():  # cheaper than copying most of Jn
                model = (part[acc] for part in _local_model(Jn, rn, W, zn, lo, hi, delta))
            else:
                model = _local_model(Jn[:, acc], rn[acc], W if shared_W else W[acc], z[acc], lo, hi, delta)
            g[acc], H[acc], S[acc] = model
        lam = np.where(ok, np.maximum(lam * 0.25, 1e-10), lam * 8.0)
        finished = (lam > 1e12) | stalled
    z_out[rows], F_out[rows] = z, F
    if progress is not None:  # --- progress plumbing (issue 22): every problem settled or given up
        progress(B, B)
    return Solution(z=z_out, objective=F_out, converged=converged, n_iter=n_iter)


def _batched_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve A x = b for a batch; singular systems fall back to least squares.

    Each row's answer depends on that row alone, whatever else is in the batch (so a bootstrap
    split across threads gives the same samples).
    """
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(b)
        for i in range(len(b)):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                try:
                    out[i] = np.linalg.lstsq(A[i], b[i], rcond=None)[0]
                except np.linalg.LinAlgError:  # not finite: the step is rejected
                    out[i] = np.nan
        return out


def _spd_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve A x = b for a batch of symmetric positive definite systems, (k, p, p) and (k, p).

    Gaussian elimination without pivoting (stable for SPD matrices), vectorised over the batch: a
    few dozen array operations in all, where ``np.linalg.solve`` pays ~0.2 us of LAPACK call per
    system (3x slower at 1,000 systems of 3). Used at every batch size, so that a row's answer
    does not depend on the batch it is in. Systems that are not numerically positive definite go
    to :func:`_batched_solve`.
    """
    k, p = b.shape
    M = A.transpose(1, 2, 0).copy()  # (p, p, k): each entry a contiguous vector over the batch
    y = b.T.copy()  # never a view of b, which is eliminated in place (b.T of one row is contiguous)
    pivots_ok = M[0, 0] > 0
    for j in range(p - 1):
        lower = M[j + 1 :, j] / M[j, j]
        M[j + 1 :, j + 1 :] -= lower[:, None, :] * M[j, j + 1 :][None, :, :]
        y[j + 1 :] -= lower * y[j]
        pivots_ok &= M[j + 1, j + 1] > 0
    x = np.empty_like(y)
    x[p - 1] = y[p - 1] / M[p - 1, p - 1]
    for j in range(p - 2, -1, -1):
        x[j] = (y[j] - (M[j, j + 1 :] * x[j + 1 :]).sum(axis=0)) / M[j, j]
    x = x.T
    bad = ~(pivots_ok & np.isfinite(x).all(axis=1))
    if bad.any():
        x[bad] = _batched_solve(A[bad], b[bad])
    return x


def distinct_optima(z: np.ndarray, objective: np.ndarray, tol: float = 1e-3, limit: int = 4) -> np.ndarray:
    """The distinct solutions among ``z`` (internal, (S, p)), best first."""
    order = np.argsort(objective, kind="stable")
    kept: list[np.ndarray] = []
    for i in order:
        if not np.isfinite(objective[i]):
            continue
        if all(np.max(np.abs(z[i] - k) / (1.0 + np.abs(k))) > tol for k in kept):
            kept.append(z[i])
        if len(kept) == limit:
            break
    return np.array(kept)

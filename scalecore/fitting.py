"""One fit of one family: a robust objective, a reliable optimum -> :class:`FitResult`.

The objective is Hoffmann et al.'s (2022, Approach 3): the **sum** over runs of
``Huber_delta(f(x; theta) - t)``, where ``f``/``t`` are the model and the metric in the family's
residual space (``log`` for losses). Summing, not averaging, matters: Besiroglu et al. (2024) found
that L-BFGS stops early on the mean.

The optimum must not depend on luck, so every fit runs :func:`solve` -- a batched
Levenberg-Marquardt method on the iteratively reweighted (IRLS) form of the Huber loss -- from
several starting points chosen by variable projection (see :mod:`families`), and keeps the best.
The same solver fits all bootstrap resamples at once (:mod:`bootstrap`): a case resample is only a
vector of weights on the runs, so thousands of resamples are one array problem.
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from .errors import DataError, FitError, format_rows
from .families import ONE_INPUT_AXES, Family, get_family
from .spec import LOSSES, FitSpec


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


def solve(family: Family, inputs: dict, target: np.ndarray, weights: np.ndarray, z0: np.ndarray, **options) -> Solution:
    """Minimise ``sum_i w_bi * rho(f_b(x_i) - t_bi)`` for B problems at once (see :func:`_solve`).

    A large batch is cut into one chunk per core (``SCALECORE_THREADS`` caps them), solved in
    threads; the chunks are independent problems, so the result is identical to one call.
    """
    z0 = np.asarray(z0, dtype=float)
    B = z0.shape[0]
    n = np.shape(next(iter(inputs.values())))[-1]
    control = getattr(_LOCAL, "control", None)
    if control is not None:
        options["should_stop"] = control[0]  # read here: the pool's threads do not see this thread's locals
    workers = _workers()
    if workers == 1 or B < 2 * workers or B * n < PARALLEL_MIN_SIZE:
        return _solve(family, inputs, target, weights, z0, **options)

    def rows_of(a, rows):
        a = np.asarray(a, dtype=float)
        return a[rows] if a.ndim == 2 and a.shape[0] == B else a

    chunks = np.array_split(np.arange(B), workers)
    parts = list(_pool(workers).map(
        lambda rows: _solve(family, {k: rows_of(v, rows) for k, v in inputs.items()}, rows_of(target, rows),
                            rows_of(weights, rows), z0[rows], **options), chunks))
    return Solution(*(np.concatenate([getattr(part, f) for part in parts]) for f in ("z", "objective", "converged", "n_iter")))


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


def _solve(
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
) -> Solution:
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
    with np.errstate(all="ignore"):
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


# ------------------------------------------------------------------------------ the problem


@dataclass(frozen=True, eq=False)
class Problem:
    """The cleaned arrays one fit works on (built by :func:`prepare`)."""

    family: Family
    x: str | None
    y: str
    inputs: dict = field(repr=False)
    y_values: np.ndarray = field(repr=False)
    run_ids: np.ndarray = field(repr=False)
    groups: np.ndarray = field(repr=False)
    excluded: tuple[str, ...]
    dropped: tuple[str, ...]
    loss: str
    delta: float
    warnings: tuple[str, ...] = ()
    #: the spec :func:`prepare` made it from (a subset made by diagnostics keeps its parent's)
    spec: FitSpec | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.y_values)

    @property
    def target(self) -> np.ndarray:
        """The metric in the family's residual space."""
        return np.log(self.y_values) if self.family.space == "log" else self.y_values


def default_x(runs, family: Family) -> str | None:
    """The x a one-input family is fitted against when none is given: compute, else params, else tokens."""
    if family.is_two_input:
        return None
    for axis in ("compute", "params", "tokens"):
        if runs.has(axis):
            return axis
    return "compute"


#: Most runs one fit takes: a table of runs has one row per run; far more rows are a log or loss curves,
#: and would take minutes (a Chinchilla fit of 1,000,000 rows takes about two minutes).
MAX_FIT_RUNS = 20_000


def min_distinct(family: Family) -> int:
    """Distinct values of each input a family needs: 2 for N and D each, else up to 3."""
    return 2 if family.is_two_input else min(family.n_params, 3)


def check_size(family: Family, arrays: dict) -> list[str]:
    """Raise :class:`FitError` when ``arrays`` (input name -> values) are too few for ``family``.

    The family needs ``n_params + 1`` runs and :func:`min_distinct` distinct values of every
    input. Returns soft warnings (too few distinct sizes to separate alpha from beta).
    """
    n, p = len(next(iter(arrays.values()))), family.n_params
    if n < p + 1:
        raise FitError(
            f"found {n} usable run(s); the {family.name} family has {p} parameters and needs at "
            f"least {p + 1}. Include more runs or choose a family with fewer parameters."
        )
    warnings = []
    need = min_distinct(family)
    for name, arr in arrays.items():
        distinct = len(np.unique(arr))
        if distinct < need:
            raise FitError(
                f"the {n} runs have {distinct} distinct value(s) of `{name}`; the {family.name} "
                f"family needs at least {need} to fit a curve against it. Add runs of other sizes, "
                f"include excluded runs, or fit against another input."
            )
        if family.is_two_input and distinct < 3:
            warnings.append(f"only {distinct} distinct values of `{name}`: too few to separate alpha from beta reliably")
    return warnings


def prepare(runs, family, *, x=None, y=None, exclude: Sequence[str] = (), loss="huber", delta=1e-3) -> Problem:
    """Check a fit against the data; return the arrays it works on.

    ``family`` is a :class:`~scalecore.spec.FitSpec`, or a family with the spec's other fields as
    keyword arguments. Raises :class:`FitError` for arguments that are not valid (before the data
    is read), :class:`DataError` for data that cannot be used (a missing column, a non-positive
    metric where a log is taken) and :class:`FitError` for a fit that cannot be done (too few
    runs or distinct sizes).
    """
    spec = FitSpec.of(family, x=x, y=y, exclude=exclude, loss=loss, delta=delta)
    family, x, y, exclude, loss, delta = spec.model, spec.x, spec.y, spec.exclude, spec.loss, spec.delta
    y = y if y is not None else runs.default_metric
    if y not in runs.metrics:
        raise DataError(
            f"no metric column `{y}`; the data has: {', '.join(runs.metrics) or 'none'}"
        )
    warnings: list[str] = []

    if family.is_two_input:
        missing = [axis for axis in family.inputs if not runs.has(axis)]
        if missing:
            raise DataError(
                f"the {family.name} family needs model size N (params) and training tokens D; "
                f"the data has no {' or '.join(missing)} column. Map one in the column mapping, "
                f"or fit a one-input family against {', '.join(a for a in ONE_INPUT_AXES if runs.has(a)) or 'compute'}."
            )
    else:
        x = x if x is not None else default_x(runs, family)
        if not runs.has(x):
            have = [a for a in ONE_INPUT_AXES if runs.has(a)]
            raise DataError(
                f"the data has no `{x}` column to fit against; it has {', '.join(have) or 'none'}. "
                "Choose another x or map the column."
            )

    ids = np.asarray(runs.run_ids, dtype=object)
    known = set(ids.tolist())
    exclude = tuple(dict.fromkeys(str(e) for e in exclude))
    unknown = [e for e in exclude if e not in known]
    if unknown:
        warnings.append(f"ignored {len(unknown)} excluded run id(s) not in the data: {', '.join(unknown[:5])}")
    excluded = tuple(e for e in exclude if e in known)

    yv = runs.values(y)
    keep = ~np.isin(ids, np.array(excluded, dtype=object))
    missing_y = keep & ~np.isfinite(yv)
    dropped = tuple(ids[missing_y].tolist())
    if dropped:
        warnings.append(
            f"{len(dropped)} run(s) have no `{y}` value and were left out: {', '.join(dropped[:5])}"
            + (" ..." if len(dropped) > 5 else "")
        )
    keep &= np.isfinite(yv)

    if family.space == "log":
        bad = keep & (yv <= 0)
        if bad.any():
            rows = np.asarray(runs.source_rows)[bad]
            files = sorted(set(np.asarray(runs.source_files)[bad].tolist()))
            raise DataError(
                f"`{', '.join(files)}`, column `{y}`, {format_rows(rows)}: values must be positive "
                f"because the {family.name} family fits log({y}). Exclude those runs, or use the "
                "logistic family for a metric that can be zero."
            )

    input_names = family.inputs if family.is_two_input else (x,)
    arrays = {name: runs.values(name)[keep] for name in input_names}
    where = f"`{', '.join(sorted(set(np.asarray(runs.source_files)[keep].tolist())))}`: " if runs.sources else ""
    if keep.sum() > MAX_FIT_RUNS:
        raise FitError(
            f"{where}{int(keep.sum()):,} runs to fit; a fit takes at most {MAX_FIT_RUNS:,}. A table of runs has one "
            f"row per finished run: if these rows are steps of loss curves, keep the last row of each run."
        )
    try:
        warnings += check_size(family, arrays)
    except FitError as exc:
        raise FitError(f"{exc} Runs read from {where[:-2]}." if where else str(exc)) from None
    y_kept = yv[keep]
    if y_kept.size and np.ptp(y_kept) == 0:
        raise FitError(
            f"{where}all {y_kept.size} runs have the same `{y}` ({y_kept[0]:g}), so there is no trend to fit. "
            f"Check that `{y}` is the right metric column (choose another in the column mapping), "
            f"or that the runs really differ in size."
        )
    inputs = {"x": arrays[x]} if x else arrays
    groups = np.asarray(runs.frame["group"].astype(str).to_numpy()[keep], dtype=object)
    return Problem(
        family=family,
        x=x,
        y=y,
        inputs=inputs,
        y_values=yv[keep].astype(float),
        run_ids=ids[keep],
        groups=groups,
        excluded=excluded,
        dropped=dropped,
        loss=loss,
        delta=float(delta),
        warnings=tuple(warnings),
        spec=spec,
    )


# ------------------------------------------------------------------------------ the result


@dataclass(frozen=True, eq=False)
class FitResult:
    """The best fit of one family to one set of runs."""

    family: Family
    params: dict
    objective: float
    rmse: float
    rmse_log: float
    aic: float
    bic: float
    n_points: int
    n_excluded: int
    success: bool
    message: str
    at_bound: tuple[str, ...]
    warnings: tuple[str, ...]
    problem: Problem = field(repr=False)
    theta: np.ndarray = field(repr=False)
    residuals: np.ndarray = field(repr=False)
    optima: np.ndarray = field(repr=False)
    n_starts: int = 0

    @property
    def x(self) -> str | None:
        return self.problem.x

    @property
    def y(self) -> str:
        return self.problem.y

    @property
    def spec(self) -> FitSpec | None:
        """The :class:`~scalecore.spec.FitSpec` this fit was made from (None for a problem not
        prepared from runs, such as the downstream fit's step 2 against the loss)."""
        return self.problem.spec

    def bootstrap(self, n_resamples: int = 1000, *, seed: int | None = None, confidence_level: float = 0.95,
                  method: str = "cases"):
        """Bootstrap this fit: percentile intervals, standard errors and bands
        (:class:`~scalecore.bootstrap.BootstrapResult`).

        No refit: every resample starts from this fit's optimum and its other distinct optima.
        ``method``: ``"cases"`` resamples runs with replacement; ``"residuals"`` resamples the
        fit's residuals around the fitted curve; ``"groups"`` resamples whole groups (the
        ``group`` column). The same ``seed`` gives identical numbers; None draws fresh entropy.
        """
        from .bootstrap import bootstrap_problem

        return bootstrap_problem(self.problem, n_resamples=n_resamples, confidence_level=confidence_level, seed=seed,
                                 method=method, fit=self)

    def predict(self, x=None, *, params=None, tokens=None) -> np.ndarray:
        """Predicted metric: ``predict(x)`` for a one-input family, ``predict(params=N, tokens=D)``
        for a two-input one (arrays broadcast)."""
        return predict(self.family, self.theta, x, params=params, tokens=tokens)

    def to_dict(self) -> dict:
        """Plain types only (JSON-ready)."""
        return {
            "family": self.family.name,
            "x": self.x,
            "y": self.y,
            "n_points": self.n_points,
            "n_excluded": self.n_excluded,
            "excluded": list(self.problem.excluded),
            "dropped": list(self.problem.dropped),
            "params": dict(self.params),
            "objective": self.objective,
            "loss": self.problem.loss,
            "delta": self.problem.delta,
            "metrics": {"rmse_log": self.rmse_log, "rmse": self.rmse, "aic": self.aic, "bic": self.bic},
            "success": self.success,
            "message": self.message,
            "at_bound": list(self.at_bound),
            "warnings": list(self.warnings),
        }

    def __str__(self) -> str:
        from .formatting import fit_table

        return fit_table(self)

    def __repr__(self) -> str:
        return summary_text(self)

    def _repr_html_(self) -> str:
        return summary_html(self)


def predict(family, theta, x=None, *, params=None, tokens=None) -> np.ndarray:
    """The metric of ``family`` with natural parameters ``theta`` (p,) or (B, p)."""
    family = get_family(family)
    if family.is_two_input:
        if params is None or tokens is None:
            raise FitError(f"the {family.name} family predicts from both `params` and `tokens`")
        n, d = np.broadcast_arrays(np.asarray(params, float), np.asarray(tokens, float))
        out = family.predict(theta, {"params": n.ravel(), "tokens": d.ravel()})
        return out.reshape(out.shape[:-1] + n.shape)
    if x is None:
        raise FitError(f"the {family.name} family predicts from one input `x`")
    xs = np.asarray(x, float)
    out = family.predict(theta, {"x": xs.ravel()})
    return out.reshape(out.shape[:-1] + xs.shape)


# ------------------------------------------------------------------------------ fitting


def candidate_starts(problem: Problem, max_starts: int = 8) -> np.ndarray:
    """Up to ``max_starts`` diverse internal starting points, best objective first."""
    fam = problem.family
    guesses = np.asarray(fam.initial_guesses(problem.inputs, problem.y_values), dtype=float)
    guesses = guesses[np.all(np.isfinite(guesses), axis=1)]
    if len(guesses) == 0:
        raise FitError(f"could not find a starting point for the {fam.name} family on this data; "
                       f"try another family or check the data for outliers")
    lo, hi = fam.internal_bounds()
    z = np.clip(fam.to_internal(guesses), lo, hi)
    with np.errstate(all="ignore"):
        f, _ = fam.evaluate(z, problem.inputs, jac=False)
        obj = np.sum(rho(f - problem.target, problem.loss, problem.delta), axis=1)
    obj[~np.isfinite(obj)] = np.inf
    chosen: list[int] = []
    for i in np.argsort(obj, kind="stable"):
        if not np.isfinite(obj[i]):
            break
        if all(np.max(np.abs(z[i] - z[j])) > 0.1 for j in chosen):
            chosen.append(int(i))
        if len(chosen) == max_starts:
            break
    if not chosen:
        raise FitError(f"the {fam.name} family cannot be evaluated on this data (all starts overflow); "
                       f"check the units of the sizes, or try another family")
    return z[chosen]


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


def fit_problem(problem: Problem, max_starts: int = 8) -> FitResult:
    """Fit a prepared problem from several starts and keep the best optimum."""
    fam = problem.family
    starts = candidate_starts(problem, max_starts)
    sol = solve(fam, problem.inputs, problem.target, np.ones(problem.n), starts, loss=problem.loss, delta=problem.delta)
    if not np.any(np.isfinite(sol.objective)):
        raise FitError(f"the {fam.name} fit failed from every starting point; the data may not follow this law. "
                       f"Try another family, or exclude outliers")
    best = int(np.argmin(sol.objective))
    return _result(problem, sol.z[best], bool(sol.converged[best]), distinct_optima(sol.z, sol.objective), len(starts))


def _result(problem: Problem, z: np.ndarray, converged: bool, optima: np.ndarray, n_starts: int) -> FitResult:
    fam = problem.family
    theta = fam.to_natural(z)
    f, _ = fam.evaluate(z[None, :], problem.inputs, jac=False)
    resid = f[0] - problem.target
    objective = float(np.sum(rho(resid, problem.loss, problem.delta)))
    n, k = problem.n, fam.n_params
    rss = float(np.sum(resid**2))
    rmse = math.sqrt(rss / n)
    if fam.space == "log":  # the residuals are already log(y_hat) - log(y): no exp to overflow
        log_resid = resid
    else:
        with np.errstate(all="ignore"):
            log_resid = np.log(f[0]) - np.log(problem.y_values)
    rmse_log = float(np.sqrt(np.mean(log_resid**2))) if np.all(np.isfinite(log_resid)) else float("nan")
    # Gaussian information criteria of the residuals in the fitting space.
    ll_term = n * math.log(max(rss / n, 1e-300))
    aic = ll_term + 2 * k
    bic = ll_term + k * math.log(n)
    at_bound = _at_bound(fam, z)
    warnings = list(problem.warnings)
    for name in at_bound:
        warnings.append(f"`{name}` is at its bound ({_bound_text(fam, name, z)}); the data may not determine it")
    message = "converged" if converged else "stopped at the iteration limit before converging"
    if not converged:  # said next to the numbers, as a bootstrap says its resamples that did not converge
        warnings.append(f"the {fam.name} fit stopped at the iteration limit before converging: the parameters "
                        "may not be the best fit (the data barely determine some of them). Add runs over a wider "
                        "range, or choose a family with fewer parameters")
    return FitResult(
        family=fam,
        params=fam.params_dict(theta),
        objective=objective,
        rmse=rmse,
        rmse_log=rmse_log,
        aic=aic,
        bic=bic,
        n_points=n,
        n_excluded=len(problem.excluded),
        success=converged,
        message=message,
        at_bound=at_bound,
        warnings=tuple(warnings),
        problem=problem,
        theta=theta,
        residuals=resid,
        optima=optima,
        n_starts=n_starts,
    )


def _at_bound(fam: Family, z: np.ndarray) -> tuple[str, ...]:
    lo, hi = fam.internal_bounds()
    # the width of a declared finite range scales the tolerance; a coefficient's LOG_FLOOR/LOG_CEIL do not
    declared = np.array([b[1] - b[0] for b in fam.bounds], dtype=float)
    width = np.where(np.isfinite(declared), hi - lo, 1.0)
    tol = 1e-6 * np.maximum(width, 1.0)
    near = (z - lo <= tol) | (hi - z <= tol)
    return tuple(n for n, b in zip(fam.param_names, near) if b)


def _bound_text(fam: Family, name: str, z: np.ndarray) -> str:
    i = fam.param_names.index(name)
    lo, hi = fam.internal_bounds()
    if abs(z[i] - lo[i]) <= abs(z[i] - hi[i]):
        return f"{fam.bounds[i][0]:g}"  # a coefficient at LOG_FLOOR is reported as at its bound 0
    return f"{float(fam.to_natural(hi)[i]):g}"  # 1e+300 for a coefficient at LOG_CEIL


def fit(runs, family, x=None, y=None, exclude: Sequence[str] = (), loss: str = "huber", delta: float = 1e-3) -> FitResult:
    """Fit ``family`` to ``runs`` by minimising the summed Huber (or squared) residuals.

    ``fit(runs, FitSpec("chinchilla", exclude=("r7",)))`` and ``fit(runs, "chinchilla",
    exclude=("r7",))`` are the same fit. ``fit(...).bootstrap(1000, seed=0)`` adds intervals.

    Parameters
    ----------
    runs : Runs
        From :func:`scalecore.load_runs`.
    family : FitSpec, str or Family
        A :class:`~scalecore.spec.FitSpec` (then no other argument), or a name from
        :data:`scalecore.FAMILIES`.
    x : {"params", "tokens", "compute"}, optional
        What a one-input family is fitted against (default: compute, else params, else tokens).
    y : str, optional
        The metric column (default: the first metric of ``runs``).
    exclude : sequence of run ids
        Runs left out of the fit.
    loss : {"huber", "ls"}
        Huber loss with threshold ``delta`` (Hoffmann et al. 2022), or plain least squares.
    """
    return fit_problem(prepare(runs, family, x=x, y=y, exclude=exclude, loss=loss, delta=delta))


# ------------------------------------------------------------------------------ in a notebook


def _g(v) -> str:
    return f"{float(v):.4g}"


def summary_text(fit: FitResult, boot=None) -> str:
    """A few lines: the family, the data it saw, each parameter (with its interval from ``boot``)
    and the fit's quality. What ``repr`` shows in a notebook or a terminal."""
    against = "N, D" if fit.family.is_two_input else fit.x
    head = (f"{'BootstrapResult' if boot is not None else 'FitResult'}: {fit.family.name} fit of {fit.y} "
            f"against {against} ({fit.n_points} runs, {fit.n_excluded} excluded; {fit.problem.loss}"
            f"{f' delta={fit.problem.delta:g}' if fit.problem.loss == 'huber' else ''})")
    lines = [head]
    ci = boot.confidence_interval if boot is not None else None
    for name, value in fit.params.items():
        text = f"  {name:<10} {_g(value)}"
        if ci is not None:
            text += f"  [{_g(ci[name][0])}, {_g(ci[name][1])}]"
        lines.append(text)
    tail = f"  rmse(log) {_g(fit.rmse_log)}, AIC {fit.aic:.1f}, {fit.message}"
    if boot is not None:
        tail += f"; {boot.interval_label}"
    lines.append(tail)
    warnings = list(fit.warnings) + (list(boot.warnings) if boot is not None else [])
    if warnings:
        lines.append(f"  {len(warnings)} warning(s): {warnings[0][:100]}" + (" ..." if len(warnings) > 1 else ""))
    return "\n".join(lines)


def summary_html(fit: FitResult, boot=None) -> str:
    """:func:`summary_text` as a small HTML table (what a Jupyter notebook shows)."""
    import html

    e = html.escape
    ci = boot.confidence_interval if boot is not None else None
    level = f"{boot.confidence_level:.0%} " if boot is not None else ""
    head = "<tr><th>parameter</th><th>value</th>" + (f"<th>{level}low</th><th>{level}high</th>" if ci else "") + "</tr>"
    rows = []
    for name, value in fit.params.items():
        cells = f"<td>{e(name)}</td><td>{_g(value)}</td>"
        if ci is not None:
            cells += f"<td>{_g(ci[name][0])}</td><td>{_g(ci[name][1])}</td>"
        rows.append(f"<tr>{cells}</tr>")
    caption = e(summary_text(fit, boot).splitlines()[0])
    notes = [f"rmse(log) {_g(fit.rmse_log)}, AIC {fit.aic:.1f}, {fit.message}"]
    if boot is not None:
        notes.append(boot.interval_label)
    notes += list(fit.warnings) + (list(boot.warnings) if boot is not None else [])
    foot = "".join(f"<li>{e(n)}</li>" for n in notes)
    return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table><ul>{foot}</ul>"

"""The registry of fit families.

Each family is a frozen :class:`Family`: metadata (name, label, LaTeX formula, inputs, parameter
names, bounds) beside two plain functions:

``evaluate(z, inputs)``
    the model in the space where residuals are measured (``log y`` for loss-like families,
    ``y`` itself for the logistic family), together with its Jacobian, for a *batch* of internal
    parameter vectors ``z`` of shape ``(B, p)``. Inputs are 1-D arrays of length ``n``; it returns
    ``f`` of shape ``(B, n)`` and ``J`` of shape ``(p, B, n)``: one contiguous plane per
    parameter, so that the elementwise work on it runs as long flat loops. Everything in
    :mod:`fitting` and :mod:`bootstrap` is built on this one function, so adding a family is
    adding one entry here.

``initial_guesses(inputs, y)``
    candidate starting points (natural parameters, shape ``(S, p)``). Most families are linear in
    some coefficients once their exponents are fixed (``E, A, B`` in Chinchilla's law); for those the
    candidates come from a grid over the exponents with the coefficients solved exactly by
    non-negative least squares (variable projection, as in Open-Athena's ``vpnls``).

Internal parameters: a parameter listed in ``log_params`` is optimised as its natural logarithm
(``e = log E`` as in Hoffmann et al. 2022), the others as they are.

Hooks: what a family knows about its own maths beyond ``evaluate`` (a closed-form compute-optimal
allocation, its irreducible floor, ...) is an optional field of :class:`Family`, typed by one
``Protocol`` each below. Every hook has one generic numerical default in :mod:`scalecore.optimum`,
used when a family leaves it None, so a new family needs none of them to work; no code outside this
module asks a family its name to do maths. :func:`register_family` adds a family to
:data:`FAMILIES`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Protocol

import numpy as np

from .errors import FitError

#: Where the one-input families can take their x from.
ONE_INPUT_AXES = ("params", "tokens", "compute")

#: Lower bound used for the logarithm of a non-negative coefficient (``E >= 0`` becomes
#: ``log E >= LOG_FLOOR``): a coefficient this small is reported as "at its lower bound 0".
LOG_FLOOR = -50.0

#: Upper bound for the logarithm of a coefficient with no upper limit (``log N_c <= LOG_CEIL``, so
#: ``N_c <= 1e300``). Some directions are flat for the data: Kaplan's ``N_c`` with ``alpha_N`` at its
#: lower bound, a broken power law's break ``x_b`` far outside the data. Unbounded, the solver drifts
#: along them until ``exp`` overflows and the fit returns ``inf``; bounded, the fit stays finite and
#: says that the parameter is at its bound (the data do not determine it).
LOG_CEIL = float(np.log(1e300))

#: Name of the compute exponent of a law with a power-law frontier: L*(C) - floor ~ C^-gamma
#: (Chinchilla's law: gamma = alpha beta / (alpha + beta)).
COMPUTE_EXPONENT = "alpha*beta/(alpha+beta)"


# --------------------------------------------------------------------------------------------
# The hooks a family may provide. ``theta`` is always natural parameters; shapes as documented.
# Each has one generic numerical default in :mod:`scalecore.optimum`.


class OptimumHook(Protocol):
    """Compute-optimal allocation of a law in N and D along ``C = k N D``: ``theta`` (..., p) and
    ``compute`` broadcast together; returns arrays ``params``, ``tokens``, ``loss`` of the broadcast
    shape, and optionally the allocation exponents ``a`` (N* ~ C^a) and ``b`` (D* ~ C^b)."""

    def __call__(self, theta: np.ndarray, compute, k: float) -> dict[str, np.ndarray]: ...


class BudgetForHook(Protocol):
    """The compute ``C`` whose compute-optimal model size (``axis="params"``) or token count
    (``axis="tokens"``) is ``x``: ``theta`` (R, p), ``x`` (m,) -> (R, m)."""

    def __call__(self, theta: np.ndarray, axis: str, x: np.ndarray, k: float) -> np.ndarray: ...


class FloorHook(Protocol):
    """The irreducible value the law approaches with unlimited scale: ``theta`` (M, p) -> (M,)."""

    def __call__(self, theta: np.ndarray) -> np.ndarray: ...


class ParamsForLossHook(Protocol):
    """log of the smallest N that reaches ``loss`` (M,) with unlimited data, per row of ``theta``
    (M, p); +inf where no N can."""

    def __call__(self, theta: np.ndarray, loss: np.ndarray) -> np.ndarray: ...


class TokensForLossHook(Protocol):
    """log D such that ``L(N, D) = loss``, for ``log_n`` (M, m) and ``loss`` (M, 1) per row of
    ``theta`` (M, p); +inf where unreachable."""

    def __call__(self, theta: np.ndarray, log_n: np.ndarray, loss: np.ndarray) -> np.ndarray: ...


class ComputeForLossHook(Protocol):
    """The least training compute reaching ``loss`` (M,) per row of ``theta`` (M, p), with its N
    and D: ``compute`` (inf where unreachable), ``params`` (NaN there), ``tokens`` (inf there)."""

    def __call__(self, theta: np.ndarray, loss: np.ndarray, k: float) -> dict[str, np.ndarray]: ...


class ExponentsHook(Protocol):
    """The exponents a family reports and compares, by name: ``theta`` (..., p) -> arrays (...)."""

    def __call__(self, theta: np.ndarray) -> dict[str, np.ndarray]: ...


class UnseenHook(Protocol):
    """Why the runs cannot identify the fit ``theta`` (p,) of a one-input law: a feature of the law
    lies outside the inputs they span (``lo``, ``hi``: log10 of the smallest and largest x), so
    the parameters that shape it are extrapolated, not fitted. None when nothing is."""

    def __call__(self, theta: np.ndarray, lo: float, hi: float) -> str | None: ...


@dataclass(frozen=True)
class Family:
    """One scaling-law family: its maths as plain functions, its metadata beside them."""

    name: str
    label: str
    formula: str
    inputs: tuple[str, ...]
    param_names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    log_params: tuple[str, ...]
    space: str  # "log": residuals are log(y_hat) - log(y); "linear": y_hat - y
    evaluate: Callable = field(repr=False)
    initial_guesses: Callable = field(repr=False)
    description: str = ""
    metric_kind: str = "loss"  # "loss": falls with scale; "score": rises and saturates
    #: The model is linear in its internal parameters, so the summed Huber loss is convex: one
    #: optimum for every resample. Every other family can have shallow local optima where it
    #: misses the runs (README, "Known limits").
    convex: bool = False
    #: The parameters that are exponents (their differences are what a comparison reports).
    exponent_params: tuple[str, ...] = ()
    #: The two parameters that trade off against each other, shown first in a bootstrap scatter
    #: (empty: the first two).
    scatter_pair: tuple[str, ...] = ()
    #: The family as fitted to given metric values (``(family, y) -> Family``): the logistic law's
    #: floor and ceiling are held in [0, 1] for a metric whose values lie there (an accuracy).
    for_values: Callable | None = field(default=None, repr=False)
    # Hooks (see the Protocols above); None: the generic numerical default of scalecore.optimum.
    optimum: OptimumHook | None = field(default=None, repr=False)
    budget_for: BudgetForHook | None = field(default=None, repr=False)
    floor: FloorHook | None = field(default=None, repr=False)
    log_params_for_loss: ParamsForLossHook | None = field(default=None, repr=False)
    log_tokens_for_loss: TokensForLossHook | None = field(default=None, repr=False)
    compute_for_loss: ComputeForLossHook | None = field(default=None, repr=False)
    exponents: ExponentsHook | None = field(default=None, repr=False)
    unseen: UnseenHook | None = field(default=None, repr=False)
    #: Parameters held at a value, as ``((name, value), ...)``: set by :func:`fix_parameters` on
    #: the family it derives (they are then not among :attr:`param_names`).
    fixed: tuple = ()

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def for_metric(self, y) -> "Family":
        """This family as fitted to the metric values ``y`` (see :attr:`for_values`)."""
        return self if self.for_values is None else self.for_values(self, np.asarray(y, dtype=float))

    @property
    def shown_pair(self) -> tuple[str, str]:
        """:attr:`scatter_pair`, or the first two parameters where it names none."""
        pair = tuple(self.scatter_pair)
        return pair if len(pair) == 2 and all(p in self.param_names for p in pair) else tuple(self.param_names[:2])

    @property
    def is_two_input(self) -> bool:
        return self.inputs == ("params", "tokens")

    @property
    def _is_log(self) -> np.ndarray:
        return np.array([n in self.log_params for n in self.param_names])

    def to_internal(self, theta) -> np.ndarray:
        """Natural parameters (..., p) -> internal (log of the ``log_params``)."""
        theta = np.asarray(theta, dtype=float)
        with np.errstate(divide="ignore"):
            z = np.where(self._is_log, np.log(np.maximum(theta, 0.0)), theta)
        return np.where(self._is_log, np.maximum(z, LOG_FLOOR), z)

    def to_natural(self, z) -> np.ndarray:
        """Internal (..., p) -> natural parameters: ``exp`` of the ``log_params``, the others as they are.

        Only the log entries go through ``exp``: a linear parameter above 709 (a logistic's ``y0``
        for a metric in the thousands) would otherwise overflow in the branch ``np.where`` discards
        and leak a RuntimeWarning out of a fit that is fine."""
        z = np.asarray(z, dtype=float)
        is_log = self._is_log
        return np.where(is_log, np.exp(np.where(is_log, z, 0.0)), z)

    def internal_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([b[0] for b in self.bounds], dtype=float)
        hi = np.array([b[1] for b in self.bounds], dtype=float)
        is_log = self._is_log
        with np.errstate(divide="ignore"):
            lo = np.where(is_log, np.maximum(np.log(np.maximum(lo, 0.0)), LOG_FLOOR), lo)
            hi = np.where(is_log, np.minimum(np.log(hi), LOG_CEIL), hi)
        return lo, hi

    def params_dict(self, theta) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.param_names, np.asarray(theta, dtype=float))}

    def theta_from(self, params: Mapping[str, float]) -> np.ndarray:
        """Natural parameter vector from a ``{name: value}`` mapping (all names required)."""
        missing = [n for n in self.param_names if n not in params]
        if missing:
            raise FitError(
                f"the {self.name} family needs parameters {', '.join(self.param_names)}; "
                f"missing {', '.join(missing)}"
            )
        return np.array([float(params[n]) for n in self.param_names])

    def predict(self, theta, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The metric predicted by natural parameters ``theta`` (p,) or (B, p) at ``inputs``.

        ``inputs`` maps each name in :attr:`inputs` to an array; returns shape (n,) or (B, n).
        """
        theta = np.asarray(theta, dtype=float)
        batch = theta.reshape(-1, self.n_params)
        arrays = {k: np.atleast_1d(np.asarray(inputs[k], dtype=float)) for k in self.inputs}
        f, _ = self.evaluate(self.to_internal(batch), arrays, jac=False)
        y = np.exp(f) if self.space == "log" else f
        return y[0] if theta.ndim == 1 else y


# --------------------------------------------------------------------------------------------
# Model functions. Each takes internal parameters z (B, p) and a dict of input arrays, (n,) shared
# by the batch or (B, n) one row per problem, and returns (f, J): f (B, n) in the family's
# residual space, J = df/dz as (p, B, n) planes, or None when ``jac`` is false.


def _columns(z):
    """The parameters of a batch as p contiguous (B, 1) columns (slices of z are strided, and
    every operation that broadcasts them against the inputs is slower for it)."""
    return tuple(np.ascontiguousarray(z.T)[:, :, None])


def _planes(*columns):
    """A Jacobian (p, B, n) from its per-parameter columns, each broadcast to (B, n)."""
    return np.stack(np.broadcast_arrays(*columns))


def _log_input(x, base=np.e):
    """log of an input array as a row (1, n), or per problem (B, n) if given two-dimensional."""
    x = np.asarray(x, dtype=float)
    out = np.log(x) if base == np.e else np.log10(x)
    return out if out.ndim == 2 else out[None, :]


def _logaddexp_weights(a, b, out=None):
    """f = log(exp(a) + exp(b)) and its weights df/da, df/db (all (B, n)), with one exp per point.

    f = max(a, b) + log1p(e) with e = exp(-|a - b|) <= 1, so nothing overflows; the larger term's
    weight is 1/(1 + e), the smaller's e/(1 + e). ``out``: two (B, n) arrays for the weights.
    """
    diff = a - b
    a_larger = diff >= 0
    e = np.abs(diff, out=diff)  # in place: these are the hot arrays of every bootstrap
    np.negative(e, out=e)
    np.exp(e, out=e)
    f = np.maximum(a, b)
    f += np.log1p(e)
    larger = e + 1.0
    np.divide(1.0, larger, out=larger)
    wa = np.multiply(e, larger, out=None if out is None else out[0])
    np.copyto(wa, larger, where=a_larger)
    return f, wa, np.subtract(1.0, wa, out=None if out is None else out[1])


def expit(x) -> np.ndarray:
    """The logistic sigmoid 1 / (1 + exp(-x)), as ``scipy.special.expit`` (to an ulp or two), for
    any x without overflow: one exp of -|x|. Here so that the app's first run does not import
    scipy.special (0.25 s) for this one function."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _power_law(z, X, jac=True):
    a, alpha = _columns(z)
    lx = _log_input(X["x"])
    f = a - alpha * lx
    if not jac:
        return f, None
    return f, _planes(np.ones_like(f), -lx)


def _offset_power_law(z, X, jac=True):
    e, a, alpha = _columns(z)
    lx = _log_input(X["x"])
    if not jac:
        return _logaddexp_weights(e, a - alpha * lx)[0], None
    J = np.empty((3, z.shape[0], lx.shape[1]))
    f, _, wp = _logaddexp_weights(e, a - alpha * lx, out=(J[0], J[1]))
    np.multiply(wp, -lx, out=J[2])
    return f, J


def _broken_power_law(z, X, jac=True):
    # y = E + A x^-alpha (1 + (x/x_b)^(1/f))^(-c f)  (Caballero et al. 2022, one break)
    e, a, alpha, c, lxb, lf = _columns(z)
    lx = _log_input(X["x"])
    sharp = np.exp(lf)
    t = (lx - lxb) / sharp
    soft = np.logaddexp(0.0, t)
    lp = a - alpha * lx - c * sharp * soft
    f, we, wp = _logaddexp_weights(e, lp)
    if not jac:
        return f, None
    sig = expit(t)
    return f, _planes(we, wp, -lx * wp, -sharp * soft * wp, c * sig * wp, -c * sharp * (soft - sig * t) * wp)


def _chinchilla(z, X, jac=True):
    # The hot path of every chinchilla bootstrap: shifted by the row's largest log-coefficient,
    # every term is exp(<= 0) for N, D >= 1, so nothing overflows and two exps per point suffice.
    e, a, b, alpha, beta = _columns(z)
    ln = _log_input(X["params"])
    ld = _log_input(X["tokens"])
    m = np.maximum(np.maximum(e, a), b)
    t0 = np.exp(e - m)
    t1 = np.exp((a - m) - alpha * ln)
    t2 = np.exp((b - m) - beta * ld)
    total = t1 + t2
    total += t0
    f = np.log(total)
    f += m
    if not jac:
        return f, None
    J = np.empty((5,) + f.shape)
    inv = 1.0 / total
    np.multiply(t0, inv, out=J[0])
    np.multiply(t1, inv, out=J[1])
    np.multiply(t2, inv, out=J[2])
    np.multiply(J[1], -ln, out=J[3])
    np.multiply(J[2], -ld, out=J[4])
    return f, J


def _kaplan(z, X, jac=True):
    # L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D, so log L = alpha_D * logaddexp(lu, lv)
    lnc, ldc, alpha_n, alpha_d = _columns(z)
    ln = _log_input(X["params"])
    ld = _log_input(X["tokens"])
    gap_n = lnc - ln
    lu = (alpha_n / alpha_d) * gap_n
    s, wu, wv = _logaddexp_weights(lu, ldc - ld)
    f = alpha_d * s
    if not jac:
        return f, None
    J = np.empty((4,) + f.shape)
    np.multiply(alpha_n, wu, out=J[0])
    np.multiply(alpha_d, wv, out=J[1])
    np.multiply(wu, gap_n, out=J[2])
    np.multiply(wu, lu, out=J[3])
    np.subtract(s, J[3], out=J[3])
    return f, J


def _logistic(z, X, jac=True):
    # y = y0 + (y1 - y0) * sigmoid(slope * (log10 x - log10_mid)), slope >= 0: y0 is the value at
    # small scale, y1 at large scale (y1 < y0 for a falling metric). With a free sign of the slope
    # (y0, y1, k) and (y1, y0, -k) would be the same curve.
    lo, hi, k, mid = _columns(z)
    t = _log_input(X["x"], base=10)
    s = expit(k * (t - mid))
    f = lo + (hi - lo) * s
    if not jac:
        return f, None
    ds = (hi - lo) * s * (1.0 - s)
    return f, _planes(1.0 - s, s, ds * (t - mid), -ds * k)


# --------------------------------------------------------------------------------------------
# Starting values by variable projection: a grid over the nonlinear parameters, the linear
# coefficients solved exactly for each grid point.


def nnls_small(G: np.ndarray, t: np.ndarray, nonneg: bool = True) -> np.ndarray:
    """For each of P problems, argmin_c ||G_p c - t_p|| (subject to c >= 0 if ``nonneg``), exactly.

    ``G`` is (P, n, k) with few columns (k <= 3 here), ``t`` (P, n). The non-negative optimum is the
    unconstrained least-squares solution on its own support, so trying every support (2^k - 1 of
    them) and keeping the best whose coefficients are all non-negative finds it -- the residual
    matches scipy.optimize.nnls to 1e-15 -- batched over all problems at once, and without the
    0.7 s import of scipy.optimize on the app's first run.
    """
    P, n, k = G.shape
    best = np.zeros((P, k))
    best_rss = np.einsum("pn,pn->p", t, t)  # the empty support, c = 0
    supports = range(1, 2**k) if nonneg else [2**k - 1]
    for support in supports:
        cols = [j for j in range(k) if support >> j & 1]
        sub = G[:, :, cols]
        Q, R = np.linalg.qr(sub)
        qt = np.einsum("pns,pn->ps", Q, t)
        diag = np.abs(np.diagonal(R, axis1=1, axis2=2))
        full_rank = np.all(diag > 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300), axis=1)
        R = np.where(full_rank[:, None, None], R, np.eye(len(cols)))  # rank-deficient: least squares below
        c = np.linalg.solve(R, qt[..., None])[..., 0]
        for i in np.flatnonzero(~full_rank):
            c[i] = np.linalg.lstsq(sub[i], t[i], rcond=None)[0]
        r = t - np.einsum("pns,ps->pn", sub, c)
        rss = np.einsum("pn,pn->p", r, r)
        take = (rss < best_rss) & np.all(c >= 0, axis=1) if nonneg else np.ones(P, dtype=bool)
        best[np.ix_(take, cols)] = c[take]
        best[np.ix_(take, [j for j in range(k) if j not in cols])] = 0.0
        best_rss = np.where(take, rss, best_rss)
    return best


def _linear_coefficients(grid, basis, target, weight, nonneg=True) -> np.ndarray:
    """For each row ``nl`` of ``grid``: argmin_c ||sqrt(w) (basis(nl) @ c - target)||, c >= 0.

    Columns are scaled to unit norm before solving so that exponents far from 0 (N^-2 ~ 1e-18)
    do not ruin the conditioning; rows where the basis is not finite give NaN.
    """
    sw = np.sqrt(weight)
    G = np.stack([basis(nl) * sw[:, None] for nl in grid])
    return _scaled_nnls(G, np.broadcast_to(target * sw, G.shape[:2]), nonneg)


def _scaled_nnls(G: np.ndarray, t: np.ndarray, nonneg: bool = True) -> np.ndarray:
    """:func:`nnls_small` of (P, n, k) ``G`` against (P, n) ``t`` with the columns of each problem
    scaled to unit norm first (and the coefficients scaled back); problems with a non-finite ``G``
    give NaN."""
    finite = np.all(np.isfinite(G), axis=(1, 2))
    out = np.full((len(G), G.shape[2]), np.nan)
    if finite.any():
        norms = np.linalg.norm(G[finite], axis=1)
        norms[norms == 0] = 1.0
        out[finite] = nnls_small(G[finite] / norms[:, None, :], t[finite], nonneg) / norms
    return out


def _grid(*axes) -> np.ndarray:
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1)


def _guess_power_law(X, y):
    """A straight line fitted to log y against log x."""
    lx = np.log(X["x"])
    slope, intercept = np.polyfit(lx, np.log(y), 1)
    return np.array([[np.exp(intercept), -slope]])


def _guess_offset_power_law(X, y):
    """40 exponents alpha from 0.005 to 3 (log-spaced); E and A solved by non-negative least squares at each (variable projection)."""
    x = X["x"]
    alphas = np.geomspace(0.005, 3.0, 40)
    coef = _linear_coefficients(
        alphas[:, None], lambda nl: np.stack([np.ones_like(x), x ** -nl[0]], axis=1), y, 1 / y**2
    )
    return np.column_stack([coef, alphas])


def _guess_broken_power_law(X, y):
    """A grid of 8 exponents x 7 changes c x 5 breaks (quantiles of x) x 2 sharpnesses; E and A solved by non-negative least squares at each (variable projection)."""
    x = X["x"]
    lx = np.log(x)
    breaks = np.exp(np.quantile(lx, [0.2, 0.35, 0.5, 0.65, 0.8]))
    grid = _grid(np.geomspace(0.01, 2.0, 8), np.linspace(-1.5, 1.5, 7), breaks, [0.3, 1.0])

    def basis(nl):
        alpha, c, xb, sharp = nl
        soft = np.logaddexp(0.0, (lx - np.log(xb)) / sharp)
        return np.stack([np.ones_like(x), np.exp(-alpha * lx - c * sharp * soft)], axis=1)

    coef = _linear_coefficients(grid, basis, y, 1 / y**2)
    return np.column_stack([coef, grid])


def _guess_chinchilla(X, y):
    """A 16 x 16 grid of alpha and beta from 0.02 to 2.5 (log-spaced); E, A and B solved by non-negative least squares at each (variable projection, as Open-Athena's vpnls)."""
    n, d = X["params"], X["tokens"]
    grid = _grid(np.geomspace(0.02, 2.5, 16), np.geomspace(0.02, 2.5, 16))
    coef = _linear_coefficients(
        grid, lambda nl: np.stack([np.ones_like(n), n ** -nl[0], d ** -nl[1]], axis=1), y, 1 / y**2
    )
    return np.column_stack([coef, grid])


def _guess_kaplan(X, y):
    """A 12 x 12 grid of alpha_D (0.02 to 1) and alpha_N/alpha_D (0.1 to 5); N_c and D_c solved by non-negative least squares at each (variable projection)."""
    # With alpha_D and p = alpha_N/alpha_D fixed: y^(1/alpha_D) = N_c^p N^-p + D_c D^-1 is linear;
    # weighted by 1/y^(1/alpha_D), so the target is 1. All (alpha_D, p) pairs in one batch.
    n, d = X["params"], X["tokens"]
    ly = np.log(y)
    alpha_d = np.geomspace(0.02, 1.0, 12)
    alpha_d = alpha_d[np.max(ly) / alpha_d <= 600]  # else y^(1/alpha_D) would overflow
    pairs = _grid(alpha_d, np.geomspace(0.1, 5.0, 12))
    rows = np.empty((0, 4))
    if len(pairs):
        ad, p = pairs[:, :1], pairs[:, 1:]
        sw = np.exp(-ly[None, :] / ad)  # sqrt of the weight 1/target^2
        with np.errstate(over="ignore"):
            G = np.stack([n[None, :] ** -p * sw, sw / d[None, :]], axis=2)
        cn, cd = _scaled_nnls(G, np.ones(G.shape[:2])).T
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(cn) & (cn > 0) & (cd > 0)
        ad, p = ad[ok, 0], p[ok, 0]
        rows = np.column_stack([cn[ok] ** (1.0 / p), cd[ok], p * ad, ad])
    if not len(rows):
        rows = np.array([[8.8e13, 5.4e13, 0.076, 0.095]])  # Kaplan et al. 2020's values
    return rows


def _guess_logistic(X, y):
    """A grid of 8 slopes x 7 midpoints (quantiles of log10 x); y0 and y1 solved by least squares at each (variable projection)."""
    t = np.log10(X["x"])
    slopes = np.geomspace(0.5, 20.0, 8)
    grid = _grid(slopes, np.quantile(t, [0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9]))

    def basis(nl):
        s = expit(nl[0] * (t - nl[1]))
        return np.stack([1.0 - s, s], axis=1)

    coef = _linear_coefficients(grid, basis, y, np.ones_like(y), nonneg=False)
    return np.column_stack([coef, grid])


# --------------------------------------------------------------------------------------------
# Closed forms the families know about themselves (the hooks). Moved here from budget.py and
# ui/analysis.py unchanged, so every number stays the same.


def chinchilla_exponents(theta) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal exponents a = beta/(alpha+beta), b = alpha/(alpha+beta) (N* ~ C^a, D* ~ C^b)."""
    theta = np.asarray(theta, float)
    alpha, beta = theta[..., 3], theta[..., 4]
    return beta / (alpha + beta), alpha / (alpha + beta)


def chinchilla_optimum(theta, compute, k: float = 6.0) -> dict:
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


def _chinchilla_budget_for(theta, axis: str, x, k: float = 6.0) -> np.ndarray:
    """N* = G (C/k)^a and D* = (C/k)^b / G inverted: the budget whose optimum has N (or D) = x."""
    theta = np.atleast_2d(np.asarray(theta, float))
    x = np.asarray(x, float)
    _, A, B, alpha, beta = (theta[:, i : i + 1] for i in range(5))
    a, b = chinchilla_exponents(theta)
    a, b = a[:, None], b[:, None]
    with np.errstate(all="ignore"):
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        return k * (x / G) ** (1.0 / a) if axis == "params" else k * (x * G) ** (1.0 / b)


def _chinchilla_frontier(thetas: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L*(C) = E + K (C/k)^-gamma for Chinchilla's law: (E, K, gamma) per row.

    With N* = G c^a, D* = c^b / G: A N*^-alpha = A G^-alpha c^-gamma and B D*^-beta = B G^beta c^-gamma,
    gamma = alpha beta / (alpha + beta).
    """
    E, A, B, alpha, beta = (thetas[:, i] for i in range(5))
    with np.errstate(all="ignore"):
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        K = A * G**-alpha + B * G**beta
    return E, K, alpha * beta / (alpha + beta)


def _chinchilla_compute_for_loss(thetas, loss, k: float = 6.0) -> dict:
    """L*(C) = E + K (C/k)^-gamma inverted: the least compute reaching ``loss``, and its N*, D*."""
    thetas = np.atleast_2d(np.asarray(thetas, float))
    loss = np.broadcast_to(np.asarray(loss, float), (len(thetas),))
    E, K, gamma = _chinchilla_frontier(thetas, k)
    with np.errstate(all="ignore"):
        gap = loss - E
        compute = np.where(gap > 0, k * (np.where(gap > 0, gap, 1.0) / K) ** (-1.0 / gamma), np.inf)
        opt = chinchilla_optimum(thetas, compute, k)
    return {"compute": compute, "params": np.where(gap > 0, opt["params"], np.nan),
            "tokens": np.where(gap > 0, opt["tokens"], np.inf)}


def _chinchilla_log_params_for_loss(thetas, loss) -> np.ndarray:
    """L = E + A N^-alpha with unlimited data: log N = (log A - log(L - E)) / alpha."""
    with np.errstate(all="ignore"):
        E, A, alpha = thetas[:, 0], thetas[:, 1], thetas[:, 3]
        gap = loss - E
        return np.where(gap > 0, (np.log(A) - np.log(np.where(gap > 0, gap, 1.0))) / alpha, np.inf)


def _chinchilla_log_tokens_for_loss(thetas, log_n, loss) -> np.ndarray:
    with np.errstate(all="ignore"):
        E, A, B, alpha, beta = (thetas[:, i : i + 1] for i in range(5))
        rem = loss - E - A * np.exp(-alpha * log_n)
        return np.where(rem > 0, (np.log(B) - np.log(np.where(rem > 0, rem, 1.0))) / beta, np.inf)


def _chinchilla_exponent_values(theta) -> dict[str, np.ndarray]:
    theta = np.asarray(theta, float)
    al, be = theta[..., 3], theta[..., 4]
    with np.errstate(all="ignore"):
        return {"alpha": al, "beta": be, COMPUTE_EXPONENT: al * be / (al + be)}


def kaplan_optimum(theta, compute, k: float = 6.0) -> dict:
    """Closed-form compute-optimal allocation of Kaplan et al.'s L(N, D) (eq. 1.5).

    Along ``D = C/(k N)`` the loss is ``[(N_c/N)^p + D_c k N / C]^alpha_D`` with
    ``p = alpha_N/alpha_D``; the outer power is increasing, so the optimum minimises the bracket:
    ``N* = (p N_c^p C / (k D_c))^(1/(p+1))``. ``theta`` is (4,) or (..., 4) in the kaplan order
    (N_c, D_c, alpha_N, alpha_D); ``compute`` broadcasts against the batch.
    """
    theta = np.asarray(theta, float)
    n_c, d_c, alpha_n, alpha_d = (theta[..., i] for i in range(4))
    c = np.asarray(compute, float)
    with np.errstate(all="ignore"):
        p = alpha_n / alpha_d
        log_n = (np.log(p) + p * np.log(n_c) + np.log(c) - np.log(k * d_c)) / (p + 1.0)
        n_opt = np.exp(log_n)
        d_opt = c / (k * n_opt)
        loss = ((n_c / n_opt) ** p + d_c / d_opt) ** alpha_d
    return {"params": n_opt, "tokens": d_opt, "loss": loss}


def _kaplan_budget_for(theta, axis: str, x, k: float = 6.0) -> np.ndarray:
    """:func:`kaplan_optimum` inverted. With ``u = log p + p log N_c - log(k D_c)``:
    ``(p+1) log N* = u + log C`` and ``(p+1) (log D* + log k) = p log C - u``."""
    theta = np.atleast_2d(np.asarray(theta, float))
    lx = np.log(np.asarray(x, float))
    n_c, d_c, alpha_n, alpha_d = (theta[:, i : i + 1] for i in range(4))
    with np.errstate(all="ignore"):
        p = alpha_n / alpha_d
        u = np.log(p) + p * np.log(n_c) - np.log(k * d_c)
        if axis == "params":
            return np.exp((p + 1.0) * lx - u)
        return np.exp(((p + 1.0) * (lx + math.log(k)) + u) / p)


def _kaplan_log_params_for_loss(thetas, loss) -> np.ndarray:
    """L = (N_c/N)^alpha_N with unlimited data: log N = log N_c - log L / alpha_N."""
    with np.errstate(all="ignore"):
        nc, alpha_n = thetas[:, 0], thetas[:, 2]
        return np.where(loss > 0, np.log(nc) - np.log(np.where(loss > 0, loss, 1.0)) / alpha_n, np.inf)


def _kaplan_log_tokens_for_loss(thetas, log_n, loss) -> np.ndarray:
    with np.errstate(all="ignore"):
        nc, dc, alpha_n, alpha_d = (thetas[:, i : i + 1] for i in range(4))
        rem = loss ** (1.0 / alpha_d) - np.exp((alpha_n / alpha_d) * (np.log(nc) - log_n))
        return np.where(rem > 0, np.log(dc) - np.log(np.where(rem > 0, rem, 1.0)), np.inf)


def _floor_e(thetas) -> np.ndarray:
    """The irreducible term E (the first parameter of the families that have one)."""
    return np.asarray(thetas, float)[..., 0]


INF = np.inf

POWER_LAW = Family(
    name="power_law",
    label="Power law",
    formula=r"y = A\,x^{-\alpha}",
    inputs=("x",),
    param_names=("A", "alpha"),
    bounds=((0.0, INF), (-5.0, 5.0)),
    log_params=("A",),
    space="log",
    evaluate=_power_law,
    initial_guesses=_guess_power_law,
    description="A straight line on a log-log plot; no floor.",
    convex=True,
    exponent_params=("alpha",),
    scatter_pair=("alpha", "A"),
)

OFFSET_POWER_LAW = Family(
    name="offset_power_law",
    label="Saturating power law",
    formula=r"y = E + A\,x^{-\alpha}",
    inputs=("x",),
    param_names=("E", "A", "alpha"),
    bounds=((0.0, INF), (0.0, INF), (0.0, 5.0)),
    log_params=("E", "A"),
    space="log",
    evaluate=_offset_power_law,
    initial_guesses=_guess_offset_power_law,
    description="A power law that saturates at an irreducible value E.",
    exponent_params=("alpha",),
    scatter_pair=("alpha", "E"),
    floor=_floor_e,
)

def _outside(what: str, pos: float, lo: float, hi: float, below: str, beyond: str) -> str | None:
    if lo <= pos <= hi:
        return None
    where, shown = ("below the smallest run", below) if pos < lo else ("beyond the largest run", beyond)
    edge = lo if pos < lo else hi
    return f"{what} (x ≈ 10^{pos:.1f}) lies {where} (10^{edge:.1f}): {shown}"


def _logistic_unseen(theta, lo: float, hi: float) -> str | None:
    """The sigmoid's midpoint outside the runs: they show one tail, and the plateau on the other
    side is extrapolated (Gadre et al.'s losses: midpoint 10^14.3 below runs from 10^15.5, y0 = 12.5
    above every loss; a tenth of the resamples then have no finite optimum)."""
    y0, y1, _, mid = (float(v) for v in np.asarray(theta, float)[:4])
    return _outside("the sigmoid's midpoint", mid, lo, hi,
                    f"the runs show only its upper part, so the plateau at small scale (y0 = {y0:.3g}) is not seen",
                    f"the runs show only its lower part, so the plateau at large scale (y1 = {y1:.3g}) is not seen")


def _broken_unseen(theta, lo: float, hi: float) -> str | None:
    """A break outside the runs: they show one power law, and the other is extrapolated."""
    x_b = float(np.asarray(theta, float)[4])
    return _outside("the break", math.log10(x_b) if x_b > 0 else -math.inf, lo, hi,
                    "the runs show only the power law after it", "the runs show only the power law before it")


BROKEN_POWER_LAW = Family(
    name="broken_power_law",
    label="Broken power law",
    formula=r"y = E + A\,x^{-\alpha}\left(1 + (x/x_b)^{1/f}\right)^{-c\,f}",
    inputs=("x",),
    param_names=("E", "A", "alpha", "c", "x_b", "f"),
    bounds=((0.0, INF), (0.0, INF), (0.0, 5.0), (-5.0, 5.0), (0.0, INF), (0.01, 10.0)),
    log_params=("E", "A", "x_b", "f"),
    space="log",
    evaluate=_broken_power_law,
    initial_guesses=_guess_broken_power_law,
    description=(
        "A smoothly broken power law with one break (Caballero et al. 2022): the exponent "
        "changes from alpha to alpha + c around x_b, with sharpness f."
    ),
    exponent_params=("alpha", "c"),
    scatter_pair=("alpha", "c"),
    floor=_floor_e,
    unseen=_broken_unseen,
)

CHINCHILLA = Family(
    name="chinchilla",
    label="Chinchilla",
    formula=r"L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}",
    inputs=("params", "tokens"),
    param_names=("E", "A", "B", "alpha", "beta"),
    bounds=((0.0, INF), (0.0, INF), (0.0, INF), (0.0, 3.0), (0.0, 3.0)),
    log_params=("E", "A", "B"),
    space="log",
    evaluate=_chinchilla,
    initial_guesses=_guess_chinchilla,
    description="Hoffmann et al. 2022, Approach 3: loss from model size N and tokens D.",
    exponent_params=("alpha", "beta"),
    scatter_pair=("alpha", "beta"),
    optimum=chinchilla_optimum,
    budget_for=_chinchilla_budget_for,
    floor=_floor_e,
    log_params_for_loss=_chinchilla_log_params_for_loss,
    log_tokens_for_loss=_chinchilla_log_tokens_for_loss,
    compute_for_loss=_chinchilla_compute_for_loss,
    exponents=_chinchilla_exponent_values,
)

KAPLAN = Family(
    name="kaplan",
    label="Kaplan",
    formula=r"L(N, D) = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D} + \frac{D_c}{D}\right]^{\alpha_D}",
    inputs=("params", "tokens"),
    param_names=("N_c", "D_c", "alpha_N", "alpha_D"),
    bounds=((0.0, INF), (0.0, INF), (1e-3, 3.0), (1e-3, 3.0)),
    log_params=("N_c", "D_c"),
    space="log",
    evaluate=_kaplan,
    initial_guesses=_guess_kaplan,
    description="Kaplan et al. 2020, eq. 1.5: loss from N and D with no irreducible term.",
    exponent_params=("alpha_N", "alpha_D"),
    scatter_pair=("alpha_N", "alpha_D"),
    optimum=kaplan_optimum,
    budget_for=_kaplan_budget_for,
    log_params_for_loss=_kaplan_log_params_for_loss,
    log_tokens_for_loss=_kaplan_log_tokens_for_loss,
)

def _logistic_for_values(fam: Family, y: np.ndarray) -> Family:
    """An accuracy (every value in [0, 1]) cannot have a floor below 0 or a ceiling above 1: fitted
    without those bounds, Ruan et al.'s MMLU against compute put the floor at -1.7, and 40% of the
    bootstrap resamples of 15 Pythia models ran off along it."""
    y = y[np.isfinite(y)]
    if y.size and np.all((y >= 0.0) & (y <= 1.0)):
        return replace(fam, bounds=((0.0, 1.0), (0.0, 1.0)) + tuple(fam.bounds[2:]))
    return fam


LOGISTIC = Family(
    name="logistic",
    label="Logistic (accuracy)",
    formula=r"y = y_0 + (y_1 - y_0)\,\sigma\!\left(k\,(\log_{10} x - m)\right)",
    inputs=("x",),
    param_names=("y0", "y1", "slope", "log10_mid"),
    bounds=((-INF, INF), (-INF, INF), (0.0, 100.0), (-INF, INF)),
    log_params=(),
    space="linear",
    evaluate=_logistic,
    initial_guesses=_guess_logistic,
    description=(
        "For a metric that rises (or falls) and saturates, such as downstream accuracy: a sigmoid "
        "in log10 x from y0 at small scale to y1 at large scale (y1 < y0 for a falling metric). "
        "Residuals are measured on the metric itself."
    ),
    metric_kind="score",
    exponent_params=("slope",),
    scatter_pair=("log10_mid", "slope"),
    for_values=_logistic_for_values,
    unseen=_logistic_unseen,
)

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (POWER_LAW, OFFSET_POWER_LAW, BROKEN_POWER_LAW, CHINCHILLA, KAPLAN, LOGISTIC)
}


def register_family(family: Family) -> Family:
    """Add ``family`` to :data:`FAMILIES` (so that every page, the CLI and the report offer it).

    Checks what the solver relies on -- a new name, parameter names and bounds of one length,
    ``log_params`` among the parameters, ``inputs`` either ``("params", "tokens")`` or ``("x",)``,
    ``space`` ``"log"`` or ``"linear"``, callable ``evaluate`` and ``initial_guesses`` and hooks --
    and raises FitError naming the first problem. Returns the family.
    """
    if not isinstance(family, Family):
        raise FitError(f"register_family needs a Family; got {type(family).__name__}")
    if not family.name or not isinstance(family.name, str):
        raise FitError("a family needs a non-empty name")
    if family.name in FAMILIES:
        raise FitError(f"a family called `{family.name}` is already registered")
    if len(family.param_names) != len(family.bounds) or not family.param_names:
        raise FitError(f"`{family.name}`: {len(family.param_names)} parameter names but {len(family.bounds)} bounds")
    if len(set(family.param_names)) != len(family.param_names):
        raise FitError(f"`{family.name}`: repeated parameter names {family.param_names}")
    for lo, hi in family.bounds:
        if not lo < hi:
            raise FitError(f"`{family.name}`: a lower bound {lo!r} is not below its upper bound {hi!r}")
    unknown = [n for n in (*family.log_params, *family.exponent_params) if n not in family.param_names]
    if unknown:
        raise FitError(f"`{family.name}`: {', '.join(unknown)} not among its parameters {family.param_names}")
    if family.inputs not in (("params", "tokens"), ("x",)):
        raise FitError(f"`{family.name}`: inputs must be ('params', 'tokens') or ('x',); got {family.inputs}")
    if family.space not in ("log", "linear"):
        raise FitError(f"`{family.name}`: space must be 'log' or 'linear'; got {family.space!r}")
    if family.metric_kind not in ("loss", "score"):
        raise FitError(f"`{family.name}`: metric_kind must be 'loss' or 'score'; got {family.metric_kind!r}")
    for hook in ("evaluate", "initial_guesses"):
        if not callable(getattr(family, hook)):
            raise FitError(f"`{family.name}`: {hook} must be callable")
    for hook in HOOKS:
        value = getattr(family, hook)
        if value is not None and not callable(value):
            raise FitError(f"`{family.name}`: the {hook} hook must be callable or None")
    FAMILIES[family.name] = family
    return family


#: The optional hooks of a family (fields of :class:`Family`), each with a default in scalecore.optimum.
HOOKS = ("optimum", "budget_for", "floor", "log_params_for_loss", "log_tokens_for_loss", "compute_for_loss",
         "exponents")


def get_family(name) -> Family:
    """The family called ``name`` (a :class:`Family` passes through); FitError lists valid names."""
    if isinstance(name, Family):
        return name
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise FitError(
            f"unknown family `{name}`; choose one of: {', '.join(FAMILIES)}"
        ) from None


def fix_parameters(family, values: Mapping[str, float]) -> Family:
    """``family`` with the parameters in ``values`` held at those values (``{"E": 1.69}``): a
    derived :class:`Family` whose free parameters are the others.

    The one way a fit holds a parameter (``FitSpec(..., fixed={"E": 1.69})``): the derived family's
    ``evaluate`` puts the held values back in before calling the original one and drops their
    Jacobian planes, and every hook gets the full parameter vector back, so the solver, the
    bootstrap, the frontier and the identifiability check work on it unchanged; its starting points
    are the original family's with the held columns dropped. ``fixed`` records the held values.
    The same arguments give the same object (cached), so equal specs give equal fits.
    """
    fam = get_family(family)
    items = tuple(sorted((str(k), float(v)) for k, v in dict(values).items()))
    return _fixed_family(fam, items) if items else fam


@functools.lru_cache(maxsize=64)
def _fixed_family(fam: Family, items: tuple) -> Family:
    names = dict(items)
    unknown = [n for n in names if n not in fam.param_names]
    if unknown:
        raise FitError(f"cannot hold {', '.join(unknown)} fixed: the {fam.name} family's parameters are "
                       f"{', '.join(fam.param_names)}")
    for name, value in names.items():
        lo, hi = fam.bounds[fam.param_names.index(name)]
        if not (math.isfinite(value) and lo <= value <= hi):
            raise FitError(f"`{name}` cannot be held at {value!r}: the {fam.name} family bounds it to [{lo:g}, {hi:g}]")
        if name in fam.log_params and value <= 0:
            raise FitError(f"`{name}` cannot be held at {value!r}: it must be positive")
    free = np.array([n not in names for n in fam.param_names])
    held = np.array([names.get(n, 0.0) for n in fam.param_names])
    held_z = fam.to_internal(held)

    def full(theta):  # free natural parameters (..., q) -> all (..., p)
        theta = np.asarray(theta, float)
        out = np.broadcast_to(held, theta.shape[:-1] + held.shape).copy()
        out[..., free] = theta
        return out

    def evaluate(z, inputs, jac=True):
        z = np.asarray(z, float)
        zf = np.broadcast_to(held_z, (z.shape[0], held_z.size)).copy()
        zf[:, free] = z
        f, J = fam.evaluate(zf, inputs, jac=jac)
        return f, (None if J is None else np.ascontiguousarray(J[free]))

    def guesses(inputs, y):
        return np.asarray(fam.initial_guesses(inputs, y), float)[:, free]

    guesses.__doc__ = f"{fam.initial_guesses.__doc__ or ''} The held columns dropped ({', '.join(names)})."

    def wrap(hook):
        return None if hook is None else (lambda theta, *args: hook(full(theta), *args))

    def for_values(derived, y):
        base = fam.for_metric(y)
        return derived if base is fam else _fixed_family(base, items)

    keep = [n for n in fam.param_names if n not in names]
    held_text = ", ".join(f"{n} = {v:g}" for n, v in items)
    return replace(
        fam,
        label=f"{fam.label} ({held_text})",
        param_names=tuple(keep),
        bounds=tuple(b for b, f in zip(fam.bounds, free) if f),
        log_params=tuple(n for n in fam.log_params if n in keep),
        evaluate=evaluate,
        initial_guesses=guesses,
        exponent_params=tuple(n for n in fam.exponent_params if n in keep),
        scatter_pair=tuple(n for n in fam.scatter_pair if n in keep),
        for_values=None if fam.for_values is None else for_values,
        fixed=items,
        **{hook: wrap(getattr(fam, hook)) for hook in HOOKS},
    )


def min_distinct(family: Family) -> int:
    """Distinct values of each input a family needs: 2 for N and D each, else up to 3."""
    return 2 if family.is_two_input else min(family.n_params, 3)


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

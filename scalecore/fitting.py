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
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import DataError, FitError, format_rows
from .families import ONE_INPUT_AXES, Family, get_family, min_distinct, predict  # noqa: F401 (re-exported)
from .solver import (PARALLEL_MIN_SIZE, Cancelled, Solution, _objective, _threshold, distinct_optima,  # noqa: F401
                     in_background, rho, solve)
from .bootstrap import BootstrapResult, bootstrap_problem
from .formatting import summary_html, summary_text
from .spec import LOSSES, FitSpec, check_bootstrap  # noqa: F401 (LOSSES re-exported)


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
    dropped_ids = ids[missing_y].tolist()
    if missing_y.any():
        warnings.append(_left_out(ids[missing_y], f"`{y}`"))
    keep &= np.isfinite(yv)
    input_names = family.inputs if family.is_two_input else (x,)
    # a run missing a size this fit needs (FLOPs when fitting against compute) is left out here, not refused
    # by load_runs: another fit of the same runs (against params) can use it
    no_input = np.zeros(len(ids), dtype=bool)
    for name in input_names:
        no_input |= ~np.isfinite(runs.values(name))
    missing_x = keep & no_input
    if missing_x.any():
        needed = " or ".join(f"`{name}`" for name in input_names)
        warnings.append(_left_out(ids[missing_x], needed))
        dropped_ids += ids[missing_x].tolist()
        keep &= ~no_input
    dropped = tuple(dropped_ids)

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
    family = family.for_metric(y_kept)  # e.g. an accuracy's floor and ceiling held in [0, 1]
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


def _left_out(ids: np.ndarray, what: str) -> str:
    """"25 run(s) have no `compute` value and were left out: a, b, c, d, e ..." (the count, the first ids)."""
    shown = ", ".join(str(i) for i in ids[:5])
    return f"{len(ids)} run(s) have no {what} value and were left out: {shown}" + (" ..." if len(ids) > 5 else "")


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
                  method: str = "cases", refuse_unidentified: bool = True):
        """Bootstrap this fit: percentile intervals, standard errors and bands
        (:class:`~scalecore.bootstrap.BootstrapResult`).

        A family the runs do not identify raises :class:`~scalecore.errors.NotIdentified` at once
        (or after a few iterations, when its resamples do not settle) instead of grinding for a
        minute; ``refuse_unidentified=False`` bootstraps it anyway.

        No refit: every resample starts from this fit's optimum and its other distinct optima.
        ``method``: ``"cases"`` resamples runs with replacement; ``"residuals"`` resamples the
        fit's residuals around the fitted curve; ``"groups"`` resamples whole groups (the
        ``group`` column). The same ``seed`` gives identical numbers; None draws fresh entropy.
        """
        return bootstrap_problem(self.problem, n_resamples=n_resamples, confidence_level=confidence_level, seed=seed,
                                 method=method, fit=self, refuse_unidentified=refuse_unidentified)

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
            **({"fixed": dict(self.family.fixed)} if self.family.fixed else {}),
        }

    def __str__(self) -> str:
        from .formatting import fit_table

        return fit_table(self)

    def __repr__(self) -> str:
        return summary_text(self)

    def _repr_html_(self) -> str:
        return summary_html(self)


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


def bootstrap(
    runs,
    family,
    x=None,
    y=None,
    exclude: Sequence[str] = (),
    *,
    loss: str = "huber",
    delta: float = 1e-3,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    method: str = "cases",
    refuse_unidentified: bool = True,
) -> BootstrapResult:
    """Fit ``family`` (or a :class:`~scalecore.spec.FitSpec`) and bootstrap it: percentile
    intervals, standard errors and bands. The same as ``fit(runs, ...).bootstrap(...)``.

    ``method``: ``"cases"`` resamples runs with replacement; ``"residuals"`` resamples the fit's
    residuals (in its log or linear space) around the fitted curve; ``"groups"`` resamples whole
    groups (the ``group`` column: e.g. all runs of one size or seed) so that correlated runs are
    not counted as independent. The same ``seed`` gives identical numbers.
    """
    check_bootstrap(n_resamples, confidence_level, method, seed)
    result = fit(runs, family, x=x, y=y, exclude=exclude, loss=loss, delta=delta)
    return result.bootstrap(n_resamples, confidence_level=confidence_level, seed=seed, method=method,
                            refuse_unidentified=refuse_unidentified)

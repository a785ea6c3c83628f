"""Bootstrap confidence intervals and bands, with every resample fitted at once.

A case resample is a vector of counts on the runs, so the summed Huber objective of resample ``b``
is ``sum_i w_bi rho(r_i)``: all resamples share the data arrays and differ only in weights
(``cases``, ``groups``) or in the target (``residuals``). :func:`fitting.solve` minimises all of
them together, vectorised across resamples and across starting points.

Starting points (the "several basins" problem): with outlier runs in the data, some resamples
have a better optimum in another basin than the full-data fit. Each resample is therefore solved
from every distinct optimum of the full-data multi-start fit, and then again from the most
different optima that the resamples themselves turned up; the best solution per resample is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from . import identifiability, optimum
from .errors import FitError, NotIdentified
from .families import min_distinct, predict
from .formatting import summary_html, summary_text
from .solver import NotSettling, distinct_optima, progress_callback, solve
from .spec import METHODS, check_bootstrap  # noqa: F401 (METHODS: bootstrap.METHODS, re-exported)
from .stats import percentile_interval
from .uncertainty import Band, Estimate, estimate_of, parameter_estimates

if TYPE_CHECKING:  # the fit a bootstrap starts from; fitting imports this module, not the reverse
    from .fitting import FitResult, Problem

#: A resample optimum whose robust z-score (median/MAD) exceeds this in some parameter is taken
#: as a sign of another basin, and tried as a start for every resample.
FAR_SCORE = 6.0
#: Iterations every resample gets from another basin's start before it is judged ...
SCREEN_ITERATIONS = 6
#: ... and the relative margin to its current best objective within which it is solved fully.
SCREEN_MARGIN = 0.02
#: Failed resamples up to this share of the bootstrap are said by the interval label alone (its
#: intervals are read off the others); more are a warning. On the bundled samples' defaults 4-10 of
#: 1,000 (the saturating power law on each architecture of the crossover sample) made warning boxes.
FAILED_NOTE_SHARE = 0.01
#: A resample that has not converged from any start is tried again from the optima of this many of its
#: nearest converged resamples.
NEIGHBOUR_STARTS = 3
#: ... for at most this many iterations each: a start that close that does not converge by then is not rescued.
NEIGHBOUR_ITERATIONS = 100
BAND_KINDS = ("confidence", "prediction")


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Parameter samples of a bootstrap, their intervals, and bands computed from them.

    ``samples`` holds one row of natural parameters per resample; failed resamples are rows of
    NaN, counted in ``n_failed`` and never used in intervals.
    """

    fit: FitResult
    samples: np.ndarray = field(repr=False)
    failed: np.ndarray = field(repr=False)
    n_resamples: int
    confidence_level: float
    method: str
    seed: int | None
    seconds: float
    warnings: tuple[str, ...]

    @property
    def family(self):
        return self.fit.family

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def good(self) -> np.ndarray:
        return self.samples[~self.failed]

    def at_level(self, confidence_level: float) -> "BootstrapResult":
        """The same samples read at another confidence level (intervals, bands and bound warnings
        follow it); no resample is refitted."""
        _check(self.n_resamples, confidence_level, self.method, self.seed)
        if confidence_level == self.confidence_level:
            return self
        old = set(_bound_warnings(self.family, self.good, self.confidence_level))
        kept = [w for w in self.warnings if w not in old]
        warnings = tuple(kept + _bound_warnings(self.family, self.good, confidence_level))
        return replace(self, confidence_level=float(confidence_level), warnings=warnings)

    @property
    def interval_label(self) -> str:
        used = self.n_resamples - self.n_failed
        count = f"{used} of {self.n_resamples} resamples converged" if self.n_failed else f"{used} resamples"
        return f"{self.confidence_level:.0%} bootstrap percentile interval ({self.method}, {count})"

    def _quantiles(self, values: np.ndarray, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        level = self.confidence_level if level is None else level
        return percentile_interval(values, level)

    @property
    def confidence_interval(self) -> dict[str, tuple[float, float]]:
        lo, hi = self._quantiles(self.good)
        return {n: (float(a), float(b)) for n, a, b in zip(self.family.param_names, lo, hi)}

    @property
    def standard_error(self) -> dict[str, float]:
        se = np.std(self.good, axis=0, ddof=1)
        return {n: float(s) for n, s in zip(self.family.param_names, se)}

    @property
    def estimates(self) -> dict[str, Estimate]:
        """Each parameter: its best-fit value and the percentile interval of its samples."""
        return parameter_estimates(self.family.param_names, self.fit.theta, self.good, self.confidence_level)

    def estimate(self, point: float, values: np.ndarray) -> Estimate:
        """Wrap a derived quantity: its point value and the percentile interval of ``values``
        (:func:`~scalecore.uncertainty.interval_of`: NaN left out, infinite values count)."""
        return estimate_of(point, values, self.confidence_level)

    def band(self, x=None, *, params=None, tokens=None, kind: str = "confidence") -> Band:
        """Median and interval of the predicted metric over a grid.

        ``kind="confidence"``: the uncertainty of the fitted curve; ``"prediction"`` adds
        resampled residual noise, for where a new run would land.
        """
        if kind not in BAND_KINDS:
            raise FitError(f"`kind` must be one of {', '.join(BAND_KINDS)}; got {kind!r}")
        point = self.fit.predict(x, params=params, tokens=tokens)
        curves = predict(self.family, self.good, x, params=params, tokens=tokens)
        return self.band_of(point, curves, kind)

    def band_of(self, point, curves, kind: str = "confidence") -> Band:
        """The band of resampled values ``curves`` (resamples x grid; NaN left out) around ``point``.

        ``kind="prediction"`` adds to each resample's curve one of the fit's residuals, drawn with
        replacement (seeded ``seed + 1``) in the family's residual space (log for losses): at every
        point a resample's value plus a residual, as before, but the same residual along the curve,
        so the band is smooth. With a residual drawn per point, the band's edge flickered between
        the outlying residuals and the others wherever they sit near its quantile (spikes of 10-15%
        of the loss on chinchilla_like, whose diverged runs leave a few large residuals).
        """
        if kind not in BAND_KINDS:
            raise FitError(f"`kind` must be one of {', '.join(BAND_KINDS)}; got {kind!r}")
        if kind == "prediction":
            rng = np.random.default_rng(None if self.seed is None else self.seed + 1)
            curves = np.asarray(curves, float)
            noise = rng.choice(self.fit.residuals, size=curves.shape[:1] + (1,) * (curves.ndim - 1))
            curves = np.exp(np.log(curves) + noise) if self.family.space == "log" else curves + noise
        level = self.confidence_level
        lo, median, hi = percentile_interval(curves, level, with_median=True)
        return Band(point=point, median=median, lower=lo, upper=hi, kind=kind, confidence_level=level)

    def predict_at(self, x=None, *, params=None, tokens=None) -> Estimate:
        """The metric predicted at one point, with its interval."""
        point = float(np.ravel(self.fit.predict(x, params=params, tokens=tokens))[0])
        values = np.ravel(predict(self.family, self.good, x, params=params, tokens=tokens))
        return self.estimate(point, values)

    def compute_optimal(self, compute: float, k: float = optimum.FLOPS_PER_TOKEN_PARAM) -> dict[str, Estimate]:
        """N*, D*, L* at ``compute`` (and a, b for chinchilla), each with its interval."""
        point = optimum.compute_optimum(self.family, self.fit.theta, compute, k)
        dist = optimum.compute_optimum(self.family, self.good, compute, k)
        return {key: self.estimate(float(point[key]), dist[key]) for key in point}

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        d["ci"] = {k: list(v) for k, v in self.confidence_interval.items()}
        d["standard_error"] = self.standard_error
        d["bootstrap"] = {
            "n_resamples": self.n_resamples,
            "n_failed": self.n_failed,
            "method": self.method,
            "confidence_level": self.confidence_level,
            "seed": self.seed,
            "seconds": round(self.seconds, 4),
        }
        d["warnings"] = list(self.fit.warnings) + list(self.warnings)
        return d

    def __str__(self) -> str:
        from .formatting import fit_table

        return fit_table(self.fit, self)

    def __repr__(self) -> str:
        return summary_text(self.fit, self)

    def _repr_html_(self) -> str:
        return summary_html(self.fit, self)


#: Upper bound of n_resamples x runs in one bootstrap: all resamples are solved at once, so memory
#: and time grow with the product (1,000 resamples of 2,000 runs: about 4 s and 0.7 GB).
MAX_RESAMPLED_RUNS = 2_000_000


_check = check_bootstrap


def resample_weights(problem: Problem, n_resamples: int, method: str, rng) -> tuple[np.ndarray, np.ndarray | None]:
    """Weights (B, n) of each run in each resample, and for ``residuals`` the resampled targets."""
    n, B = problem.n, n_resamples
    if method == "cases":
        idx = rng.integers(0, n, size=(B, n))
        counts = np.bincount((idx + n * np.arange(B)[:, None]).ravel(), minlength=B * n)
        return counts.reshape(B, n).astype(float), None
    if method == "groups":
        labels, run_group = np.unique(problem.groups, return_inverse=True)
        G = len(labels)
        if G < 2:
            raise FitError(
                "the `groups` bootstrap resamples whole groups, and the fitted runs form only one group; "
                "add a group column (e.g. model size or seed) or use the `cases` method"
            )
        pick = rng.integers(0, G, size=(B, G))
        group_counts = np.bincount((pick + G * np.arange(B)[:, None]).ravel(), minlength=B * G).reshape(B, G)
        return group_counts[:, run_group].astype(float), None
    return np.ones((B, n)), None  # residuals: targets are drawn by the caller


def _usable(problem: Problem, weights: np.ndarray, method: str = "cases") -> np.ndarray:
    """Resamples that keep enough distinct runs and sizes for the family to be fitted; for the
    ``groups`` method, at least two distinct groups (a resample of one group repeated has no
    between-group information: Approach 1's N*(C) from one envelope segment is one value, and its
    exponent came out 0)."""
    fam = problem.family
    present = weights > 0
    ok = present.sum(axis=1) >= fam.n_params + 1
    need = min_distinct(fam)
    for arr in problem.inputs.values():
        _, inv = np.unique(arr, return_inverse=True)
        distinct = np.zeros((len(weights), inv.max() + 1), dtype=bool)
        rows, cols = np.nonzero(present)
        distinct[rows, inv[cols]] = True
        ok &= distinct.sum(axis=1) >= need
    if method == "groups":
        _, group = np.unique(problem.groups, return_inverse=True)
        seen = np.zeros((len(weights), group.max() + 1), dtype=bool)
        rows, cols = np.nonzero(present)
        seen[rows, group[cols]] = True
        ok &= seen.sum(axis=1) >= 2
    return ok


def bootstrap_problem(
    problem: Problem,
    *,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    method: str = "cases",
    fit: FitResult,
    extra_starts: int = 3,
    refuse_unidentified: bool = True,
    progress=None,
) -> BootstrapResult:
    """Bootstrap a prepared problem from its full-data ``fit`` (``fitting.fit_problem(problem)``;
    the public way is ``FitResult.bootstrap``, see :func:`scalecore.bootstrap`).

    A family the runs do not identify is refused with :class:`~scalecore.errors.NotIdentified`
    (``refuse_unidentified``): before any resample when the full-data fit shows it
    (:func:`scalecore.identifiability.check`), or at a checkpoint of
    :data:`~scalecore.identifiability.SETTLE_CHECKS` where too many resamples are still moving. Families whose resamples settle get exactly the numbers they got without it.

    ``progress(settled, n_resamples)`` (default: :func:`scalecore.solver.reporting`'s) is called
    from the solver's threads as the resamples settle from the full-data optimum, which is most of
    the work; the later passes over the unconverged few report nothing more."""
    _check(n_resamples, confidence_level, method, seed)
    if n_resamples * problem.n > MAX_RESAMPLED_RUNS:
        raise FitError(
            f"{n_resamples} resamples of {problem.n:,} runs are too many to bootstrap at once (at most "
            f"{MAX_RESAMPLED_RUNS:,} resampled runs); use at most {max(MAX_RESAMPLED_RUNS // problem.n, 2)} "
            f"resamples, or fewer runs."
        )
    t0 = time.perf_counter()
    fam = problem.family
    if refuse_unidentified:
        verdict = identifiability.check(fit)
        if not verdict.identified:
            raise NotIdentified(verdict.text(), verdict)
    rng = np.random.default_rng(seed)
    weights, _ = resample_weights(problem, n_resamples, method, rng)
    target = problem.target
    if method == "residuals":
        f_hat = problem.target + fit.residuals
        draw = rng.integers(0, problem.n, size=(n_resamples, problem.n))
        target = f_hat[None, :] - fit.residuals[draw]
    usable = _usable(problem, weights, method)
    B = n_resamples
    z_best = np.full((B, fam.n_params), np.nan)
    obj_best = np.full(B, np.inf)
    conv_best = np.zeros(B, dtype=bool)

    def solve_from(z0: np.ndarray, rows: np.ndarray, max_iter: int, give_up=(), **report):
        """Solve resamples ``rows`` (one start each, rows may repeat); returns the Solution."""
        T = target[rows] if target.ndim == 2 else target
        return solve(fam, problem.inputs, T, weights[rows], z0, loss=problem.loss, delta=problem.delta, max_iter=max_iter,
                     give_up=give_up, **report)

    # --- progress plumbing (issue 22): the resamples not solved count as settled from the start
    progress = progress or progress_callback()
    report = {}
    if progress is not None:
        skipped = B - int(usable.sum())
        report = {"progress": lambda done, total: progress(skipped + done, B)}

    def keep_better(rows: np.ndarray, sol) -> None:
        order = np.lexsort((sol.objective, rows))  # per row, best first
        rows_s, first = np.unique(rows[order], return_index=True)
        pick = order[first]
        better = sol.objective[pick] < obj_best[rows_s]
        sel = rows_s[better]
        z_best[sel] = sol.z[pick[better]]
        obj_best[sel] = sol.objective[pick[better]]
        conv_best[sel] = sol.converged[pick[better]]

    rows = np.flatnonzero(usable)
    fit_z = fam.to_internal(fit.theta)
    # 1. every resample from the full-data optimum
    try:
        first = solve_from(np.repeat(fit_z[None, :], rows.size, axis=0), rows, 400,
                           give_up=identifiability.SETTLE_CHECKS if refuse_unidentified else (), **report)
    except NotSettling as stop:
        verdict = identifiability.unsettled(fit, stop.z, stop.moving, stop.active, stop.total, stop.iteration)
        raise NotIdentified(verdict.text(), verdict) from None
    keep_better(rows, first)
    # 2. other basins: the full-data fit's other optima, and resample optima far from the bulk.
    #    Each is tried on every resample for a few iterations (screening); only the resamples it
    #    brings close to their current best are solved to convergence from there.
    others = [z for z in fit.optima[1:]] if len(fit.optima) > 1 else []
    if extra_starts and rows.size > 10:
        found = z_best[rows]
        ok = np.all(np.isfinite(found), axis=1)
        med = np.median(found[ok], axis=0)
        mad = 1.4826 * np.median(np.abs(found[ok] - med), axis=0) + 1e-12
        score = np.where(ok, np.max(np.abs(found - med) / mad, axis=1), 0.0)
        far = score > FAR_SCORE
        if far.any():
            others += list(distinct_optima(found[far], -score[far], tol=0.05, limit=extra_starts))
    for start in others:
        screen = solve_from(np.repeat(start[None, :], rows.size, axis=0), rows, SCREEN_ITERATIONS)
        close = screen.objective <= obj_best[rows] * (1 + SCREEN_MARGIN)
        keep_better(rows[close], solve_from(screen.z[close], rows[close], 400))

    # 3. resamples still unconverged: warm starts from the optima of their nearest converged neighbours
    #    (fewest runs drawn differently), which sit in the valley they slid along
    stuck = rows[~conv_best[rows]]
    done = rows[conv_best[rows]]
    if stuck.size and done.size:
        W = weights[stuck] @ weights[done].T  # runs in common, counted with multiplicity
        near = np.argsort(-W, axis=1, kind="stable")[:, :NEIGHBOUR_STARTS]
        again = np.repeat(stuck, near.shape[1])
        keep_better(again, solve_from(z_best[done[near.ravel()]], again, NEIGHBOUR_ITERATIONS))
    failed = ~usable | ~np.isfinite(obj_best) | ~conv_best
    samples = fam.to_natural(z_best)
    samples[failed] = np.nan
    warnings: list[str] = []
    n_failed = int(failed.sum())
    if n_failed > FAILED_NOTE_SHARE * B:  # fewer are said by the interval label ("996 of 1000 resamples converged")
        warnings.append(
            f"{n_failed} of {B} resamples failed ({(~usable).sum()} had too few distinct runs, "
            f"{n_failed - int((~usable).sum())} did not converge) and are left out of the intervals"
        )
    if B - n_failed < 2:
        raise FitError(f"all but {B - n_failed} of {B} bootstrap resamples failed (too few distinct runs in a resample, "
                       "or no convergence): the fit is too fragile to bootstrap. Add runs at more sizes, exclude "
                       "outliers, or choose a family with fewer parameters.")
    warnings += _bound_warnings(fam, samples[~failed], confidence_level)
    return BootstrapResult(
        fit=fit,
        samples=samples,
        failed=failed,
        n_resamples=B,
        confidence_level=float(confidence_level),
        method=method,
        seed=seed,
        seconds=time.perf_counter() - t0,
        warnings=tuple(warnings),
    )


def _bound_warnings(fam, good: np.ndarray, level: float) -> list[str]:
    """A warning for each parameter whose interval at ``level`` runs into a bound of the family."""
    lo_b, hi_b = fam.internal_bounds()
    z = fam.to_internal(good)
    out = []
    for j, name in enumerate(fam.param_names):
        col = z[:, j]
        share = np.mean((col - lo_b[j] <= 1e-6) | (hi_b[j] - col <= 1e-6))
        if share > (1 - level) / 2:
            out.append(f"the interval of `{name}` runs into its bound: {share:.0%} of resamples put it there")
    return out

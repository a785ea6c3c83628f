"""Groups fitted jointly: one law for several groups of runs with some parameters shared.

``compare`` fits each group on its own; here the groups are fitted together, with the parameters
named in ``shared`` (the exponents, the floor ``E``, ...) taking one value for every group and the
others one value per group. The objective is the one every fit minimises (:mod:`fitting`): the sum
of the Huber losses of all groups' residuals, minimised by the one solver (:func:`solver.solve`).
The joint model is built from the family's own ``evaluate`` and an index of groups
(:class:`JointModel`): each group's runs are evaluated with that group's slice of the joint
parameter vector, so no law is written twice.

What the joint fit answers:

- **the shared values** with bootstrap intervals. The bootstrap resamples runs within each group;
  when the groups share their budgets (the same x, or the same (N, D), at the same positions, as
  runs of two architectures on one grid of budgets) the budget positions are resampled once and
  applied to every group (**paired** resamples), so a budget that helps one group is drawn for all.
- **whether the groups differ** in the shared parameters: the shared fit against the separate fits
  (nothing shared), both refitted by least squares in the family's residual space for the test
  (whatever the loss of the estimates). The statistic is the ratio of the residual sums of squares,
  ``RSS_shared / RSS_separate - 1`` (the Gaussian likelihood ratio, and the F statistic up to a
  constant); its null distribution comes from a parametric bootstrap of the shared law: the shared
  fit's curves plus each group's residuals of the separate fits (drawn with replacement within the
  group, inflated by ``sqrt(n / (n - p))``), each draw refitted both ways. p = (1 + draws at or above
  the observed) / (1 + draws). Why least squares: with the Huber loss (delta = 1e-3 in log space, so
  nearly L1 for noise of 1%) the same bootstrap of the Huber objectives rejected at 0.05 in 18 of 200
  datasets drawn from one law (9%): a kinked objective leaves some draws' separate fits short of
  their optimum, which shrinks the null statistics. By least squares: 9 of 200 (4.5%; 15 of 200 with
  499 null draws, 11 of 200 other datasets; 6.5% over 400, and 11% at 0.10: a little liberal),
  checked in ``tests/test_joint.py``. ΔAIC (Gaussian, from the same least-squares fits) is reported beside it.
- **P(one group better than another at a target)**: the share of joint resamples in which its
  predicted metric at the target (the compute-optimal loss for a law in N and D) is better.
- **the compute multiplier** at the target with its interval, read from the joint resamples by
  :meth:`scalecore.comparison.Comparison.multiplier` (the same inversion compare uses).

Nothing here imports streamlit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import ClassVar, Sequence

import numpy as np

from . import identifiability, optimum
from .bootstrap import MAX_RESAMPLED_RUNS, BootstrapResult
from .comparison import (AXIS_KINDS, Comparison, Multiplier, child_seeds, chosen_groups)
from .errors import FitError, NotIdentified, ScaleCoreError
from .families import Family, get_family, min_distinct
from .fitting import Problem, _result, fit_problem, prepare
from .formatting import format_estimate, format_value, scale_text
from .solver import NotSettling, _objective, _threshold, distinct_optima, solve
from .spec import FitSpec, check_bootstrap
from .uncertainty import Estimate

#: Names of what a joint fit can share, besides a list of parameter names.
SHARED_CHOICES = ("exponents", "E", "none")
#: Draws of the null distribution of the difference test (the p-value's resolution is 1/(n+1)).
N_NULL = 999
#: Budgets of two groups are the same when their sorted values agree to this relative tolerance.
SAME_BUDGET_RTOL = 1e-6


def shared_names(family, shared) -> tuple[str, ...]:
    """The parameters ``shared`` names, in the family's order: ``"exponents"`` (the family's
    ``exponent_params``), ``"none"``/None/``()``, a comma-separated string or a sequence of names."""
    fam = get_family(family)
    if shared is None or shared == "none":
        return ()
    if shared == "exponents":
        return tuple(fam.exponent_params)
    names = [s.strip() for s in shared.split(",")] if isinstance(shared, str) else [str(s) for s in shared]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in fam.param_names]
    if unknown:
        raise FitError(f"cannot share {', '.join(f'`{n}`' for n in unknown)}: the {fam.name} family's parameters are "
                       f"{', '.join(fam.param_names)} (or say `exponents` or `none`)")
    if len(set(names)) == fam.n_params:
        raise FitError(f"sharing every parameter of the {fam.name} family fits one law to all groups; "
                       "share fewer (e.g. `exponents`)")
    return tuple(n for n in fam.param_names if n in names)


# ------------------------------------------------------------------------------ the joint model


@dataclass(frozen=True, eq=False)
class JointModel:
    """A family fitted to G groups at once: the joint parameter vector is the shared parameters
    (one each) followed by each group's own; ``index[g, j]`` is the joint position of parameter
    ``j`` of group ``g``, and group ``g``'s runs are ``slices[g]`` of the concatenated arrays.
    ``joint`` is the :class:`Family` the solver sees: its ``evaluate`` calls the family's
    ``evaluate`` once per group with that group's columns."""

    family: Family
    shared: tuple[str, ...]
    groups: tuple[str, ...]
    slices: tuple[slice, ...]
    index: np.ndarray = field(repr=False)
    joint: Family = field(repr=False)

    @classmethod
    def build(cls, family: Family, shared: Sequence[str], groups: Sequence[str], sizes: Sequence[int]) -> "JointModel":
        names: list[str] = list(shared)
        index = np.empty((len(groups), family.n_params), dtype=int)
        for j, name in enumerate(family.param_names):
            if name in shared:
                index[:, j] = names.index(name)
        for g, group in enumerate(groups):
            for j, name in enumerate(family.param_names):
                if name not in shared:
                    index[g, j] = len(names)
                    names.append(f"{name}[{group}]")
        base = {name: family.param_names[j] for g in range(len(groups)) for j, name in
                ((j, names[index[g, j]]) for j in range(family.n_params))}
        bounds = tuple(family.bounds[family.param_names.index(base[n])] for n in names)
        log_params = tuple(n for n in names if base[n] in family.log_params)
        edges = np.concatenate([[0], np.cumsum(sizes)])
        slices = tuple(slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]))
        P = len(names)

        def evaluate(z, X, jac=True):
            z = np.asarray(z, dtype=float)
            n = int(edges[-1])
            f = np.empty((z.shape[0], n))
            J = np.zeros((P, z.shape[0], n)) if jac else None
            for g, sl in enumerate(slices):
                fg, Jg = family.evaluate(z[:, index[g]], {k: v[..., sl] for k, v in X.items()}, jac=jac)
                f[:, sl] = fg
                if jac:
                    for j in range(family.n_params):
                        J[index[g, j], :, sl] = Jg[j]
            return f, J

        def no_guesses(X, y):
            raise FitError("a joint model starts from its groups' own fits")

        joint = replace(family, name=f"{family.name} (joint)", param_names=tuple(names), bounds=bounds,
                        log_params=log_params, evaluate=evaluate, initial_guesses=no_guesses, exponent_params=(),
                        scatter_pair=(), for_values=None, optimum=None, budget_for=None, floor=None,
                        log_params_for_loss=None, log_tokens_for_loss=None, compute_for_loss=None, exponents=None)
        return cls(family=family, shared=tuple(shared), groups=tuple(groups), slices=slices, index=index, joint=joint)

    @property
    def n_params(self) -> int:
        return self.joint.n_params

    def pack(self, per_group: np.ndarray, shared_from: int | None = None) -> np.ndarray:
        """Joint vectors (B, P) from each group's internal parameters ``per_group`` (B, G, p): the
        shared entries from group ``shared_from``, or their mean over the groups (None)."""
        per_group = np.asarray(per_group, float)
        out = np.zeros(per_group.shape[:1] + (self.n_params,))
        count = np.zeros(self.n_params)
        for g in range(len(self.groups)):
            for j in range(self.family.n_params):
                k = self.index[g, j]
                is_shared = self.family.param_names[j] in self.shared
                if is_shared and shared_from is not None:
                    if g == shared_from:
                        out[:, k] = per_group[:, g, j]
                        count[k] = 1
                    continue
                out[:, k] += per_group[:, g, j]
                count[k] += 1
        return out / np.maximum(count, 1)

    def unpack(self, z: np.ndarray) -> np.ndarray:
        """Each group's parameters (B, G, p) from joint vectors (B, P)."""
        z = np.asarray(z, float)
        return z[:, self.index]


def _objective_of(model: JointModel, z: np.ndarray, inputs: dict, target: np.ndarray, loss: str, delta: float) -> np.ndarray:
    f, _ = model.joint.evaluate(z, inputs, jac=False)
    return _objective(np.ones(target.shape[-1]), f - target, _threshold(loss, delta))


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True, eq=False)
class JointComparison(Comparison):
    """A :class:`~scalecore.comparison.Comparison` whose groups' samples come from one joint
    bootstrap (resample ``i`` of every group is the same joint resample), so its crossover, bands
    and multiplier read the joint fit."""

    label: str = ""

    @property
    def interval_label(self) -> str:
        return self.label


@dataclass(frozen=True)
class DifferenceTest:
    """Shared against separate values of ``names``, both fitted by least squares: ``statistic`` is
    ``RSS_shared / RSS_separate - 1``, its p-value from ``n_null`` parametric-bootstrap draws of the
    shared law, and ΔAIC (shared minus separate: positive favours separate values)."""

    names: tuple[str, ...]
    statistic: float
    p_value: float
    n_null: int
    delta_aic: float
    objective_shared: float
    objective_separate: float
    n_extra: int  # parameters the separate fits add
    alpha: float  # the level the sentence reads the p-value at (1 - confidence level)

    @property
    def differ(self) -> bool:
        return self.p_value <= self.alpha

    def text(self) -> str:
        what = ", ".join(self.names)
        p = format_value(self.p_value, digits=2)
        how = (f"p = {p}, parametric bootstrap of the shared law with {self.n_null} draws; "
               f"ΔAIC = {format_value(self.delta_aic, digits=3)} for separate values")
        if self.differ:
            return f"the groups differ in {what} ({how})"
        return f"no evidence that the groups differ in {what} ({how}): sharing {what} is consistent with the runs"

    def to_dict(self) -> dict:
        return {"names": list(self.names), "statistic": self.statistic, "p_value": self.p_value,
                "n_null": self.n_null, "delta_aic": self.delta_aic, "objective_shared": self.objective_shared,
                "objective_separate": self.objective_separate, "n_extra": self.n_extra, "alpha": self.alpha,
                "differ": self.differ, "text": self.text()}


@dataclass(frozen=True, eq=False)
class JointFit:
    """One family fitted to several groups at once, with ``shared`` parameters common to all.

    ``theta`` and ``samples`` are in the joint order (``names``: the shared parameters, then
    ``name[group]`` for each group's own); ``comparison`` reads the joint resamples group by group
    (bands, crossover, multiplier). ``weights`` (resamples x runs) are the bootstrap's counts of
    each run, ``positions`` each run's budget position within its group (paired resamples give every
    group the same count at a position)."""

    #: What can be shared, besides parameter names (:data:`SHARED_CHOICES`).
    CHOICES: ClassVar[tuple[str, ...]] = SHARED_CHOICES

    family: Family
    shared: tuple[str, ...]
    groups: tuple[str, ...]
    by: str
    metric: str
    axis: str
    names: tuple[str, ...]
    theta: np.ndarray = field(repr=False)
    objective: float
    n_points: int
    samples: np.ndarray = field(repr=False)
    failed: np.ndarray = field(repr=False)
    paired: bool
    weights: np.ndarray = field(repr=False)
    positions: np.ndarray = field(repr=False)
    group_of: np.ndarray = field(repr=False)
    test: DifferenceTest | None
    fit: object = field(repr=False)  # the joint FitResult (parameters in the joint order; rmse, AIC, residuals)
    comparison: JointComparison = field(repr=False)
    model: JointModel = field(repr=False)
    n_resamples: int
    confidence_level: float
    seed: int | None
    seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def k(self) -> float:
        return self.comparison.k

    @property
    def interval_label(self) -> str:
        return self.comparison.interval_label

    @property
    def params(self) -> dict[str, dict[str, float]]:
        """Each group's parameters (shared ones repeated) under the joint fit."""
        return {g: dict(self.comparison.results[g].fit.params) for g in self.groups}

    @property
    def estimates(self) -> dict[str, dict[str, Estimate]]:
        """Each group's parameters with their intervals from the joint bootstrap."""
        return {g: self.comparison.results[g].estimates for g in self.groups}

    @property
    def shared_estimates(self) -> dict[str, Estimate]:
        """The shared parameters, one value each, with their intervals."""
        first = self.estimates[self.groups[0]]
        return {n: first[n] for n in self.shared}

    def _check(self, *groups: str) -> None:
        for g in groups:
            if g not in self.groups:
                raise FitError(f"unknown group `{g}`; the groups are {', '.join(self.groups)}")

    def target(self, at: float | None = None) -> float:
        """The scale the comparisons are read at: ``at``, or the top of the range every group covers."""
        return self.comparison.default_scale() if at is None else float(at)

    def probability_better(self, group: str, than: str, at: float | None = None) -> float:
        """The share of joint resamples in which ``group`` predicts a better metric than ``than`` at
        ``at`` (lower for a loss, higher for a score); a law in N and D is read at its compute-optimal
        point of compute ``at``. Resamples where either prediction is undefined are left out."""
        self._check(group, than)
        at = self.target(at)
        if not (math.isfinite(at) and at > 0):
            raise FitError(f"`at` must be a positive number; got {at!r}")
        comp = self.comparison
        rows = comp.paired_rows(group, than)
        lx = np.full((len(rows), 1), math.log(at))
        mine = comp.values(group, lx, rows)[:, 0]
        theirs = comp.values(than, lx, rows)[:, 0]
        ok = np.isfinite(mine) & np.isfinite(theirs)
        if not ok.any():
            return math.nan
        better = mine[ok] < theirs[ok] if self.family.metric_kind == "loss" else mine[ok] > theirs[ok]
        return float(better.mean())

    def multiplier(self, group: str, than: str, at: float | None = None) -> Multiplier:
        """How much more x (compute for a law in N and D) ``group`` needs to reach the metric ``than``
        reaches at ``at``, divided by ``at``, with its interval over the joint resamples."""
        self._check(group, than)
        return self.comparison.multiplier(group, than, self.target(at))

    def pairs(self) -> list[tuple[str, str]]:
        """Every group against the first (the reference)."""
        return self.comparison.pairs()

    def summary(self, at: float | None = None) -> list[dict]:
        """One row per pair (each group against the first): P(better) and the multiplier."""
        at = self.target(at)
        rows = []
        for a, b in self.pairs():
            rows.append({"a": a, "b": b, "at": at, "p_better": self.probability_better(a, b, at),
                         "multiplier": self.multiplier(a, b, at).to_dict()})
        return rows

    def better_text(self, group: str, than: str, at: float | None = None) -> str:
        """``P(“moe” better than “dense” at params = 100B) = 1.00 (lower loss; 1000 joint resamples)``."""
        at = self.target(at)
        p = self.probability_better(group, than, at)
        where = f"{self.axis} = {scale_text(at, self.axis)}"
        if self.family.is_two_input:
            where += ", each at its compute-optimal N and D"
        lower = "lower" if self.family.metric_kind == "loss" else "higher"
        return (f"P(“{group}” better than “{than}” at {where}) = {format_value(p, digits=3)} "
                f"({lower} {self.metric}; {self.n_resamples - self.n_failed} joint resamples)")

    def __repr__(self) -> str:
        shared = ", ".join(self.shared) or "nothing"
        lines = [f"JointFit: {self.family.name} fitted to `{self.metric}` against {self.axis} for "
                 f"`{self.by}` ({', '.join(self.groups)}), sharing {shared}; {self.interval_label}"]
        for name, est in self.shared_estimates.items():
            lines.append(f"  {name} (shared): {format_estimate(est)}")
        for g in self.groups:
            own = "; ".join(f"{n} {format_estimate(e)}" for n, e in self.estimates[g].items() if n not in self.shared)
            lines.append(f"  {g}: {own}")
        if self.test is not None:
            lines.append(f"  {self.test.text()}")
        at = self.target()
        for a, b in self.pairs()[:6]:
            mult = self.multiplier(a, b, at)
            lines.append(f"  {a} vs {b} at {scale_text(at, self.axis)}: P(better) "
                         f"{format_value(self.probability_better(a, b, at), digits=3)}; multiplier "
                         f"{format_estimate(mult.multiplier) if mult.status == 'ok' else 'not reached'}")
        return "\n".join(lines)

    def to_dict(self, at: float | None = None) -> dict:
        def est(e: Estimate) -> dict:
            return {**e.to_dict(), "text": format_estimate(e)}

        return {
            "family": self.family.name, "axis": self.axis, "metric": self.metric, "by": self.by,
            "groups": list(self.groups), "shared": list(self.shared), "paired": self.paired,
            "objective": self.objective, "n_points": self.n_points, "interval": self.interval_label,
            "n_resamples": self.n_resamples, "n_failed": self.n_failed, "confidence_level": self.confidence_level,
            "seed": self.seed, "seconds": round(self.seconds, 4), "k": self.k,
            "shared_params": {n: est(e) for n, e in self.shared_estimates.items()},
            "params": {g: {n: est(e) for n, e in self.estimates[g].items()} for g in self.groups},
            "test": None if self.test is None else self.test.to_dict(),
            "ranges": {g: list(r) for g, r in self.comparison.ranges.items()},
            "pairs": self.summary(at), "warnings": list(self.warnings),
        }


# ------------------------------------------------------------------------------ resampling


def budget_positions(problems: Sequence[Problem]) -> tuple[np.ndarray, bool]:
    """Each run's position among its group's budgets (runs sorted by x, or by (N, D)), and whether
    every group has the same budgets at the same positions (then resamples can be paired)."""
    positions, keys = [], []
    for p in problems:
        cols = [np.asarray(p.inputs[k], float) for k in sorted(p.inputs)]
        order = np.lexsort(cols[::-1])
        pos = np.empty(len(order), dtype=int)
        pos[order] = np.arange(len(order))
        positions.append(pos)
        keys.append(np.stack([c[order] for c in cols]))
    same = all(k.shape == keys[0].shape and np.allclose(k, keys[0], rtol=SAME_BUDGET_RTOL, atol=0) for k in keys[1:])
    return np.concatenate(positions), same


def resample_weights(sizes: Sequence[int], positions: np.ndarray, paired: bool, n_resamples: int, rng) -> np.ndarray:
    """Counts (B, n) of every run in every resample. Independent: each group's runs drawn with
    replacement from that group. Paired: one draw of budget positions, applied to every group."""
    B = n_resamples
    edges = np.concatenate([[0], np.cumsum(sizes)])

    def counts(m):
        idx = rng.integers(0, m, size=(B, m))
        return np.bincount((idx + m * np.arange(B)[:, None]).ravel(), minlength=B * m).reshape(B, m).astype(float)

    out = np.empty((B, int(edges[-1])))
    if paired:
        c = counts(int(sizes[0]))
        for a, b in zip(edges[:-1], edges[1:]):
            out[:, a:b] = c[:, positions[a:b]]
        return out
    for a, b in zip(edges[:-1], edges[1:]):
        out[:, a:b] = counts(int(b - a))
    return out


def _usable(model: JointModel, inputs: dict, weights: np.ndarray) -> np.ndarray:
    """Resamples in which every group keeps enough runs and distinct sizes for its own parameters."""
    fam = model.family
    own = fam.n_params - len(model.shared)
    ok = (weights > 0).sum(axis=1) >= model.n_params + 1
    need = min_distinct(fam)
    for sl in model.slices:
        present = weights[:, sl] > 0
        ok &= present.sum(axis=1) >= own + 1
        for arr in inputs.values():
            _, inv = np.unique(arr[sl], return_inverse=True)
            distinct = np.zeros((len(weights), inv.max() + 1), dtype=bool)
            rows, cols = np.nonzero(present)
            distinct[rows, inv[cols]] = True
            ok &= distinct.sum(axis=1) >= need
    return ok


# ------------------------------------------------------------------------------ fitting


def _solve_best(model: JointModel, inputs, target, weights, starts: np.ndarray, loss, delta, max_iter=400):
    """Solve each problem from each of ``starts`` (S, B, P) and keep the best solution per problem."""
    best = None
    for z0 in starts:
        sol = solve(model.joint, inputs, target, weights, z0, loss=loss, delta=delta, max_iter=max_iter)
        if best is None:
            best = sol
            continue
        better = sol.objective < best.objective
        best.z[better], best.objective[better] = sol.z[better], sol.objective[better]
        best.converged[better], best.n_iter[better] = sol.converged[better], sol.n_iter[better]
    return best


def _fit_joint(model: JointModel, inputs, target, own_z: np.ndarray, loss, delta, extra: Sequence[np.ndarray] = ()):
    """The joint optimum from starts built of the groups' own fits ``own_z`` (G, p): the shared
    values from each group in turn and their mean, plus ``extra`` joint vectors."""
    G = len(model.groups)
    starts = [model.pack(own_z[None], g)[0] for g in range(G)] + [model.pack(own_z[None])[0]] + list(extra)
    starts = np.array(starts)
    sol = solve(model.joint, inputs, target, np.ones(target.shape[-1]), starts, loss=loss, delta=delta)
    if not np.any(np.isfinite(sol.objective)):
        raise FitError(f"the joint {model.family.name} fit failed from every starting point; the groups may not "
                       "follow one law with these parameters shared. Share fewer parameters, or fit them apart")
    best = int(np.argmin(sol.objective))
    return sol.z[best], float(sol.objective[best]), bool(sol.converged[best]), distinct_optima(sol.z, sol.objective)


def _difference_test(null: JointModel, full: JointModel, inputs, target, z0, z1, loss, delta, n_null, rng,
                     alpha) -> DifferenceTest:
    """Shared (``null``) against separate (``full``) fits: see the module docstring."""
    n = target.shape[-1]
    f0, _ = null.joint.evaluate(z0[None], inputs, jac=False)
    f1, _ = full.joint.evaluate(z1[None], inputs, jac=False)
    F0, F1 = map(float, (_objective_of(null, z0[None], inputs, target, loss, delta)[0],
                         _objective_of(full, z1[None], inputs, target, loss, delta)[0]))
    resid = (f1[0] - target) * math.sqrt(n / max(n - full.n_params, 1))
    draws = np.empty((n_null, n))
    for sl in full.slices:
        m = sl.stop - sl.start
        draws[:, sl] = resid[sl][rng.integers(0, m, size=(n_null, m))]
    sim = f0 - draws
    ones = np.ones(n)
    sol0 = _solve_best(null, inputs, sim, ones, np.repeat(z0[None], n_null, axis=0)[None], loss, delta)
    # the separate fits from the shared optimum of each draw (so they are never worse than it) and
    # from the separate fits of the data
    from_null = full.pack(null.unpack(sol0.z))
    sol1 = _solve_best(full, inputs, sim, ones, np.stack([from_null, np.repeat(z1[None], n_null, axis=0)]), loss, delta)
    with np.errstate(all="ignore"):
        stat_null = (sol0.objective - sol1.objective) / sol1.objective
        stat = (F0 - F1) / F1 if F1 > 0 else math.inf
    ok = np.isfinite(stat_null)
    p = (1.0 + np.sum(stat_null[ok] >= stat - 1e-12 * abs(stat))) / (1.0 + ok.sum())

    def aic(model, z):
        f, _ = model.joint.evaluate(z[None], inputs, jac=False)
        rss = float(np.sum((f[0] - target) ** 2))
        return n * math.log(max(rss / n, 1e-300)) + 2 * model.n_params

    return DifferenceTest(names=null.shared, statistic=float(stat), p_value=float(p), n_null=int(ok.sum()),
                          delta_aic=aic(null, z0) - aic(full, z1), objective_shared=F0, objective_separate=F1,
                          n_extra=full.n_params - null.n_params, alpha=float(alpha))


def joint_fit(
    runs,
    family,
    *,
    by: str = "group",
    groups: Sequence[str] | None = None,
    shared="exponents",
    x: str | None = None,
    y: str | None = None,
    exclude: Sequence[str] = (),
    loss: str = "huber",
    delta: float = 1e-3,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    paired: bool | None = None,
    n_null: int = N_NULL,
    refuse_unidentified: bool = True,
) -> JointFit:
    """Fit ``family`` to the groups of ``runs`` (column ``by``) jointly, with the parameters
    ``shared`` (names, ``"exponents"``, ``"E"`` or ``"none"``) common to every group, bootstrap it
    and test whether the groups differ in the shared parameters.

    ``paired``: None pairs the resamples when every group has the same budgets (True insists,
    raising :class:`FitError` when they do not; False resamples each group on its own). ``n_null``:
    draws of the difference test's null distribution. The same ``seed`` gives identical numbers.

    A joint law the runs do not identify is refused with :class:`~scalecore.errors.NotIdentified`
    (as a bootstrap is: from the joint fit's curvature, or when the resamples do not settle), naming
    the joint parameters left open; ``refuse_unidentified=False`` bootstraps it anyway.
    """
    fam = get_family(family)
    names = shared_names(fam, shared)
    check_bootstrap(n_resamples, confidence_level, "cases", seed)
    if not (isinstance(n_null, int) and n_null >= 19):
        raise FitError(f"`n_null` must be an integer of at least 19 (draws of the test's null distribution); got {n_null!r}")
    t0 = time.perf_counter()
    labels, chosen = chosen_groups(runs, by, groups, "a joint fit")
    excluded = {str(e) for e in exclude}
    problems = []
    for name in chosen:
        sub = runs.subset(labels == name)
        own = [e for e in sub.run_ids.tolist() if e in excluded]
        try:
            problems.append(prepare(sub, FitSpec(fam, x=None if fam.is_two_input else x, y=y, exclude=own,
                                                 loss=loss, delta=delta)))
        except ScaleCoreError as exc:
            raise type(exc)(f"group `{name}`: {exc}") from None
    fam = fam.for_metric(np.concatenate([p.y_values for p in problems]))
    problems = [replace(p, family=fam) for p in problems]
    own_fits = []
    for name, p in zip(chosen, problems):
        try:
            own_fits.append(fit_problem(p))
        except ScaleCoreError as exc:
            raise type(exc)(f"group `{name}`: {exc}") from None
    own_z = np.array([fam.to_internal(f.theta) for f in own_fits])
    sizes = [p.n for p in problems]
    biggest = max(n_resamples, n_null if names else 0)
    if biggest * sum(sizes) > MAX_RESAMPLED_RUNS:
        raise FitError(f"{biggest} resamples of {sum(sizes):,} runs are too many to fit at once (at most "
                       f"{MAX_RESAMPLED_RUNS:,} resampled runs); use at most {max(MAX_RESAMPLED_RUNS // sum(sizes), 2)} "
                       "resamples (and null draws), or fewer runs.")
    inputs = {k: np.concatenate([p.inputs[k] for p in problems]) for k in problems[0].inputs}
    target = np.concatenate([p.target for p in problems])
    model = JointModel.build(fam, names, chosen, sizes)
    separate = JointModel.build(fam, (), chosen, sizes)
    z0, F0, converged, optima = _fit_joint(model, inputs, target, own_z, loss, delta)
    whole = Problem(family=model.joint, x=problems[0].x, y=problems[0].y, inputs=inputs,
                    y_values=np.concatenate([p.y_values for p in problems]),
                    run_ids=np.concatenate([p.run_ids for p in problems]),
                    groups=np.concatenate([p.groups for p in problems]),
                    excluded=tuple(e for p in problems for e in p.excluded),
                    dropped=tuple(e for p in problems for e in p.dropped), loss=loss, delta=float(delta))
    joint_result = _result(whole, z0, converged, optima, len(optima))

    def refuse(verdict):  # the verdict names the joint parameters (`A[ssm]`) the runs leave open
        verdict = replace(verdict, family=fam.name)
        raise NotIdentified(verdict.text(), verdict) from None

    if refuse_unidentified:
        verdict = identifiability.check(joint_result)
        if not verdict.identified:
            refuse(verdict)

    positions, same = budget_positions(problems)
    if paired and not same:
        raise FitError("paired resamples need every group to have the same budgets (the same x, or N and D, run "
                       "for run); these groups do not. Use `paired=False`")
    paired = same if paired is None else bool(paired)
    seeds = child_seeds(seed, 2)
    rng = np.random.default_rng(seeds[0])
    weights = resample_weights(sizes, positions, paired, n_resamples, rng)
    usable = _usable(model, inputs, weights)
    rows = np.flatnonzero(usable)
    z_b = np.full((n_resamples, model.n_params), np.nan)
    conv = np.zeros(n_resamples, dtype=bool)
    obj = np.full(n_resamples, np.inf)
    starts = [z0] + [o for o in optima[1:]]
    for i, start in enumerate(starts):
        try:
            sol = solve(model.joint, inputs, target, weights[rows], np.repeat(start[None], rows.size, axis=0),
                        loss=loss, delta=delta,
                        give_up=identifiability.SETTLE_CHECKS if refuse_unidentified and i == 0 else ())
        except NotSettling as stop:
            refuse(identifiability.unsettled(joint_result, stop.z, stop.moving, stop.active, stop.total,
                                             stop.iteration))
        better = sol.objective < obj[rows]
        sel = rows[better]
        z_b[sel], obj[sel], conv[sel] = sol.z[better], sol.objective[better], sol.converged[better]
    failed = ~usable | ~np.isfinite(obj) | ~conv
    samples = model.joint.to_natural(z_b)
    samples[failed] = np.nan
    warnings = []
    if failed.any():
        warnings.append(f"{int(failed.sum())} of {n_resamples} joint resamples failed ({int((~usable).sum())} had too "
                        "few distinct runs in a group) and are left out of the intervals")
    if n_resamples - int(failed.sum()) < 2:
        raise FitError("all but a few joint resamples failed: the groups are too small to bootstrap together. "
                       "Add runs, or share fewer parameters")

    test = None
    if names:
        # the test refits both models by least squares, whatever the loss of the estimates: with the
        # Huber loss (delta = 1e-3, nearly L1 here) the same parametric bootstrap rejected 9% of 200
        # datasets drawn from one law at 0.05, by least squares 4.5% (module docstring)
        z0_ls = _fit_joint(model, inputs, target, own_z, "ls", delta, extra=[z0])[0]
        z1_ls = _fit_joint(separate, inputs, target, own_z, "ls", delta,
                           extra=[separate.pack(model.unpack(z0_ls[None]))[0]])[0]
        test = _difference_test(model, separate, inputs, target, z0_ls, z1_ls, "ls", delta, n_null,
                                np.random.default_rng(seeds[1]), 1.0 - confidence_level)

    # each group's view of the joint fit and its resamples, for the comparisons compare makes
    k = float(getattr(runs, "flops_per_token_param", optimum.FLOPS_PER_TOKEN_PARAM))
    per_group = model.unpack(z0[None])[0]
    samples_g = samples[:, model.index]  # (B, G, p), natural
    label = (f"{confidence_level:.0%} bootstrap percentile interval (one joint cases bootstrap"
             f"{', paired by budget' if paired else ', each group resampled on its own'}, "
             f"{n_resamples - int(failed.sum())} resamples)")
    results, ranges, axis = {}, {}, "compute" if fam.is_two_input else problems[0].x
    for g, (name, p) in enumerate(zip(chosen, problems)):
        fit_g = _result(p, per_group[g], converged, per_group[g][None], len(starts))
        results[name] = BootstrapResult(fit=fit_g, samples=samples_g[:, g], failed=failed, n_resamples=n_resamples,
                                        confidence_level=float(confidence_level), method="cases", seed=seed,
                                        seconds=0.0, warnings=())
        xs = k * p.inputs["params"] * p.inputs["tokens"] if fam.is_two_input else p.inputs["x"]
        ranges[name] = (float(np.min(xs)), float(np.max(xs)))
    comp = JointComparison(family=fam, axis=axis, metric=problems[0].y, by=by, results=results,
                           seeds={g: seed for g in chosen}, ranges=ranges, seed=seed, k=k, label=label)
    for g, f in results.items():
        warnings += [f"`{g}`: {w}" for w in f.fit.warnings]
    group_of = np.repeat(np.arange(len(chosen)), sizes)
    return JointFit(family=fam, shared=names, groups=tuple(chosen), by=by, metric=problems[0].y, axis=axis,
                    names=model.joint.param_names, theta=model.joint.to_natural(z0), objective=F0,
                    n_points=int(sum(sizes)), samples=samples, failed=failed, paired=paired, weights=weights,
                    positions=positions, group_of=group_of, test=test, fit=joint_result, comparison=comp, model=model,
                    n_resamples=n_resamples, confidence_level=float(confidence_level), seed=seed,
                    seconds=time.perf_counter() - t0, warnings=tuple(warnings))


__all__ = ["JointFit", "JointModel", "DifferenceTest", "JointComparison", "joint_fit", "shared_names",
           "budget_positions", "resample_weights", "SHARED_CHOICES", "AXIS_KINDS"]

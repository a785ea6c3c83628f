"""Experiments side by side: the same family fitted to two or more groups of runs, compared with intervals.

Each group (an architecture, a dataset, an optimiser: a group column, or one CSV file per group) is
fitted and bootstrapped on its own, with its own seed derived from one seed, so the groups'
resamples are independent. Derived comparisons pair resample ``i`` of one group with resample ``i``
of the other, which is valid precisely because the bootstraps are independent:

- **exponent differences**, e.g. ``alpha_A - alpha_B``;
- the **crossover**: the ``x`` where the two fitted curves meet, found per resample by a vectorised
  bracketing search on ``log x`` (a sign scan over a wide grid, then bisection), together with the
  share of resamples that have a crossover at all;
- the **compute multiplier** at a scale ``x0``: how much more ``x`` group A needs to reach the metric
  group B reaches at ``x0`` -- the ratio ``x_A / x0`` from solving ``L_A(x_A) = L_B(x0)`` per resample.

One-input families are compared against the chosen ``x`` (params, tokens or compute). Two-input
families (Chinchilla, Kaplan) are compared along their compute-optimal frontier ``L*(C)``: the best
loss each law reaches with compute ``C`` (:func:`scalecore.optimum.compute_optimum`: the family's
closed form, or the generic numerical optimum).

Everything is vectorised over the resamples; nothing here imports streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import optimum
from .bootstrap import Band, BootstrapResult, Estimate
from .errors import DataError, FitError, ScaleCoreError
from .families import COMPUTE_EXPONENT, FAMILIES, Family, get_family  # noqa: F401 (COMPUTE_EXPONENT: re-exported)
from .fitting import fit
from .identifiability import check
from .formatting import format_estimate, format_value, scale_text
from .spec import FitSpec
from .stats import percentile_interval

#: The exponents of each family whose differences are reported (``Family.exponent_params``; the
#: family's ``exponents`` hook may add derived ones, such as Chinchilla's compute exponent).
EXPONENTS: dict[str, tuple[str, ...]] = {name: fam.exponent_params for name, fam in FAMILIES.items()}

#: How far (decades of x) beyond the fitted range a crossover is looked for, on each side.
CROSSOVER_DECADES = 4.0
#: How far (decades of x) from the scale x0 the compute multiplier is looked for, on each side.
MULTIPLIER_DECADES = 6.0
#: Grid points per decade of the sign scan that brackets the roots; bisection refines them.
SCAN_PER_DECADE = 24
BISECTIONS = 60
LN10 = math.log(10.0)

AXIS_WORDS = {"params": "model size", "tokens": "tokens", "compute": "compute"}
AXIS_UNITS = {"params": "parameters", "tokens": "tokens", "compute": "FLOP"}
GROUP_BY_FILE = "file"


# ------------------------------------------------------------------------------ groups


def group_labels(runs, by: str = "group") -> np.ndarray:
    """The group of every run: the values of column ``by``, or the source file with ``by="file"``.

    Missing values give ``""`` (those runs belong to no group).
    """
    if by == GROUP_BY_FILE:
        return np.asarray([Path(str(f)).name for f in runs.source_files], dtype=object)
    by = _column(runs, by)
    if by not in runs.frame.columns:
        options = group_columns(runs)
        raise DataError(
            f"there is no column `{by}` to group the runs by; "
            + (f"choose one of: {', '.join(options)}" if options else "the data has no column with 2 or more groups")
        )
    col = runs.frame[by]
    labels = col.astype(str).to_numpy(dtype=object)
    labels[col.isna().to_numpy()] = ""
    return np.asarray([s.strip() for s in labels], dtype=object)



def one_budget_each(runs, by: str, groups) -> bool:
    """Whether every group in ``groups`` has one compute budget only (e.g. runs grouped by IsoFLOP
    budget): a law fitted to one group then sees one point of compute and is poorly determined."""
    if not runs.has("compute"):
        return False
    labels = group_labels(runs, by)
    c = runs.values("compute")
    return all(len(set(c[labels == g].tolist())) <= 1 for g in groups)

def _column(runs, by: str) -> str:
    """The frame column for ``by``: itself, or the role a file column was read as ("arch" -> "group")."""
    if by in runs.frame.columns:
        return by
    for role, source in dict(runs.roles).items():
        if source == by and role in runs.frame.columns:
            return role
    return by


def group_columns(runs, max_groups: int = 24) -> list[str]:
    """Columns that split the runs into 2..``max_groups`` groups (``"file"`` when there are several files)."""
    from .data import ROLES, SIZE_ROLES

    out = []
    for col in runs.frame.columns:
        if col in SIZE_ROLES or col in runs.metrics or col == "run_id":
            continue
        values = runs.frame[col].dropna()
        n = values.astype(str).nunique()
        if 2 <= n <= max_groups and (col in ROLES or n < len(runs)):
            out.append(str(col))
    if len(set(runs.source_files)) > 1:
        out.append(GROUP_BY_FILE)
    return out


def group_names(runs, by: str = "group") -> list[str]:
    """Distinct groups in order of first appearance."""
    labels = group_labels(runs, by)
    return [g for g in dict.fromkeys(labels.tolist()) if g != ""]


def child_seeds(seed: int | None, n: int) -> list[int | None]:
    """``n`` independent seeds derived from one (NumPy ``SeedSequence.spawn``); None stays None."""
    if seed is None:
        return [None] * n
    return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Crossover:
    """Where the curves of groups ``a`` and ``b`` meet, with its interval over the paired resamples.

    ``status``: ``"inside"`` (in the fitted range), ``"beyond"`` (above it), ``"below"`` (under it) or
    ``"none"`` (the best fits do not meet within ``searched``). ``share``: the fraction of paired
    resamples that have a crossover within ``searched``; ``share_inside``: within the fitted range.
    The interval is taken over the resamples that cross (the crossover nearest the best fit's).
    """

    a: str
    b: str
    axis: str
    status: str
    x: Estimate
    metric: Estimate
    share: float
    share_inside: float
    fitted_range: tuple[float, float]
    searched: tuple[float, float]
    n_pairs: int
    interval: str

    def text(self) -> str:
        unit = AXIS_UNITS.get(self.axis, "")
        if self.status == "none":
            return (f"no crossover in the fitted range (nor within {_span_text(self.searched, self.axis)}); "
                    f"{self.share:.0%} of resamples cross there")
        where = {"inside": "crossover in the fitted range at",
                 "beyond": "crossover beyond the fitted range at",
                 "below": "crossover below the fitted range at"}[self.status]
        return (f"{where} {estimate_text(self.x, AXIS_KINDS.get(self.axis, 'plain'))} {unit} "
                f"({self.share:.0%} of resamples cross)").replace("  ", " ")

    def to_dict(self) -> dict:
        return {
            "a": self.a, "b": self.b, "axis": self.axis, "status": self.status,
            "x": _estimate_dict(self.x, AXIS_KINDS.get(self.axis, "plain")), "metric": _estimate_dict(self.metric),
            "share": self.share, "share_inside": self.share_inside,
            "fitted_range": list(self.fitted_range), "searched": list(self.searched),
            "n_pairs": self.n_pairs, "interval": self.interval, "text": self.text(),
        }


@dataclass(frozen=True)
class Multiplier:
    """How much more ``axis`` group ``a`` needs to reach group ``b``'s metric at ``at``: x_a / at.

    ``target`` is group ``b``'s metric at ``at``. ``share``: the fraction of paired resamples in which
    group ``a`` reaches it within ``searched``; the interval is over those. ``status`` is ``"ok"``
    or ``"unreachable"`` (the best fit of ``a`` never reaches it within ``searched``).
    """

    a: str
    b: str
    axis: str
    at: float
    status: str
    multiplier: Estimate
    target: Estimate
    share: float
    searched: tuple[float, float]
    n_pairs: int
    interval: str

    def text(self) -> str:
        word = AXIS_WORDS.get(self.axis, self.axis)
        if self.status == "unreachable":
            return (f"“{self.a}” does not reach the {format_value(self.target.value)} of “{self.b}” at "
                    f"{scale_text(self.at, self.axis)} within {_span_text(self.searched, self.axis)}")
        return (f"“{self.a}” needs {estimate_text(self.multiplier)}× the {word} of “{self.b}” to reach its "
                f"{format_value(self.target.value)} at {scale_text(self.at, self.axis)} "
                f"({self.share:.0%} of resamples reach it)")

    def to_dict(self) -> dict:
        return {
            "a": self.a, "b": self.b, "axis": self.axis, "at": self.at, "status": self.status,
            "multiplier": _estimate_dict(self.multiplier), "target": _estimate_dict(self.target),
            "share": self.share, "searched": list(self.searched), "n_pairs": self.n_pairs,
            "interval": self.interval, "text": self.text(),
        }


@dataclass(frozen=True, eq=False)
class Comparison:
    """One family fitted to several groups, each with its own independent bootstrap.

    ``axis`` is the x the curves are compared against (``"compute"`` for two-input families, which
    are compared along their compute-optimal frontier); ``ranges`` the x range of each group's runs.
    """

    family: Family
    axis: str
    metric: str
    by: str
    results: dict
    seeds: dict
    ranges: dict
    seed: int | None
    k: float = optimum.FLOPS_PER_TOKEN_PARAM

    def __repr__(self) -> str:
        lines = [f"Comparison: {self.family.name} fitted to `{self.metric}` against {self.axis} for each "
                 f"`{self.by}` ({', '.join(self.groups)}); {self.interval_label}"]
        for a, b in self.pairs()[:6]:
            diffs = "; ".join(f"Δ{name} {format_estimate(e)}" for name, e in self.exponent_difference(a, b).items())
            lines.append(f"  {a} - {b}: {diffs}")
        return "\n".join(lines)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.results)

    @property
    def confidence_level(self) -> float:
        return next(iter(self.results.values())).confidence_level

    @property
    def n_resamples(self) -> int:
        return next(iter(self.results.values())).n_resamples

    @property
    def method(self) -> str:
        return next(iter(self.results.values())).method

    @property
    def along_frontier(self) -> bool:
        return self.family.is_two_input

    @property
    def interval_label(self) -> str:
        return (f"{self.confidence_level:.0%} bootstrap percentile interval (independent {self.method} "
                f"bootstraps of each group, {self.n_resamples} resamples paired by index)")

    @property
    def fitted_range(self) -> tuple[float, float]:
        """The x covered by every group's runs (their union when they do not overlap)."""
        lo = max(r[0] for r in self.ranges.values())
        hi = min(r[1] for r in self.ranges.values())
        if lo < hi:
            return (lo, hi)
        return (min(r[0] for r in self.ranges.values()), max(r[1] for r in self.ranges.values()))

    @property
    def data_range(self) -> tuple[float, float]:
        return (min(r[0] for r in self.ranges.values()), max(r[1] for r in self.ranges.values()))

    @property
    def warnings(self) -> tuple[str, ...]:
        out = []
        for g, boot in self.results.items():
            out += [f"`{g}`: {w}" for w in list(boot.fit.warnings) + list(boot.warnings)]
        return tuple(out)

    def _check_groups(self, *names: str) -> None:
        for name in names:
            if name not in self.results:
                raise FitError(f"unknown group `{name}`; the groups are {', '.join(self.groups)}")

    # ---------------------------------------------------------------- curves

    def values(self, group: str, lx, rows: np.ndarray | None = None) -> np.ndarray:
        """The fitted metric of ``group`` in its residual space (log metric, or the metric for a
        linear family) at ``log x`` values ``lx`` of shape (B, m) -- for the best fit (``rows`` None,
        B = 1) or for the bootstrap samples with indices ``rows`` (B = len(rows)). A two-input family
        is read along its compute-optimal frontier L*(C) (:func:`scalecore.optimum.compute_optimum`:
        the family's closed form, or the generic numerical optimum)."""
        boot = self.results[group]
        fam = self.family
        theta = boot.fit.theta[None, :] if rows is None else boot.samples[rows]
        lx = np.asarray(lx, float)
        lx = np.broadcast_to(lx, (len(theta), lx.shape[-1]) if lx.ndim else (len(theta), 1))
        with np.errstate(all="ignore"):
            if not fam.is_two_input:
                f, _ = fam.evaluate(fam.to_internal(theta), {"x": np.exp(lx)}, jac=False)
                return f
            loss = optimum.compute_optimum(fam, theta[:, None, :], np.exp(lx), self.k)["loss"]
            return np.log(loss) if fam.space == "log" else loss

    def curve(self, group: str, xs) -> tuple[np.ndarray, np.ndarray]:
        """The metric of ``group`` at ``xs``: the best fit (m,) and each good resample (B_ok, m)."""
        self._check_groups(group)
        lx = np.log(np.asarray(xs, float))[None, :]
        boot = self.results[group]
        rows = np.flatnonzero(~boot.failed)
        point, samples = self.values(group, lx)[0], self.values(group, lx, rows)
        if self.family.space == "log":
            point, samples = np.exp(point), np.exp(samples)
        return point, samples

    def band(self, group: str, xs) -> Band:
        """The fitted curve of ``group`` over ``xs`` with its confidence band (percentile)."""
        self._check_groups(group)
        boot = self.results[group]
        if not self.family.is_two_input:
            return boot.band(np.asarray(xs, float))
        point, samples = self.curve(group, xs)
        ok = np.isfinite(samples).sum(axis=0) >= 2
        lower = np.full(point.shape, np.nan)
        upper = np.full(point.shape, np.nan)
        median = np.full(point.shape, np.nan)
        if ok.any():
            lower[ok], median[ok], upper[ok] = percentile_interval(samples[:, ok], boot.confidence_level,
                                                                   with_median=True)
        return Band(point=point, median=median, lower=lower, upper=upper, kind="confidence",
                    confidence_level=boot.confidence_level)

    # ---------------------------------------------------------------- comparisons

    def paired_rows(self, a: str, b: str) -> np.ndarray:
        """Indices of the resamples that succeeded in both groups (resample i of a with i of b)."""
        fa, fb = self.results[a].failed, self.results[b].failed
        m = min(len(fa), len(fb))
        return np.flatnonzero(~fa[:m] & ~fb[:m])

    def exponents(self, group: str, theta=None) -> dict[str, np.ndarray]:
        """The exponents of ``group`` for its best fit (scalars) or for parameter rows ``theta``
        (the family's own, :func:`scalecore.optimum.exponents`)."""
        boot = self.results[group]
        theta = boot.fit.theta if theta is None else np.asarray(theta, float)
        with np.errstate(all="ignore"):
            return optimum.exponents(self.family, theta)

    def exponent_difference(self, a: str, b: str) -> dict[str, Estimate]:
        """``exponent_a - exponent_b`` for each exponent of the family, with its interval."""
        self._check_groups(a, b)
        rows = self.paired_rows(a, b)
        pa, pb = self.exponents(a), self.exponents(b)
        sa = self.exponents(a, self.results[a].samples[rows])
        sb = self.exponents(b, self.results[b].samples[rows])
        ref = self.results[a]
        return {n: ref.estimate(float(pa[n] - pb[n]), sa[n] - sb[n]) for n in pa}

    def crossover(self, a: str, b: str, decades: float = CROSSOVER_DECADES) -> Crossover:
        """Where the fitted curves of ``a`` and ``b`` meet (see :class:`Crossover`)."""
        self._check_groups(a, b)
        lo_r, hi_r = self.fitted_range
        d_lo, d_hi = self.data_range
        lo, hi = math.log(d_lo) - decades * LN10, math.log(d_hi) + decades * LN10
        rows = self.paired_rows(a, b)

        def gap(rws):
            return lambda lx: self.values(a, lx, rws) - self.values(b, lx, rws)

        ref_lo, ref_hi = math.log(lo_r), math.log(hi_r)
        point = _roots(gap(None), 1, lo, hi, np.array([ref_lo]), np.array([ref_hi]))[0]
        if np.isfinite(point):
            ref = np.full(len(rows), point)
            samples = _roots(gap(rows), len(rows), lo, hi, ref, ref)
        else:
            samples = _roots(gap(rows), len(rows), lo, hi, np.full(len(rows), ref_lo), np.full(len(rows), ref_hi))
        eps = 1e-9
        if not np.isfinite(point):
            status = "none"
        elif point < ref_lo - eps:
            status = "below"
        elif point > ref_hi + eps:
            status = "beyond"
        else:
            status = "inside"
        found = np.isfinite(samples)
        inside = found & (samples >= ref_lo - eps) & (samples <= ref_hi + eps)
        boot = self.results[a]
        x_est = boot.estimate(math.exp(point) if np.isfinite(point) else math.nan, np.exp(samples[found]))
        y_point = self._metric_at(a, None, np.array([point])) if np.isfinite(point) else np.array([math.nan])
        y_samples = self._metric_at(a, rows[found], samples[found]) if found.any() else np.array([])
        n = len(rows)
        return Crossover(
            a=a, b=b, axis=self.axis, status=status, x=x_est,
            metric=boot.estimate(float(y_point[0]), y_samples),
            share=float(found.mean()) if n else math.nan,
            share_inside=float(inside.mean()) if n else math.nan,
            fitted_range=(lo_r, hi_r), searched=(math.exp(lo), math.exp(hi)), n_pairs=n,
            interval=self.interval_label,
        )

    def multiplier(self, a: str, b: str, at: float, decades: float = MULTIPLIER_DECADES) -> Multiplier:
        """How much more x group ``a`` needs to reach group ``b``'s metric at ``at`` (see :class:`Multiplier`)."""
        self._check_groups(a, b)
        if not (isinstance(at, (int, float, np.floating, np.integer)) and math.isfinite(at) and at > 0):
            raise FitError(f"`at` must be a positive number (a scale in {AXIS_UNITS.get(self.axis, self.axis)}); got {at!r}")
        at = float(at)
        l0 = math.log(at)
        lo, hi = l0 - decades * LN10, l0 + decades * LN10
        rows = self.paired_rows(a, b)
        t_point = self.values(b, np.array([[l0]]))[:, 0]
        t_samples = self.values(b, np.full((len(rows), 1), l0), rows)[:, 0]

        def gap(rws, target):
            return lambda lx: self.values(a, lx, rws) - target[:, None]

        ref = np.array([l0])
        point = _roots(gap(None, t_point), 1, lo, hi, ref, ref)[0]
        refs = np.full(len(rows), l0 if not np.isfinite(point) else point)
        samples = _roots(gap(rows, t_samples), len(rows), lo, hi, refs, refs)
        found = np.isfinite(samples)
        boot = self.results[a]
        to_metric = np.exp if self.family.space == "log" else (lambda v: v)
        n = len(rows)
        return Multiplier(
            a=a, b=b, axis=self.axis, at=at, status="ok" if np.isfinite(point) else "unreachable",
            multiplier=boot.estimate(math.exp(point - l0) if np.isfinite(point) else math.nan,
                                     np.exp(samples[found] - l0)),
            target=self.results[b].estimate(float(to_metric(t_point[0])), to_metric(t_samples)),
            share=float(found.mean()) if n else math.nan,
            searched=(math.exp(lo), math.exp(hi)), n_pairs=n, interval=self.interval_label,
        )

    def _metric_at(self, group: str, rows, lx: np.ndarray) -> np.ndarray:
        v = self.values(group, lx[:, None], rows)[:, 0] if rows is not None else self.values(group, lx[None, :])[0]
        return np.exp(v) if self.family.space == "log" else v

    def default_scale(self) -> float:
        """A scale for the multiplier when none is chosen: the top of the fitted range."""
        return self.fitted_range[1]

    def pairs(self) -> list[tuple[str, str]]:
        """Every group against the first one (the reference)."""
        return [(g, self.groups[0]) for g in self.groups[1:]]

    def summary(self, at: float | None = None) -> list[dict]:
        """One row per pair (each group against the first): exponent differences, crossover and
        multiplier, as plain dicts (numbers and the text shown)."""
        at = self.default_scale() if at is None else at
        rows = []
        for a, b in self.pairs():
            diffs = self.exponent_difference(a, b)
            cross = self.crossover(a, b)
            mult = self.multiplier(a, b, at)
            rows.append({
                "a": a, "b": b,
                "differences": {n: _estimate_dict(e) for n, e in diffs.items()},
                "crossover": cross.to_dict(), "multiplier": mult.to_dict(),
            })
        return rows

    def to_dict(self, at: float | None = None) -> dict:
        return {
            "family": self.family.name, "axis": self.axis, "metric": self.metric, "by": self.by,
            "along_frontier": self.along_frontier, "seed": self.seed, "seeds": dict(self.seeds),
            "k": self.k, "interval": self.interval_label,
            "ranges": {g: list(r) for g, r in self.ranges.items()},
            "groups": {g: boot.to_dict() for g, boot in self.results.items()},
            "pairs": self.summary(at),
        }


def curve_band(boot: BootstrapResult, xs, k: float = optimum.FLOPS_PER_TOKEN_PARAM) -> Band:
    """One fitted curve over ``xs`` with its confidence band: a one-input family against its own x,
    a two-input family along its compute-optimal frontier (``xs`` are then compute budgets)."""
    xs = np.asarray(xs, float)
    axis = "compute" if boot.family.is_two_input else boot.fit.x
    one = Comparison(family=boot.family, axis=axis, metric=boot.fit.y, by="", results={"": boot}, seeds={"": boot.seed},
                     ranges={"": (float(np.min(xs)), float(np.max(xs)))}, seed=boot.seed, k=k)
    return one.band("", xs)


# ------------------------------------------------------------------------------ entry point


def chosen_groups(runs, by: str, groups, what: str = "a comparison") -> tuple[np.ndarray, list[str]]:
    """(each run's group label, the groups asked for in order: default all, in order of first
    appearance); unknown groups and fewer than two are refused with what to do instead."""
    labels = group_labels(runs, by)
    available = group_names(runs, by)
    chosen = list(dict.fromkeys(str(g) for g in (groups if groups is not None else available)))
    unknown = [g for g in chosen if g not in available]
    if unknown:
        raise DataError(f"no group(s) {', '.join(f'`{g}`' for g in unknown)} in column `{by}`; "
                        f"the groups are {', '.join(available) or 'none'}")
    if len(chosen) < 2:
        raise FitError(
            f"{what} needs at least two groups; {'column' if by != GROUP_BY_FILE else 'the'} `{by}` "
            f"gives {len(chosen)} ({', '.join(chosen) or 'none'}). Choose another group column, or load "
            "one file per group."
        )
    return labels, chosen


def compare(
    runs,
    family,
    *,
    by: str = "group",
    groups: Sequence[str] | None = None,
    x: str | None = None,
    y: str | None = None,
    exclude: Sequence[str] = (),
    loss: str = "huber",
    delta: float = 1e-3,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    method: str = "cases",
) -> Comparison:
    """Fit ``family`` to each group of ``runs`` and bootstrap each independently.

    ``by`` names the column that defines the groups (``"group"``, any other column, or ``"file"``
    for one group per source file); ``groups`` picks and orders them (default: all, in order of first
    appearance; the first is the reference of :meth:`Comparison.summary`). Group ``i`` is
    bootstrapped with ``child_seeds(seed, n)[i]``, so the same ``seed`` gives identical numbers.
    """
    fam = get_family(family)
    labels, chosen = chosen_groups(runs, by, groups)
    seeds = child_seeds(seed, len(chosen))
    excluded = {str(e) for e in exclude}
    results, ranges, seed_of = {}, {}, {}
    k = float(getattr(runs, "flops_per_token_param", optimum.FLOPS_PER_TOKEN_PARAM))
    axis = "compute" if fam.is_two_input else None
    for name, s in zip(chosen, seeds):
        sub = runs.subset(labels == name)
        own = [e for e in sub.run_ids.tolist() if e in excluded]
        try:
            spec = FitSpec(fam, x=x if not fam.is_two_input else None, y=y, exclude=own, loss=loss, delta=delta)
            boot = fit(sub, spec).bootstrap(n_resamples, seed=s, confidence_level=confidence_level, method=method)
            problem = boot.fit.problem
        except ScaleCoreError as exc:
            raise type(exc)(f"group `{name}`: {exc}") from None
        if fam.is_two_input:
            xs = k * problem.inputs["params"] * problem.inputs["tokens"]
        else:
            xs = problem.inputs["x"]
            axis = problem.x
        results[name], seed_of[name] = boot, s
        ranges[name] = (float(np.min(xs)), float(np.max(xs)))
    metric = next(iter(results.values())).fit.y
    return Comparison(family=fam, axis=axis, metric=metric, by=by, results=results, seeds=seed_of,
                      ranges=ranges, seed=seed, k=k)


def identified_family(runs, candidates: Sequence[str], *, by: str = "group", groups: Sequence[str] | None = None,
                      x: str | None = None, y: str | None = None, exclude: Sequence[str] = (),
                      loss: str = "huber", delta: float = 1e-3) -> tuple[str | None, dict[str, str]]:
    """The first of ``candidates`` that every group's runs identify (the best fit of each group,
    judged by :func:`scalecore.identifiability.check`: no bootstrap), and why each one before it
    was passed over ({family: reason}). ``None`` when no candidate is identified in every group.

    What a comparison page opens with: Chinchilla's law on groups that each hold one
    tokens-per-parameter ratio is refused in milliseconds here, instead of being fitted and bootstrapped
    for every group before the refusal."""
    labels = group_labels(runs, by)
    chosen = list(dict.fromkeys(str(g) for g in (groups if groups is not None else group_names(runs, by))))
    excluded = {str(e) for e in exclude}
    skipped: dict[str, str] = {}
    for name in candidates:
        fam = get_family(name)
        why = None
        for g in chosen:
            sub = runs.subset(labels == g)
            own = [e for e in sub.run_ids.tolist() if e in excluded]
            try:
                spec = FitSpec(fam, x=x if not fam.is_two_input else None, y=y, exclude=own, loss=loss, delta=delta)
                v = check(fit(sub, spec))
            except ScaleCoreError as exc:
                why = f"group `{g}`: {exc}"
                break
            if not v.identified:
                why = f"group `{g}`: {'; '.join(v.reasons)}"
                break
        if why is None:
            return name, skipped
        skipped[name] = why
    return None, skipped


# ------------------------------------------------------------------------------ root finding


def _roots(fn, B: int, lo: float, hi: float, ref_lo: np.ndarray, ref_hi: np.ndarray) -> np.ndarray:
    """For each of B rows, a root of ``fn`` on [lo, hi] (log x), NaN where there is none.

    ``fn(lx)`` maps (B, m) -> (B, m). A sign scan on a grid brackets every sign change; each row keeps
    the bracket nearest to its reference interval [ref_lo, ref_hi] (ties: the smaller x) and refines
    it by bisection to machine precision.
    """
    if B == 0:
        return np.empty(0)
    n = max(int(math.ceil((hi - lo) / LN10 * SCAN_PER_DECADE)) + 1, 3)
    grid = np.linspace(lo, hi, n)
    with np.errstate(all="ignore"):
        v = fn(np.broadcast_to(grid, (B, n)))
    neg = v <= 0
    fin = np.isfinite(v)
    change = (neg[:, :-1] != neg[:, 1:]) & fin[:, :-1] & fin[:, 1:]
    mid = 0.5 * (grid[:-1] + grid[1:])
    dist = np.maximum(np.maximum(ref_lo[:, None] - mid[None, :], mid[None, :] - ref_hi[:, None]), 0.0)
    score = np.where(change, dist + 1e-12 * (mid - lo)[None, :], np.inf)
    j = np.argmin(score, axis=1)
    has = np.isfinite(score[np.arange(B), j])
    a, b = grid[j].copy(), grid[j + 1].copy()
    fa_neg = neg[np.arange(B), j]
    for _ in range(BISECTIONS):
        m = 0.5 * (a + b)
        with np.errstate(all="ignore"):
            fm = fn(m[:, None])[:, 0]
        m_neg = fm <= 0
        left = m_neg != fa_neg  # the sign changes between a and m
        b = np.where(left, m, b)
        a = np.where(left, a, m)
    out = 0.5 * (a + b)
    out[~has] = np.nan
    return out


# ------------------------------------------------------------------------------ text


#: How a value on each axis is written (:mod:`scalecore.formatting` kinds): sizes as counts, compute in FLOPs.
AXIS_KINDS = {"params": "count", "tokens": "count", "compute": "flops"}


def estimate_text(e: Estimate, kind: str = "plain") -> str:
    """``"2.31 [2.27, 2.36]"``: :func:`scalecore.formatting.format_estimate` (the bare value if
    there is no interval; ``kind`` as there, e.g. ``AXIS_KINDS[axis]`` for a value on an axis)."""
    return format_estimate(e, kind=kind)


def _estimate_dict(e: Estimate, kind: str = "plain") -> dict:
    return {"value": e.value, "low": e.low, "high": e.high, "standard_error": e.standard_error,
            "text": estimate_text(e, kind)}


def _span_text(span: tuple[float, float], axis: str | None = None) -> str:
    return f"{scale_text(span[0], axis)}–{scale_text(span[1], axis)}"

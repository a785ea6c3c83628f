"""What to run next: which new run (N, D) would shrink the interval of a target the most per FLOP.

A *target* is a quantity the bootstrap already gives an interval for: the compute-optimal N*, D*
or L* at a compute budget (:func:`scalecore.optimum.compute_optimum`), or the metric a planned run
(N, D) would reach (the family's predict). :func:`rank_candidates` scores every run of an N-D grid
under a per-run compute limit; :func:`with_hypothetical` refits with chosen runs added.

The cheap ranking: a linear-Gaussian preposterior computed from the bootstrap ensemble
------------------------------------------------------------------------------------------

Each good resample b gives a target value ``t_b`` (in log space: N*, D*, a loss) and the law's
prediction ``y_b(c)`` at a candidate c (in the family's residual space, log for losses). A new run
at c observes ``y(c) + e`` with noise of variance ``s²``. Treating the resamples as draws of the
law's uncertainty and updating them linearly on that observation (the Bayes linear / ensemble
Kalman update, exact for a linear-Gaussian model, i.e. the delta method) leaves the target's
variance

    var_after(c) = var(t) - cov(t, y(c))² / (s² + var(y(c)))

whatever value the run turns out to have. In the linearised model ``cov(t, y(c)) = gᵀ Σ j`` and
``var(y(c)) = jᵀ Σ j`` (``g`` the target's gradient, ``j`` the candidate's Jacobian row, ``Σ`` the
bootstrap covariance of the parameters), so this is the Fisher-information update
``gᵀ (Σ⁻¹ + j jᵀ / s²)⁻¹ g`` without forming a Jacobian or an inverse: one matrix product of the
(resamples x candidates) predictions, which takes milliseconds for a 20x20 grid.

``s²`` is the per-run noise the bootstrap itself saw, from the leverage identity: under the
linearised model the prediction variances at the n fitted runs sum to ``p·s²`` (the trace of the
hat matrix is p), so ``s² = (n / p) · mean_i var_b(y_b(x_i))``. It therefore carries the fit's
loss (Huber or least squares) and the real spread of the runs, not a Gaussian assumption about
their residuals.

The expected interval after the run keeps the percentile interval's shape and scales its
half-widths (in the target's log space) by ``sqrt(var_after / var(t))``. ``shrink`` is the width
lost, ``shrink_per_flop`` that over the run's cost ``C = k·N·D`` (``k`` is the runs'
``flops_per_token_param``, 6 by default).

The slow truth, :func:`with_hypothetical`: add the runs with the fit's predicted metric (the
expected observation), refit and bootstrap with the same settings, and read the target's interval.
``tests/test_design.py`` checks that the cheap ranking orders candidates as these refits do (Spearman's
rho of the expected shrink against the refits' spread of log N*: 0.77, 0.89, 1.0 on three
datasets), and better than the Fisher update written out at the best fit with a finite-difference
Jacobian (0.49, 0.54, 0.31): the resamples carry the law's curvature, the Jacobian at one point
does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import pandas as pd

from .optimum import FLOPS_PER_TOKEN_PARAM, compute_optimum
from .errors import FitError
from .families import predict
from .formatting import format_estimate, format_value
from .uncertainty import Estimate

#: What a target can be: a compute-optimal quantity at a budget, or the metric of a planned run.
TARGET_KINDS = ("params", "tokens", "loss", "metric")
_TARGET_LABELS = {"params": "compute-optimal model size N*", "tokens": "compute-optimal tokens D*",
                  "loss": "compute-optimal loss L*", "metric": "metric of the planned run"}
#: What a ranking can order candidates by.
RANK_BY = ("shrink_per_flop", "shrink")
_TARGET_FORMAT = {"params": "count", "tokens": "count", "loss": "loss", "metric": "plain"}


@dataclass(frozen=True)
class Target:
    """The quantity whose interval a new run should shrink.

    ``Target.optimum(1e24)`` (N* at 1e24 FLOPs; ``quantity="tokens"`` or ``"loss"`` for D*, L*) or
    ``Target.planned(70e9, 1.4e12)`` (the metric a run of that N and D would reach)."""

    kind: str
    compute: float | None = None
    params: float | None = None
    tokens: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise FitError(f"`kind` must be one of {', '.join(TARGET_KINDS)}; got {self.kind!r}")
        need = ("params", "tokens") if self.kind == "metric" else ("compute",)
        for name in need:
            v = getattr(self, name)
            if v is None or not (math.isfinite(float(v)) and float(v) > 0):
                raise FitError(f"the target's `{name}` must be a positive number; got {v!r}")

    @classmethod
    def optimum(cls, compute: float, quantity: str = "params") -> "Target":
        if quantity not in ("params", "tokens", "loss"):
            raise FitError(f"`quantity` must be params, tokens or loss; got {quantity!r}")
        return cls(quantity, compute=float(compute))

    @classmethod
    def planned(cls, params: float, tokens: float) -> "Target":
        return cls("metric", params=float(params), tokens=float(tokens))

    @property
    def format_kind(self) -> str:
        return _TARGET_FORMAT[self.kind]

    @property
    def label(self) -> str:
        if self.kind == "metric":
            return (f"{_TARGET_LABELS['metric']} (N = {format_value(self.params, 'count')}, "
                    f"D = {format_value(self.tokens, 'count')})")
        return f"{_TARGET_LABELS[self.kind]} at {format_value(self.compute, 'flops')} FLOPs"

    def values(self, family, thetas, k: float = FLOPS_PER_TOKEN_PARAM) -> np.ndarray:
        """The target for each row of ``thetas`` (M, p): (M,)."""
        thetas = np.atleast_2d(np.asarray(thetas, float))
        with np.errstate(all="ignore"):
            if self.kind == "metric":
                return np.ravel(predict(family, thetas, params=np.array([self.params]), tokens=np.array([self.tokens])))
            return np.ravel(compute_optimum(family, thetas, self.compute, k)[self.kind])


def _bootstrapped(fit_or_boot, n_resamples: int = 1000, seed: int | None = 0):
    """A :class:`~scalecore.bootstrap.BootstrapResult` as given, or a FitResult bootstrapped."""
    if hasattr(fit_or_boot, "good"):
        return fit_or_boot
    if hasattr(fit_or_boot, "bootstrap"):
        return fit_or_boot.bootstrap(n_resamples, seed=seed)
    raise FitError(f"expected a fit or its bootstrap (scalecore.fit(...) or .bootstrap(...)); got {type(fit_or_boot).__name__}")


def _check_two_input(boot) -> None:
    if not boot.family.is_two_input:
        raise FitError(f"what to run next places runs in N and D; `{boot.family.name}` is a law in one input. "
                       "Choose a law in N and D (chinchilla, kaplan).")


def _log_space(values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)


def _predictions(fam, thetas: np.ndarray, params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The law of each row of ``thetas`` (B, p) at (N, D) pairs (m,), in its residual space: (B, m)."""
    z = fam.to_internal(thetas)
    shape = (len(thetas), len(params))
    inputs = {"params": np.broadcast_to(params, shape), "tokens": np.broadcast_to(tokens, shape)}
    with np.errstate(all="ignore"):
        f, _ = fam.evaluate(z, inputs, jac=False)
    return np.asarray(f, float)


def run_noise_variance(boot) -> float:
    """``s²``: the per-run noise (in the residual space) the bootstrap saw, from the leverage
    identity ``sum_i var_b(y_b(x_i)) = p·s²`` (see the module docstring)."""
    fam, problem = boot.family, boot.fit.problem
    y = _predictions(fam, boot.good, problem.inputs["params"], problem.inputs["tokens"])
    y = y[np.all(np.isfinite(y), axis=1)]
    if len(y) < 3:
        raise FitError("too few finished resamples to rank candidate runs; bootstrap with more resamples")
    return float(problem.n / fam.n_params * np.mean(np.var(y, axis=0, ddof=1)))


@dataclass(frozen=True)
class Shrinkage:
    """The cheap preposterior of :func:`expected_variance_ratio`: per candidate, the ratio of the
    target's variance after to before adding it, and the pieces it comes from."""

    ratio: np.ndarray
    noise_variance: float
    target_variance: float


def expected_variance_ratio(boot, target: Target, params, tokens, k: float = FLOPS_PER_TOKEN_PARAM) -> Shrinkage:
    """For each candidate run (``params[i]``, ``tokens[i]``), the expected ``var_after / var_before`` of
    the target's log after adding it (the ensemble update of the module docstring)."""
    _check_two_input(boot)
    fam = boot.family
    params, tokens = (np.atleast_1d(np.asarray(a, float)) for a in (params, tokens))
    t = _log_space(target.values(fam, boot.good, k))
    y = _predictions(fam, boot.good, params, tokens)
    ok = np.isfinite(t) & np.all(np.isfinite(y), axis=1)
    if ok.sum() < 3:
        raise FitError(f"the {target.label} is undefined in almost every resample; choose another target")
    t, y = t[ok], y[ok]
    tc = t - t.mean()
    yc = y - y.mean(axis=0)
    m = len(t) - 1
    var_t = float(tc @ tc / m)
    cov = tc @ yc / m
    var_y = np.einsum("bj,bj->j", yc, yc) / m
    s2 = run_noise_variance(boot)
    after = np.maximum(var_t - cov**2 / (s2 + var_y), 0.0)
    ratio = after / var_t if var_t > 0 else np.ones_like(after)
    return Shrinkage(ratio=ratio, noise_variance=s2, target_variance=var_t)


def _shrunk(est: Estimate, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval's ends with its half-widths in log space scaled by ``sqrt(ratio)``."""
    f = np.sqrt(ratio)
    lv = math.log(est.value)
    return np.exp(lv + f * (math.log(est.low) - lv)), np.exp(lv + f * (math.log(est.high) - lv))


def target_estimate(boot, target: Target, k: float = FLOPS_PER_TOKEN_PARAM) -> Estimate:
    """The target at the best fit with its bootstrap percentile interval."""
    point = float(target.values(boot.family, boot.fit.theta[None, :], k)[0])
    return boot.estimate(point, target.values(boot.family, boot.good, k))


def candidate_grid(runs_params, runs_tokens, max_compute: float, n: int = 20,
                   k: float = FLOPS_PER_TOKEN_PARAM) -> tuple[np.ndarray, np.ndarray]:
    """An ``n`` x ``n`` log grid of N and D from the smallest run's N and D up to what
    ``max_compute`` buys with the other at its smallest; the cells within ``max_compute`` as flat
    (N, D) arrays."""
    if not (isinstance(n, (int, np.integer)) and 2 <= n <= 200):
        raise FitError(f"`grid` must be an integer from 2 to 200; got {n!r}")
    n_lo, d_lo = float(np.nanmin(runs_params)), float(np.nanmin(runs_tokens))
    n_hi, d_hi = max_compute / (k * d_lo), max_compute / (k * n_lo)
    if n_hi <= n_lo or d_hi <= d_lo:
        raise FitError(f"a compute limit of {format_value(max_compute, 'flops')} FLOPs per run buys no run larger "
                       f"than the smallest one ({format_value(k * n_lo * d_lo, 'flops')}); raise the limit")
    nn, dd = np.meshgrid(np.geomspace(n_lo, n_hi, n), np.geomspace(d_lo, d_hi, n), indexing="ij")
    inside = k * nn * dd <= max_compute * (1 + 1e-9)
    return nn[inside], dd[inside]


@dataclass(frozen=True, eq=False)
class Ranking:
    """Candidate runs ranked by how much each shrinks the target's interval per FLOP.

    ``table``: one row per candidate, best first: ``rank, params, tokens, compute, low_after,
    high_after, width_after, shrink, shrink_fraction, shrink_per_flop``. ``before`` is the target's
    estimate now; ``width_before`` its interval's width."""

    target: Target
    before: Estimate
    table: pd.DataFrame = field(repr=False)
    max_compute: float
    noise_variance: float
    interval_label: str
    runs_params: np.ndarray = field(repr=False)
    runs_tokens: np.ndarray = field(repr=False)
    k: float = FLOPS_PER_TOKEN_PARAM
    by: str = "shrink_per_flop"

    @property
    def width_before(self) -> float:
        return self.before.high - self.before.low

    @property
    def top(self) -> pd.Series:
        return self.table.iloc[0]

    def top_rows(self, n: int = 10) -> pd.DataFrame:
        return self.table.head(n)

    def plan(self, chosen: Sequence[tuple[float, float]] | None = None) -> pd.DataFrame:
        """The runs to train as a table for a CSV plan: ``chosen`` (N, D) pairs, or the ranking's rows."""
        if chosen is None:
            rows = self.table
        else:
            rows = pd.DataFrame({"params": [float(n) for n, _ in chosen], "tokens": [float(d) for _, d in chosen]})
            rows["compute"] = self.k * rows["params"] * rows["tokens"]
        out = rows[["params", "tokens", "compute"]].copy()
        out.insert(0, "run_id", [f"next-{i + 1:02d}" for i in range(len(out))])
        return out.reset_index(drop=True)

    def text(self, n: int = 10) -> str:
        """The target now and the ``n`` best candidates, one line each (what the CLI prints)."""
        kind = self.target.format_kind
        lines = [f"{self.target.label}: {format_estimate(self.before, kind=kind)}; {self.interval_label}",
                 f"{len(self.table)} candidate runs within {format_value(self.max_compute, 'flops')} FLOPs per run, "
                 f"ranked by the expected shrink of the interval{' per FLOP' if self.by == 'shrink_per_flop' else ''}:",
                 f"{'rank':>4}  {'N':>9}  {'D':>9}  {'C (FLOPs)':>10}  {'interval after':>24}  {'shrink':>7}"]
        for _, r in self.table.head(n).iterrows():
            after = f"[{format_value(r['low_after'], kind)}, {format_value(r['high_after'], kind)}]"
            lines.append(f"{int(r['rank']):>4}  {format_value(r['params'], 'count'):>9}  "
                         f"{format_value(r['tokens'], 'count'):>9}  {format_value(r['compute'], 'flops'):>10}  "
                         f"{after:>24}  {format_value(r['shrink_fraction'], 'fraction'):>7}")
        return "\n".join(lines)

    def to_dict(self, n: int | None = None) -> dict:
        """Plain types (JSON-ready): the target, its estimate now, and the ``n`` best rows (all if None)."""
        rows = self.table if n is None else self.table.head(n)
        return {"target": {"kind": self.target.kind, "compute": self.target.compute, "params": self.target.params,
                           "tokens": self.target.tokens, "label": self.target.label},
                "before": self.before.to_dict(), "max_compute": self.max_compute,
                "flops_per_token_param": self.k, "noise_variance": self.noise_variance,
                "interval": self.interval_label, "candidates": rows.to_dict(orient="records")}

    def __repr__(self) -> str:
        t = self.top
        return (f"Ranking({len(self.table)} candidates within {format_value(self.max_compute, 'flops')} FLOPs; "
                f"{self.target.label}: {format_estimate(self.before, kind=self.target.format_kind)}; best: "
                f"N = {format_value(t['params'], 'count')}, D = {format_value(t['tokens'], 'count')} "
                f"({format_value(t['compute'], 'flops')} FLOPs) -> width "
                f"{format_value(t['shrink_fraction'], 'fraction')} narrower)")


def rank_candidates(boot, target: Target, max_compute: float | None = None, *, grid: int = 20,
                    candidates: tuple[np.ndarray, np.ndarray] | None = None,
                    k: float | None = None, by: str = "shrink_per_flop", n_resamples: int = 1000,
                    seed: int | None = 0) -> Ranking:
    """Rank candidate runs by the expected shrink of ``target``'s interval per FLOP.

    ``boot``: a bootstrapped law in N and D (``fit(...).bootstrap(...)``), or a fit, then bootstrapped
    with ``n_resamples`` and ``seed``. ``max_compute``: the most
    one run may cost (default: ten times the largest run). ``grid``: the N and D grid size
    (:func:`candidate_grid`), or ``candidates=(params, tokens)`` to score given runs. ``k``: FLOPs
    per token and parameter (default: the runs' setting, else 6). ``by``: ``"shrink_per_flop"`` (the
    default) or ``"shrink"`` (the most narrowing within the limit, whatever it costs).
    """
    if by not in RANK_BY:
        raise FitError(f"`by` must be one of {', '.join(RANK_BY)}; got {by!r}")
    boot = _bootstrapped(boot, n_resamples, seed)
    _check_two_input(boot)
    problem = boot.fit.problem
    spec = problem.spec
    k = float(k if k is not None else getattr(spec, "flops_per_token_param", None) or FLOPS_PER_TOKEN_PARAM)
    rp, rt = problem.inputs["params"], problem.inputs["tokens"]
    if max_compute is None:
        max_compute = 10 * float(np.max(k * rp * rt))
    max_compute = float(max_compute)
    if not (math.isfinite(max_compute) and max_compute > 0):
        raise FitError(f"`max_compute` must be a positive number of FLOPs; got {max_compute!r}")
    if candidates is None:
        params, tokens = candidate_grid(rp, rt, max_compute, grid, k)
    else:
        params, tokens = (np.atleast_1d(np.asarray(a, float)) for a in candidates)
    before = target_estimate(boot, target, k)
    if not all(math.isfinite(v) and v > 0 for v in before.as_tuple()):
        raise FitError(f"the {target.label} has no finite interval ({format_estimate(before)}); choose another target")
    shrink = expected_variance_ratio(boot, target, params, tokens, k)
    low, high = _shrunk(before, shrink.ratio)
    width = before.high - before.low
    compute = k * params * tokens
    table = pd.DataFrame({"params": params, "tokens": tokens, "compute": compute, "low_after": low,
                          "high_after": high, "width_after": high - low})
    table["shrink"] = width - table["width_after"]
    table["shrink_fraction"] = table["shrink"] / width
    table["shrink_per_flop"] = table["shrink"] / compute
    table = table.sort_values(by, ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return Ranking(target=target, before=before, table=table, max_compute=max_compute, by=by,
                   noise_variance=shrink.noise_variance, interval_label=boot.interval_label,
                   runs_params=np.asarray(rp), runs_tokens=np.asarray(rt), k=k)


@dataclass(frozen=True, eq=False)
class Hypothetical:
    """The target before and after refitting with hypothetical runs added at the fit's prediction."""

    target: Target
    before: Estimate
    after: Estimate
    runs: tuple[tuple[float, float], ...]
    boot: object = field(repr=False)

    @property
    def shrink_fraction(self) -> float:
        return 1 - (self.after.high - self.after.low) / (self.before.high - self.before.low)

    def __repr__(self) -> str:
        kind = self.target.format_kind
        return (f"Hypothetical({len(self.runs)} run(s) added; {self.target.label}: "
                f"{format_estimate(self.before, kind=kind)} -> {format_estimate(self.after, kind=kind)})")


def with_runs(boot, params, tokens, values=None, *, n_resamples: int | None = None, seed: int | None = None):
    """``boot``'s fit refitted and bootstrapped (same method, level; same seed and resamples unless
    given) with runs at (``params``, ``tokens``) added, observing ``values`` (default: the fit's
    prediction there). Returns the new :class:`~scalecore.bootstrap.BootstrapResult`."""
    from .fitting import fit_problem

    problem = boot.fit.problem
    params, tokens = (np.atleast_1d(np.asarray(a, float)) for a in (params, tokens))
    if values is None:
        values = boot.fit.predict(params=params, tokens=tokens)
    values = np.atleast_1d(np.asarray(values, float))
    m = len(params)
    ids = np.array([f"hypothetical-{i + 1}" for i in range(m)], dtype=object)
    new = replace(problem,
                  inputs={"params": np.concatenate([problem.inputs["params"], params]),
                          "tokens": np.concatenate([problem.inputs["tokens"], tokens])},
                  y_values=np.concatenate([problem.y_values, values]),
                  run_ids=np.concatenate([problem.run_ids, ids]),
                  groups=np.concatenate([problem.groups, ids]))
    result = fit_problem(new)
    return result.bootstrap(n_resamples or boot.n_resamples, seed=boot.seed if seed is None else seed,
                            confidence_level=boot.confidence_level, method=boot.method,
                            refuse_unidentified=False)


def with_hypothetical(boot, runs: Sequence[tuple[float, float]], target: Target, *,
                      n_resamples: int | None = None, seed: int | None = None, k: float | None = None) -> Hypothetical:
    """The target's interval after adding hypothetical ``runs`` [(N, D), ...], each observing the
    fit's prediction (the expected result): a refit and a bootstrap with ``boot``'s settings (a fit
    is bootstrapped first, with ``n_resamples`` or 1,000 resamples and ``seed`` or 0)."""
    boot = _bootstrapped(boot, n_resamples or 1000, 0 if seed is None else seed)
    _check_two_input(boot)
    runs = tuple((float(n), float(d)) for n, d in runs)
    spec = boot.fit.problem.spec
    k = float(k if k is not None else getattr(spec, "flops_per_token_param", None) or FLOPS_PER_TOKEN_PARAM)
    before = target_estimate(boot, target, k)
    if not runs:
        return Hypothetical(target, before, before, runs, boot)
    for n, d in runs:
        if not (math.isfinite(n) and math.isfinite(d) and n > 0 and d > 0):
            raise FitError(f"a hypothetical run needs a positive N and D; got N = {n!r}, D = {d!r}")
    new = with_runs(boot, [n for n, _ in runs], [d for _, d in runs], n_resamples=n_resamples, seed=seed)
    return Hypothetical(target, before, target_estimate(new, target, k), runs, new)

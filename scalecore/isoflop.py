"""IsoFLOP profiles: Hoffmann et al.'s (2022) Approach 2, with bootstrap intervals.

Runs are grouped by compute budget: by gaps in ln C with a tolerance chosen from the data (compute
exported by trackers is rarely repeated exactly), or by a budget column, or by the budget written in
each run's name (``isoflop-6e+19-d512-L8``); a budget with too few runs or sizes is reported, not
fitted. A file with several configurations gets one analysis per group (``by=``, an
:class:`IsoFlopGroups`), never a pooled one without a warning. For each budget a
parabola of log loss against ``u = ln N`` is fitted robustly (Huber IRLS with a MAD scale, so a
diverged run barely moves it), and its vertex is that budget's loss-minimising model size N*(C).
The frontier ``N*(C) = k_N C^a`` is a straight line through the vertices in log-log; with
``C = k N D`` on an IsoFLOP line, ``D*(C) = C / (k N*(C)) = k_D C^b`` with ``b = 1 - a``.

Everything is batched with numpy: a parabola fit is weighted linear least squares in three
coefficients, so all budgets of all resamples are one array of 3x3 normal equations per IRLS
iteration. The bootstrap resamples runs within each budget (``method="runs"``, the default) or
whole budgets (``"budgets"``) and refits every parabola and the frontier per resample.

A budget whose sweep does not bracket its minimum (fewer than two swept sizes on either side of the
vertex, or no minimum at all) is reported and, by default, left out of the frontier: its "minimum"
is an extrapolation of a parabola. Approach 2 is also biased when a sweep brackets the minimum
but is off-centre, because the true profile ``E + A N^-alpha + B (C/kN)^-beta`` is not symmetric in
``ln N``; :func:`compare_with_approach3` puts the chinchilla family's (Approach 3) frontier beside it
on the same runs, with intervals on the difference.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import optimum
from .bootstrap import BootstrapResult, Estimate
from .errors import DataError, FitError, format_rows
from .formatting import format_estimate, format_interval, format_number, format_value
from .stats import percentile_interval

METHODS = ("runs", "budgets")
#: Huber tuning constant for the IRLS parabola fits (95% efficiency under Gaussian noise).
HUBER_C = 1.345
IRLS_ITERATIONS = 30
#: Neighbouring runs (sorted by C) whose C differ by less than this (relative) are always one budget, and
#: it is the tolerance when the compute values show no clear budgets (see :func:`budget_tolerance`).
BUDGET_RTOL = 0.05
#: The narrowest gap between budgets must be this many times the widest gap inside one for the
#: tolerance to be chosen from the data.
BUDGET_JUMP = 2.0
#: A vertex in the outer fifth of its sweep (in ln N) is called off-centre.
OFF_CENTRE = 0.2
#: A budget brackets its minimum when at least this many distinct swept sizes lie on each side of
#: the parabola's vertex: both arms of the profile are then measured, not extrapolated.
BRACKET_RUNS = 2


@dataclass(frozen=True, eq=False)
class BudgetProfile:
    """One compute budget: its runs, the fitted parabola and its minimum."""

    label: str
    compute: float
    run_ids: np.ndarray = field(repr=False)
    params: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)  # final robust weight of each run, in [0, 1]
    coef: np.ndarray = field(repr=False)  # ln loss = c0 + c1 v + c2 v^2, v = (ln N - centre) / scale
    centre: float
    scale: float
    n_opt: float  # NaN when the profile has no minimum
    loss_opt: float
    n_opt_low: float
    n_opt_high: float
    bracketed: bool
    position: float  # where the vertex lies in the sweep: 0 = smallest N, 1 = largest
    used: bool  # part of the frontier fit
    note: str = ""
    spread: float = 1.0  # largest C / smallest C of the budget's runs

    @property
    def fitted(self) -> bool:
        """False for a budget reported, not fitted (too few runs or distinct sizes for a parabola)."""
        return bool(np.isfinite(self.coef).all())

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)

    @property
    def has_minimum(self) -> bool:
        return bool(self.coef[2] > 0)

    def tokens_opt(self, k: float = optimum.FLOPS_PER_TOKEN_PARAM) -> float:
        return self.compute / (k * self.n_opt)

    def predict(self, params) -> np.ndarray:
        """The fitted profile (loss) at model sizes ``params``."""
        v = (np.log(np.asarray(params, float)) - self.centre) / self.scale
        return np.exp(self.coef[0] + self.coef[1] * v + self.coef[2] * v * v)


@dataclass(frozen=True, eq=False)
class IsoFlopResult:
    """Approach 2: per-budget minima and the frontier ``N* = k_N C^a``, ``D* = k_D C^b``, with intervals."""

    profiles: tuple[BudgetProfile, ...]
    params: dict  # a, k_N, b, k_D of the full-data fit
    samples: np.ndarray = field(repr=False)  # (B, 2): a, ln k_N per resample (NaN: failed)
    n_opt_samples: np.ndarray = field(repr=False)  # (B, G) vertex N* per resample and budget
    failed: np.ndarray = field(repr=False)
    y: str = "loss"
    k: float = optimum.FLOPS_PER_TOKEN_PARAM
    n_resamples: int = 0
    confidence_level: float = 0.95
    method: str = "runs"
    seed: int | None = 0
    seconds: float = 0.0
    robust: bool = True
    excluded: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # how the budgets were formed: the rule, the tolerance, the spread in each
    tolerance: float = math.nan  # relative gap that starts a new budget (NaN: budgets from a column)
    budgets_from: str = "compute"
    group: str | None = None  # the group (configuration) these runs are, when fitted per group

    @property
    def not_fitted(self) -> tuple[BudgetProfile, ...]:
        """Budgets reported, not fitted: too few runs or distinct sizes for a profile."""
        return tuple(p for p in self.profiles if not p.fitted)

    # -------------------------------------------------------------------- intervals

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def used(self) -> tuple[BudgetProfile, ...]:
        return tuple(p for p in self.profiles if p.used)

    @property
    def interval_label(self) -> str:
        what = "runs within each budget" if self.method == "runs" else "whole budgets"
        return (f"{self.confidence_level:.0%} bootstrap percentile interval ({what} resampled, "
                f"{self.n_resamples - self.n_failed} resamples)")

    def _quantiles(self, values: np.ndarray) -> tuple[float, float]:
        values = np.asarray(values, float)
        if (~np.isnan(values)).sum() < 2:
            return math.nan, math.nan
        lo, hi = percentile_interval(values, self.confidence_level)  # NaN left out, an overflow (inf) counted
        return float(lo), float(hi)

    def _estimate(self, point: float, values: np.ndarray) -> Estimate:
        values = np.asarray(values, float)
        good = values[np.isfinite(values)]
        lo, hi = self._quantiles(values)  # an overflow (inf) counts as the largest, NaN is left out
        with np.errstate(all="ignore"):  # k_N of a wild resample can overflow a square: se is then inf
            se = float(np.std(good, ddof=1)) if good.size >= 2 else math.nan
        return Estimate(float(point), lo, hi, se)

    @property
    def sample_params(self) -> dict[str, np.ndarray]:
        """Per resample (failed ones dropped): a, k_N, b, k_D."""
        good = self.samples[~self.failed]
        a, lk = good[:, 0], good[:, 1]
        with np.errstate(over="ignore"):  # a wild resample's intercept: k_N = inf, counted as the largest
            return {"a": a, "k_N": np.exp(lk), "b": 1.0 - a, "k_D": np.exp(-lk) / self.k}

    @property
    def confidence_interval(self) -> dict[str, tuple[float, float]]:
        return {name: self._quantiles(v) for name, v in self.sample_params.items()}

    @property
    def estimates(self) -> dict[str, Estimate]:
        return {name: self._estimate(self.params[name], v) for name, v in self.sample_params.items()}

    def compute_optimal(self, compute: float) -> dict[str, Estimate]:
        """N* and D* at ``compute`` from the frontier, each with its interval."""
        c = float(compute)
        if not (math.isfinite(c) and c > 0):
            raise FitError(f"`compute` must be a positive number; got {compute!r}")
        good = self.samples[~self.failed]
        with np.errstate(over="ignore"):
            n_s = np.exp(good[:, 1] + good[:, 0] * math.log(c))
        n_p = self.params["k_N"] * c ** self.params["a"]
        return {"params": self._estimate(n_p, n_s), "tokens": self._estimate(c / (self.k * n_p), c / (self.k * n_s))}

    def frontier_band(self, compute) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """N*(C) on a grid: the point line and the percentile band (lower, upper)."""
        c = np.asarray(compute, float)
        good = self.samples[~self.failed]
        with np.errstate(over="ignore"):
            curves = np.exp(good[:, 1:2] + good[:, 0:1] * np.log(c)[None, :])
        lo, hi = percentile_interval(curves, self.confidence_level)
        return self.params["k_N"] * c ** self.params["a"], lo, hi

    # -------------------------------------------------------------------- output

    def table(self):
        """One row per budget (a pandas DataFrame): runs, N*, D*, loss at N*, bracketing."""
        import pandas as pd

        rows = []
        for p in self.profiles:
            n_text = (format_estimate(p.n_opt, p.n_opt_low, p.n_opt_high)
                      if all(math.isfinite(v) for v in (p.n_opt, p.n_opt_low, p.n_opt_high)) else format_number(p.n_opt))
            rows.append({
                "budget": p.label, "compute C": p.compute, "runs": p.n_runs,
                "N* (params)": n_text, "D* (tokens)": format_number(p.tokens_opt(self.k)) if p.has_minimum else "—",
                f"{self.y} at N*": format_number(p.loss_opt), "brackets its minimum": "yes" if p.bracketed else "NO",
                "position in sweep": f"{p.position:.0%}" if math.isfinite(p.position) else "—",
                "in frontier fit": "yes" if p.used else "no" if p.fitted else "no (reported, not fitted)",
                "C spread": "×" + format_value(p.spread, digits=3), "note": p.note,
                "raw N*": p.n_opt, "raw N* low": p.n_opt_low, "raw N* high": p.n_opt_high,
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        est = self.estimates
        return {
            "approach": 2, "y": self.y, "k": self.k, "method": self.method, "n_resamples": self.n_resamples,
            "n_failed": self.n_failed, "confidence_level": self.confidence_level, "seed": self.seed,
            "robust": self.robust, "excluded": list(self.excluded), "dropped": list(self.dropped),
            "params": dict(self.params),
            "ci": {n: [e.low, e.high] for n, e in est.items()},
            "budgets": [
                {"label": p.label, "compute": p.compute, "n_runs": p.n_runs, "n_opt": p.n_opt,
                 "n_opt_ci": [p.n_opt_low, p.n_opt_high], "loss_opt": p.loss_opt, "bracketed": p.bracketed,
                 "position": p.position, "used": p.used, "fitted": p.fitted, "spread": p.spread, "note": p.note}
                for p in self.profiles],
            "budgets_from": self.budgets_from, "tolerance": self.tolerance, "group": self.group,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        a = self.estimates["a"]
        of = f", group {self.group}" if self.group is not None else ""
        return (f"IsoFlopResult(a = {format_estimate(a.value, a.low, a.high)}, {len(self.used)} of "
                f"{len(self.profiles)} budgets in the frontier fit{of})")

    def __str__(self) -> str:
        est = self.estimates
        of = f" (group {self.group})" if self.group is not None else ""
        lines = [f"IsoFLOP profiles (Approach 2) of `{self.y}`{of}: {len(self.used)} of {len(self.profiles)} budgets "
                 f"in the frontier fit, {len(self.excluded)} runs excluded",
                 f"N* = k_N C^a, D* = k_D C^b   ({self.interval_label})", ""]
        for name in ("a", "b", "k_N", "k_D"):
            e = est[name]
            v, lo, hi = format_interval(e.value, e.low, e.high)
            lines.append(f"{name:<6} {v:>12} [{lo}, {hi}]")
        lines.append("")
        for p in self.profiles:
            mark = ("" if p.bracketed else "  (reported, not fitted)" if not p.fitted
                    else "  (does not bracket its minimum)")
            n_text = format_number(p.n_opt) if p.fitted else "—"
            lines.append(f"  {p.label:>10}: {p.n_runs:3d} runs, N* {n_text}{mark}")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ------------------------------------------------------------------------------ budgets


def _short(c: float) -> str:
    mantissa, exponent = f"{c:.2g}".split("e") if "e" in f"{c:.2g}" else (f"{c:.2g}", "0")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class Budgeting:
    """How runs were grouped into compute budgets: a label per run, each budget's C, and the rule.

    ``tolerance``: neighbouring runs (sorted by C) whose compute differs by more than this factor
    minus one start a new budget (NaN when the budgets came from a column). ``note`` says the rule
    and where the tolerance came from, in words for the result's notes.
    """

    labels: np.ndarray = field(repr=False)
    values: dict = field(repr=False)
    tolerance: float = math.nan
    source: str = "compute"
    note: str = ""


def budget_tolerance(compute: np.ndarray) -> tuple[float, str]:
    """The tolerance (relative) that separates a sweep's budgets, chosen from the spacing of ``compute``.

    Sorted in ln C, a sweep's gaps are of two kinds: small ones between runs of one budget (0 when C
    is repeated exactly; a few percent when C = 6ND is computed from the tokens actually seen) and
    large ones between budgets (a factor 1.5-3 in practice). The tolerance goes between the two: of
    the splits of the sorted gaps into "within" and "between" with at most ``n // 2`` budgets, the one
    with the largest ratio ``narrowest between-gap / widest within-gap`` (within-gaps under
    :data:`BUDGET_RTOL` count as that much), and the tolerance is their geometric mean. When no split
    has a ratio of at least :data:`BUDGET_JUMP` the data has no clear budgets and the tolerance is
    :data:`BUDGET_RTOL`. Returns (tolerance, how it was chosen, in words).
    """
    lc = np.sort(np.log(np.asarray(compute, float)))
    floor = math.log1p(BUDGET_RTOL)
    gaps = np.sort(np.diff(lc))
    n, m = len(lc), len(gaps)
    # split j: gaps[:j] inside budgets, gaps[j:] between them (m - j + 1 budgets)
    j = np.arange(m)
    within_all = np.maximum(np.concatenate([[floor], gaps[:-1]]), floor) if m else np.zeros(0)
    eligible = (gaps > floor) & (m - j + 1 <= max(1, n // 2))
    eligible &= np.concatenate([[True], gaps[1:] != gaps[:-1]]) if m else eligible  # not inside a run of ties
    score = np.where(eligible, gaps / np.where(within_all > 0, within_all, floor), 0.0)
    best_j = int(np.argmax(score)) if m and score.max() > 0 else -1
    best = float(score[best_j]) if best_j >= 0 else 0.0
    if best_j < 0 or best < BUDGET_JUMP:
        why = (f"no clear gap between budgets in the compute values (the best split's ratio is {best:.2g}, "
               f"under {BUDGET_JUMP:g})" if best_j >= 0 else "no two compute values differ by more than "
               f"{BUDGET_RTOL:.0%}")
        return BUDGET_RTOL, (f"tolerance {BUDGET_RTOL:.0%} (the default: {why}); map a budget column or "
                             "parse the budget from the run names if the sweep's budgets are not found")
    within = max(gaps[best_j - 1], floor) if best_j > 0 else floor
    widest = gaps[best_j - 1] if best_j > 0 else 0.0
    tol = math.sqrt(within * gaps[best_j])
    return math.expm1(tol), (f"tolerance {_percent(math.expm1(tol))}, chosen from the spacing of compute: the widest "
                             f"gap kept inside a budget is {_percent(math.expm1(widest))}, the narrowest gap between "
                             f"budgets {_percent(math.expm1(gaps[best_j]))}")


def _percent(x: float) -> str:
    return format_value(x, "fraction", digits=2)


def budget_labels(compute: np.ndarray, rtol: float | None = BUDGET_RTOL) -> tuple[np.ndarray, dict[str, float]]:
    """Group compute values whose neighbours agree within ``rtol`` (relative): a label per run, each label's C.

    Sorted in ln C, a new budget starts after a gap wider than ``ln(1 + rtol)``; ``rtol=None``
    chooses it from the data (:func:`budget_tolerance`). A budget's C is the geometric mean of its
    runs' C.
    """
    found = find_budgets(compute, rtol)
    return found.labels, found.values


def find_budgets(compute: np.ndarray, rtol: float | None = None) -> Budgeting:
    """:class:`Budgeting` of ``compute`` by gaps in ln C (``rtol=None``: the tolerance from the data)."""
    compute = np.asarray(compute, float)
    if rtol is None:
        rtol, how = budget_tolerance(compute) if len(compute) > 1 else (BUDGET_RTOL, "")
    else:
        if not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol >= 0):
            raise FitError(f"the budget tolerance must be a non-negative number (0.05 = 5%); got {rtol!r}")
        how = f"tolerance {_percent(float(rtol))}, as given"
    order = np.argsort(compute, kind="stable")
    lc = np.log(compute[order])
    starts = np.concatenate([[True], np.diff(lc) > math.log1p(rtol)])
    cluster = np.cumsum(starts) - 1
    labels = np.empty(len(compute), dtype=object)
    values: dict[str, float] = {}
    for c in range(cluster[-1] + 1 if len(cluster) else 0):
        members = order[cluster == c]
        value = float(np.exp(np.mean(np.log(compute[members]))))
        label = _short(value)
        while label in values:  # two budgets that round alike
            label += "'"
        values[label] = value
        labels[members] = label
    note = (f"budgets from the compute values: neighbouring runs (sorted by C) more than a factor 1 + tolerance "
            f"apart start a new budget; {how}") if how else ""
    return Budgeting(labels=labels, values=values, tolerance=float(rtol), source="compute", note=note)


#: A float with an exponent in a run name: 6e+19, 1e20, 3E18, 1.5e21 (not part of a longer word or number).
_BUDGET_IN_NAME = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![A-Za-z0-9.])")
#: A number found in a name is a FLOP budget only from this size up (a learning rate 3e-4 is not).
_MIN_NAMED_BUDGET = 1e9


def budget_from_name(name: str) -> float:
    """The compute budget written in a run name (``isoflop-6e+19-d512-L8`` -> 6e19); NaN when none is.

    The number is the last float written with an exponent (6e+19, 1e20, 3E18, 1.5e21) that is at
    least 1e9, so a learning rate (``lr3e-4``) next to it is not taken for the budget.
    """
    found = [float(f"{m}e{e}") for m, e in _BUDGET_IN_NAME.findall(str(name))]
    found = [v for v in found if math.isfinite(v) and v >= _MIN_NAMED_BUDGET]
    return found[-1] if found else math.nan


def _resolve_column(runs, column: str) -> str | None:
    """The frame column a user's name refers to: a column kept as read, or a role by its file name."""
    frame = runs.frame
    if column in frame.columns and column not in ("params", "tokens", "compute") and column not in runs.metrics:
        return column
    for role in ("run_id", "group"):
        if runs.roles.get(role) == column and not (runs.derived and role in runs.derived):
            return role
    return None


def _budget_column_labels(runs, column: str, compute: np.ndarray, keep: np.ndarray) -> Budgeting:
    """Budgets named by a column: its values as labels when they repeat, else budgets parsed from the names."""
    frame = runs.frame
    resolved = _resolve_column(runs, column)
    if resolved is None:
        usable = [c for c in frame.columns if c not in ("params", "tokens", "compute") and c not in runs.metrics]
        raise DataError(f"no budget column `{column}`; choose one of {', '.join(f'`{c}`' for c in usable) or 'none'}, "
                        "or let the budgets be found from the compute values")
    text = frame[resolved].astype(str).to_numpy(dtype=object)
    distinct = len(set(text[keep].tolist()))
    if resolved != "run_id" and distinct <= max(1, int(keep.sum()) // 2):
        values = {}
        for label in dict.fromkeys(text[keep].tolist()):
            members = keep & (text == label)
            values[label] = float(np.exp(np.mean(np.log(compute[members]))))
        return Budgeting(labels=text, values=values, source=f"column `{column}`",
                         note=f"budgets from the values of column `{column}`")
    # one value per run (a run name): the budget is the number written in it
    parsed = np.array([budget_from_name(t) for t in text])
    missing = keep & ~np.isfinite(parsed)
    if missing.any():
        rows = np.asarray(runs.source_rows)[missing]
        examples = ", ".join(f"'{t}'" for t in text[missing][:3])
        raise DataError(f"column `{column}`, {format_rows(rows)}: no compute budget in {examples}. Budgets are read "
                        "from names that contain one (isoflop-6e+19-d512, run_1e20_n3, ...); choose another column "
                        "or let the budgets be found from the compute values.")
    labels = np.empty(len(text), dtype=object)
    labels[:] = ""
    values = {}
    for v in sorted(set(parsed[keep].tolist())):
        label = _short(v)
        while label in values:  # 1e20 and 1.04e20 round alike
            label += "'"
        values[label] = float(v)
        labels[keep & (parsed == v)] = label
    return Budgeting(labels=labels, values=values, source=f"names in column `{column}`",
                     note=f"budgets read from the run names in column `{column}` (the number such as 6e+19 in each "
                          "name is the budget's C)")


# ------------------------------------------------------------------------------ batched parabolas


def fit_parabolas(v: np.ndarray, t: np.ndarray, w: np.ndarray, *, robust: bool = True,
                  iterations: int = IRLS_ITERATIONS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted (robust) quadratic fits ``t ~ c0 + c1 v + c2 v^2`` for a batch.

    ``v``, ``t``: (..., n) abscissae and targets (padding: weight 0); ``w``: (..., n) non-negative
    weights (bootstrap counts). Robust: Huber IRLS, ``omega = min(1, c s / |r|)`` with
    ``s = 1.4826 median|r|`` over the points present. Returns (coef (..., 3), omega (..., n),
    ok (...)); ``ok`` is False where fewer than 3 distinct abscissae carry weight.
    """
    v, t, w = np.broadcast_arrays(np.asarray(v, float), np.asarray(t, float), np.asarray(w, float))
    present = w > 0
    ok = _distinct_count(v, present) >= 3
    n_present = present.sum(axis=-1)
    t0 = np.where(present, t, 0.0)
    powers = [np.ones_like(v), v, v * v, v**3, v**4]
    omega = np.ones_like(w)
    coef = np.zeros(v.shape[:-1] + (3,))
    safe = np.eye(3)
    for it in range(iterations if robust else 1):
        ww = w * omega
        m = [np.sum(ww * p, axis=-1) for p in powers]  # moments sum w v^p, p = 0..4
        H = np.stack([np.stack([m[i + j] for j in range(3)], axis=-1) for i in range(3)], axis=-2)
        g = np.stack([np.sum(ww * t0 * powers[i], axis=-1) for i in range(3)], axis=-1)
        H = np.where(ok[..., None, None], H + 1e-12 * np.eye(3), safe)
        with np.errstate(all="ignore"):
            coef = np.linalg.solve(H, g[..., None])[..., 0]
        if not robust:
            break
        r = np.abs(t0 - (coef[..., 0:1] + coef[..., 1:2] * v + coef[..., 2:3] * powers[2]))
        scale = 1.4826 * _median_present(r, present, n_present)
        scale = np.maximum(np.nan_to_num(scale, nan=0.0), 1e-9)[..., None]
        new = np.minimum(1.0, HUBER_C * scale / np.maximum(r, 1e-300))
        converged = it > 0 and np.max(np.abs(new - omega), initial=0.0) < 1e-9
        omega = new
        if converged:
            break
    coef = np.where(ok[..., None], coef, np.nan)
    return coef, np.where(present, omega, 0.0), ok


def _median_present(r: np.ndarray, present: np.ndarray, n_present: np.ndarray) -> np.ndarray:
    """Median of ``r`` over the present entries along the last axis (each entry once)."""
    s = np.sort(np.where(present, r, np.inf), axis=-1)
    lo = np.clip((n_present - 1) // 2, 0, None)[..., None]
    hi = np.clip(n_present // 2, 0, None)[..., None]
    return 0.5 * (np.take_along_axis(s, lo, axis=-1) + np.take_along_axis(s, hi, axis=-1))[..., 0]


def _distinct_count(v: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Number of distinct values of ``v`` among the present entries, along the last axis."""
    s = np.sort(np.where(present, v, np.inf), axis=-1)
    new = np.concatenate([np.isfinite(s[..., :1]), (s[..., 1:] != s[..., :-1]) & np.isfinite(s[..., 1:])], axis=-1)
    return new.sum(axis=-1)


def vertex(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex (v*, value) of ``c0 + c1 v + c2 v^2``; NaN where ``c2 <= 0`` (no minimum)."""
    c0, c1, c2 = coef[..., 0], coef[..., 1], coef[..., 2]
    with np.errstate(all="ignore"):
        vs = np.where(c2 > 0, -c1 / (2 * c2), np.nan)
        return vs, c0 + c1 * vs + c2 * vs * vs


def _line_fits(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted straight lines ``y = c0 + c1 x`` per row (B, G) -> (B, 2) (slope, intercept)."""
    y = np.where(w > 0, y, 0.0)
    sw = w.sum(axis=1)
    with np.errstate(all="ignore"):
        mx = (w * x).sum(axis=1) / sw
        my = (w * y).sum(axis=1) / sw
        sxx = (w * (x - mx[:, None]) ** 2).sum(axis=1)
        sxy = (w * (x - mx[:, None]) * (y - my[:, None])).sum(axis=1)
        slope = sxy / sxx
    return np.column_stack([slope, my - slope * mx])


# ------------------------------------------------------------------------------ entry point


def _check(n_resamples, confidence_level, method, seed, min_runs) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or not 2 <= n_resamples <= 100_000:
        raise FitError(f"`n_resamples` must be an integer from 2 to 100000; got {n_resamples!r}")
    if not (isinstance(confidence_level, (int, float)) and 0 < confidence_level < 1):
        raise FitError(f"`confidence_level` must be between 0 and 1 (e.g. 0.95); got {confidence_level!r}")
    if method not in METHODS:
        raise FitError(f"`method` must be one of {', '.join(METHODS)}; got {method!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise FitError(f"`seed` must be a non-negative integer or None; got {seed!r}")
    if isinstance(min_runs, bool) or not isinstance(min_runs, (int, np.integer)) or min_runs < 3:
        raise FitError(f"`min_runs` must be an integer of at least 3 (a parabola has 3 coefficients); got {min_runs!r}")


def isoflop_profiles(
    runs,
    *,
    y: str | None = None,
    exclude: Sequence[str] = (),
    budgets: str | None = None,
    robust: bool = True,
    include_unbracketed: bool = False,
    min_runs: int = 5,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    method: str = "runs",
    tolerance: float | None = None,
    by: str | None = None,
) -> IsoFlopResult | IsoFlopGroups:
    """Approach 2 on ``runs``: a robust parabola per compute budget, its minimum, and the frontier.

    With ``by`` (a group or configuration column: ``"group"``, or its name in the file such as
    ``"config"``) the analysis is done once per group and an :class:`IsoFlopGroups` is returned:
    configurations are never pooled into one frontier unless asked (``by=None``, with a warning
    when the runs of one budget come from several groups).

    Parameters
    ----------
    runs : Runs
        Needs model size (params) and compute (or tokens, from which ``C = k N D`` is derived).
    y : str, optional
        The metric (default: the first metric). Must be positive (its log is fitted).
    exclude : run ids left out (the same exclusions as every other fit).
    budgets : str, optional
        ``None``: budgets are found from the compute values (gaps in ln C wider than ``tolerance``).
        Else a column (``"group"``, an extra column, or the run names): when its values repeat they
        name each run's budget; when each run has its own (a run name such as
        ``isoflop-6e+19-d512-L8``) the budget is the number written in it (:func:`budget_from_name`).
    tolerance : float, optional
        Relative gap in C that starts a new budget (0.05 = 5%); ``None`` (default) chooses it from
        the spacing of the compute values (:func:`budget_tolerance`). The result's ``notes`` say
        which tolerance was used and how far apart the runs of each budget are.
    robust : bool
        Huber IRLS (default) or plain least squares for the parabolas.
    include_unbracketed : bool
        Keep budgets whose vertex lies outside their sweep in the frontier fit (default: leave out).
    min_runs : int
        Budgets with fewer kept runs (or fewer than 3 distinct sizes) are reported, not fitted
        (:attr:`IsoFlopResult.not_fitted`), with the reason in their note.
    n_resamples, confidence_level, seed, method
        The bootstrap: ``"runs"`` resamples runs within each budget, ``"budgets"`` whole budgets.
        The random stream is ``SeedSequence([seed, 2])``: independent of a family bootstrap with the
        same seed, so Approach 2 and 3 resamples may be paired by index.
    """
    _check(n_resamples, confidence_level, method, seed, min_runs)
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                  or not math.isfinite(tolerance) or tolerance < 0):
        raise FitError(f"`tolerance` must be a non-negative number (0.05 = 5%) or None; got {tolerance!r}")
    if by is not None:
        return isoflop_by_group(runs, by=by, y=y, exclude=exclude, budgets=budgets, robust=robust,
                                include_unbracketed=include_unbracketed, min_runs=min_runs, n_resamples=n_resamples,
                                confidence_level=confidence_level, seed=seed, method=method, tolerance=tolerance)
    t_start = time.perf_counter()
    y = y if y is not None else runs.default_metric
    if y not in runs.metrics:
        raise DataError(f"no metric column `{y}`; the data has: {', '.join(runs.metrics) or 'none'}")
    if not runs.has("params") or not runs.has("compute"):
        have = [r for r in ("params", "tokens", "compute") if runs.has(r)]
        raise DataError(
            "IsoFLOP profiles need model size N (params) and compute C (or tokens D, from which C = k·N·D is "
            f"derived); the data has {', '.join(have) or 'none of them'}. Map the columns, or use Explore for a "
            "law against one input.")
    k = float(runs.flops_per_token_param)
    ids = np.asarray(runs.run_ids, dtype=object).astype(str)
    known = set(ids.tolist())
    exclude = tuple(dict.fromkeys(str(e) for e in exclude))
    warnings: list[str] = []
    unknown = [e for e in exclude if e not in known]
    if unknown:
        warnings.append(f"ignored {len(unknown)} excluded run id(s) not in the data: {', '.join(unknown[:5])}")
    excluded = tuple(e for e in exclude if e in known)
    n_all, c_all, yv = runs.values("params"), runs.values("compute"), runs.values(y)
    keep = ~np.isin(ids, np.array(excluded, dtype=object))
    missing = keep & ~(np.isfinite(yv) & np.isfinite(n_all) & np.isfinite(c_all))
    dropped = tuple(ids[missing].tolist())
    if dropped:
        warnings.append(f"{len(dropped)} run(s) have no `{y}`, params or compute value and were left out: "
                        f"{', '.join(dropped[:5])}" + (" ..." if len(dropped) > 5 else ""))
    keep &= ~missing
    bad = keep & (yv <= 0)
    if bad.any():
        rows = np.asarray(runs.source_rows)[bad]
        files = sorted(set(np.asarray(runs.source_files)[bad].tolist()))
        raise DataError(f"`{', '.join(files)}`, column `{y}`, {format_rows(rows)}: values must be positive because "
                        f"IsoFLOP parabolas are fitted to log({y}). Exclude those runs.")

    notes: list[str] = []
    if budgets is None:
        labels = np.empty(len(ids), dtype=object)
        labels[:] = ""
        found = find_budgets(c_all[keep], tolerance) if keep.any() else Budgeting(labels=labels[:0], values={})
        labels[keep], values = found.labels, found.values
    else:
        found = _budget_column_labels(runs, budgets, c_all, keep)
        labels, values = found.labels, found.values
        for label in values:
            members = keep & (labels == label)
            spread = np.ptp(np.log(c_all[members])) if members.any() else 0.0
            if spread > math.log1p(BUDGET_RTOL) and found.source.startswith("column"):
                warnings.append(f"budget `{label}` (column `{budgets}`) holds runs whose compute differs by a factor "
                                f"{math.exp(spread):.2f}; a profile assumes one C per budget")
    if found.note:
        notes.append(found.note)
    spreads = {}
    for label in values:
        lc_m = np.log(c_all[keep & (labels == label)])
        spreads[label] = float(np.exp(np.ptp(lc_m))) if lc_m.size else 1.0
    if spreads:
        widest = max(spreads, key=spreads.get)
        notes.append(f"spread of compute within a budget (largest C / smallest C): at most "
                     f"{_percent(spreads[widest] - 1)} (budget {widest}); per budget in the table")
    pooled = _pooled_groups(runs, labels, keep)
    if pooled:
        warnings.append(pooled)

    # -- the budgets with enough runs
    order = sorted(values, key=lambda lab: values[lab])
    members_of = {lab: np.flatnonzero(keep & (labels == lab)) for lab in order}
    fittable, skipped = [], {}
    for lab in order:
        m = members_of[lab]
        distinct = len(np.unique(n_all[m]))
        if len(m) < min_runs or distinct < 3:
            skipped[lab] = (f"reported, not fitted: {len(m)} run(s), {distinct} distinct size(s) are too few for a "
                            f"profile (need {min_runs} runs and 3 sizes)")
        else:
            fittable.append(lab)
    if len(fittable) < 2:
        counts = sorted((len(members_of[lab]) for lab in order), reverse=True)[:5]
        raise FitError(
            f"IsoFLOP profiles need at least 2 compute budgets with {min_runs} or more runs each; found "
            f"{len(fittable)} (largest budgets have {', '.join(map(str, counts)) or 'no'} runs). "
            + (f"Runs were grouped by their compute values ({found.note.partition('; ')[2] or 'tolerance 5%'}); "
               "choose a budget column or a tolerance instead" if budgets is None else f"Check the budget column "
               f"`{budgets}`")
            + ", or use Explore to fit a law to runs that are not IsoFLOP sweeps.")

    G = len(fittable)
    sizes = [len(members_of[lab]) for lab in fittable]
    n_max = max(sizes)
    V = np.zeros((G, n_max))
    T = np.zeros((G, n_max))
    M = np.zeros((G, n_max), dtype=bool)
    centres, scales = np.zeros(G), np.ones(G)
    ranges = np.zeros((G, 2))
    for g, lab in enumerate(fittable):
        m = members_of[lab]
        ln = np.log(n_all[m])
        centres[g] = 0.5 * (ln.min() + ln.max())
        scales[g] = max(0.5 * (ln.max() - ln.min()), 1e-12)
        ranges[g] = ln.min(), ln.max()
        V[g, : len(m)] = (ln - centres[g]) / scales[g]
        T[g, : len(m)] = np.log(yv[m])
        M[g, : len(m)] = True

    # -- the full-data fit
    coef, omega, ok = fit_parabolas(V, T, M.astype(float), robust=robust)
    vs, fv = vertex(coef)
    log_n = centres + vs * scales
    position = (log_n - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0])
    below = np.array([len(np.unique(V[g][M[g] & (V[g] < vs[g])])) if np.isfinite(vs[g]) else 0 for g in range(G)])
    above = np.array([len(np.unique(V[g][M[g] & (V[g] > vs[g])])) if np.isfinite(vs[g]) else 0 for g in range(G)])
    bracketed = ok & np.isfinite(log_n) & (below >= BRACKET_RUNS) & (above >= BRACKET_RUNS)
    used = bracketed | (include_unbracketed & ok & np.isfinite(log_n))
    if used.sum() < 2:
        raise FitError(
            f"only {int(used.sum())} of {G} budgets have a minimum inside their sweep; the frontier needs at least 2. "
            "Sweep model sizes on both sides of each budget's best size, or turn on `include_unbracketed` to use "
            "extrapolated minima.")
    budget_c = np.array([values[lab] for lab in fittable])
    lc = np.log(budget_c)
    line = _line_fits(lc[None, :], log_n[None, :], used[None, :].astype(float))[0]
    a, lk = float(line[0]), float(line[1])

    # -- the bootstrap
    rng = np.random.default_rng(None if seed is None else np.random.SeedSequence([int(seed), 2]))
    B = int(n_resamples)
    sizes_arr = np.array(sizes)
    if method == "runs":
        draws = np.floor(rng.random((B, G, n_max)) * sizes_arr[None, :, None]).astype(np.int64)
        valid_draw = np.arange(n_max)[None, None, :] < sizes_arr[None, :, None]
        flat = (np.arange(B)[:, None, None] * G + np.arange(G)[None, :, None]) * n_max + draws
        W = np.bincount(flat[np.broadcast_to(valid_draw, flat.shape)], minlength=B * G * n_max)
        W = W.reshape(B, G, n_max).astype(float)
        budget_w = np.broadcast_to(used.astype(float), (B, G)).copy()
    else:
        picks = rng.integers(0, int(used.sum()), size=(B, int(used.sum())))
        counts = np.zeros((B, G))
        used_idx = np.flatnonzero(used)
        np.add.at(counts, (np.arange(B)[:, None], used_idx[picks]), 1.0)
        budget_w = counts
        W = np.broadcast_to(M.astype(float), (B, G, n_max)).copy()
    coef_b, _, ok_b = fit_parabolas(np.broadcast_to(V, (B, G, n_max)), np.broadcast_to(T, (B, G, n_max)), W,
                                    robust=robust)
    vs_b, _ = vertex(coef_b)
    log_n_b = centres[None, :] + vs_b * scales[None, :]
    with np.errstate(over="ignore"):  # a flat resampled parabola puts N* beyond 1e308: inf, left out below
        n_opt_samples = np.exp(log_n_b)
    valid = ok_b & np.isfinite(log_n_b)
    bw = np.where(valid, budget_w, 0.0)
    lines_b = _line_fits(np.broadcast_to(lc, (B, G)), np.where(valid, log_n_b, 0.0), bw)
    distinct_budgets = ((bw > 0).sum(axis=1))
    failed = (distinct_budgets < 2) | ~np.all(np.isfinite(lines_b), axis=1)
    samples = np.where(failed[:, None], np.nan, lines_b)
    n_failed = int(failed.sum())
    if B - n_failed < 2:
        raise FitError(f"all but {B - n_failed} of {B} bootstrap resamples failed; too few budgets to bootstrap")
    if n_failed:
        warnings.append(f"{n_failed} of {B} resamples failed (fewer than 2 budgets with a minimum) and are left out")
    lost = int(((budget_w > 0) & ~valid).any(axis=1).sum())
    if lost:
        warnings.append(f"in {lost} of {B} resamples at least one budget's parabola had no minimum and was left out "
                        "of that resample's frontier")

    level = float(confidence_level)
    profiles = []
    for g, lab in enumerate(fittable):
        m = members_of[lab]
        s = n_opt_samples[:, g]
        lo, hi = percentile_interval(s, level) if (~np.isnan(s)).sum() >= 2 else (math.nan, math.nan)
        note = ""
        if not ok[g]:
            note = "fewer than 3 distinct sizes"
        elif not np.isfinite(log_n[g]):
            note = "the profile curves downwards: no minimum"
        elif not bracketed[g]:
            if ranges[g, 0] <= log_n[g] <= ranges[g, 1]:
                side = "smallest" if below[g] < BRACKET_RUNS else "largest"
                note = f"minimum at the {side} sizes swept: fewer than {BRACKET_RUNS} sizes beyond it"
            else:
                side = "below the smallest" if log_n[g] < ranges[g, 0] else "above the largest"
                note = f"minimum extrapolated {side} size swept"
        elif position[g] < OFF_CENTRE or position[g] > 1 - OFF_CENTRE:
            note = "minimum near the edge of the sweep (off-centre)"
        profiles.append(BudgetProfile(
            label=lab, compute=float(budget_c[g]), run_ids=ids[m], params=n_all[m], loss=yv[m],
            weights=omega[g, : len(m)], coef=coef[g], centre=float(centres[g]), scale=float(scales[g]),
            n_opt=float(np.exp(log_n[g])) if np.isfinite(log_n[g]) else math.nan,
            loss_opt=float(np.exp(fv[g])) if np.isfinite(fv[g]) else math.nan,
            n_opt_low=float(lo), n_opt_high=float(hi), bracketed=bool(bracketed[g]),
            position=float(position[g]) if np.isfinite(position[g]) else math.nan, used=bool(used[g]), note=note,
            spread=spreads[lab]))
    for lab, why in skipped.items():
        m = members_of[lab]
        profiles.append(BudgetProfile(
            label=lab, compute=float(values[lab]), run_ids=ids[m], params=n_all[m], loss=yv[m],
            weights=np.zeros(len(m)), coef=np.full(3, np.nan), centre=math.nan, scale=math.nan, n_opt=math.nan,
            loss_opt=math.nan, n_opt_low=math.nan, n_opt_high=math.nan, bracketed=False, position=math.nan,
            used=False, note=why, spread=spreads[lab]))
    profiles.sort(key=lambda p: p.compute)
    not_bracketed = [p.label for p in profiles if p.label not in skipped and not p.bracketed]
    if not_bracketed:
        action = "kept in" if include_unbracketed else "left out of"
        warnings.append(f"{len(not_bracketed)} budget(s) do not bracket their minimum ({', '.join(not_bracketed)}): "
                        f"the sweep misses the best size; {action} the frontier fit. Extend those sweeps.")
    edge = [p.label for p in profiles if p.bracketed and p.note.startswith("minimum near")]
    if edge:
        warnings.append(f"budget(s) {', '.join(edge)} have their minimum near the edge of the sweep: Approach 2 is "
                        "biased when sweeps are off-centre; compare with Approach 3 (the chinchilla family)")
    if skipped:
        warnings.append(f"{len(skipped)} budget(s) have too few runs or sizes for a profile and are reported, not "
                        f"fitted: {', '.join(skipped)}")
    if used.sum() < 4:
        warnings.append(f"the frontier rests on {int(used.sum())} budgets only; its interval is wide or unreliable")

    params = {"a": a, "k_N": math.exp(lk), "b": 1.0 - a, "k_D": math.exp(-lk) / k}
    return IsoFlopResult(
        profiles=tuple(profiles), params=params, samples=samples, n_opt_samples=n_opt_samples, failed=failed, y=y,
        k=k, n_resamples=B, confidence_level=level, method=method, seed=seed,
        seconds=time.perf_counter() - t_start, robust=bool(robust), excluded=excluded, dropped=dropped,
        warnings=tuple(warnings), notes=tuple(notes), tolerance=found.tolerance, budgets_from=found.source)


# ------------------------------------------------------------------------------ Approach 2 vs 3


@dataclass(frozen=True)
class ApproachComparison:
    """Approach 2 (IsoFLOP parabolas) and Approach 3 (the chinchilla family) on the same runs."""

    a2: Estimate
    a3: Estimate
    difference: Estimate  # a2 - a3, over resamples paired by index (the bootstraps are independent)
    n_opt: dict  # compute -> {"approach2": Estimate, "approach3": Estimate, "ratio": Estimate}
    n_pairs: int
    interval_label: str

    @property
    def agree(self) -> bool:
        """Whether the interval of ``a2 - a3`` contains 0."""
        return bool(self.difference.low <= 0 <= self.difference.high)

    def table(self):
        import pandas as pd

        rows = [{"quantity": "a in N* ∝ C^a", "Approach 2 (IsoFLOP)": format_estimate(*self.a2.as_tuple()),
                 "Approach 3 (chinchilla)": format_estimate(*self.a3.as_tuple()),
                 "difference / ratio (2 vs 3)": "Δ " + format_estimate(*self.difference.as_tuple())}]
        for c, d in self.n_opt.items():
            rows.append({"quantity": f"N* at C = {_short(c)}",
                         "Approach 2 (IsoFLOP)": format_estimate(*d["approach2"].as_tuple()),
                         "Approach 3 (chinchilla)": format_estimate(*d["approach3"].as_tuple()),
                         "difference / ratio (2 vs 3)": "× " + format_estimate(*d["ratio"].as_tuple())})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        def e(x: Estimate):
            return {"value": x.value, "low": x.low, "high": x.high}

        return {"a2": e(self.a2), "a3": e(self.a3), "difference": e(self.difference), "agree": self.agree,
                "n_opt": {str(c): {k: e(v) for k, v in d.items()} for c, d in self.n_opt.items()},
                "n_pairs": self.n_pairs, "interval": self.interval_label}


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(a, float) / np.asarray(b, float)


def compare_with_approach3(iso: IsoFlopResult, boot3: BootstrapResult, compute: Sequence[float] = ()) -> ApproachComparison:
    """Approach 2 against the chinchilla family's frontier (Approach 3): the exponent a and N* at
    the given budgets, with intervals on ``a2 - a3`` and on ``N*_2 / N*_3``.

    Resample ``i`` of each is paired with resample ``i`` of the other; both bootstraps must be
    independent (they are, when made by :func:`isoflop_profiles` and :func:`scalecore.bootstrap`).
    """
    fam3 = boot3.family
    if not fam3.is_two_input or "a" not in optimum.compute_optimum(fam3, boot3.fit.theta, 1e20, iso.k):
        raise FitError(f"Approach 3 is the fit of a law in N and D whose frontier is N* ∝ C^a in closed form (the "
                       f"chinchilla family); got the {fam3.name} family")
    level = iso.confidence_level
    s2 = iso.samples[~iso.failed]
    s3 = boot3.good
    n = min(len(s2), len(s3))
    if n < 2:
        raise FitError("too few successful resamples to compare the two approaches")
    s2, s3 = s2[:n], s3[:n]
    k = iso.k

    def est(point, values):
        values = np.asarray(values, float)
        finite = values[np.isfinite(values)]
        if (~np.isnan(values)).sum() < 2:
            return Estimate(float(point), math.nan, math.nan, math.nan)
        lo, hi = percentile_interval(values, level)  # an overflowed N* (inf) counts as the largest
        with np.errstate(all="ignore"):
            se = float(np.std(finite, ddof=1)) if finite.size >= 2 else math.nan
        return Estimate(float(point), float(lo), float(hi), se)

    a3_point = float(optimum.compute_optimum(fam3, boot3.fit.theta, 1.0, k)["a"])
    a3_s = optimum.compute_optimum(fam3, s3, 1.0, k)["a"]
    a2_point = iso.params["a"]
    out = {}
    for c in compute:
        c = float(c)
        n2_p = iso.params["k_N"] * c ** a2_point
        with np.errstate(over="ignore", invalid="ignore"):
            n2_s = np.exp(s2[:, 1] + s2[:, 0] * math.log(c))
        n3_p = float(optimum.compute_optimum(fam3, boot3.fit.theta, c, k)["params"])
        n3_s = optimum.compute_optimum(fam3, s3, c, k)["params"]
        out[c] = {"approach2": est(n2_p, n2_s), "approach3": est(n3_p, n3_s), "ratio": est(n2_p / n3_p, _ratio(n2_s, n3_s))}
    label = (f"{level:.0%} bootstrap percentile intervals; Approach 2: {iso.method} resampled; Approach 3: "
             f"{boot3.method} bootstrap; {n} independent resamples paired by index for the difference and ratio")
    return ApproachComparison(a2=est(a2_point, s2[:, 0]), a3=est(a3_point, a3_s),
                              difference=est(a2_point - a3_point, s2[:, 0] - a3_s), n_opt=out, n_pairs=n,
                              interval_label=label)


# ------------------------------------------------------------------------------ one analysis per group


def _pooled_groups(runs, labels: np.ndarray, keep: np.ndarray) -> str:
    """A warning when the runs of one budget come from several groups (configurations pooled), else ""."""
    if "group" in runs.derived:
        return ""
    groups = runs.frame["group"].astype(str).to_numpy(dtype=object)
    names = sorted(set(groups[keep].tolist()))
    if len(names) < 2:
        return ""
    mixed = [lab for lab in dict.fromkeys(labels[keep].tolist()) if len(set(groups[keep & (labels == lab)])) > 1]
    if not mixed:
        return ""  # the group column names the budgets (C=1e20, ...): nothing is pooled
    column = runs.roles.get("group") or "group"
    return (f"these profiles pool {len(names)} groups of column `{column}` ({', '.join(names[:4])}"
            f"{', ...' if len(names) > 4 else ''}) into one frontier; configurations differ in their optimum, so "
            f"analyse one per group (by=\"{column}\")")


def groups_share_budgets(runs) -> bool:
    """Whether the runs' group column holds configurations (several groups at one compute budget,
    found as :func:`isoflop_profiles` finds them) rather than naming the budgets themselves."""
    ok = np.isfinite(runs.values("compute")) & (runs.values("compute") > 0)
    if not ok.any():
        return False
    labels = np.empty(len(ok), dtype=object)
    labels[:] = ""
    labels[ok] = find_budgets(runs.values("compute")[ok]).labels
    return bool(_pooled_groups(runs, labels, ok))


@dataclass(frozen=True, eq=False)
class IsoFlopGroups:
    """One Approach 2 analysis per group (configuration): never a pooled one.

    ``results``: group -> :class:`IsoFlopResult`; ``errors``: group -> why it could not be analysed
    (too few budgets, ...). Iterating gives the groups analysed, in the data's order.
    """

    column: str
    results: dict
    errors: dict
    seconds: float = 0.0

    def __getitem__(self, group: str) -> IsoFlopResult:
        return self.results[group]

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def groups(self) -> list[str]:
        """Every group, analysed or not, in the data's order."""
        return list(dict.fromkeys(list(self.results) + list(self.errors)))

    def table(self):
        """One row per group: a and b with their intervals, budgets in the fit, or why there is no analysis."""
        import pandas as pd

        rows = []
        for g in self.groups:
            res = self.results.get(g)
            if res is None:
                rows.append({self.column: g, "a in N* ∝ C^a": "—", "b in D* ∝ C^b": "—", "budgets fitted": "—",
                             "runs": "—", "note": self.errors[g]})
                continue
            est = res.estimates
            rows.append({
                self.column: g, "a in N* ∝ C^a": format_estimate(*est["a"].as_tuple()),
                "b in D* ∝ C^b": format_estimate(*est["b"].as_tuple()),
                "budgets fitted": f"{len(res.used)} of {len(res.profiles)}",
                "runs": str(sum(p.n_runs for p in res.profiles)), "note": "; ".join(res.warnings[:1]),
                "raw a": est["a"].value, "raw a low": est["a"].low, "raw a high": est["a"].high,
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"by": self.column, "groups": {g: r.to_dict() for g, r in self.results.items()},
                "not_analysed": dict(self.errors)}

    def __repr__(self) -> str:
        parts = []
        for g in self.groups:
            res = self.results.get(g)
            if res is None:
                parts.append(f"{g}: not analysed")
            else:
                a = res.estimates["a"]
                parts.append(f"{g}: a = {format_estimate(a.value, a.low, a.high)}")
        return f"IsoFlopGroups(by `{self.column}`; " + "; ".join(parts) + ")"

    def __str__(self) -> str:
        lines = [f"IsoFLOP profiles (Approach 2), one analysis per value of `{self.column}` ({len(self.results)} of "
                 f"{len(self.groups)} groups analysed; never pooled)", ""]
        for g in self.groups:
            res = self.results.get(g)
            if res is None:
                lines += [f"== {self.column} = {g}: not analysed: {self.errors[g]}", ""]
            else:
                lines += [f"== {self.column} = {g}", str(res), ""]
        return "\n".join(lines).rstrip()


def isoflop_by_group(runs, *, by: str = "group", **kwargs) -> IsoFlopGroups:
    """:func:`isoflop_profiles` once per value of the group column ``by`` (``"group"`` or its name in the
    file, e.g. ``"config"``, or an extra column). A group that cannot be analysed (too few budgets,
    no minimum) is listed in ``errors`` with the reason; the others are unaffected. Each group's
    bootstrap uses the same seed, so a group's numbers do not depend on the other groups."""
    t0 = time.perf_counter()
    column = _resolve_column(runs, by)
    if column is None or column == "run_id":
        usable = [runs.roles.get("group") or "group"] + [
            c for c in runs.frame.columns if c not in ("run_id", "group", "params", "tokens", "compute")
            and c not in runs.metrics]
        raise DataError(f"no group column `{by}`; choose one of {', '.join(f'`{c}`' for c in usable)}")
    name = runs.roles.get(column) if column == "group" and runs.roles.get("group") else by
    values = runs.frame[column].astype(str).to_numpy(dtype=object)
    results, errors = {}, {}
    all_ids = set(map(str, runs.run_ids))
    exclude = [str(e) for e in kwargs.pop("exclude", ())]
    for g in dict.fromkeys(values.tolist()):
        sub = runs.subset(values == g)
        mine = set(map(str, sub.run_ids))
        try:  # another group's exclusions are not "unknown run ids" here
            res = isoflop_profiles(sub, exclude=[e for e in exclude if e in mine or e not in all_ids], **kwargs)
        except (FitError, DataError) as exc:
            errors[g] = " ".join(str(exc).split())
            continue
        results[g] = _with_group(res, g)
    return IsoFlopGroups(column=str(name), results=results, errors=errors, seconds=time.perf_counter() - t0)


def _with_group(res: IsoFlopResult, group: str) -> IsoFlopResult:
    from dataclasses import replace

    return replace(res, group=group)

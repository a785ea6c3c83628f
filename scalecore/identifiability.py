"""Can the runs identify a family at all? A verdict from the full-data fit, before any bootstrap.

A family the data cannot identify does not fail loudly: its fit converges somewhere on a flat
ridge, and its bootstrap then grinds (the broken power law on runs that show no break: 534 of
1,000 resamples failing in about 50 s; Chinchilla's law on runs with one tokens-per-parameter
ratio: 507 failing in 55 s). The verdict reads the same facts from the one fit already made, in
milliseconds:

- **structure**: for a law in N and D, the runs must vary N and D independently. When the
  tokens per parameter are (nearly) the same for every run, ``A/N^α`` and ``B/D^β`` are two power
  laws of one variable and cannot be told apart.
- **curvature**: the Gauss-Newton matrix ``JᵀJ`` of the log residuals at the optimum, in the
  fit's internal coordinates (the log of a coefficient, the exponent itself), over the
  parameters not at a bound. Scaled to unit diagonal, its condition number measures how nearly
  some combination of parameters leaves every prediction unchanged; its inverse times the residual
  variance gives the linearised standard error of each parameter. A parameter whose standard
  error spans more than :data:`MAX_LOG_SE` (three decades, for a coefficient or a break) or half
  its allowed range (an exponent) is not determined by the runs.

When a family is refused, :func:`scalecore.diagnostics.verdict` also names one that the same runs
do identify (a simpler law, against compute where there is compute), fitted and checked the same
way. The bootstrap asks :func:`check` before it resamples, and gives up early when its resamples
do not settle (:data:`SETTLE_CHECKS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .families import Family, get_family

if TYPE_CHECKING:  # fitting imports bootstrap, which asks this module before resampling
    from .fitting import FitResult

#: Condition number (of the correlation-scaled Gauss-Newton matrix) above which some combination of
#: parameters is flat for the data. The identified fits of the bundled samples are at 3e2-2e5.
SINGULAR_CONDITION = 1e10

#: Largest linearised standard error of a log-coefficient (natural log): three decades.
MAX_LOG_SE = math.log(1e3)

#: Largest standard error of a bounded linear parameter, as a share of its allowed range.
MAX_RANGE_SE = 0.5

#: Tokens per parameter whose spread (sd of log10 D/N, after taking out a trend in log10 N) is
#: below this is one ratio: N and D move together.
MIN_RATIO_SPREAD = 0.02

#: Simpler laws tried, in order, when a family is refused (those made for the metric's kind: a loss
#: or an accuracy-like score).
ALTERNATIVES = ("offset_power_law", "power_law", "logistic")

#: A fit with at least this share of its parameters (and at least two) at a bound has collapsed
#: onto a simpler law. On the bundled samples and the real exports only laws for losses fitted to
#: accuracies do (Chinchilla's on Gadre et al.'s 17-task average: A, B, α, β at their bounds, a
#: constant; the broken power law on Ruan et al.'s MMLU: E, α, f), and their bootstraps took
#: 1.3 s and 5.7 s to confirm it; every law that suits its runs has at most one.
COLLAPSED_SHARE = 0.5

#: The bootstrap's early stop: (iterations from the full-data optimum, share of the resamples
#: still moving) above which a family is refused. On the bundled samples and the real exports
#: (resamples still moving at 60 / 150 / 400 iterations): families the runs identify leave at most
#: 1% moving at 60; Chinchilla's law misfitting Kaplan-like runs 20% / 5% / 3%, and on Gadre et
#: al.'s three pooled datasets 51% / 28% / 3%: slow, but they settle, so both go on. The broken
#: power law on runs without a break 66-88% at 60; a logistic law on a loss ~100%; on 15 Pythia
#: models the unbounded logistic 43% / 41% / 39%: refused.
SETTLE_CHECKS = ((60, 0.6), (150, 0.35))


@dataclass(frozen=True)
class Verdict:
    """Whether ``family`` is identified by the runs of ``fit``, and why not."""

    family: str
    identified: bool
    reasons: tuple[str, ...]
    undetermined: tuple[str, ...] = ()
    standard_errors: dict = field(default_factory=dict, repr=False)
    condition: float = math.nan
    alternative: str | None = None
    alternative_x: str | None = None

    def text(self) -> str:
        """One line for a page or a terminal."""
        label = get_family(self.family).label
        if self.identified:
            return f"{label} is identified by these runs."
        out = f"{label} cannot be identified from these runs: {'; '.join(self.reasons)}."
        if self.alternative:
            alt = get_family(self.alternative).label
            out += f" Use the {alt.lower()}" + (f" against {self.alternative_x}" if self.alternative_x else "") + "."
        return out

    def to_dict(self) -> dict:
        return {"family": self.family, "identified": self.identified, "reasons": list(self.reasons),
                "undetermined": list(self.undetermined), "condition": self.condition,
                "standard_errors": dict(self.standard_errors), "alternative": self.alternative,
                "alternative_x": self.alternative_x}


def _ratio_spread(fit: FitResult) -> float:
    """sd of log10(D/N) about its linear trend in log10 N (0 when tokens are a power of params)."""
    ln = np.log10(fit.problem.inputs["params"])
    ld = np.log10(fit.problem.inputs["tokens"])
    if np.ptp(ln) == 0:
        return float(np.std(ld - ln))
    slope, icept = np.polyfit(ln, ld - ln, 1)
    return float(np.std(ld - ln - (slope * ln + icept)))


def curvature(fit: FitResult) -> tuple[float, dict[str, float]]:
    """(condition number, {parameter: linearised standard error}) over the parameters not at a
    bound, in internal coordinates (natural log of the ``log_params``)."""
    fam: Family = fit.family
    problem = fit.problem
    z = fam.to_internal(fit.theta)
    _, J = fam.evaluate(z[None, :], problem.inputs, jac=True)
    J = np.asarray(J)[:, 0, :].T  # (n, p)
    free = np.array([n not in fit.at_bound for n in fam.param_names])
    names = [n for n, keep in zip(fam.param_names, free) if keep]
    if not names:
        return 1.0, {}
    Jf = J[:, free]
    H = Jf.T @ Jf
    d = np.sqrt(np.diag(H))
    if not np.all(np.isfinite(H)) or np.any(d == 0):
        return math.inf, {n: (math.inf if s == 0 else math.nan) for n, s in zip(names, d)}
    C = H / np.outer(d, d)
    w = np.linalg.eigvalsh(C)
    condition = math.inf if w[0] <= w[-1] * 1e-300 else float(w[-1] / w[0])
    dof = max(problem.n - len(names), 1)
    s2 = max(float(np.sum(fit.residuals**2)) / dof, 1e-24)
    if not math.isfinite(condition) or condition > 1e15:
        se = np.full(len(names), math.inf)
    else:
        cov = np.linalg.inv(C) / np.outer(d, d) * s2
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    return condition, dict(zip(names, map(float, se)))


def _limit(fam: Family, name: str) -> float:
    if name in fam.log_params:
        return MAX_LOG_SE
    lo, hi = fam.bounds[fam.param_names.index(name)]
    return MAX_RANGE_SE * (hi - lo) if math.isfinite(hi - lo) else math.inf


def _se_text(fam: Family, name: str, se: float) -> str:
    if name in fam.log_params:
        decades = se / math.log(10)
        return f"`{name}` ({'any value fits' if not decades <= 100 else f'±{decades:.1f} decades'})"
    return f"`{name}` ({'any value fits' if not se <= 1e3 else f'±{se:.2g}'})"


def check(fit: FitResult) -> Verdict:
    """The verdict on ``fit``'s own family, from the fit alone (no other family is fitted)."""
    fam = fit.family
    reasons: list[str] = []
    if fam.is_two_input:
        spread = _ratio_spread(fit)
        if spread < MIN_RATIO_SPREAD:
            ratio = np.median(fit.problem.inputs["tokens"] / fit.problem.inputs["params"])
            reasons.append(
                f"the runs have one tokens-per-parameter ratio (D/N ≈ {ratio:.3g}, spread {spread:.3f} decades), "
                "so N and D move together and A/N^α cannot be told from B/D^β")
    pinned = [n for n in fam.param_names if n in fit.at_bound]
    if len(pinned) >= max(2, math.ceil(COLLAPSED_SHARE * fam.n_params)):
        names = ", ".join(f"`{n}`" for n in pinned)
        reasons.append(f"the fit collapses onto its bounds ({len(pinned)} of its {fam.n_params} parameters, {names}, "
                       "sit at a limit), so these runs follow a simpler law")
    if fam.unseen is not None and not fam.is_two_input:
        lx = np.log10(np.asarray(fit.problem.inputs["x"], float))
        why = fam.unseen(fit.theta, float(lx.min()), float(lx.max()))
        if why:
            reasons.append(why)
    condition, se = curvature(fit)
    undetermined = tuple(n for n, s in se.items() if not s <= _limit(fam, n))
    if condition > SINGULAR_CONDITION and not undetermined:
        # flat in a combination, not in one parameter: name the parameters whose SE is largest relative to its limit
        ranked = sorted(se, key=lambda n: -(se[n] / _limit(fam, n) if math.isfinite(_limit(fam, n)) else 0.0))
        undetermined = tuple(ranked[:2])
    if undetermined:
        what = ", ".join(_se_text(fam, n, se.get(n, math.inf)) for n in undetermined[:3])
        if len(undetermined) > 3:
            what += f" and {len(undetermined) - 3} more"
        reasons.append(f"the data do not determine {what}")
    elif condition > SINGULAR_CONDITION:
        reasons.append(f"the fit is flat in a combination of parameters (condition number {condition:.1e})")
    return Verdict(fam.name, not reasons, tuple(reasons), undetermined, se, condition)


def unsettled(fit: FitResult, z: np.ndarray, moving: np.ndarray, active: int, total: int, iterations: int) -> Verdict:
    """The verdict of a bootstrap that gave up: ``active`` of ``total`` resamples still moving after
    ``iterations`` iterations (one of :data:`SETTLE_CHECKS`). ``z`` (internal parameters of every resample at that
    moment) and ``moving`` name the parameters they drift along: those whose spread (median
    absolute deviation) among the moving resamples most exceeds their spread among the settled ones."""
    fam = fit.family
    z = np.asarray(z, float)
    ok = np.all(np.isfinite(z), axis=1)
    still, done = z[ok & moving], z[ok & ~moving]

    def mad(a: np.ndarray) -> np.ndarray:
        return np.median(np.abs(a - np.median(a, axis=0)), axis=0) if len(a) else np.zeros(fam.n_params)

    ratio = (mad(still) + 1e-12) / (mad(done) + 1e-9)
    drifting = tuple(fam.param_names[j] for j in np.argsort(-ratio)[:2] if ratio[j] > 3.0)
    along = f" (they drift along {', '.join(f'`{n}`' for n in drifting)})" if drifting else ""
    reason = (f"{active} of {total} bootstrap resamples were still moving after {iterations} iterations"
              f"{along}: the runs do not pin the law down, so its intervals would mean little (and take a minute to finish)")
    return Verdict(fam.name, False, (reason,), drifting)

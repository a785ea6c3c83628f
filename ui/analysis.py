"""What the Explore page computes, as plain functions (no Streamlit): easy to test, easy to cache.

Everything here calls scalecore; the only maths of its own is glue for drawing: the grid a curve
is drawn on, and the compute-optimal frontier of a two-input law read off against N or D (the
frontier is computed by :mod:`scalecore.budget` on a grid of compute budgets, then each bootstrap
sample's frontier is interpolated onto the axis the user chose).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from scalecore import FAMILIES, budget, diagnostics, fitting
from scalecore.bootstrap import BootstrapResult, Estimate, bootstrap_problem
from scalecore.formatting import format_estimate, format_interval, format_number
from scalecore.serialize import to_jsonable
from scalecore.stats import percentile_interval

AXES = ("compute", "params", "tokens")
AXIS_TITLES = {
    "params": "model size N (parameters)",
    "tokens": "training tokens D",
    "compute": "training compute C (FLOP)",
}
AXIS_SHORT = {"params": "N", "tokens": "D", "compute": "C"}
METHODS = ("cases", "residuals", "groups")

#: Metric names that rise with scale (accuracy-like); everything else is treated as a loss.
_SCORE_NAME = re.compile(r"acc|accuracy|score|exact|f1|pass|win|correct|bleu|rouge", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    """How every family is fitted and bootstrapped (one value per page, part of the cache key)."""

    n_resamples: int = 1000
    confidence_level: float = 0.95
    delta: float = 1e-3
    seed: int = 0
    method: str = "cases"
    loss: str = "huber"

    def as_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------ choices


def metric_kind(runs, metric: str) -> str:
    """``"score"`` for accuracy-like metrics (by name, or non-positive values), else ``"loss"``."""
    if _SCORE_NAME.search(metric):
        return "score"
    values = runs.values(metric)
    values = values[np.isfinite(values)]
    if values.size and np.any(values <= 0):
        return "score"
    return "loss"


def axes_available(runs) -> list[str]:
    return [a for a in AXES if runs.has(a)]


def default_axis(runs) -> str:
    available = axes_available(runs)
    return available[0] if available else "compute"


def applicable_families(runs, metric: str) -> list[str]:
    """Families that can be fitted to ``metric``: two-input ones need N and D; logistic is for scores."""
    kind = metric_kind(runs, metric)
    out = []
    for name, fam in FAMILIES.items():
        if fam.metric_kind != kind:
            continue
        if fam.is_two_input and not (runs.has("params") and runs.has("tokens")):
            continue
        out.append(name)
    return out


def default_families(runs, metric: str) -> list[str]:
    """Sensible first choice: Chinchilla's law and a saturating power law, or the logistic curve."""
    applicable = applicable_families(runs, metric)
    # A law in N and D is the sensible model of a grid of sizes and token counts (a one-input law
    # against compute would average over allocations); otherwise a saturating and a plain power law.
    preferred = ("chinchilla",) if "chinchilla" in applicable else ("offset_power_law", "power_law")
    if metric_kind(runs, metric) == "score":
        preferred = ("logistic",)
    chosen = [f for f in preferred if f in applicable]
    return chosen or applicable[:1]


def why_not_applicable(runs, metric: str, family: str) -> str:
    fam = FAMILIES[family]
    kind = metric_kind(runs, metric)
    if fam.metric_kind != kind:
        return (f"{fam.label} is for {'accuracy-like scores' if fam.metric_kind == 'score' else 'losses'}; "
                f"`{metric}` looks like a {'score' if kind == 'score' else 'loss'}")
    return f"{fam.label} needs both model size (params) and tokens columns"


# ------------------------------------------------------------------------------ fitting


def problem_for(runs, family: str, axis: str | None, metric: str, exclude, loss: str, delta: float) -> fitting.Problem:
    """The prepared problem of one family on the runs left after the exclusions."""
    fam = FAMILIES[family]
    return fitting.prepare(runs, family, x=None if fam.is_two_input else axis, y=metric,
                           exclude=tuple(exclude), loss=loss, delta=delta)


def point_fit(runs, family: str, axis: str | None, metric: str, exclude, loss: str, delta: float) -> fitting.FitResult:
    """One family's best fit (multi-start), without its bootstrap. Raises ScaleCoreError."""
    return fitting.fit_problem(problem_for(runs, family, axis, metric, exclude, loss, delta))


def fit_family(runs, family: str, axis: str, metric: str, exclude, settings: Settings,
               fit: fitting.FitResult | None = None) -> BootstrapResult:
    """One family: the best fit (``fit`` if already made) and its bootstrap. Raises ScaleCoreError
    for a fit that can't be done."""
    if fit is None:
        fit = point_fit(runs, family, axis, metric, exclude, settings.loss, settings.delta)
    return bootstrap_problem(fit.problem, n_resamples=settings.n_resamples, confidence_level=settings.confidence_level,
                             seed=settings.seed, method=settings.method, fit=fit)


# ------------------------------------------------------------------------------ curves


@dataclass(frozen=True)
class Curve:
    """What a family contributes to the main plot: a curve on ``x`` with its band."""

    family: str
    x: np.ndarray
    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    kind: str  # "fit" or "frontier"


def grid(lo: float, hi: float, n: int = 160) -> np.ndarray:
    return np.geomspace(lo, hi, n)


def plot_range(runs, axis: str, target: float | None) -> tuple[float, float]:
    """x range of the curves: the data (with a margin) and the extrapolation target."""
    x = runs.values(axis)
    x = x[np.isfinite(x) & (x > 0)]
    lo, hi = float(x.min()) / 1.5, float(x.max()) * 1.5
    if target is not None and math.isfinite(target) and target > 0:
        lo, hi = min(lo, target / 1.5), max(hi, target * 1.5)
    return lo, hi


def curve(boot: BootstrapResult, axis: str, lo: float, hi: float, k: float = 6.0, n: int = 160) -> Curve:
    """A one-input family's fitted curve with its confidence band, or a two-input family's
    compute-optimal frontier drawn against ``axis``."""
    xs = grid(lo, hi, n)
    if not boot.family.is_two_input:
        band = boot.band(xs)
        return Curve(boot.family.name, xs, band.point, band.lower, band.upper, "fit")
    point, samples = frontier_on_axis(boot, axis, xs, k)
    lower, upper = _quantiles(boot, samples)
    return Curve(boot.family.name, xs, point, lower, upper, "frontier")


def point_curve(fit: fitting.FitResult, axis: str, lo: float, hi: float, k: float = 6.0, n: int = 160) -> Curve:
    """What :func:`curve` draws, from the best fit alone (no band): shown while the bootstrap runs."""
    xs = grid(lo, hi, n)
    fam = fit.family
    nan = np.full(n, np.nan)
    if not fam.is_two_input:
        return Curve(fam.name, xs, np.asarray(fit.predict(xs), float), nan, nan, "fit")
    if fam.name == "chinchilla":
        y = _chinchilla_frontier_rows(fit.theta[None, :], axis, xs, k)[0]
    else:
        cs = _frontier_budgets(fam, fit.theta, axis, xs, k)
        y = _loss_at(optimum(fam, fit.theta, cs, k), cs, axis, xs)
    return Curve(fam.name, xs, y, nan, nan, "frontier")


def _quantiles(boot: BootstrapResult, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    level = boot.confidence_level
    ok = np.isfinite(samples).sum(axis=0) >= 2
    lower = np.full(samples.shape[1], np.nan)
    upper = np.full(samples.shape[1], np.nan)
    if ok.any():
        lower[ok], upper[ok] = percentile_interval(samples[:, ok], level)
    return lower, upper


def optimum(family, theta: np.ndarray, compute, k: float = 6.0) -> dict[str, np.ndarray]:
    """Compute-optimal N*, D*, L* (``params``, ``tokens``, ``loss``) of a law at budgets ``compute``
    (``theta`` and ``compute`` broadcast as in :func:`budget.compute_optimum`)."""
    r = budget.compute_optimum(family, theta, compute, k)
    return {key: np.asarray(r[key], float) for key in ("params", "tokens", "loss")}


def frontier(boot: BootstrapResult, compute: np.ndarray, k: float = 6.0) -> tuple[dict, dict]:
    """Compute-optimal N*, D*, L* on a grid of budgets: for the best fit (m,) and each sample (B, m)."""
    compute = np.asarray(compute, float)
    return (optimum(boot.family, boot.fit.theta, compute, k),
            optimum(boot.family, boot.good[:, None, :], compute[None, :], k))


def frontier_on_axis(boot: BootstrapResult, axis: str, xs: np.ndarray, k: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The frontier loss L*(x) at ``xs`` on ``axis``: best fit (m,) and per sample (B, m).

    Against compute this is L*(C). Against N (or D) it is the loss of the compute-optimal run whose
    model size is N (or whose token count is D). The frontier is computed on a grid of budgets
    (closed form for Chinchilla's law, numerically otherwise: fewer budgets) and each sample's
    (log x*, log L*) is interpolated at ``xs``; outside a sample's range the value is NaN.
    """
    xs = np.asarray(xs, float)
    if boot.family.name == "chinchilla":
        return _chinchilla_frontier_on_axis(boot, axis, xs, k)
    cs = _frontier_budgets(boot.family, boot.fit.theta, axis, xs, k)
    point, dist = frontier(boot, cs, k)
    return _loss_at(point, cs, axis, xs), _loss_at(dist, cs, axis, xs)


def _frontier_budgets(family, theta: np.ndarray, axis: str, xs: np.ndarray, k: float, m: int = 40) -> np.ndarray:
    """The budgets a numerical frontier is computed on to be read at ``xs`` on ``axis``."""
    lo, hi = float(xs.min()), float(xs.max())
    if axis == "compute":
        return np.geomspace(lo, hi, m) if hi > lo else np.array([lo / 1.01, hi * 1.01])
    return _budgets_covering(family, theta, axis, lo, hi, m, k)


def _loss_at(opt: dict, cs: np.ndarray, axis: str, xs: np.ndarray) -> np.ndarray:
    """L* at ``xs`` on ``axis``, read off a frontier on the budgets ``cs``: one law's (m,) or the
    samples' (B, m), each row interpolated in log-log; NaN outside its range."""
    x = np.broadcast_to(cs, opt["loss"].shape) if axis == "compute" else opt[axis]
    interp = _interp_log if opt["loss"].ndim == 1 else _interp_log_rows
    return interp(x, opt["loss"], np.log(xs))


def _chinchilla_frontier_on_axis(boot: BootstrapResult, axis: str, xs: np.ndarray, k: float):
    """Closed form for Chinchilla's law: N* = G (C/k)^a and D* = (C/k)^b / G invert to the budget
    C whose optimum has the given N (or D); then L*(C) from :func:`budget.chinchilla_optimum`."""
    loss = _chinchilla_frontier_rows(np.vstack([boot.fit.theta[None, :], boot.good]), axis, xs, k)  # row 0: best fit
    return loss[0], loss[1:]


def _chinchilla_frontier_rows(theta: np.ndarray, axis: str, xs: np.ndarray, k: float) -> np.ndarray:
    """L* at ``xs`` on ``axis`` for each row of Chinchilla parameters ``theta`` (R, 5): (R, len(xs))."""
    if axis == "compute":
        compute = np.broadcast_to(xs, (len(theta), len(xs)))
    else:
        _, A, B, alpha, beta = (theta[:, i : i + 1] for i in range(5))
        a, b = budget.chinchilla_exponents(theta)
        a, b = a[:, None], b[:, None]
        with np.errstate(all="ignore"):
            G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
            compute = k * (xs / G) ** (1.0 / a) if axis == "params" else k * (xs * G) ** (1.0 / b)
    return np.asarray(budget.chinchilla_optimum(theta[:, None, :], compute, k)["loss"], float)


def _budgets_covering(family, theta: np.ndarray, axis: str, lo: float, hi: float, m: int, k: float) -> np.ndarray:
    """Budgets whose best-fit (``theta``) optimum N* (or D*) spans [lo, hi], widened so that samples do too."""
    probe = np.geomspace(1e6, 1e40, 69)
    xs = budget.compute_optimum(family, theta, probe, k)[axis]
    ok = np.isfinite(xs) & (xs > 0)
    if ok.sum() < 2:
        return np.geomspace(1e15, 1e30, m)
    lc = np.interp(np.log([lo, hi]), np.log(xs[ok]), np.log(probe[ok]))
    return np.exp(np.linspace(lc[0] - 3.0, lc[1] + 3.0, m))


def _interp_log(x_of_c: np.ndarray, y_of_c: np.ndarray, lx: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x_of_c) & np.isfinite(y_of_c) & (x_of_c > 0) & (y_of_c > 0)
    if ok.sum() < 2:
        return np.full(lx.shape, np.nan)
    u, v = np.log(x_of_c[ok]), np.log(y_of_c[ok])
    order = np.argsort(u)
    u, v = u[order], v[order]
    out = np.exp(np.interp(lx, u, v))
    out[(lx < u[0]) | (lx > u[-1])] = np.nan
    return out


def _interp_log_rows(X: np.ndarray, Y: np.ndarray, lx: np.ndarray) -> np.ndarray:
    """:func:`_interp_log` for every row of X, Y (B, m) at log-x ``lx`` (q,): (B, q). Vectorised
    when the rows share one increasing x grid (a frontier against compute: the budgets themselves)
    for the rows whose values are all positive and finite; the others row by row."""
    B, m = X.shape
    out = np.full((B, lx.size), np.nan)
    with np.errstate(all="ignore"):
        u, v = np.log(X), np.log(Y)
    fast = np.all(np.isfinite(u) & np.isfinite(v), axis=1) & np.all(np.diff(u, axis=1) > 0, axis=1)
    if m >= 2 and fast.any() and np.all(u[fast] == u[fast][:1]):  # a shared x grid (the budgets)
        grid_u = u[fast][0]
        i0 = np.clip(np.searchsorted(grid_u, lx, side="right") - 1, 0, m - 2)
        t = (lx - grid_u[i0]) / (grid_u[i0 + 1] - grid_u[i0])
        vf = v[fast]
        with np.errstate(all="ignore"):
            val = np.exp(vf[:, i0] + t * (vf[:, i0 + 1] - vf[:, i0]))
        val[:, (lx < grid_u[0]) | (lx > grid_u[-1])] = np.nan
        out[fast] = val
    else:
        fast[:] = False
    for b in np.flatnonzero(~fast):
        out[b] = _interp_log(X[b], Y[b], lx)
    return out


def predict_target(boot: BootstrapResult, axis: str, target: float, k: float = 6.0) -> Estimate:
    """The metric predicted at ``target`` on ``axis`` with its interval (along the frontier for
    two-input families)."""
    if not boot.family.is_two_input:
        return boot.predict_at(np.array([target]))
    if axis == "compute":
        return boot.compute_optimal(target, k)["loss"]
    point, samples = frontier_on_axis(boot, axis, np.array([target]), k)
    return boot.estimate(float(point[0]), samples[:, 0])


# ------------------------------------------------------------------------------ tables


def parameter_rows(boot: BootstrapResult) -> pd.DataFrame:
    """One row per parameter: value and interval rounded together (PDG rule), and the raw numbers."""
    ci = boot.confidence_interval
    se = boot.standard_error
    rows = []
    for name, value in boot.fit.params.items():
        lo, hi = ci[name]
        v, l, h = format_interval(value, lo, hi)
        rows.append({"family": boot.family.name, "parameter": name, "value": v, "low": l, "high": h,
                     "std. error": format_number(se[name], 2),
                     "at bound": name in boot.fit.at_bound,
                     "raw value": value, "raw low": lo, "raw high": hi, "interval": boot.interval_label})
    return pd.DataFrame(rows)


def diagnostics_overview(boots: dict, threshold: float) -> pd.DataFrame:
    """One row per family, from numbers already computed: the run farthest from the law (log
    residual and robust z), how many runs are beyond ``threshold``, the most correlated pair of
    parameters across the bootstrap resamples (coefficients in log, as they are fitted), and the
    resamples the intervals rest on."""
    rows = []
    for f, boot in boots.items():
        fit, fam = boot.fit, boot.family
        r = np.asarray(fit.residuals, dtype=float)
        z = diagnostics.robust_z(r)
        i = int(np.argmax(np.abs(z)))
        row = {"family": fam.label,
               "farthest run (residual, robust z)": f"{fit.problem.run_ids[i]}: {r[i]:+.3g} (z {z[i]:+.1f})",
               f"runs with |z| ≥ {threshold:g}": int(np.sum(np.abs(z) >= threshold))}
        good = boot.good
        names = [f"log {n}" if n in fam.log_params else n for n in fam.param_names]
        pair = "—"
        if len(good) > 2 and fam.n_params > 1:
            with np.errstate(all="ignore"):
                c = np.corrcoef(fam.to_internal(good), rowvar=False)
            c[~np.isfinite(c)] = 0.0
            np.fill_diagonal(c, 0.0)
            a, b = np.unravel_index(int(np.argmax(np.abs(c))), c.shape)
            if c[a, b] != 0.0:
                a, b = sorted((a, b))
                pair = f"{names[a]} and {names[b]}: {c[a, b]:+.{3 if abs(c[a, b]) >= 0.99 else 2}f}"  # not "+1.00"
        row["most correlated parameters (bootstrap)"] = pair
        row["resamples used"] = f"{boot.n_resamples - boot.n_failed} of {boot.n_resamples}"
        rows.append(row)
    return pd.DataFrame(rows)


def parameters_frame(boots: dict) -> pd.DataFrame:
    """All families' parameters (for the CSV download)."""
    frames = [parameter_rows(b) for b in boots.values()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def parameters_json(boots: dict, extra: dict | None = None) -> dict:
    """Plain-types description of every fit (for the JSON download)."""
    out = {"families": {name: b.to_dict() for name, b in boots.items()}}
    for name, b in boots.items():
        out["families"][name]["interval"] = b.interval_label
    if extra:
        out.update(extra)
    return _plain(out)


def _plain(obj):
    """JSON-ready copy (:func:`scalecore.serialize.to_jsonable`: non-finite numbers as None)."""
    return to_jsonable(obj)


def estimate_text(est: Estimate) -> str:
    """``"2.31 [2.27, 2.36]"`` (:func:`scalecore.formatting.format_estimate`)."""
    return format_estimate(est)


def optimum_at(boot: BootstrapResult, compute: float, k: float = 6.0) -> dict:
    """The best fit's compute-optimal N*, D* and L* at one budget (floats)."""
    return {key: float(np.ravel(v)[0]) for key, v in optimum(boot.family, boot.fit.theta, compute, k).items()}


def target_point(boot: BootstrapResult, axis: str, target: float, k: float = 6.0) -> dict:
    """Where a family is evaluated at ``target``: ``{"x": target}`` for one-input families; for
    two-input families the compute-optimal (N, D) whose ``axis`` value is ``target``."""
    if not boot.family.is_two_input:
        return {"x": float(target)}
    if axis == "compute":
        compute = float(target)
    else:
        probe = np.geomspace(1e6, 1e40, 69)
        xs = np.array([optimum_at(boot, c, k)[axis] for c in probe])
        ok = np.isfinite(xs) & (xs > 0)
        compute = float(np.exp(np.interp(math.log(target), np.log(xs[ok]), np.log(probe[ok]))))
    point = optimum_at(boot, compute, k)
    return {"params": point["params"], "tokens": point["tokens"]}


#: The extrapolation target a page opens with, per axis: the scale of Hoffmann et al.'s Chinchilla
#: (70B parameters, 1.4T tokens, about 6e23 FLOP). Fixed, not derived from the data, so that a link
#: without a target reproduces the same target whatever dataset was loaded before.
DEFAULT_TARGETS = {"compute": "1e24", "params": "70B", "tokens": "1.4T"}


def suggested_target(axis: str) -> str:
    return DEFAULT_TARGETS.get(axis, "")


def parse_target(text: str) -> tuple[float | None, str | None]:
    """``"70B"`` -> (7e10, None); ``""`` -> (None, None); bad text -> (None, message)."""
    from scalecore import parse_number

    text = (text or "").strip()
    if not text:
        return None, None
    try:
        value = parse_number(text)
    except ValueError:
        return None, f"“{text}” is not a number. Write it like 70B, 1.4T, 3e23 or 1e24."
    if not (math.isfinite(value) and value > 0):
        return None, f"The target must be a positive number; got “{text}”."
    return value, None

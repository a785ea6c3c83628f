"""What the Explore page computes, as plain functions (no Streamlit): easy to test, easy to cache.

Everything here calls scalecore; the only maths of its own is glue for drawing (the grid a curve
is drawn on). The compute-optimal frontier of a two-input law, read against C, N or D, and the
prediction at a target are :mod:`scalecore.optimum`'s, the same functions the report uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Settings: the pages' fit and bootstrap settings are scalecore's one Settings (a cache key as
# tuple(sorted(settings.as_dict().items()))); the pages import it from here.
from scalecore import FAMILIES, FitSpec, Settings, data, diagnostics, fitting
from scalecore import optimum as sc_optimum
from scalecore.bootstrap import BootstrapResult, Estimate
from scalecore.formatting import format_estimate, format_interval, format_number
from scalecore.serialize import to_jsonable

AXES = ("compute", "params", "tokens")
AXIS_TITLES = {
    "params": "model size N (parameters)",
    "tokens": "training tokens D",
    "compute": "training compute C (FLOP)",
}
AXIS_SHORT = {"params": "N", "tokens": "D", "compute": "C"}
METHODS = ("cases", "residuals", "groups")


# ------------------------------------------------------------------------------ choices


def metric_kind(runs, metric: str) -> str:
    """``"score"`` or ``"loss"`` (:func:`scalecore.data.metric_kind`)."""
    return data.metric_kind(runs, metric)


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


def spec_for(family: str, axis: str | None, metric: str, exclude, loss: str, delta: float) -> FitSpec:
    """The fit of one family on the runs left after the exclusions (``axis`` only for a one-input law)."""
    fam = FAMILIES[family]
    return FitSpec(family, x=None if fam.is_two_input else axis, y=metric, exclude=tuple(exclude), loss=loss,
                   delta=delta)


def problem_for(runs, family: str, axis: str | None, metric: str, exclude, loss: str, delta: float) -> fitting.Problem:
    """The prepared problem of one family on the runs left after the exclusions (for diagnostics)."""
    return fitting.prepare(runs, spec_for(family, axis, metric, exclude, loss, delta))


def point_fit(runs, family: str, axis: str | None, metric: str, exclude, loss: str, delta: float) -> fitting.FitResult:
    """One family's best fit (multi-start), without its bootstrap. Raises ScaleCoreError."""
    return fitting.fit(runs, spec_for(family, axis, metric, exclude, loss, delta))


def fit_family(runs, family: str, axis: str, metric: str, exclude, settings: Settings,
               fit: fitting.FitResult | None = None) -> BootstrapResult:
    """One family: the best fit (``fit`` if already made) and its bootstrap (from that fit, no
    refit). Raises ScaleCoreError for a fit that can't be done."""
    if fit is None:
        fit = point_fit(runs, family, axis, metric, exclude, settings.loss, settings.delta)
    return diagnostics.bootstrap_or_refuse(runs, fit, **settings.bootstrap_options)


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
    compute-optimal frontier drawn against ``axis`` (:func:`scalecore.optimum.frontier_band`)."""
    xs = grid(lo, hi, n)
    if not boot.family.is_two_input:
        band = boot.band(xs)
        return Curve(boot.family.name, xs, band.point, band.lower, band.upper, "fit")
    band = sc_optimum.frontier_band(boot, axis, xs, k)
    return Curve(boot.family.name, xs, band.point, band.lower, band.upper, "frontier")


def point_curve(fit: fitting.FitResult, axis: str, lo: float, hi: float, k: float = 6.0, n: int = 160) -> Curve:
    """What :func:`curve` draws, from the best fit alone (no band): shown while the bootstrap runs."""
    xs = grid(lo, hi, n)
    fam = fit.family
    nan = np.full(n, np.nan)
    if not fam.is_two_input:
        return Curve(fam.name, xs, np.asarray(fit.predict(xs), float), nan, nan, "fit")
    return Curve(fam.name, xs, sc_optimum.frontier_loss(fam, fit.theta[None, :], axis, xs, k)[0], nan, nan, "frontier")


def optimum(family, theta: np.ndarray, compute, k: float = 6.0) -> dict[str, np.ndarray]:
    """Compute-optimal N*, D*, L* (``params``, ``tokens``, ``loss``) of a law at budgets ``compute``
    (``theta`` and ``compute`` broadcast as in :func:`scalecore.optimum.compute_optimum`)."""
    r = sc_optimum.compute_optimum(family, theta, compute, k)
    return {key: np.asarray(r[key], float) for key in ("params", "tokens", "loss")}


def predict_target(boot: BootstrapResult, axis: str, target: float, k: float = 6.0) -> Estimate:
    """The metric predicted at ``target`` on ``axis`` with its interval (along the frontier for
    two-input families): :func:`scalecore.optimum.predict_at`, as the report shows it."""
    return sc_optimum.predict_at(boot, axis, target, k)


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
        r = diagnostics.shown_residuals(fit)  # actual - predicted
        z = diagnostics.robust_z(r)
        i = int(np.argmax(np.abs(z)))
        row = {"family": fam.label,
               "farthest run (residual actual − predicted, robust z)": f"{fit.problem.run_ids[i]}: {r[i]:+.3g} (z {z[i]:+.1f})",
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


def target_point(boot: BootstrapResult, axis: str, target: float, k: float = 6.0) -> dict:
    """Where a family is evaluated at ``target``: ``{"x": target}`` for one-input families; for
    two-input families the compute-optimal (N, D) whose ``axis`` value is ``target``
    (:func:`scalecore.optimum.frontier_point`)."""
    if not boot.family.is_two_input:
        return {"x": float(target)}
    point = sc_optimum.frontier_point(boot.family, boot.fit.theta, axis, target, k)
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


# ------------------------------------------------------------------------------ colouring the runs

#: The formatting kind of each axis (hovers, tables): sizes as 70B, compute as 1.2e21.
AXIS_KINDS = {"params": "count", "tokens": "count", "compute": "flops"}
#: An IsoFLOP-like sweep: at least this many budgets of at least this many runs each.
ISOFLOP_MIN_BUDGETS = 2
ISOFLOP_MIN_RUNS = 3


def isoflop_budgets(runs) -> dict[str, float]:
    """The compute budgets of an IsoFLOP-like sweep (:func:`scalecore.isoflop.budget_labels`: runs of
    equal C), those with at least :data:`ISOFLOP_MIN_RUNS` runs of different sizes; empty when fewer
    than :data:`ISOFLOP_MIN_BUDGETS` budgets have them, or when they hold under half the runs."""
    from scalecore.isoflop import budget_labels

    if not (runs.has("compute") and runs.has("params")):
        return {}
    c, n = runs.values("compute"), runs.values("params")
    ok = np.isfinite(c) & (c > 0) & np.isfinite(n)
    if ok.sum() < ISOFLOP_MIN_BUDGETS * ISOFLOP_MIN_RUNS:
        return {}
    labels, values = budget_labels(c[ok])
    sizes = n[ok]
    full = {lab: v for lab, v in values.items()
            if len(np.unique(sizes[labels == lab])) >= ISOFLOP_MIN_RUNS}
    in_full = np.isin(labels, list(full))
    if len(full) < ISOFLOP_MIN_BUDGETS or in_full.sum() < 0.5 * ok.sum():
        return {}
    return full


def color_choices(runs) -> list[str]:
    """What the runs can be coloured by (:data:`scalecore.plots.COLOR_BY`): budget needs compute,
    size needs params, group needs more than one group."""
    out = []
    if runs.has("compute"):
        out.append("budget")
    if runs.has("params"):
        out.append("size")
    if runs.frame["group"].nunique() > 1:
        out.append("group")
    return out


#: Groups are the default colouring only when there are this few (else size reads better).
MAX_DEFAULT_GROUPS = 12


def default_color_by(runs) -> str | None:
    """Budget for an IsoFLOP-like sweep (as Chinchilla's and Epoch's figures), else group when the
    runs have a few groups (up to :data:`MAX_DEFAULT_GROUPS`), else size; None when nothing applies."""
    choices = color_choices(runs)
    if "budget" in choices and isoflop_budgets(runs):
        return "budget"
    if "group" in choices and runs.frame["group"].nunique() <= MAX_DEFAULT_GROUPS:
        return "group"
    if "size" in choices:
        return "size"
    return choices[0] if choices else None


def isoflop_slices(fit: fitting.FitResult, runs, budgets: dict[str, float], exclude=(), n: int = 40) -> list:
    """A fitted two-input law along each budget's IsoFLOP line (D = C / (k N)), over the sizes of
    that budget's runs widened by a third on each side: what Hoffmann et al.'s Figure 3 (left) draws
    over the runs. The law's values are its own ``predict`` (no maths here)."""
    from scalecore.isoflop import budget_labels
    from scalecore.plots import Slice

    k = runs.flops_per_token_param
    c, size = runs.values("compute"), runs.values("params")
    ids = np.asarray(runs.run_ids, dtype=object).astype(str)
    ok = np.isfinite(c) & (c > 0) & np.isfinite(size) & ~np.isin(ids, list(exclude))
    if not ok.any():
        return []
    labels, values = budget_labels(c[ok])
    out = []
    for lab, value in sorted(budgets.items(), key=lambda item: item[1]):
        # the same budget among the kept runs: the one whose C is nearest
        near = min(values, key=lambda m: abs(math.log(values[m] / value)), default=None)
        if near is None or abs(math.log(values[near] / value)) > 0.05:
            continue
        sizes = size[ok][labels == near]
        xs = np.geomspace(sizes.min() / 1.33, sizes.max() * 1.33, n)
        ys = np.asarray(fit.predict(params=xs, tokens=value / (k * xs)), float)
        out.append(Slice(label=lab, compute=value, x=xs, y=ys, name=fit.family.name))
    return out


# ------------------------------------------------------------------------------ compute-optimal allocation

#: The quantities of the compute-optimal plot: key -> (axis title, formatting kind).
OPTIMAL_QUANTITIES = {
    "params": ("compute-optimal model size N* (parameters)", "count"),
    "tokens": ("compute-optimal training tokens D*", "count"),
    "ratio": ("tokens per parameter D*/N*", "plain"),
}

#: Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361: the
#: compute-efficient model size N_opt = N_e · C_min^p_N with N_e = 1.3e9 (non-embedding) parameters
#: and p_N = 0.73, C_min in PF-days (Table 6, Appendix A; the fit of Figure 14, left:
#: "N = (1.3·10^9)·C^0.73"); 1 PF-day = 10^15 FLOP/s × 86,400 s = 8.64e19 FLOP. D = C / (6 N), as
#: their C ≈ 6·N·B·S. (Their optimum trains far from convergence; Hoffmann et al. 2022 revised it.)
KAPLAN2020_N_E = 1.3e9
KAPLAN2020_P_N = 0.73
PF_DAY = 8.64e19

#: The published laws that can be drawn over a fit's compute-optimal allocation.
PUBLISHED_OPTIMA = {"hoffmann2022": "Hoffmann et al. 2022 (Approach 3)",
                    "besiroglu2024": "Besiroglu et al. 2024",
                    "kaplan2020": "Kaplan et al. 2020 (N ∝ C^0.73)"}


def _ratio(opt: dict) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(opt["tokens"], float) / np.asarray(opt["params"], float)


def compute_optimal_bands(boot: BootstrapResult, compute: np.ndarray, k: float = 6.0) -> dict:
    """N*, D* and D*/N* over ``compute`` with their bootstrap percentile bands: one
    :func:`scalecore.optimum.compute_optimum` call over the best fit and every good resample, read
    by :func:`scalecore.stats.percentile_interval` at the bootstrap's level. Returns
    ``{"params"|"tokens"|"ratio": Band}``."""
    from scalecore.stats import percentile_interval
    from scalecore.uncertainty import Band

    cs = np.asarray(compute, float)
    thetas = np.vstack([boot.fit.theta[None, :], boot.good])
    with np.errstate(all="ignore"):
        opt = sc_optimum.compute_optimum(boot.family, thetas[:, None, :], cs[None, :], k)
    out = {}
    for key, arr in (("params", opt["params"]), ("tokens", opt["tokens"]), ("ratio", _ratio(opt))):
        arr = np.asarray(arr, float)
        point, samples = arr[0], arr[1:]
        lower, median, upper = (np.full(point.shape, np.nan) for _ in range(3))
        ok = np.isfinite(samples).sum(axis=0) >= 2
        if ok.any():
            lower[ok], median[ok], upper[ok] = percentile_interval(samples[:, ok], boot.confidence_level,
                                                                   with_median=True)
        out[key] = Band(point=point, median=median, lower=lower, upper=upper, kind="confidence",
                        confidence_level=boot.confidence_level)
    return out


def published_optimum(name: str, compute: np.ndarray, k: float = 6.0) -> dict[str, np.ndarray]:
    """N*, D*, D*/N* of a published law over ``compute``: Hoffmann's and Besiroglu's Chinchilla
    constants (:data:`scalecore.budget.PRESETS`, through :func:`scalecore.optimum.compute_optimum`),
    or Kaplan et al.'s N_opt(C) (:data:`KAPLAN2020_N_E`)."""
    cs = np.asarray(compute, float)
    if name == "kaplan2020":
        params = KAPLAN2020_N_E * (cs / PF_DAY) ** KAPLAN2020_P_N
        opt = {"params": params, "tokens": cs / (k * params)}
    else:
        from scalecore.budget.law import Law

        law = Law.preset(name)
        r = sc_optimum.compute_optimum(law.family, law.theta, cs, k)
        opt = {"params": np.asarray(r["params"], float), "tokens": np.asarray(r["tokens"], float)}
    return {**opt, "ratio": _ratio(opt)}

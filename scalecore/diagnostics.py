"""Diagnostics of a fit: outlier suggestions, leave-one-out influence, and information criteria
across families (the extrapolation backtest is :mod:`scalecore.backtest`).

Everything works on the arrays of a :class:`~scalecore.fitting.Problem` and on
:class:`~scalecore.fitting.FitResult`; fits go through :func:`fitting.fit_problem` and
:func:`fitting.solve`, so a diagnostic uses exactly the objective of the fit it diagnoses.

Sign convention. Internally ``FitResult.residuals`` are *predicted minus actual* in the family's
residual space (``log`` for loss-like families, the metric itself for the logistic family): the
solver and the residual bootstrap use them so. Everything a user sees is **actual minus
predicted** (the usual sign: a run above the curve has a positive residual), and comes from one
definition here: :func:`shown_residuals` (the fitted runs), :func:`run_residuals` (every run,
excluded ones against the fit without them), :data:`RESIDUAL_HEADERS` (the column header that
says so). :class:`Suggestion`, :func:`residual_table` and the robust z-scores they carry use the
shown sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import FitError, NotIdentified, ScaleCoreError
from .families import FAMILIES
from .data import metric_kind
from .fitting import FitResult, Problem, check_size, distinct_optima, fit, solve
from .identifiability import ALTERNATIVES, Verdict, check

#: Consistency constants: sigma of a normal sample from its median absolute deviation and from
#: its mean absolute deviation.
MAD_TO_SD = 1.4826
MEAN_AD_TO_SD = math.sqrt(math.pi / 2)

#: Residual scales at or below this count as zero (an exact fit): the z-score then uses the mean
#: absolute deviation, and never divides by less than this.
SCALE_FLOOR = 1e-12

#: A run is never suggested as an outlier when it is this close to the median residual (in the
#: residual space): on noise-free data rounding-level residuals would otherwise score high.
MIN_EFFECT = 1e-6


# ------------------------------------------------------------------------------ helpers


def robust_z(residuals) -> np.ndarray:
    """Robust z-scores ``(r - median r) / (1.4826 MAD r)``.

    When the MAD is (close to) zero -- more than half the residuals identical -- the scale is
    the mean absolute deviation from the median (times sqrt(pi/2)); the scale is never below
    :data:`SCALE_FLOOR`.
    """
    r = np.asarray(residuals, dtype=float)
    if r.size == 0:
        return r.copy()
    dev = r - np.median(r)
    scale = MAD_TO_SD * np.median(np.abs(dev))
    if scale <= SCALE_FLOOR:
        scale = MEAN_AD_TO_SD * np.mean(np.abs(dev))
    return dev / max(scale, SCALE_FLOOR)


def subset_problem(problem: Problem, mask) -> Problem:
    """The problem restricted to the runs where ``mask`` is True (same family, loss, delta).

    Raises :class:`FitError` when the subset is too small for the family, with the same
    thresholds as :func:`fitting.prepare`: ``n_params + 1`` runs, and 2 (two-input families) or
    ``min(n_params, 3)`` distinct values of every input.
    """
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (problem.n,):
        raise FitError(f"`mask` must be a boolean array with one entry per run ({problem.n}); got shape {mask.shape} of {mask.dtype}")
    inputs = {name: np.asarray(arr)[mask] for name, arr in problem.inputs.items()}
    named = {(problem.x if name == "x" and problem.x else name): arr for name, arr in inputs.items()}
    check_size(problem.family, named)
    return replace(
        problem,
        inputs=inputs,
        y_values=problem.y_values[mask],
        run_ids=problem.run_ids[mask],
        groups=problem.groups[mask],
    )


def _to_metric(family, f: np.ndarray) -> np.ndarray:
    """Values in the residual space -> the metric itself."""
    return np.exp(f) if family.space == "log" else f


def _input_columns(problem: Problem) -> dict[str, np.ndarray]:
    """The fitted inputs under their data names (``params``/``tokens``, or the one-input x)."""
    return {(problem.x if name == "x" and problem.x else name): np.asarray(arr) for name, arr in problem.inputs.items()}


def _fitted(fit: FitResult) -> np.ndarray:
    """The fit's predicted metric at its own runs."""
    f = fit.problem.target + fit.residuals
    return _to_metric(fit.family, f)


def _pct_text(value: float) -> str:
    a = abs(value)
    if a >= 10:
        return f"{a:.0f}%"
    if a >= 1:
        return f"{a:.1f}%"
    return f"{a:.2g}%"


# ------------------------------------------------------------------------------ residuals as shown

#: The header of a shown residual column, by the family's residual space: it says the sign.
RESIDUAL_HEADERS = {"log": "residual ln(actual) − ln(predicted)", "linear": "residual actual − predicted"}


def residual_header(family) -> str:
    """The column header of :func:`shown_residuals` for ``family`` (a Family): it states the sign."""
    return RESIDUAL_HEADERS["log" if family.space == "log" else "linear"]


def shown_residuals(fit: FitResult) -> np.ndarray:
    """The residuals of the fitted runs as every surface shows them: **actual minus predicted**
    in the family's residual space (``ln actual - ln predicted`` for losses), in the fit's run
    order. It is ``-fit.residuals`` (the solver's sign is predicted minus actual)."""
    return -np.asarray(fit.residuals, dtype=float)


def _family_inputs(fit: FitResult, runs) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """({family input name: values}, {data column name: values}) of every run in ``runs``."""
    p = fit.problem
    fam_inputs, named = {}, {}
    for name in p.inputs:
        column = p.x if name == "x" and p.x else name
        v = np.asarray(runs.values(column), dtype=float)
        fam_inputs[name] = v
        named[column] = v
    return fam_inputs, named


def run_residuals(fit: FitResult, runs) -> pd.DataFrame:
    """Every run of ``runs`` against ``fit``: the fitted ones, and the excluded ones against this
    fit, which was made without them (the residual they would have; never None).

    Columns: run_id, the fit's input(s) (params/tokens or its x), actual, predicted, residual
    (actual - predicted in the residual space, :func:`shown_residuals`), robust_z (the residual's
    robust z-score on the scale of the fitted runs: ``(r - median) / (1.4826 MAD)`` of the fitted
    runs' residuals, so an excluded run is scored against the runs the fit kept) and status
    (``fitted``, ``excluded``, or ``missing`` for a run without a value the fit needs: NaN
    residual). Rows keep the order of ``runs``.
    """
    fam, p = fit.family, fit.problem
    fam_inputs, named = _family_inputs(fit, runs)
    actual = np.asarray(runs.values(p.y), dtype=float)
    ids = np.asarray(runs.run_ids).astype(str)
    ok = np.isfinite(actual) & (actual > 0 if fam.space == "log" else True)
    for v in fam_inputs.values():
        ok &= np.isfinite(v) & (v > 0)
    predicted = np.full(len(ids), np.nan)
    if ok.any():
        predicted[ok] = fam.predict(fit.theta, {k: v[ok] for k, v in fam_inputs.items()})
    with np.errstate(all="ignore"):
        resid = np.log(actual) - np.log(predicted) if fam.space == "log" else actual - predicted
    fitted = np.isin(ids, p.run_ids.astype(str))
    excluded = np.isin(ids, np.asarray(p.excluded, dtype=str))
    status = np.where(fitted, "fitted", np.where(excluded & ok, "excluded", "missing"))
    r_fit = shown_residuals(fit)
    centre = float(np.median(r_fit)) if r_fit.size else 0.0
    dev = np.abs(r_fit - centre)
    scale = MAD_TO_SD * float(np.median(dev)) if r_fit.size else 0.0
    if scale <= SCALE_FLOOR and r_fit.size:
        scale = MEAN_AD_TO_SD * float(np.mean(dev))
    z = (resid - centre) / max(scale, SCALE_FLOOR)
    resid = np.where(status == "missing", np.nan, resid)
    z = np.where(status == "missing", np.nan, z)
    table = {"run_id": ids}
    table.update(named)
    table.update(actual=actual, predicted=predicted, residual=resid, robust_z=z, status=status)
    return pd.DataFrame(table)


# ------------------------------------------------------------------------------ rules

#: The pseudo-column of a rule on tokens per parameter, D / N.
TOKENS_PER_PARAM = "tokens_per_param"
RULE_DIRECTIONS = ("above", "below")


def rule_columns(runs) -> list[str]:
    """What a rule can test, in order: the metrics, tokens per parameter (D / N, when the runs have
    both), params, tokens, compute, then every other numeric column."""
    frame = runs.frame
    out = list(runs.metrics)
    if runs.has("params") and runs.has("tokens"):
        out.append(TOKENS_PER_PARAM)
    out += [r for r in ("params", "tokens", "compute") if runs.has(r)]
    for c in frame.columns:
        if c not in out and c not in ("run_id", "group") and pd.api.types.is_numeric_dtype(frame[c]):
            out.append(str(c))
    return out


def rule_values(runs, column: str) -> np.ndarray:
    """The values a rule on ``column`` compares (``tokens_per_param``: tokens / params)."""
    if column == TOKENS_PER_PARAM:
        with np.errstate(all="ignore"):
            return np.asarray(runs.values("tokens"), float) / np.asarray(runs.values("params"), float)
    if column in runs.metrics or column in ("params", "tokens", "compute"):
        return np.asarray(runs.values(column), float)
    return pd.to_numeric(runs.frame[column], errors="coerce").to_numpy(dtype=float)


def runs_beyond(runs, column: str, direction: str, limit: float) -> list[str]:
    """The ids of the runs whose ``column`` is strictly ``above`` or ``below`` ``limit`` (runs
    without a value are never hit). Raises :class:`FitError` for an unknown column or direction."""
    if direction not in RULE_DIRECTIONS:
        raise FitError(f"`direction` must be above or below; got {direction!r}")
    columns = rule_columns(runs)
    if column not in columns:
        raise FitError(f"no numeric column `{column}` to apply a rule to; choose one of {', '.join(columns)}")
    try:
        limit = float(limit)
    except (TypeError, ValueError):
        limit = math.nan
    if not math.isfinite(limit):
        raise FitError(f"the limit of a rule must be a number; got {limit!r}")
    v = rule_values(runs, column)
    with np.errstate(invalid="ignore"):
        hit = (v > limit) if direction == "above" else (v < limit)
    hit &= np.isfinite(v)
    return [str(r) for r in np.asarray(runs.run_ids)[hit]]


# ------------------------------------------------------------------------------ outliers


@dataclass(frozen=True)
class Suggestion:
    """A run that looks like an outlier of a fit.

    ``residual`` is actual minus predicted in the family's residual space (:func:`shown_residuals`),
    ``score`` its robust z-score (positive: the run lies above the curve), ``reason`` a sentence
    to show next to the run; ``actual`` and ``predicted`` are the metric itself, ``inputs`` the
    run's values of the fit's inputs ({"params": N, "tokens": D} or {x: value}).
    """

    run_id: str
    residual: float
    score: float
    reason: str
    actual: float = math.nan
    predicted: float = math.nan
    inputs: Mapping = field(default_factory=dict, compare=False)


def _reason(fit: FitResult, residual: float, score: float) -> str:
    """``residual``: actual - predicted in the residual space."""
    metric = fit.y
    if fit.family.space == "log":
        pct = 100.0 * math.expm1(residual)  # actual / predicted - 1
        where = "above" if pct > 0 else "below"
        return f"{metric} {_pct_text(pct)} {where} the fit (robust |z| = {abs(score):.1f})"
    where = "above" if residual > 0 else "below"
    return f"{metric} {abs(residual):.2g} {where} the fit (robust |z| = {abs(score):.1f})"


def suggest_outliers(fit: FitResult, threshold: float = 3.5) -> list[Suggestion]:
    """Runs whose residual is far from the others: ``|robust z| >= threshold``.

    The robust z-score is ``(r - median r) / (1.4826 MAD r)`` of :func:`shown_residuals` (see
    :func:`robust_z`); 3.5 is the cut-off of Iglewicz and Hoaglin (1993). Runs within
    :data:`MIN_EFFECT` of the median residual are never suggested. The result is sorted by
    ``|score|``, largest first; it is a suggestion, the user decides what to exclude.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (threshold > 0 and math.isfinite(threshold)):
        raise FitError(f"`threshold` must be a positive number (3.5 is usual); got {threshold!r}")
    r = shown_residuals(fit)
    z = robust_z(r)
    flagged = (np.abs(z) >= threshold) & (np.abs(r - np.median(r)) > MIN_EFFECT)
    order = [i for i in np.argsort(-np.abs(z), kind="stable") if flagged[i]]
    p = fit.problem
    ids, actual, predicted, named = p.run_ids, p.y_values, _fitted(fit), _input_columns(p)
    return [Suggestion(str(ids[i]), float(r[i]), float(z[i]), _reason(fit, float(r[i]), float(z[i])),
                       actual=float(actual[i]), predicted=float(predicted[i]),
                       inputs={k: float(v[i]) for k, v in named.items()})
            for i in order]


def residual_table(fit: FitResult) -> pd.DataFrame:
    """One row per fitted run: run_id, the input(s), actual, predicted, residual, robust_z.

    ``residual`` is actual minus predicted in the family's residual space (log for losses:
    :func:`shown_residuals`); ``robust_z`` is its robust z-score (see :func:`robust_z`). Rows keep
    the order of the fit. :func:`run_residuals` adds the excluded runs.
    """
    p = fit.problem
    r = shown_residuals(fit)
    table = {"run_id": p.run_ids.astype(str)}
    table.update(_input_columns(p))
    table.update(
        actual=p.y_values,
        predicted=_fitted(fit),
        residual=r,
        robust_z=robust_z(r),
    )
    return pd.DataFrame(table)


def with_without(with_runs, without_runs, at_with=None, at_without=None, *, kind: str = "loss") -> pd.DataFrame:
    """The same family fitted with and without some runs, side by side (two BootstrapResults, or
    FitResults for the best fits alone).

    Rows: runs fitted, each parameter, and the prediction at a target when ``at_with`` /
    ``at_without`` (:class:`~scalecore.uncertainty.Estimate`, e.g. :func:`scalecore.optimum.predict_at`)
    are given. Columns: quantity, ``with the runs``, ``without them`` (text through
    :func:`scalecore.formatting.format_estimate`: value [interval]), ``change`` (relative change
    of the value, in %) and the raw values ``value with`` / ``value without``.
    """
    from .formatting import format_estimate, format_value

    def parts(res):
        fit = getattr(res, "fit", res)
        ests = res.estimates if hasattr(res, "estimates") and hasattr(res, "fit") else {}
        return fit, ests

    fit_a, est_a = parts(with_runs)
    fit_b, est_b = parts(without_runs)
    if fit_a.family.name != fit_b.family.name:
        raise FitError(f"compare one family with and without runs; got {fit_a.family.name} and {fit_b.family.name}")
    rows = [{"quantity": "runs fitted", "with the runs": str(fit_a.n_points), "without them": str(fit_b.n_points),
             "change": f"{fit_b.n_points - fit_a.n_points:+d} runs", "value with": float(fit_a.n_points),
             "value without": float(fit_b.n_points)}]

    def row(name, a, b, ea=None, eb=None, k="plain"):
        ta = format_estimate(ea, kind=k) if ea is not None else format_value(a, k)
        tb = format_estimate(eb, kind=k) if eb is not None else format_value(b, k)
        with np.errstate(all="ignore"):
            pct = 100.0 * (b - a) / abs(a) if a else math.nan
        change = f"{pct:+.3g}%" if math.isfinite(pct) else "—"
        return {"quantity": name, "with the runs": ta, "without them": tb, "change": change,
                "value with": float(a), "value without": float(b)}

    for name in fit_a.family.param_names:
        rows.append(row(name, fit_a.params[name], fit_b.params[name], est_a.get(name), est_b.get(name)))
    if at_with is not None and at_without is not None:
        rows.append(row(f"{fit_a.y} at the target", at_with.value, at_without.value, at_with, at_without, kind))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ influence


def target_inputs(fit: FitResult, at: Mapping) -> dict[str, np.ndarray]:
    """Check a target point ``at`` for ``fit`` and return it as family inputs (arrays of length 1).

    One-input families take ``{"x": value}`` (or the name of their x, e.g. ``{"compute": C}``);
    two-input families ``{"params": N, "tokens": D}``. Values must be positive numbers.
    """
    fam = fit.family
    if not isinstance(at, Mapping):
        raise FitError(f"`at` must be a dict such as {_at_example(fit)}; got {at!r}")
    if fam.is_two_input:
        keys = {"params": "params", "tokens": "tokens"}
    else:
        keys = {"x": "x", **({fit.x: "x"} if fit.x else {})}
    given = {keys[k]: v for k, v in at.items() if k in keys}
    unknown = [k for k in at if k not in keys]
    if unknown or set(given) != set(fam.inputs):
        raise FitError(f"`at` must be {_at_example(fit)} for the {fam.name} family; got {dict(at)!r}")
    out = {}
    for name, value in given.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if not (math.isfinite(v) and v > 0):
            raise FitError(f"`at` values must be positive numbers; got {name}={value!r}")
        out[name] = np.array([v])
    return out


def _at_example(fit: FitResult) -> str:
    if fit.family.is_two_input:
        return '{"params": N, "tokens": D}'
    return f'{{"x": value}} (or {{"{fit.x}": value}})' if fit.x else '{"x": value}'


def influence(fit: FitResult, at: Mapping) -> pd.DataFrame:
    """Leave-one-out influence of each run on the prediction at ``at``.

    All n leave-one-out refits are one batched :func:`fitting.solve` call: problem ``i`` gives
    weight 0 to run ``i`` and 1 to the others, and is solved from the fit's optimum and from
    every distinct optimum of its multi-start fit; the best solution per problem is kept.

    Returns columns run_id, prediction_without (the metric predicted at ``at`` without the run),
    change (prediction_without - prediction) and change_pct (100 change / prediction), sorted by
    ``|change_pct|``, largest first. ``attrs["prediction"]`` is the full-data prediction,
    ``attrs["at"]`` the target point, ``attrs["warnings"]`` lists refits that did not converge.
    A run whose removal leaves too few runs or distinct sizes gets NaN.
    """
    point = target_inputs(fit, at)
    problem, fam = fit.problem, fit.family
    n, p = problem.n, fam.n_params
    prediction = float(fam.predict(fit.theta, point)[0])

    z_fit = fam.to_internal(fit.theta)
    candidates = np.vstack([z_fit[None, :], np.asarray(fit.optima, float).reshape(-1, p)])
    starts = distinct_optima(candidates, np.arange(len(candidates), dtype=float), limit=len(candidates))
    S = len(starts)
    weights = 1.0 - np.eye(n)
    sol = solve(
        fam, problem.inputs, problem.target, np.repeat(weights, S, axis=0), np.tile(starts, (n, 1)),
        loss=problem.loss, delta=problem.delta,
    )
    obj = sol.objective.reshape(n, S)
    pick = np.argmin(obj, axis=1)
    rows = np.arange(n)
    z = sol.z.reshape(n, S, p)[rows, pick]
    converged = sol.converged.reshape(n, S)[rows, pick] & np.isfinite(obj[rows, pick])

    without = fam.predict(fam.to_natural(z), point)[:, 0]
    without[~_leave_one_out_fittable(problem)] = np.nan
    change = without - prediction
    df = pd.DataFrame(
        {"run_id": problem.run_ids.astype(str), "prediction_without": without, "change": change, "change_pct": 100 * change / prediction}
    )
    df = df.iloc[np.argsort(-np.nan_to_num(np.abs(df["change_pct"].to_numpy()), nan=-1.0), kind="stable")].reset_index(drop=True)
    df.attrs["prediction"] = prediction
    df.attrs["at"] = {k: float(v[0]) for k, v in point.items()}
    bad = problem.run_ids[~converged].astype(str).tolist()
    df.attrs["warnings"] = (
        [f"{len(bad)} of {n} leave-one-out refits did not converge (without {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''})"]
        if bad else []
    )
    return df


def _leave_one_out_fittable(problem: Problem) -> np.ndarray:
    """For each run: whether the problem without it still meets :func:`subset_problem`'s thresholds."""
    fam = problem.family
    ok = np.full(problem.n, problem.n - 1 >= fam.n_params + 1)
    need = 2 if fam.is_two_input else min(fam.n_params, 3)
    for arr in problem.inputs.values():
        values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
        # removing a run loses its value only if it is the sole run with that value
        distinct_without = len(values) - (counts[inverse] == 1)
        ok &= distinct_without >= need
    return ok


# ------------------------------------------------------------------------------ families


#: ΔAIC above which the runs give a law essentially no support against the best one (Burnham and
#: Anderson's rule of thumb).
UNSUPPORTED_DELTA_AIC = 10.0


def unsupported(fits: Sequence[FitResult]) -> list[str]:
    """The families, among fits to the same runs, whose ΔAIC is above :data:`UNSUPPORTED_DELTA_AIC`
    (none when the fits cannot be compared: other runs or another metric)."""
    try:
        df = compare_families(fits)
    except FitError:
        return []
    return df.loc[df["delta_aic"] > UNSUPPORTED_DELTA_AIC, "family"].tolist()


def compare_families(fits: Sequence[FitResult]) -> pd.DataFrame:
    """Information criteria of several families fitted to the same runs, best (lowest AIC) first.

    Columns: family, x (the input, ``params+tokens`` for two-input families), n_params, rmse_log, aic, bic, delta_aic (AIC minus the lowest) and
    akaike_weight (``exp(-delta_aic / 2)`` normalised to sum to 1). AIC and BIC are the fits'
    Gaussian criteria of their residuals, ``n log(RSS/n) + 2k`` and ``n log(RSS/n) + k log n``.

    When log-space and linear-space families are mixed (the logistic family beside loss laws),
    the log-space criteria are moved to the metric's own scale by the Jacobian of the log,
    ``+ 2 sum(log y)``, so that all likelihoods are densities of the same y; ``attrs["note"]``
    says so. Raises :class:`FitError` if the fits do not use the same runs and metric.
    """
    fits = list(fits)
    if not fits:
        raise FitError("`fits` must hold at least one fit; got none")
    ref = fits[0]
    ref_ids = sorted(ref.problem.run_ids.astype(str).tolist())
    for f in fits[1:]:
        if f.y != ref.y:
            raise FitError(
                f"the fits must be to the same metric to compare them: {ref.family.name} fits `{ref.y}`, "
                f"{f.family.name} fits `{f.y}`"
            )
        ids = sorted(f.problem.run_ids.astype(str).tolist())
        if ids != ref_ids:
            only_ref = sorted(set(ref_ids) - set(ids))
            only_f = sorted(set(ids) - set(ref_ids))
            raise FitError(
                f"the fits must use the same runs to compare them: {ref.family.name} uses {len(ref_ids)} run(s), "
                f"{f.family.name} uses {len(ids)}; only in {ref.family.name}: {', '.join(only_ref[:5]) or 'none'}; "
                f"only in {f.family.name}: {', '.join(only_f[:5]) or 'none'}. Fit both with the same exclusions."
            )
    mixed = len({f.family.space for f in fits}) > 1
    jacobian = 2.0 * float(np.sum(np.log(ref.problem.y_values))) if mixed else 0.0
    rows = []
    for f in fits:
        shift = jacobian if f.family.space == "log" else 0.0
        rows.append(
            {"family": f.family.name, "x": f.x or "+".join(f.family.inputs), "n_params": f.family.n_params, "rmse_log": f.rmse_log,
             "aic": f.aic + shift, "bic": f.bic + shift}
        )
    df = pd.DataFrame(rows)
    delta = df["aic"] - df["aic"].min()
    df["delta_aic"] = delta
    w = np.exp(-0.5 * delta)
    df["akaike_weight"] = w / w.sum()
    df = df.sort_values("aic", kind="stable").reset_index(drop=True)
    if mixed:
        df.attrs["note"] = (
            "log-space and linear-space families mixed: AIC and BIC of the log-space fits include "
            "the Jacobian 2 sum(log y) so that all are likelihoods of the metric itself"
        )
    return df


# ------------------------------------------------------------------------------ identifiability


def verdict(runs, fit_result: FitResult, *, base: Verdict | None = None,
            alternatives: Sequence[str] = ALTERNATIVES) -> Verdict:
    """Whether the runs identify ``fit_result``'s family (:func:`scalecore.identifiability.check`,
    or ``base``: the verdict a bootstrap that gave up carries), and for a refused family the first
    of ``alternatives`` that the same runs (same metric, same exclusions) do identify, against
    compute where the runs have it."""
    v = base if base is not None else check(fit_result)
    if v.identified:
        return v
    problem = fit_result.problem
    axes = [a for a in ("compute", "params", "tokens") if runs.has(a)]
    kind = metric_kind(runs, problem.y)  # a loss law refused on an accuracy gets a law for accuracies
    for name in alternatives:
        if name == v.family or name not in FAMILIES or FAMILIES[name].metric_kind != kind:
            continue
        for axis in axes:
            try:
                alt = fit(runs, name, x=axis, y=problem.y, exclude=problem.excluded, loss=problem.loss,
                          delta=problem.delta)
            except ScaleCoreError:
                continue
            if check(alt).identified:
                return replace(v, alternative=name, alternative_x=axis)
    return v


def bootstrap_or_refuse(runs, fit_result: FitResult, **options):
    """``fit_result.bootstrap(**options)``; a family the runs do not identify raises
    :class:`~scalecore.errors.NotIdentified` whose message also names a law they do identify
    (:func:`verdict`). What the pages and the command line call."""
    try:
        return fit_result.bootstrap(**options)
    except NotIdentified as exc:
        v = verdict(runs, fit_result, base=exc.verdict) if exc.verdict is not None else None
        raise NotIdentified(v.text() if v is not None else str(exc), v) from None

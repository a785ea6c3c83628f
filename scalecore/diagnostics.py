"""Diagnostics of a fit: outlier suggestions, leave-one-out influence, an extrapolation
backtest, and information criteria across families.

Everything works on the arrays of a :class:`~scalecore.fitting.Problem` and on
:class:`~scalecore.fitting.FitResult`; fits go through :func:`fitting.fit_problem` and
:func:`fitting.solve`, so a diagnostic uses exactly the objective of the fit it diagnoses.

Sign convention: ``FitResult.residuals`` are *predicted minus actual* in the family's residual
space (``log`` for loss-like families, the metric itself for the logistic family). A loss that
lies above the fitted curve therefore has a negative residual and a negative robust z-score;
the readable ``reason`` of a :class:`Suggestion` states the direction in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .budget import FLOPS_PER_TOKEN_PARAM
from .errors import FitError, NotIdentified, ScaleCoreError
from .families import FAMILIES
from .data import metric_kind
from .fitting import FitResult, Problem, check_size, distinct_optima, fit, fit_problem, solve
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

#: Runs whose ``by`` values are within this relative distance of the backtest cutoff are treated
#: as the same scale (all runs of one IsoFLOP budget are held out together).
TIE_RTOL = 1e-9


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


# ------------------------------------------------------------------------------ outliers


@dataclass(frozen=True)
class Suggestion:
    """A run that looks like an outlier of a fit.

    ``residual`` is the fit's residual (predicted minus actual, in the family's residual space),
    ``score`` its robust z-score (negative: the run lies above the curve), ``reason`` a sentence
    to show next to the run.
    """

    run_id: str
    residual: float
    score: float
    reason: str


def _reason(fit: FitResult, residual: float, score: float) -> str:
    metric = fit.y
    if fit.family.space == "log":
        pct = 100.0 * math.expm1(-residual)  # actual / predicted - 1
        where = "above" if pct > 0 else "below"
        return f"{metric} {_pct_text(pct)} {where} the fit (robust |z| = {abs(score):.1f})"
    diff = -residual  # actual - predicted
    where = "above" if diff > 0 else "below"
    return f"{metric} {abs(diff):.2g} {where} the fit (robust |z| = {abs(score):.1f})"


def suggest_outliers(fit: FitResult, threshold: float = 3.5) -> list[Suggestion]:
    """Runs whose residual is far from the others: ``|robust z| >= threshold``.

    The robust z-score is ``(r - median r) / (1.4826 MAD r)`` of ``fit.residuals`` (see
    :func:`robust_z`); 3.5 is the cut-off of Iglewicz and Hoaglin (1993). Runs within
    :data:`MIN_EFFECT` of the median residual are never suggested. The result is sorted by
    ``|score|``, largest first; it is a suggestion, the user decides what to exclude.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (threshold > 0 and math.isfinite(threshold)):
        raise FitError(f"`threshold` must be a positive number (3.5 is usual); got {threshold!r}")
    r = np.asarray(fit.residuals, dtype=float)
    z = robust_z(r)
    flagged = (np.abs(z) >= threshold) & (np.abs(r - np.median(r)) > MIN_EFFECT)
    order = [i for i in np.argsort(-np.abs(z), kind="stable") if flagged[i]]
    ids = fit.problem.run_ids
    return [Suggestion(str(ids[i]), float(r[i]), float(z[i]), _reason(fit, float(r[i]), float(z[i]))) for i in order]


def residual_table(fit: FitResult) -> pd.DataFrame:
    """One row per fitted run: run_id, the input(s), actual, predicted, residual, robust_z.

    ``residual`` is predicted minus actual in the family's residual space (log for losses);
    ``robust_z`` is its robust z-score (see :func:`robust_z`). Rows keep the order of the fit.
    """
    p = fit.problem
    table = {"run_id": p.run_ids.astype(str)}
    table.update(_input_columns(p))
    table.update(
        actual=p.y_values,
        predicted=_fitted(fit),
        residual=np.asarray(fit.residuals, float),
        robust_z=robust_z(fit.residuals),
    )
    return pd.DataFrame(table)


# ------------------------------------------------------------------------------ backtest

BACKTEST_BY = ("compute", "params", "tokens")


@dataclass(frozen=True, eq=False)
class Backtest:
    """An extrapolation backtest: fit on the smaller runs, predict the largest ones.

    ``table`` has one row per held-out run: run_id, the ``by`` value, actual, predicted and
    ``error_pct`` = 100 (predicted - actual) / actual. Summary numbers are over the held-out
    runs: ``rmse_log`` (of log predicted - log actual), ``mape_pct`` (mean |error_pct|),
    ``max_abs_pct`` and ``bias_pct`` (mean signed error_pct: negative = the law underestimates
    the metric at large scale). When the training runs cannot be fitted, ``ok`` is False,
    ``message`` says why and the numbers are NaN.
    """

    ok: bool
    message: str
    family: str
    by: str
    holdout_fraction: float
    cutoff: float
    n_train: int
    n_test: int
    table: pd.DataFrame = field(repr=False)
    rmse_log: float = math.nan
    mape_pct: float = math.nan
    max_abs_pct: float = math.nan
    bias_pct: float = math.nan
    fit: FitResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Plain types only (JSON-ready)."""
        return {
            "ok": self.ok,
            "message": self.message,
            "family": self.family,
            "by": self.by,
            "holdout_fraction": self.holdout_fraction,
            "cutoff": self.cutoff,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "rmse_log": self.rmse_log,
            "mape_pct": self.mape_pct,
            "max_abs_pct": self.max_abs_pct,
            "bias_pct": self.bias_pct,
            "runs": self.table.to_dict(orient="records"),
        }


def scale_values(problem: Problem, by: str = "compute") -> tuple[str, np.ndarray]:
    """The axis runs are ordered by in a backtest, and its values.

    ``compute`` is 6 N D for two-input families; a one-input family fitted against compute uses
    its x. A one-input family fitted against params or tokens has no other axis, so its own x
    is used whatever ``by`` asks for, and the returned name says so.
    """
    if by not in BACKTEST_BY:
        raise FitError(f"`by` must be one of {', '.join(BACKTEST_BY)}; got {by!r}")
    if problem.family.is_two_input:
        n, d = problem.inputs["params"], problem.inputs["tokens"]
        if by == "compute":
            return "compute", FLOPS_PER_TOKEN_PARAM * n * d
        return by, np.asarray(problem.inputs[by], float)
    return problem.x, np.asarray(problem.inputs["x"], float)


def backtest(problem: Problem, holdout_fraction: float = 0.2, by: str = "compute") -> Backtest:
    """Fit on the runs below the top ``holdout_fraction`` of ``by``; predict the held-out ones.

    The ``ceil(holdout_fraction * n)`` largest runs by ``by`` (see :func:`scale_values`) are held
    out, together with every run at the same scale as the smallest of them (so a whole IsoFLOP
    budget is held out or kept); ``cutoff`` is that smallest held-out value. The training runs
    are fitted with :func:`fitting.fit_problem` exactly as the full fit is. Argument errors
    raise :class:`FitError`; a training set that cannot be fitted returns ``ok=False``.
    """
    if isinstance(holdout_fraction, bool) or not isinstance(holdout_fraction, (int, float)) or not 0 < holdout_fraction < 1:
        raise FitError(f"`holdout_fraction` must be between 0 and 1 (e.g. 0.2); got {holdout_fraction!r}")
    fam = problem.family
    axis, scale = scale_values(problem, by)
    k = max(1, math.ceil(holdout_fraction * problem.n))
    cutoff = float(np.sort(scale)[::-1][k - 1])
    test = scale >= cutoff * (1 - TIE_RTOL)
    n_test, n_train = int(test.sum()), int((~test).sum())
    base = dict(family=fam.name, by=axis, holdout_fraction=float(holdout_fraction), cutoff=cutoff, n_train=n_train, n_test=n_test)

    def failed(why: str) -> Backtest:
        empty = pd.DataFrame(columns=["run_id", axis, "actual", "predicted", "error_pct"])
        return Backtest(ok=False, message=why, table=empty, **base)

    try:
        train = fit_problem(subset_problem(problem, ~test))
    except FitError as exc:
        return failed(
            f"cannot backtest: holding out the {n_test} largest run(s) by {axis} (>= {cutoff:.3g}) "
            f"leaves {n_train} to fit: {exc}"
        )
    held = {name: np.asarray(arr)[test] for name, arr in problem.inputs.items()}
    predicted = fam.predict(train.theta, held)
    actual = problem.y_values[test]
    err = (predicted - actual) / actual
    with np.errstate(all="ignore"):
        log_err = np.log(predicted) - np.log(actual)
    table = pd.DataFrame(
        {"run_id": problem.run_ids[test].astype(str), axis: scale[test], "actual": actual, "predicted": predicted, "error_pct": 100 * err}
    ).sort_values(axis, kind="stable").reset_index(drop=True)
    rmse_log = float(np.sqrt(np.mean(log_err**2))) if np.all(np.isfinite(log_err)) else math.nan
    mape = float(100 * np.mean(np.abs(err)))
    bias = float(100 * np.mean(err))
    message = (
        f"trained on {n_train} run(s) below {axis} {cutoff:.3g}, predicted {n_test} held-out run(s): "
        f"mean absolute error {mape:.2g}%, bias {bias:+.2g}%"
    )
    if not train.success:
        message += f"; the training fit {train.message}"
    return Backtest(
        ok=True, message=message, table=table, rmse_log=rmse_log, mape_pct=mape,
        max_abs_pct=float(100 * np.max(np.abs(err))), bias_pct=bias, fit=train, **base,
    )


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

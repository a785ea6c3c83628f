"""Two-step downstream prediction: scale -> loss -> accuracy, with one bootstrap for both steps.

Step 1 fits a loss law to the runs that have a loss: Chinchilla's ``L(N, D)`` (or any family in
:data:`~scalecore.FAMILIES` that models a loss, e.g. ``offset_power_law`` against compute).
Step 2 fits a logistic map from loss to a downstream accuracy on the runs that have both::

    accuracy = floor + (ceiling - floor) * sigmoid(slope * (loss_mid - loss))

(Gadre et al. 2024, "Language models scale reliably with over-training and on downstream tasks";
the Llama 3 report's two-step method.) Accuracy falls as loss rises: ``floor`` is the accuracy at
high loss (chance level), ``ceiling`` at low loss, ``loss_mid`` the loss half-way between them and
``slope`` the steepness per unit of loss (>= 0).

The chain predicts the accuracy of a larger run: ``step2(step1(N, D))``.

Step 2 reuses the registered ``logistic`` family (a sigmoid in ``log10 x``) on the input
``x = 10**(-loss)``: then ``log10 x = -loss``, so the family's ``(y0, y1, slope, log10_mid)`` are
exactly ``(floor, ceiling, slope, -loss_mid)``. No new family is registered, so pages that list
families against N, D or C are not offered a law whose input is a loss.

Uncertainty. Both steps are bootstrapped *together*: one case resample of the runs (a vector of
counts, as in :mod:`scalecore.bootstrap`) weights step 1's runs and step 2's runs alike, both are
fitted for all resamples at once by :func:`scalecore.fitting.solve`, and the prediction is composed
per resample. The interval of the chained accuracy therefore carries the uncertainty of the loss
law, of the accuracy map, and their correlation through shared runs. A resample that fails in
either step is left out of every interval and counted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .bootstrap import (FAR_SCORE, SCREEN_ITERATIONS, SCREEN_MARGIN, BootstrapResult, Estimate, _check,
                        _usable)
from .data import SCORE_NAME
from .errors import DataError, FitError
from .families import FAMILIES, expit, get_family
from .fitting import LOSSES, FitResult, Problem, check_size, distinct_optima, fit_problem, predict, solve
from .fitting import fit as _fit
from .spec import FitSpec
from .stats import percentile_interval

__all__ = ["ACCURACY_PARAMS", "ChainedPrediction", "DownstreamResult", "accuracy_from_loss", "fit_downstream"]

#: The step-2 law's parameters as reported (natural names), in the order of the logistic family's.
ACCURACY_PARAMS = ("floor", "ceiling", "slope", "loss_mid")
ACCURACY_FORMULA = r"\mathrm{acc} = f + (c - f)\,\sigma\!\left(k\,(L_{mid} - L)\right)"
#: Losses above this are not plausible cross-entropies (10**-loss would underflow).
MAX_LOSS = 300.0
STEP1, STEP2 = "step 1 (loss law)", "step 2 (accuracy from loss)"


def accuracy_from_loss(params, loss) -> np.ndarray:
    """``floor + (ceiling - floor) * sigmoid(slope * (loss_mid - loss))``.

    ``params`` is a mapping with :data:`ACCURACY_PARAMS` or an array (..., 4) in that order;
    broadcasts against ``loss``.
    """
    if isinstance(params, Mapping):
        params = np.array([float(params[n]) for n in ACCURACY_PARAMS])
    p = np.asarray(params, float)
    floor, ceiling, slope, mid = (p[..., i] for i in range(4))
    loss = np.asarray(loss, float)
    return floor + (ceiling - floor) * expit(slope * (mid - loss))


def _named(theta_logistic: np.ndarray) -> np.ndarray:
    """Logistic family's (y0, y1, slope, log10_mid) -> (floor, ceiling, slope, loss_mid)."""
    out = np.array(theta_logistic, dtype=float, copy=True)
    out[..., 3] = -out[..., 3]
    return out


def _loss_input(loss: np.ndarray) -> np.ndarray:
    return 10.0 ** (-np.asarray(loss, float))


# ------------------------------------------------------------------------------ checking inputs


def _score_like(name: str) -> bool:
    return bool(SCORE_NAME.search(name))


def default_metrics(runs) -> tuple[str | None, str | None]:
    """(loss column, accuracy column) a two-step fit uses when none is named: the first metric that
    does not look like a score, and the first that does (by name)."""
    scores = [m for m in runs.metrics if _score_like(m)]
    losses = [m for m in runs.metrics if m not in scores]
    return (losses[0] if losses else None), (scores[0] if scores else None)


def _metric(runs, name: str | None, role: str, fallback: str | None, label: str) -> str:
    name = name if name is not None else fallback
    if name is None or name not in runs.metrics:
        have = ", ".join(f"`{m}`" for m in runs.metrics) or "none"
        what = f"no {role} column `{name}`" if name is not None else f"no {role} column was found"
        raise DataError(
            f"{label}: {what}; the data's metric columns are {have}. Name the {role} column "
            f"(`{role}_metric=`; `--{role}-metric` on the command line) or add one to the CSV."
        )
    return name


def prepare_accuracy(runs, accuracy_metric: str, loss_metric: str, *, exclude: Sequence[str] = (),
                     loss: str = "huber", delta: float = 0.02) -> Problem:
    """The step-2 problem: accuracy against ``x = 10**(-loss)`` with the logistic family.

    Runs without an accuracy value are left out (they still serve step 1); runs with an accuracy but
    no loss cannot be placed on the loss axis and are left out with a warning.
    """
    fam = get_family("logistic")
    if loss not in LOSSES:
        raise FitError(f"`loss` must be one of {', '.join(LOSSES)}; got {loss!r}")
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
        raise FitError(f"`accuracy_delta` must be a positive number; got {delta!r}")
    ids = np.asarray(runs.run_ids, dtype=object)
    excluded = tuple(e for e in dict.fromkeys(map(str, exclude)) if e in set(ids.tolist()))
    keep = ~np.isin(ids, np.array(excluded, dtype=object))
    acc, lv = runs.values(accuracy_metric), runs.values(loss_metric)
    warnings: list[str] = []
    no_acc = keep & ~np.isfinite(acc)
    if no_acc.any():
        warnings.append(
            f"{int(no_acc.sum())} run(s) have no `{accuracy_metric}` value: used in step 1 (the loss law) only"
        )
    no_loss = keep & np.isfinite(acc) & ~np.isfinite(lv)
    dropped = tuple(ids[no_loss].tolist())
    if dropped:
        warnings.append(
            f"{len(dropped)} run(s) have `{accuracy_metric}` but no `{loss_metric}` and were left out of step 2: "
            + ", ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        )
    keep &= np.isfinite(acc) & np.isfinite(lv)
    too_big = keep & (np.abs(lv) > MAX_LOSS)
    if too_big.any():
        rows = np.asarray(runs.source_rows)[too_big]
        from .errors import format_rows

        raise DataError(
            f"column `{loss_metric}`, {format_rows(rows)}: losses beyond {MAX_LOSS:g} are not cross-entropies "
            "(a perplexity?). Use the log of the perplexity as the loss column."
        )
    x = _loss_input(lv[keep])
    try:
        warnings += check_size(fam, {"x": x})
    except FitError as exc:
        raise FitError(
            f"{STEP2}: found {int(keep.sum())} run(s) with both `{loss_metric}` and `{accuracy_metric}` "
            f"({len(np.unique(x))} distinct losses); the logistic map needs at least {fam.n_params + 1} runs with "
            "3 distinct losses. Add accuracy values to more runs or include excluded runs."
        ) from exc
    groups = np.asarray(runs.frame["group"].astype(str).to_numpy()[keep], dtype=object)
    fam = fam.for_metric(acc[keep])  # an accuracy's floor and ceiling held in [0, 1]
    return Problem(family=fam, x="loss", y=accuracy_metric, inputs={"x": x}, y_values=acc[keep].astype(float),
                   run_ids=ids[keep], groups=groups, excluded=excluded, dropped=dropped, loss=loss,
                   delta=float(delta), warnings=tuple(warnings))


# ------------------------------------------------------------------------------ resampled fits


def _fit_resamples(problem: Problem, fit: FitResult, weights: np.ndarray, extra_starts: int = 3):
    """Every resample (a row of ``weights``) fitted from the full fit's optima and from far-off
    resample optima, as :func:`scalecore.bootstrap.bootstrap_problem` does for its own weights.

    Returns natural parameters (B, p) (NaN where failed), the failed mask and the usable mask.
    """
    fam = problem.family
    B = len(weights)
    usable = _usable(problem, weights)
    z_best = np.full((B, fam.n_params), np.nan)
    obj_best = np.full(B, np.inf)
    conv_best = np.zeros(B, dtype=bool)

    def solve_from(z0, rows, max_iter):
        return solve(fam, problem.inputs, problem.target, weights[rows], z0, loss=problem.loss,
                     delta=problem.delta, max_iter=max_iter)

    def keep_better(rows, sol):
        order = np.lexsort((sol.objective, rows))
        rows_s, first = np.unique(rows[order], return_index=True)
        pick = order[first]
        better = sol.objective[pick] < obj_best[rows_s]
        sel = rows_s[better]
        z_best[sel] = sol.z[pick[better]]
        obj_best[sel] = sol.objective[pick[better]]
        conv_best[sel] = sol.converged[pick[better]]

    rows = np.flatnonzero(usable)
    if rows.size:
        fit_z = fam.to_internal(fit.theta)
        keep_better(rows, solve_from(np.repeat(fit_z[None, :], rows.size, axis=0), rows, 400))
        others = list(fit.optima[1:]) if len(fit.optima) > 1 else []
        if extra_starts and rows.size > 10:
            found = z_best[rows]
            ok = np.all(np.isfinite(found), axis=1)
            if ok.sum() > 2:
                med = np.median(found[ok], axis=0)
                mad = 1.4826 * np.median(np.abs(found[ok] - med), axis=0) + 1e-12
                score = np.where(ok, np.max(np.abs(found - med) / mad, axis=1), 0.0)
                far = score > FAR_SCORE
                if far.any():
                    others += list(distinct_optima(found[far], -score[far], tol=0.05, limit=extra_starts))
        for start in others:
            screen = solve_from(np.repeat(start[None, :], rows.size, axis=0), rows, SCREEN_ITERATIONS)
            close = screen.objective <= obj_best[rows] * (1 + SCREEN_MARGIN)
            if close.any():
                keep_better(rows[close], solve_from(screen.z[close], rows[close], 400))
    failed = ~usable | ~np.isfinite(obj_best) | ~conv_best
    with np.errstate(over="ignore"):
        samples = fam.to_natural(z_best)
    samples[failed] = np.nan
    return samples, failed, usable


def _bound_warnings(fam, samples: np.ndarray, level: float, names=None) -> list[str]:
    lo, hi = fam.internal_bounds()
    z = fam.to_internal(samples)
    out = []
    for j, name in enumerate(names or fam.param_names):
        col = z[:, j]
        share = float(np.mean((col - lo[j] <= 1e-6) | (hi[j] - col <= 1e-6))) if len(col) else 0.0
        if share > (1 - level) / 2:
            out.append(f"the interval of `{name}` runs into its bound: {share:.0%} of resamples put it there")
    return out


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ChainedPrediction:
    """The accuracy predicted at one target by chaining both steps, with its interval.

    ``value`` chains the two best fits; ``median``, ``low`` and ``high`` are the median and the
    percentile interval of the chained prediction over the joint resamples; ``loss`` is step 1's
    loss at the target with its interval.
    """

    target: dict
    value: float
    median: float
    low: float
    high: float
    standard_error: float
    loss: Estimate
    confidence_level: float
    n_resamples: int
    n_failed: int
    samples: np.ndarray = field(repr=False, default=None)

    @property
    def estimate(self) -> Estimate:
        return Estimate(self.value, self.low, self.high, self.standard_error)

    def covers(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def to_dict(self) -> dict:
        return {"target": dict(self.target), "accuracy": self.value, "median": self.median, "low": self.low,
                "high": self.high, "standard_error": self.standard_error,
                "loss": {"value": self.loss.value, "low": self.loss.low, "high": self.loss.high},
                "confidence_level": self.confidence_level, "n_resamples": self.n_resamples,
                "n_failed": self.n_failed}


@dataclass(frozen=True, eq=False)
class DownstreamResult:
    """Both steps of a two-step fit, bootstrapped together.

    ``loss_law`` and ``accuracy_law`` are ordinary :class:`BootstrapResult` objects whose samples
    come from the same resamples (row ``b`` of one goes with row ``b`` of the other) and share one
    ``failed`` mask. ``accuracy_law`` is the logistic family on ``x = 10**(-loss)``: use
    :meth:`accuracy_params`, :meth:`accuracy_interval` and :meth:`accuracy_band` for its parameters
    and curve in terms of the loss.
    """

    loss_law: BootstrapResult
    accuracy_law: BootstrapResult
    loss_metric: str
    accuracy_metric: str
    joint: bool  # one resample of shared runs (True) or two independent resamples (separate runs)
    seconds: float
    warnings: tuple[str, ...]

    # -- bookkeeping
    @property
    def n_resamples(self) -> int:
        return self.loss_law.n_resamples

    @property
    def failed(self) -> np.ndarray:
        return self.loss_law.failed

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def confidence_level(self) -> float:
        return self.loss_law.confidence_level

    @property
    def seed(self):
        return self.loss_law.seed

    @property
    def interval_label(self) -> str:
        how = "joint case resamples of both steps" if self.joint else "independent case resamples of each step"
        return (f"{self.confidence_level:.0%} bootstrap percentile interval ({how}, "
                f"{self.n_resamples - self.n_failed} of {self.n_resamples} resamples)")

    def _quantiles(self, values: np.ndarray):
        return self.loss_law._quantiles(values)

    # -- step 2 in terms of the loss
    @property
    def accuracy_params(self) -> dict[str, float]:
        """Best-fit (floor, ceiling, slope, loss_mid)."""
        return dict(zip(ACCURACY_PARAMS, map(float, _named(self.accuracy_law.fit.theta))))

    @property
    def accuracy_samples(self) -> np.ndarray:
        """(n_ok, 4) resampled (floor, ceiling, slope, loss_mid)."""
        return _named(self.accuracy_law.good)

    @property
    def accuracy_interval(self) -> dict[str, tuple[float, float]]:
        lo, hi = self._quantiles(self.accuracy_samples)
        return {n: (float(a), float(b)) for n, a, b in zip(ACCURACY_PARAMS, lo, hi)}

    @property
    def accuracy_standard_error(self) -> dict[str, float]:
        se = np.std(self.accuracy_samples, axis=0, ddof=1)
        return dict(zip(ACCURACY_PARAMS, map(float, se)))

    def accuracy_band(self, loss):
        """Step 2's curve and band of accuracy against ``loss`` (an array of losses)."""
        return self.accuracy_law.band(_loss_input(loss))

    # -- the chain
    def _target(self, x, params, tokens) -> dict:
        fam = self.loss_law.family
        if fam.is_two_input:
            if params is None or tokens is None:
                raise FitError(
                    f"the {fam.name} loss law predicts from model size and tokens; give both "
                    "(e.g. params=7e9, tokens=1.4e11)"
                )
            return {"params": params, "tokens": tokens}
        if x is None:
            raise FitError(
                f"the {fam.name} loss law is fitted against `{self.loss_law.fit.x}`; give the target as x=<value>"
            )
        return {"x": x}

    def _chain(self, x=None, *, params=None, tokens=None):
        """(best-fit loss, best-fit accuracy, loss samples (n_ok, ...), accuracy samples (n_ok, ...))."""
        step1 = self.loss_law
        t = self._target(x, params, tokens)
        point_loss = np.asarray(step1.fit.predict(t.get("x"), params=t.get("params"), tokens=t.get("tokens")), float)
        loss_samples = np.asarray(predict(step1.family, step1.good, t.get("x"), params=t.get("params"),
                                          tokens=t.get("tokens")), float)
        acc_params = self.accuracy_samples
        acc_params = acc_params.reshape((len(acc_params),) + (1,) * (loss_samples.ndim - 1) + (4,))
        acc_samples = accuracy_from_loss(acc_params, loss_samples)
        point_acc = accuracy_from_loss(np.array([self.accuracy_params[n] for n in ACCURACY_PARAMS]), point_loss)
        return point_loss, point_acc, loss_samples, acc_samples

    def predict_at(self, x=None, *, params=None, tokens=None) -> ChainedPrediction:
        """The accuracy of one run at the target: ``predict_at(params=N, tokens=D)`` for a law in
        N and D, ``predict_at(C)`` for a law against compute (or N, or D)."""
        t = self._target(x, params, tokens)
        for name, v in t.items():
            if not (np.ndim(v) == 0 and math.isfinite(float(v)) and float(v) > 0):
                raise FitError(f"the target `{name}` must be one positive number; got {v!r}")
        pl, pa, ls, acs = self._chain(x, params=params, tokens=tokens)
        ls, acs = np.ravel(ls), np.ravel(acs)
        ok = np.isfinite(acs)
        if ok.sum() < 2:
            raise FitError("fewer than 2 resamples give a finite prediction at this target")
        lo, hi = self._quantiles(acs[ok])
        loss_est = self.loss_law.estimate(float(np.ravel(pl)[0]), ls)
        return ChainedPrediction(
            target={k: float(v) for k, v in t.items()}, value=float(np.ravel(pa)[0]), median=float(np.median(acs[ok])),
            low=float(lo), high=float(hi), standard_error=float(np.std(acs[ok], ddof=1)), loss=loss_est,
            confidence_level=self.confidence_level, n_resamples=self.n_resamples,
            n_failed=self.n_resamples - int(ok.sum()), samples=acs,
        )

    def band(self, x=None, *, params=None, tokens=None) -> dict:
        """Chained accuracy over a grid (arrays of equal shape): ``{"point", "median", "lower",
        "upper", "loss", "loss_lower", "loss_upper"}``."""
        pl, pa, ls, acs = self._chain(x, params=params, tokens=tokens)
        lo, median, hi = percentile_interval(acs, self.confidence_level, with_median=True)
        llo, lhi = self._quantiles(ls)
        return {"point": np.asarray(pa, float), "median": median, "lower": lo, "upper": hi,
                "loss": pl, "loss_lower": llo, "loss_upper": lhi}

    # -- output
    def to_dict(self) -> dict:
        step1 = self.loss_law.to_dict()
        ci = self.accuracy_interval
        se = self.accuracy_standard_error
        fit2 = self.accuracy_law.fit
        step2 = {
            "family": "logistic in loss", "x": self.loss_metric, "y": self.accuracy_metric,
            "formula": "accuracy = floor + (ceiling - floor) * sigmoid(slope * (loss_mid - loss))",
            "n_points": fit2.n_points, "n_excluded": fit2.n_excluded, "params": self.accuracy_params,
            "ci": {k: list(v) for k, v in ci.items()}, "standard_error": se, "rmse": fit2.rmse,
            "loss": fit2.problem.loss, "delta": fit2.problem.delta, "warnings": list(fit2.warnings),
        }
        return {"loss_law": step1, "accuracy_law": step2, "loss_metric": self.loss_metric,
                "accuracy_metric": self.accuracy_metric, "joint": self.joint,
                "bootstrap": {"n_resamples": self.n_resamples, "n_failed": self.n_failed,
                              "confidence_level": self.confidence_level, "seed": self.seed,
                              "seconds": round(self.seconds, 4)},
                "warnings": list(self.warnings)}

    def __str__(self) -> str:
        from .formatting import fit_table, format_interval

        lines = [f"Step 1: {self.loss_metric} from scale", fit_table(self.loss_law.fit, self.loss_law), "",
                 f"Step 2: {self.accuracy_metric} = floor + (ceiling - floor) * sigmoid(slope * (loss_mid - "
                 f"{self.loss_metric}))", f"{self.accuracy_law.fit.n_points} runs used",
                 f"{'parameter':<12} {'value':>14} {'low':>14} {'high':>14}   ({self.interval_label})"]
        ci = self.accuracy_interval
        for name, value in self.accuracy_params.items():
            v, lo, hi = format_interval(value, *ci[name])
            lines.append(f"{name:<12} {v:>14} {lo:>14} {hi:>14}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        """A few lines: step 1's law and step 2's parameters with their intervals (no arrays)."""
        step1 = self.loss_law.fit
        against = "N, D" if step1.family.is_two_input else step1.x
        ci = self.accuracy_interval
        lines = [f"DownstreamResult: {self.accuracy_metric} from {self.loss_metric}; step 1 {step1.family.name} "
                 f"against {against} ({step1.n_points} runs), step 2 logistic in loss "
                 f"({self.accuracy_law.fit.n_points} runs)"]
        for law, names, values, interval in (
                ("step 1", step1.family.param_names, step1.params, self.loss_law.confidence_interval),
                ("step 2", ACCURACY_PARAMS, self.accuracy_params, ci)):
            lines.append(f"  {law}: " + ", ".join(f"{n}={values[n]:.4g} [{interval[n][0]:.4g}, {interval[n][1]:.4g}]"
                                                   for n in names))
        lines.append(f"  {self.interval_label}" + (f"; {len(self.warnings)} warning(s)" if self.warnings else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        rows = []
        for law, names, values, interval in (
                ("step 1", self.loss_law.family.param_names, self.loss_law.fit.params, self.loss_law.confidence_interval),
                ("step 2", ACCURACY_PARAMS, self.accuracy_params, self.accuracy_interval)):
            rows += [f"<tr><td>{law}</td><td>{html.escape(n)}</td><td>{values[n]:.4g}</td><td>{interval[n][0]:.4g}</td>"
                     f"<td>{interval[n][1]:.4g}</td></tr>" for n in names]
        head = "<tr><th>step</th><th>parameter</th><th>value</th><th>low</th><th>high</th></tr>"
        caption = html.escape(repr(self).splitlines()[0])
        notes = "".join(f"<li>{html.escape(w)}</li>" for w in (self.interval_label, *self.warnings))
        return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table><ul>{notes}</ul>"


# ------------------------------------------------------------------------------ the entry point


def fit_downstream(
    runs,
    family="chinchilla",
    x: str | None = None,
    *,
    loss_metric: str | None = None,
    accuracy_metric: str | None = None,
    accuracy_runs=None,
    exclude: Sequence[str] = (),
    loss: str = "huber",
    delta: float = 1e-3,
    accuracy_delta: float = 0.02,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> DownstreamResult:
    """Fit loss from scale (step 1) and accuracy from loss (step 2); bootstrap both together.

    Parameters
    ----------
    runs : Runs
        Runs with a loss column (step 1); those that also have an accuracy serve step 2.
    family : str
        Step 1's loss law (default ``"chinchilla"`` in N and D); a one-input law such as
        ``"offset_power_law"`` is fitted against ``x`` (default compute).
    loss_metric, accuracy_metric : str, optional
        Metric columns (default: the first metric that does not look like a score, and the first that does).
    accuracy_runs : Runs, optional
        Fit step 2 to these runs instead (they need both columns); each set is then resampled on its own.
    exclude : run ids
        Left out of both steps.
    loss, delta : the objective of step 1 (Huber threshold in log space, as :func:`scalecore.fit`).
    accuracy_delta : Huber threshold of step 2, in accuracy units (residuals are linear there).
    n_resamples, confidence_level, seed : the joint case bootstrap.
    """
    _check(n_resamples, confidence_level, "cases", seed)
    t0 = time.perf_counter()
    fam = get_family(family)
    if fam.space != "log" or fam.metric_kind != "loss":
        losses = ", ".join(n for n, f in FAMILIES.items() if f.metric_kind == "loss")
        raise FitError(f"step 1 needs a loss law; `{fam.name}` is not one. Choose one of: {losses}")
    default_loss, default_acc = default_metrics(runs)
    loss_metric = _metric(runs, loss_metric, "loss", default_loss, STEP1)
    acc_source = accuracy_runs if accuracy_runs is not None else runs
    default_acc2 = default_metrics(acc_source)[1]
    accuracy_metric = _metric(acc_source, accuracy_metric, "accuracy", default_acc2, STEP2)
    if accuracy_runs is not None:
        _metric(accuracy_runs, loss_metric, "loss", None, STEP2)
    if accuracy_metric == loss_metric:
        raise DataError(f"the loss and the accuracy are the same column `{loss_metric}`; choose two different columns")

    try:  # step 1 is an ordinary fit of the runs (step 2's x is their loss: a problem of its own)
        fit1 = _fit(runs, FitSpec(fam, x=x, y=loss_metric, exclude=tuple(exclude), loss=loss, delta=delta))
    except FitError as exc:
        raise FitError(f"{STEP1}: {exc}") from None
    except DataError as exc:
        raise DataError(f"{STEP1}: {exc}") from None
    p1 = fit1.problem
    p2 = prepare_accuracy(acc_source, accuracy_metric, loss_metric, exclude=exclude, loss=loss, delta=accuracy_delta)
    try:
        fit2 = fit_problem(p2)
    except FitError as exc:
        raise FitError(f"{STEP2}: {exc}") from None

    rng = np.random.default_rng(seed)
    B = n_resamples
    ids1, ids2 = p1.run_ids.astype(str), p2.run_ids.astype(str)
    joint = accuracy_runs is None
    if joint:
        union = list(dict.fromkeys(list(ids1) + list(ids2)))
        pos = {rid: i for i, rid in enumerate(union)}
        counts = _case_counts(rng, B, len(union))
        w1 = counts[:, [pos[r] for r in ids1]]
        w2 = counts[:, [pos[r] for r in ids2]]
    else:
        w1 = _case_counts(rng, B, len(ids1))
        w2 = _case_counts(rng, B, len(ids2))

    s1, failed1, usable1 = _fit_resamples(p1, fit1, w1)
    s2, failed2, usable2 = _fit_resamples(p2, fit2, w2)
    failed = failed1 | failed2
    s1[failed] = np.nan
    s2[failed] = np.nan
    n_failed = int(failed.sum())
    if B - n_failed < 2:
        raise FitError(f"all but {B - n_failed} of {B} joint resamples failed; the two-step fit is too fragile "
                       "to bootstrap. Add runs or exclude fewer.")
    warnings: list[str] = []
    if n_failed:
        warnings.append(
            f"{n_failed} of {B} joint resamples failed and are left out of every interval "
            f"(step 1: {int((~usable1).sum())} with too few distinct runs, {int((failed1 & usable1).sum())} not "
            f"converged; step 2: {int((~usable2).sum())} with too few distinct runs, "
            f"{int((failed2 & usable2).sum())} not converged)"
        )
    good1, good2 = s1[~failed], s2[~failed]
    w_loss = [f"{STEP1}: {w}" for w in _bound_warnings(p1.family, good1, confidence_level)]
    w_acc = [f"{STEP2}: {w}" for w in _bound_warnings(p2.family, good2, confidence_level,
                                                        names=ACCURACY_PARAMS)]
    seconds = time.perf_counter() - t0
    common = dict(failed=failed, n_resamples=B, confidence_level=float(confidence_level), method="cases",
                  seed=seed, seconds=seconds)
    boot1 = BootstrapResult(fit=fit1, samples=s1, warnings=tuple(w_loss), **common)
    boot2 = BootstrapResult(fit=fit2, samples=s2, warnings=tuple(w_acc), **common)
    all_warnings = ([f"{STEP1}: {w}" for w in fit1.warnings] + [f"{STEP2}: {w}" for w in fit2.warnings]
                    + warnings + w_loss + w_acc)
    return DownstreamResult(loss_law=boot1, accuracy_law=boot2, loss_metric=loss_metric,
                            accuracy_metric=accuracy_metric, joint=joint, seconds=seconds,
                            warnings=tuple(all_warnings))


def _case_counts(rng, B: int, n: int) -> np.ndarray:
    """(B, n) counts of each run in each case resample (n draws with replacement)."""
    idx = rng.integers(0, n, size=(B, n))
    return np.bincount((idx + n * np.arange(B)[:, None]).ravel(), minlength=B * n).reshape(B, n).astype(float)

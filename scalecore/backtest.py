"""Would this forecast have been right? The extrapolation backtest: fit a family to the runs below a
cutoff, predict the larger runs it did not see, and compare.

:func:`backtest` makes one split (a ``cutoff`` on compute, N or D, or the top ``holdout_fraction``
of the runs); :func:`rolling_backtest` makes every split in turn and reads the error against the
distance of the extrapolation, in decades beyond the largest training run.

Two intervals, never confused (both at ``level``, from the bootstrap of the training fit,
:meth:`FitResult.bootstrap`, cases resampled, no refit):

- the **confidence interval of the mean**: the percentile interval of the resamples' predictions
  at a run (where the law itself may lie: :meth:`BootstrapResult.band` ``kind="confidence"``);
- the **prediction interval**: each resample's prediction plus one residual drawn with
  replacement from the training fit's residuals, in the family's residual space (log of the
  loss, or the metric itself for the logistic law), then the percentile interval
  (:meth:`BootstrapResult.band` ``kind="prediction"``, seeded ``seed + 1``). It adds run-to-run
  noise, so a new run should fall inside it ``level`` of the time; the held-out runs' coverage
  is the check.

Errors are *predicted minus actual*: ``error_pct = 100 (predicted - actual) / actual``; the bias is
their mean (negative: the law underestimates the metric of larger runs) and the mean absolute
relative error the mean of their absolute values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import optimum
from .budget import FLOPS_PER_TOKEN_PARAM
from .diagnostics import subset_problem
from .errors import FitError, ScaleCoreError
from .families import min_distinct
from .fitting import FitResult, Problem, check_size, fit_problem, prepare
from .formatting import format_table, format_value
from .uncertainty import Band

#: The axes a backtest can order runs by.
BACKTEST_BY = ("compute", "params", "tokens")

#: Runs whose ``by`` values are within this relative distance of the cutoff are treated as the same
#: scale (all runs of one IsoFLOP budget are held out together, even when 6 N D of sizes written to
#: three or four digits misses the budget by 1e-6).
TIE_RTOL = 1e-3

#: The columns of :attr:`Backtest.table`, and the number kind each is written in.
TABLE_KINDS = {"actual": "loss", "predicted": "loss", "error": "plain", "error_pct": "plain", "ci_low": "loss",
               "ci_high": "loss", "pi_low": "loss", "pi_high": "loss", "decades": "plain"}


# ------------------------------------------------------------------------------ the result


@dataclass(frozen=True, eq=False)
class Backtest:
    """An extrapolation backtest of one family: fit on the smaller runs, predict the larger ones.

    ``table`` has one row per held-out run: run_id, the ``by`` value, actual, predicted,
    ``error`` (predicted - actual), ``error_pct`` (100 error / actual), ``ci_low``/``ci_high``
    (confidence interval of the mean), ``pi_low``/``pi_high`` (prediction interval, with
    run-to-run noise), ``inside_pi`` and ``decades`` (log10 of the run's ``by`` value over the
    largest training run's). Summary numbers over the held-out runs: ``bias_pct`` (mean signed
    error_pct), ``mape_pct`` (mean |error_pct|), ``max_abs_pct``, ``rmse_log`` and ``n_inside``
    (runs inside the prediction interval; -1 without a bootstrap). When the training runs cannot
    be fitted, ``ok`` is False, ``message`` says why and the numbers are NaN.
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
    n_inside: int = -1
    level: float = 0.95
    train_max: float = math.nan
    fit: FitResult | None = field(default=None, repr=False)
    bootstrap: object | None = field(default=None, repr=False)
    #: why there are no intervals (the bootstrap was not asked for, or refused), else ""
    note: str = ""

    @property
    def coverage(self) -> float:
        """The share of held-out runs inside the prediction interval (NaN without intervals)."""
        return self.n_inside / self.n_test if self.n_inside >= 0 and self.n_test else math.nan

    @property
    def coverage_text(self) -> str:
        """``"4 of 5 inside"``, or ``"—"`` without intervals."""
        return f"{self.n_inside} of {self.n_test} inside" if self.n_inside >= 0 else "—"

    def band(self, xs, kind: str = "prediction", k: float = FLOPS_PER_TOKEN_PARAM) -> Band:
        """The forecast over ``xs`` on the ``by`` axis with its ``kind`` band at :attr:`level`.

        A one-input family: its curve (:meth:`BootstrapResult.band`). A law in N and D: its
        compute-optimal frontier read on ``by`` (:func:`scalecore.optimum.frontier_band` for the
        confidence band; the prediction band adds a training residual to every resample's frontier
        value, as :meth:`BootstrapResult.band` does). Without a bootstrap the band ends are NaN.
        """
        if not self.ok:
            raise FitError(f"the {self.family} backtest has no forecast: {self.message}")
        xs = np.asarray(xs, float)
        fam, boot = self.fit.family, self.bootstrap
        nan = np.full(xs.shape, np.nan)
        if not fam.is_two_input:
            if boot is None:
                point = self.fit.predict(xs)
                return Band(point=point, median=nan, lower=nan, upper=nan, kind=kind, confidence_level=self.level)
            return boot.band(xs, kind=kind)
        if boot is None:
            point = optimum.frontier_loss(fam, self.fit.theta[None, :], self.by, xs, k)[0]
            return Band(point=point, median=nan, lower=nan, upper=nan, kind=kind, confidence_level=self.level)
        if kind == "confidence":
            return optimum.frontier_band(boot, self.by, xs, k)
        point, samples = optimum.frontier_on_axis(boot, self.by, xs, k)
        return boot.band_of(point, samples, kind="prediction")

    def forecast(self, kind: str = "prediction", n: int = 120, k: float = FLOPS_PER_TOKEN_PARAM) -> tuple[np.ndarray, Band]:
        """The grid the forecast is drawn on (from the smallest training run to past the largest
        held-out run, ``n`` points geometric on ``by``) and :meth:`band` over it."""
        train = self.train_scale
        lo, hi = float(np.min(train)) / 1.2, float(np.max(self.table[self.by])) * 1.5
        xs = np.geomspace(lo, hi, n)
        return xs, self.band(xs, kind, k)

    @property
    def train_scale(self) -> np.ndarray:
        """The training runs' ``by`` values (in the order of ``fit.problem``)."""
        if self.fit is None:
            return np.array([])
        return scale_values(self.fit.problem, self.by if self.fit.family.is_two_input else "compute")[1]

    def summary_row(self) -> dict:
        """The family's row of every backtest table (CLI, report, app): formatted text. Why a row
        has no numbers or no interval is :attr:`message` / :attr:`note`, said beside the table."""
        row = {"family": self.family, "trained on": f"{self.n_train} runs",
               "held out": f"{self.n_test} runs ≥ {format_value(self.cutoff, digits=3)} {self.by}"}
        if not self.ok:
            return {**row, "bias": "—", "mean abs error": "—", f"inside the {self.level:.0%} PI": "—"}
        sign = "+" if self.bias_pct > 0 else ""  # a signed error says its sign
        return {**row, "bias": f"{sign}{format_value(self.bias_pct, digits=2)}%",
                "mean abs error": f"{format_value(self.mape_pct, digits=2)}%",
                f"inside the {self.level:.0%} PI": self.coverage_text}

    def table_text(self) -> pd.DataFrame:
        """:attr:`table` with its numbers written by :mod:`scalecore.formatting`."""
        kinds = dict(TABLE_KINDS, **{self.by: "flops" if self.by == "compute" else "count"})
        return format_table(self.table, kinds)

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
            "train_max": self.train_max,
            "level": self.level,
            "rmse_log": self.rmse_log,
            "mape_pct": self.mape_pct,
            "max_abs_pct": self.max_abs_pct,
            "bias_pct": self.bias_pct,
            "n_inside": self.n_inside,
            "note": self.note,
            "runs": self.table.to_dict(orient="records"),
        }

    def __repr__(self) -> str:
        return f"Backtest({self.family}: {self.message})"


# ------------------------------------------------------------------------------ splitting


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


def _problem(data, family, **spec) -> Problem:
    """A prepared problem: ``data`` itself, or ``prepare(data, family, **spec)`` for runs."""
    if isinstance(data, Problem):
        if family is not None:
            raise FitError("give either a prepared problem or runs and a family, not both")
        return data
    if family is None:
        raise FitError("name the family to backtest, e.g. backtest(runs, \"chinchilla\", cutoff=1e20)")
    return prepare(data, family, **spec)


def _split(scale: np.ndarray, axis: str, by: str, cutoff, holdout_fraction) -> tuple[np.ndarray, float, float]:
    """(held-out mask, cutoff, holdout fraction) of one backtest."""
    if cutoff is not None:
        if holdout_fraction is not None:
            raise FitError("give either `cutoff` or `holdout_fraction`, not both")
        if axis != by:
            raise FitError(f"this family is fitted against {axis}, so its runs are ordered by {axis}: backtest it "
                           f"with by=\"{axis}\" (a cutoff on {by} cannot be read on {axis})")
        try:
            cutoff = float(cutoff)
        except (TypeError, ValueError):
            cutoff = math.nan
        if not (math.isfinite(cutoff) and cutoff > 0):
            raise FitError(f"`cutoff` must be a positive number on {by}; got {cutoff!r}")
        test = scale >= cutoff * (1 - TIE_RTOL)
        if not test.any():
            raise FitError(f"no run has {by} ≥ {format_value(cutoff)} (the largest is {format_value(scale.max())}): "
                           f"choose a smaller cutoff")
        return test, float(scale[test].min()), float(test.mean())
    frac = 0.2 if holdout_fraction is None else holdout_fraction
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise FitError(f"`holdout_fraction` must be between 0 and 1 (e.g. 0.2); got {frac!r}")
    k = max(1, math.ceil(frac * len(scale)))
    cut = float(np.sort(scale)[::-1][k - 1])
    return scale >= cut * (1 - TIE_RTOL), cut, float(frac)


def cutoffs(scale) -> np.ndarray:
    """The distinct scales of the runs, ascending (values within :data:`TIE_RTOL` merged): the
    cutoffs a slider offers."""
    s = np.sort(np.asarray(scale, float))
    if s.size == 0:
        return s
    keep = np.r_[True, s[1:] > s[:-1] * (1 + TIE_RTOL)]
    return s[keep]


# ------------------------------------------------------------------------------ the backtest


def backtest(data, family=None, *, cutoff=None, holdout_fraction=None, by: str = "compute", n_resamples: int = 0,
             level: float = 0.95, seed: int | None = 0, method: str = "cases", **spec) -> Backtest:
    """Fit ``family`` to the runs below ``cutoff`` on ``by``; predict the held-out runs at or above it.

    ``data`` is :class:`~scalecore.data.Runs` with ``family`` (a name or a :class:`FitSpec`; ``spec``
    are :func:`fitting.prepare`'s keywords: x, y, exclude, loss, delta), or a prepared
    :class:`~scalecore.fitting.Problem` alone. Without ``cutoff`` the ``ceil(holdout_fraction * n)``
    largest runs are held out (default 0.2), with every run at the same scale as the smallest of
    them. ``n_resamples > 0`` bootstraps the training fit (no refit; ``method``, ``seed``) for the
    confidence and prediction intervals at ``level`` (see the module docstring); a family the
    training runs do not identify keeps its point forecast and says why it has no interval
    (:attr:`Backtest.note`).

    Argument errors raise :class:`FitError`; a training set that cannot be fitted returns ``ok=False``.
    """
    problem = _problem(data, family, **spec)
    fam = problem.family
    axis, scale = scale_values(problem, by)
    test, cut, frac = _split(scale, axis, by, cutoff, holdout_fraction)
    n_test, n_train = int(test.sum()), int((~test).sum())
    train_max = float(scale[~test].max()) if n_train else math.nan
    base = dict(family=fam.name, by=axis, holdout_fraction=frac, cutoff=cut, n_train=n_train, n_test=n_test,
                level=float(level), train_max=train_max)

    def failed(why: str) -> Backtest:
        empty = pd.DataFrame(columns=["run_id", axis, "actual", "predicted", "error", "error_pct", "ci_low", "ci_high",
                                      "pi_low", "pi_high", "inside_pi", "decades"])
        return Backtest(ok=False, message=why, table=empty, **base)

    try:
        train = fit_problem(subset_problem(problem, ~test))
    except FitError as exc:
        return failed(
            f"cannot backtest: holding out the {n_test} largest run(s) by {axis} (>= {cut:.3g}) "
            f"leaves {n_train} to fit: {exc}"
        )
    boot, note = None, "no bootstrap asked for" if not n_resamples else ""
    if n_resamples:
        try:
            boot = train.bootstrap(n_resamples, seed=seed, confidence_level=level, method=method)
        except ScaleCoreError as exc:
            note = f"no interval ({n_train} training runs): {exc}"
    held = {name: np.asarray(arr)[test] for name, arr in problem.inputs.items()}
    predicted = fam.predict(train.theta, held)
    actual = problem.y_values[test]
    nan = np.full(n_test, np.nan)
    ci_low = ci_high = pi_low = pi_high = nan
    inside = np.full(n_test, None, dtype=object)
    n_inside = -1
    if boot is not None:
        kw = {"x": held["x"]} if "x" in held else {"params": held["params"], "tokens": held["tokens"]}
        ci, pi = boot.band(**kw, kind="confidence"), boot.band(**kw, kind="prediction")
        ci_low, ci_high, pi_low, pi_high = ci.lower, ci.upper, pi.lower, pi.upper
        hit = (actual >= pi_low) & (actual <= pi_high)
        inside, n_inside = hit, int(hit.sum())
    err = predicted - actual
    rel = err / actual
    with np.errstate(all="ignore"):
        log_err = np.log(predicted) - np.log(actual)
        decades = np.log10(scale[test] / train_max)
    table = pd.DataFrame(
        {"run_id": problem.run_ids[test].astype(str), axis: scale[test], "actual": actual, "predicted": predicted,
         "error": err, "error_pct": 100 * rel, "ci_low": ci_low, "ci_high": ci_high, "pi_low": pi_low,
         "pi_high": pi_high, "inside_pi": inside, "decades": decades}
    ).sort_values(axis, kind="stable").reset_index(drop=True)
    rmse_log = float(np.sqrt(np.mean(log_err**2))) if np.all(np.isfinite(log_err)) else math.nan
    mape = float(100 * np.mean(np.abs(rel)))
    bias = float(100 * np.mean(rel))
    message = (
        f"trained on {n_train} run(s) below {axis} {cut:.3g}, predicted {n_test} held-out run(s): "
        f"mean absolute error {mape:.2g}%, bias {bias:+.2g}%"
    )
    if n_inside >= 0:
        message += f", {n_inside} of {n_test} inside the {level:.0%} prediction interval"
    if not train.success:
        message += f"; the training fit {train.message}"
    return Backtest(
        ok=True, message=message, table=table, rmse_log=rmse_log, mape_pct=mape,
        max_abs_pct=float(100 * np.max(np.abs(rel))), bias_pct=bias, n_inside=n_inside, fit=train, bootstrap=boot,
        note=note, **base,
    )


# ------------------------------------------------------------------------------ rolling


@dataclass(frozen=True, eq=False)
class RollingBacktest:
    """Every cutoff in turn: one row per (cutoff, held-out run) in ``table`` (cutoff, run_id, the
    ``by`` value, decades beyond the largest training run, error_pct); ``skipped`` lists the
    cutoffs whose training runs were too few for the family (or could not be fitted), with why."""

    family: str
    by: str
    table: pd.DataFrame = field(repr=False)
    skipped: tuple[tuple[float, str], ...] = field(repr=False, default=())

    @property
    def n_cutoffs(self) -> int:
        return int(self.table["cutoff"].nunique()) if len(self.table) else 0

    def by_distance(self, width: float = 0.5) -> pd.DataFrame:
        """Mean absolute and mean signed error_pct per bin of ``width`` decades of extrapolation."""
        if self.table.empty:
            return pd.DataFrame(columns=["decades", "n", "mean abs error_pct", "bias_pct"])
        t = self.table
        bins = np.ceil(t["decades"] / width) * width
        g = t.assign(bin=bins, abs_err=t["error_pct"].abs()).groupby("bin")
        return pd.DataFrame({"decades": g.size().index, "n": g.size().to_numpy(),
                             "mean abs error_pct": g["abs_err"].mean().to_numpy(),
                             "bias_pct": g["error_pct"].mean().to_numpy()})

    def __repr__(self) -> str:
        far = float(self.table["decades"].max()) if len(self.table) else math.nan
        return (f"RollingBacktest({self.family} by {self.by}: {self.n_cutoffs} cutoffs, {len(self.table)} predictions, "
                f"up to {far:.2g} decades out, {len(self.skipped)} cutoffs skipped)")


def rolling_backtest(data, family=None, *, by: str = "compute", **spec) -> RollingBacktest:
    """Every distinct ``by`` value in turn as the cutoff (:func:`cutoffs`): fit the runs below it
    (point fits), predict every run at or above it. Cutoffs that leave fewer training runs than the
    family needs (``n_params + 1`` runs, :func:`~scalecore.families.min_distinct` distinct sizes)
    are skipped. The answer is the error against the distance of the extrapolation in decades."""
    problem = _problem(data, family, **spec)
    fam = problem.family
    axis, scale = scale_values(problem, by)
    rows, skipped = [], []
    need = max(fam.n_params + 1, min_distinct(fam))
    for cut in cutoffs(scale)[1:]:
        train = scale < cut * (1 - TIE_RTOL)
        if train.sum() < need:
            skipped.append((float(cut), f"{int(train.sum())} training runs; the {fam.name} family needs {need}"))
            continue
        try:
            named = {(problem.x if k == "x" and problem.x else k): np.asarray(v)[train] for k, v in problem.inputs.items()}
            check_size(fam, named)
            result = fit_problem(subset_problem(problem, train))
        except FitError as exc:
            skipped.append((float(cut), str(exc)))
            continue
        test = ~train
        held = {name: np.asarray(arr)[test] for name, arr in problem.inputs.items()}
        predicted = fam.predict(result.theta, held)
        actual = problem.y_values[test]
        top = float(scale[train].max())
        rows.append(pd.DataFrame({"cutoff": float(cut), "run_id": problem.run_ids[test].astype(str), axis: scale[test],
                                  "decades": np.log10(scale[test] / top), "actual": actual, "predicted": predicted,
                                  "error_pct": 100 * (predicted - actual) / actual}))
    cols = ["cutoff", "run_id", axis, "decades", "actual", "predicted", "error_pct"]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
    return RollingBacktest(family=fam.name, by=axis, table=table, skipped=tuple(skipped))

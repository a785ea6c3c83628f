"""What the Downstream page computes: the two-step fit (cached) and what its figures draw.

Plain functions (no Streamlit) at the top, easy to test; the cached wrappers at the bottom are
keyed on the data's content key plus the settings, like :mod:`ui.cache`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

# Settings: scalecore's one Settings (its accuracy_delta is step 2's Huber threshold); the page builds
# it from its widgets and keys the cache on settings.items().
from scalecore import FAMILIES, Settings  # noqa: F401
from scalecore.downstream import ACCURACY_PARAMS, ChainedPrediction, DownstreamResult, default_metrics, fit_downstream
from scalecore.formatting import format_interval, format_number

from .cache import Outcome, guard

#: The held-out run of sample_runs/downstream_accuracy.csv (30B parameters on 600B tokens), as the
#: default target: fixed, so a link without a target reproduces the same target on any dataset.
DEFAULT_TARGET = {"params": "30B", "tokens": "600B", "compute": "1.08e23"}


def loss_families(runs) -> list[str]:
    """Loss laws step 1 can use on these runs (two-input ones need N and D)."""
    out = []
    for name, fam in FAMILIES.items():
        if fam.metric_kind != "loss" or fam.space != "log":
            continue
        if fam.is_two_input and not (runs.has("params") and runs.has("tokens")):
            continue
        out.append(name)
    return out


def metric_choices(runs) -> tuple[list[str], list[str], str | None, str | None]:
    """(loss options, accuracy options, default loss, default accuracy)."""
    loss, acc = default_metrics(runs)
    return list(runs.metrics), list(runs.metrics), loss, acc


@dataclass(frozen=True)
class Drawn:
    """Everything the page draws from one fit and one target."""

    prediction: ChainedPrediction | None
    loss_grid: np.ndarray
    step2: object  # Band of accuracy against loss
    scale_x: np.ndarray  # the x of the chained curve (compute, or the one-input law's axis)
    scale_axis: str
    chained: dict  # point, median, lower, upper, loss, ... on scale_x
    path: str  # words: along which path the chained curve is drawn


def draw(result: DownstreamResult, runs, target: dict | None, k: float = 6.0) -> Drawn:
    """The prediction at ``target`` and the curves: step 2 over the losses of the runs (and the
    target's), the chain over a scale grid from the smallest run to past the target.

    For a law in N and D the chain is drawn against compute C = k·N·D along the target's
    tokens-per-parameter ratio D/N (or, without a target, the median ratio of the runs).
    """
    fam = result.loss_law.family
    prediction = None
    if target is not None:
        prediction = result.predict_at(target.get("x"), params=target.get("params"), tokens=target.get("tokens"))
    losses = runs.values(result.loss_metric)
    losses = losses[np.isfinite(losses)]
    lo, hi = float(losses.min()), float(losses.max())
    if prediction is not None and math.isfinite(prediction.loss.low):
        lo = min(lo, prediction.loss.low)
    span = hi - lo
    loss_grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 120)
    step2 = result.accuracy_band(loss_grid)

    if fam.is_two_input:
        n, d = runs.values("params"), runs.values("tokens")
        if target is not None:
            ratio = float(target["tokens"]) / float(target["params"])
            n_hi = max(np.nanmax(n), float(target["params"])) * 1.5
        else:
            ratio = float(np.nanmedian(d / n))
            n_hi = np.nanmax(n) * 1.5
        n_grid = np.geomspace(np.nanmin(n) / 1.5, n_hi, 120)
        chained = result.band(params=n_grid, tokens=ratio * n_grid)
        return Drawn(prediction, loss_grid, step2, k * n_grid * ratio * n_grid, "compute", chained,
                     f"along D/N = {ratio:.3g} tokens per parameter (the target's), C = {k:g}·N·D")
    axis = result.loss_law.fit.x
    xs = runs.values(axis)
    x_hi = max(np.nanmax(xs), float(target["x"])) * 1.5 if target is not None else np.nanmax(xs) * 1.5
    grid = np.geomspace(np.nanmin(xs) / 1.5, x_hi, 120)
    return Drawn(prediction, loss_grid, step2, grid, axis, result.band(grid), f"against {axis}")


def accuracy_rows(result: DownstreamResult) -> pd.DataFrame:
    """Step 2's parameters rounded to their intervals (PDG rule), with the raw numbers."""
    ci, se = result.accuracy_interval, result.accuracy_standard_error
    meaning = {"floor": "accuracy at high loss (chance)", "ceiling": "accuracy at low loss",
               "slope": "steepness per unit of loss", "loss_mid": "loss half-way between floor and ceiling"}
    rows = []
    for name in ACCURACY_PARAMS:
        value = result.accuracy_params[name]
        v, lo, hi = format_interval(value, *ci[name])
        rows.append({"parameter": name, "value": v, "low": lo, "high": hi, "std. error": format_number(se[name], 2),
                     "meaning": meaning[name], "raw value": value, "raw low": ci[name][0], "raw high": ci[name][1]})
    return pd.DataFrame(rows)


def residuals_by_run(result: DownstreamResult) -> dict:
    """For the runs table: step 1's log residual and step 2's residual (accuracy points) per run,
    actual minus predicted (:func:`scalecore.diagnostics.shown_residuals`)."""
    from scalecore.diagnostics import shown_residuals

    out = {}
    for label, boot in (("resid. step 1 ln(actual) − ln(pred.)", result.loss_law),
                        ("resid. step 2 actual − pred.", result.accuracy_law)):
        out[label] = dict(zip(boot.fit.problem.run_ids.astype(str), np.round(shown_residuals(boot.fit), 4)))
    return out


# ------------------------------------------------------------------------------ cached calls


@st.cache_resource(max_entries=128, show_spinner=False)
def fit(data_key: str, _runs, family: str, x: str | None, loss_metric: str, accuracy_metric: str, exclude: tuple,
        settings: tuple) -> Outcome:
    s = dict(settings)
    return guard(fit_downstream, _runs, family, x, loss_metric=loss_metric, accuracy_metric=accuracy_metric,
                  exclude=exclude, loss=s.get("loss", "huber"), delta=s["delta"], accuracy_delta=s["accuracy_delta"],
                  n_resamples=s["n_resamples"], confidence_level=s["confidence_level"], seed=s["seed"])


@st.cache_resource(max_entries=256, show_spinner=False)
def drawn(data_key: str, _runs, family: str, x: str | None, loss_metric: str, accuracy_metric: str, exclude: tuple,
          settings: tuple, target: tuple | None, k: float) -> Outcome:
    outcome = fit(data_key, _runs, family, x, loss_metric, accuracy_metric, exclude, settings)
    if not outcome.ok:
        return outcome
    return guard(draw, outcome.value, _runs, dict(target) if target else None, k)

"""Cached calls into scalecore, keyed on the data's content key plus the settings.

``st.cache_resource`` rather than ``st.cache_data``: results are immutable (frozen dataclasses of
arrays) and shared read-only, so there is no need to pickle a copy on every rerun; a warm rerun
is a dictionary lookup. Data objects are passed as ``_runs`` (not hashed) next to their content
key, which is hashed. Errors the user can cause are returned as an :class:`Outcome` with a message
(and so cached too), not raised, so one family that cannot be fitted does not hide the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st

from scalecore import NotIdentified, ScaleCoreError, Settings, load_runs as _load_runs

from . import analysis

log = logging.getLogger("scalecore.app")


@dataclass(frozen=True)
class Outcome:
    """A cached result or the message of the error that prevented it."""

    value: Any = None
    error: str | None = None
    seconds: float = 0.0
    #: The error is a family the runs do not identify (scalecore.NotIdentified): a verdict, not a failure.
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def guard(fn, *args, **kwargs) -> Outcome:
    t0 = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except ScaleCoreError as exc:
        return Outcome(error=str(exc), seconds=time.perf_counter() - t0, refused=isinstance(exc, NotIdentified))
    return Outcome(value=value, seconds=time.perf_counter() - t0)


@st.cache_resource(max_entries=32, show_spinner=False)
def load_runs(source_id: str, mapping_items: tuple, stamp: float):
    """(Runs, content key) of a dataset; raises DataError (not cached) when it does not load."""
    from .data_source import source_files

    files = source_files(source_id)
    runs = _load_runs([data for _, data in files], mapping=dict(mapping_items) or None,
                      names=[name for name, _ in files])
    return runs, runs.content_key()


def _settings(items: tuple) -> Settings:
    """The :class:`~scalecore.spec.Settings` of a cache key (``tuple(sorted(settings.as_dict().items()))``)."""
    return Settings(**dict(items))


@st.cache_resource(max_entries=512, show_spinner=False)
def fit(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, settings: tuple) -> Outcome:
    """The fit and bootstrap of one family (``axis`` is None for two-input families).

    The resamples do not depend on the confidence level, so they are fitted once for every level
    (:func:`_resampled`) and read at this one."""
    outcome = _resampled(data_key, _runs, family, axis, metric, exclude, at_any_level(settings))
    if not outcome.ok:
        return outcome
    level = guard(outcome.value.at_level, _settings(settings).confidence_level)
    return replace(level, seconds=outcome.seconds + level.seconds)  # the fit's own time, not just the lookup


#: The arguments of every :func:`_resampled` computed in this process, so a page can tell a refit
#: from a cache hit before asking (an entry the cache has since evicted only costs the early figure).
_RESAMPLED: set = set()


def at_any_level(settings: tuple) -> tuple:
    """The settings :func:`_resampled` is keyed on: the confidence level is read off afterwards."""
    return tuple(sorted(replace(_settings(settings), confidence_level=0.95).as_dict().items()))


def is_fitted(data_key: str, family: str, axis: str | None, metric: str, exclude: tuple, settings: tuple,
              _runs=None) -> bool:
    """Whether :func:`fit` with these arguments has its bootstrap already (a lookup, not a fit)."""
    return (data_key, family, axis, metric, exclude, at_any_level(settings)) in _RESAMPLED


@st.cache_resource(max_entries=256, show_spinner=False)
def _resampled(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple,
               settings: tuple) -> Outcome:
    best = best_fit(data_key, _runs, family, axis, metric, exclude, settings)
    out = best
    if best.ok:
        out = guard(analysis.fit_family, _runs, family, axis, metric, exclude, _settings(settings), fit=best.value)
        out = replace(out, seconds=out.seconds + best.seconds)
    _RESAMPLED.add((data_key, family, axis, metric, exclude, settings))
    return out


def best_fit(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, settings: tuple) -> Outcome:
    """One family's best fit without its bootstrap: drawn while the bootstrap runs, and its
    starting point. It depends on the runs and the loss only (as :func:`backtest`)."""
    chosen = _settings(settings)
    return point_fit(data_key, _runs, family, axis, metric, exclude, chosen.loss, chosen.delta)


@st.cache_resource(max_entries=256, show_spinner=False)
def point_fit(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, loss: str,
              delta: float) -> Outcome:
    return guard(analysis.point_fit, _runs, family, axis, metric, exclude, loss, delta)


@st.cache_resource(max_entries=512, show_spinner=False)
def curve(data_key: str, _runs, family: str, axis: str, metric: str, exclude: tuple, settings: tuple,
          lo: float, hi: float, k: float) -> Outcome:
    outcome = fit(data_key, _runs, family, fit_axis(family, axis), metric, exclude, settings)
    if not outcome.ok:
        return outcome
    return guard(analysis.curve, outcome.value, axis, lo, hi, k)


@st.cache_resource(max_entries=512, show_spinner=False)
def at_target(data_key: str, _runs, family: str, axis: str, metric: str, exclude: tuple, settings: tuple,
              target: float, k: float) -> Outcome:
    outcome = fit(data_key, _runs, family, fit_axis(family, axis), metric, exclude, settings)
    if not outcome.ok:
        return outcome
    return guard(analysis.predict_target, outcome.value, axis, target, k)


def fit_axis(family: str, axis: str) -> str | None:
    """The axis a family is fitted on: None for the two-input laws, which use N and D whatever x is."""
    from scalecore import FAMILIES

    return None if FAMILIES[family].is_two_input else axis


@st.cache_resource(max_entries=64, show_spinner=False)
def contour(data_key: str, _runs, family: str, metric: str, exclude: tuple, settings: tuple, k: float) -> Outcome:
    """Grid of the fitted metric over (N, D), iso-FLOP budgets and the frontier, for the map."""
    outcome = fit(data_key, _runs, family, None, metric, exclude, settings)
    if not outcome.ok:
        return outcome
    return guard(_contour, outcome.value, _runs, k)


def _contour(boot, runs, k):
    from scalecore.plots import ContourSpec

    n, d = runs.values("params"), runs.values("tokens")
    n_lo, n_hi = np.nanmin(n) / 4, np.nanmax(n) * 4
    d_lo, d_hi = np.nanmin(d) / 4, np.nanmax(d) * 4
    n_grid, d_grid = np.geomspace(n_lo, n_hi, 90), np.geomspace(d_lo, d_hi, 90)
    loss = boot.fit.predict(params=n_grid[None, :], tokens=d_grid[:, None])
    c = k * n * d
    budgets = np.unique(np.round(np.log10(c[np.isfinite(c)]) * 2) / 2)
    if len(budgets) > 8:
        budgets = np.linspace(budgets.min(), budgets.max(), 8).round(1)
    cs = np.geomspace(k * n_lo * d_lo * 4, k * n_hi * d_hi / 4, 60)
    point = analysis.optimum(boot.family, boot.fit.theta, np.asarray(cs, float), k)
    inside = (point["params"] >= n_lo) & (point["params"] <= n_hi) & (point["tokens"] >= d_lo) & (point["tokens"] <= d_hi)
    return ContourSpec(name=boot.family.name, n_grid=n_grid, d_grid=d_grid, loss=np.asarray(loss, float),
                       iso_flops=tuple(float(10 ** b) for b in budgets),
                       frontier_n=point["params"][inside], frontier_d=point["tokens"][inside], k=k,
                       metric=boot.fit.y)


def backtest(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, settings: tuple) -> Outcome:
    """Fit on the runs below the top 20% of compute, error on the held-out largest runs.

    It depends on the runs and the loss only: a new confidence level, seed or resample count
    reuses it (it cost a level change 0.06 s)."""
    chosen = _settings(settings)
    return _backtest(data_key, _runs, family, axis, metric, exclude, chosen.loss, chosen.delta)


@st.cache_resource(max_entries=256, show_spinner=False)
def _backtest(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, loss: str,
              delta: float) -> Outcome:
    from scalecore.backtest import backtest

    def run():
        return backtest(analysis.problem_for(_runs, family, axis, metric, exclude, loss, delta), holdout_fraction=0.2,
                        by="compute")

    return guard(run)


@st.cache_resource(max_entries=128, show_spinner=False)
def influence(data_key: str, _runs, family: str, axis: str, metric: str, exclude: tuple, settings: tuple,
              target: float, k: float) -> Outcome:
    """Leave-one-out change of the prediction at the target, for every run."""
    from scalecore import diagnostics

    outcome = fit(data_key, _runs, family, fit_axis(family, axis), metric, exclude, settings)
    if not outcome.ok:
        return outcome

    def run():
        at = analysis.target_point(outcome.value, axis, target, k)
        return diagnostics.influence(outcome.value.fit, at)

    return guard(run)

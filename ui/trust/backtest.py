"""The Trust page's backtest tab: fit every switched-on family to the runs below a cutoff on compute
or N, draw the forecast with its band over the held-out larger runs, and say per family how far off
it was and how many held-out runs fell inside its prediction interval; then every cutoff in turn.

The maths is :mod:`scalecore.backtest`; this module reads the widgets, makes one cached call per
family (keyed on the data's content key, the cutoff and the settings) and renders the results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from scalecore import plots
from scalecore.backtest import backtest as run_backtest, cutoffs, rolling_backtest
from scalecore.formatting import scale_text

from .. import analysis, cache, md, state
from ..widgets import CHART_CONFIG, label

BY_KEY, CUTOFF_KEY, KIND_KEY = "trust_bt_by", "trust_bt_cutoff", "trust_bt_band"
#: The axes a cutoff can be set on, and their names on the page.
BY_NAMES = {"compute": "compute C", "params": "model size N"}
KINDS = ("prediction", "confidence")
#: Share of the runs held out when the tab opens (the cutoff whose runs at or above it come closest).
DEFAULT_HELD_OUT = 0.2
#: Most bootstrap resamples of a backtest here (fewer when Explore asks for fewer): with 1,000 a cutoff
#: move on 243 runs and two laws in N and D took up to 1.35 s on a loaded machine, with 400 up to 0.68 s
#: (bench/bench_backtest.py), and the coverage counts moved by a run or two.
MAX_RESAMPLES = 400


def resamples(settings) -> int:
    """The resamples a backtest here uses: the Explore page's, at most :data:`MAX_RESAMPLES`."""
    return min(int(settings.n_resamples), MAX_RESAMPLES)


@st.cache_resource(max_entries=256, show_spinner=False)
def backtest(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, settings: tuple,
             by: str, cutoff: float) -> cache.Outcome:
    """One family's backtest at ``cutoff`` with the Explore settings' bootstrap, and its forecast
    over a grid with both bands: ``(Backtest, {kind: (xs, Band)})``."""
    s = analysis.Settings(**dict(settings))

    def run():
        spec = analysis.spec_for(family, axis, metric, exclude, s.loss, s.delta)
        bt = run_backtest(_runs, spec, cutoff=cutoff, by=by, n_resamples=resamples(s), level=s.confidence_level,
                          seed=s.seed, method=s.method)
        return bt, ({kind: bt.forecast(kind) for kind in KINDS} if bt.ok else {})

    return cache.guard(run)


@st.cache_resource(max_entries=64, show_spinner=False)
def rolling(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, loss: str, delta: float,
            by: str) -> cache.Outcome:
    """Every cutoff in turn (point fits: it depends on the runs and the loss only)."""
    spec = analysis.spec_for(family, axis, metric, exclude, loss, delta)
    return cache.guard(rolling_backtest, _runs, spec, by=by)


def cutoff_options(runs, by: str) -> list[float]:
    """The distinct values of ``by`` above the smallest (something must be left to train on)."""
    values = runs.values(by)
    return [float(v) for v in cutoffs(values[np.isfinite(values) & (values > 0)])[1:]]


def default_cutoff(runs, by: str, options: list[float]) -> float:
    """The option that holds out the share of runs nearest :data:`DEFAULT_HELD_OUT`."""
    values = runs.values(by)
    values = values[np.isfinite(values)]
    held = [np.mean(values >= c * (1 - 1e-3)) for c in options]
    return options[int(np.argmin(np.abs(np.array(held) - DEFAULT_HELD_OUT)))]


def render(ds, choices) -> None:
    runs = ds.runs
    if not choices.families:
        st.info("Switch on a family on the Explore page to backtest it.")
        return
    axes = [a for a in BY_NAMES if runs.has(a)]
    if not axes:
        st.info("A backtest orders the runs by compute or model size; this data has neither column.")
        return
    ss = st.session_state
    if ss.get(BY_KEY) not in axes:
        ss[BY_KEY] = choices.axis if choices.axis in axes else axes[0]
    c1, c2 = st.columns([1, 3])
    by = c1.segmented_control("Cut on", axes, format_func=BY_NAMES.get, wrap=True, key=BY_KEY, required=True) or axes[0]
    options = cutoff_options(runs, by)
    if not options:
        st.info(f"All runs have the same {BY_NAMES[by]}: there is nothing larger to predict.")
        return
    if ss.get(CUTOFF_KEY) not in options:
        ss[CUTOFF_KEY] = default_cutoff(runs, by, options)
    cutoff = c2.select_slider(f"Cutoff: fit the runs below it, predict those at or above it ({BY_NAMES[by]})",
                              options, key=CUTOFF_KEY, format_func=lambda v: scale_text(v, by))
    kind = st.radio("Band", KINDS, horizontal=True, key=KIND_KEY, format_func=plots.BAND_NAMES.get)

    exclude = tuple(sorted(state.exclusions(ds.id, runs.run_ids)))
    results, errors = [], {}
    with st.spinner("Backtesting…"):
        for f in choices.families:
            o = backtest(ds.key, runs, f, cache.fit_axis(f, choices.axis), choices.metric, exclude,
                         choices.settings_key, by, float(cutoff))
            if o.ok:
                results.append(o.value)
            else:
                errors[f] = o.error
    backtests = [bt for bt, _ in results]
    forecasts = {bt.family: fc[kind] for bt, fc in results if kind in fc}
    level = choices.settings.confidence_level
    fig = plots.backtest_figure(backtests, forecasts, kind=kind, x_title=analysis.AXIS_TITLES[by], y_title=choices.metric)
    st.plotly_chart(fig, key="trust_bt_figure", theme=None, config=CHART_CONFIG)
    st.caption(_drawn(kind, level, choices.settings))

    rows = [bt.summary_row() for bt in backtests]
    if rows:
        table = pd.DataFrame(rows)
        table["family"] = [label(f) for f in table["family"]]
        st.dataframe(table, hide_index=True, key="trust_bt_table")
        st.caption("Bias: the mean of (predicted − actual) / actual over the held-out runs (negative: the law "
                   "predicted too low a loss). Mean abs error: the mean of its absolute value. PI: how many held-out "
                   f"runs fall inside the {level:.0%} prediction interval (which adds run-to-run noise).")
    for bt in backtests:
        if not bt.ok:
            st.warning(f"{label(bt.family)}: {bt.message}")
        elif bt.note:
            st.caption(f"{label(bt.family)}: {bt.note}")
    for f, why in errors.items():
        st.warning(f"{label(f)}: {why}")
    ok = [bt for bt in backtests if bt.ok]
    if ok:
        with st.expander("Every held-out run"):
            for bt in ok:
                st.markdown(f"**{md(label(bt.family))}**: {md(bt.message)}")
                st.dataframe(bt.table_text(), hide_index=True)

    st.subheader("Every cutoff in turn")
    rolled, rolling_errors = [], {}
    for f in choices.families:
        o = rolling(ds.key, runs, f, cache.fit_axis(f, choices.axis), choices.metric, exclude,
                    choices.settings.loss, choices.settings.delta, by)
        if o.ok:
            rolled.append(o.value)
        else:
            rolling_errors[f] = o.error
    if rolled:
        st.plotly_chart(plots.rolling_backtest_figure(rolled), key="trust_bt_rolling", theme=None, config=CHART_CONFIG)
        st.caption("Each point is one held-out run at one cutoff: its error against how far it lies beyond the "
                   "largest training run (decades of " + BY_NAMES[by] + "). Point fits, no bootstrap.")
    for f, why in rolling_errors.items():
        st.warning(f"{label(f)}: {why}")


def _drawn(kind: str, level: float, settings) -> str:
    """The caption that says which band is drawn."""
    n = resamples(settings)
    capped = f", of the Explore page's {settings.n_resamples}, so that a cutoff move stays quick" if n < settings.n_resamples else ""
    boot = f"{n} {settings.method} resamples of the runs below the cutoff{capped}"
    if kind == "confidence":
        return (f"Drawn: the {level:.0%} confidence band of the mean ({boot}): where the law itself may lie. "
                "It leaves out run-to-run noise, so held-out runs can fall outside it even when the law is right.")
    return (f"Drawn: the {level:.0%} prediction band, which adds run-to-run noise ({boot}, each plus a residual "
            "of the training fit drawn at random): where a new run should land. Error bars: each held-out run's "
            "own interval. For a law in N and D the curve is its compute-optimal frontier.")

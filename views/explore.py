"""Explore: fit scaling-law families to the runs, see how sure each fit is, exclude outliers,
extrapolate to a target scale. Widgets -> cached calls into scalecore -> figures and tables."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from scalecore import (RESIDUAL_HEADERS, UNSUPPORTED_DELTA_AIC, FAMILIES, budget, compare_families, formatting, plots,
                       shown_residuals, unsupported)
from ui import (analysis, cache, data_source, export, fit_ahead, md, md_message, outliers, progress, review, run_page,
                show_warnings, state)
from ui.analysis import AXIS_SHORT, AXIS_TITLES, Settings
from ui.outliers import chart
from ui.widgets import (CHART_CONFIG, DELTAS, LEVELS, RESAMPLES, URL, estimate_card, estimate_text, keep_valid, label,
                        number_box, run_points)

OUTLIER_Z = 3.5
_DRAWN = "_explore_drawn"  # the session has drawn a plot before
_SUGGESTED = "_explore_suggested"  # (the state of the last run, the exclusions its suggestions would give)


def lazy_tabs(names: list[str], key: str):
    """Tabs whose content is computed only while open (a tab switch reruns the page)."""
    return st.tabs(names, key=key, on_change="rerun")


def controls(runs):
    """The widgets that define the analysis; every one of them is mirrored in the URL."""
    axes = analysis.axes_available(runs)
    keep_valid(state.AXIS, axes, analysis.default_axis(runs))
    keep_valid(state.METRIC, list(runs.metrics), runs.default_metric)
    c1, c2, c3 = st.columns([2.2, 1.3, 2.5])
    axis = c1.segmented_control("x axis", axes, required=True, wrap=True, key=state.AXIS, **URL)
    metric = c2.selectbox("Metric", runs.metrics, key=state.METRIC, **URL)
    target = number_box(c3, f"Extrapolate to {axis} {AXIS_SHORT[axis]} =", state.target_key(axis),
                        analysis.suggested_target(axis), placeholder="e.g. 70B, 1.4T or 1e24",
                        help="The scale you can afford; the plot extends to it and each family predicts the metric "
                             "there with its interval. Leave empty for no extrapolation.")
    applicable = analysis.applicable_families(runs, metric)
    others = [f for f in FAMILIES if f not in applicable]
    asked = state.requested_families()  # a link's families, by label or by name
    if asked is not None:
        st.session_state[state.FAMILIES] = asked
    keep_valid(state.FAMILIES, applicable, analysis.default_families(runs, metric), multi=True)
    # Full width and wrapping: in a column the pills stayed on one row and scrolled sideways, hiding
    # three families at 1024 px.
    families = st.pills("Fit families", applicable, selection_mode="multi", key=state.FAMILIES, format_func=label,
                        wrap=True, width="stretch",
                        help="Each family is fitted and bootstrapped; toggle any number. "
                             + " ".join(analysis.why_not_applicable(runs, metric, f) + "." for f in others), **URL)
    t1, t2 = st.columns([2, 3])
    color_by = color_control(t1, runs)
    key = state.SETTING_KEYS
    with t2.expander("Fit and bootstrap settings"):
        s1, s2, s3 = st.columns(3)
        n = s1.select_slider("Bootstrap resamples", RESAMPLES, value=1000, key=key["n_resamples"], **URL)
        cl = s2.select_slider("Confidence level", LEVELS, value=0.95, key=key["confidence_level"], **URL)
        delta = s3.select_slider("Huber δ (log space)", DELTAS, value=1e-3, key=key["delta"], format_func=str,
                                 help="Residuals beyond δ count linearly (robust to outliers); Hoffmann et al. use 1e-3.",
                                 **URL)
        s4, s5 = st.columns([1, 2])
        seed = s4.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key=key["seed"], **URL)
        method = s5.segmented_control("Resample", analysis.METHODS, default="cases", required=True, wrap=True, key=key["method"],
                                      help="cases: runs with replacement; residuals: residuals around the fit; "
                                           "groups: whole groups (e.g. one IsoFLOP budget) at a time.", **URL)
    settings = Settings(n_resamples=int(n), confidence_level=float(cl), delta=float(delta), seed=int(seed),
                        method=method or "cases")
    chosen = [f for f in (families or []) if f in applicable]
    return axis, metric, chosen, target, settings, color_by


COLOR_KEY = "color"  # the URL parameter of "Colour runs by"


def color_control(where, runs) -> str | None:
    """"Colour runs by": compute budget, model size or group (what the runs have), in the URL; the
    default is budget for an IsoFLOP-like sweep, else group, else size (:func:`ui.analysis.default_color_by`)."""
    choices = analysis.color_choices(runs)
    if not choices:
        return None
    keep_valid(COLOR_KEY, choices, analysis.default_color_by(runs))
    return where.selectbox("Colour runs by", choices, key=COLOR_KEY, format_func=plots.COLOR_BY_LABELS.get,
                           help="Compute budget: each IsoFLOP budget (runs of equal C) one colour, small dark to "
                                "large yellow; model size likewise; group: one colour per group.", **URL)


def main() -> None:
    ds = data_source.current()
    st.title("Explore scaling fits")
    if ds is None:
        st.info("Load a dataset in the sidebar to begin.")
        return
    runs = ds.runs
    axis, metric, families, target, settings, color_by = controls(runs)
    items = state.exclusions(ds.id, runs.run_ids)
    exclude = tuple(sorted(items))
    skey = tuple(sorted(settings.as_dict().items()))
    k = runs.flops_per_token_param
    known = frozenset(map(str, runs.run_ids))
    call = dict(data_key=ds.key, _runs=runs, metric=metric, exclude=exclude, settings=skey)
    # What the user may ask for next is fitted in the background once this run is done; until then
    # the worker stops or pauses (ui/fit_ahead.py).
    here = (ds.key, axis, metric, exclude, skey, tuple(families))
    later = ahead_jobs(runs, axis, metric, families, call, here)
    fit_ahead.yield_to(fit_ahead.fit_jobs(families, partial(cache.fit_axis, axis=axis), call), later)
    first = not st.session_state.get(_DRAWN)
    try:
        suggested = draw(ds, axis, metric, families, target, settings, items, call, k, known, first)
        st.session_state[_SUGGESTED] = (here, tuple(sorted(set(exclude) | suggested)))
        later = ahead_jobs(runs, axis, metric, families, call, here)
    finally:
        fit_ahead.plan(later, first=first)  # also after a failed or interrupted run: paused work goes on


def ahead_jobs(runs, axis: str, metric: str, families: list[str], call: dict, here: tuple) -> list:
    """What to fit while the page sits idle: the families switched on, with the suggested outliers
    excluded (what the "Exclude the suggested runs" button asks for), then the families not
    switched on."""
    axis_of = partial(cache.fit_axis, axis=axis)
    jobs = []
    seen, accepted = st.session_state.get(_SUGGESTED, (None, None))
    if seen == here and accepted != call["exclude"]:
        after = {**call, "exclude": accepted}
        jobs += fit_ahead.fit_jobs([f for f in families if not cache.is_fitted(family=f, axis=axis_of(f), **after)],
                                   axis_of, after)
    return jobs + fit_ahead.fit_jobs(others_to_fit(runs, axis, metric, families, call), axis_of, call)


def draw(ds, axis, metric, families, target, settings, items, call, k, known, first: bool) -> set[str]:
    """The page below the controls (``first``: the session's first run); returns the runs suggested
    as outliers."""
    runs = ds.runs
    fit_axis = {f: cache.fit_axis(f, axis) for f in families}
    if not families:
        st.info("Pick at least one fit family above.")
    # Containers, not st.empty(): an empty slot would replace the previous run's caption and plot at
    # once, and the plot would vanish for the whole refit (0.6 s of a lasso); a container keeps them
    # on screen until this run draws their successors.
    summary = st.container()
    summary_at = summary  # the caption goes there, or replaces the one saying what is being fitted
    figure_box = st.container().container()
    chart_at = figure_box  # where the main plot goes: appended to the box, or replacing the early plot
    pending = [f for f in families if not cache.is_fitted(family=f, axis=fit_axis[f], **call)]
    if pending:
        # A best fit takes a few hundredths of a second, its bootstrap up to seconds: the runs and
        # the best-fit curves are drawn at once, the bands when the bootstraps are done (the final
        # plot replaces this element, so the browser updates one plot in place). A session's first
        # run draws the runs alone: it sets the browser rendering plots while the server computes,
        # and with curves and the target region that first render made the cold start's fitted
        # plot 1 s later (median of 6 alternating cold starts: 5.95 s against 4.98 s).
        summary_at = summary.caption(f"Fitting {', '.join(label(f) for f in pending)} to {len(runs) - len(items)} runs "
                                     f"({len(items)} excluded) with {settings.n_resamples} resamples each…")
        chart_at = figure_box.plotly_chart(early_figure(runs, axis, metric, items, families, [] if first else pending,
                                                        None if first else target, call, k, settings, pending, fit_axis),
                                           theme=None, config=CHART_CONFIG)
    st.session_state[_DRAWN] = True
    # st.spinner appears only if the fits take over half a second (st.status would cost every
    # rerun 50 ms of sleep, and flash on cache hits)
    with st.spinner(f"Fitting {', '.join(label(f) for f in pending or families)} with {settings.n_resamples} bootstrap "
                    "resamples…"):
        outcomes = fit_with_progress(summary, families, pending, fit_axis, call, settings, first)
    if families:
        seconds = sum(o.seconds for o in outcomes.values())
        n_refused = sum(o.refused for o in outcomes.values())
        summary_at.caption(f"Fitted {len(families)} famil{'y' if len(families) == 1 else 'ies'} to "
                           f"{len(runs) - len(items)} runs ({len(items)} excluded), {settings.n_resamples} resamples "
                           f"each, in {seconds:.2f} s of compute (cached afterwards)"
                           + (f"; {n_refused} not identified by these runs, drawn without a band" if n_refused else ""))
    for f, o in outcomes.items():
        if o.refused:
            st.warning(f"{label(f)}: {md_message(o.error)} Its best fit is drawn, without a band.")
        elif not o.ok:
            st.error(f"{label(f)}: {md_message(o.error)}")
    boots = {f: o.value for f, o in outcomes.items() if o.ok}
    refused = [f for f, o in outcomes.items() if o.refused]

    estimates = {}
    if target is not None:
        for f in boots:
            o = cache.at_target(family=f, axis=axis, target=target, k=k, **call)
            if o.ok:
                estimates[f] = o.value
            else:
                st.warning(f"{label(f)}: no prediction at the target: {md_message(o.error)}")

    with figure_box:
        main_figure(ds, axis, metric, boots, target, estimates, items, call, k, known, chart_at,
                    best_only=best_fit_specs(runs, axis, target, refused, call, k, fit_axis))
    results(ds, axis, metric, boots, target, estimates, items, settings, call, fit_axis)
    suggested = outlier_panels(ds, metric, boots, items, call, axis, target, k)
    two_input_views(ds, axis, metric, boots, target, estimates, items, call, k, known)
    diagnostics_panels(ds, axis, metric, boots, target, items, call, k, known)
    next_steps()
    return suggested


#: A progress bar is shown for fits expected to take about two seconds or more: a session's first
#: fit (cold caches), several families at once, or this many resamples of one.
PROGRESS_RESAMPLES = 2000


def fit_with_progress(where, families, pending, fit_axis, call, settings, first: bool) -> dict:
    """Each family's fit and bootstrap (cached), with a progress bar counting the resamples done when
    the step is a long one: the bootstrap runs in a worker thread and reports its resamples as they
    settle (ui.progress), so the bar moves within a family, not only between them."""
    n = settings.n_resamples
    total = len(pending) * n
    long_step = bool(pending) and (first or len(pending) > 1 or n >= PROGRESS_RESAMPLES)
    bar = where.progress(0.0, text=f"Bootstrap: 0 of {total:,} resamples") if long_step else None
    outcomes, done = {}, 0
    for f in families:
        if bar is not None and f in pending:
            def tick(settled: int, _of: int, f=f, before=done) -> None:
                now = before + min(settled, n)
                bar.progress(now / total, text=f"Bootstrap of {label(f)}: {now:,} of {total:,} resamples done "
                                               f"({len(pending)} famil{'y' if len(pending) == 1 else 'ies'} × {n:,})")

            tick(0, n)
            outcomes[f] = progress.run_with_progress(partial(cache.fit, family=f, axis=fit_axis[f], **call), tick)
        else:
            outcomes[f] = cache.fit(family=f, axis=fit_axis[f], **call)
        done += n if f in pending else 0
    if bar is not None:
        bar.empty()
    return outcomes


def others_to_fit(runs, axis: str, metric: str, families: list[str], call: dict) -> list[str]:
    """The families that apply here, are not switched on and are not fitted yet: fitted ahead."""
    return [f for f in analysis.applicable_families(runs, metric)
            if f not in families and not cache.is_fitted(family=f, axis=cache.fit_axis(f, axis), **call)]


def next_steps() -> None:
    """Where the same runs go next (every page shares the sidebar's dataset)."""
    st.subheader("Next, with the same runs")
    # a wrapping row of links as wide as their labels: in three columns they were cut at 1024 px
    c1 = c2 = c3 = st.container(horizontal=True, wrap=True, gap="medium")
    c1.page_link("views/budget.py", label="Budget: N, D, loss and cost", icon=":material/savings:")
    c2.page_link("views/isoflop.py", label="IsoFLOP & curves: Approach 2 vs this fit",
                 icon=":material/stacked_line_chart:")
    c3.page_link("views/downstream.py", label="Downstream: loss to accuracy", icon=":material/target:")


# ------------------------------------------------------------------------------ figures


def curve_specs(boots, axis, lo, hi, call, k, warn: bool = True):
    specs = []
    for f in boots:
        o = cache.curve(family=f, axis=axis, lo=lo, hi=hi, k=k, **call)
        if not o.ok:
            if warn:  # the early figure leaves it to the final one, so the warning is shown once
                st.warning(f"{label(f)}: cannot draw the curve: {md_message(o.error)}")
            continue
        specs.append(curve_spec(o.value, axis, call["metric"]))
    return specs


def curve_spec(c: analysis.Curve, axis: str, metric: str) -> plots.CurveSpec:
    frontier = c.kind == "frontier"
    return plots.CurveSpec(name=c.family, label=f"{label(c.family)}{' (compute-optimal frontier)' if frontier else ''}",
                           x=c.x, y=c.point, lower=c.lower, upper=c.upper, dash="dash" if frontier else "solid",
                           x_kind=analysis.AXIS_KINDS.get(axis, "plain"), x_title=AXIS_SHORT.get(axis, axis),
                           y_title=metric)


def color_by() -> str | None:
    """The "Colour runs by" choice of this run (drawn in :func:`controls`)."""
    return st.session_state.get(COLOR_KEY)


def points_for(runs, axis: str, metric: str, items: dict) -> plots.Points:
    by = color_by()
    return run_points(runs, axis, metric, items, color_by=by if by in analysis.color_choices(runs) else None)


def slices_for(runs, axis: str, boots: dict, items: dict) -> list:
    """On the params view of an IsoFLOP-like sweep: the first fitted law in N and D along each
    budget's IsoFLOP line, drawn over the runs."""
    if axis != "params":
        return []
    two = [b for b in boots.values() if FAMILIES[b.family.name].is_two_input]
    budgets = analysis.isoflop_budgets(runs) if two else {}
    return analysis.isoflop_slices(two[0].fit, runs, budgets, tuple(items)) if budgets else []


def marks_for(estimates, target, metric, axis):
    at = formatting.scale_text(target, axis)
    return [plots.TargetMark(name=f, x=target, value=e.value, low=e.low, high=e.high,
                             text=f"{label(f)} at {at}<br>{metric} {estimate_text(e)}")
            for f, e in estimates.items()]


def early_figure(runs, axis, metric, items, families, best_only, target, call, k, settings, pending, fit_axis):
    """The figure while the bootstraps of ``pending`` run: the runs, the best-fit curves (no band
    yet) of ``best_only``, and the families fitted before with their bands; titled as what it is."""
    lo, hi = analysis.plot_range(runs, axis, target)
    specs = curve_specs([f for f in families if f not in pending], axis, lo, hi, call, k, warn=False)
    specs += best_fit_specs(runs, axis, target, best_only, call, k, fit_axis)
    order = {f: i for i, f in enumerate(families)}
    specs.sort(key=lambda c: order[c.name])
    fams = ", ".join(label(f) for f in pending)
    return plots.fit_figure(points_for(runs, axis, metric, items), specs, x_title=AXIS_TITLES[axis], y_title=metric,
                            log_y=analysis.metric_kind(runs, metric) == "loss", data_max=float(np.nanmax(runs.values(axis))),
                            target=target, target_text=formatting.scale_text(target, axis),
                            title=f"{metric} against {AXIS_TITLES[axis]}: fitting {fams} "
                                  f"({settings.n_resamples} resamples); bands follow…")


def best_fit_specs(runs, axis, target, families, call, k, fit_axis) -> list:
    """The best-fit curves (no band) of ``families``: while their bootstraps run, or for a family
    the runs do not identify. A family that cannot be fitted at all says so elsewhere."""
    lo, hi = analysis.plot_range(runs, axis, target)
    specs = []
    for f in families:
        o = cache.best_fit(family=f, axis=fit_axis[f], **call)
        if o.ok:
            specs.append(curve_spec(analysis.point_curve(o.value, axis, lo, hi, k), axis, call["metric"]))
    return specs


def main_figure(ds, axis, metric, boots, target, estimates, items, call, k, known, where=st, best_only=()) -> None:
    runs = ds.runs
    lo, hi = analysis.plot_range(runs, axis, target)
    x = runs.values(axis)
    data_max = float(np.nanmax(x))
    log_y = analysis.metric_kind(runs, metric) == "loss"
    level = next(iter(boots.values())).confidence_level if boots else 0.95
    slices = slices_for(runs, axis, boots, items)
    fig = plots.fit_figure(points_for(runs, axis, metric, items), curve_specs(boots, axis, lo, hi, call, k) + list(best_only),
                           x_title=AXIS_TITLES[axis], y_title=metric, log_y=log_y, data_max=data_max, target=target,
                           marks=marks_for(estimates, target, metric, axis), target_text=formatting.scale_text(target, axis),
                           title=f"{metric} against {AXIS_TITLES[axis]}", slices=slices)
    chart(fig, "fit_chart", ds, known, where=where)
    st.caption(f"{plots.SELECT_HINT} Shaded bands: {level:.0%} bootstrap percentile intervals of each curve. "
               "Dashed: the compute-optimal frontier of a law in N and D (the lowest loss reachable at that "
               f"{AXIS_SHORT[axis]}). The yellow region is extrapolation beyond the largest run."
               + (f" Thin lines: {label(slices[0].name)} along each compute budget's IsoFLOP line (D = C / {k:g}N)."
                  if slices else ""))
    export.figure_downloads(fig, f"fit_{metric}_vs_{axis}", "fit")


# ------------------------------------------------------------------------------ tables


def results(ds, axis, metric, boots, target, estimates, items, settings, call, fit_axis) -> None:
    if not boots:
        return
    if target is not None and estimates:
        st.subheader(f"Predicted {metric} at {AXIS_SHORT[axis]} = {formatting.scale_text(target, axis)}")
        # At most three cards a row, the value on the card and its interval in a caption under it: four
        # cards of "1.959 [1.935, 1.983]" were cut to "1.959 [1.935, 1.…" at 1024 px.
        cols = st.columns(min(len(estimates), 3))
        for i, (f, e) in enumerate(estimates.items()):
            kind = " along the compute-optimal frontier" if FAMILIES[f].is_two_input else ""
            estimate_card(cols[i % len(cols)], label(f), e, boots[f].confidence_level,
                          help=f"{boots[f].interval_label}{kind}")
        st.caption("The best fit's prediction, and under it its "
                   f"{next(iter(boots.values())).interval_label.split(' (')[0]}.")

    st.subheader("Fitted parameters")
    cols = st.columns(min(len(boots), 3))
    for i, (f, boot) in enumerate(boots.items()):
        with cols[i % len(cols)]:
            st.markdown(f"**{label(f)}**" + (f" against {AXIS_SHORT[axis]}" if fit_axis[f] else " in N and D"))
            st.latex(FAMILIES[f].formula)
            rows = analysis.parameter_rows(boot)
            st.dataframe(rows[["parameter", "value", "low", "high", "std. error"]], hide_index=True, width="stretch",
                         key=f"params_{f}")
            st.caption(f"{boot.interval_label}. {boot.fit.n_points} runs fitted, {boot.fit.n_excluded} excluded.")
            show_warnings(list(boot.fit.warnings) + list(boot.warnings))

    st.subheader("Fit quality")
    quality = quality_table(boots, estimates, call, fit_axis)  # whole in the JSON download
    # On screen the grid ran 282 px past the page at 1024: the prediction at the target is in the cards above,
    # and the held-out runs, when the same for every family, are said once in the caption.
    shown = quality.drop(columns=["at target"], errors="ignore")
    held = shown["backtest: held out"].unique() if "backtest: held out" in shown else []
    same = len(held) == 1 and (quality["backtest: mean abs error"] != "—").all()
    if same:
        shown = shown.drop(columns=["backtest: held out"])
    st.dataframe(shown, hide_index=True, width="stretch", key="quality")
    st.caption("RMSE of log residuals on the fitted runs; AIC/BIC from the residuals (lower is better; ΔAIC against "
               "the best). Backtest: each family refitted on the runs below the top 20% of compute, then asked to "
               "predict those held-out largest runs"
               + (f" ({md(held[0])})" if same else "")
               + "; the mean absolute error and the bias (negative: the law under-predicts the metric at scale).")
    misfit = unsupported([b.fit for b in boots.values()])
    if misfit:
        one = len(misfit) == 1
        note = (f"ΔAIC above {UNSUPPORTED_DELTA_AIC:g}: {', '.join(label(f) for f in misfit)} "
                f"fit{'s' if one else ''} these runs far worse than the best law; the runs do not support "
                f"{'it' if one else 'them'}.")
        rough = [label(f) for f in misfit if not FAMILIES[f].convex]
        if rough:
            note += (" A nonlinear law that misses the runs has shallow optima, and some resamples end in one: read "
                     f"the parameter intervals of {', '.join(rough)} as approximate (the predictions move far less).")
        st.caption(note)
    # A wrapping row of buttons as wide as their labels (in four narrow columns they shrank to "P…").
    row = st.container(horizontal=True, wrap=True, gap="small")
    params = analysis.parameters_frame(boots).rename(
        columns={"raw value": "value (full precision)", "raw low": "low (full precision)",
                 "raw high": "high (full precision)"})
    row.download_button("Parameters (CSV)", params.to_csv(index=False), file_name="parameters.csv", mime="text/csv",
                        on_click="ignore", key="dl_params_csv", width="content")
    extra = {"dataset": ds.id, "mapping": ds.mapping, "x": axis, "metric": metric, "settings": settings.as_dict(),
             "excluded": items, "target": target,
             "at_target": {f: {"value": e.value, "low": e.low, "high": e.high} for f, e in estimates.items()},
             "quality": quality.to_dict(orient="records")}
    row.download_button("Parameters (JSON)", json.dumps(analysis.parameters_json(boots, extra), indent=2),
                        file_name="parameters.json", mime="application/json", on_click="ignore", key="dl_params_json",
                        width="content")
    with row:
        review.report_button(ds, key="dl_report_explore", label="Report (HTML)", width="content")


def quality_table(boots, estimates, call, fit_axis) -> pd.DataFrame:
    try:
        compared = compare_families([b.fit for b in boots.values()]).set_index("family")
    except Exception:  # noqa: BLE001 -- different runs: show each family's own numbers only
        compared = None
    rows = []
    for f, boot in boots.items():
        fit = boot.fit
        bt = cache.backtest(family=f, axis=fit_axis[f], **call)
        row = {"family": label(f), "runs fitted": fit.n_points, "RMSE log": formatting.format_number(fit.rmse_log, 3),
               "AIC": f"{fit.aic:.1f}", "BIC": f"{fit.bic:.1f}"}
        if compared is not None and f in compared.index:
            row["ΔAIC"] = f"{compared.loc[f, 'delta_aic']:.1f}"
        if bt.ok and bt.value.ok:  # written as the Trust page, the report and the CLI write them
            shown = bt.value.summary_row()
            row["backtest: mean abs error"] = shown["mean abs error"]
            row["backtest: bias"] = shown["bias"]
            row["backtest: held out"] = shown["held out"]
        else:
            row["backtest: mean abs error"] = "—"
            row["backtest: bias"] = "—"
            row["backtest: held out"] = (bt.value.message if bt.ok else bt.error)
        if f in estimates:
            row["at target"] = estimate_text(estimates[f])
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ outliers


def outlier_panels(ds, metric, boots, items, call, axis, target, k) -> set[str]:
    """The four ways to exclude runs (ui/outliers.py); returns the runs suggested as outliers."""
    return outliers.panels(ds, metric, boots, items, call=call, axis=axis, target=target, k=k, threshold=OUTLIER_Z,
                           tabs_fn=lazy_tabs)


# ------------------------------------------------------------------------------ two-input views


def two_input_views(ds, axis, metric, boots, target, estimates, items, call, k, known) -> None:
    two = {f: b for f, b in boots.items() if FAMILIES[f].is_two_input}
    if not two:
        return
    st.subheader("Laws in model size and tokens")
    # The allocation table first: it is what a budget needs, and cheap; the contour map costs a
    # plain rerun about 0.25 s (building it, and the browser redrawing it), so it waits for a click.
    tab_frontier, tab_optimal, tab_map = lazy_tabs(["Compute-optimal frontier", "N*, D* against compute",
                                                    "Map over N and D"], "two_input_tab")
    if tab_frontier.open:
        with tab_frontier:
            frontier_view(ds, axis, metric, two, target, items, call, k, known)
    if tab_optimal.open:
        with tab_optimal:
            optimal_view(ds, axis, two, target, call, k)
    if tab_map.open:
        with tab_map:
            map_view(ds, metric, two, items, call, k, known)


def frontier_view(ds, axis, metric, two, target, items, call, k, known) -> None:
    runs = ds.runs
    c_target = target if axis == "compute" else None
    if axis == "compute":
        st.caption("The main plot above shows this view: loss against compute with each law's compute-optimal "
                   "frontier (dashed) and its band.")
    else:
        lo, hi = analysis.plot_range(runs, "compute", None)
        fig = plots.fit_figure(points_for(runs, "compute", metric, items), curve_specs(two, "compute", lo, hi, call, k),
                               x_title=AXIS_TITLES["compute"], y_title=metric,
                               title=f"Compute-optimal frontier: the lowest {metric} reachable at each compute budget")
        chart(fig, "frontier_chart", ds, known)
        export.figure_downloads(fig, f"frontier_{metric}", "frontier")
    rows = []
    budgets = sorted({budget.next_decade(runs.values('compute'))} | ({c_target} if c_target else set()))
    for f, b in two.items():
        for c in budgets:
            opt = b.compute_optimal(c, k)
            rows.append({"family": label(f), "compute C": formatting.format_value(c, "flops", 3),
                         "N* (params)": estimate_text(opt["params"], "count"),
                         "D* (tokens)": estimate_text(opt["tokens"], "count"),
                         f"{metric} at the optimum": estimate_text(opt["loss"])})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="optimum_table")
    st.caption("Compute-optimal allocation with its bootstrap interval (C = "
               f"{k:g}·N·D), at the next power of ten above the largest run"
               + (" and at the target." if c_target else
                  "; the Budget page plans any other budget."))


OPTIMAL_KEY, PUBLISHED_KEY = "optimal", "published"  # URL parameters of the compute-optimal plot


@st.cache_resource(max_entries=64, show_spinner=False)
def optimal_curves(data_key: str, _runs, family: str, metric: str, exclude: tuple, settings: tuple, k: float,
                   lo: float, hi: float) -> cache.Outcome:
    """N*, D*, D*/N* of one law over C in [lo, hi] with bootstrap bands (:func:`ui.analysis.compute_optimal_bands`)."""
    o = cache.fit(data_key=data_key, _runs=_runs, family=family, axis=None, metric=metric, exclude=exclude,
                  settings=settings)
    if not o.ok:
        return o
    cs = np.geomspace(lo, hi, 80)
    return cache.guard(lambda: (cs, analysis.compute_optimal_bands(o.value, cs, k)))


def optimal_range(runs, axis: str, target: float | None) -> tuple[float, float]:
    """C from the smallest run to two decades above the largest (or the target, if further)."""
    c = runs.values("compute")
    c = c[np.isfinite(c) & (c > 0)]
    lo, hi = float(c.min()), float(c.max()) * 100
    if axis == "compute" and target is not None:
        hi = max(hi, target * 1.5)
    return lo, hi


def optimal_view(ds, axis, two, target, call, k) -> None:
    """N*(C), D*(C) and D*/N* against compute with bootstrap bands, and published laws over them
    (Chinchilla's Figure 3 / Table 3 and Epoch's replication read this way)."""
    runs = ds.runs
    quantities = list(analysis.OPTIMAL_QUANTITIES)
    c1, c2 = st.columns([2, 3])
    shown = c1.segmented_control("Show", quantities, default="params", required=True, wrap=True, key=OPTIMAL_KEY,
                                 format_func={"params": "N*", "tokens": "D*", "ratio": "D*/N*"}.get, **URL)
    laws = c2.multiselect("Published laws", list(analysis.PUBLISHED_OPTIMA), default=[], key=PUBLISHED_KEY,
                          format_func=analysis.PUBLISHED_OPTIMA.get, placeholder="none",
                          help="Drawn as thin dashed lines: Hoffmann et al. 2022 and Besiroglu et al. 2024 from "
                               "their Chinchilla constants; Kaplan et al. 2020's N_opt = 1.3e9 (C / 1 PF-day)^0.73 "
                               "(their Table 6), with D = C / 6N.", **URL)
    shown = shown or "params"
    y_title, kind = analysis.OPTIMAL_QUANTITIES[shown]
    lo, hi = optimal_range(runs, axis, target)
    short = {"params": "N*", "tokens": "D*", "ratio": "D*/N*"}[shown]
    curves = []
    for f in two:
        o = optimal_curves(family=f, k=k, lo=lo, hi=hi, **call)
        if not o.ok:
            st.warning(f"{label(f)}: no compute-optimal allocation: {md_message(o.error)}")
            continue
        cs, bands = o.value
        band = bands[shown]
        curves.append(plots.CurveSpec(name=f, label=label(f), x=cs, y=band.point, lower=band.lower, upper=band.upper,
                                      band_label=f"{label(f)}: {band.confidence_level:.0%} band", x_kind="flops",
                                      y_kind=kind, x_title="C", y_title=short))
    cs = np.geomspace(lo, hi, 80)
    published = [plots.CurveSpec(name=p, label=analysis.PUBLISHED_OPTIMA[p], x=cs,
                                 y=analysis.published_optimum(p, cs, k)[shown], x_kind="flops", y_kind=kind,
                                 x_title="C", y_title=short) for p in laws or []]
    c = runs.values("compute")
    c = c[np.isfinite(c) & (c > 0)]
    fig = plots.compute_optimal_figure(curves, published, y_title=y_title, data_range=(float(c.min()), float(c.max())),
                                       title=f"{y_title} against training compute")
    st.plotly_chart(fig, key="optimal_chart", theme=None, config=CHART_CONFIG)
    st.caption("Each law's compute-optimal allocation at C = "
               f"{k:g}·N·D with its bootstrap percentile band; the grey region is the compute of the runs, "
               "to its right the law extrapolates.")
    export.figure_downloads(fig, f"compute_optimal_{shown}", "optimal")


def map_view(ds, metric, two, items, call, k, known) -> None:
    runs = ds.runs
    choice = st.selectbox("Law", list(two), format_func=label, key="map_family") if len(two) > 1 else next(iter(two))
    o = cache.contour(family=choice, k=k, **call)
    if not o.ok:
        st.error(o.error)
        return
    fig = plots.contour_figure(o.value, run_points(runs, "params", "tokens", items))
    chart(fig, "map_chart", ds, known)
    st.caption("Colour: the fitted metric. Dotted white lines: equal training compute C = "
               f"{k:g}·N·D. The coloured line is the compute-optimal frontier; runs are the circles (excluded: ×).")
    export.figure_downloads(fig, f"map_{choice}", "map")


# ------------------------------------------------------------------------------ diagnostics


def diagnostics_panels(ds, axis, metric, boots, target, items, call, k, known) -> None:
    if not boots:
        return
    st.subheader("Diagnostics")
    # The overview first: the figures behind the other tabs cost every refit a redraw (and a cold
    # start 0.3 s: a second plot to render below the fold), so they are drawn when opened.
    tab_overview, tab_resid, tab_boot, tab_infl = lazy_tabs(
        ["Overview", "Residuals", "Bootstrap distribution", "Influence"], "diagnostics_tab")
    if tab_overview.open:
        with tab_overview:
            # short headers, the long ones as their tooltips: the headers set the widths, and the grid ran
            # 176 px past the page at 1024
            short = {"farthest run (residual actual − predicted, robust z)": "farthest run (residual, z)",
                     "most correlated parameters (bootstrap)": "most correlated (bootstrap)"}
            st.dataframe(analysis.diagnostics_overview(boots, OUTLIER_Z), hide_index=True, width="stretch",
                         key="diagnostics_overview",
                         column_config={name: st.column_config.Column(label, help=name) for name, label in short.items()})
            st.caption("Robust z = (r − median) / (1.4826·MAD) of the log residuals. A correlation near ±1: the data "
                       "trade those two parameters off, so each alone is less certain than the curve. The other "
                       "tabs draw the residuals against x, the bootstrap distribution and each run's influence.")
    if tab_resid.open:
        with tab_resid:
            residuals_view(ds, axis, boots, items, known)
    if tab_boot.open:
        with tab_boot:
            bootstrap_view(ds, boots, known)
    if tab_infl.open:
        with tab_infl:
            influence_view(ds, axis, boots, target, call, k, known)


def residuals_view(ds, axis, boots, items, known) -> None:
    runs = ds.runs
    x_by_id = dict(zip(runs.frame["run_id"].astype(str), runs.values(axis)))
    series = []
    for f, b in boots.items():
        ids = b.fit.problem.run_ids.astype(str)
        series.append(plots.ResidualSeries(name=f, label=label(f), x=np.array([x_by_id[i] for i in ids]),
                                           residual=shown_residuals(b.fit), run_ids=ids))
    log_space = all(b.family.space == "log" for b in boots.values())
    fig = plots.residuals_figure(series, x_title=AXIS_TITLES[axis],
                                 y_title=RESIDUAL_HEADERS["log" if log_space else "linear"],
                                 title="Residuals: actual minus predicted (above 0: the run lies above the law)")
    chart(fig, "resid_chart", ds, known)
    export.figure_downloads(fig, f"residuals_vs_{axis}", "resid")


def bootstrap_view(ds, boots, known) -> None:
    f = st.selectbox("Family", list(boots), format_func=label, key="boot_family") if len(boots) > 1 else next(iter(boots))
    b = boots[f]
    names = list(b.family.param_names)
    default_pair = b.family.shown_pair
    c1, c2 = st.columns(2)
    px_ = c1.selectbox("x parameter", names, index=names.index(default_pair[0]), key=f"boot_x_{f}")
    py_ = c2.selectbox("y parameter", names, index=names.index(default_pair[1]), key=f"boot_y_{f}")
    i, j = names.index(px_), names.index(py_)
    good = b.good
    ci = b.confidence_interval
    wide = lambda v: bool(np.all(v > 0) and np.nanmax(v) / max(np.nanmin(v), 1e-300) > 100)  # noqa: E731
    fig = plots.bootstrap_scatter(good[:, i], good[:, j], name=f, x_param=px_, y_param=py_,
                                  point=(b.fit.params[px_], b.fit.params[py_]), ci_x=ci[px_], ci_y=ci[py_],
                                  log_x=wide(good[:, i]), log_y=wide(good[:, j]), interval_label=b.interval_label)
    st.plotly_chart(fig, key="boot_chart", theme=None, config=CHART_CONFIG)
    if b.n_failed:
        st.caption(f"{b.n_failed} of {b.n_resamples} resamples failed and are not shown.")
    export.figure_downloads(fig, f"bootstrap_{f}_{px_}_{py_}", "boot")


def influence_view(ds, axis, boots, target, call, k, known) -> None:
    if target is None:
        st.info("Type an extrapolation target above to see which runs move the prediction there most.")
        return
    f = st.selectbox("Family", list(boots), format_func=label, key="infl_family") if len(boots) > 1 else next(iter(boots))
    o = cache.influence(family=f, axis=axis, target=target, k=k, **call)
    if not o.ok:
        st.error(o.error)
        return
    table = o.value
    top = table.dropna(subset=["change_pct"]).head(15)
    fig = plots.influence_figure(top["run_id"], top["change_pct"].to_numpy(), name=f,
                                 value_title="change of the prediction without the run (%)",
                                 title=f"{label(f)}: runs that move the prediction at {AXIS_SHORT[axis]} = "
                                       f"{formatting.scale_text(target, axis)} most when left out",
                                 hover=[f"prediction without it {v:.4g}" for v in top["prediction_without"]])
    chart(fig, "infl_chart", ds, known)
    st.caption(f"Prediction with every run: {table.attrs['prediction']:.4g}. Each bar refits the law without one run "
               "(all refits in one batch). Click a bar to exclude that run.")
    show_warnings(table.attrs.get("warnings", []))
    export.figure_downloads(fig, f"influence_{f}", "infl")


run_page(main)

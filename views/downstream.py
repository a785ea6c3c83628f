"""Downstream: predict a downstream accuracy of a larger run in two steps -- scale -> loss (a loss
law), loss -> accuracy (a logistic map) -- with one joint bootstrap for both steps.
Widgets -> one cached call into scalecore.downstream (through ui.downstream) -> figures and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from scalecore import ACCURACY_FORMULA, FAMILIES, budget, formatting, plots
from ui import analysis, data_source, export, md, md_message, outliers, run_page, show_warnings, state
from ui import downstream as dn
from ui.analysis import AXIS_SHORT, AXIS_TITLES
from ui.outliers import chart
from ui.widgets import (DELTAS, LEVELS, RESAMPLES, URL, card_slots, default_loss_law, estimate_card, estimate_text, json_text,
                        keep_valid, label, number_box, run_points)

ACC_DELTAS = (0.005, 0.01, 0.02, 0.05, 0.1, 1.0)
SAMPLE = "downstream_accuracy.csv"


def _number(container, text_label: str, key: str, default: str, help: str) -> float | None:
    return number_box(container, text_label, key, default, help, placeholder="e.g. 30B, 600B or 1e23")


def controls(runs):
    """The widgets that define the analysis, every one mirrored in the URL."""
    loss_opts, acc_opts, loss_default, acc_default = dn.metric_choices(runs)
    if loss_default is None or acc_default is None or len(runs.metrics) < 2:
        st.info(f"This page needs two metric columns: a loss and a downstream accuracy (the data has "
                f"{', '.join(f'`{m}`' for m in runs.metrics)}). Choose the sample **{SAMPLE}** in the sidebar, "
                "or upload runs with both columns; rows without an accuracy still count for the loss law.")
        return None
    keep_valid("dn_loss", loss_opts, loss_default)
    keep_valid("dn_acc", acc_opts, acc_default)
    laws = dn.loss_families(runs)
    keep_valid("dn_law", laws, default_loss_law(laws))
    c1, c2, c3 = st.columns([1.2, 1.2, 3.6])
    loss_metric = c1.selectbox("Loss column", loss_opts, key="dn_loss", **URL)
    acc_metric = c2.selectbox("Accuracy column", acc_opts, key="dn_acc", **URL)
    family = c3.segmented_control("Step 1: loss law", laws, required=True, wrap=True, key="dn_law", format_func=label,
                                  help="Fitted to every run with a loss, including runs without an accuracy.", **URL)
    fam = FAMILIES[family]
    t = st.columns([1.4, 1.4, 1.4, 1.8])
    axis = None
    if fam.is_two_input:
        n = _number(t[0], "Target model size N", "dn_target_params", DEFAULT("params"),
                    "The larger run to predict: its parameters.")
        d = _number(t[1], "Target tokens D", "dn_target_tokens", DEFAULT("tokens"), "Its training tokens.")
        target = {"params": n, "tokens": d} if n and d else None
    else:
        axes = analysis.axes_available(runs)
        keep_valid("dn_x", axes, "compute" if "compute" in axes else axes[0])
        axis = t[0].segmented_control("Step 1 against", axes, required=True, wrap=True, key="dn_x", **URL)
        c = _number(t[1], f"Target {AXIS_SHORT[axis]}", f"dn_target_{axis}", DEFAULT(axis),
                    f"The larger run to predict: its {axis}.")
        target = {"x": c} if c else None
    with t[3].expander("Fit and bootstrap settings"):
        s1, s2 = st.columns(2)
        n_res = s1.select_slider("Bootstrap resamples", RESAMPLES, value=1000, key="dn_n", **URL)
        cl = s2.select_slider("Confidence level", LEVELS, value=0.95, key="dn_cl", **URL)
        s3, s4 = st.columns(2)
        delta = s3.select_slider("Step 1 Huber δ (log loss)", DELTAS, value=1e-3, key="dn_delta", format_func=str,
                                 **URL)
        adelta = s4.select_slider("Step 2 Huber δ (accuracy)", ACC_DELTAS, value=0.02, key="dn_adelta",
                                  format_func=str, help="Residuals of accuracy beyond δ count linearly; 1.0 is "
                                                        "least squares for accuracies.", **URL)
        seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="dn_seed", **URL)
    settings = dn.Settings(n_resamples=int(n_res), confidence_level=float(cl), seed=int(seed), delta=float(delta),
                           accuracy_delta=float(adelta))
    return loss_metric, acc_metric, family, axis, target, settings


def DEFAULT(role: str) -> str:  # noqa: N802 -- reads like the constant it wraps
    return dn.DEFAULT_TARGET.get(role, "")


def target_text(target: dict, axis: str | None) -> str:
    if "x" in target:
        return f"{AXIS_SHORT[axis]} = {plots.short_number(target['x'])}"
    return f"N = {plots.short_number(target['params'])}, D = {plots.short_number(target['tokens'])}"


def main() -> None:
    ds = data_source.current()
    st.title("Downstream: predict accuracy in two steps")
    st.caption("Step 1 fits a loss law to the runs (loss from N and D, or from compute); step 2 fits a logistic map "
               "from loss to a downstream accuracy; the chain predicts the accuracy of a larger run. Both steps are "
               "bootstrapped together (one case resample of the runs feeds both fits), so the interval carries "
               "both steps' uncertainty.")
    if ds is None:
        st.info("Load a dataset in the sidebar to begin.")
        return
    runs = ds.runs
    chosen = controls(runs)
    if chosen is None:
        return
    loss_metric, acc_metric, family, axis, target, settings = chosen
    if loss_metric == acc_metric:
        st.error("The loss and the accuracy are the same column; choose two different columns.")
        return
    items = state.exclusions(ds.id, runs.run_ids)
    exclude = tuple(sorted(items))
    known = frozenset(map(str, runs.run_ids))
    k = runs.flops_per_token_param
    call = dict(data_key=ds.key, _runs=runs, family=family, x=axis, loss_metric=loss_metric,
                accuracy_metric=acc_metric, exclude=exclude, settings=settings.items())
    with st.spinner("Fitting both steps…"):  # shown only after 0.5 s (st.status sleeps 50 ms each rerun)
        outcome = dn.fit(**call)
    if outcome.ok:
        st.caption(f"Fitted both steps with {settings.n_resamples} joint bootstrap resamples in "
                   f"{outcome.seconds:.2f} s (cached afterwards)")
    else:
        st.error(md_message(outcome.error))
        outlier_panels(ds, acc_metric, items, None)
        return
    result = outcome.value
    target_key = tuple(sorted(target.items())) if target else None
    view = dn.drawn(**call, target=target_key, k=k)
    if not view.ok:
        st.error(md_message(view.error))
        return
    drawn = view.value
    headline(result, drawn, target, axis, loss_metric, acc_metric)
    scale_figure(ds, result, drawn, target, axis, acc_metric, items, known, k)
    loss_figure(ds, result, drawn, target, axis, loss_metric, acc_metric, items, known)
    parameters(result, family, axis, loss_metric, acc_metric)
    outlier_panels(ds, acc_metric, items, result)
    downloads(ds, result, drawn, target, axis, items, settings)


def headline(result, drawn, target, axis, loss_metric, acc_metric) -> None:
    pred = drawn.prediction
    if pred is None:
        st.info("Type a target above to predict its accuracy.")
        return
    st.subheader(f"Predicted {acc_metric} at {target_text(target, axis)}")
    c1, c2, c3, c4 = card_slots(4)
    level = result.confidence_level
    estimate_card(c1, f"{acc_metric} (chained)", pred.estimate, level, result.interval_label)
    # rounded to the chained interval's place, as the value beside it (":.4g" wrote 0.7698 beside 0.771)
    median = (formatting.format_interval(pred.median, pred.estimate.low, pred.estimate.high)[0]
              if np.isfinite([pred.estimate.low, pred.estimate.high]).all() else formatting.format_value(pred.median))
    c2.metric("median of the resamples", median,
              help="The median of the chained prediction over the resamples; the value to its left chains the "
                   "two best fits.")
    estimate_card(c3, f"step 1: {loss_metric} there", pred.loss, level, result.interval_label)
    c4.metric("resamples used", f"{result.n_resamples - pred.n_failed} of {result.n_resamples}",
              help="A resample that fails in either step is left out of every interval.")
    st.caption(f"Each value chains the two best fits; under it, the {result.interval_label}.")
    show_warnings(result.warnings)


def scale_figure(ds, result, drawn, target, axis, acc_metric, items, known, k) -> None:
    runs = ds.runs
    x_axis = drawn.scale_axis
    ch = drawn.chained
    level = f"{result.confidence_level:.0%}"
    curve = plots.CurveSpec(name="logistic", label=f"chained prediction ({level} band)", x=drawn.scale_x,
                            y=ch["point"], lower=ch["lower"], upper=ch["upper"])
    marks, t_x = [], None
    pred = drawn.prediction
    if pred is not None:
        t_x = target["x"] if "x" in target else budget.training_compute(target["params"], target["tokens"], k)
        marks = [plots.TargetMark(name="logistic", x=t_x, value=pred.value, low=pred.low, high=pred.high,
                                  text=f"target {target_text(target, axis)}<br>{acc_metric} "
                                       f"{estimate_text(pred.estimate)}")]
    x_col = x_axis if runs.has(x_axis) else "compute"
    fig = plots.fit_figure(run_points(runs, x_col, acc_metric, items, only_with=(acc_metric,)), [curve],
                           x_title=AXIS_TITLES[x_axis], y_title=acc_metric, log_y=False,
                           data_max=float(np.nanmax(runs.values(x_col))), target=t_x, marks=marks,
                           title=f"Predicted {acc_metric} against {AXIS_TITLES[x_axis].split(' (')[0]}: "
                                 "step 2 of step 1, with the joint band")
    chart(fig, "dn_scale_chart", ds, known)
    st.caption(f"{plots.SELECT_HINT} The line chains the two best fits {drawn.path}; the band is the {level} "
               "bootstrap percentile interval of the chained prediction. Runs at other token ratios are drawn at "
               "their own compute. The yellow region is extrapolation beyond the largest run.")
    export.figure_downloads(fig, f"downstream_{acc_metric}_vs_{x_axis}", "dn_scale")


def loss_figure(ds, result, drawn, target, axis, loss_metric, acc_metric, items, known) -> None:
    pred = drawn.prediction
    mark = None
    if pred is not None:
        mark = plots.ChainMark(loss=pred.loss.value, loss_low=pred.loss.low, loss_high=pred.loss.high,
                               value=pred.value, low=pred.low, high=pred.high,
                               text=f"target {target_text(target, axis)}<br>{loss_metric} "
                                    f"{estimate_text(pred.loss)}<br>{acc_metric} "
                                    f"{estimate_text(pred.estimate)}")
    band = drawn.step2
    pts = run_points(ds.runs, loss_metric, acc_metric, items, only_with=(loss_metric, acc_metric))
    fig = plots.accuracy_loss_figure(pts, drawn.loss_grid, band.point, band.lower, band.upper, mark=mark,
                                     loss_title=loss_metric, accuracy_title=acc_metric,
                                     title=f"Step 2: {acc_metric} against {loss_metric}, with its band")
    chart(fig, "dn_loss_chart", ds, known)
    st.caption(f"Shaded band: the {result.confidence_level:.0%} bootstrap percentile interval of step 2's curve. "
               f"The diamond is the target: step 1's {loss_metric} there (across) and the chained {acc_metric} "
               "(up and down), each with its interval.")
    export.figure_downloads(fig, f"downstream_{acc_metric}_vs_{loss_metric}", "dn_loss")


def parameters(result, family, axis, loss_metric, acc_metric) -> None:
    st.subheader("Fitted parameters")
    # two blocks of 450 px that wrap: side by side at 1440 px; at 1024 two columns were 274 px wide and
    # both tables scrolled sideways (step 2's "meaning" column off screen)
    row = st.container(horizontal=True, wrap=True, gap="small")
    c1, c2 = row.container(width=450), row.container(width=450)
    with c1:
        step1 = result.loss_law
        st.markdown(f"**Step 1: {loss_metric} from scale** ({label(family)}"
                    + (f" against {AXIS_SHORT[axis]}" if axis else " in N and D") + ")")
        st.latex(FAMILIES[family].formula)
        rows = analysis.parameter_rows(step1)
        st.dataframe(rows[["parameter", "value", "low", "high", "std. error"]], hide_index=True, width="stretch",
                     key="dn_params_step1")
        st.caption(f"{result.interval_label}. {step1.fit.n_points} runs fitted, {step1.fit.n_excluded} excluded.")
    with c2:
        step2 = result.accuracy_law
        st.markdown(f"**Step 2: {acc_metric} from {loss_metric}** (logistic in the loss)")
        st.latex(ACCURACY_FORMULA)
        rows = dn.accuracy_rows(result)
        st.dataframe(rows[["parameter", "value", "low", "high", "std. error"]], hide_index=True,
                     width="stretch", key="dn_params_step2")
        meanings = "; ".join(f"{p}: {m}" for p, m in zip(rows["parameter"], rows["meaning"]))
        st.caption(f"{md(meanings)}. {result.interval_label}. {step2.fit.n_points} runs with both columns "
                   f"fitted, {step2.fit.n_excluded} excluded.")


def outlier_panels(ds, acc_metric, items, result) -> None:
    st.subheader("Outliers")
    st.caption(f"{len(items)} run(s) excluded, from both steps. The exclusions are the same as on Explore "
               "(they travel in the link).")
    tabs = st.tabs(["Excluded", "All runs", "Rules"], key="dn_outlier_tab", on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            outliers.excluded_list(ds, items)
    if tabs[1].open:
        with tabs[1]:
            extra = dn.residuals_by_run(result) if result is not None else {}
            if result is not None and result.loss_metric != acc_metric:
                by_id = dict(zip(ds.runs.frame["run_id"].astype(str), ds.runs.values(result.loss_metric)))
                extra = {result.loss_metric: by_id, **extra}
            outliers.runs_table(ds, acc_metric, items, extra)
    if tabs[2].open:
        with tabs[2]:
            outliers.rules(ds)


def downloads(ds, result, drawn, target, axis, items, settings) -> None:
    out = result.to_dict()
    out.update({"dataset": ds.id, "excluded": items, "settings": dict(settings.items()), "target": target,
                "prediction": drawn.prediction.to_dict() if drawn.prediction is not None else None})
    d1 = d2 = st.container(horizontal=True, wrap=True, gap="small")  # buttons as wide as their labels
    d1.download_button("Results (JSON)", json_text(out), file_name="downstream.json",
                       mime="application/json", on_click="ignore", key="dn_dl_json", width="content")
    table = pd.concat([analysis.parameter_rows(result.loss_law).assign(step=1),
                       dn.accuracy_rows(result).assign(step=2, family="logistic in loss")], ignore_index=True)
    d2.download_button("Parameters (CSV)", table.to_csv(index=False), file_name="downstream_parameters.csv",
                       mime="text/csv", on_click="ignore", key="dn_dl_csv", width="content")


run_page(main)

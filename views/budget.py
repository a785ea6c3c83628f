"""Budget: from a fitted law to a training plan -- N*, D*, loss, time and cost with intervals, the
trade-off of another model size, the inverse, inference-aware sizing, data limits, scenarios.

Widgets -> cached calls into :mod:`scalecore.budget` (through :mod:`ui.budget_state`) -> render.
Every budget input is in the URL, so a link reproduces the plan.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from scalecore import Estimate, budget, formatting
from ui import budget_state, data_source, md_message, review, run_page, show_warnings, state
from ui.widgets import CHART_CONFIG, URL, card_slots, default_law_text, label, number_box

fv = formatting.format_value

# Bound widgets write their shown labels to the URL, so options are the labels themselves (stable
# words), presets their short names, and the size factors plain fractions.
FIT, PRESET, TYPED = "Current fit", "Published law", "Typed constants"
FLOPS, HARDWARE = "FLOPs", "Hardware"
#: Other model sizes to compare with N*, as factors (strings keep the URL readable).
FACTORS = ("1/30", "1/20", "1/10", "1/5", "1/3", "1/2", "2/3", "1", "3/2", "2", "3", "5", "10", "20", "30")


def factor(text: str) -> float:
    num, _, den = str(text).partition("/")
    return float(num) / float(den or 1)


def show(est, key: str) -> str:
    return budget.format_answer(est, budget.ANSWER_KINDS.get(key, "plain"))


def metric(col, label: str, est, key: str, help: str | None = None) -> None:
    """A metric card: the PDG-rounded value, and its interval underneath."""
    text = show(est, key)
    value, _, interval = text.partition(" [")
    col.metric(label, value, help=help)
    if interval:
        col.caption(f"[{interval}")


def number(container, label: str, key: str, default: str, help: str, placeholder: str = "") -> float | None:
    """A strictly parsed number typed as text ("1e24", "3.8e25", "2T"); a message under it if bad."""
    return number_box(container, label, key, default, help, placeholder, noun="value")


# ------------------------------------------------------------------------------ the law


def choose_law(ds) -> budget.Law | None:
    st.subheader("1 · The law")
    can_fit = ds is not None and bool(budget_state.fittable_families(ds.runs, _metric(ds)))
    options = [FIT, PRESET, TYPED] if can_fit else [PRESET, TYPED]
    source = st.segmented_control("Plan with", options, required=True, default=options[0], wrap=True, key="b_law", **URL)
    if source == FIT and can_fit:
        return _law_from_fit(ds)
    if source == TYPED:
        return _law_from_text()
    return _law_from_preset()


def _metric(ds) -> str:
    m = st.session_state.get(state.METRIC)
    return m if m in ds.runs.metrics else ds.runs.default_metric


def _law_from_fit(ds) -> budget.Law | None:
    metric = _metric(ds)
    families = budget_state.fittable_families(ds.runs, metric)
    c1, c2 = st.columns([1, 3])
    family = c1.selectbox("Family", families, key="b_family", format_func=label, **URL,
                          help="Laws in N and D give N*, D* and the trade-off; a one-input law against compute "
                               "gives only the loss at a budget and the budget for a loss.")
    with st.spinner(f"Fitting {label(family)} with its bootstrap…"):
        law, error, used = budget_state.law_from_fit(ds, family, metric)
    if error:
        st.error(f"{label(family)} cannot be fitted to this data: {md_message(error)}")
        return None
    c2.caption(f"**{law.source}**  \n{used}. Change them on the Explore page.")
    _law_parameters(law)
    return law


def _preset_title(name: str) -> str:
    return budget.PRESETS[name].title or name


def _law_from_preset() -> budget.Law:
    c1, c2 = st.columns([1, 3])
    # shown (and written to the link) by the paper's name, e.g. ?b_preset=Besiroglu+et+al.+2024
    name = c1.selectbox("Published law", list(budget.PRESETS), key="b_preset", format_func=_preset_title, **URL)
    p = budget.PRESETS[name]
    with_interval = False
    if p.has_interval:
        with_interval = c1.toggle("Published intervals", value=True, key="b_pubci", **URL,
                                  help="Carry the paper's standard errors through every answer: "
                                       + budget.PUBLISHED_SAMPLING + ".")
    c2.caption(f"**{p.label}.** {p.citation}  \n{p.note}  \n{p.uncertainty}"
               + (f"  \nIntervals below: {budget.PUBLISHED_SAMPLING}." if with_interval else ""))
    law = budget_state.preset_law(name, with_interval)
    _law_parameters(law, p)
    return law


def _law_from_text() -> budget.Law | None:
    c1, c2 = st.columns([1, 3])
    family = c1.selectbox("Family", budget_state.two_input_families(), key="b_tfam",
                          format_func=label, **URL)
    text = c2.text_input("Constants", value=default_law_text(family), key="b_text",
                         help="name=value pairs separated by commas; read as numbers only, never run as code.",
                         placeholder=budget.example_law(family).strip("`"), **URL)
    try:
        law = budget.Law.parse(text, family)
    except budget.FitError as exc:
        c2.error(str(exc))
        return None
    _law_parameters(law)
    return law


def _law_parameters(law: budget.Law, preset: budget.Preset | None = None) -> None:
    with st.expander(f"Parameters: {label(law.family.name)}", expanded=False):
        st.latex(law.family.formula)
        rows = [{"parameter": n, "value": budget.format_answer(e), "raw value": e.value}
                for n, e in law.param_estimates().items()]
        if preset is not None:
            for row in rows:
                se = preset.standard_errors.get(row["parameter"])
                row["published standard error"] = "none published" if se is None else budget.format_answer(
                    Estimate(float(se), math.nan, math.nan, math.nan))
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(f"Intervals: {law.interval}")


# ------------------------------------------------------------------------------ the budget


def _on_accelerator() -> None:
    st.session_state["b_peak"] = ""  # the datasheet value of the newly chosen accelerator


def choose_budget():
    """(compute in FLOPs or None, Hardware or None)."""
    st.subheader("2 · The budget")
    mode = st.segmented_control("Budget from", [FLOPS, HARDWARE], required=True, default=FLOPS, wrap=True, key="b_mode", **URL)
    top = st.columns([1.6, 4.4])
    compute = days = None
    if mode == HARDWARE:
        days = top[0].number_input("Days of training", min_value=0.1, value=30.0, step=1.0, key="b_days", **URL)
    else:
        compute = number(top[0], "Training compute (FLOPs)", "b_compute", "1e24",
                         "Total training FLOPs, e.g. 1e24 or 3.8e25 (C ≈ 6·N·D).")
    st.caption("Hardware: " + ("the cluster that trains for these days" if mode == HARDWARE else
                               "for the time and cost of this budget"))
    h = st.columns([1.6, 1.2, 0.8, 0.8, 1.0])
    accelerators = list(budget.ACCELERATORS)
    acc = h[0].selectbox("Accelerator", accelerators, index=accelerators.index("NVIDIA H100 SXM"),
                         key="b_acc", on_change=_on_accelerator, **URL,
                         help="Presets are the vendors' peak dense BF16 throughput (no sparsity).")
    preset = budget.ACCELERATORS[acc].peak_flops
    peak = number(h[1], "Peak FLOP/s each", "b_peak", "",
                  f"Blank: the datasheet value, {fv(preset, 'flops', 3)} FLOP/s dense BF16 ({budget.ACCELERATORS[acc].source}).",
                  placeholder=fv(preset, "flops", 3))
    count = h[2].number_input("Count", min_value=1, max_value=10_000_000, value=1024, step=1, key="b_count", **URL)
    mfu = h[3].number_input("MFU", min_value=0.01, max_value=1.0, value=0.4, step=0.05, key="b_mfu", **URL,
                            help="Model FLOPs utilisation: the share of peak a training run achieves (0.3–0.5 is "
                                 "typical for large dense models).")
    price = h[4].number_input("$ per accelerator-hour", min_value=0.0, value=None, step=0.1, key="b_price",
                              placeholder="e.g. 2.50", **URL)
    hardware = budget.Hardware(peak or preset, int(count), float(mfu), None if price is None else float(price), acc)
    if mode == HARDWARE:
        compute = hardware.compute(days)
        top[1].markdown(f"&nbsp;  \n= **{fv(compute, 'flops', 3)} FLOPs** ({int(count)} × {fv(hardware.peak_flops, 'flops', 3)} FLOP/s × "
                        f"MFU {mfu:g} × {days:g} days × 86,400 s)")
    elif compute is not None:
        top[1].markdown(f"&nbsp;  \n= **{fv(hardware.days(compute), 'days', 3)} days** on {int(count)} × {acc} at MFU {mfu:g} "
                        f"({fv(hardware.accelerator_hours(compute), 'count', 3)} accelerator-hours)")
    return compute, hardware


# ------------------------------------------------------------------------------ answers


def answers(law: budget.Law, compute: float, hardware, k: float):
    st.subheader("3 · The plan")
    p = budget_state.plan(law.key, law, compute, budget_state.hardware_key(hardware), None, None, False, k)
    a = p.answers
    two = law.family.is_two_input
    cols = card_slots(6 if two else 3, 260)
    i = 0
    if two:
        metric(cols[0], "Model size N*", a["params_opt"], "params_opt", "Compute-optimal number of parameters.")
        metric(cols[1], "Tokens D*", a["tokens_opt"], "tokens_opt", "Compute-optimal number of training tokens.")
        metric(cols[2], "Tokens per parameter", a["tokens_per_param"], "tokens_per_param")
        i = 3
    metric(cols[i], "Predicted loss", a["loss"], "loss")
    metric(cols[i + 1], "Days", a["days"], "days", f"Wall-clock days on {hardware.count} × {hardware.name}.")
    if "cost" in a:
        metric(cols[i + 2], "Cost", a["cost"], "cost", "Accelerator-hours × price.")
    else:
        cols[i + 2].metric("Cost", "—", help="Enter a price per accelerator-hour above.")
    st.caption(f"Values in brackets: {law.interval}. Numbers are rounded to their uncertainty (PDG rule).")
    if not two:
        st.info(budget.WHY_TWO_INPUTS)
    with st.expander("All numbers of this plan"):
        st.dataframe(answer_frame(a), hide_index=True, width="stretch", key="b_numbers")
    return p


def answer_frame(answers: dict) -> pd.DataFrame:
    rows = [{"quantity": budget.ANSWER_LABELS.get(k, k), "shown": show(e, k), "value": e.value, "low": e.low,
             "high": e.high, "key": k} for k, e in answers.items()]
    return pd.DataFrame(rows)


def approach2(ds, law: budget.Law, compute: float) -> None:
    """Approach 2 (the IsoFLOP frontier of the loaded runs) beside this law's plan, when the runs are
    IsoFLOP sweeps."""
    if ds is None or not ds.runs.has("params") or not ds.runs.has("compute"):
        return
    outcome = budget_state.isoflop_for_budget(ds, _metric(ds))
    with st.expander("Approach 2: the IsoFLOP frontier of the loaded runs", expanded=outcome.ok):
        if not outcome.ok:
            st.caption(f"No Approach 2 plan from these runs: {md_message(outcome.error)}")
            return
        iso = outcome.value
        iso_key = (ds.key, _metric(ds), iso.n_resamples, iso.seed, iso.confidence_level, iso.excluded)
        r = budget_state.approaches(law.key, law, iso_key, iso, compute)
        st.dataframe(r.table(), hide_index=True, width="stretch", key="b_approaches")
        (st.warning if r.overlap is False else st.info)(r.sentence)
        st.caption(f"Approach 2: N* = k_N·C^a fitted to the minima of the IsoFLOP parabolas "
                   f"({len(iso.used)} budgets); {iso.interval_label}. Approach 3: {r.source3}; {r.interval3}. "
                   "Approach 2 is biased when sweeps are off-centre (see the IsoFLOP page).")


def trade_off(law: budget.Law, compute: float, hardware, k: float) -> None:
    st.subheader("4 · Another model size")
    t = budget_state.tradeoff(law.key, law, compute, k)
    n_star = t.optimum["params"].value
    choice = st.select_slider("Model size as a multiple of N*", FACTORS, value="1", key="b_nf", **URL)
    n = n_star * factor(choice)
    # N and D to the precision of N*'s interval (the card above says 89B [76B, 103B]; four digits, 88.75B,
    # claimed more than the fit knows); D = C / (kN) maps N's interval
    est = t.optimum["params"]
    f = factor(choice)
    n_text = formatting.format_interval(n, f * est.low, f * est.high, "count")[0]
    d_text = formatting.format_interval(budget.tokens_for(compute, n, k), budget.tokens_for(compute, f * est.high, k),
                                        budget.tokens_for(compute, f * est.low, k), "count")[0]
    st.caption(f"N = {choice} × N* = {n_text} parameters, trained on D = C / 6N = {d_text} tokens")
    off = budget_state.off_optimum(law.key, law, compute, n, k)
    fig = budget_state.tradeoff_figure(t, n, off["loss"].value, interval=law.interval)
    st.plotly_chart(fig, key="b_tradeoff", theme=None, config=CHART_CONFIG)
    cols = card_slots(4, 220)
    metric(cols[0], "Loss at this N", off["loss"], "loss", f"N = {fv(n, 'count', 3)}, D = C/6N = {fv(off['tokens'].value, 'count', 3)}")
    metric(cols[1], "Loss penalty vs N*", off["loss_penalty"], "loss_penalty")
    metric(cols[2], "Wasted compute", off["wasted_compute"], "wasted_compute",
           "The budget minus the compute with which the optimum reaches the same loss.")
    metric(cols[3], "Share of the budget wasted", off["wasted_fraction"], "wasted_fraction")
    if hardware.price_per_hour is not None and off["wasted_compute"].value > 0:
        st.caption(f"At your price the wasted compute costs about "
                   f"{budget.format_answer(_const(hardware.cost(off['wasted_compute'].value)), 'money')}.")


def _const(v: float) -> Estimate:
    return Estimate(float(v), math.nan, math.nan, math.nan)


def inverse(law: budget.Law, hardware, k: float) -> None:
    st.subheader("5 · The budget for a target loss")
    c1, c2 = st.columns([2, 4])  # an input and a checkbox label need ~190 px at 1024
    target = number(c1, "Target loss", "b_target", "", "The loss you need; the least compute that reaches it.",
                    placeholder="e.g. 2.0")
    if target is None:
        c2.caption("Enter a loss to see the least compute, model size and tokens that reach it.")
        return
    outcome = budget_state.inverse(law.key, law, target, budget_state.hardware_key(hardware), k)
    if not outcome.ok:
        c2.error(outcome.error)
        return
    r = outcome.value
    keys = [key for key in ("compute", "params", "tokens", "tokens_per_param", "days", "cost") if key in r]
    labels = {"compute": "Least FLOPs", "params": "Model size N", "tokens": "Tokens D",
              "tokens_per_param": "Tokens/param", "days": "Days", "cost": "Cost"}
    # three cards a row: six in one row cut long numbers ("8.30e…")
    for start in range(0, len(keys), 3):
        cols = c2.columns(3)
        for col, key in zip(cols, keys[start:start + 3]):
            metric(col, labels[key], r[key], {"params": "params_opt", "tokens": "tokens_opt"}.get(key, key))
    if r.get("unreachable_fraction"):
        c2.warning(f"{r['unreachable_fraction']:.0%} of the bootstrap resamples put the irreducible loss above "
                   "this target, so the upper end of the interval is unbounded.")


def inference_aware(law: budget.Law, compute: float, k: float) -> float | None:
    st.subheader("6 · Inference-aware sizing")
    c1, c2 = st.columns([2, 4])  # an input and a checkbox label need ~190 px at 1024
    t_inf = number(c1, "Tokens served in the model's lifetime", "b_tinf", "", "Inference tokens over the "
                   "model's life; training + inference FLOPs 6ND + 2N·T are minimised for the same loss "
                   "(Sardana et al. 2023).", placeholder="e.g. 2T or 1e13")
    if not t_inf:
        c2.caption("A model that will serve many tokens is cheaper overall if it is smaller and trained longer. "
                   "Enter the tokens it will serve to compare.")
        return None
    r = budget_state.inference(law.key, law, compute, t_inf, k)
    opt = budget_state.plan(law.key, law, compute, None, None, None, False, k).answers
    rows = [
        ("Model size N", opt["params_opt"], r["params"], "count"),
        ("Training tokens D", opt["tokens_opt"], r["tokens"], "count"),
        ("Tokens per parameter", opt["tokens_per_param"], r["tokens_per_param"], "plain"),
        ("Predicted loss", opt["loss"], r["loss"], "plain"),
        ("Training FLOPs", _const(compute), r["training_compute"], "flops"),
        ("Training + inference FLOPs", r["optimal_total_compute"], r["total_compute"], "flops"),
    ]
    table = pd.DataFrame([{"": name, "compute-optimal": budget.format_answer(a, kind),
                           "inference-aware": budget.format_answer(b, kind)} for name, a, b, kind in rows])
    c2.dataframe(table, hide_index=True, width="stretch", key="b_inference_table")
    c2.caption(f"Inference-aware sizing saves {budget.format_answer(r['saving'], 'flops')} FLOPs "
               f"({budget.format_answer(r['saving_fraction'], 'fraction')}) over the model's life. {law.interval}.")
    return t_inf


def data_limit(law: budget.Law, compute: float, k: float) -> tuple[float | None, bool]:
    st.subheader("7 · Data limit")
    c1, c2 = st.columns([2.5, 3.5])  # "Re-plan for repeated data" and its box need ~180 px at 1024
    unique = number(c1, "Unique tokens available", "b_unique", "", "Distinct training tokens in your corpus.",
                    placeholder="e.g. 5T")
    constrained = c1.checkbox("Re-plan for repeated data", key="b_dc", **URL,
                              help="Muennighoff et al. 2023: repeated tokens and parameters beyond the "
                                   "compute-optimal size for the unique data are worth less (effective data "
                                   f"and parameters, R_D* = {budget.MUENNIGHOFF_R_D}, R_N* = "
                                   f"{budget.MUENNIGHOFF_R_N}); N and D are re-optimised for it.")
    if not unique:
        c2.caption("Enter the unique tokens you have to see how many epochs the plan needs.")
        return None, constrained
    p = budget_state.plan(law.key, law, compute, None, unique, None, constrained, k)
    cols = c2.columns(3)
    metric(cols[0], "Epochs", p.answers["epochs"], "epochs")
    if constrained:
        metric(cols[1], "Loss with repeated data", p.answers["loss_repeated"], "loss")
        metric(cols[2], "Loss with fresh data", p.answers["loss"], "loss")
        dc = budget_state.data_constrained(law.key, law, compute, unique, k)
        rows = [("Model size N", dc["naive_params"], dc["params"], "count"),
                ("Training tokens D", p.answers["tokens_opt"], dc["tokens"], "count"),
                ("Epochs", dc["naive_epochs"], dc["epochs"], "plain"),
                ("Loss with repeated data", dc["naive_loss"], dc["loss"], "plain")]
        table = pd.DataFrame([{"": name, "compute-optimal N*, D* (repeating)": budget.format_answer(a, kind),
                               "re-optimised for the unique tokens": budget.format_answer(b, kind)}
                              for name, a, b, kind in rows])
        c2.dataframe(table, hide_index=True, width="stretch", key="b_dc_table")
        c2.caption(f"Re-optimising lowers the loss by {budget.format_answer(dc['gain'])}; Muennighoff et al. 2023 "
                   f"(R_D* = {budget.MUENNIGHOFF_R_D}, R_N* = {budget.MUENNIGHOFF_R_N}, their fitted values "
                   f"rounded). {law.interval}.")
    show_warnings(p.warnings, c2)
    if not p.warnings:
        c2.success("The plan needs no more tokens than you have: no repetition.")
    return unique, constrained


def scenarios(law: budget.Law, compute: float, hardware, unique, t_inf, constrained: bool, k: float) -> None:
    st.subheader("8 · Scenarios")
    c1, c2, c3 = st.columns([2.4, 1, 1])
    name = c1.text_input("Scenario name", key="b_name", placeholder=f"Scenario {len(budget_state.saved_scenarios()) + 1}",
                         label_visibility="collapsed")
    if c2.button("Save this plan", key="b_save", width="stretch", type="primary"):
        p = budget_state.plan(law.key, law, compute, budget_state.hardware_key(hardware), unique, t_inf, constrained, k)
        st.toast(f"Saved “{budget_state.save_scenario(p, name or '')}”")
    saved = budget_state.saved_scenarios()
    if c3.button("Clear all", key="b_clear", width="stretch", disabled=not saved):
        budget_state.clear_scenarios()
        saved = []
    stored = budget_state.saved_analyses_with_scenarios()
    if stored:
        with st.expander("Scenarios of a saved analysis"):
            l1, l2 = st.columns([3, 1])
            names = {aid: f"{title} ({n} scenario{'s' if n != 1 else ''})" for aid, title, n in stored}
            chosen = l1.selectbox("Saved analysis", list(names), format_func=names.get, key="b_from",
                                  label_visibility="collapsed")
            if l2.button("Add its scenarios", key="b_load", width="stretch"):
                st.toast(f"Added {budget_state.load_scenarios(chosen)} scenarios")
                saved = budget_state.saved_scenarios()
    if not saved:
        st.caption("Save plans to compare them side by side; they are kept for this session, go into the report "
                   "and into an analysis saved on the Review page.")
        return
    table = budget.scenarios_table(saved)
    shown = pd.DataFrame([{"scenario": s.name, "law": s.inputs.get("law", {}).get("source", ""),
                           **{budget.ANSWER_LABELS.get(key, key): show(e, key) for key, e in s.answers.items()}}
                          for s in saved])
    st.dataframe(shown, hide_index=True, width="stretch", key="b_scenarios_table")
    st.download_button("Download scenarios (CSV)", table.to_csv(index=False), file_name="scenarios.csv",
                       mime="text/csv", on_click="ignore", key="b_download")
    review.report_button(data_source.current(), key="b_report", label="Report with these scenarios (HTML)")


# ------------------------------------------------------------------------------ the page


def main() -> None:
    ds = data_source.current()
    st.title("Plan a training run")
    st.caption("How big a model, how many tokens, what loss and what cost for the compute you have — with the "
               "uncertainty of the fit carried through every number.")
    law = choose_law(ds)
    if law is None:
        return
    compute, hardware = choose_budget()
    if compute is None:
        return
    k = ds.runs.flops_per_token_param if (ds is not None and st.session_state.get("b_law") == FIT) else 6.0
    answers(law, compute, hardware, k)
    two = law.family.is_two_input
    if two:
        approach2(ds, law, compute)
        trade_off(law, compute, hardware, k)
    inverse(law, hardware, k)
    t_inf = unique = None
    constrained = False
    if two:
        t_inf = inference_aware(law, compute, k)
        unique, constrained = data_limit(law, compute, k)
    scenarios(law, compute, hardware, unique, t_inf, constrained, k)


run_page(main)

"""The Trust page's "What to run next" tab: rank candidate runs by how much each would shrink the
interval of a target per FLOP (:mod:`scalecore.design`), let the user add candidates as
hypothetical runs (click them on the plot, or the button for the top one) and see the target's
interval before and after, and download the chosen runs as a CSV plan.

The law is Explore's fit (the same cached bootstrap); the ranking and the refit with the chosen
runs are one cached call each.
"""

from __future__ import annotations

import streamlit as st

from scalecore import FAMILIES, design
from scalecore.formatting import format_estimate, format_table, format_value
from scalecore.optimum import next_decade

from ui import analysis, cache, md, review, state

#: Session keys of this tab.
FAMILY, TARGET, BUDGET, PLANNED_N, PLANNED_D, LIMIT, CHOSEN, CHART = (
    "next_family", "next_target", "next_budget", "next_params", "next_tokens", "next_limit", "next_chosen",
    "next_chart")
BY, CHOSEN_FOR = "next_by", "next_chosen_for"
RANK_BY = {"shrink per FLOP": "shrink_per_flop", "shrink": "shrink"}
#: Significant digits of a candidate's numbers: a grid point has no interval, and "22.80M" or
#: "0.6661%" wrote more than a plan needs (the grid's spacing is a factor 2).
DIGITS = 3
TARGETS = {"N* at a budget": "params", "D* at a budget": "tokens", "L* at a budget": "loss",
           "Metric of a planned run": "metric"}


@st.cache_resource(max_entries=64, show_spinner=False)
def ranking(data_key: str, family: str, metric: str, exclude: tuple, settings: tuple, target: tuple,
            max_compute: float, k: float, by: str, chosen: tuple, _boot) -> cache.Outcome:
    """The ranked candidates of a 20x20 grid (one cached call per target and limit; ``target`` is
    the :class:`~scalecore.design.Target`'s fields, hashable). ``_boot`` is the fit refitted with
    the ``chosen`` runs, so the ranking says what to run next given them."""
    return cache.guard(design.rank_candidates, _boot, design.Target(*target), max_compute, grid=20, k=k, by=by)


@st.cache_resource(max_entries=64, show_spinner=False)
def hypothetical(data_key: str, family: str, metric: str, exclude: tuple, settings: tuple, target: tuple,
                 chosen: tuple, k: float, _boot) -> cache.Outcome:
    """The target's interval refitted with the chosen runs added at the fit's prediction."""
    return cache.guard(design.with_hypothetical, _boot, list(chosen), design.Target(*target), k=k)


def _number(label: str, key: str, default: str, help: str) -> float | None:
    text = st.text_input(label, value=default, key=key, help=help)
    value, error = analysis.parse_target(text)
    if error:
        st.error(error)
    return value


def _add_selected() -> None:
    """on_select of the chart: add each selected candidate to the chosen runs (again removes it)."""
    event = st.session_state.get(CHART) or {}
    points = (event.get("selection") or {}).get("points") or []
    chosen = list(st.session_state.get(CHOSEN, []))
    selected = []  # each candidate once: a box over a candidate also catches the marks drawn over it
    for p in points:
        data = p.get("customdata") or []
        if len(data) >= 3 and data[0] == "candidate" and (float(data[1]), float(data[2])) not in selected:
            selected.append((float(data[1]), float(data[2])))
    for run in selected:
        chosen.remove(run) if run in chosen else chosen.append(run)
    st.session_state[CHOSEN] = chosen


def render(ds, choices) -> None:
    runs = ds.runs
    if st.session_state.get(CHOSEN_FOR) != ds.key:  # chosen runs belong to one dataset
        st.session_state[CHOSEN_FOR] = ds.key
        st.session_state[CHOSEN] = []
    two_input = [f for f in choices.families if FAMILIES[f].is_two_input]
    if not two_input:
        st.info("What to run next places runs in model size N and tokens D: switch on a law in N and D "
                "(Chinchilla or Kaplan) on the Explore page.")
        return
    family = two_input[0] if len(two_input) == 1 else st.selectbox(
        "Law", two_input, format_func=lambda f: FAMILIES[f].label, key=FAMILY)
    results, errors = review.fits(ds, review.Choices(choices.axis, choices.metric, (family,), choices.target,
                                                     choices.settings))
    if family not in results:
        st.error(errors.get(family, "The fit is not available."))
        return
    boot = results[family]
    k = float(runs.flops_per_token_param)
    largest = float((k * boot.fit.problem.inputs["params"] * boot.fit.problem.inputs["tokens"]).max())

    left, right = st.columns(2)
    with left:
        kind = st.segmented_control("Target", list(TARGETS), default=list(TARGETS)[0], required=True, wrap=True, key=TARGET)
        quantity = TARGETS[kind or list(TARGETS)[0]]
        if quantity == "metric":
            c1, c2 = st.columns(2)
            with c1:
                n = _number("Planned model size N", PLANNED_N, "70B", "parameters, e.g. 70B")
            with c2:
                d = _number("Planned tokens D", PLANNED_D, "1.4T", "training tokens, e.g. 1.4T")
            target = design.Target.planned(n, d) if n and d else None
        else:
            c = _number("Compute budget (FLOPs)", BUDGET, format_value(next_decade([largest]) * 100, "flops"),
                        "the budget whose compute-optimal run is the target, e.g. 1e24")
            target = design.Target.optimum(c, quantity) if c else None
    with right:
        limit = _number("Compute limit per new run (FLOPs)", LIMIT, format_value(10 * largest, "flops"),
                        "the most one candidate run may cost; the grid spans the runs' smallest N and D up to it")
        by = st.segmented_control("Rank by", list(RANK_BY), default=list(RANK_BY)[0], required=True, wrap=True, key=BY,
                                  help="per FLOP: the most narrowing for the compute; shrink: the most narrowing "
                                       "within the limit, whatever it costs")
        by = RANK_BY[by or list(RANK_BY)[0]]
    if target is None or limit is None:
        return

    exclude = tuple(sorted(state.exclusions(ds.id, runs.run_ids)))
    key = (ds.key, family, choices.metric, exclude, choices.settings_key,
           (target.kind, target.compute, target.params, target.tokens))
    chosen = tuple(st.session_state.get(CHOSEN, []))
    after, base = None, boot
    if chosen:
        after = hypothetical(*key, chosen, k, boot)
        if after.ok:
            base = after.value.boot
    outcome = ranking(*key, float(limit), k, by, chosen if base is not boot else (), base)
    if not outcome.ok:
        st.error(outcome.error)
        return
    ranked = outcome.value
    top = ranked.top
    kind_fmt = target.format_kind

    now = after.value.before if after is not None and after.ok else ranked.before
    st.markdown(f"**{md(target.label)}** now: {format_estimate(now, kind=kind_fmt)}")
    st.caption(f"{ranked.interval_label}. Candidates ranked by the expected shrink of this interval"
               f"{' per FLOP' if by == 'shrink_per_flop' else ''}: "
               "a linear (ensemble Kalman) update of the bootstrap resamples on one more run, with the per-run "
               "noise the bootstrap saw (scalecore.design).")
    given = " given the chosen runs" if base is not boot else ""
    st.markdown(f"Top candidate{given}: **N = {format_value(top['params'], 'count', DIGITS)}, "
                f"D = {format_value(top['tokens'], 'count', DIGITS)}** ({format_value(top['compute'], 'flops', DIGITS)} "
                f"FLOPs): interval expected {format_value(top['shrink_fraction'], 'fraction', 2)} narrower.")

    from scalecore.plots import candidates_figure

    st.plotly_chart(candidates_figure(ranked, chosen), key=CHART, on_select=_add_selected,
                    selection_mode=("points", "box"), width="stretch")
    st.caption("Click a candidate (Shift+click for more, or Box in the toolbar) to add it as a hypothetical run; "
               "click it again to remove it.")

    b1, b2 = st.columns(2)
    if b1.button("Add the top candidate", key="next_add_top", disabled=(float(top["params"]), float(top["tokens"])) in chosen):
        st.session_state[CHOSEN] = list(chosen) + [(float(top["params"]), float(top["tokens"]))]
        st.rerun()
    if b2.button("Clear the chosen runs", key="next_clear", disabled=not chosen):
        st.session_state[CHOSEN] = []
        st.rerun()

    columns = {"params": "count", "tokens": "count", "compute": "flops", "low_after": kind_fmt,
               "high_after": kind_fmt, "shrink_fraction": "fraction", "shrink_per_flop": "plain"}
    shown = format_table(ranked.top_rows(10)[["rank", *columns]], columns, digits=DIGITS)
    st.dataframe(shown.rename(columns={"params": "N", "tokens": "D", "compute": "C (FLOPs)", "low_after": "low after",
                                       "high_after": "high after", "shrink_fraction": "shrink",
                                       "shrink_per_flop": "shrink per FLOP"}),
                 hide_index=True, key="next_table")

    if not chosen:
        return
    st.subheader(f"With the {len(chosen)} chosen run{'s' if len(chosen) != 1 else ''}")
    if not after.ok:
        st.error(after.error)
    else:
        h = after.value
        m1, m2, m3 = st.columns(3)
        m1.metric("Now", format_estimate(h.before, kind=kind_fmt))
        m2.metric("With the chosen runs", format_estimate(h.after, kind=kind_fmt))
        m3.metric("Interval narrower by", format_value(h.shrink_fraction, "fraction"))
        st.caption("Refitted and bootstrapped with the same settings, each chosen run observing the fit's "
                   "predicted metric (the expected result). The candidates above are ranked given these runs.")
    plan = ranked.plan(chosen)
    st.dataframe(format_table(plan, {"params": "count", "tokens": "count", "compute": "flops"})
                 .rename(columns={"params": "N", "tokens": "D", "compute": "C (FLOPs)"}), hide_index=True, key="next_plan")
    st.download_button("Download plan (CSV)", data=plan.to_csv(index=False), file_name="next_runs_plan.csv",
                       mime="text/csv", key="next_download", on_click="ignore")

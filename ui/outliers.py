"""One exclusion list, four ways to feed it: plot selection, table checkboxes, rules, suggestions.

Every change goes through :func:`ui.state.set_exclusions` (session state + URL), with a reason per
run; the page then refits at once (the fits are cached on the exclusion tuple).
"""

from __future__ import annotations

import hashlib
import math
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from scalecore import parse_number

from . import state
from .analysis import AXIS_SHORT
from .widgets import CHART_CONFIG, SELECTION, label

PLOT_REASON = "selected on the plot"


_DONE = "_selection_done"  # chart key -> the selection (run ids) already applied


def on_plot_select(chart_key: str, dataset_id: str, known_ids: frozenset) -> None:
    """Callback of a chart with ``on_select``: the selected runs flip between kept and excluded."""
    ids = [i for i in state.selected_run_ids(st.session_state.get(chart_key)) if i in known_ids]
    st.session_state.setdefault(_DONE, {})[chart_key] = tuple(ids)
    if ids:
        items = state.exclusions(dataset_id)
        state.set_exclusions(dataset_id, state.toggled(items, ids, PLOT_REASON))


def apply_pending_selection(chart_key: str, dataset_id: str, known_ids: frozenset) -> None:
    """After drawing a chart: apply a selection that no callback has applied yet, then rerun.

    In the browser the callback above runs first and this does nothing. A selection that arrives
    without a callback (a test setting the chart's state, as Streamlit's AppTest does) is applied here.
    """
    ids = tuple(i for i in state.selected_run_ids(st.session_state.get(chart_key)) if i in known_ids)
    done = st.session_state.setdefault(_DONE, {})
    if ids and done.get(chart_key) != ids:
        done[chart_key] = ids
        state.set_exclusions(dataset_id, state.toggled(state.exclusions(dataset_id), ids, PLOT_REASON))
        st.rerun()


def chart(fig, key: str, dataset, known_ids: frozenset, where=None) -> None:
    """A figure of the runs on which a click, box or lasso excludes the runs picked (or brings them
    back), with their reason; ``where``: a container (default: the page)."""
    (where or st).plotly_chart(fig, key=key, on_select=partial(on_plot_select, key, dataset.id, known_ids),
                               selection_mode=SELECTION, theme=None, config=CHART_CONFIG)
    apply_pending_selection(key, dataset.id, known_ids)


def _editor_key(items: dict) -> str:
    digest = hashlib.sha1(repr(sorted(items.items())).encode()).hexdigest()[:10]
    return f"runs_editor_{digest}"


def _on_table_edit(editor_key: str, dataset_id: str, row_ids: list[str]) -> None:
    edits = (st.session_state.get(editor_key) or {}).get("edited_rows", {})
    state.set_exclusions(dataset_id, state.table_edits(state.exclusions(dataset_id), edits, row_ids))


def runs_table(dataset, metric: str, items: dict, residuals: dict | None = None) -> None:
    """All runs with an "excluded" checkbox and an editable reason."""
    runs = dataset.runs
    frame = runs.frame
    ids = frame["run_id"].astype(str).tolist()
    table = pd.DataFrame({
        "excluded": [rid in items for rid in ids],
        "reason": [items.get(rid, "") for rid in ids],
        "run_id": ids,
        "group": frame["group"].astype(str).to_numpy(),
    })
    for role in ("params", "tokens", "compute"):
        if runs.has(role):
            table[AXIS_SHORT[role]] = frame[role].to_numpy()
    table[metric] = frame[metric].to_numpy()
    if residuals:
        for column, by_id in residuals.items():
            table[column] = [by_id.get(rid, np.nan) for rid in ids]
    key = _editor_key(items)
    config = {
        "excluded": st.column_config.CheckboxColumn("excluded", help="Tick to leave the run out of every fit"),
        "reason": st.column_config.TextColumn("reason", help="Why the run is excluded (kept in the link)"),
        **{AXIS_SHORT[r]: st.column_config.NumberColumn(AXIS_SHORT[r], format="%.3e") for r in ("params", "tokens", "compute")},
    }
    st.data_editor(table, key=key, hide_index=True, width="stretch", height=360, num_rows="fixed",
                   disabled=[c for c in table.columns if c not in ("excluded", "reason")], column_config=config,
                   on_change=_on_table_edit, args=(key, dataset.id, ids))


def _rule_below(dataset_id: str, runs, known: set) -> None:
    role = st.session_state.get("rule_role")
    text = st.session_state.get("rule_value", "")
    try:
        limit = parse_number(text)
    except ValueError:
        st.session_state["rule_error"] = f"“{text}” is not a number; write e.g. 1e8, 350M or 1e20."
        return
    if not (isinstance(limit, float) and math.isfinite(limit)):
        st.session_state["rule_error"] = "Type a limit first, e.g. 1e8 or 350M."
        return
    st.session_state["rule_error"] = None
    values = runs.values(role)
    hit = [rid for rid, v in zip(runs.run_ids, values) if np.isfinite(v) and v < limit]
    items = state.exclusions(dataset_id)
    for rid in hit:
        items.setdefault(str(rid), f"rule: {AXIS_SHORT[role]} < {limit:.3g}")
    state.set_exclusions(dataset_id, items)
    st.session_state["rule_note"] = f"Excluded {len(hit)} run(s) with {role} below {limit:.3g}."


def _rule_group(dataset_id: str, runs) -> None:
    group = st.session_state.get("rule_group")
    hit = runs.frame.loc[runs.frame["group"].astype(str) == str(group), "run_id"].astype(str).tolist()
    items = state.exclusions(dataset_id)
    for rid in hit:
        items.setdefault(rid, f"rule: group {group}")
    state.set_exclusions(dataset_id, items)
    st.session_state["rule_note"] = f"Excluded the {len(hit)} run(s) of group {group}."


def rules(dataset) -> None:
    runs = dataset.runs
    roles = [r for r in ("params", "tokens", "compute") if runs.has(r)]
    c1, c2, c3 = st.columns([2, 2, 2], vertical_alignment="bottom")
    c1.selectbox("Exclude runs with", roles, key="rule_role", format_func=lambda r: f"{r} ({AXIS_SHORT[r]}) below")
    c2.text_input("limit", key="rule_value", placeholder="e.g. 1e8, 350M, 1e20")
    c3.button("Exclude these runs", on_click=_rule_below, args=(dataset.id, runs, set()), width="stretch")
    groups = runs.groups()
    if len(groups) > 1:
        g1, g2 = st.columns([4, 2], vertical_alignment="bottom")
        g1.selectbox("Exclude every run of group", groups, key="rule_group")
        g2.button("Exclude the group", on_click=_rule_group, args=(dataset.id, runs), width="stretch")
    if st.session_state.get("rule_error"):
        st.error(st.session_state["rule_error"])
    elif st.session_state.get("rule_note"):
        st.caption(st.session_state.pop("rule_note"))


def _accept(dataset_id: str, suggestions: list[tuple[str, str]]) -> None:
    items = state.exclusions(dataset_id)
    for rid, reason in suggestions:
        items.setdefault(rid, f"suggested: {reason}")
    state.set_exclusions(dataset_id, items)


def suggestions(dataset, per_family: dict, threshold: float) -> None:
    """Runs flagged by :func:`scalecore.diagnostics.suggest_outliers`, accepted with one click."""
    rows, seen = [], {}
    for name, found in per_family.items():
        for s in found:
            if s.run_id in seen:
                seen[s.run_id]["families"] += f", {label(name)}"
                continue
            seen[s.run_id] = {"run_id": s.run_id, "robust z": round(s.score, 1), "why": s.reason,
                              "families": label(name)}
            rows.append(seen[s.run_id])
    if not rows:
        st.caption(f"No run has a robust residual z-score beyond ±{threshold:g} in the fitted families.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.button(f"Exclude the {len(rows)} suggested run(s)", type="primary", key="accept_suggestions",
              on_click=_accept, args=(dataset.id, [(r["run_id"], r["why"]) for r in rows]))


def _clear(dataset_id: str) -> None:
    state.set_exclusions(dataset_id, {})


def excluded_list(dataset, items: dict) -> None:
    if not items:
        st.caption("No run is excluded. " + "Click or lasso runs on the plot, tick them in the table, use a rule, "
                   "or accept suggestions.")
        return
    st.dataframe(pd.DataFrame({"run_id": list(items), "reason": list(items.values())}), hide_index=True,
                 width="stretch", height=min(36 + 35 * len(items), 250))
    st.button(f"Include all {len(items)} again", key="clear_exclusions", on_click=_clear, args=(dataset.id,))

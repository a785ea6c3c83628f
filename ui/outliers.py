"""One exclusion list, four ways to feed it: plot selection, table checkboxes, rules, suggestions;
and Explore's outlier section (:func:`panels`): excluded runs re-included one by one, rules on any
numeric column, suggestions picked run by run with a with/without comparison.

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

from scalecore import FAMILIES, ScaleCoreError, diagnostics, parse_number, suggest_outliers

from . import cache, state
from .analysis import AXIS_SHORT
from .widgets import CHART_CONFIG, SELECTION, keep_valid, label

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


RULE_SYMBOLS = {"above": ">", "below": "<"}


def _rule_name(column: str) -> str:
    """How a rule's column is written in its reason and its choices: N, D, C, D/N or the column."""
    if column == diagnostics.TOKENS_PER_PARAM:
        return "D/N"
    return AXIS_SHORT.get(column, column)


def _rule_label(column: str) -> str:
    if column == diagnostics.TOKENS_PER_PARAM:
        return "tokens per parameter (D/N)"
    if column in AXIS_SHORT:
        return f"{column} ({AXIS_SHORT[column]})"
    return column


def _apply_rule(dataset_id: str, runs) -> None:
    column = st.session_state.get("rule_role")
    direction = st.session_state.get("rule_dir") or "below"
    text = st.session_state.get("rule_value", "")
    try:
        limit = parse_number(text)
    except ValueError:
        st.session_state["rule_error"] = f"“{text}” is not a number; write e.g. 1e8, 350M, 2.5 or 1e20."
        return
    if not (isinstance(limit, float) and math.isfinite(limit)):
        st.session_state["rule_error"] = "Type a limit first, e.g. 1e8, 350M or 2.5."
        return
    try:
        hit = diagnostics.runs_beyond(runs, column, direction, limit)
    except ScaleCoreError as exc:
        st.session_state["rule_error"] = str(exc)
        return
    st.session_state["rule_error"] = None
    items = state.exclusions(dataset_id)
    reason = f"rule: {_rule_name(column)} {RULE_SYMBOLS[direction]} {limit:.3g}"
    for rid in hit:
        items.setdefault(str(rid), reason)
    state.set_exclusions(dataset_id, items)
    st.session_state["rule_note"] = f"Excluded {len(hit)} run(s) with {_rule_label(column)} {direction} {limit:.3g}."


def _rule_group(dataset_id: str, runs) -> None:
    group = st.session_state.get("rule_group")
    hit = runs.frame.loc[runs.frame["group"].astype(str) == str(group), "run_id"].astype(str).tolist()
    items = state.exclusions(dataset_id)
    for rid in hit:
        items.setdefault(rid, f"rule: group {group}")
    state.set_exclusions(dataset_id, items)
    st.session_state["rule_note"] = f"Excluded the {len(hit)} run(s) of group {group}."


def rules(dataset) -> None:
    """Exclude by rule: a metric, tokens per parameter, a size or any numeric column, above or below
    a limit (:func:`scalecore.diagnostics.runs_beyond`); or a whole group."""
    runs = dataset.runs
    columns = diagnostics.rule_columns(runs)
    keep_valid("rule_role", columns, "params" if "params" in columns else columns[0])
    c1, c2, c3, c4 = st.columns([2.4, 1.3, 1.8, 1.8], vertical_alignment="bottom")
    c1.selectbox("Exclude runs with", columns, key="rule_role", format_func=_rule_label)
    c2.segmented_control("", diagnostics.RULE_DIRECTIONS, wrap=True, key="rule_dir", default="below", required=True,
                         label_visibility="hidden")
    c3.text_input("limit", key="rule_value", placeholder="e.g. 1e8, 350M, 2.5")
    c4.button("Exclude these runs", on_click=_apply_rule, args=(dataset.id, runs), width="stretch")
    groups = runs.groups()
    if len(groups) > 1:
        g1, g2 = st.columns([4, 2], vertical_alignment="bottom")
        g1.selectbox("Exclude every run of group", groups, key="rule_group")
        g2.button("Exclude the group", on_click=_rule_group, args=(dataset.id, runs), width="stretch")
    if st.session_state.get("rule_error"):
        st.error(st.session_state["rule_error"])
    elif st.session_state.get("rule_note"):
        st.caption(st.session_state.pop("rule_note"))


# ------------------------------------------------------------------------------ suggestions

_ROUNDS = "_outlier_rounds"  # {"dataset": id, "rounds": n, "offered": run ids suggested at the last acceptance}
SUGGEST_EDITOR = "suggest_editor"
PICK = "exclude"


def rounds(dataset_id: str) -> dict:
    """How many times suggestions were accepted for this dataset in this session, and what was offered then."""
    r = st.session_state.get(_ROUNDS)
    if not r or r.get("dataset") != dataset_id:
        r = {"dataset": dataset_id, "rounds": 0, "offered": ()}
        st.session_state[_ROUNDS] = r
    return r


def suggestion_rows(per_family: dict, runs, metric: str) -> pd.DataFrame:
    """One row per suggested run (first family first): run id, N, D, the metric, predicted,
    residual (actual − predicted), robust z, why, families."""
    rows, seen = [], {}
    has = {r: runs.has(r) for r in ("params", "tokens")}
    by_id = runs.frame.set_index(runs.frame["run_id"].astype(str))
    for name, found in per_family.items():
        for s in found:
            if s.run_id in seen:
                seen[s.run_id]["families"] += f", {label(name)}"
                continue
            row = {PICK: True, "run_id": s.run_id}
            for role in ("params", "tokens"):
                if has[role]:
                    row[AXIS_SHORT[role]] = float(by_id.loc[s.run_id, role])
            row[metric] = s.actual
            row["predicted"] = s.predicted
            row["residual"] = s.residual
            row["robust z"] = s.score
            row["why"] = s.reason
            row["families"] = label(name)
            seen[s.run_id] = row
            rows.append(row)
    return pd.DataFrame(rows)


def _ids_key(prefix: str, ids) -> str:
    """An editor's key for these rows: edits (by row number) never carry over to other rows."""
    return f"{prefix}_{hashlib.sha1(repr(list(ids)).encode()).hexdigest()[:10]}"


def selected_suggestions(table: pd.DataFrame) -> list[str]:
    """The run ids ticked in the suggestions editor (its edits applied to ``table``'s defaults)."""
    picks = table[PICK].tolist() if len(table) else []
    key = _ids_key(SUGGEST_EDITOR, table["run_id"]) if len(table) else SUGGEST_EDITOR
    edits = (st.session_state.get(key) or {}).get("edited_rows", {})
    for row, change in edits.items():
        i = int(row)
        if 0 <= i < len(picks) and PICK in change:
            picks[i] = bool(change[PICK])
    return [rid for rid, keep in zip(table["run_id"], picks) if keep]


def _accept_selected(dataset_id: str, table: pd.DataFrame) -> None:
    chosen = set(selected_suggestions(table))
    items = state.exclusions(dataset_id)
    for rid, why in zip(table["run_id"], table["why"]):
        if rid in chosen:
            items.setdefault(rid, f"suggested: {why}")
    state.set_exclusions(dataset_id, items)
    r = rounds(dataset_id)
    if chosen:
        r["rounds"] += 1
        r["offered"] = tuple(table["run_id"])
    st.session_state.pop(_ids_key(SUGGEST_EDITOR, table["run_id"]), None)


def suggestions(dataset, per_family: dict, threshold: float, metric: str, residual_header: str) -> list[str]:
    """Runs flagged by :func:`scalecore.diagnostics.suggest_outliers`, each with N, D, the metric,
    the prediction, the residual and its robust z, picked one by one and excluded together.
    Returns the run ids ticked (what the with/without comparison shows)."""
    runs = dataset.runs
    table = suggestion_rows(per_family, runs, metric)
    r = rounds(dataset.id)
    if not len(table):
        st.caption(f"No run has a robust residual z-score beyond ±{threshold:g} in the fitted families."
                   + (f" Suggestions accepted in {r['rounds']} round(s) so far." if r["rounds"] else ""))
        return []
    new = [rid for rid in table["run_id"] if rid not in r["offered"]]
    if r["rounds"] and new:
        st.warning(f"{len(new)} more run{'s' if len(new) != 1 else ''} now stand{'s' if len(new) == 1 else ''} out, "
                   f"after {r['rounds']} round{'s' if r['rounds'] != 1 else ''} of excluding suggested runs: removing "
                   "runs one round after another can remove real data (each removal narrows the spread the next "
                   "z-score is measured against). Li et al. (2025, “(Mis)Fitting: A survey of scaling laws”, "
                   "arXiv:2502.18969) show that such fitting choices can change a law's conclusions; check these "
                   "runs before you exclude them, and keep the reason of each.",
                   icon=":material/warning:")
    elif r["rounds"]:
        st.caption(f"Suggestions accepted in {r['rounds']} round(s) so far.")
    short = {AXIS_SHORT[x] for x in ("params", "tokens")}
    config = {
        PICK: st.column_config.CheckboxColumn("exclude", help="Tick the runs to exclude, then press the button below"),
        **{c: st.column_config.NumberColumn(c, format="compact") for c in short if c in table.columns},
        metric: st.column_config.NumberColumn(metric, format="%.4g"),
        "predicted": st.column_config.NumberColumn("predicted", format="%.4g"),
        "residual": st.column_config.NumberColumn(residual_header, format="%+.3g"),
        "robust z": st.column_config.NumberColumn("robust z", format="%+.1f"),
    }
    st.data_editor(table, key=_ids_key(SUGGEST_EDITOR, table["run_id"]), hide_index=True, width="stretch", num_rows="fixed",
                   disabled=[c for c in table.columns if c != PICK], column_config=config)
    chosen = selected_suggestions(table)
    st.button(f"Exclude the {len(chosen)} selected run(s)", type="primary", key="accept_suggestions",
              disabled=not chosen, on_click=_accept_selected, args=(dataset.id, table))
    return chosen


def with_without_view(dataset, families, chosen: list[str], items: dict, call: dict, axis: str, target, k: float,
                      metric: str) -> None:
    """Each family's parameters and prediction at the target with and without the ticked runs,
    side by side (:func:`scalecore.diagnostics.with_without`; both fits are cached, and the fit
    without every suggested run was fitted ahead)."""
    if not chosen:
        return
    if not st.toggle(f"Compare the fit with and without the {len(chosen)} selected run(s)", key="outlier_compare"):
        return
    without = {**call, "exclude": tuple(sorted(set(items) | set(chosen)))}
    kind = "loss" if all(FAMILIES[f].space == "log" for f in families) else "plain"
    cols = st.columns(min(len(families), 2) or 1)
    for i, f in enumerate(families):
        a = cache.fit(family=f, axis=cache.fit_axis(f, axis), **call)
        b = cache.fit(family=f, axis=cache.fit_axis(f, axis), **without)
        with cols[i % len(cols)]:
            st.markdown(f"**{label(f)}**")
            if not (a.ok and b.ok):
                st.caption(f"Cannot compare: {a.error if not a.ok else b.error}")
                continue
            at_a = at_b = None
            if target is not None:
                ta = cache.at_target(family=f, axis=axis, target=target, k=k, **call)
                tb = cache.at_target(family=f, axis=axis, target=target, k=k, **without)
                if ta.ok and tb.ok:
                    at_a, at_b = ta.value, tb.value
            table = diagnostics.with_without(a.value, b.value, at_a, at_b, kind=kind)
            st.dataframe(table[["quantity", "with the runs", "without them", "change"]], hide_index=True,
                         width="stretch", key=f"with_without_{f}")
    st.caption("Value [low, high]: the best fit and its bootstrap percentile interval (the level set above); "
               "change: the relative change of the value without the runs.")


# ------------------------------------------------------------------------------ excluded runs

REINCLUDE_EDITOR = "reinclude_editor"


def _clear(dataset_id: str) -> None:
    state.set_exclusions(dataset_id, {})
    r = rounds(dataset_id)
    r["rounds"], r["offered"] = 0, ()


def ticked_to_reinclude(ids: list[str]) -> list[str]:
    """The excluded runs ticked for re-inclusion in the excluded list's editor."""
    edits = (st.session_state.get(_ids_key(REINCLUDE_EDITOR, ids)) or {}).get("edited_rows", {})
    out = []
    for row, change in edits.items():
        i = int(row)
        if 0 <= i < len(ids) and change.get("re-include"):
            out.append(ids[i])
    return out


def _reinclude(dataset_id: str, ids: list[str]) -> None:
    back = set(ticked_to_reinclude(ids))
    items = {rid: why for rid, why in state.exclusions(dataset_id).items() if rid not in back}
    state.set_exclusions(dataset_id, items)
    st.session_state.pop(_ids_key(REINCLUDE_EDITOR, ids), None)


def excluded_list(dataset, items: dict, residuals: pd.DataFrame | None = None, residual_header: str = "residual",
                  metric: str | None = None) -> None:
    """The excluded runs with their reasons and, from ``residuals``
    (:func:`scalecore.diagnostics.run_residuals` of the first family), N, D, the metric and the
    residual against the fit made without them; tick runs to bring them back one by one."""
    if not items:
        st.caption("No run is excluded. " + "Click or lasso runs on the plot, tick them in the table, use a rule, "
                   "or accept suggestions.")
        return
    ids = list(items)
    table = pd.DataFrame({"re-include": [False] * len(ids), "run_id": ids, "reason": list(items.values())})
    config = {"re-include": st.column_config.CheckboxColumn("re-include", help="Tick, then press “Re-include”")}
    if residuals is not None and len(residuals):
        by_id = residuals.set_index("run_id")
        for col, short in (("params", "N"), ("tokens", "D")):
            if col in by_id.columns:
                table[short] = [by_id[col].get(r, np.nan) for r in ids]
                config[short] = st.column_config.NumberColumn(short, format="compact")
        if metric:
            table[metric] = [by_id["actual"].get(r, np.nan) for r in ids]
            config[metric] = st.column_config.NumberColumn(metric, format="%.4g")
        table["predicted"] = [by_id["predicted"].get(r, np.nan) for r in ids]
        table["residual"] = [by_id["residual"].get(r, np.nan) for r in ids]
        config["predicted"] = st.column_config.NumberColumn("predicted (fit without it)", format="%.4g")
        config["residual"] = st.column_config.NumberColumn(residual_header, format="%+.3g")
    st.data_editor(table, key=_ids_key(REINCLUDE_EDITOR, ids), hide_index=True, width="stretch", num_rows="fixed",
                   height=min(40 + 35 * len(items), 320), disabled=[c for c in table.columns if c != "re-include"],
                   column_config=config)
    ticked = ticked_to_reinclude(ids)
    c1, c2, _ = st.columns([1.4, 1.4, 3])
    c1.button(f"Re-include {len(ticked)} ticked run(s)" if ticked else "Re-include ticked runs", key="reinclude",
              disabled=not ticked, on_click=_reinclude, args=(dataset.id, ids), width="stretch")
    c2.button(f"Include all {len(items)} again", key="clear_exclusions", on_click=_clear, args=(dataset.id,),
              width="stretch")
    st.caption("Predicted and residual: against the fit made without the excluded runs (the first family shown).")


# ------------------------------------------------------------------------------ the panel


def panels(ds, metric: str, boots: dict, items: dict, *, call: dict, axis: str, target, k: float, threshold: float,
           tabs_fn) -> set[str]:
    """Explore's outlier section: the excluded runs, all runs, rules and suggestions, in lazy tabs
    (``tabs_fn``); returns the runs suggested as outliers."""
    st.subheader("Outliers")
    runs = ds.runs
    first = next(iter(boots.values()), None)
    header = diagnostics.residual_header(first.family) if first is not None else "residual"
    residual_tables = {f: diagnostics.run_residuals(b.fit, runs) for f, b in list(boots.items())[:2]}
    found = {f: suggest_outliers(b.fit, threshold) for f, b in boots.items()}
    suggested = {str(s.run_id) for v in found.values() for s in v}
    r = rounds(ds.id)
    st.caption(f"{len(items)} run(s) excluded; {len(suggested)} suggested as outliers"
               + (f"; suggestions accepted in {r['rounds']} round(s) so far." if r["rounds"] else "."))
    tabs = tabs_fn(["Excluded", "All runs", "Rules", "Suggestions"], "outlier_tab")
    if tabs[0].open:
        with tabs[0]:
            excluded_list(ds, items, next(iter(residual_tables.values()), None), header, metric)
    if tabs[1].open:
        with tabs[1]:
            residuals = {f"{header} ({label(f)})": dict(zip(t["run_id"], np.round(t["residual"].to_numpy(), 4)))
                         for f, t in residual_tables.items()}
            runs_table(ds, metric, items, residuals)
    if tabs[2].open:
        with tabs[2]:
            rules(ds)
    if tabs[3].open:
        with tabs[3]:
            st.caption(f"Runs whose residual ({header}) is far from the others' (robust z = (r − median) / "
                       f"(1.4826·MAD), |z| ≥ {threshold}) in any fitted family; diverged runs show up here. "
                       "Tick the ones to exclude.")
            chosen = suggestions(ds, found, threshold, metric, header)
            with_without_view(ds, list(boots), chosen, items, call, axis, target, k, metric)
    return suggested

"""Review: save what Explore shows, reopen saved analyses by link, rename, delete, download the report.

A link ``/review?analysis=<id>`` opens a saved analysis in any browser: it is refitted from the
data bytes stored with it, with its settings and seed, so the numbers are the ones that were saved
(checked against the saved summary on screen).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scalecore import FAMILIES, DataError, formatting, report, store
from ui import WARNING_ICON, analysis, data_source, md, md_message, run_page, state
from ui import review as rv
from ui.widgets import estimate_text, label

OPEN = "analysis"  # query parameter of an opened analysis
_SAVED = "review_last_saved"


def when(stamp: str) -> str:
    return stamp[:16].replace("T", " ") + " UTC" if stamp else ""


@st.cache_resource(max_entries=16, show_spinner=False)
def refit(key: tuple, _a: store.Analysis):
    """(runs, results, errors) of a saved analysis, refitted from its stored bytes."""
    runs = _a.runs()
    results, errors = store.reproduce(_a, runs)
    return runs, results, errors


def refit_key(a: store.Analysis) -> tuple:
    return (tuple(f.sha256 for f in a.files), a.families, tuple(sorted(a.settings.to_dict().items(), key=str)),
            tuple(a.exclusions), tuple(sorted(a.mapping.items(), key=str)))


def main() -> None:
    st.title("Review: save, share, report")
    opened = st.query_params.get(OPEN)
    if opened:
        show_opened(opened)
        st.divider()
    save_panel()
    st.divider()
    saved_list(opened)


# ------------------------------------------------------------------------------ an opened analysis


def show_opened(aid: str) -> None:
    try:
        a = store.load(aid)
    except DataError as exc:
        st.error(str(exc))
        if st.button("Close", key="close_broken"):
            _close()
        return
    if rv.adopt_saved_dataset(a):
        st.rerun()  # the sidebar is drawn before the page: draw it again with the saved dataset
    rv.dataset_note(a)
    with st.spinner("Refitting from the saved data…"):
        runs, results, errors = refit(refit_key(a), a)
    head, actions = st.columns([3, 1.4])
    head.subheader(md(a.title))
    head.caption(f"Saved {when(a.created)}" + (f", updated {when(a.updated)}" if a.updated != a.created else "")
                 + f" · dataset {a.dataset} · scalecore {a.version} · id `{a.id}`")
    if a.note.strip():
        head.markdown(_quote(a.note))
    joint, joint_error = (refit_joint(refit_key(a) + (repr(a.comparison),), a, runs)
                          if report.joint_shared(a) is not None else (None, None))
    with actions:
        rv.report_download(a, results, errors, runs, key="dl_opened_report", label="Download the report",
                           joint=joint, width="stretch", type="primary")
        st.link_button("Open in Explore", rv.explore_url(a), width="stretch", icon=":material/travel_explore:",
                       help="Opens the saved data, exclusions, families and settings on the Explore page "
                            "(in a new tab) to keep working on them.")
        if st.button("Close", key="close_opened", width="stretch"):
            _close()
    st.code(rv.share_url(a.id), language=None)
    st.caption("Anyone who can reach this server opens exactly this analysis with the link above.")

    same = store.summarize(results) == a.summary if a.summary else None
    if same:
        st.success("Refitted from the saved data with the saved settings and seed: every number equals the "
                   "one saved.", icon=":material/check_circle:")
    elif same is None:
        st.caption("Saved without a summary of its results: the numbers below are refitted from its data.")
    elif same is False:
        st.warning(f"Refitted numbers differ from the ones saved (saved with scalecore {a.version}); the table "
                   "shows the refit, the saved values are in the report's record.", icon=WARNING_ICON)
    for f, message in errors.items():
        st.error(f"{label(f)}: {md_message(message)}")

    s = a.settings
    items = [f"x: **{s.x}**", f"metric: **{s.metric or runs.default_metric}**",
             f"{s.n_resamples} {s.method} resamples", f"{s.confidence_level:.0%} intervals", f"seed {s.seed}",
             f"Huber δ {s.delta:g}"]
    if s.target is not None:
        items.append(f"target {formatting.scale_text(s.target, s.x)}")
    st.markdown(" · ".join(items))
    st.caption(runs.summary())
    current = data_source.current()
    if current is None or current.label.split("  (")[0] != a.dataset:
        st.caption(f"This analysis carries its own copy of its data ({md(a.dataset)}); the dataset in the sidebar "
                   "is not used here.")

    cols = st.columns(min(max(len(results), 1), 3))
    for i, (f, boot) in enumerate(results.items()):
        with cols[i % len(cols)]:
            st.markdown(f"**{label(f)}**" + (f" against {boot.fit.x}" if boot.fit.x else " in N and D"))
            st.latex(FAMILIES[f].formula)
            rows = analysis.parameter_rows(boot)
            # a static table: the numbers are in the page itself (copyable, printable, readable by tests)
            st.table(rows[["parameter", "value", "low", "high", "std. error"]], hide_index=True, border="horizontal")
            st.caption(f"{boot.interval_label}. {boot.fit.n_points} runs fitted, {boot.fit.n_excluded} excluded.")
    if s.target is not None and results:
        estimates = {f: report.target_estimate(b, s.x or "compute", s.target, runs.flops_per_token_param)
                     for f, b in results.items()}
        estimates = {f: est for f, est in estimates.items() if est is not None}
        if estimates:
            cols = st.columns(min(len(estimates), 4))
            for i, (f, est) in enumerate(estimates.items()):
                cols[i % len(cols)].metric(f"{label(f)} at {s.x or 'compute'} {formatting.scale_text(s.target, s.x)}",
                                           estimate_text(est),
                                           help=results[f].interval_label)
    opened_sections(a, runs, results)
    for i, fig in enumerate(report.analysis_figures(a, runs, results)):
        st.plotly_chart(fig, key=f"opened_fig_{i}", theme=None, config={"displaylogo": False})
    if a.exclusions:
        st.markdown("**Excluded runs**")
        st.dataframe(pd.DataFrame([{"run": r, "reason": why or "—"} for r, why in a.exclusions.items()]),
                     hide_index=True, width="stretch", key="opened_exclusions")
    show_checklist(a, runs, results)
    if a.scenarios:
        st.markdown("**Budget scenarios**")
        answers, inputs = report.scenarios_side_by_side(a.scenarios)
        st.table(answers, border="horizontal")
        intervals = sorted({str(sc.get("interval")) for sc in a.scenarios if sc.get("interval")})
        if intervals:
            st.caption("Value [low, high]; intervals: " + md("; ".join(intervals)) + ".")
        with st.expander("What each scenario was computed from"):
            st.table(inputs, border="horizontal")
    if joint is not None or joint_error is not None:
        joint_panel(a, joint, joint_error)
    extras = []
    if a.comparison:
        extras.append(f"a comparison by {md(a.comparison.get('by'))}")
    if extras:
        st.caption(f"Also saved: {', '.join(extras)} — in the report.")


@st.cache_resource(max_entries=16, show_spinner=False)
def refit_joint(key: tuple, _a: store.Analysis, _runs):
    """(JointFit, None) or (None, message): the saved comparison's joint fit, refitted from its data."""
    return report.run_joint(_a, _runs)


def joint_panel(a: store.Analysis, jf, error: str | None) -> None:
    """The saved joint fit of the groups, as the report's section (report.joint_rows): the shared
    values with intervals, the difference test in one sentence, P(better) and the multiplier per pair."""
    st.markdown("**Joint fit of the groups**")
    if error is not None:
        st.error(f"The joint fit could not be made: {md_message(error)}")
        return
    at = (a.comparison or {}).get("at")
    at = jf.target(float(at) if at else None)
    shared, pairs = report.joint_rows(jf, at)
    st.caption(md(f"{label(jf.family.name)} fitted to the groups of `{jf.by}` ({', '.join(jf.groups)}) at once, "
                  f"sharing {', '.join(jf.shared) or 'nothing'}. {jf.interval_label}."))
    if shared:
        st.table(pd.DataFrame([{"shared": r["parameter"], "value": estimate_text(r["estimate"])} for r in shared]),
                 hide_index=True, border="horizontal")
    if jf.test is not None:
        text = jf.test.text()
        st.markdown(md(text[0].upper() + text[1:] + "."))
    st.table(pd.DataFrame([{"pair": r["pair"], "P(better)": formatting.format_value(r["p_better"], digits=3),
                            "multiplier": estimate_text(r["multiplier"]) + "×" if r["multiplier"] is not None
                            else "not reached"} for r in pairs]), hide_index=True, border="horizontal")
    for r in pairs:
        st.markdown(f"- {md(r['better_text'])}\n- {md(r['multiplier_text'][0].upper() + r['multiplier_text'][1:])}")
    st.caption(f"Read at {jf.axis} = {formatting.scale_text(at, jf.axis)}. P(better): the share of joint resamples in "
               "which the first group of the pair predicts the better metric there.")


def opened_sections(a: store.Analysis, runs, results) -> None:
    """The report's sections on the page: fit quality with ΔAIC, the compute-optimal allocation
    (N*, D*) and the figures of the residuals and of N* and D* against compute; the same tables as
    the report (scalecore.report)."""
    if not results:
        return
    rows, note, misfit = report.fit_quality_rows(results)
    st.markdown("**Fit quality**")
    st.table(pd.DataFrame([{k: v for k, v in r.items() if k != "raw"} for r in rows]), hide_index=True,
             border="horizontal")
    st.caption("RMSE of the log residuals; AIC and BIC from the residuals (lower is better); ΔAIC: AIC minus the "
               "lowest; Akaike weight: exp(−ΔAIC/2), normalised." + (f" {md(note)}" if note else ""))
    if misfit:
        st.caption(f"ΔAIC above 10: {', '.join(misfit)} fit these runs far worse than the best law; read their "
                   "parameter intervals loosely.")
    alloc = report.allocation_rows(a, runs, results)
    if alloc:
        k = runs.flops_per_token_param
        st.markdown(f"**Compute-optimal allocation** (C = {k:g}·N·D)")
        st.table(pd.DataFrame(alloc), hide_index=True, border="horizontal")
        fig = report.compute_optimal_figure(results, runs, k, a.settings.target if a.settings.x == "compute" else None)
        if fig is not None:
            st.plotly_chart(fig, key="opened_optimum_fig", theme=None, config={"displaylogo": False})
    fig = report.residual_figure(a, runs, results)
    if fig is not None:
        st.plotly_chart(fig, key="opened_residual_fig", theme=None, config={"displaylogo": False})


def show_checklist(a: store.Analysis, runs, results) -> None:
    """The Li et al. (2025) checklist saved with the analysis (filled in from the refit if it has none)."""
    items = rv.checklist_items(a, runs, results)
    with st.expander("Reporting checklist (Li et al. 2025)" + ("" if a.checklist else " — filled in from the refit")):
        st.table(pd.DataFrame(list(items), columns=["item", "value"]), hide_index=True, border="horizontal")


def _quote(text: str) -> str:
    """A note shown as a quote, line breaks kept, as plain text."""
    return "  \n".join("> " + md(line) if i == 0 else md(line) for i, line in enumerate(text.splitlines()))


def _close() -> None:
    if OPEN in st.query_params:
        del st.query_params[OPEN]
    st.rerun()


# ------------------------------------------------------------------------------ saving


def save_panel() -> None:
    st.subheader("Save the current analysis")
    ds = data_source.current()
    if ds is None:
        st.info("Load a dataset in the sidebar and fit it on the Explore page; then save it here.")
        return
    choices = rv.explore_choices(ds.runs)
    items = state.exclusions(ds.id, ds.runs.run_ids)
    s = choices.settings
    fams = ", ".join(label(f) for f in choices.families) or "none"
    target = f", target {formatting.scale_text(choices.target, choices.axis)}" if choices.target is not None else ""
    st.markdown(f"What Explore shows now: **{md(ds.label.split('  (')[0])}** · families **{fams}** against "
                f"**{choices.axis}** · metric **{md(choices.metric)}** · {len(items)} excluded run"
                f"{'s' if len(items) != 1 else ''} · {s.n_resamples} {s.method} resamples, "
                f"{s.confidence_level:.0%} intervals, seed {s.seed}{target}")
    scen = len(st.session_state.get(rv.SCENARIOS, []))
    spec = rv.comparison_spec(ds)
    if scen or spec:
        st.caption("Also saved: " + ", ".join(
            ([f"{scen} budget scenario{'s' if scen != 1 else ''}"] if scen else [])
            + ([f"the comparison by {md(spec.get('by'))}"] if spec else [])))
    with st.form("save_form", clear_on_submit=False, border=True):
        title = st.text_input("Title", value=rv.default_title(ds, choices), max_chars=store.MAX_TITLE, key="save_title")
        note = st.text_area("Note", placeholder="What was decided, what was asked, what to check next…",
                            key="save_note", height=90)
        submitted = st.form_submit_button("Save analysis", type="primary", icon=":material/save:", key="save_submit")
    if submitted:
        if not choices.families:
            st.error("Pick at least one fit family on the Explore page before saving.")
            return
        with st.spinner("Fitting (cached) and saving…"):
            results, errors = rv.fits(ds, choices)
            a = rv.current_analysis(ds, choices, title=title, note=note, results=results)
            aid = store.save(a)
        st.session_state[_SAVED] = aid
        st.session_state["saved_choice"] = aid
        for f, message in errors.items():
            st.warning(f"{label(f)} could not be fitted and is saved without results: {md_message(message)}")
    last = st.session_state.get(_SAVED)
    if last:
        st.success(f"Saved as `{last}`. Share this link:", icon=":material/check_circle:")
        st.code(rv.share_url(last), language=None)
        st.page_link("views/review.py", label="Open it here", query_params={OPEN: last}, icon=":material/link:")
    rv.report_button(ds, key="dl_current_report", label="Download the report of the current analysis",
                     title=title if submitted else "", note=note if submitted else "")


# ------------------------------------------------------------------------------ the list


def saved_list(opened: str | None) -> None:
    st.subheader("Saved analyses")
    listing = store.list_analyses()
    st.caption(f"Stored in `{store.default_path()}` (set {store.ENV_VAR} to use another database).")
    if not listing:
        st.info("Nothing saved yet.")
        return
    frame = pd.DataFrame([{
        "title": item.title, "saved": when(item.updated), "dataset": item.dataset,
        "families": ", ".join(label(f) for f in item.families), "id": item.id,
        "status": "damaged" if item.damaged else "",
    } for item in listing])
    st.dataframe(frame, hide_index=True, width="stretch", key="saved_table",
                 column_config={"status": st.column_config.TextColumn(width="small")})
    ids = [item.id for item in listing]
    titles = {item.id: item for item in listing}
    default = ids.index(opened) if opened in ids else 0
    choice = st.selectbox("Analysis", ids, index=default, key="saved_choice",
                          format_func=lambda i: f"{titles[i].title} — {when(titles[i].updated)} ({i})")
    item = titles[choice]
    if item.damaged:
        st.warning("This record is damaged and cannot be opened; it can still be renamed or deleted.")
    c1, c2, c3 = st.columns([1, 2, 1.2])
    with c1:
        if st.button("Open", key="open_saved", type="primary", width="stretch", disabled=item.damaged):
            st.query_params[OPEN] = choice
            st.rerun()
    with c2:
        st.code(rv.share_url(choice), language=None)
    with c3:
        with st.popover("Rename or delete", width="stretch"):
            new = st.text_input("New title", value=item.title, key=f"rename_{choice}", max_chars=store.MAX_TITLE)
            if st.button("Rename", key="rename_saved"):
                store.rename(choice, new)
                st.rerun()
            st.divider()
            sure = st.checkbox("Yes, delete it for everyone", key=f"sure_{choice}")
            if st.button("Delete", key="delete_saved", disabled=not sure):
                store.delete(choice)
                if st.query_params.get(OPEN) == choice:
                    del st.query_params[OPEN]
                st.rerun()


run_page(main)

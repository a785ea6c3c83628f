"""IsoFLOP & curves: Chinchilla's Approach 2 (IsoFLOP profiles) on the sidebar dataset, with
Approach 3 (the chinchilla family) beside it, and Approach 1 (the lower envelope of training
curves) on a long-format curves file. Widgets -> cached calls into scalecore -> figures and tables;
every setting is in the URL, exclusions carry reasons like Explore's.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from scalecore import compare_with_approach3, formatting, plots
from ui import data_source, export, md_message, outliers, run_page, show_warnings, state
from ui import isoflop as glue
from ui.outliers import chart
from ui.widgets import CHART_CONFIG, LEVELS, SELECTION, URL, estimate_text, json_text, keep_valid, number_box
from ui.widgets import card_slots, estimate_card as card

VIEWS = ("IsoFLOP profiles", "Loss curves")
RESAMPLES = (200, 500, 1000, 2000)
GRIDS = (100, 200, 400, 800)


def bootstrap_settings(container, methods: tuple[str, ...] | None = None):
    """Resamples, level and seed (shared by both views, in the URL); the resampling unit if given."""
    with container.expander("Bootstrap settings"):
        c1, c2, c3 = st.columns(3)
        n = c1.select_slider("Bootstrap resamples", RESAMPLES, value=1000, key="f_n", **URL)
        cl = c2.select_slider("Confidence level", LEVELS, value=0.95, key="f_cl", **URL)
        seed = c3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="f_seed", **URL)
        method = None
        if methods:
            method = st.segmented_control("Resample", methods, default=methods[0], required=True, wrap=True, key="f_method",
                                          help="runs: runs within each budget, with replacement; budgets: whole "
                                               "budgets with replacement (budget-to-budget scatter).", **URL)
    return int(n), float(cl), int(seed), method or (methods[0] if methods else None)


def main() -> None:
    st.title("IsoFLOP & curves")
    st.caption("Hoffmann et al. (2022) found the compute-optimal model size three ways. **Approach 2**: for each "
               "compute budget, a parabola of loss against log N and its minimum. **Approach 1**: the lower "
               "envelope of training curves against compute. **Approach 3** is the chinchilla family on Explore; "
               "it is shown beside Approach 2 here, on the same runs.")
    view = st.segmented_control("Method", VIEWS, default=VIEWS[0], required=True, wrap=True, key="f_view", **URL)
    if view == VIEWS[1]:
        curves_view()
    else:
        isoflop_view()
    st.page_link("views/explore.py", label="Explore: fit laws to the same runs (Approach 3 and more)", icon=":material/query_stats:")


# ------------------------------------------------------------------------------ Approach 2


def isoflop_view() -> None:
    ds = data_source.current()
    if ds is None:
        st.info("Load a dataset of IsoFLOP sweeps in the sidebar (e.g. chinchilla_like.csv or isoflop_offcentre.csv).")
        return
    runs = ds.runs
    # three columns and the switches in a wrapping row under them: a fourth column of switches was 65 px
    # wide at 1024 px ("Robust …", "Use unb…")
    c1, c2, c3 = st.columns(3)
    choices = glue.budget_choices(runs)
    groupings = glue.group_choices(runs)
    keep_valid("f_metric", list(runs.metrics), runs.default_metric)
    keep_valid("f_budgets", choices, "auto")
    default_by = glue.default_grouping(runs)
    if st.session_state.get("_iso_by_for") != ds.id:  # a new dataset: its own default (the link's on a first load)
        if st.session_state.get("_iso_by_for") is not None or "f_by" not in st.query_params:
            st.session_state["f_by"] = default_by
        st.session_state["_iso_by_for"] = ds.id
    keep_valid("f_by", groupings, default_by)
    metric = c1.selectbox("Metric", runs.metrics, key="f_metric", **URL)
    by = c1.selectbox("Analyse", groupings, key="f_by",
                      format_func=lambda v: v if v == glue.POOLED else f"one per {v}",
                      help="One IsoFLOP analysis per group (configuration), side by side; or every run in one "
                           "frontier (pooled: configurations differ in their optimum, so this is said).", **URL)
    budgets = c2.selectbox("Budgets from", choices, key="f_budgets",
                           format_func=lambda v: "the run names (6e+19 in each)" if v == "run_id" else v,
                           help="auto: runs are grouped by gaps in compute C, with a tolerance chosen from the data "
                                "(or the one below); a column whose values name each run's budget; or the run "
                                "names, when each has its budget written in it (isoflop-6e+19-d512-L8).", **URL)
    tolerance = number_box(c2, "Budget tolerance (auto if empty)", "f_tol", "", placeholder="e.g. 0.05 = 5%",
                           noun="tolerance",
                           help="Neighbouring runs (sorted by C) whose compute differs by more than this fraction "
                                "start a new budget. Empty: chosen from the gaps in the data (said under the cards).")
    target = number_box(c3, "N* and D* at compute C =", "f_target", "1e24", placeholder="e.g. 1e24")
    with st.container(horizontal=True, wrap=True, gap="medium"):
        robust = st.toggle("Robust parabolas (Huber)", value=True, key="f_robust", **URL,
                           help="Huber IRLS with a MAD scale: a diverged run barely moves its budget's minimum.")
        unbracketed = st.toggle("Use unbracketed budgets", value=False, key="f_unbr", **URL,
                                help="Keep budgets whose minimum lies at the edge of or outside their sweep "
                                     "(an extrapolated minimum) in the frontier fit.")
        show3 = st.toggle("Approach 3 beside it", value=True, key="f_a3", **URL)
    n, cl, seed, method = bootstrap_settings(st, ("runs", "budgets"))

    items = state.exclusions(ds.id, runs.run_ids)
    exclude = tuple(sorted(items))
    known = frozenset(map(str, runs.run_ids))
    by_group = by != glue.POOLED
    o = glue.isoflop(ds.key, runs, metric, exclude, None if budgets == "auto" else budgets, bool(robust),
                     bool(unbracketed), n, cl, seed, method, tolerance, "group" if by_group else None)
    if not o.ok:
        st.error(o.error)
        outlier_tabs(ds, metric, items)
        return
    in_view = np.ones(len(runs), dtype=bool)
    if by_group:
        res = group_table(o.value, by)
        if res is None:
            outlier_tabs(ds, metric, items)
            return
        in_view = runs.frame["group"].astype(str).to_numpy() == res.group
    else:
        res = o.value
    ids = runs.frame["run_id"].astype(str).to_numpy(dtype=object)
    others = tuple(sorted(ids[~in_view].tolist()))  # Approach 3 on this group's runs only
    boot3 = None
    if show3:
        o3 = glue.approach3(ds, metric, tuple(sorted(set(exclude) | set(others))), glue.approach3_settings(n, cl, seed))
        if o3.ok:
            boot3 = o3.value
        else:
            st.warning(f"Approach 3 (chinchilla family): {md_message(o3.error)}")

    show_warnings(res.warnings)
    est = res.estimates
    cards = card_slots(4)
    lvl = res.confidence_level
    card(cards[0], "a in N* ∝ C^a (Approach 2)", est["a"], lvl, res.interval_label)
    card(cards[1], "b in D* ∝ C^b", est["b"], lvl, res.interval_label)
    comparison = None
    if target is not None:
        opt = res.compute_optimal(target)
        card(cards[2], f"N* at C = {plots.short_number(target)}", opt["params"], lvl, res.interval_label, "count")
        card(cards[3], f"D* at C = {plots.short_number(target)}", opt["tokens"], lvl, res.interval_label, "count")
    of = f" of {by} {res.group}" if res.group is not None else ""
    st.caption(f"Value [low, high]{of}: {res.interval_label}. {len(res.used)} of {len(res.profiles)} budgets in the "
               f"frontier fit; {len(items)} run(s) excluded. D* = C / ({res.k:g}·N*).")
    if res.notes:
        st.caption(" ".join(f"{n[0].upper()}{n[1:]}." for n in res.notes))

    other_ids = set(others)
    mine = {r: why for r, why in items.items() if r not in other_ids}
    fig = plots.isoflop_profiles_figure(res, excluded_points(runs, metric, mine), y_title=metric,
                                        title=f"IsoFLOP profiles{of}: {metric} against model size at each compute budget")
    chart(fig, "iso_chart", ds, known)
    st.caption(f"{plots.SELECT_HINT} Stars: each budget's minimum with its {res.confidence_level:.0%} interval; hollow "
               "markers: runs the robust fit down-weights (weight < 0.5); dashed parabola and hollow star: the sweep "
               "does not bracket its minimum.")
    export.figure_downloads(fig, f"isoflop_profiles_{metric}", "iso")

    cs = [p.compute for p in res.profiles]
    hi = max(max(cs), target or 0) * 3
    grid = np.geomspace(min(cs) / 3, hi, 80)
    spec3 = glue.approach3_curve(boot3, grid, runs.flops_per_token_param) if boot3 is not None else None
    ffig = plots.isoflop_frontier_figure(res, compute_grid=grid, approach3=spec3,
                                         title="Compute-optimal model size: Approach 2 and Approach 3")
    st.plotly_chart(ffig, key="iso_frontier", theme=None, config=CHART_CONFIG)
    export.figure_downloads(ffig, f"isoflop_frontier_{metric}", "isof")

    if boot3 is not None:
        comparison = compare_with_approach3(res, boot3, [c for c in (max(cs), target) if c])
        st.subheader("Approach 2 against Approach 3")
        st.dataframe(comparison.table(), hide_index=True, width="stretch", key="iso_compare")
        d = estimate_text(comparison.difference)
        if comparison.agree:
            st.caption(f"The two agree: the interval of a₂ − a₃ ({d}) contains 0.")
        else:
            ratio = estimate_text(comparison.n_opt[max(comparison.n_opt)]["ratio"])
            st.warning(f"Approach 2 and Approach 3 disagree: a₂ − a₃ = {d}, and at C = "
                       f"{plots.short_number(max(comparison.n_opt))} Approach 2's N* is {ratio} times "
                       "Approach 3's. Approach 2 is biased when sweeps are off-centre (the true profile is not a "
                       "parabola in log N); Approach 3 uses every run through one law.", icon=":material/balance:")
        st.caption(comparison.interval_label + ".")

    st.subheader("Budgets")
    table = res.table()
    shown = table.drop(columns=["raw N*", "raw N* low", "raw N* high"])
    # N* and D* as counts (79.8M [77.8M, 82.6M], as the cards and the Budget page write them), D* to the
    # precision of N*'s interval: its plain notation (7.98e+07 [...], D* 2.089e+09) ran the grid past the
    # page at 1024 px and gave D* a digit more than N* supports. D* = C / (k N*), so its interval is
    # N*'s mapped through it.
    shown["N* (params)"] = [_count(n, lo, hi) for n, lo, hi in
                            zip(table["raw N*"], table["raw N* low"], table["raw N* high"])]
    shown["D* (tokens)"] = [d if d == "—" else _count(c / (res.k * n), c / (res.k * hi), c / (res.k * lo))
                            for d, c, n, lo, hi in zip(table["D* (tokens)"], table["compute C"], table["raw N*"],
                                                       table["raw N* low"], table["raw N* high"])]
    # as text: the grid ignored NumberColumn(format="%.3g") and wrote 1e20 as 99999999999999980000
    shown["compute C"] = shown["compute C"].map(plots.short_number)
    # the grid ran 20 px past the page at 1440 (436 px at 1024): a compute column that repeats the budget's
    # name, and a note column with no note, are left out
    if (shown["compute C"] == shown["budget"].astype(str)).all():
        shown = shown.drop(columns=["compute C"])
    if "C spread" in shown and (table["C spread"].astype(str) == "×1.00").all():  # every budget one exact C
        shown = shown.drop(columns=["C spread"])
    if "note" in shown and not shown["note"].astype(str).str.strip().any():
        shown = shown.drop(columns=["note"])
    short = {"N* (params)": "N*", "D* (tokens)": "D*", "brackets its minimum": "brackets", "position in sweep": "position",
             "in frontier fit": "in fit"}
    st.dataframe(shown, hide_index=True, width="stretch", key="iso_budgets",  # short headers, long ones as tooltips
                 column_config={name: st.column_config.Column(label, help=name) for name, label in short.items()})
    st.caption(f"N* [low, high]: the vertex of each budget's parabola with its {res.confidence_level:.0%} bootstrap "
               "interval. A budget brackets its minimum when at least two swept sizes lie on each side of it. "
               "Position: where the minimum lies in the sweep (0% smallest size, 100% largest).")
    d1 = d2 = st.container(horizontal=True, wrap=True, gap="small")  # buttons as wide as their labels
    d1.download_button("Budgets (CSV)", table.to_csv(index=False), file_name="isoflop_budgets.csv", mime="text/csv",
                       on_click="ignore", key="dl_iso_csv", width="content")
    payload = {"dataset": ds.id, "metric": metric, "excluded": items, "approach2": res.to_dict(),
               "per_group": o.value.to_dict() if by_group else None,
               "approach3_comparison": comparison.to_dict() if comparison else None}
    d2.download_button("Results (JSON)", json_text(payload), file_name="isoflop.json", mime="application/json",
                       on_click="ignore", key="dl_iso_json", width="content")
    outlier_tabs(ds, metric, items)


def _count(v: float, lo: float, hi: float) -> str:
    """A count with its interval, or alone when the interval is not finite."""
    if all(np.isfinite([v, lo, hi])):
        return formatting.format_estimate(v, lo, hi, kind="count")
    return formatting.format_value(v, "count", 3) if np.isfinite(v) else "—"


def group_table(groups, by: str):
    """The side-by-side table of a per group, and the group picked for the full analysis (None if none)."""
    st.subheader(f"One analysis per {by}")
    table = groups.table()
    st.dataframe(table.drop(columns=["raw a", "raw a low", "raw a high"], errors="ignore"), hide_index=True,
                 width="stretch", key="iso_groups")
    st.caption(f"Each {by} has its own IsoFLOP profiles and frontier N* ∝ C^a with its {groups_level(groups)} "
               "bootstrap interval; the groups are never pooled into one frontier. Pick one below for its "
               "profiles, budgets and Approach 3.")
    for g, why in groups.errors.items():
        st.warning(f"{by} {g}: not analysed: {md_message(why)}")
    names = list(groups)
    if not names:
        st.error(f"No {by} could be analysed (the reasons are above).")
        return None
    keep_valid("f_group", names, names[0])
    pick = st.selectbox(by.capitalize() if by.islower() else by, names, key="f_group", **URL)
    return groups[pick]


def groups_level(groups) -> str:
    return next((f"{r.confidence_level:.0%}" for r in groups.results.values()), "")


def excluded_points(runs, metric: str, items: dict) -> plots.Points:
    ids = runs.frame["run_id"].astype(str).to_numpy(dtype=object)
    mask = np.isin(ids, list(items))
    return plots.Points(x=runs.values("params")[mask], y=runs.values(metric)[mask], run_ids=ids[mask],
                        excluded=np.ones(mask.sum(), bool),
                        reasons=np.array([items[i] for i in ids[mask]], dtype=object))


def outlier_tabs(ds, metric: str, items: dict) -> None:
    st.subheader("Excluded runs")
    st.caption("The same exclusions as on Explore (they travel in the link with their reasons).")
    tabs = st.tabs(["Excluded", "All runs"], key="f_outlier_tab", on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            outliers.excluded_list(ds, items)
    if tabs[1].open:
        with tabs[1]:
            outliers.runs_table(ds, metric, items)


# ------------------------------------------------------------------------------ Approach 1


def _on_curve_upload() -> None:
    up = st.session_state.get("f_upload")
    if up is None:
        return
    source_id = glue.store_curve_upload(up.name, up.getvalue())
    st.session_state["f_curves"] = source_id
    st.session_state["f_tps"] = ""  # a new file: its tokens per step are not the sample's


def _on_curve_choice() -> None:
    source = st.session_state.get("f_curves") or ""
    st.session_state["f_tps"] = glue.SAMPLE_TOKENS_PER_STEP.get(source.partition(":")[2], "") if source.startswith("sample:") else ""


def curves_view() -> None:
    options = glue.sample_curve_ids()
    requested = st.query_params.get("f_curves")
    for extra in glue.uploaded_curve_ids() + [requested, st.session_state.get("f_curves")]:
        if extra and extra not in options and glue.known_upload(extra):
            options.append(extra)
    if not options:
        st.info("Upload a long-format CSV of training curves (run id, step or tokens, loss, model size).")
    c1, c2 = st.columns([2, 2])
    # options are the ids themselves (sample:<file>, upload:<key>): a bound widget puts what it shows in the link
    source = (c1.selectbox("Curves", options, key="f_curves", on_change=_on_curve_choice, **URL)
              if options else None)
    if source:
        c1.caption(glue.curve_source_label(source))
    c2.file_uploader("Upload long-format curves (CSV)", type=["csv", "tsv", "txt"], key="f_upload",
                     on_change=_on_curve_upload,
                     help="One row per logged point: run id, step (or tokens seen), loss, and the model size N on "
                          "every row of a run. Exports of W&B or MLflow histories work after renaming nothing: "
                          "_step, global_step, train/loss, tokens_seen are recognised.")
    if source is None:
        return
    default_tps = glue.SAMPLE_TOKENS_PER_STEP.get(source.partition(":")[2], "")
    s1, s2, s3, s4 = st.columns([1.4, 1.2, 1.4, 1.6])
    tps_text = s1.text_input("Tokens per step (batch × sequence length)", value=default_tps, key="f_tps",
                             placeholder="e.g. 524288 or 0.5M",
                             help="Needed when the file logs steps but not tokens: tokens = step × this. Ignored "
                                  "when the file has a tokens column.", **URL)
    tokens_per_step, problem = glue.parse_positive(tps_text)
    if problem:
        s1.error(problem)
    skip = s2.number_input("Skip warm-up: steps", min_value=0, max_value=10**9, value=0, step=100, key="f_skip",
                           help="Points at or before this step are left out of every run (warm-up).", **URL)
    smooth = s3.slider("Smoothing (± points)", 0, 50, 0, key="f_smooth",
                       help="Centred moving average of log loss over 2k+1 logged points of each run.", **URL)
    with s4:
        n_grid = st.select_slider("Compute grid points", GRIDS, value=200, key="f_grid", **URL)
        bracketed_only = st.toggle("Fit bracketed points only", value=True, key="f_brk", **URL,
                                   help="Fit only where a smaller and a larger model both reach that compute, so the "
                                        "run setting the envelope had competition on both sides.")
    target = number_box(st, "N* at compute C =", "f_ctarget", "1e22", placeholder="e.g. 1e22")
    n, cl, seed, _ = bootstrap_settings(st)

    lo = glue.load_curves(source, tokens_per_step, glue.stamp(source))
    if not lo.ok:
        st.error(lo.error)
        return
    curves, ckey = lo.value
    st.caption(curves.summary() + "".join(f". {n_}" for n_ in curves.notes))
    known = frozenset(map(str, curves.run_ids))
    items = glue.curve_exclusions(source, known)
    o = glue.curves_approach1(ckey, curves, tuple(sorted(items)), float(skip), int(smooth), int(n_grid),
                             bool(bracketed_only), n, cl, seed)
    if not o.ok:
        st.error(o.error)
        curve_outliers(curves, source, items)
        return
    fr = o.value
    env = fr.envelope
    show_warnings(fr.warnings)
    a = fr.a
    cards = card_slots(4)
    lvl = fr.n_opt.confidence_level
    card(cards[0], "a in N* ∝ C^a (Approach 1)", a, lvl, fr.interval_label)
    if fr.loss is not None:
        floor, slope = (fr.loss.estimates[name] for name in ("E", "alpha"))
        card(cards[1], "loss floor E of the envelope", floor, lvl, fr.loss.interval_label)
        card(cards[2], "envelope exponent (L* − E ∝ C^−α)", slope, lvl, fr.loss.interval_label)
    if target is not None:
        opt = fr.compute_optimal(target)
        card(cards[3], f"N* at C = {plots.short_number(target)}", opt["params"], lvl, fr.interval_label, "count")
    st.caption(f"Value [low, high]: {fr.interval_label}. {int(fr.used.sum())} of {int((env.run >= 0).sum())} "
               f"envelope points fitted; {len(items)} run(s) excluded.")

    fig = plots.loss_curves_figure(curves, env, excluded=items,
                                   title=f"Training curves and their lower envelope ({curves.metric} against compute)")
    st.plotly_chart(fig, key="curves_chart", theme=None, config=CHART_CONFIG, selection_mode=SELECTION,
                    on_select=partial(glue.on_curve_select, "curves_chart", source, known))
    glue.apply_pending_curve_selection("curves_chart", source, known)
    st.caption("Click a run's last point (or Shift+click, Box/Lasso) to exclude the run; again to include it. The "
               "envelope is drawn in the colour of the run that sets it (darker = smaller model); hollow where no "
               "smaller or no larger model reaches that compute (not bracketed).")
    export.figure_downloads(fig, "loss_curves_envelope", "curves")

    used = fr.used
    grid = np.geomspace(env.compute[used].min() / 3, max(env.compute[used].max() * 3, target or 0), 120)
    band = fr.n_opt.band(grid)
    ids = env.run_ids[used].astype(object)
    pts = plots.Points(x=env.compute[used], y=env.params[used], run_ids=ids, excluded=np.zeros(used.sum(), bool),
                       hover=np.array([f"envelope set by {i}" for i in plots.hover_text(ids)], dtype=object))
    nfig = plots.fit_figure(pts, [plots.CurveSpec(name="power_law", label=f"N* ∝ C^{a.value:.3f}", x=grid, y=band.point,
                                                  lower=band.lower, upper=band.upper)],
                            x_title="training compute C (FLOP)", y_title="model size setting the envelope N*",
                            title="Approach 1: the model size that sets the envelope, and its power law", height=440,
                            yaxis=dict(exponentformat="power"))
    st.plotly_chart(nfig, key="curves_nstar", theme=None, config=CHART_CONFIG)
    export.figure_downloads(nfig, "curves_n_star", "cnstar")

    with st.expander("Where each run sets the envelope", expanded=False):
        seg = env.segments()
        seg = seg.assign(**{c: seg[c].map(plots.short_number) for c in ("params", "compute from", "compute to")})
        st.dataframe(seg, hide_index=True, width="stretch", key="curves_segments")  # as text: see "compute C"
    envelope_csv = pd.DataFrame({"compute": env.compute, curves.metric: env.loss, "run_id": env.run_ids,
                                 "params": env.params, "bracketed": env.bracketed, "fitted": used}).to_csv(index=False)
    d1 = d2 = st.container(horizontal=True, wrap=True, gap="small")  # buttons as wide as their labels
    d1.download_button("Envelope (CSV)", envelope_csv, file_name="envelope.csv", mime="text/csv", on_click="ignore",
                       key="dl_env_csv", width="content")
    payload = {"curves": source, "tokens_per_step": tokens_per_step, "skip_steps": skip, "smoothing": smooth,
               "excluded": items, "approach1": fr.to_dict()}
    d2.download_button("Results (JSON)", json_text(payload), file_name="curves.json", mime="application/json",
                       on_click="ignore", key="dl_curves_json", width="content")
    curve_outliers(curves, source, items)


def curve_outliers(curves, source: str, items: dict) -> None:
    st.subheader("Excluded runs")
    if items:
        st.dataframe(pd.DataFrame({"run_id": list(items), "reason": list(items.values())}), hide_index=True,
                     width="stretch", key="curve_excluded")
    glue.curve_runs_table(curves, source, items)


run_page(main)

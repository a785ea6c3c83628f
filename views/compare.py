"""Compare: the same law fitted to each group of runs (architectures, datasets, optimisers), drawn
together with bands; exponent differences, the crossover and the compute multiplier with intervals."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from scalecore import FAMILIES, Estimate, JointFit, ScaleCoreError, comparison, formatting, joint_fit, report
from ui import analysis, cache, data_source, md, md_message, run_page, show_warnings, state
from ui import review as rv
from ui.analysis import AXIS_SHORT
from ui.widgets import URL, estimate_text, keep_valid, label, number_box

DEFAULT_GROUPS = 2  # more can be added; each group is one more bootstrap
_AUTO_FAMILY = "_cmp_family_auto"  # the family this page chose itself (not the user)


@st.cache_resource(max_entries=32, show_spinner=False)
def run_compare(data_key: str, _runs, family: str, by: str, groups: tuple, x: str | None, metric: str,
                exclude: tuple, settings: tuple) -> cache.Outcome:
    s = dict(settings)
    t0 = time.perf_counter()
    try:
        value = comparison.compare(_runs, family, by=by, groups=list(groups), x=x, y=metric, exclude=exclude,
                                loss=s.get("loss", "huber"), delta=s["delta"], n_resamples=s["n_resamples"],
                                confidence_level=s["confidence_level"], seed=s["seed"], method=s["method"])
    except ScaleCoreError as exc:
        return cache.Outcome(error=str(exc), seconds=time.perf_counter() - t0)
    return cache.Outcome(value=value, seconds=time.perf_counter() - t0)


@st.cache_resource(max_entries=32, show_spinner=False)
def default_family(data_key: str, _runs, candidates: tuple, by: str, groups: tuple, x: str | None, metric: str,
                   exclude: tuple, settings: tuple):
    """(the first candidate every group identifies, {family passed over: why}); best fits only."""
    s = dict(settings)
    if len(groups) < 2:
        return candidates[0], {}
    try:
        return comparison.identified_family(_runs, candidates, by=by, groups=list(groups), x=x, y=metric,
                                            exclude=exclude, loss=s.get("loss", "huber"), delta=s["delta"])
    except ScaleCoreError:
        return candidates[0], {}


@st.cache_resource(max_entries=64, show_spinner=False)
def pair_rows(key: tuple, _comp, at: float) -> list[dict]:
    """One row per pair (each group against the first): differences, crossover, multiplier, and the
    two sentences that read them out."""
    rows = []
    for a, b in _comp.pairs():
        row = {"pair": f"{a} vs {b}"}
        for name, est in _comp.exponent_difference(a, b).items():
            row[f"Δ {name}"] = estimate_text(est)
        cross = _comp.crossover(a, b)
        row["crossover"] = ("none in range" if cross.status == "none"
                            else f"{estimate_text(cross.x, comparison.AXIS_KINDS.get(_comp.axis, 'plain'))} ({WHERE[cross.status]})")
        row["resamples crossing"] = f"{cross.share:.0%}"
        mult = _comp.multiplier(a, b, at)
        row["multiplier"] = estimate_text(mult.multiplier) + "×" if mult.status == "ok" else "not reached"
        row["_sentences"] = (cross.text(), mult.text())
        rows.append(row)
    return rows


@st.cache_resource(max_entries=32, show_spinner=False)
def run_joint(data_key: str, _runs, family: str, by: str, groups: tuple, x: str | None, metric: str,
              exclude: tuple, settings: tuple, shared: str) -> cache.Outcome:
    """The groups fitted jointly with ``shared`` common to all (scalecore.joint_fit), cached like run_compare."""
    s = dict(settings)
    t0 = time.perf_counter()
    try:
        value = joint_fit(_runs, family, by=by, groups=list(groups), shared=shared, x=x, y=metric,
                                exclude=exclude, loss=s.get("loss", "huber"), delta=s["delta"],
                                n_resamples=s["n_resamples"], confidence_level=s["confidence_level"], seed=s["seed"])
    except ScaleCoreError as exc:
        return cache.Outcome(error=str(exc), seconds=time.perf_counter() - t0)
    return cache.Outcome(value=value, seconds=time.perf_counter() - t0)


#: What the joint fit can share, as the page offers it (the floor only for laws that have an E).
SHARED_LABELS = {"exponents": "exponents", "E": "floor E", "none": "nothing"}


def joint_section(ds, runs, family: str, by: str, groups: list, x, metric: str, exclude: tuple, explore, at):
    """The groups fitted together: shared values, the difference test, P(better), the multiplier.
    Returns the JointFit (or None), and records what it shares in the comparison saved and reported
    (``rv.COMPARE_SPEC["shared"]``); ``at`` None reads it at the top of the range every group covers."""
    st.subheader("Joint fit")
    fam = FAMILIES[family]
    options = [o for o in JointFit.CHOICES if o != "E" or "E" in fam.param_names]
    keep_valid("cmp_shared", options, options[0])
    shared = st.segmented_control("Shared across the groups", options, required=True, wrap=True, key="cmp_shared",
                                  format_func=SHARED_LABELS.get, **URL,
                                  help="Fit every group at once with these parameters common to all (one objective: "
                                       "the summed Huber loss of all runs), and test whether the groups differ in them.")
    with st.spinner(f"Fitting {label(family)} to {len(groups)} groups jointly…"):
        outcome = run_joint(ds.key, runs, family, by, tuple(groups), x, metric, exclude, explore.settings_key, shared)
    spec = st.session_state.get(rv.COMPARE_SPEC) or {}
    if not outcome.ok:
        st.error(md_message(outcome.error))
        spec.pop("shared", None)
        return None
    jf = outcome.value
    at = jf.target(at)
    if spec.get("dataset") == ds.id:
        spec["shared"] = shared
        if spec.get("at") is None:
            spec["at"] = at
    if jf.shared:
        st.dataframe(pd.DataFrame([{"shared": n, "value": estimate_text(e)} for n, e in jf.shared_estimates.items()]),
                     hide_index=True, key="cmp_joint_shared")
        st.markdown(md(jf.test.text()[0].upper() + jf.test.text()[1:] + "."))
    else:
        st.markdown("Nothing shared: each group keeps its own parameters, fitted and resampled together.")
    pairs = []
    for a, b in jf.pairs():
        mult = jf.multiplier(a, b, at)
        pairs.append({"pair": f"{a} vs {b}",
                      "P(better)": formatting.format_value(jf.probability_better(a, b, at), digits=3),
                      "multiplier": estimate_text(mult.multiplier) + "×" if mult.status == "ok" else "not reached"})
    st.dataframe(pd.DataFrame(pairs), hide_index=True, width="stretch", key="cmp_joint_pairs")
    for a, b in jf.pairs():
        st.markdown(f"- {md(jf.better_text(a, b, at))}")
        text = jf.multiplier(a, b, at).text()
        st.markdown(f"- {md(text[0].upper() + text[1:])}")
    own = [{"group": g, **{n: estimate_text(e) for n, e in jf.estimates[g].items() if n not in jf.shared}}
           for g in jf.groups]
    st.dataframe(pd.DataFrame(own), hide_index=True, width="stretch", key="cmp_joint_groups")
    st.caption(f"Value [low, high]: the joint fit's value and its {jf.interval_label}. The difference test refits "
               "both ways by least squares and reads its p-value off a parametric bootstrap of the shared law. "
               f"P(better): the share of joint resamples in which the first group of the pair predicts the better "
               f"{metric} there. Computed in {outcome.seconds:.2f} s (cached afterwards).")
    show_warnings(jf.warnings)
    return jf


WHERE = {"inside": "in the fitted range", "beyond": "beyond the fitted range", "below": "below the fitted range"}


def main() -> None:
    st.title("Compare experiments")
    ds = data_source.current()
    if ds is None:
        st.info("Load a dataset in the sidebar to begin.")
        return
    runs = ds.runs
    options = comparison.group_columns(runs)
    if not options:
        st.info("Comparing needs groups: a column such as `arch`, `dataset` or `optimizer` with two or more "
                "values, or several CSV files uploaded together (one group per file).")
        return
    explore = rv.explore_choices(runs)
    keep_valid("cmp_metric", list(runs.metrics), explore.metric)
    keep_valid("cmp_by", options, options[0])
    c1, c2, c3 = st.columns([1.2, 1.2, 2.6])
    metric = c1.selectbox("Metric", runs.metrics, key="cmp_metric", **URL)
    by = c2.selectbox("Group by", options, key="cmp_by", **URL,
                      format_func=lambda c: "file" if c == comparison.GROUP_BY_FILE else c,
                      help="The column whose values are the experiments to compare (or one group per file).")
    names = comparison.group_names(runs, by)
    keep_valid(f"cmp_groups_{by}", names, names[:DEFAULT_GROUPS], multi=True, at_least=2)
    groups = c3.multiselect("Groups (the first is the reference)", names, key=f"cmp_groups_{by}", **URL)
    applicable = [f for f in analysis.applicable_families(runs, metric)]
    if not applicable:
        st.info("No family fits this metric.")
        return
    exclude = tuple(sorted(state.exclusions(ds.id, runs.run_ids)))
    axes = analysis.axes_available(runs)
    x_default = explore.axis if explore.axis in axes else axes[0]
    # Explore's families first, then the richest laws (most parameters) before the plainer ones
    candidates = tuple(dict.fromkeys([f for f in explore.families if f in applicable]
                                     + sorted(applicable, key=lambda f: -FAMILIES[f].n_params)))
    opened_with = None
    ss = st.session_state
    if ss.get("cmp_family") not in applicable or ss.get("cmp_family") == ss.get(_AUTO_FAMILY):
        # no choice of the user's (none yet, or the one this page made for other data): open with a
        # law every group identifies
        found, skipped = default_family(ds.key, runs, candidates, by, tuple(groups), x_default, metric, exclude,
                                        explore.settings_key)
        if found is not None and skipped:
            opened_with = (found, skipped)
        ss["cmp_family"] = ss[_AUTO_FAMILY] = found or candidates[0]
    f1, f2, f3 = st.columns([1.8, 1.5, 1.7])  # at 1024 px 1.6 cut "Saturating power law" in its box
    family = f1.selectbox("Family", applicable, format_func=label, key="cmp_family", **URL)
    if opened_with is not None and family == opened_with[0]:
        passed = "; ".join(f"{label(f)}: {why}" for f, why in opened_with[1].items())
        st.caption(md_message(f"Opened with {label(family).lower()}, a law each group's runs identify. Passed over: {passed}."))
    fam = FAMILIES[family]
    if fam.is_two_input:
        f2.markdown("**x**: compute, along each law's compute-optimal frontier")
        x = None
        axis = "compute"
    else:
        keep_valid("cmp_x", axes, x_default)
        x = f2.segmented_control("x axis", axes, required=True, wrap=True, key="cmp_x",
                                 format_func=lambda a: f"{a} {AXIS_SHORT[a]}", **URL)
        axis = x
    at = number_box(f3, f"Multiplier at {axis} {AXIS_SHORT[axis]} =", f"cmp_at_{axis}",
                    placeholder="default: the top of the common range",
                    help="The scale at which the compute multiplier is read: how much more of it the group needs to "
                         "reach the reference group's metric there.")
    if len(groups) < 2:
        st.info("Pick at least two groups.")
        return

    if comparison.one_budget_each(runs, by, groups) and not st.session_state.get(f"cmp_anyway_{by}"):
        st.info(f"Each group of `{by}` holds runs of a single compute budget (IsoFLOP sweeps), so a law fitted "
                "to one group is poorly determined and the comparison says little. Compare groups that each span "
                "several scales — architectures, datasets, optimisers.")
        st.button("Compare anyway", key=f"cmp_anyway_{by}")
        return

    settings = explore.settings
    with st.spinner(f"Fitting {label(family)} to {len(groups)} groups, {settings.n_resamples} resamples each…"):
        outcome = run_compare(ds.key, runs, family, by, tuple(groups), x, metric, exclude, explore.settings_key)
    if not outcome.ok:
        st.error(md_message(outcome.error))
        # a group the runs cannot identify on its own may still be identified with parameters shared
        st.session_state[rv.COMPARE_SPEC] = {"dataset": ds.id, "family": family, "by": by, "groups": list(groups),
                                             "x": x, "at": at}
        st.caption("The groups could not be compared one at a time. Fitted jointly, with parameters shared across "
                   "the groups, a group the runs do not determine alone may borrow them from the others:")
        jf = joint_section(ds, runs, family, by, list(groups), x, metric, exclude, explore, at)
        if jf is not None:
            rv.report_button(ds, key="dl_compare_report", label="Download the report (with the joint fit)", joint=jf)
        return
    comp = outcome.value
    at = at if at is not None else comp.default_scale()
    st.session_state[rv.COMPARE_SPEC] = {"dataset": ds.id, "family": family, "by": by, "groups": list(groups),
                                         "x": x, "at": at}
    st.caption(f"Each group fitted and bootstrapped on its own ({settings.n_resamples} {settings.method} resamples, "
               f"seeds derived from seed {settings.seed}); {len(exclude)} excluded run"
               f"{'s' if len(exclude) != 1 else ''} left out. Settings and exclusions are the Explore page's. "
               f"Computed in {outcome.seconds:.2f} s (cached afterwards).")

    fig = report.comparison_figure(comp, runs, state.exclusions(ds.id, runs.run_ids), at)
    st.plotly_chart(fig, key="cmp_chart", theme=None, config={"displaylogo": False})
    st.caption(f"Shaded: {comp.confidence_level:.0%} bootstrap percentile band of each group's curve"
               + (" along its compute-optimal frontier." if comp.along_frontier else "."))

    st.subheader("Differences, crossover, compute multiplier")
    rows = pair_rows((ds.key, family, by, tuple(groups), x, metric, exclude, explore.settings_key, at), comp, at)
    table = pd.DataFrame([{k: v for k, v in row.items() if not k.startswith("_")} for row in rows])
    st.dataframe(table, hide_index=True, width="stretch", key="cmp_pairs",  # 32 px past the page at 1024
                 column_config={"resamples crossing": st.column_config.Column(
                     "crossing", help="resamples crossing: the share of bootstrap resamples in which the two curves cross")})
    for row in rows:
        for sentence in row["_sentences"]:
            st.markdown(f"- {md(sentence[0].upper() + sentence[1:])}")
    word = comparison.AXIS_WORDS.get(axis, axis)
    st.caption(f"Value [low, high]: the best fits' value and its {comp.interval_label}. Δ: the exponent of the "
               "first group of the pair minus the reference's. Crossover: where the two "
               f"fitted curves meet (searched four decades beyond the data); the share of resamples that cross says "
               f"how sure that is. Multiplier: how much more {word} the first group of the pair needs to reach the "
               f"{metric} the reference reaches at {formatting.format_number(at)}; above 1 the reference is more efficient.")

    st.subheader("Each group")
    st.dataframe(group_rows(comp), width="stretch", key="cmp_groups_table")
    show_warnings(comp.warnings)
    jf = joint_section(ds, runs, family, by, list(groups), x, metric, exclude, explore, at)
    rv.report_button(ds, key="dl_compare_report", label="Download the report (with this comparison)", comparison=comp,
                     joint=jf)


def group_rows(comp) -> pd.DataFrame:
    """One column per group, one row per quantity: a group's parameters read down a column, and
    two or three groups fit a 1024-px page (one row per group, with five intervals side by side,
    scrolled sideways there)."""
    columns = {}
    for g, boot in comp.results.items():
        lo, hi = comp.ranges[g]
        # short ("1.2e16 – 1.2e22", as the axes write it): "1.20e+16 – 1.20e+22" pushed the grid past the page
        col = {"runs": str(boot.fit.n_points),
               f"{comp.axis} range": f"{formatting.short_number(lo)} – {formatting.short_number(hi)}"}
        ci = boot.confidence_interval
        for name, value in boot.fit.params.items():
            col[name] = estimate_text(Estimate(value, *ci[name]))
        col["RMSE log"] = formatting.format_number(boot.fit.rmse_log, 3)
        columns[str(g)] = col
    return pd.DataFrame(columns)


run_page(main)

"""Glue for saving, sharing and reporting an analysis: what the Explore page currently shows, as a
:class:`scalecore.store.Analysis`; links; the report download every page with results can offer.

The maths and the storage are :mod:`scalecore.store` and :mod:`scalecore.report`. The Explore
page's choices are read from its widget keys (kept across pages with ``persist_state="session"``),
with the page's own defaults when it was not opened; fits come from :func:`ui.cache.fit` with the
same arguments as Explore, so they are cache hits and the numbers are the ones on screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import streamlit as st

from scalecore import ScaleCoreError, report, store
from scalecore.store import Analysis, DataFile, Settings

from . import analysis, cache, data_source, state
from .widgets import label

log = logging.getLogger("scalecore.app")

#: Session key where the Compare page leaves the comparison on screen (a plain dict with the dataset id).
COMPARE_SPEC = "compare_spec"
#: Session key of the budget scenarios (kept by the Budget page as ``Scenario.to_dict()`` dicts).
SCENARIOS = "budget_scenarios"
#: The Review page; a link to a saved analysis is ``<app>/review?analysis=<id>``.
REVIEW_PATH = "review"
PAGE_PATHS = ("review", "compare", "budget", "explore")


@dataclass(frozen=True)
class Choices:
    """What the Explore page shows: x, metric, families, target and settings."""

    axis: str
    metric: str
    families: tuple[str, ...]
    target: float | None
    settings: analysis.Settings

    @property
    def settings_key(self) -> tuple:
        return tuple(sorted(self.settings.as_dict().items()))


def explore_choices(runs) -> Choices:
    """The Explore page's current choices for ``runs`` (its defaults where it has not been used)."""
    from .budget_state import explore_settings

    ss = st.session_state
    axes = analysis.axes_available(runs)
    axis = ss.get(state.AXIS) if ss.get(state.AXIS) in axes else analysis.default_axis(runs)
    metric = ss.get(state.METRIC) if ss.get(state.METRIC) in runs.metrics else runs.default_metric
    applicable = analysis.applicable_families(runs, metric)
    chosen = ss.get(state.FAMILIES)
    # as ui.widgets.keep_valid on Explore: its choice unless it is stale, else the defaults for this data
    stale = chosen is not None and state.choice_is_stale(chosen, ss.get(state.options_key(state.FAMILIES)), applicable)
    families = analysis.default_families(runs, metric) if chosen is None or stale else list(chosen)
    families = tuple(f for f in families if f in applicable)
    text = ss.get(state.target_key(axis))
    target, _ = analysis.parse_target(analysis.suggested_target(axis) if text is None else text)
    return Choices(axis, metric, families, target, explore_settings())


def fits(ds, choices: Choices) -> tuple[dict, dict]:
    """The Explore page's fits of ``choices`` (cache hits): ({family: BootstrapResult}, {family: error})."""
    exclude = tuple(sorted(state.exclusions(ds.id, ds.runs.run_ids)))
    results, errors = {}, {}
    for f in choices.families:
        o = cache.fit(data_key=ds.key, _runs=ds.runs, family=f, axis=cache.fit_axis(f, choices.axis),
                      metric=choices.metric, exclude=exclude, settings=choices.settings_key)
        if o.ok:
            results[f] = o.value
        else:
            errors[f] = o.error
    return results, errors


def comparison_spec(ds) -> dict | None:
    """The comparison last shown on the Compare page for this dataset, if any."""
    spec = st.session_state.get(COMPARE_SPEC)
    if not spec or spec.get("dataset") != ds.id:
        return None
    return {k: v for k, v in spec.items() if k != "dataset"}


def current_analysis(ds, choices: Choices, *, title: str = "", note: str = "", results: dict | None = None) -> Analysis:
    """What the Explore page shows, with its data bytes, as an Analysis (a summary if ``results``)."""
    files = tuple(DataFile(name, data) for name, data in data_source.source_files(ds.id))
    s = choices.settings
    settings = Settings(x=choices.axis, metric=choices.metric, n_resamples=int(s.n_resamples),
                        confidence_level=float(s.confidence_level), delta=float(s.delta), seed=int(s.seed),
                        method=str(s.method), loss=str(s.loss), target=choices.target,
                        flops_per_token_param=float(ds.runs.flops_per_token_param))
    a = Analysis(
        title=title or default_title(ds, choices), files=files, families=choices.families, settings=settings,
        mapping=dict(ds.mapping), exclusions=state.exclusions(ds.id, ds.runs.run_ids),
        scenarios=tuple(st.session_state.get(SCENARIOS, [])), comparison=comparison_spec(ds), note=note,
        dataset=ds.label.split("  (")[0], source=ds.id,
        summary=store.summarize(results) if results else {},
    )
    return store.with_checklist(a, ds.runs, results) if results else a


def checklist_items(a: Analysis, runs, results) -> tuple:
    """The Li et al. (2025) checklist saved with ``a``, else filled in from its refit."""
    from scalecore.checklist import of_analysis

    return a.checklist or tuple(of_analysis(a, runs, results))


def default_title(ds, choices: Choices) -> str:
    fams = ", ".join(label(f) for f in choices.families) or "no family"
    return f"{ds.label.split('  (')[0]}: {fams} against {choices.axis}"


# ------------------------------------------------------------------------------ links


def app_base() -> str:
    """``scheme://host[:port][/base]`` of the app as the browser sees it ("" if unknown)."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 -- not in a browser session (AppTest)
        url = None
    if not url:
        return ""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if last in PAGE_PATHS:
        path = path[: -len(last)].rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


def share_url(analysis_id: str) -> str:
    """The link that reopens a saved analysis, exactly, in any browser that can reach this server."""
    return f"{app_base()}/{REVIEW_PATH}?{urlencode({'analysis': analysis_id})}"


def explore_url(a: Analysis) -> str:
    """A link that opens ``a`` on the Explore page to keep working on it (its data kept on the server)."""
    source = data_source.store_upload([(f.name, f.data) for f in a.files])
    s = a.settings
    params: list[tuple[str, str]] = [(state.DATA, source)]
    params += [(state.MAPPING, v) for v in state.encode_mapping(a.mapping)]
    params += [(state.EXCLUDE, v) for v in state.encode_exclusions(a.exclusions)]
    if s.x:
        params.append((state.AXIS, s.x))
    if s.metric:
        params.append((state.METRIC, s.metric))
    params += [(state.FAMILIES, f) for f in state.encode_families(a.families)]
    values = {"n_resamples": str(s.n_resamples), "confidence_level": f"{s.confidence_level:g}", "delta": f"{s.delta:g}",
              "seed": str(s.seed), "method": s.method}
    params += [(state.SETTING_KEYS[name], value) for name, value in values.items()]
    if s.target is not None and s.x:
        params.append((state.target_key(s.x), f"{s.target:g}"))
    return f"{app_base()}/?{urlencode(params)}"


# ------------------------------------------------------------------------------ a shared link's dataset

_ADOPTED = "_review_adopted"  # the id of the saved analysis whose data this session took on


def adopt_saved_dataset(a: Analysis) -> bool:
    """On a shared link, make the saved analysis' data (its bytes and column mapping) the session's
    dataset, with its exclusions, so that the sidebar names the saved dataset and every page works
    on it. Only while the session has no work of its own (the default sample, nothing excluded,
    nothing uploaded), so opening a saved analysis never discards someone's exclusions; returns
    whether it switched (the caller reruns, to redraw the sidebar)."""
    ss = st.session_state
    if ss.get(_ADOPTED) == a.id or not a.files:
        return False
    ds = data_source.current()
    untouched = (ds is None or (ds.id == data_source.default_id() and not state.exclusions(ds.id)
                                and not ss.get(data_source._UPLOADS)))
    if not untouched:
        return False
    ss[_ADOPTED] = a.id
    try:
        source = data_source.store_upload([(f.name, f.data) for f in a.files])
    except OSError:
        return False
    try:
        data_source._load(source, dict(a.mapping))
    except ScaleCoreError:
        return False  # the page says so when it refits; the session keeps its dataset
    ss.setdefault(data_source._UPLOADS, {})[source] = f"{a.dataset or a.files[0].name}  (saved analysis)"
    # what data_source._try_activate does, except the sidebar's choice: its widget is drawn already
    # in this run, so its key is dropped and the sidebar sets it to the active dataset on the rerun
    ss[data_source._ACTIVE] = {"id": source, "mapping": dict(a.mapping)}
    ss[data_source._ERROR] = None
    ss.pop(data_source.CHOICE_KEY, None)
    state.set_exclusions(source, dict(a.exclusions))
    return True


def dataset_note(a: Analysis) -> None:
    """In the sidebar: which data the opened analysis uses, when it is not the sidebar's dataset."""
    ds = data_source.current()
    if ds is not None and ds.label.split("  (")[0] == a.dataset:
        return
    st.sidebar.info(f"The opened analysis uses its own saved data: **{md_text(a.dataset)}** "
                    f"({', '.join(md_text(f.name) for f in a.files)}); the dataset above is not used on this page.",
                    icon=":material/folder_shared:")


def md_text(text: str) -> str:
    from . import md

    return md(text)


# ------------------------------------------------------------------------------ the report button


def report_button(ds, *, key: str, label: str = "Report (HTML)", comparison=None, joint=None, title: str = "",
                  note: str = "", help_text: str | None = None, width="content") -> None:
    """A download button for the one-file report of what the Explore page shows (and ``comparison``,
    ``joint``).

    The fits are cache hits; the report itself is rendered only when the button is clicked (a
    report expected to take over two seconds is prepared first, with a progress bar:
    :func:`report_download`).
    """
    if ds is None:
        return
    try:
        choices = explore_choices(ds.runs)
        results, errors = fits(ds, choices)
        a = current_analysis(ds, choices, title=title, note=note, results=results)
    except ScaleCoreError as exc:
        st.caption(f"No report: {exc}")
        return
    report_download(a, results, errors, ds.runs, key=key, label=label, comparison=comparison, joint=joint,
                    width=width,
                    help=help_text or "One HTML file that opens offline: data summary, exclusions with reasons, "
                                      "parameters with intervals, plots with bands, scenarios, comparisons and "
                                      "the settings to reproduce it.")


#: A report expected to take longer than this (seconds) is prepared behind a button with a progress
#: bar; a quicker one downloads in one click (rendered when clicked, without a bar: Streamlit runs a
#: deferred download outside the script, where no element can be drawn).
REPORT_SLOW_SECONDS = 2.0
#: What the slow steps of report.render cost, measured with bench/bench_report_steps.py on the busy
#: 2-core machine (1,000 resamples; 2026-12-03): the backtest refits each family (0.18-0.7 s per
#: family), a comparison not passed in is refitted (0.35-0.95 s per group), a joint fit likewise
#: (0.45-0.95 s for two groups with its 999-draw test), the figures and the rest 0.05-0.5 s.
#: Approximate by design: it only decides whether a bar is worth a second click.
REPORT_SECONDS = {"base": 0.3, "family": 0.5, "group": 0.4, "joint": 0.4}


def expected_report_seconds(a: Analysis, results, comparison=None, joint=None) -> float:
    """About how long :func:`scalecore.report.render` takes for ``a`` (see :data:`REPORT_SECONDS`)."""
    per = a.settings.n_resamples / 1000
    t = REPORT_SECONDS["base"] + REPORT_SECONDS["family"] * len(results or {}) * per
    spec = a.comparison or {}
    if spec and comparison is None:
        t += REPORT_SECONDS["group"] * max(len(spec.get("groups") or ()), 2) * per
    if report.joint_shared(a) is not None and joint is None:
        t += REPORT_SECONDS["joint"] * max(len(spec.get("groups") or ()), 2) * per
    return t


def report_download(a: Analysis, results, errors, runs, *, key: str, label: str, comparison=None, joint=None,
                    width="content", **button) -> None:
    """The report's download button. Quick reports render when clicked; slower ones (over
    :data:`REPORT_SLOW_SECONDS` expected) have a *Prepare* button that renders here with a progress
    bar through the report's steps (refits, comparisons, backtest), then the download button."""
    file_name = report_file_name(a.title)
    common = dict(file_name=file_name, mime="text/html", on_click="ignore", icon=":material/description:",
                  width=width, **button)

    def render(progress=None) -> str:
        return report.render(a, results=results, errors=errors, runs=runs, comparison=comparison, joint=joint,
                             progress=progress)

    expected = expected_report_seconds(a, results, comparison, joint)
    if expected <= REPORT_SLOW_SECONDS:
        st.download_button(label, data=render, key=key, **common)
        return
    held_key = f"_report_html_{key}"
    signature = _report_signature(a, comparison, joint)
    held = st.session_state.get(held_key)
    if held is None or held[0] != signature:
        if not st.button(f"Prepare the report (about {expected:.0f} s)", key=f"{key}_prepare", width=width,
                         icon=":material/description:",
                         help="The report refits what it shows (the backtest, the comparisons): a few seconds."):
            return
        bar = st.progress(0.0, text="Preparing the report…")

        def tick(i: int, n: int, what: str) -> None:
            bar.progress(i / n, text=f"Preparing the report: {what} (step {i + 1} of {n})")

        held = (signature, render(tick))
        bar.empty()
        st.session_state[held_key] = held
    st.download_button(label, data=held[1], key=key, **common)


def _report_signature(a: Analysis, comparison, joint) -> str:
    """What a prepared report was made of: the analysis record and the comparison objects shown."""
    import hashlib
    import json

    record = a.to_dict(include_data=False)
    record.pop("created", None)
    record.pop("updated", None)
    text = json.dumps(record, sort_keys=True, default=str) + f"|{id(comparison)}|{id(joint)}"
    return hashlib.sha256(text.encode()).hexdigest()


def report_file_name(title: str) -> str:
    import re

    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-")[:60] or "analysis"
    return f"report-{stem}.html"

"""Glue for the Budget page: which law to plan with, cached calls into :mod:`scalecore.budget`,
the trade-off figure, and the saved scenarios.

The maths is :mod:`scalecore.budget`; this module only finds the law (the Explore page's current
fit through :func:`ui.cache.fit`, so a fit made there is a cache hit here), caches the calls on the
law's content key, and keeps scenarios as plain dicts in the session (``SCENARIOS``), where the
review/report code can read them with :func:`saved_scenarios`.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from scalecore import FAMILIES, ScaleCoreError, budget
from scalecore.budget import Law, Scenario
from scalecore.formatting import format_value
from scalecore.plots import value_texts  # hovers in formatting's numbers: plotly's ".3s" wrote 70B as "70G"

from . import analysis, cache, state

#: Session key of the saved scenarios: a list of ``Scenario.to_dict()``.
SCENARIOS = "budget_scenarios"


# ------------------------------------------------------------------------------ the law


def explore_settings() -> analysis.Settings:
    """The fit and bootstrap settings chosen on the Explore page (its defaults if it was not opened)."""
    values = {}
    for name, key in state.SETTING_KEYS.items():  # persist_state="session" keeps them across pages
        v = st.session_state.get(key)
        if v is not None:
            values[name] = v
    try:
        s = analysis.Settings(**values)
        return analysis.Settings(n_resamples=int(s.n_resamples), confidence_level=float(s.confidence_level),
                                 delta=float(s.delta), seed=int(s.seed), method=str(s.method or "cases"))
    except (TypeError, ValueError):
        return analysis.Settings()


def two_input_families() -> list[str]:
    """The laws in N and D (the families constants can be typed for)."""
    return [f for f, fam in FAMILIES.items() if fam.is_two_input]


def fittable_families(runs, metric: str) -> list[str]:
    """Families the budget can use on this data: laws in N and D, and one-input laws against compute."""
    applicable = analysis.applicable_families(runs, metric)
    two = [f for f in applicable if FAMILIES[f].is_two_input]
    one = [f for f in applicable if not FAMILIES[f].is_two_input and FAMILIES[f].metric_kind == "loss"
           and runs.has("compute")]
    return plan_order(two + one)


def plan_order(families) -> list[str]:
    """The order the Budget page offers laws in (the first is its default): laws in N and D first
    (they give N*, D* and the trade-off), then laws with an irreducible loss E (a target near the
    floor needs one), each in the registry's order. Read from the families, not from their names."""
    registry = list(FAMILIES)
    return sorted(families, key=lambda f: (not FAMILIES[f].is_two_input, "E" not in FAMILIES[f].param_names,
                                           registry.index(f)))


def law_from_fit(ds, family: str, metric: str) -> tuple[Law | None, str | None, str]:
    """The current fit of ``family`` with its bootstrap, as Explore computes it (same cache entry).

    Returns (law, error message, description of the settings used).
    """
    runs = ds.runs
    settings = explore_settings()
    exclude = tuple(sorted(state.exclusions(ds.id, runs.run_ids)))
    outcome = cache.fit(data_key=ds.key, _runs=runs, family=family, axis=cache.fit_axis(family, "compute"),
                        metric=metric, exclude=exclude, settings=tuple(sorted(settings.as_dict().items())))
    used = (f"{settings.n_resamples} {settings.method} resamples, seed {settings.seed}, "
            f"{len(exclude)} run{'s' if len(exclude) != 1 else ''} excluded (settings of the Explore page)")
    if not outcome.ok:
        return None, outcome.error, used
    boot = outcome.value
    source = f"{FAMILIES[family].label} fit to `{metric}` of {ds.label.split('  (')[0]} ({boot.fit.n_points} runs)"
    return _law_of(ds.key, family, metric, exclude, tuple(sorted(settings.as_dict().items())), boot, source), None, used


@st.cache_resource(max_entries=64, show_spinner=False)
def _law_of(data_key, family, metric, exclude, settings, _boot, source) -> Law:
    return Law.from_bootstrap(_boot, source=source)


#: Draws from a preset's published standard errors (Law.preset's n_samples), seeded.
PRESET_SAMPLES = 2000


@st.cache_resource(max_entries=16, show_spinner=False)
def preset_law(name: str, with_interval: bool) -> Law:
    """A published law; with its published standard errors propagated (when the paper gives them)."""
    return Law.preset(name, n_samples=PRESET_SAMPLES if with_interval else 0, seed=0)


def isoflop_for_budget(ds, metric: str) -> cache.Outcome:
    """Approach 2 on the loaded runs with the Explore page's bootstrap settings (budgets = runs of
    equal compute, robust parabolas): the IsoFLOP page's cached call, so the same settings are a hit."""
    from . import isoflop as iso_ui

    s = explore_settings()
    exclude = tuple(sorted(state.exclusions(ds.id, ds.runs.run_ids)))
    return iso_ui.isoflop(ds.key, ds.runs, metric, exclude, None, True, False, int(s.n_resamples),
                          float(s.confidence_level), int(s.seed), "runs")


@st.cache_resource(max_entries=128, show_spinner=False)
def approaches(law_key: str, _law: Law, iso_key: tuple, _iso, compute: float) -> budget.ApproachPlans:
    return budget.compare_approaches(_law, _iso, compute)


@st.cache_resource(max_entries=128, show_spinner=False)
def data_constrained(law_key: str, _law: Law, compute: float, unique_tokens: float, k: float) -> dict:
    return budget.data_constrained_optimal(_law, compute, unique_tokens, k)


# ------------------------------------------------------------------------------ cached calls


def hardware_key(hw: budget.Hardware | None) -> tuple | None:
    return None if hw is None else (hw.peak_flops, hw.count, hw.mfu, hw.price_per_hour, hw.name)


def _hardware(key: tuple | None) -> budget.Hardware | None:
    return None if key is None else budget.Hardware(key[0], key[1], key[2], key[3], key[4])


@st.cache_resource(max_entries=256, show_spinner=False)
def plan(law_key: str, _law: Law, compute: float, hw: tuple | None, unique_tokens: float | None,
         inference_tokens: float | None, data_constrained: bool, k: float) -> budget.Plan:
    return budget.plan(_law, compute, hardware=_hardware(hw), unique_tokens=unique_tokens,
                       inference_tokens=inference_tokens, data_constrained=data_constrained, k=k)


@st.cache_resource(max_entries=256, show_spinner=False)
def tradeoff(law_key: str, _law: Law, compute: float, k: float) -> budget.TradeOff:
    return budget.tradeoff(_law, compute, k=k, span=40.0, n_points=161)


@st.cache_resource(max_entries=512, show_spinner=False)
def off_optimum(law_key: str, _law: Law, compute: float, params: float, k: float) -> dict:
    return budget.off_optimum(_law, compute, params, k)


@st.cache_resource(max_entries=256, show_spinner=False)
def inverse(law_key: str, _law: Law, target: float, hw: tuple | None, k: float) -> cache.Outcome:
    try:
        return cache.Outcome(value=budget.compute_for_loss(_law, target, k, hardware=_hardware(hw)))
    except ScaleCoreError as exc:
        return cache.Outcome(error=str(exc))


@st.cache_resource(max_entries=256, show_spinner=False)
def inference(law_key: str, _law: Law, compute: float, inference_tokens: float, k: float) -> dict:
    return budget.inference_optimal(_law, compute, inference_tokens, k)


# ------------------------------------------------------------------------------ the figure


def tradeoff_figure(t: budget.TradeOff, chosen: float | None, chosen_loss: float | None, *,
                    interval: str, height: int = 440) -> go.Figure:
    """Loss against N along the iso-FLOP line, the band, the optimum and the chosen N."""
    color = "#0072B2"
    fig = go.Figure()
    ok = np.isfinite(t.lower) & np.isfinite(t.upper)
    if ok.sum() >= 2:
        x = t.params[ok]
        fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]),
                                 y=np.concatenate([t.lower[ok], t.upper[ok][::-1]]),
                                 mode="lines", fill="toself", fillcolor="rgba(0,114,178,0.16)", line=dict(width=0),
                                 hoverinfo="skip", name=interval.split(" (")[0].replace("interval", "band")))
    fig.add_trace(go.Scatter(x=t.params, y=t.loss, mode="lines", name=f"loss at C = {format_value(t.compute, 'flops', 3)} FLOPs",
                             line=dict(color=color, width=2.5),
                             customdata=np.column_stack([value_texts(t.params, "count", 3), value_texts(t.tokens, "count", 3)]),
                             hovertemplate="N %{customdata[0]}<br>D %{customdata[1]}<br>loss %{y:.4f}<extra></extra>"))
    n_star, l_star = t.optimum["params"].value, t.optimum["loss"].value
    fig.add_trace(go.Scatter(x=[n_star], y=[l_star], mode="markers", name=f"compute-optimal N* = {format_value(n_star, 'count', 3)}",
                             marker=dict(color=color, size=11, symbol="diamond", line=dict(color="white", width=1)),
                             hovertemplate=f"N* {format_value(n_star, 'count', 3)}<br>loss %{{y:.4f}}<extra></extra>"))
    shapes = []
    if chosen is not None and chosen_loss is not None and not math.isclose(chosen, n_star, rel_tol=1e-9):
        fig.add_trace(go.Scatter(x=[chosen], y=[chosen_loss], mode="markers", name=f"your choice N = {format_value(chosen, 'count', 3)}",
                                 marker=dict(color="#D55E00", size=11, line=dict(color="white", width=1)),
                                 hovertemplate=f"N {format_value(chosen, 'count', 3)}<br>loss %{{y:.4f}}<extra></extra>"))
        shapes.append(dict(type="line", x0=chosen, x1=chosen, y0=l_star, y1=chosen_loss,
                           line=dict(color="#D55E00", dash="dot")))
    top = float(np.nanmax(t.loss))  # the whole curve; the band may leave the plot at its ends
    bottom = float(np.nanmin(t.lower[np.isfinite(t.lower)])) if np.isfinite(t.lower).any() else l_star
    pad = 0.05 * (top - min(bottom, l_star))
    # one layout assignment: update_layout/update_xaxes validate path by path, ten times slower
    from scalecore.plots import legend_below  # under the plot: above it, the legend met the title (issue 22)

    legend, margin_b = legend_below(len(fig.data))  # (not `bottom`: that is the loss axis's floor)
    fig.layout = dict(
        template="plotly_white", height=height + margin_b - 60, margin=dict(l=70, r=20, t=50, b=margin_b), shapes=shapes,
        title=dict(text="Model size against loss at this budget (D = C / 6N)", x=0.0, font=dict(size=15)),
        legend=legend,
        font=dict(family="Helvetica, Arial, sans-serif", size=13, color="#1f2933"),
        xaxis=dict(type="log", title=dict(text="model size N (parameters)"), exponentformat="power", showline=True,
                   linecolor="#9aa5b1", gridcolor="#e6e9ee", ticks="outside"),
        yaxis=dict(title=dict(text="predicted loss"), showline=True, linecolor="#9aa5b1", gridcolor="#e6e9ee",
                   ticks="outside", range=[min(bottom, l_star) - pad, top + pad]),
    )
    return fig


# ------------------------------------------------------------------------------ scenarios


def saved_scenarios() -> list[Scenario]:
    """The scenarios saved in this session, oldest first."""
    return [Scenario.from_dict(d) for d in st.session_state.get(SCENARIOS, [])]


def save_scenario(p: budget.Plan, name: str) -> str:
    """Save ``p`` under ``name`` (made unique); returns the name used."""
    items = list(st.session_state.get(SCENARIOS, []))
    taken = {d["name"] for d in items}
    base = name.strip() or f"Scenario {len(items) + 1}"
    final, i = base, 2
    while final in taken:
        final, i = f"{base} ({i})", i + 1
    items.append(p.to_scenario(final).to_dict())
    st.session_state[SCENARIOS] = items
    return final


def clear_scenarios() -> None:
    st.session_state[SCENARIOS] = []


def saved_analyses_with_scenarios() -> list[tuple[str, str, int]]:
    """(id, title, number of scenarios) of the saved analyses that hold budget scenarios, newest first.
    The scenarios of the current session go into an analysis when it is saved (Review page)."""
    from scalecore import store

    out = []
    for item in store.list_analyses()[:RECENT_ANALYSES]:
        n = 0 if item.damaged else _scenario_count(item.id, item.updated)
        if n:
            out.append((item.id, item.title, n))
    return out


#: The Budget page offers the scenarios of this many most recent saved analyses.
RECENT_ANALYSES = 50


@st.cache_resource(max_entries=512, show_spinner=False)
def _scenario_count(analysis_id: str, updated: str) -> int:
    """Scenarios in a saved analysis, read once per version (``updated``) of it."""
    from scalecore import store

    try:
        return len(store.load(analysis_id).scenarios)
    except ScaleCoreError:
        return 0


def load_scenarios(analysis_id: str) -> int:
    """Add the scenarios of a saved analysis to this session's (names made unique); how many."""
    from scalecore import store

    items = list(st.session_state.get(SCENARIOS, []))
    taken = {d["name"] for d in items}
    added = 0
    for d in store.load(analysis_id).scenarios:
        d = dict(d)
        base, i = d["name"], 2
        while d["name"] in taken:
            d["name"], i = f"{base} ({i})", i + 1
        taken.add(d["name"])
        items.append(d)
        added += 1
    st.session_state[SCENARIOS] = items
    return added

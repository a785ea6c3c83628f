"""Widget helpers every page shares, defined once: a family's label, keeping a bound widget's value
valid, the runs as plot points, an estimate as text and as a metric card, and the defaults a page
picks from what the families say about themselves (never from a family's name).
"""

from __future__ import annotations

import json
import math
from typing import Iterable

import numpy as np
import streamlit as st

from scalecore import FAMILIES, budget, formatting, plots

from . import analysis, state
from .analysis import AXIS_SHORT

#: Bound widgets: their value is in the URL, and kept when the user visits another page.
URL = dict(bind="query-params", persist_state="session")
CHART_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"scale": 2}}
#: How runs are selected on a chart to exclude or include them.
SELECTION = ("points", "box", "lasso")
RESAMPLES = (200, 500, 1000, 2000, 5000)
LEVELS = (0.68, 0.8, 0.9, 0.95, 0.99)
#: Huber thresholds in log space; Hoffmann et al. use 1e-3.
DELTAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


def label(family: str) -> str:
    """A family's label (a name no longer registered, e.g. in an old saved analysis, as it is)."""
    return FAMILIES[family].label if family in FAMILIES else family


def keep_valid(key: str, options: list, fallback, multi: bool = False, at_least: int = 1) -> None:
    """Give a bound widget a valid value before it is drawn: its own if it still fits the options
    (after a change of dataset, metric or column), else ``fallback``. The URL still wins on a first
    load.

    ``multi``: a multi-choice value made for other options and sharing none of these (another
    dataset) takes ``fallback``; one that lost some of its choices keeps the others if at least
    ``at_least`` remain, else takes ``fallback``."""
    ss = st.session_state
    if not multi:
        if key not in ss or ss[key] not in options:
            ss[key] = fallback
        return
    current = ss.get(key)
    seen = ss.get(state.options_key(key))
    ss[state.options_key(key)] = tuple(options)
    if key not in ss or state.choice_is_stale(current, seen, options):
        ss[key] = list(fallback)
        return
    kept = [v for v in (current or []) if v in options]
    if len(kept) != len(current or []):
        ss[key] = kept if len(kept) >= at_least else list(fallback)


def run_points(runs, x_col: str, y_col: str, items: dict, only_with: Iterable[str] = (),
               color_by: str | None = None) -> plots.Points:
    """The runs as plot points: x and y columns, excluded ones marked with their reasons, the hover
    naming each run's group and sizes (numbers through :mod:`scalecore.formatting`). ``only_with``:
    only runs with a value in these columns. ``color_by``: ``"budget"``, ``"size"`` or ``"group"``
    (:func:`scalecore.plots.run_colors`)."""
    frame = runs.frame
    keep = np.ones(len(frame), dtype=bool)
    for col in only_with:
        keep &= np.isfinite(runs.values(col))
    ids = frame["run_id"].astype(str).to_numpy(dtype=object)[keep]
    # user text inside plotly markup
    groups = plots.hover_text(frame["group"].astype(str).to_numpy(dtype=object)[keep])
    parts = [[f"{AXIS_SHORT[role]} {t}" for t in plots.value_texts(frame[role].to_numpy(float)[keep],
                                                                   analysis.AXIS_KINDS[role], 3)]
             for role in ("params", "tokens", "compute") if runs.has(role)]
    hover = np.array([f"group {g}" + ("<br>" + " · ".join(p) if p else "")
                      for g, *p in zip(groups, *parts)], dtype=object) if parts else groups
    colors = None
    if color_by is not None:
        colors = plots.run_colors(color_by, compute=runs.values("compute")[keep] if runs.has("compute") else None,
                                  params=runs.values("params")[keep] if runs.has("params") else None,
                                  groups=frame["group"].astype(str).to_numpy(dtype=object)[keep])
    return plots.Points(x=runs.values(x_col)[keep], y=runs.values(y_col)[keep], run_ids=ids,
                        excluded=np.isin(ids, list(items)), hover=hover,
                        reasons=np.array([items.get(i, "") for i in ids], dtype=object),
                        x_kind=analysis.AXIS_KINDS.get(x_col, "plain"), y_kind=analysis.AXIS_KINDS.get(y_col, "plain"),
                        colors=colors)


def number_box(where, text_label: str, key: str, value: str = "", help: str | None = None, placeholder: str = "",
               noun: str = "target") -> float | None:
    """A number typed as text ("1e24", "70B", "2T"), bound to the URL and parsed strictly; a message
    under it if the text is not a number (about a ``noun``). ``None`` when empty or bad."""
    text = where.text_input(text_label, value=value, key=key, help=help, placeholder=placeholder, **URL)
    number, problem = analysis.parse_target(text)
    if problem:
        where.error(problem.replace("target", noun))
    return number


def _finite(est) -> bool:
    return all(math.isfinite(v) for v in (est.value, est.low, est.high))


def estimate_text(est, kind: str = "plain") -> str:
    """``"2.31 [2.27, 2.36]"``, ``"72B [65B, 130B]"`` (``kind="count"``):
    :func:`scalecore.formatting.format_estimate`, which shows the value alone where the interval
    is not finite."""
    return formatting.format_estimate(est, kind=kind)


def card_slots(n: int, width: int = 210) -> list:
    """``n`` slots for metric cards, ``width`` px each, in a row that wraps: as many a row as fit (four
    of 210 px at 1440 px, two at 1024), where ``st.columns(n)`` cut labels and values at 1024 px
    ("Model s…", "1.21e+1…")."""
    row = st.container(horizontal=True, wrap=True, gap="small")
    return [row.container(width=width) for _ in range(n)]


def estimate_card(col, text_label: str, est, level: float, help: str | None = None, kind: str = "plain") -> None:
    """A metric card: the value rounded to its interval (PDG rule) in the notation of ``kind``
    (``"count"``: 121B, as the Budget page writes N*), the ``level`` interval in a caption under it;
    the bare value when the interval is not finite."""
    if not _finite(est):
        col.metric(text_label, plots.short_number(est.value), help=help)
        return
    value, low, high = formatting.format_interval(est.value, est.low, est.high, kind)
    col.metric(text_label, value, help=help)
    col.caption(f"{level:.0%} interval [{low}, {high}]")


def default_loss_law(families: list[str]) -> str:
    """The law a page starts with among ``families``: the first that takes both N and D (the richest
    answers: N*, D*, the trade-off), else the first."""
    return next((f for f in families if FAMILIES[f].is_two_input), families[0])


def default_law_text(family: str) -> str:
    """The constants a "typed constants" box starts with: the family's worked example if it has
    numbers (:func:`scalecore.budget.example_law`), else nothing."""
    text = budget.example_law(family).strip("`")
    return "" if "..." in text else text


def json_text(payload) -> str:
    """A results download as JSON text (NaN and infinities as the app's one JSON cleaning writes them)."""
    return json.dumps(analysis._plain(payload), indent=2)

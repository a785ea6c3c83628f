"""Plotly figures of fits, bands and diagnostics. Returns ``go.Figure``; never imports streamlit.

Conventions shared by every figure:

- runs are two marker traces, kept and excluded, each with ``customdata[:, 0] = run_id`` so a
  click, box or lasso selection identifies runs unambiguously (never by point index);
- excluded runs stay visible: grey, an "x" symbol, still clickable (to include them again);
- each family has one colour everywhere (:func:`family_color`), its band is the same colour
  with transparency, and the legend names the family;
- ``dragmode`` is left unset, so a click selects a point and Box/Lasso are in the toolbar;
- hovers write numbers through :mod:`scalecore.formatting` (pre-formatted ``customdata``, never
  plotly's SI ``%{x:.3s}``, which wrote 9.23e18 as "9.23E"); log axes spanning two decades or more
  are ticked at the powers of ten, written 10^k (:func:`decade_ticks`);
- legends sit under the plot, in the bottom margin (:func:`legend_below`): beside a narrow chart
  they took a third of its width, above it they met the title;
- runs can be coloured by compute budget or model size (a sequential scale with a colour bar) or
  by group (:func:`run_colors`).
"""

from __future__ import annotations

import html

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .families import FAMILIES
from .formatting import format_value, short_number

#: Okabe-Ito-like colours that stay distinct for colour-blind readers, one per family.
_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8c564b", "#7f7f7f")
FAMILY_COLORS = {name: _COLORS[i % len(_COLORS)] for i, name in enumerate(FAMILIES)}
KEPT_COLOR = "#1f2933"
EXCLUDED_COLOR = "#a0a7b0"
FONT = dict(family="Helvetica, Arial, sans-serif", size=13, color="#1f2933")
#: A small template instead of plotly's default: a new go.Figure() copies and validates the whole
#: default template (about 17 ms each; 40 ms more for "plotly_white"), which dominated a rerun.
_TEMPLATE = {"layout": {"paper_bgcolor": "white", "plot_bgcolor": "white", "colorway": list(_COLORS),
                        "hovermode": "closest"}}


def new_figure(*traces) -> go.Figure:
    """An empty figure with the light template of this module."""
    return go.Figure(data=list(traces), layout={"template": _TEMPLATE})


SELECT_HINT = "Click or Shift+click runs, or use Box/Lasso in the toolbar, to exclude them (again to include)."


def family_color(name: str) -> str:
    return FAMILY_COLORS.get(name, _COLORS[hash(name) % len(_COLORS)])


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


@dataclass(frozen=True)
class Points:
    """Runs to draw: coordinates, ids, which are excluded, and hover text."""

    x: np.ndarray
    y: np.ndarray
    run_ids: np.ndarray
    excluded: np.ndarray  # bool
    hover: np.ndarray | None = None  # str per run, plotly markup: the caller escapes user text in it
    reasons: np.ndarray | None = None  # str per run: why it is excluded
    x_kind: str = "plain"  # formatting kind of x and y in the hover ("count", "flops", ...)
    y_kind: str = "plain"
    colors: "RunColors | None" = None  # how the kept runs are coloured (default: one dark colour)

    def __post_init__(self):
        n = len(self.x)
        object.__setattr__(self, "excluded", np.asarray(self.excluded, dtype=bool).reshape(n))


@dataclass(frozen=True)
class CurveSpec:
    """A family's curve (and band) on the main figure."""

    name: str  # family name (colour)
    label: str  # legend text
    x: np.ndarray
    y: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    band_label: str = ""
    dash: str = "solid"
    x_kind: str = "plain"  # formatting kinds of x and y in the hover
    y_kind: str = "plain"
    x_title: str = "x"
    y_title: str = "y"


@dataclass(frozen=True)
class TargetMark:
    """The prediction of one family at the extrapolation target."""

    name: str
    x: float
    value: float
    low: float
    high: float
    text: str = ""


def value_texts(values, kind: str = "plain", digits: int = 4) -> np.ndarray:
    """Each number as :func:`~scalecore.formatting.format_value` writes it, for hovers (plotly's own
    ``%{x:.3s}`` writes 9.23e18 as "9.23E", an SI exa that reads as an error)."""
    v = np.ascontiguousarray(values, dtype=float).ravel()
    return _texts_of(v.tobytes(), kind, digits).copy()


@lru_cache(maxsize=512)
def _texts_of(data: bytes, kind: str, digits: int) -> np.ndarray:
    """:func:`value_texts` of the float64 array ``data``, remembered: a rerun draws the same runs and
    curves again, and formatting them afresh was most of the cost of building a figure."""
    v = np.frombuffer(data, dtype=float)
    # each distinct value once: a sweep repeats its sizes and budgets (243 runs, 9 values of C)
    unique, inverse = np.unique(v, return_inverse=True)
    texts = np.array([format_value(float(u), kind, digits) if np.isfinite(u) else "–" for u in unique],
                     dtype=object)
    return texts[inverse.ravel()] if len(v) else np.empty(0, dtype=object)


def _customdata(points: Points, mask: np.ndarray) -> np.ndarray:
    """Per run: [raw id, hover text, escaped reason, escaped id, x as text, y as text]."""
    ids = np.asarray(points.run_ids, dtype=object)[mask]
    hover = (np.asarray(points.hover, dtype=object)[mask] if points.hover is not None
             else np.full(mask.sum(), "", dtype=object))
    reasons = (np.asarray(points.reasons, dtype=object)[mask] if points.reasons is not None
               else np.full(mask.sum(), "", dtype=object))
    if not mask.any():
        return np.empty((0, 6), dtype=object)
    return np.column_stack([ids, hover, hover_text(reasons), hover_text(ids),
                            value_texts(np.asarray(points.x, float)[mask], points.x_kind),
                            value_texts(np.asarray(points.y, float)[mask], points.y_kind)])


def hover_text(values) -> np.ndarray:
    """User text (run ids, groups, reasons) for a hover: plotly reads <b>, <a href> ... in text as
    markup; escaped, it stays text. (In the traces here the raw run id stays in customdata[0],
    which is what a selection sends back.)"""
    return np.array([html.escape(str(v), quote=False) for v in values], dtype=object)


#: Discrete colours of groups (runs coloured by group): Okabe-Ito's, then Tableau's, then grey.
GROUP_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
                "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")
#: The sequential scale of ordered colourings (compute budget, model size): small dark, large yellow.
SEQUENTIAL = "Viridis"
#: Beyond this many groups the runs are one trace (each its group's colour) with no legend per group.
MAX_GROUP_TRACES = 16
#: What the user may colour runs by (Explore's "Colour runs by").
COLOR_BY = ("budget", "size", "group")
COLOR_BY_LABELS = {"budget": "compute budget", "size": "model size", "group": "group"}


@dataclass(frozen=True)
class RunColors:
    """How runs are coloured: ``numeric`` values on the sequential scale with a colour bar (``values``
    are log10 of the budget or the size, ``tickvals``/``ticktext`` label the bar), or ``group``
    labels, each with its own discrete colour and legend entry."""

    kind: str  # "numeric" or "group"
    values: np.ndarray  # per run: float (numeric) or str (group)
    title: str
    tickvals: tuple = ()
    ticktext: tuple = ()

    def colors_of(self, values) -> list[str]:
        """The colours numeric ``values`` get on the bar (for curves drawn in a run's colour)."""
        from plotly.colors import sample_colorscale

        v = np.asarray(self.values, float)
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        at = np.full(len(values), 0.5) if hi <= lo else np.clip((np.asarray(values, float) - lo) / (hi - lo), 0, 1)
        return sample_colorscale(SEQUENTIAL, at.tolist()) if len(at) else []


def decade_ticks(lo: float, hi: float, *, log_values: bool = False) -> dict:
    """Tick values at the powers of ten between ``lo`` and ``hi`` (positive, or their log10 when
    ``log_values``), written 10^k; empty when fewer than two powers of ten fall inside (a loss from
    2 to 4 keeps plotly's own ticks, 2, 3, 4)."""
    if not log_values:
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 or hi <= 0:
            return {}
        lo, hi = np.log10(lo), np.log10(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return {}
    ks = list(range(int(np.ceil(lo - 1e-9)), int(np.floor(hi + 1e-9)) + 1))
    if len(ks) < 2:
        return {}
    if len(ks) > 12:  # a wide range: every second or third decade
        ks = ks[:: int(np.ceil(len(ks) / 10))]
    return dict(tickmode="array", tickvals=[float(k) if log_values else float(10.0 ** k) for k in ks],
                ticktext=[f"10<sup>{k}</sup>" for k in ks])


def run_colors(by: str, *, compute=None, params=None, groups=None) -> RunColors | None:
    """Colours of the runs by compute ``budget`` (the budgets of
    :func:`scalecore.isoflop.budget_labels`: each run the colour of its budget's C), model ``size``
    (log10 N) or ``group``; None where the runs lack that column."""
    if by == "budget" and compute is not None:
        from .isoflop import budget_labels

        c = np.asarray(compute, float)
        ok = np.isfinite(c) & (c > 0)
        if not ok.any():
            return None
        values = np.full(len(c), np.nan)
        labels, budgets = budget_labels(c[ok])
        values[ok] = [np.log10(budgets[lab]) for lab in labels]
        order = sorted(budgets, key=budgets.get)
        if len(order) <= 12:
            tickvals = tuple(float(np.log10(budgets[lab])) for lab in order)
            ticktext = tuple(order)
        else:
            t = decade_ticks(np.nanmin(values), np.nanmax(values), log_values=True)
            tickvals, ticktext = tuple(t.get("tickvals", ())), tuple(t.get("ticktext", ()))
        return RunColors("numeric", values, "compute budget C (FLOP)", tickvals, ticktext)
    if by == "size" and params is not None:
        n = np.asarray(params, float)
        ok = np.isfinite(n) & (n > 0)
        if not ok.any():
            return None
        values = np.where(ok, np.log10(np.where(ok, n, 1.0)), np.nan)
        t = decade_ticks(np.nanmin(values), np.nanmax(values), log_values=True)
        if not t:  # less than a decade: label the ends
            lo, hi = np.nanmin(values), np.nanmax(values)
            t = dict(tickvals=[lo, hi], ticktext=[format_value(10 ** lo, "count", 2), format_value(10 ** hi, "count", 2)])
        return RunColors("numeric", values, "model size N", tuple(t["tickvals"]), tuple(t["ticktext"]))
    if by == "group" and groups is not None:
        return RunColors("group", np.asarray(groups, dtype=object).astype(str), "group")
    return None


def group_color(index: int) -> str:
    return GROUP_COLORS[index % len(GROUP_COLORS)]


def _run_hover(x_title: str, y_title: str, excluded: bool = False) -> str:
    head = "<b>%{customdata[3]}</b>" + (" (excluded: %{customdata[2]})" if excluded else "")
    return f"{head}<br>{x_title} %{{customdata[4]}}<br>{y_title} %{{customdata[5]}}<br>%{{customdata[1]}}<extra></extra>"


def run_traces(points: Points, *, x_title: str = "x", y_title: str = "y", kept_name: str | None = None,
               show_legend: bool = True) -> list[go.Scatter]:
    """Kept and excluded runs as marker traces with ``customdata[:, 0] = run_id``: the kept runs in
    one trace (coloured by ``points.colors`` when numeric, with a colour bar), or one per group; the
    excluded runs grey crosses. Hovers write x and y through :mod:`scalecore.formatting`."""
    kept = ~points.excluded
    n_exc = int(points.excluded.sum())
    x, y = np.asarray(points.x, float), np.asarray(points.y, float)
    colors = points.colors
    marker = dict(size=7, color=KEPT_COLOR, opacity=0.75, line=dict(width=0.5, color="white"))
    traces = []
    values = np.asarray(colors.values, dtype=object) if colors is not None and colors.kind == "group" else None
    names = list(dict.fromkeys(values.tolist())) if values is not None else []
    if values is not None and len(names) > MAX_GROUP_TRACES:
        # many groups (148 models of Ruan et al.): one trace, each run its group's colour, the group
        # in the hover; a legend of 148 entries would bury the plot
        index = {g: i for i, g in enumerate(names)}
        traces.append(go.Scatter(
            x=x[kept], y=y[kept], mode="markers", name=f"runs ({int(kept.sum())}), coloured by group",
            customdata=_customdata(points, kept), legendrank=1, showlegend=show_legend,
            marker={**marker, "opacity": 0.85, "color": [group_color(index[g]) for g in values[kept]]},
            hovertemplate=_run_hover(x_title, y_title),
        ))
    elif values is not None:
        for i, g in enumerate(names):
            mask = kept & (values == g)
            if not mask.any():
                continue
            traces.append(go.Scatter(
                x=x[mask], y=y[mask], mode="markers", name=f"{hover_text([g])[0]} ({int(mask.sum())})",
                customdata=_customdata(points, mask), legendgroup=f"group {g}",
                marker={**marker, "color": group_color(i), "opacity": 0.85},
                hovertemplate=_run_hover(x_title, y_title), showlegend=show_legend, legendrank=1,
            ))
    else:
        if colors is not None:
            v = np.asarray(colors.values, float)
            marker = {**marker, "opacity": 0.9, "color": v[kept], "colorscale": SEQUENTIAL,
                      "cmin": float(np.nanmin(v)), "cmax": float(np.nanmax(v)), "showscale": True,
                      "colorbar": dict(title=dict(text=colors.title, side="right"), tickmode="array",
                                       tickvals=list(colors.tickvals), ticktext=list(colors.ticktext),
                                       thickness=12, len=0.8, x=1.0, xpad=8, outlinewidth=0)}
        traces.append(go.Scatter(
            x=x[kept], y=y[kept], mode="markers", name=kept_name or f"runs ({int(kept.sum())})",
            customdata=_customdata(points, kept), marker=marker,
            hovertemplate=_run_hover(x_title, y_title), showlegend=show_legend, legendrank=1,
        ))
    traces.append(go.Scatter(
        x=x[~kept], y=y[~kept], mode="markers", name=f"excluded ({n_exc})", customdata=_customdata(points, ~kept),
        marker=dict(size=9, color=EXCLUDED_COLOR, symbol="x", line=dict(width=0)),
        hovertemplate=_run_hover(x_title, y_title, excluded=True), showlegend=show_legend and n_exc > 0, legendrank=2,
    ))
    return traces


def _band_trace(c: CurveSpec) -> go.Scatter | None:
    if c.lower is None or c.upper is None:
        return None
    ok = np.isfinite(c.lower) & np.isfinite(c.upper) & (c.lower > 0)
    if ok.sum() < 2:
        return None
    x = np.asarray(c.x, float)[ok]
    return go.Scatter(
        x=np.concatenate([x, x[::-1]]), y=np.concatenate([np.asarray(c.lower)[ok], np.asarray(c.upper)[ok][::-1]]),
        mode="lines", fill="toself", fillcolor=_rgba(family_color(c.name), 0.18), line=dict(width=0),
        hoverinfo="skip", name=c.band_label or f"{c.label} band", legendgroup=c.name, showlegend=False,
    )


def curve_customdata(c: CurveSpec) -> np.ndarray:
    """Per grid point: x as text, and y with its band ("2.31 [2.27, 2.36]") as formatting writes them."""
    y = np.ascontiguousarray(c.y, dtype=float)
    lo = np.ascontiguousarray(c.lower, dtype=float) if c.lower is not None else np.full(len(y), np.nan)
    hi = np.ascontiguousarray(c.upper, dtype=float) if c.upper is not None else np.full(len(y), np.nan)
    ys = _estimates_of(y.tobytes(), lo.tobytes(), hi.tobytes(), c.y_kind)
    return np.column_stack([value_texts(c.x, c.x_kind), ys])


@lru_cache(maxsize=256)
def _estimates_of(y: bytes, lo: bytes, hi: bytes, kind: str) -> np.ndarray:
    from .formatting import format_estimate

    ys, los, his = (np.frombuffer(b, dtype=float) for b in (y, lo, hi))
    return np.array([format_estimate(v, a, b, kind=kind) if np.isfinite(v) else "–" for v, a, b in zip(ys, los, his)],
                    dtype=object)


def _curve_trace(c: CurveSpec, color: str | None = None) -> go.Scatter:
    return go.Scatter(
        x=c.x, y=c.y, mode="lines", name=c.label, legendgroup=c.name,
        line=dict(color=color or family_color(c.name), width=2.5, dash=c.dash), customdata=curve_customdata(c),
        hovertemplate=f"{c.label}<br>{c.x_title} %{{customdata[0]}}<br>{c.y_title} %{{customdata[1]}}<extra></extra>",
    )


def _merged(base: dict, extra: dict | None) -> dict:
    """``base`` updated by ``extra``, nested dicts merged key by key (as ``update_layout`` does)."""
    out = dict(base)
    for key, value in (extra or {}).items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def legend_below(n_entries: int = 4, *, per_row: int = 3, rows: int | None = None) -> tuple[dict, int]:
    """A horizontal legend under the plot, in the figure's bottom margin (``yref="container"``, so it
    never meets the x-axis title however tall the figure), and the bottom margin it needs.

    Beside the plot a legend took a third of a narrow chart (at 1024 px the plot kept about 240 px);
    above it, it met the title. ``per_row`` is what fits across a narrow chart; ``rows`` (from
    :func:`_legend_rows`) overrides the count."""
    rows = max(1, int(rows) if rows is not None else -(-int(n_entries) // per_row))
    legend = dict(orientation="h", xref="paper", x=0.0, xanchor="left", yref="container", y=0.0, yanchor="bottom",
                  bgcolor="rgba(255,255,255,0)", font=dict(size=12), itemsizing="constant")
    return legend, 62 + 22 * rows


#: Width (px) a legend row has on a narrow chart (1024 px screen, the sidebar open), and an entry's
#: width: its symbol and gap, and its name at about 7 px a character (12 px font).
_LEGEND_ROW_PX, _LEGEND_ENTRY_PX, _LEGEND_CHAR_PX = 460, 46, 7.0


def _legend_rows(fig: go.Figure) -> int:
    """The rows a horizontal legend takes on a narrow chart. Plotly stacks the entries of one legend
    group (two or more traces with the same ``legendgroup``) in a column and flows the groups and the
    other entries across, wrapping at the chart's width. Counting entries alone (three a row) gave
    the backtest's legend (two runs, then the forecast and its held-out points stacked) two rows of
    margin for three, and it pushed the x-axis title onto the ticks at 1024 px."""
    blocks: dict = {}  # a group, or one ungrouped entry: [width, height]
    for i, t in enumerate(fig.data):
        if t.showlegend is False or not t.name:
            continue
        width = _LEGEND_ENTRY_PX + _LEGEND_CHAR_PX * len(str(t.name))
        block = blocks.setdefault(t.legendgroup or ("", i), [0.0, 0])
        block[0], block[1] = max(block[0], width), block[1] + 1
    rows, used, tallest = 0, 0.0, 0
    for width, height in blocks.values():
        if used and used + width > _LEGEND_ROW_PX:
            rows, used, tallest = rows + tallest, 0.0, 0
        used, tallest = used + width, max(tallest, height)
    return rows + tallest


def _legend_entries(fig: go.Figure) -> int:
    return sum(1 for t in fig.data if t.showlegend is not False and t.name)


def _extent(fig: go.Figure, attr: str) -> tuple[float, float]:
    """The positive finite range of the traces' ``x`` or ``y`` (for decade ticks)."""
    lo, hi = np.inf, -np.inf
    for t in fig.data:
        v = getattr(t, attr, None)
        if v is None or t.type not in ("scatter", "scattergl", "bar"):
            continue
        try:
            a = np.asarray(v, float)
        except (TypeError, ValueError):
            continue
        a = a[np.isfinite(a) & (a > 0)]
        if a.size:
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
    return lo, hi


def _base_layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, log_x: bool, log_y: bool,
                 height: int = 520, layout: dict | None = None, xaxis: dict | None = None,
                 yaxis: dict | None = None) -> go.Figure:
    """The figure with this module's layout, plus ``layout``/``xaxis``/``yaxis`` tweaks on top.

    Log axes spanning two powers of ten or more are ticked at the powers of ten, written 10^k
    (:func:`decade_ticks`); the legend sits under the plot (:func:`legend_below`).

    Returns a new figure assembled in one construction: ``update_layout``/``update_xaxes`` on a
    figure validate through plotly's property-path machinery and cost about 35 ms per figure, ten
    times more than building the layout as one dictionary; on a page with several figures that
    was most of a rerun."""
    axis = dict(showgrid=True, gridcolor="#e6e9ee", zeroline=False, ticks="outside", showline=True, linecolor="#9aa5b1")
    ticks_x = decade_ticks(*_extent(fig, "x")) if log_x else {}
    ticks_y = decade_ticks(*_extent(fig, "y")) if log_y else {}
    legend, bottom = legend_below(rows=_legend_rows(fig))
    own = (layout or {}).get("legend")
    if (layout or {}).get("showlegend") is False:
        bottom = 60
    elif isinstance(own, dict) and "y" in own and "yref" not in own:
        # a figure that places its own legend (in paper coordinates) keeps it whole: merged into the
        # default, its y = -0.16 would be read in container coordinates, below the figure
        legend, bottom = dict(own), 60
        layout = {key: value for key, value in layout.items() if key != "legend"}
    base = dict(
        font=FONT, height=height + bottom - 60,
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=16)),
        margin=dict(l=70, r=20, t=60, b=bottom),
        legend=legend,
        hoverlabel=dict(font=dict(size=12)),
        xaxis=_merged(dict(title=dict(text=x_title, standoff=8), type="log" if log_x else "linear",
                           exponentformat="power", **axis, **ticks_x), xaxis),
        yaxis=_merged(dict(title=dict(text=y_title), type="log" if log_y else "linear",
                           exponentformat="power" if ticks_y or not log_y else "none", **axis, **ticks_y), yaxis),
    )
    return _assembled(fig, _merged(base, layout))


def _assembled(fig: go.Figure, layout: dict) -> go.Figure:
    """``fig`` with its layout updated by ``layout``, assigned as one dictionary."""
    fig.layout = _merged(fig.layout.to_plotly_json(), layout)
    return fig


def _vrect(x0: float, x1: float, **style) -> dict:
    """A rectangle spanning the plot's height between x0 and x1 (what ``add_vrect`` adds, without
    its 7 ms of shape processing)."""
    return dict(type="rect", x0=x0, x1=x1, xref="x", y0=0, y1=1, yref="y domain", **style)


def _vline(x: float, line: dict) -> dict:
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=line)


def _hline(y: float, line: dict) -> dict:
    return dict(type="line", x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y", line=line)


@dataclass(frozen=True)
class Slice:
    """A fitted two-input law along one IsoFLOP line C = k·N·D, against N (drawn over the runs)."""

    label: str  # the budget's label ("1e20")
    compute: float
    x: np.ndarray  # model sizes N
    y: np.ndarray  # the law's metric at (N, C / (k N))
    name: str = ""  # the family


def _slice_traces(slices: Sequence[Slice], colors: RunColors | None) -> list[go.Scatter]:
    numeric = colors is not None and colors.kind == "numeric"
    palette = colors.colors_of([np.log10(sl.compute) for sl in slices]) if numeric else ["#7b8794"] * len(slices)
    traces = []
    for i, (sl, color) in enumerate(zip(slices, palette)):
        law = FAMILIES[sl.name].label if sl.name in FAMILIES else sl.name
        traces.append(go.Scatter(
            x=sl.x, y=sl.y, mode="lines", line=dict(color=color, width=1.2), opacity=0.9, legendgroup="slices",
            name=f"{law} at each budget" if law else "fitted law at each budget", showlegend=i == 0,
            hovertemplate=f"{law} along C = {sl.label}<extra></extra>",
        ))
    return traces


def fit_figure(points: Points, curves: Sequence[CurveSpec], *, x_title: str, y_title: str, log_y: bool = True,
               data_max: float | None = None, target: float | None = None, marks: Sequence[TargetMark] = (),
               title: str = "Fits", height: int = 540, yaxis: dict | None = None,
               target_text: str | None = None, slices: Sequence[Slice] = ()) -> go.Figure:
    """The main log-log figure: runs (kept/excluded, coloured by ``points.colors``), each family's
    curve and band, and the extrapolated region from the largest run up to ``target`` shaded, with
    each family's prediction there as a diamond with its interval. The region is labelled
    ``target_text`` ("70B", as :func:`~scalecore.formatting.scale_text` writes it), by default
    :func:`short_number`. ``slices``: a two-input law along each IsoFLOP budget's line, thin, in
    the budget's colour (against N)."""
    fig = new_figure()
    extra = {}
    if target is not None and data_max is not None and np.isfinite(target) and target > data_max:
        extra["shapes"] = [_vrect(data_max, target, fillcolor="#f2c14e", opacity=0.13, line=dict(width=0), layer="below"),
                           _vline(target, dict(color="#b7791f", width=1.5, dash="dot"))]
        extra["annotations"] = [dict(x=np.log10(target), xref="x", y=1.0, yref="paper", yanchor="bottom",
                                     xanchor="right", text=f"extrapolation to {target_text or short_number(target)}",
                                     showarrow=False, font=dict(size=12, color="#8a5a0b"))]
    for c in curves:
        band = _band_trace(c)
        if band is not None:
            fig.add_trace(band)
    for trace in _slice_traces(slices, points.colors):
        fig.add_trace(trace)
    for trace in run_traces(points, x_title=x_title.split(" (")[0], y_title=y_title):
        fig.add_trace(trace)
    for c in curves:
        fig.add_trace(_curve_trace(c))
    for m in marks:
        if not np.isfinite(m.value):
            continue
        err_hi = m.high - m.value if np.isfinite(m.high) else 0.0
        err_lo = m.value - m.low if np.isfinite(m.low) else 0.0
        fig.add_trace(go.Scatter(
            x=[m.x], y=[m.value], mode="markers", legendgroup=m.name, showlegend=False,
            name=f"{FAMILIES[m.name].label if m.name in FAMILIES else m.name} at target",
            marker=dict(symbol="diamond", size=12, color=family_color(m.name), line=dict(width=1, color="white")),
            error_y=dict(type="data", symmetric=False, array=[err_hi], arrayminus=[err_lo],
                         color=family_color(m.name), thickness=2, width=8),
            hovertemplate=(m.text or "%{y:.4g}") + "<extra></extra>",
        ))
    return _base_layout(fig, title=title, x_title=x_title, y_title=y_title, log_x=True, log_y=log_y, height=height,
                        layout=extra, yaxis=yaxis)


@dataclass(frozen=True)
class ResidualSeries:
    name: str
    label: str
    x: np.ndarray
    residual: np.ndarray
    run_ids: np.ndarray
    hover: np.ndarray | None = None


def residuals_figure(series: Sequence[ResidualSeries], *, x_title: str, y_title: str = "log residual  ln(y) − ln(ŷ)",
                     title: str = "Residuals", height: int = 420) -> go.Figure:
    """Residuals of each family against x (one marker trace per family, customdata = run_id)."""
    fig = new_figure()
    for s in series:
        hover = s.hover if s.hover is not None else np.full(len(s.x), "", dtype=object)
        fig.add_trace(go.Scatter(
            x=s.x, y=s.residual, mode="markers", name=s.label, legendgroup=s.name,
            customdata=np.column_stack([np.asarray(s.run_ids, dtype=object), np.asarray(hover, dtype=object),
                                        hover_text(s.run_ids)]),
            marker=dict(size=7, color=family_color(s.name), opacity=0.75), showlegend=True,
            hovertemplate="<b>%{customdata[2]}</b><br>x %{x:.3~g}<br>residual %{y:.4f}<br>%{customdata[1]}<extra></extra>",
        ))
    return _base_layout(fig, title=title, x_title=x_title, y_title=y_title, log_x=True, log_y=False, height=height,
                        layout=dict(shapes=[_hline(0.0, dict(color="#52606d", width=1))]))


def bootstrap_scatter(samples_x: np.ndarray, samples_y: np.ndarray, *, name: str, x_param: str, y_param: str,
                      point: tuple[float, float], ci_x: tuple[float, float], ci_y: tuple[float, float],
                      log_x: bool = False, log_y: bool = False, interval_label: str = "",
                      title: str | None = None, height: int = 420) -> go.Figure:
    """The bootstrap distribution of two parameters, the best fit and the percentile intervals."""
    color = family_color(name)
    fig = new_figure()
    fig.add_trace(go.Scattergl(
        x=samples_x, y=samples_y, mode="markers", name=f"resamples ({len(samples_x)})",
        marker=dict(size=4, color=_rgba(color, 0.35)),
        hovertemplate=f"{x_param} %{{x:.4g}}<br>{y_param} %{{y:.4g}}<extra></extra>",
    ))
    x0, x1 = ci_x
    y0, y1 = ci_y
    fig.add_trace(go.Scatter(
        x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], mode="lines", name=interval_label or "interval",
        line=dict(color=color, width=1.5, dash="dash"), hoverinfo="skip",
    ))
    fig.add_trace(go.Scatter(
        x=[point[0]], y=[point[1]], mode="markers", name="best fit",
        marker=dict(symbol="star", size=14, color=color, line=dict(width=1, color="white")),
        hovertemplate=f"best fit<br>{x_param} %{{x:.4g}}<br>{y_param} %{{y:.4g}}<extra></extra>",
    ))
    label = FAMILIES[name].label if name in FAMILIES else name
    return _base_layout(fig, title=title or f"{label}: bootstrap distribution of {x_param} and {y_param}",
                        x_title=x_param, y_title=y_param, log_x=log_x, log_y=log_y, height=height,
                        layout=dict(margin=dict(r=20)),
                        yaxis=dict(exponentformat="power"))


def influence_figure(run_ids: Sequence[str], values: np.ndarray, *, name: str, value_title: str,
                     title: str = "Influence", hover: Sequence[str] | None = None, height: int | None = None) -> go.Figure:
    """Horizontal bars: how much leaving each run out moves the prediction (largest at the top).

    Bars carry ``customdata = run_id`` so clicking one selects that run.
    """
    ids = np.asarray(run_ids, dtype=object)
    values = np.asarray(values, float)
    hover = np.asarray(hover if hover is not None else [""] * len(ids), dtype=object)
    order = np.argsort(np.abs(values))  # plotly draws the first bar at the bottom
    color = family_color(name)
    fig = new_figure(go.Bar(
        x=values[order], y=ids[order], orientation="h", customdata=np.column_stack([ids[order], hover[order], hover_text(ids[order])]),
        marker=dict(color=[color if v >= 0 else _rgba(color, 0.55) for v in values[order]]),
        hovertemplate="<b>%{customdata[2]}</b><br>" + value_title + " %{x:.3g}<br>%{customdata[1]}<extra></extra>",
        name=value_title,
    ))
    return _base_layout(fig, title=title, x_title=value_title, y_title="", log_x=False, log_y=False,
                        height=height or max(300, 60 + 22 * len(ids)),
                        layout=dict(showlegend=False, margin=dict(l=110)),
                        yaxis=dict(type="category", showgrid=False, automargin=True))


@dataclass(frozen=True)
class ContourSpec:
    """Inputs of the (N, D) map of a two-input law."""

    name: str
    n_grid: np.ndarray
    d_grid: np.ndarray
    loss: np.ndarray  # (len(d_grid), len(n_grid))
    iso_flops: Sequence[float] = ()
    frontier_n: np.ndarray | None = None
    frontier_d: np.ndarray | None = None
    k: float = 6.0
    metric: str = "loss"
    extra: dict = field(default_factory=dict)


def nice_ticks(lo: float, hi: float, most: int = 7) -> np.ndarray:
    """Round values (steps of 1, 2, 2.5 or 5 times a power of ten) between ``lo`` and ``hi``, at most
    ``most`` of them: the colour bar of a loss from 1.83 to 5.9 reads 2, 3, 4, 5, not 1.83, 2.34, 2.99."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo <= 1e-6 * max(abs(hi), abs(lo)):
        return np.array([lo]) if np.isfinite(lo) else np.array([])
    for k in range(int(np.floor(np.log10(hi - lo))) - 2, int(np.ceil(np.log10(hi - lo))) + 2):
        for m in (1.0, 2.0, 2.5, 5.0):
            step = m * 10.0 ** k
            ticks = np.arange(np.ceil(lo / step - 1e-9) * step, hi + 1e-9 * step, step)
            if 2 <= len(ticks) <= most:
                return np.round(ticks, 12)
    return np.array([lo, hi])


def iso_flop_decades(budgets: Sequence[float]) -> list[float]:
    """IsoFLOP lines at the powers of ten of ``budgets``' span (1e20, 1e21, ...), not at the budgets'
    own values (a line labelled 7.94e20 reads as noise)."""
    c = np.asarray([b for b in budgets if np.isfinite(b) and b > 0], float)
    if not c.size:
        return []
    ks = range(int(np.floor(np.log10(c.min()) + 1e-9)), int(np.ceil(np.log10(c.max()) - 1e-9)) + 1)
    return [float(10.0 ** k) for k in ks]


def contour_figure(spec: ContourSpec, points: Points, *, title: str | None = None, height: int = 520) -> go.Figure:
    """The fitted metric over log N x log D as filled contours, iso-FLOP lines C = k N D at the powers
    of ten, the compute-optimal frontier, and the runs on top (kept and excluded). Coordinates are
    log10 (so the filled contours are straight on a log grid); the axes are ticked 10^k with real
    values, and the hovers write N, D and the metric through :mod:`scalecore.formatting`."""
    label = FAMILIES[spec.name].label if spec.name in FAMILIES else spec.name
    fig = new_figure()
    z = np.log10(spec.loss)
    lx, ly_grid = np.log10(spec.n_grid), np.log10(spec.d_grid)
    n_text, d_text = value_texts(spec.n_grid, "count"), value_texts(spec.d_grid, "count")
    # N and D as formatting writes them (90 + 90 numbers, joined per cell); the metric, a plain
    # number, through d3's ".4g" (no SI prefix): formatting 8,100 cells cost a rerun 0.1 s
    text = (("N " + n_text[None, :]) + ("<br>D " + d_text[:, None])).astype(str)  # unicode: copied as one block
    levels = np.log10(nice_ticks(float(np.nanmin(spec.loss)), float(np.nanmax(spec.loss))))
    fig.add_trace(go.Contour(
        x=lx, y=ly_grid, z=z, colorscale="Viridis", reversescale=True,
        ncontours=18, contours=dict(coloring="fill", showlines=True),
        line=dict(width=0.5, color="rgba(255,255,255,0.5)"),
        colorbar=dict(title=dict(text=f"{spec.metric}", side="right"), tickvals=levels,
                      ticktext=[short_number(v) for v in 10 ** levels], x=1.02, thickness=12),
        text=text, customdata=np.asarray(spec.loss, float),
        hovertemplate=f"%{{text}}<br>{html.escape(spec.metric)} %{{customdata:.4g}}<extra>{label}</extra>",
        name=f"{label} fit", showlegend=False,
    ))
    annotations = []
    iso_style = dict(color="rgba(255,255,255,0.9)", width=1.2, dash="dot")
    drawn = 0
    for c in iso_flop_decades(spec.iso_flops):
        ly = np.log10(c / (spec.k * spec.n_grid))
        keep = (ly >= ly_grid.min()) & (ly <= ly_grid.max())
        if keep.sum() < 2:
            continue
        drawn += 1
        fig.add_trace(go.Scatter(
            x=lx[keep], y=ly[keep], mode="lines", line=iso_style, name="iso-FLOP lines", legendgroup="iso",
            showlegend=False, hovertemplate=f"C = {format_value(c, 'flops', 2)} FLOP<extra></extra>",
        ))
        annotations.append(dict(x=lx[keep][0], y=ly[keep][0], text=format_value(c, "flops", 1), showarrow=False,
                                xanchor="left", yanchor="top", font=dict(size=10, color="white")))
    if drawn:  # the legend's sample of a white dotted line on white would be invisible: a grey one
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="iso-FLOP lines C = k·N·D",
                                 legendgroup="iso", line=dict(color="#52606d", width=1.5, dash="dot"), hoverinfo="skip"))
    if spec.frontier_n is not None and spec.frontier_d is not None:
        fig.add_trace(go.Scatter(
            x=np.log10(spec.frontier_n), y=np.log10(spec.frontier_d), mode="lines", name="compute-optimal frontier",
            line=dict(color=family_color(spec.name), width=3), hoverinfo="skip",
        ))
    kept = ~points.excluded
    for mask, name, marker in (
        (kept, f"runs ({int(kept.sum())})", dict(size=7, color="white", line=dict(width=1, color=KEPT_COLOR))),
        (~kept, f"excluded ({int((~kept).sum())})", dict(size=9, color=EXCLUDED_COLOR, symbol="x")),
    ):
        if not mask.any() and name.startswith("excluded"):
            continue
        fig.add_trace(go.Scatter(
            x=np.log10(np.asarray(points.x, float)[mask]), y=np.log10(np.asarray(points.y, float)[mask]),
            mode="markers", name=name, customdata=_customdata(points, mask), marker=marker,
            hovertemplate="<b>%{customdata[3]}</b><br>N %{customdata[4]} · D %{customdata[5]}<br>%{customdata[1]}"
                          "<extra></extra>",
        ))
    legend, bottom = legend_below(rows=_legend_rows(fig))
    return _assembled(fig, dict(
        font=FONT, height=height + bottom - 60, annotations=annotations,
        title=dict(text=title or f"{label}: fitted {spec.metric} over model size and tokens", x=0.0, font=dict(size=16)),
        margin=dict(l=70, r=20, t=60, b=bottom), legend=legend,
        xaxis=dict(title=dict(text="model size N (parameters)", standoff=8), range=[lx.min(), lx.max()], showgrid=False,
                   ticks="outside", **decade_ticks(lx.min(), lx.max(), log_values=True)),
        yaxis=dict(title=dict(text="training tokens D"), range=[ly_grid.min(), ly_grid.max()], showgrid=False,
                   ticks="outside", **decade_ticks(ly_grid.min(), ly_grid.max(), log_values=True)),
    ))


@dataclass(frozen=True)
class ChainMark:
    """The chained prediction at a target: step 1's loss and the accuracy, each with an interval."""

    loss: float
    loss_low: float
    loss_high: float
    value: float
    low: float
    high: float
    text: str = ""


def accuracy_loss_figure(points: Points, loss_grid: np.ndarray, point: np.ndarray, lower: np.ndarray,
                         upper: np.ndarray, *, mark: ChainMark | None = None, loss_title: str = "loss",
                         accuracy_title: str = "accuracy", band_label: str = "", title: str | None = None,
                         height: int = 480) -> go.Figure:
    """Step 2 of a two-step prediction: accuracy against loss, the fitted logistic map with its band,
    the runs (kept and excluded, ``customdata[:, 0] = run_id``) and the target's chained prediction
    (a diamond with the interval of step 1's loss across and of the accuracy up and down). The loss
    axis is reversed, so that better models (lower loss) are to the right, as on a scale axis; the
    losses below the lowest run are shaded as extrapolation."""
    name = "logistic"
    color = family_color(name)
    fig = new_figure()
    x_min = float(np.nanmin(points.x)) if len(points.x) else None
    shapes = []
    if mark is not None and x_min is not None and np.isfinite(mark.loss) and mark.loss < x_min:
        shapes.append(_vrect(min(mark.loss_low if np.isfinite(mark.loss_low) else mark.loss, float(np.min(loss_grid))),
                             x_min, fillcolor="#f2c14e", opacity=0.13, line=dict(width=0), layer="below"))
    ok = np.isfinite(lower) & np.isfinite(upper)
    if ok.sum() >= 2:
        x = np.asarray(loss_grid, float)[ok]
        fig.add_trace(go.Scatter(
            x=np.concatenate([x, x[::-1]]), y=np.concatenate([np.asarray(lower)[ok], np.asarray(upper)[ok][::-1]]),
            mode="lines", fill="toself", fillcolor=_rgba(color, 0.18), line=dict(width=0), hoverinfo="skip",
            name=band_label or "step 2 band", legendgroup=name, showlegend=False,
        ))
    for trace in run_traces(points, x_title=loss_title, y_title=accuracy_title):
        trace.hovertemplate = trace.hovertemplate.replace("%{x:.3~g}", "%{x:.4g}")
        fig.add_trace(trace)
    fig.add_trace(go.Scatter(
        x=loss_grid, y=point, mode="lines", name=f"{accuracy_title} from {loss_title} (step 2)", legendgroup=name,
        line=dict(color=color, width=2.5),
        hovertemplate=f"{loss_title} %{{x:.4g}}<br>{accuracy_title} %{{y:.4g}}<extra></extra>",
    ))
    if mark is not None and np.isfinite(mark.value) and np.isfinite(mark.loss):
        fig.add_trace(go.Scatter(
            x=[mark.loss], y=[mark.value], mode="markers", name="target (chained)", legendgroup="target",
            marker=dict(symbol="diamond", size=13, color="#b7791f", line=dict(width=1, color="white")),
            error_y=dict(type="data", symmetric=False, array=[mark.high - mark.value],
                         arrayminus=[mark.value - mark.low], color="#b7791f", thickness=2, width=8),
            error_x=dict(type="data", symmetric=False, array=[mark.loss_high - mark.loss],
                         arrayminus=[mark.loss - mark.loss_low], color="#b7791f", thickness=2, width=8),
            hovertemplate=(mark.text or "%{y:.4g}") + "<extra></extra>",
        ))
    return _base_layout(fig, title=title or f"Step 2: {accuracy_title} against {loss_title}",
                        x_title=f"{loss_title} (reversed: lower to the right)", y_title=accuracy_title, log_x=False,
                        log_y=False, height=height, layout=dict(shapes=shapes),
                        xaxis=dict(autorange="reversed", exponentformat="none"),
                        yaxis=dict(exponentformat="none"))


# ------------------------------------------------------------------------------ IsoFLOP profiles and curves
# (Approaches 1 and 2: scalecore.isoflop, scalecore.curves)

# Colours of ordered things (compute budgets, model sizes): small = dark blue, large = yellow.
def sequential_colors(n: int) -> list[str]:
    from plotly.colors import sample_colorscale

    return sample_colorscale("Viridis", [0.0] if n <= 1 else list(np.linspace(0.0, 0.9, n)))


APPROACH_COLORS = {"approach2": "#D55E00", "approach3": FAMILY_COLORS.get("chinchilla", "#009E73"),
                   "approach1": "#0072B2"}


def isoflop_profiles_figure(result, excluded: Points | None = None, *, y_title: str = "loss",
                            title: str = "IsoFLOP profiles", height: int = 560) -> go.Figure:
    """One colour per compute budget: its runs (``customdata[:, 0] = run_id``, clickable), the robust
    parabola over its sweep and the minimum with its interval (a star; hollow and dashed when the sweep
    does not bracket it). Excluded runs are grey crosses, still clickable."""
    fig = new_figure()
    profiles = list(result.profiles)
    colors = sequential_colors(len(profiles))
    for p, color in zip(profiles, colors):
        group = f"budget {p.label}"
        hover = np.array([f"C = {short_number(p.compute)} · robust weight {w:.2f}" for w in p.weights], dtype=object)
        pts = Points(x=p.params, y=p.loss, run_ids=p.run_ids, excluded=np.zeros(len(p.params), bool), hover=hover)
        fig.add_trace(go.Scatter(
            x=p.params, y=p.loss, mode="markers", name=f"C = {short_number(p.compute)} ({p.n_runs})",
            legendgroup=group, customdata=_customdata(pts, np.ones(len(p.params), bool)),
            marker=dict(size=7, color=color, opacity=np.where(p.weights < 0.5, 0.35, 0.85).tolist(),
                        symbol=np.where(p.weights < 0.5, "circle-open", "circle").tolist(), line=dict(width=1, color=color)),
            hovertemplate=f"<b>%{{customdata[3]}}</b><br>N %{{x:.3~g}}<br>{y_title} %{{y:.4g}}<br>%{{customdata[1]}}<extra></extra>",
        ))
        if not p.has_minimum and not np.isfinite(p.centre):
            continue
        grid = np.exp(np.linspace(p.centre - 1.1 * p.scale, p.centre + 1.1 * p.scale, 80))
        fig.add_trace(go.Scatter(
            x=grid, y=p.predict(grid), mode="lines", legendgroup=group, showlegend=False, hoverinfo="skip",
            line=dict(color=color, width=1.8, dash="solid" if p.bracketed else "dash"),
        ))
        if p.has_minimum and np.isfinite(p.n_opt):
            lo = p.n_opt - p.n_opt_low if np.isfinite(p.n_opt_low) else 0.0
            hi = p.n_opt_high - p.n_opt if np.isfinite(p.n_opt_high) else 0.0
            fig.add_trace(go.Scatter(
                x=[p.n_opt], y=[p.loss_opt], mode="markers", legendgroup=group, showlegend=False,
                marker=dict(symbol="star" if p.bracketed else "star-open", size=15, color=color,
                            line=dict(width=1, color="#1f2933")),
                error_x=dict(type="data", symmetric=False, array=[max(hi, 0.0)], arrayminus=[max(lo, 0.0)],
                             color=color, thickness=1.5, width=5),
                hovertemplate=(f"<b>minimum of C = {short_number(p.compute)}</b><br>N* %{{x:.3~g}} "
                               f"[{short_number(p.n_opt_low)}, {short_number(p.n_opt_high)}]<br>{y_title} %{{y:.4g}}"
                               + ("" if p.bracketed else "<br><b>the sweep does not bracket it</b>")
                               + "<extra></extra>"),
            ))
    if excluded is not None and len(excluded.x):
        mask = np.ones(len(excluded.x), bool)
        fig.add_trace(go.Scatter(
            x=excluded.x, y=excluded.y, mode="markers", name=f"excluded ({len(excluded.x)})",
            customdata=_customdata(excluded, mask), marker=dict(size=9, color=EXCLUDED_COLOR, symbol="x"),
            hovertemplate=(f"<b>%{{customdata[3]}}</b> (excluded: %{{customdata[2]}})<br>N %{{x:.3~g}}<br>{y_title} "
                           "%{y:.4g}<extra></extra>"),
        ))
    return _base_layout(fig, title=title, x_title="model size N (parameters)", y_title=y_title, log_x=True,
                        log_y=True, height=height)


def isoflop_frontier_figure(result, *, compute_grid: np.ndarray, approach3: CurveSpec | None = None,
                            title: str = "Compute-optimal model size", height: int = 480) -> go.Figure:
    """N* against C: each budget's minimum with its interval (hollow: left out of the fit), Approach 2's
    frontier N* = k C^a with its band and, when given, Approach 3's (the chinchilla family) beside it."""
    fig = new_figure()
    point, lower, upper = result.frontier_band(compute_grid)
    a = result.estimates["a"]
    spec2 = CurveSpec(name="approach2", label=f"Approach 2: N* ∝ C^{a.value:.3f}", x=compute_grid, y=point,
                      lower=lower, upper=upper)
    specs = [spec2] + ([approach3] if approach3 is not None else [])
    for c in specs:
        color = APPROACH_COLORS.get(c.name, family_color(c.name))
        ok = np.isfinite(c.lower) & np.isfinite(c.upper) if c.lower is not None else None
        if ok is not None and ok.sum() >= 2:
            x = np.asarray(c.x, float)[ok]
            fig.add_trace(go.Scatter(
                x=np.concatenate([x, x[::-1]]), y=np.concatenate([np.asarray(c.lower)[ok], np.asarray(c.upper)[ok][::-1]]),
                mode="lines", fill="toself", fillcolor=_rgba(color, 0.16), line=dict(width=0), hoverinfo="skip",
                legendgroup=c.name, showlegend=False, name=f"{c.label} band"))
        fig.add_trace(go.Scatter(
            x=c.x, y=c.y, mode="lines", name=c.label, legendgroup=c.name, line=dict(color=color, width=2.5, dash=c.dash),
            hovertemplate=f"{c.label}<br>C %{{x:.3~g}}<br>N* %{{y:.3~g}}<extra></extra>"))
    for used in (True, False):
        ps = [p for p in result.profiles if p.used == used and np.isfinite(p.n_opt)]
        if not ps:
            continue
        x = np.array([p.compute for p in ps])
        y = np.array([p.n_opt for p in ps])
        lo = np.array([p.n_opt - p.n_opt_low for p in ps])
        hi = np.array([p.n_opt_high - p.n_opt for p in ps])
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="markers", name="budget minima" + ("" if used else " left out (not bracketed)"),
            marker=dict(symbol="star" if used else "star-open", size=13,
                        color=APPROACH_COLORS["approach2"] if used else EXCLUDED_COLOR, line=dict(width=1, color="#1f2933")),
            error_y=dict(type="data", symmetric=False, array=np.nan_to_num(np.maximum(hi, 0)),
                         arrayminus=np.nan_to_num(np.maximum(lo, 0)), thickness=1.5, width=5,
                         color=APPROACH_COLORS["approach2"] if used else EXCLUDED_COLOR),
            customdata=np.array([p.label for p in ps], dtype=object),
            hovertemplate="budget %{customdata}<br>C %{x:.3~g}<br>N* %{y:.3~g}<extra></extra>"))
    return _base_layout(fig, title=title, x_title="training compute C (FLOP)", y_title="compute-optimal model size N*",
                        log_x=True, log_y=True, height=height, yaxis=dict(exponentformat="power"))


def loss_curves_figure(curves, env, *, excluded: dict | None = None, max_points: int = 300,
                       title: str = "Training curves and their lower envelope", height: int = 580) -> go.Figure:
    """Every run's curve against compute (thin, coloured by model size, at most ``max_points`` shown per
    run), its last point as a clickable marker (``customdata[:, 0] = run_id``), and the envelope drawn
    thick in the colour of the run that sets it (hollow where it is not bracketed)."""
    excluded = excluded or {}
    fig = new_figure()
    runs = curves.runs
    order = np.argsort(runs["params"].to_numpy(float), kind="stable")
    colors = dict(zip(order.tolist(), sequential_colors(len(order))))
    ids = curves.run_ids.astype(str)
    counts = runs["n_points"].to_numpy()
    ends = np.cumsum(counts)
    starts = ends - counts
    for r in order:
        s, e = starts[r], ends[r]
        take = np.unique(np.linspace(s, e - 1, min(max_points, e - s)).astype(int))
        gone = ids[r] in excluded
        fig.add_trace(go.Scattergl(
            x=curves.compute[take], y=curves.loss[take], mode="lines", legendgroup=ids[r], showlegend=False,
            line=dict(color=EXCLUDED_COLOR if gone else colors[r], width=1, dash="dot" if gone else "solid"),
            opacity=0.45 if gone else 0.35, hoverinfo="skip", name=ids[r]))
    finals = Points(x=runs["compute_max"].to_numpy(float), y=runs["final"].to_numpy(float), run_ids=ids,
                    excluded=np.isin(ids, list(excluded)),
                    hover=np.array([f"N {short_number(v)} · {c} points" for v, c in zip(runs["params"], counts)], dtype=object),
                    reasons=np.array([excluded.get(i, "") for i in ids], dtype=object))
    kept = ~finals.excluded
    fig.add_trace(go.Scatter(
        x=finals.x[kept], y=finals.y[kept], mode="markers", name=f"runs ({int(kept.sum())}): last point",
        customdata=_customdata(finals, kept),
        marker=dict(size=9, color=[colors[r] for r in np.flatnonzero(kept)], line=dict(width=1, color="white")),
        hovertemplate="<b>%{customdata[3]}</b><br>C %{x:.3~g}<br>final %{y:.4g}<br>%{customdata[1]}<extra></extra>"))
    if (~kept).any():
        fig.add_trace(go.Scatter(
            x=finals.x[~kept], y=finals.y[~kept], mode="markers", name=f"excluded ({int((~kept).sum())})",
            customdata=_customdata(finals, ~kept), marker=dict(size=10, color=EXCLUDED_COLOR, symbol="x"),
            hovertemplate="<b>%{customdata[3]}</b> (excluded: %{customdata[2]})<br>C %{x:.3~g}<extra></extra>"))
    ok = env.run >= 0
    fig.add_trace(go.Scatter(
        x=env.compute[ok], y=env.loss[ok], mode="lines", name="lower envelope", line=dict(color="#1f2933", width=3),
        hoverinfo="skip"))
    for bracketed in (True, False):
        m = ok & (env.bracketed == bracketed)
        if not m.any():
            continue
        fig.add_trace(go.Scatter(
            x=env.compute[m], y=env.loss[m], mode="markers",
            name="envelope, set by the run of that colour" if bracketed else "envelope, not bracketed",
            marker=dict(size=8, color=[colors[r] for r in env.run[m]], symbol="circle" if bracketed else "circle-open",
                        line=dict(width=1.2 if bracketed else 2, color="#1f2933" if bracketed else [colors[r] for r in env.run[m]])),
            customdata=np.column_stack([hover_text(env.run_ids[m]), env.params[m]]),
            hovertemplate="envelope at C %{x:.3~g}: %{y:.4g}<br>set by <b>%{customdata[0]}</b> (N %{customdata[1]:.3~g})"
                          "<extra></extra>"))
    return _base_layout(fig, title=title, x_title="training compute C = 6·N·tokens (FLOP)", y_title=curves.metric,
                        log_x=True, log_y=True, height=height)


# ------------------------------------------------------------------------------ compute-optimal allocation

#: Colours of the published laws drawn over a fit's compute-optimal allocation.
PUBLISHED_COLORS = {"hoffmann2022": "#52606d", "besiroglu2024": "#8a5a0b", "kaplan2020": "#9b2c2c"}
_DASHES = ("dash", "dot", "dashdot", "longdash")


def compute_optimal_figure(curves: Sequence[CurveSpec], published: Sequence[CurveSpec] = (), *, y_title: str,
                           title: str, data_range: tuple[float, float] | None = None,
                           height: int = 460) -> go.Figure:
    """A compute-optimal quantity (N*, D* or D*/N*) against compute C: each fitted law's curve
    with its bootstrap band (``curves``, in the family's colour), the published laws as thin dashed
    lines (``published``, their ``name`` a key of :data:`PUBLISHED_COLORS`), and the compute of the
    runs (``data_range``) shaded, so what lies right of it reads as extrapolation."""
    fig = new_figure()
    for c in curves:
        band = _band_trace(c)
        if band is not None:
            band.showlegend = True
            band.name = c.band_label or f"{c.label} band"
            fig.add_trace(band)
        fig.add_trace(_curve_trace(c))
    for i, c in enumerate(published):
        fig.add_trace(go.Scatter(
            x=c.x, y=c.y, mode="lines", name=c.label, legendgroup=c.name,
            line=dict(color=PUBLISHED_COLORS.get(c.name, "#7b8794"), width=1.6, dash=_DASHES[i % len(_DASHES)]),
            customdata=curve_customdata(c),
            hovertemplate=f"{c.label}<br>{c.x_title} %{{customdata[0]}}<br>{c.y_title} %{{customdata[1]}}<extra></extra>",
        ))
    extra = {}
    if data_range is not None and all(np.isfinite(data_range)):
        extra["shapes"] = [_vrect(data_range[0], data_range[1], fillcolor="#9aa5b1", opacity=0.12, line=dict(width=0),
                                  layer="below")]
        extra["annotations"] = [dict(x=np.log10(data_range[1]), xref="x", y=1.0, yref="paper", yanchor="bottom",
                                     xanchor="right", text="runs", showarrow=False, font=dict(size=11, color="#52606d"))]
    return _base_layout(fig, title=title, x_title="training compute C (FLOP)", y_title=y_title, log_x=True, log_y=True,
                        height=height, layout=extra)


def candidates_figure(ranking, chosen: Sequence[tuple[float, float]] = (), *, title: str | None = None,
                      height: int = 520) -> go.Figure:
    """What to run next (:class:`scalecore.design.Ranking`): the candidate runs in the N-D plane
    coloured by the expected shrink of the target's interval per FLOP (log colour scale), the runs
    the law was fitted to, the compute limit per run (C = k·N·D) and the ``chosen`` hypothetical
    runs. Each candidate's ``customdata`` is ``("candidate", params, tokens, hover text)``, so a
    click or a box selection names the candidate's N and D."""
    from .formatting import format_value

    t = ranking.table
    fig = new_figure()
    n_grid = np.geomspace(float(t["params"].min()), float(t["params"].max()), 50)
    fig.add_trace(go.Scatter(
        x=n_grid, y=ranking.max_compute / (ranking.k * n_grid), mode="lines", name="compute limit per run",
        line=dict(color="#9aa5b1", width=1.2, dash="dot"), hoverinfo="skip"))
    spf = np.asarray(t["shrink_per_flop"], float)
    with np.errstate(divide="ignore"):
        colour = np.log10(np.where(spf > 0, spf, np.nan))
    finite = colour[np.isfinite(colour)]
    floor = float(finite.min()) if finite.size else 0.0
    colour = np.where(np.isfinite(colour), colour, floor)
    kind = ranking.target.format_kind
    hover = [f"rank {int(r)}<br>N {format_value(n, 'count')}, D {format_value(d, 'count')}<br>"
             f"C {format_value(c, 'flops')} FLOPs<br>interval after [{format_value(lo, kind)}, "
             f"{format_value(hi, kind)}]<br>shrink {format_value(s, 'fraction')}"
             for r, n, d, c, lo, hi, s in zip(t["rank"], t["params"], t["tokens"], t["compute"], t["low_after"],
                                              t["high_after"], t["shrink_fraction"])]
    custom = np.empty((len(t), 4), dtype=object)
    custom[:, 0], custom[:, 1], custom[:, 2], custom[:, 3] = "candidate", t["params"], t["tokens"], hover
    ticks = np.arange(np.floor(colour.min()), np.ceil(colour.max()) + 1) if len(colour) else []
    fig.add_trace(go.Scatter(
        x=t["params"], y=t["tokens"], mode="markers", name="candidate runs", customdata=custom,
        marker=dict(size=11, symbol="square", color=colour, colorscale="Viridis",
                    colorbar=dict(title=dict(text="shrink per FLOP", side="right"), tickvals=list(ticks),
                                  ticktext=[short_number(10 ** v) for v in ticks], x=1.02),
                    line=dict(width=0)),
        hovertemplate="%{customdata[3]}<extra></extra>"))
    runs_custom = np.array([["run", n, d, f"run: N {format_value(n, 'count')}, D {format_value(d, 'count')}"]
                            for n, d in zip(ranking.runs_params, ranking.runs_tokens)], dtype=object).reshape(-1, 4)
    fig.add_trace(go.Scatter(
        x=ranking.runs_params, y=ranking.runs_tokens, mode="markers", name=f"runs fitted ({len(ranking.runs_params)})",
        customdata=runs_custom, marker=dict(size=6, color="white", line=dict(width=1, color=KEPT_COLOR)),
        hovertemplate="%{customdata[3]}<extra></extra>"))
    top = t.iloc[0]
    # the marks drawn over candidates carry the same customdata, so a click on them names the candidate too
    fig.add_trace(go.Scatter(
        x=[top["params"]], y=[top["tokens"]], mode="markers", name="top candidate",
        customdata=custom[:1], marker=dict(size=18, symbol="square-open", color="#D55E00", line=dict(width=2.5)),
        hovertemplate="%{customdata[3]}<extra></extra>"))
    if len(chosen):
        ch = np.asarray(chosen, float).reshape(-1, 2)
        ch_custom = np.array([["candidate", n, d, f"chosen: N {format_value(n, 'count')}, D {format_value(d, 'count')}"
                               "<br>click to remove"] for n, d in ch], dtype=object)
        fig.add_trace(go.Scatter(
            x=ch[:, 0], y=ch[:, 1], mode="markers", name=f"chosen ({len(ch)})", customdata=ch_custom,
            marker=dict(size=16, symbol="star", color="#CC79A7", line=dict(width=1, color=KEPT_COLOR)),
            hovertemplate="%{customdata[3]}<extra></extra>"))
    return _base_layout(fig, title=title or f"Where a new run shrinks the interval of the {ranking.target.label}",
                        x_title="model size N (parameters)", y_title="training tokens D", log_x=True, log_y=True,
                        height=height, layout=dict(legend=dict(orientation="h", x=0.0, y=-0.16, xanchor="left",
                                                               yanchor="top")),
                        yaxis=dict(exponentformat="power"))
def sensitivity_tornado(result, quantity: str | None = None, *, height: int | None = None) -> go.Figure:
    """Tornado plot of a :class:`~scalecore.sensitivity.Sensitivity`: one horizontal bar per
    alternative, its shift of ``quantity`` (N* or D* in decades, the loss in percent) against the
    baseline, largest at the top; whiskers are the alternative's interval in the same units, the
    shaded band the baseline's. Rows that could not be fitted are left out."""
    from .sensitivity import QUANTITIES, shift, shift_text
    from .uncertainty import Estimate

    q = quantity or result.quantities[0]
    if q not in QUANTITIES:
        raise ValueError(f"`quantity` must be one of {', '.join(QUANTITIES)}; got {quantity!r}")
    base = result.baseline.value(q)
    unit = "decades" if q in ("params", "tokens") else "%"
    title_q = {"params": "N*", "tokens": "D*", "loss": "loss at the target"}[q]

    def moved(v: float) -> float:
        return shift(base, Estimate(v, v, v), q)

    rows = [r for r in result.rows if r.ok and np.isfinite(result.shift(r, q))]
    rows.sort(key=lambda r: abs(result.shift(r, q)))  # plotly draws the first bar at the bottom
    labels = [f"{r.choice}: {r.alternative}" for r in rows]
    values = np.array([result.shift(r, q) for r in rows], float)
    lows = np.array([moved(r.value(q).low) for r in rows], float)
    highs = np.array([moved(r.value(q).high) for r in rows], float)
    texts = [shift_text(v, q) for v in values]
    color = _COLORS[0]
    fig = new_figure(go.Bar(
        x=values, y=labels, orientation="h", name=f"shift of {title_q}",
        marker=dict(color=[color if v >= 0 else _rgba(color, 0.55) for v in values]),
        error_x=dict(type="data", symmetric=False, array=np.nan_to_num(highs - values),
                     arrayminus=np.nan_to_num(values - lows), color="#52606d", thickness=1.2),
        text=texts, textposition="outside", cliponaxis=False,
        customdata=np.array([[r.value(q).text(QUANTITIES[q])] for r in rows], dtype=object).reshape(-1, 1),
        hovertemplate="<b>%{y}</b><br>shift %{text}<br>" + title_q + " %{customdata[0]}<extra></extra>",
    ))
    shapes = [_vline(0.0, dict(color="#1f2933", width=1))]
    b_lo, b_hi = moved(base.low), moved(base.high)
    if np.isfinite(b_lo) and np.isfinite(b_hi):
        shapes.insert(0, _vrect(b_lo, b_hi, fillcolor="rgba(31,41,51,0.08)", line=dict(width=0), layer="below"))
    return _base_layout(fig, title=f"How far {title_q} moves (baseline {base.text(QUANTITIES[q])})",
                        x_title=f"shift against the baseline ({unit})", y_title="", log_x=False, log_y=False,
                        height=height or max(300, 80 + 28 * len(rows)),
                        layout=dict(showlegend=False, margin=dict(l=300), shapes=shapes),
                        yaxis=dict(type="category", showgrid=False, automargin=True))
# ------------------------------------------------------------------------------ backtest

BAND_NAMES = {"confidence": "confidence band of the mean", "prediction": "prediction band (adds run-to-run noise)"}


def backtest_figure(backtests: Sequence, forecasts: dict, *, kind: str, x_title: str, y_title: str,
                    title: str = "Backtest: fitted below the cutoff, predicted above it", height: int = 540) -> go.Figure:
    """The runs a backtest trained on (filled), the held-out runs (open circles), each family's
    forecast over a grid with its band (``forecasts``: family -> (xs, Band) from
    :meth:`scalecore.backtest.Backtest.forecast`), each held-out run's forecast with its
    ``kind`` interval as an error bar, and the cutoff as a dotted line.

    For a law in N and D the drawn curve is its compute-optimal frontier, and runs off the optimum
    lie above it: their own forecasts are the error bars."""
    fig = new_figure()
    ok = [bt for bt in backtests if bt.ok]
    for bt in ok:
        if bt.family in forecasts:
            xs, band = forecasts[bt.family]
            label = FAMILIES[bt.family].label if bt.family in FAMILIES else bt.family
            trace = _band_trace(CurveSpec(bt.family, label, xs, band.point, band.lower, band.upper))
            if trace is not None:
                fig.add_trace(trace)
    shapes = []
    if ok:
        first = ok[0]
        prob = first.fit.problem
        fig.add_trace(go.Scatter(
            x=first.train_scale, y=prob.y_values, mode="markers", name=f"training runs ({first.n_train})",
            customdata=hover_text(prob.run_ids), marker=dict(size=7, color=KEPT_COLOR, opacity=0.75),
            hovertemplate=f"<b>%{{customdata}}</b> (training)<br>%{{x:.3s}}<br>{y_title} %{{y:.4g}}<extra></extra>"))
        held = first.table
        fig.add_trace(go.Scatter(
            x=held[first.by], y=held["actual"], mode="markers", name=f"held-out runs ({first.n_test})",
            customdata=hover_text(held["run_id"]),
            marker=dict(size=9, color="white", line=dict(width=1.5, color=KEPT_COLOR)),
            hovertemplate=f"<b>%{{customdata}}</b> (held out)<br>%{{x:.3s}}<br>{y_title} %{{y:.4g}}<extra></extra>"))
        shapes.append(_vline(first.cutoff, dict(color="#b7791f", width=1.5, dash="dot")))
    lo, hi = ("ci_low", "ci_high") if kind == "confidence" else ("pi_low", "pi_high")
    for bt in ok:
        label = FAMILIES[bt.family].label if bt.family in FAMILIES else bt.family
        color = family_color(bt.family)
        if bt.family in forecasts:
            xs, band = forecasts[bt.family]
            fig.add_trace(_curve_trace(CurveSpec(bt.family, f"{label} forecast", xs, band.point)))
        t = bt.table
        pred = t["predicted"].to_numpy(float)
        err_hi = np.nan_to_num(t[hi].to_numpy(float) - pred)
        err_lo = np.nan_to_num(pred - t[lo].to_numpy(float))
        fig.add_trace(go.Scatter(
            x=t[bt.by], y=pred, mode="markers", legendgroup=bt.family, name=f"{label}: held-out forecasts",
            customdata=hover_text(t["run_id"]),
            marker=dict(symbol="diamond", size=7, color=color),
            error_y=dict(type="data", symmetric=False, array=err_hi, arrayminus=err_lo, color=color, thickness=1.2,
                         width=3),
            hovertemplate=f"{label} for <b>%{{customdata}}</b><br>%{{y:.4g}}<extra></extra>"))
    return _base_layout(fig, title=title, x_title=x_title, y_title=y_title, log_x=True, log_y=True, height=height,
                        layout={"shapes": shapes})


def rolling_backtest_figure(rollings: Sequence, *, title: str = "Rolling backtest: error against distance",
                            height: int = 420) -> go.Figure:
    """Every cutoff in turn (:class:`scalecore.backtest.RollingBacktest`): each held-out run's
    signed relative error (%) against how far it lies beyond the largest training run, in decades."""
    fig = new_figure()
    for rb in rollings:
        t = rb.table
        if t.empty:
            continue
        label = FAMILIES[rb.family].label if rb.family in FAMILIES else rb.family
        fig.add_trace(go.Scatter(
            x=t["decades"], y=t["error_pct"], mode="markers", name=label,
            customdata=np.column_stack([hover_text(t["run_id"]), t["cutoff"].to_numpy(float)]),
            marker=dict(size=6, color=family_color(rb.family), opacity=0.5),
            hovertemplate=(f"{label}: <b>%{{customdata[0]}}</b><br>%{{x:.2f}} decades out, cutoff %{{customdata[1]:.3s}}"
                           "<br>error %{y:+.2f}%<extra></extra>")))
    return _base_layout(fig, title=title, x_title="decades beyond the largest training run",
                        y_title="error (predicted − actual) / actual, %", log_x=False, log_y=False, height=height,
                        layout={"shapes": [_hline(0.0, dict(color="#9aa5b1", width=1))]})

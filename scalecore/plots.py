"""Plotly figures of fits, bands and diagnostics. Returns ``go.Figure``; never imports streamlit.

Conventions shared by every figure:

- runs are two marker traces, kept and excluded, each with ``customdata[:, 0] = run_id`` so a
  click, box or lasso selection identifies runs unambiguously (never by point index);
- excluded runs stay visible: grey, an "x" symbol, still clickable (to include them again);
- each family has one colour everywhere (:func:`family_color`), its band is the same colour
  with transparency, and the legend names the family;
- ``dragmode`` is left unset, so a click selects a point and Box/Lasso are in the toolbar.
"""

from __future__ import annotations

import html

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .families import FAMILIES
from .formatting import short_number

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


@dataclass(frozen=True)
class TargetMark:
    """The prediction of one family at the extrapolation target."""

    name: str
    x: float
    value: float
    low: float
    high: float
    text: str = ""


def _customdata(points: Points, mask: np.ndarray) -> np.ndarray:
    ids = np.asarray(points.run_ids, dtype=object)[mask]
    hover = (np.asarray(points.hover, dtype=object)[mask] if points.hover is not None
             else np.full(mask.sum(), "", dtype=object))
    reasons = (np.asarray(points.reasons, dtype=object)[mask] if points.reasons is not None
               else np.full(mask.sum(), "", dtype=object))
    if not mask.any():
        return np.empty((0, 4), dtype=object)
    return np.column_stack([ids, hover, hover_text(reasons), hover_text(ids)])


def hover_text(values) -> np.ndarray:
    """User text (run ids, groups, reasons) for a hover: plotly reads <b>, <a href> ... in text as
    markup; escaped, it stays text. (In the traces here the raw run id stays in customdata[0],
    which is what a selection sends back.)"""
    return np.array([html.escape(str(v), quote=False) for v in values], dtype=object)


def run_traces(points: Points, *, x_title: str = "x", y_title: str = "y", kept_name: str | None = None,
               show_legend: bool = True) -> list[go.Scatter]:
    """Kept and excluded runs as two marker traces with ``customdata[:, 0] = run_id``."""
    kept = ~points.excluded
    n_exc = int(points.excluded.sum())
    traces = [
        go.Scatter(
            x=np.asarray(points.x, float)[kept], y=np.asarray(points.y, float)[kept], mode="markers",
            name=kept_name or f"runs ({int(kept.sum())})", customdata=_customdata(points, kept),
            marker=dict(size=7, color=KEPT_COLOR, opacity=0.75, line=dict(width=0.5, color="white")),
            hovertemplate=(f"<b>%{{customdata[3]}}</b><br>{x_title} %{{x:.3s}}<br>{y_title} %{{y:.4g}}"
                           "<br>%{customdata[1]}<extra></extra>"),
            showlegend=show_legend, legendrank=1,
        ),
        go.Scatter(
            x=np.asarray(points.x, float)[~kept], y=np.asarray(points.y, float)[~kept], mode="markers",
            name=f"excluded ({n_exc})", customdata=_customdata(points, ~kept),
            marker=dict(size=9, color=EXCLUDED_COLOR, symbol="x", line=dict(width=0)),
            hovertemplate=(f"<b>%{{customdata[3]}}</b> (excluded: %{{customdata[2]}})<br>{x_title} %{{x:.3s}}"
                           f"<br>{y_title} %{{y:.4g}}<br>%{{customdata[1]}}<extra></extra>"),
            showlegend=show_legend and n_exc > 0, legendrank=2,
        ),
    ]
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


def _curve_trace(c: CurveSpec) -> go.Scatter:
    return go.Scatter(
        x=c.x, y=c.y, mode="lines", name=c.label, legendgroup=c.name,
        line=dict(color=family_color(c.name), width=2.5, dash=c.dash),
        hovertemplate=f"{c.label}<br>x %{{x:.3s}}<br>y %{{y:.4g}}<extra></extra>",
    )


def _merged(base: dict, extra: dict | None) -> dict:
    """``base`` updated by ``extra``, nested dicts merged key by key (as ``update_layout`` does)."""
    out = dict(base)
    for key, value in (extra or {}).items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _base_layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, log_x: bool, log_y: bool,
                 height: int = 520, layout: dict | None = None, xaxis: dict | None = None,
                 yaxis: dict | None = None) -> go.Figure:
    """The figure with this module's layout, plus ``layout``/``xaxis``/``yaxis`` tweaks on top.

    Returns a new figure assembled in one construction: ``update_layout``/``update_xaxes`` on a
    figure validate through plotly's property-path machinery and cost about 35 ms per figure, ten
    times more than building the layout as one dictionary; on a page with several figures that
    was most of a rerun."""
    axis = dict(showgrid=True, gridcolor="#e6e9ee", zeroline=False, ticks="outside", showline=True, linecolor="#9aa5b1")
    base = dict(
        font=FONT, height=height,
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=16)),
        margin=dict(l=70, r=20, t=60, b=60),
        legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.01, bgcolor="rgba(255,255,255,0.85)",
                    font=dict(size=12)),
        hoverlabel=dict(font=dict(size=12)),
        xaxis=_merged(dict(title=dict(text=x_title), type="log" if log_x else "linear", exponentformat="power", **axis),
                      xaxis),
        yaxis=_merged(dict(title=dict(text=y_title), type="log" if log_y else "linear",
                           exponentformat="none" if log_y else "power", **axis), yaxis),
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


def fit_figure(points: Points, curves: Sequence[CurveSpec], *, x_title: str, y_title: str, log_y: bool = True,
               data_max: float | None = None, target: float | None = None, marks: Sequence[TargetMark] = (),
               title: str = "Fits", height: int = 540, yaxis: dict | None = None,
               target_text: str | None = None) -> go.Figure:
    """The main log-log figure: runs (kept/excluded), each family's curve and band, and the
    extrapolated region from the largest run up to ``target`` shaded, with each family's prediction
    there as a diamond with its interval. The region is labelled ``target_text`` ("70B", as
    :func:`~scalecore.formatting.scale_text` writes it), by default :func:`short_number`."""
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


def residuals_figure(series: Sequence[ResidualSeries], *, x_title: str, y_title: str = "log residual  ln(ŷ) − ln(y)",
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
            hovertemplate="<b>%{customdata[2]}</b><br>x %{x:.3s}<br>residual %{y:.4f}<br>%{customdata[1]}<extra></extra>",
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
                        layout=dict(legend=dict(orientation="h", x=0.0, y=-0.18, xanchor="left", yanchor="top"),
                                    margin=dict(r=20, b=90)),
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


def contour_figure(spec: ContourSpec, points: Points, *, title: str | None = None, height: int = 520) -> go.Figure:
    """The fitted metric over log N x log D as filled contours, iso-FLOP lines C = k N D, the
    compute-optimal frontier, and the runs on top (kept and excluded)."""
    label = FAMILIES[spec.name].label if spec.name in FAMILIES else spec.name
    fig = new_figure()
    z = np.log10(spec.loss)
    fig.add_trace(go.Contour(
        x=np.log10(spec.n_grid), y=np.log10(spec.d_grid), z=z, colorscale="Viridis", reversescale=True,
        ncontours=18, contours=dict(coloring="fill", showlines=True),
        line=dict(width=0.5, color="rgba(255,255,255,0.5)"),
        colorbar=dict(title=dict(text=f"{spec.metric}", side="right"), tickvals=np.linspace(z.min(), z.max(), 6),
                      ticktext=[f"{10 ** v:.3g}" for v in np.linspace(z.min(), z.max(), 6)], x=1.02),
        customdata=spec.loss,
        hovertemplate=f"N 10^%{{x:.2f}}<br>D 10^%{{y:.2f}}<br>{spec.metric} %{{customdata:.4g}}<extra>{label}</extra>",
        name=f"{label} fit", showlegend=False,
    ))
    lx = np.log10(spec.n_grid)
    annotations = []
    for c in spec.iso_flops:
        ly = np.log10(c / (spec.k * spec.n_grid))
        keep = (ly >= np.log10(spec.d_grid).min()) & (ly <= np.log10(spec.d_grid).max())
        if keep.sum() < 2:
            continue
        fig.add_trace(go.Scatter(
            x=lx[keep], y=ly[keep], mode="lines", line=dict(color="rgba(255,255,255,0.9)", width=1.2, dash="dot"),
            name="iso-FLOP lines", legendgroup="iso", showlegend=bool(c == spec.iso_flops[0]),
            hovertemplate=f"C = {short_number(c)} FLOP<extra></extra>",
        ))
        annotations.append(dict(x=lx[keep][0], y=ly[keep][0], text=f"{short_number(c)}", showarrow=False,
                                xanchor="left", yanchor="top", font=dict(size=10, color="white")))
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
            hovertemplate="<b>%{customdata[3]}</b><br>%{customdata[1]}<extra></extra>",
        ))
    return _assembled(fig, dict(
        font=FONT, height=height, annotations=annotations,
        title=dict(text=title or f"{label}: fitted {spec.metric} over model size and tokens", x=0.0, font=dict(size=16)),
        margin=dict(l=70, r=20, t=60, b=60),
        legend=dict(orientation="h", x=0.0, y=-0.14, xanchor="left", yanchor="top"),
        xaxis=dict(title=dict(text="log₁₀ model size N (parameters)"), range=[lx.min(), lx.max()], showgrid=False),
        yaxis=dict(title=dict(text="log₁₀ training tokens D"),
                   range=[np.log10(spec.d_grid).min(), np.log10(spec.d_grid).max()], showgrid=False),
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
        trace.hovertemplate = trace.hovertemplate.replace("%{x:.3s}", "%{x:.4g}")
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
            hovertemplate=f"<b>%{{customdata[3]}}</b><br>N %{{x:.3s}}<br>{y_title} %{{y:.4g}}<br>%{{customdata[1]}}<extra></extra>",
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
                hovertemplate=(f"<b>minimum of C = {short_number(p.compute)}</b><br>N* %{{x:.3s}} "
                               f"[{short_number(p.n_opt_low)}, {short_number(p.n_opt_high)}]<br>{y_title} %{{y:.4g}}"
                               + ("" if p.bracketed else "<br><b>the sweep does not bracket it</b>")
                               + "<extra></extra>"),
            ))
    if excluded is not None and len(excluded.x):
        mask = np.ones(len(excluded.x), bool)
        fig.add_trace(go.Scatter(
            x=excluded.x, y=excluded.y, mode="markers", name=f"excluded ({len(excluded.x)})",
            customdata=_customdata(excluded, mask), marker=dict(size=9, color=EXCLUDED_COLOR, symbol="x"),
            hovertemplate=(f"<b>%{{customdata[3]}}</b> (excluded: %{{customdata[2]}})<br>N %{{x:.3s}}<br>{y_title} "
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
            hovertemplate=f"{c.label}<br>C %{{x:.3s}}<br>N* %{{y:.3s}}<extra></extra>"))
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
            hovertemplate="budget %{customdata}<br>C %{x:.3s}<br>N* %{y:.3s}<extra></extra>"))
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
        hovertemplate="<b>%{customdata[3]}</b><br>C %{x:.3s}<br>final %{y:.4g}<br>%{customdata[1]}<extra></extra>"))
    if (~kept).any():
        fig.add_trace(go.Scatter(
            x=finals.x[~kept], y=finals.y[~kept], mode="markers", name=f"excluded ({int((~kept).sum())})",
            customdata=_customdata(finals, ~kept), marker=dict(size=10, color=EXCLUDED_COLOR, symbol="x"),
            hovertemplate="<b>%{customdata[3]}</b> (excluded: %{customdata[2]})<br>C %{x:.3s}<extra></extra>"))
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
            hovertemplate="envelope at C %{x:.3s}: %{y:.4g}<br>set by <b>%{customdata[0]}</b> (N %{customdata[1]:.3s})"
                          "<extra></extra>"))
    return _base_layout(fig, title=title, x_title="training compute C = 6·N·tokens (FLOP)", y_title=curves.metric,
                        log_x=True, log_y=True, height=height)


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

"""The one-file report of an analysis: self-contained HTML that opens offline.

Everything a reader who was not in the meeting needs: the dataset, the excluded runs and why, each
family's parameters with intervals (rounded to their uncertainty, the kind of interval stated), the
plots with their bands, predictions at the target, the budget scenarios, the comparison of groups,
and the exact settings and scalecore version to reproduce it.

- plotly.js is inlined once, in the head, and every figure uses it: no network needed. It is the
  basic bundle (scatter, bar, pie: 1.2 MB, ``scalecore/assets``) when the figures need no other
  trace type, else plotly's full bundle (4.8 MB);
- every piece of user text (titles, notes, run ids, reasons, file and column names) is escaped;
- every number carries its full-precision value in a ``data-raw`` attribute next to the rounded
  text, so a test (or a reader's script) can check the report against the library.

:func:`render` refits the analysis from its stored bytes (see :func:`store.reproduce`) unless the
results are passed in.
"""

from __future__ import annotations

import html
import math
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ScaleCoreError
from .families import FAMILIES
from .formatting import format_estimate, format_interval, format_number, format_value, scale_text
from .serialize import dumps
from .store import Analysis

AXIS_TITLES = {"params": "model size N (parameters)", "tokens": "training tokens D", "compute": "training compute C (FLOP)"}
AXIS_SHORT = {"params": "N", "tokens": "D", "compute": "C"}
PLOT_CONFIG = {"displaylogo": False, "responsive": True}

CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --soft:#f5f7fa; --accent:#0072B2; --warn:#8a5a0b; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       max-width: 1180px; margin: 0 auto; padding: 28px 32px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 10px; padding-top: 10px;
       border-top: 1px solid var(--line); } h3 { font-size: 16px; margin: 22px 0 6px; }
.meta, .caption { color: var(--muted); font-size: 13px; }
.note { white-space: pre-wrap; background: var(--soft); border-left: 3px solid var(--accent); padding: 10px 14px;
        margin: 14px 0; }
table { border-collapse: collapse; margin: 8px 0 6px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 12px 4px 0; text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
pre { background: var(--soft); padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.warning { color: var(--warn); } .error { color: #b42318; }
.figure { margin: 10px 0 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 6px 28px; }
details summary { cursor: pointer; color: var(--muted); }
@media print { .figure { break-inside: avoid; } }
"""


def e(value: Any) -> str:
    """Escaped text for HTML content and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _raw(v: Any) -> str:
    try:
        return repr(float(v))
    except (TypeError, ValueError):
        return ""


def _num_cell(text: str, raw: Any, **attrs: str) -> str:
    extra = "".join(f' data-{k.replace("_", "-")}="{e(v)}"' for k, v in attrs.items())
    return f'<td class="num" data-raw="{e(_raw(raw))}"{extra}>{e(text)}</td>'


def _interval_cells(value: float, low: float, high: float, kind: str = "plain", **attrs: str) -> str:
    """Three cells, rounded together (:func:`format_interval`); a missing end is an empty cell."""
    v, lo, hi = format_interval(value, low, high, kind)
    lo, hi = ("" if math.isnan(float(x)) else t for x, t in ((low, lo), (high, hi)))
    return (_num_cell(v, value, kind="value", **attrs) + _num_cell(lo, low, kind="low", **attrs)
            + _num_cell(hi, high, kind="high", **attrs))


#: How each role's numbers are written (:mod:`scalecore.formatting` kinds).
ROLE_KINDS = {"params": "count", "tokens": "count", "compute": "flops"}
#: Kinds of the numbers a saved scenario holds, by the last part of their name (besides budget's
#: ANSWER_KINDS); anything else is "plain".
VALUE_KINDS = {**ROLE_KINDS, "unique_tokens": "count", "inference_tokens": "count", "cost": "money",
               "days": "days", "price": "money"}


def _kind(name: str) -> str:
    from .budget import ANSWER_KINDS

    last = str(name).rsplit(".", 1)[-1]
    return ANSWER_KINDS.get(last) or VALUE_KINDS.get(last, "plain")


def _table(header: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _tr(*cells: str) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _td(text: Any) -> str:
    return f"<td>{e(text)}</td>"


def _label(family: str) -> str:
    return FAMILIES[family].label if family in FAMILIES else family


# ------------------------------------------------------------------------------ entry points


def render(analysis: Analysis, *, results: Mapping | None = None, errors: Mapping | None = None,
           comparison=None, runs=None, generated: str | None = None) -> str:
    """The report of ``analysis`` as one HTML document (a str).

    ``results`` ({family: BootstrapResult}) and ``errors`` default to refitting the analysis from
    its bytes; ``comparison`` (a :class:`compare.Comparison`) defaults to running the comparison
    described by ``analysis.comparison``, if any.
    """
    from .store import reproduce

    runs = analysis.runs() if runs is None else runs
    if results is None:
        results, errors = reproduce(analysis, runs)
    errors = dict(errors or {})
    comparison_error = None
    if comparison is None and analysis.comparison:
        comparison, comparison_error = _run_comparison(analysis, runs)
    generated = generated or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    figures = _Figures()
    body = [
        _header(analysis, generated),
        _dataset(analysis, runs, results),
        _exclusions(analysis, runs, results),
        _families(analysis, results, errors),
        _plots(analysis, runs, results, figures),
        _predictions(analysis, runs, results),
        _scenarios(analysis.scenarios),
        _comparison(analysis, runs, comparison, comparison_error, figures),
        checklist_section(analysis, runs, results),
        _reproduce(analysis, results),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta name=\"generator\" content=\"scalecore {e(analysis.version)}\">"
        f"<title>{e(analysis.title)} · scaling-law report</title><style>{CSS}</style>"
        + figures.script() + "</head><body>"
        + "\n".join(part for part in body if part)
        + "</body></html>\n"
    )


def write(path, analysis: Analysis, **kw) -> str:
    """Render the report of ``analysis`` and write it to ``path`` (UTF-8); returns the HTML."""
    from pathlib import Path

    text = render(analysis, **kw)
    Path(path).write_text(text, encoding="utf-8")
    return text


def _run_comparison(analysis: Analysis, runs):
    from .comparison import compare

    spec = dict(analysis.comparison or {})
    s = analysis.settings
    try:
        comp = compare(runs, spec.get("family") or analysis.families[0], by=spec.get("by") or "group",
                       groups=spec.get("groups") or None, x=spec.get("x") or s.x, y=s.metric,
                       exclude=tuple(analysis.exclusions), loss=s.loss, delta=s.delta, n_resamples=s.n_resamples,
                       confidence_level=s.confidence_level, seed=s.seed, method=s.method)
    except ScaleCoreError as exc:
        return None, str(exc)
    return comp, None


# ------------------------------------------------------------------------------ sections


def _header(a: Analysis, generated: str) -> str:
    saved = f" · saved {e(a.created[:16].replace('T', ' '))}" if a.created else ""
    ident = f" · analysis <code>{e(a.id)}</code>" if a.id else ""
    note = f'<div class="note">{e(a.note)}</div>' if a.note.strip() else ""
    return (f"<header><h1>{e(a.title)}</h1><div class=\"meta\">Scaling-law report · generated {e(generated)}"
            f"{saved}{ident} · scalecore {e(a.version)}</div>{note}</header>")


def _dataset(a: Analysis, runs, results) -> str:
    files = [_tr(_td(f.name), _num_cell(f"{f.size:,} bytes", f.size), f"<td><code>{e(f.sha256[:16])}…</code></td>")
             for f in a.files]
    roles = [_tr(_td(role), _td(col)) for role, col in dict(runs.roles).items() if col]
    groups = runs.groups()
    summary = [
        _tr(_td("runs"), _num_cell(str(len(runs)), len(runs), field="runs")),
        _tr(_td("excluded"), _num_cell(str(len(a.exclusions)), len(a.exclusions), field="excluded")),
        _tr(_td("metrics"), _td(", ".join(runs.metrics))),
        _tr(_td("groups"), _td(", ".join(groups[:12]) + (" …" if len(groups) > 12 else ""))),
    ]
    for role in ("params", "tokens", "compute"):
        if runs.has(role):
            v = runs.values(role)
            derived = " (derived: C = k·N·D)" if role in runs.derived else ""
            summary.append(_tr(_td(role), _td(f"{format_value(float(np.nanmin(v)), ROLE_KINDS[role], 3)} – "
                                              f"{format_value(float(np.nanmax(v)), ROLE_KINDS[role], 3)}{derived}")))
    return ("<section id=\"dataset\"><h2>Dataset</h2>"
            f"<p>{e(runs.summary())}</p><div class=\"grid\"><div>"
            + _table(["", ""], summary) + "</div><div>"
            + _table(["file", "size", "sha256"], files)
            + (_table(["role", "column"], roles) if roles else "")
            + "</div></div></section>")


def _exclusions(a: Analysis, runs, results) -> str:
    where = {rid: (f, r) for rid, f, r in zip(runs.run_ids, runs.source_files, runs.source_rows)}
    rows = []
    for rid, reason in a.exclusions.items():
        f, r = where.get(rid, ("", ""))
        rows.append(_tr(f"<td><code>{e(rid)}</code></td>", _td(reason or "(no reason given)"),
                        _td(f"{f}, row {r}" if f else "not in the data")))
    dropped = sorted({d for boot in results.values() for d in boot.fit.problem.dropped})
    text = "<section id=\"exclusions\"><h2>Excluded runs</h2>"
    if rows:
        text += _table(["run", "reason", "where"], rows, "exclusions")
    else:
        text += "<p>No runs were excluded: every run was fitted.</p>"
    if dropped:
        text += (f"<p class=\"caption\">Also left out because the metric or a size the fit needs is missing: "
                 f"{e(', '.join(dropped))}.</p>")
    return text + "</section>"


def _families(a: Analysis, results, errors) -> str:
    parts = ["<section id=\"families\"><h2>Fitted laws</h2>"]
    for family in a.families:
        fam = FAMILIES.get(family)
        parts.append(f"<h3>{e(_label(family))} <span class=\"meta\">({e(family)})</span></h3>")
        if fam is not None:
            parts.append(f"<p><code>{e(fam.formula)}</code></p>")
        if family in errors:
            parts.append(f"<p class=\"error\">Could not be fitted: {e(errors[family])}</p>")
            continue
        boot = results.get(family)
        if boot is None:
            continue
        ci, se = boot.confidence_interval, boot.standard_error
        rows = [_tr(f"<td><code>{e(n)}</code></td>",
                    _interval_cells(v, ci[n][0], ci[n][1], family=family, param=n),
                    _num_cell(format_number(se[n], 2), se[n], family=family, param=n, kind="se"),
                    _td("at its bound" if n in boot.fit.at_bound else ""))
                for n, v in boot.fit.params.items()]
        fit = boot.fit
        against = f"against {fit.x}" if fit.x else "in N and D"
        parts.append(f"<p class=\"caption\">Fitted to <code>{e(fit.y)}</code> {e(against)}: {fit.n_points} runs, "
                     f"{fit.n_excluded} excluded. Intervals: <span class=\"interval\">{e(boot.interval_label)}</span>.</p>")
        parts.append(_table(["parameter", "value", "low", "high", "std. error", ""], rows, f"params params-{family}"))
        parts.append(f"<p class=\"caption\">RMSE of log residuals {e(format_number(fit.rmse_log))} · "
                     f"AIC {fit.aic:.2f} · BIC {fit.bic:.2f} · objective {fit.objective:.6g} · {e(fit.message)}</p>")
        for w in list(fit.warnings) + list(boot.warnings):
            parts.append(f"<p class=\"warning\">⚠ {e(w)}</p>")
    parts.append("</section>")
    return "".join(parts)


#: The trace types the vendored basic plotly.js bundle draws (scalecore/assets/README.md).
BASIC_TRACES = frozenset({"scatter", "bar", "pie"})
_BASIC_BUNDLE = Path(__file__).resolve().parent / "assets" / "plotly-basic.min.js"


class _Figures:
    """The report's figures as divs, and the one plotly.js they share, inlined in the head: the
    basic bundle (1.2 MB) when every figure uses only its trace types, else the full one (4.8 MB)."""

    def __init__(self) -> None:
        self.count = 0
        self.trace_types: set[str] = set()

    def html(self, fig) -> str:
        self.count += 1
        self.trace_types |= {t.type or "scatter" for t in fig.data}
        div = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG, div_id=f"figure-{self.count}")
        return f'<div class="figure">{div}</div>'

    def script(self) -> str:
        """The ``<script>`` with plotly.js ("" when there is no figure)."""
        if not self.count:
            return ""
        if self.trace_types <= BASIC_TRACES:
            js = _BASIC_BUNDLE.read_text(encoding="utf-8")
        else:
            from plotly.offline import get_plotlyjs

            js = get_plotlyjs()
        return f'<script type="text/javascript">{js}</script>'


def _axis(a: Analysis, runs) -> str:
    if a.settings.x:
        return a.settings.x
    for axis in ("compute", "params", "tokens"):
        if runs.has(axis):
            return axis
    return "compute"


def _points(runs, axis: str, metric: str, exclusions: Mapping[str, str]):
    from . import plots

    ids = np.asarray(runs.run_ids, dtype=object)
    groups = runs.frame["group"].astype(str).to_numpy(dtype=object)
    return plots.Points(x=runs.values(axis), y=runs.values(metric), run_ids=ids,
                        excluded=np.isin(ids, list(exclusions)),
                        hover=np.array([f"group {html.escape(g)}" for g in groups], dtype=object),
                        reasons=np.array([html.escape(exclusions.get(i, "")) for i in ids], dtype=object))


def _range(runs, axis: str, target: float | None) -> tuple[float, float]:
    x = runs.values(axis)
    x = x[np.isfinite(x) & (x > 0)]
    lo, hi = float(x.min()) / 1.5, float(x.max()) * 1.5
    if target is not None and math.isfinite(target) and target > 0:
        lo, hi = min(lo, target / 1.5), max(hi, target * 1.5)
    return lo, hi


def _metric(a: Analysis, runs, results) -> str:
    for boot in results.values():
        return boot.fit.y
    return a.settings.metric or runs.default_metric


def target_estimate(boot, axis: str, target: float, k: float):
    """The metric predicted at ``target`` on ``axis`` with its interval (two-input families: along the
    compute-optimal frontier, on every axis); None where it does not apply. The same function as
    Explore's (:func:`scalecore.optimum.predict_at`)."""
    from .optimum import predict_at

    return predict_at(boot, axis, target, k)


def analysis_figures(a: Analysis, runs, results) -> list:
    """The figures of an analysis: the metric against its x with every family's curve and band
    (two-input families along their compute-optimal frontier), and against compute for two-input
    families when x is not compute. Plotly figures from :mod:`scalecore.plots`."""
    from . import plots
    from .comparison import curve_band

    if not results:
        return []
    axis = _axis(a, runs)
    metric = _metric(a, runs, results)
    target = a.settings.target
    k = runs.flops_per_token_param
    log_y = all(b.family.space == "log" for b in results.values())
    views = [(axis, {f: b for f, b in results.items() if not b.family.is_two_input or axis == "compute"})]
    two = {f: b for f, b in results.items() if b.family.is_two_input}
    if axis != "compute" and two and runs.has("compute"):
        views.append(("compute", two))
    out = []
    for view_axis, boots in views:
        if not boots:
            continue
        t = target if view_axis == axis else None
        lo, hi = _range(runs, view_axis, t)
        xs = np.geomspace(lo, hi, 160)
        curves, marks = [], []
        for f, boot in boots.items():
            band = curve_band(boot, xs, k)
            frontier = boot.family.is_two_input
            curves.append(plots.CurveSpec(name=f, label=_label(f) + (" (compute-optimal frontier)" if frontier else ""),
                                          x=xs, y=band.point, lower=band.lower, upper=band.upper,
                                          dash="dash" if frontier else "solid"))
            if t is not None:
                est = target_estimate(boot, view_axis, t, k)
                if est is not None:
                    marks.append(plots.TargetMark(name=f, x=t, value=est.value, low=est.low, high=est.high,
                                                  text=f"{_label(f)}: {format_estimate(est)}"))
        x = runs.values(view_axis)
        title = (f"{metric} against {AXIS_TITLES[view_axis]}" if view_axis == axis
                 else f"Compute-optimal frontier: the lowest {metric} reachable at each compute budget")
        out.append(plots.fit_figure(_points(runs, view_axis, metric, a.exclusions), curves,
                                    x_title=AXIS_TITLES[view_axis], y_title=metric, log_y=log_y,
                                    data_max=float(np.nanmax(x)), target=t, marks=marks, title=html.escape(title),
                                    target_text=scale_text(t, view_axis)))
    return out


def _plots(a: Analysis, runs, results, figures: _Figures) -> str:
    figs = analysis_figures(a, runs, results)
    if not figs:
        return ""
    parts = ["<section id=\"plots\"><h2>Plots</h2>"] + [figures.html(fig) for fig in figs]
    level = next(iter(results.values())).confidence_level
    parts.append(f"<p class=\"caption\">Shaded bands: {level:.0%} bootstrap percentile intervals of each curve. "
                 "Dashed: the compute-optimal frontier of a law in N and D. Grey crosses: excluded runs. "
                 "The yellow region is extrapolation beyond the largest run.</p></section>")
    return "".join(parts)


def _predictions(a: Analysis, runs, results) -> str:
    target = a.settings.target
    if target is None or not results:
        return ""
    axis = _axis(a, runs)
    k = runs.flops_per_token_param
    rows = []
    for f, boot in results.items():
        est = target_estimate(boot, axis, target, k)
        if est is None:
            rows.append(_tr(_td(_label(f)), "<td colspan=\"3\">not predicted on this axis (see the compute-optimal "
                                            "table)</td>", _td("")))
            continue
        rows.append(_tr(_td(_label(f)), _interval_cells(est.value, est.low, est.high, family=f, quantity="target"),
                        _td(boot.interval_label + (" along the compute-optimal frontier" if boot.family.is_two_input else ""))))
    text = (f"<section id=\"predictions\"><h2>Predicted {e(_metric(a, runs, results))} at "
            f"{e(AXIS_SHORT.get(axis, axis))} = {e(scale_text(target, axis))}</h2>"
            + _table(["family", "value", "low", "high", "interval"], rows, "predictions"))
    two = {f: b for f, b in results.items() if b.family.is_two_input}
    if two and runs.has("compute"):
        c = target if axis == "compute" else float(10 ** math.ceil(math.log10(np.nanmax(runs.values("compute")))))
        opt_rows = []
        for f, boot in two.items():
            opt = boot.compute_optimal(c, k)
            opt_rows.append(_tr(_td(_label(f)), _td(format_value(c, "flops")),
                                _td(format_estimate(opt["params"], kind="count")),
                                _td(format_estimate(opt["tokens"], kind="count")),
                                _td(format_estimate(opt["loss"], kind="loss"))))
        text += (f"<h3>Compute-optimal allocation (C = {k:g}·N·D)</h3>"
                 + _table(["family", "compute C", "N* [interval]", "D* [interval]", "loss [interval]"], opt_rows))
    return text + "</section>"


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(d, Mapping):
        out = []
        for k, v in d.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(d, (list, tuple)):
        return [(prefix, ", ".join(str(x) for x in d))]
    return [(prefix, d)]


def _value_text(v: Any, name: str = "") -> str:
    """A scenario's input or answer: numbers in the notation of their kind (never a raw float such as
    97179142668.0847, nor compute as a 22-digit integer); small integers (counts of accelerators,
    seeds) as typed."""
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, (int, np.integer)) and abs(int(v)) < 100_000:
        return str(int(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "" if math.isnan(float(v)) else format_value(float(v), _kind(name))
    return str(v)


def _scenarios(scenarios: Sequence[Mapping]) -> str:
    if not scenarios:
        return ""
    parts = ["<section id=\"scenarios\"><h2>Budget scenarios</h2>"]
    for s in scenarios:
        s = dict(s)
        parts.append(f"<h3>{e(s.get('name', 'scenario'))}</h3>")
        answers = dict(s.get("answers") or {})
        if answers:
            rows = []
            for name, ans in answers.items():
                if isinstance(ans, Mapping):
                    vals = [float("nan") if ans.get(k) is None else float(ans.get(k)) for k in ("value", "low", "high")]
                    rows.append(_tr(_td(name), _interval_cells(*vals, kind=_kind(name), scenario=str(s.get("name", "")),
                                                               answer=name)))
                else:
                    rows.append(_tr(_td(name), _td(_value_text(ans, name)), _td(""), _td("")))
            parts.append(_table(["answer", "value", "low", "high"], rows, "scenario"))
        if s.get("interval"):
            parts.append(f"<p class=\"caption\">Intervals: {e(s['interval'])}.</p>")
        inputs = _flatten(s.get("inputs") or {})
        other = {k: v for k, v in s.items() if k not in ("name", "answers", "inputs", "interval", "warnings")}
        inputs += _flatten(other)
        if inputs:
            parts.append("<details><summary>inputs</summary>"
                         + _table(["input", "value"], [_tr(_td(k), _td(_value_text(v, k))) for k, v in inputs])
                         + "</details>")
        for w in s.get("warnings") or ():
            parts.append(f"<p class=\"warning\">⚠ {e(w)}</p>")
    parts.append("</section>")
    return "".join(parts)


def _comparison(a: Analysis, runs, comp, error: str | None, figures: _Figures) -> str:
    from .comparison import estimate_text

    if comp is None and error is None:
        return ""
    parts = ["<section id=\"comparison\"><h2>Comparison of groups</h2>"]
    if error is not None:
        parts.append(f"<p class=\"error\">The comparison could not be made: {e(error)}</p></section>")
        return "".join(parts)
    spec = dict(a.comparison or {})
    at = spec.get("at") or comp.default_scale()
    frontier = " along the compute-optimal frontier" if comp.along_frontier else ""
    parts.append(f"<p>{e(_label(comp.family.name))} fitted to each group of <code>{e(comp.by)}</code> separately "
                 f"against {e(comp.axis)}{e(frontier)}. Intervals: {e(comp.interval_label)}.</p>")
    # groups
    exps = list(comp.exponents(comp.groups[0]))
    rows = []
    for g in comp.groups:
        boot = comp.results[g]
        ci = boot.confidence_interval
        lo, hi = comp.ranges[g]
        cells = [_td(g), _num_cell(str(boot.fit.n_points), boot.fit.n_points),
                 _td(f"{format_value(lo, ROLE_KINDS.get(comp.axis, 'plain'), 3)} – "
                     f"{format_value(hi, ROLE_KINDS.get(comp.axis, 'plain'), 3)}"), _td(boot.seed)]
        for n in exps:
            if n in ci:
                cells.append(f"<td class=\"num\">{e(format_estimate(boot.fit.params[n], *ci[n]))}</td>")
            else:
                cells.append(_td(""))
        rows.append(_tr(*cells))
    parts.append(_table(["group", "runs", f"{comp.axis} range", "seed"] + [n for n in exps], rows, "groups"))
    fig = comparison_figure(comp, runs, a.exclusions, at)
    parts.append(figures.html(fig))
    # pairs
    rows = []
    for ga, gb in comp.pairs():
        diffs = comp.exponent_difference(ga, gb)
        cross = comp.crossover(ga, gb)
        mult = comp.multiplier(ga, gb, float(at))
        diff_text = "; ".join(f"{n}: {estimate_text(d)}" for n, d in diffs.items())
        rows.append(_tr(_td(f"{ga} vs {gb}"), _td(diff_text), _td(cross.text()), _td(mult.text())))
    parts.append(_table(["pair", "exponent difference (a − b)", "crossover", "compute multiplier"], rows, "pairs"))
    parts.append(f"<p class=\"caption\">Multiplier at {e(scale_text(float(at), comp.axis))}: how much more {e(comp.axis)} "
                 "the first group needs to reach the loss the second reaches there (above 1: the second group is "
                 "more efficient).</p>")
    for w in comp.warnings:
        parts.append(f"<p class=\"warning\">⚠ {e(w)}</p>")
    parts.append("</section>")
    return "".join(parts)


def comparison_figure(comp, runs, exclusions: Mapping[str, str] | None = None, at: float | None = None):
    """The groups of a comparison drawn together: their runs and each group's curve with its band."""
    from . import plots

    exclusions = dict(exclusions or {})
    lo, hi = comp.data_range
    lo, hi = lo / 1.5, hi * 1.5
    if at and math.isfinite(at):
        lo, hi = min(lo, at / 1.5), max(hi, at * 1.5)
    xs = np.geomspace(lo, hi, 160)
    # plots colours a curve by its family name; a comparison has one family, so each group borrows
    # the colour key of one family (the legend shows the group)
    palette = list(FAMILIES)
    curves = []
    for i, g in enumerate(comp.groups):
        band = comp.band(g, xs)
        curves.append(plots.CurveSpec(name=palette[i % len(palette)], label=html.escape(g), x=xs, y=band.point,
                                      lower=band.lower, upper=band.upper,
                                      dash="dash" if comp.along_frontier else "solid"))
    labels = np.asarray(_group_labels(runs, comp.by), dtype=object)
    keep = np.isin(labels, list(comp.groups))
    sub = runs.subset(keep)
    base = _points(sub, comp.axis, comp.metric, exclusions)
    points = plots.Points(x=base.x, y=base.y, run_ids=base.run_ids, excluded=base.excluded,
                          hover=np.array([f"{html.escape(comp.by)} {html.escape(str(g))}" for g in labels[keep]],
                                         dtype=object),
                          reasons=base.reasons)
    along = " (compute-optimal frontier)" if comp.along_frontier else ""
    kept_labels = labels[keep][~np.asarray(base.excluded)]
    colour = {g: plots.family_color(palette[i % len(palette)]) for i, g in enumerate(comp.groups)}
    fig = plots.fit_figure(points, curves, x_title=AXIS_TITLES.get(comp.axis, comp.axis), y_title=comp.metric,
                           log_y=comp.family.space == "log",
                           title=html.escape(f"{comp.metric} by {comp.by}: {_label(comp.family.name)}{along}"))
    # plots draws all kept runs in one colour; here each run takes its group's curve colour
    fig.update_traces(selector=dict(name=f"runs ({len(kept_labels)})"), name="runs (coloured by group)",
                      marker=dict(color=[colour[g] for g in kept_labels], opacity=0.8))
    return fig


def _group_labels(runs, by: str):
    from .comparison import group_labels

    return group_labels(runs, by)


def command_line(a: Analysis) -> str:
    """The ``python -m scalecore report`` command that rebuilds this report from the same files."""
    import shlex

    s = a.settings
    args = ["python", "-m", "scalecore", "report", *[f.name for f in a.files]]
    for f in a.families:
        args += ["--family", f]
    if s.x:
        args += ["--x", s.x]
    if s.metric:
        args += ["--y", s.metric]
    args += ["--bootstrap", str(s.n_resamples), "--seed", str(s.seed), "--confidence", repr(s.confidence_level),
             "--method", s.method, "--loss", s.loss, "--delta", repr(s.delta)]
    if s.target is not None:
        args += ["--target", repr(s.target)]
    if a.exclusions:
        args += ["--exclude", *a.exclusions]
    if a.comparison and a.comparison.get("by"):
        args += ["--compare-by", str(a.comparison["by"])]
        if a.comparison.get("at"):
            args += ["--compare-at", repr(float(a.comparison["at"]))]
    args += ["-o", "report.html"]
    return " ".join(shlex.quote(x) for x in args)


def _exact(v: Any) -> str:
    """A setting as typed: floats in their shortest exact form (1e+12, 0.001)."""
    if isinstance(v, float) and math.isfinite(v):
        short = f"{v:g}"
        return short if float(short) == v and len(short) < len(repr(v)) else repr(v)
    return "(default)" if v is None else str(v)


def _reproduce(a: Analysis, results) -> str:
    s = a.settings.to_dict()
    rows = [_tr(f"<td><code>{e(k)}</code></td>", _td(_exact(v))) for k, v in s.items()]
    mapping = ", ".join(f"{k} → {v if v else '(none)'}" for k, v in a.mapping.items()) or "detected from the column names"
    record = a.to_dict(include_data=False)
    record.pop("summary", None)
    env = (f"scalecore {a.version} · Python {platform.python_version()} · numpy {np.__version__}")
    return ("<section id=\"reproduce\"><h2>Reproduce</h2>"
            f"<p>Families: {e(', '.join(a.families))}. Column mapping: {e(mapping)}. "
            f"Data: {e(', '.join(f'{f.name} (sha256 {f.sha256})' for f in a.files))}.</p>"
            + _table(["setting", "value"], rows, "settings")
            + f"<p class=\"caption\">{e(env)}. The bootstrap is seeded: the same files and settings give the same "
              "numbers. From a shell:</p>"
            + f"<pre>{e(command_line(a))}</pre>"
            + "<details><summary>the analysis record (JSON)</summary><pre>"
            + e(dumps(record, ensure_ascii=False)) + "</pre></details></section>")


def checklist_section(a: Analysis, runs, results) -> str:
    """The Li et al. (2025) reporting checklist: the one saved with the analysis, else filled in
    from these runs and results (:mod:`scalecore.checklist`)."""
    from .checklist import checklist_html, of_analysis

    return checklist_html(a.checklist or of_analysis(a, runs, results))

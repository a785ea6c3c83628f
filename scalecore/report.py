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
from .formatting import format_estimate, format_interval, format_number, format_value, latex_to_html, scale_text
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
.formula { font: 17px/1.6 "Cambria Math", "STIX Two Math", Georgia, serif; margin: 4px 0 8px; }
.formula sup, .formula sub { font-size: 70%; }
table.side td:first-child { color: var(--muted); }
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
           comparison=None, joint=None, runs=None, generated: str | None = None, progress=None) -> str:
    """The report of ``analysis`` as one HTML document (a str).

    ``results`` ({family: BootstrapResult}) and ``errors`` default to refitting the analysis from
    its bytes; ``comparison`` (a :class:`compare.Comparison`) defaults to running the comparison
    described by ``analysis.comparison``, if any; ``joint`` (a :class:`joint.JointFit`) to the joint
    fit it describes (its ``shared`` key), if any. ``progress(step, of, label)``, if given, is called
    before each slow step (the refits, the comparisons, the backtest, the figures' script).
    """
    def step(i: int, label: str) -> None:
        if progress is not None:
            progress(i, RENDER_STEPS, label)

    from .store import reproduce

    runs = analysis.runs() if runs is None else runs
    if results is None:
        step(0, "refitting the families")
        results, errors = reproduce(analysis, runs)
    errors = dict(errors or {})
    comparison_error = joint_error = None
    if comparison is None and analysis.comparison:
        step(1, "comparing the groups")
        comparison, comparison_error = _run_comparison(analysis, runs)
    if joint is None and joint_shared(analysis) is not None:
        step(2, "fitting the groups jointly")
        joint, joint_error = run_joint(analysis, runs)
    generated = generated or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    figures = _Figures()
    step(3, "drawing the figures")
    body = [
        _header(analysis, generated),
        _dataset(analysis, runs, results),
        _exclusions(analysis, runs, results),
        _families(analysis, results, errors),
        _fit_quality(analysis, results),
        _plots(analysis, runs, results, figures),
        _residual_plot(analysis, runs, results, figures),
        _predictions(analysis, runs, results),
        _compute_optimal_plot(analysis, runs, results, figures),
    ]
    step(4, "backtesting")
    body += [backtest_section(analysis, runs, results, figures), _scenarios(analysis.scenarios)]
    step(5, "writing out the comparisons")
    body += [
        _comparison(analysis, runs, comparison, comparison_error, figures),
        joint_section(analysis, joint, joint_error),
        checklist_section(analysis, runs, results),
        _settings(analysis, runs, results),
        _reproduce(analysis, results),
    ]
    step(6, "assembling the page")
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


#: The steps :func:`render` reports to its ``progress`` callback.
RENDER_STEPS = 7


def joint_shared(analysis: Analysis):
    """What the analysis' comparison fits jointly (its ``shared`` key: ``"exponents"``, ``"E"``,
    ``"none"`` or parameter names), or None when it has no joint fit."""
    spec = analysis.comparison or {}
    return spec.get("shared") if spec.get("by") else None


def run_joint(analysis: Analysis, runs, progress=None):
    """(JointFit, None) or (None, the message) for the joint fit ``analysis.comparison`` describes,
    with the analysis' settings (so the numbers are the Compare page's)."""
    from .joint import joint_fit

    spec = dict(analysis.comparison or {})
    s = analysis.settings
    try:
        jf = joint_fit(runs, spec.get("family") or analysis.families[0], by=spec.get("by") or "group",
                       groups=spec.get("groups") or None, shared=spec.get("shared"), x=spec.get("x") or s.x,
                       y=s.metric, exclude=tuple(analysis.exclusions), loss=s.loss, delta=s.delta,
                       n_resamples=s.n_resamples, confidence_level=s.confidence_level, seed=s.seed)
    except ScaleCoreError as exc:
        return None, str(exc)
    return jf, None


def joint_rows(jf, at: float | None = None) -> tuple[list[dict], list[dict]]:
    """The joint fit read out for every surface (this report, the Review page): the shared values
    ``[{"parameter", "estimate"}]`` and one row per pair ``[{"pair", "a", "b", "p_better",
    "multiplier" (Estimate or None), "better_text", "multiplier_text"}]`` at ``at`` (default: the
    top of the range every group covers)."""
    at = jf.target(at)
    shared = [{"parameter": n, "estimate": est} for n, est in jf.shared_estimates.items()]
    pairs = []
    for a, b in jf.pairs():
        mult = jf.multiplier(a, b, at)
        pairs.append({"pair": f"{a} vs {b}", "a": a, "b": b, "p_better": jf.probability_better(a, b, at),
                      "multiplier": mult.multiplier if mult.status == "ok" else None,
                      "better_text": jf.better_text(a, b, at), "multiplier_text": mult.text()})
    return shared, pairs


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def joint_section(a: Analysis, jf, error: str | None) -> str:
    """The groups fitted at once with some parameters shared (:func:`scalecore.joint.joint_fit`):
    the shared values with intervals, the difference test in one sentence, and per pair P(better)
    and the compute multiplier with its interval."""
    if jf is None and error is None:
        return ""
    parts = ["<section id=\"joint\"><h2>Joint fit of the groups</h2>"]
    if error is not None:
        parts.append(f"<p class=\"error\">The joint fit could not be made: {e(error)}</p></section>")
        return "".join(parts)
    at = (a.comparison or {}).get("at")
    at = jf.target(float(at) if at else None)
    shared_rows, pair_rows = joint_rows(jf, at)
    what = ", ".join(jf.shared) or "nothing"
    parts.append(f"<p>{e(_label(jf.family.name))} fitted to the groups of <code>{e(jf.by)}</code> "
                 f"({e(', '.join(jf.groups))}) at once against {e(jf.axis)}, sharing {e(what)}. "
                 f"Intervals: {e(jf.interval_label)}.</p>")
    if shared_rows:
        rows = [_tr(_td(r["parameter"]), _interval_cells(r["estimate"].value, r["estimate"].low, r["estimate"].high,
                                                          parameter=r["parameter"]))
                for r in shared_rows]
        parts.append(_table(["shared parameter", "value", "low", "high"], rows, "joint-shared"))
    if jf.test is not None:
        parts.append(f"<p class=\"joint-test\" data-p-value=\"{e(_raw(jf.test.p_value))}\">"
                     f"{e(_sentence(jf.test.text()))}</p>")
    rows = []
    for r in pair_rows:
        m = r["multiplier"]
        mult = (_interval_cells(m.value, m.low, m.high, pair=r["pair"]) if m is not None
                else _td("not reached") + _td("") + _td(""))
        rows.append(_tr(_td(r["pair"]), _num_cell(format_value(r["p_better"], digits=3), r["p_better"], pair=r["pair"],
                                                  field="p_better"), mult))
    parts.append(_table(["pair", "P(better)", "multiplier", "low", "high"], rows, "joint-pairs"))
    parts.append("<ul class=\"joint-sentences\">" + "".join(
        f"<li>{e(r['better_text'])}</li><li>{e(_sentence(r['multiplier_text']))}</li>" for r in pair_rows) + "</ul>")
    parts.append(f"<p class=\"caption\">Read at {e(jf.axis)} = {e(scale_text(at, jf.axis))}. P(better): the share of "
                 "joint resamples in which the first group of the pair predicts the better metric there. Multiplier: "
                 f"how much more {e(jf.axis)} the first group needs to reach the second's metric there (above 1: the "
                 "second is more efficient). The difference test refits both ways by least squares and reads its "
                 "p-value off a parametric bootstrap of the shared law.</p>")
    for w in jf.warnings:
        parts.append(f"<p class=\"warning\">⚠ {e(w)}</p>")
    parts.append("</section>")
    return "".join(parts)


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
    first = next(iter(results.values()), None)
    resid, header = {}, ""
    if first is not None and a.exclusions:
        from .diagnostics import residual_header, run_residuals

        table = run_residuals(first.fit, runs)
        resid = dict(zip(table["run_id"], table["residual"]))
        header = f"{residual_header(first.family)}, {_label(first.family.name)} without it"
    rows = []
    for rid, reason in a.exclusions.items():
        f, r = where.get(rid, ("", ""))
        cells = [f"<td><code>{e(rid)}</code></td>", _td(reason or "(no reason given)"),
                 _td(f"{f}, row {r}" if f else "not in the data")]
        if header:
            v = resid.get(rid, math.nan)
            cells.append(_num_cell("—" if math.isnan(v) else f"{v:+.3g}", v, run=rid, kind="residual"))
        rows.append(_tr(*cells))
    dropped = sorted({d for boot in results.values() for d in boot.fit.problem.dropped})
    text = "<section id=\"exclusions\"><h2>Excluded runs</h2>"
    if rows:
        text += _table(["run", "reason", "where"] + ([header] if header else []), rows, "exclusions")
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
            parts.append(f"<p class=\"formula\">{formula_html(fam.formula)}</p>")
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
                        reasons=np.array([html.escape(exclusions.get(i, "")) for i in ids], dtype=object),
                        x_kind={"params": "count", "tokens": "count", "compute": "flops"}.get(axis, "plain"))


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
    if not results:
        return ""
    k = runs.flops_per_token_param
    if target is None:  # no target: the allocation at the next power of ten alone
        rows = allocation_rows(a, runs, results)
        if not rows:
            return ""
        return ("<section id=\"predictions\"><h2>Compute-optimal allocation</h2>"
                f"<h3>Compute-optimal allocation (C = {k:g}·N·D)</h3>"
                + _table(ALLOCATION_HEADER, [_tr(*[_td(r[h]) for h in ALLOCATION_HEADER]) for r in rows])
                + "<p class=\"caption\">At the next power of ten above the largest run; no extrapolation target "
                  "was set.</p></section>")
    axis = _axis(a, runs)
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
    rows = allocation_rows(a, runs, results)
    if rows:
        opt_rows = [_tr(*[_td(r[h]) for h in ALLOCATION_HEADER]) for r in rows]
        text += (f"<h3>Compute-optimal allocation (C = {k:g}·N·D)</h3>" + _table(ALLOCATION_HEADER, opt_rows))
    return text + "</section>"


ALLOCATION_HEADER = ["family", "compute C", "N* [interval]", "D* [interval]", "loss [interval]"]


def allocation_compute(a: Analysis, runs) -> float | None:
    """The compute budget the allocation is given at: the target when x is compute, else the next
    power of ten above the largest run; None without compute."""
    if not runs.has("compute"):
        return None
    if _axis(a, runs) == "compute" and a.settings.target is not None:
        return float(a.settings.target)
    return float(10 ** math.ceil(math.log10(np.nanmax(runs.values("compute")))))


def allocation_rows(a: Analysis, runs, results) -> list[dict]:
    """N*, D* and the loss at :func:`allocation_compute` for each two-input family, as text
    (:func:`format_estimate`): what the report's table and the Review page show."""
    c = allocation_compute(a, runs)
    k = runs.flops_per_token_param
    rows = []
    for f, boot in results.items():
        if c is None or not boot.family.is_two_input:
            continue
        opt = boot.compute_optimal(c, k)
        rows.append(dict(zip(ALLOCATION_HEADER, (_label(f), format_value(c, "flops"),
                                                 format_estimate(opt["params"], kind="count"),
                                                 format_estimate(opt["tokens"], kind="count"),
                                                 format_estimate(opt["loss"], kind="loss")))))
    return rows


def fit_quality_rows(results) -> tuple[list[dict], str, list[str]]:
    """Each family's fit quality, best first, as text and raw numbers:
    ([{family, runs fitted, RMSE log, AIC, BIC, ΔAIC, Akaike weight, raw: {...}}], note, families
    with ΔAIC above the threshold). ΔAIC and the weights are absent when the fits cannot be
    compared (other runs): the note says why. What the report and the Review page show."""
    from .diagnostics import UNSUPPORTED_DELTA_AIC, compare_families
    from .errors import FitError

    fits = {f: b.fit for f, b in results.items()}
    try:
        df = compare_families(list(fits.values()))
        note = df.attrs.get("note", "")
        records = df.to_dict(orient="records")
    except FitError as exc:
        note = f"No ΔAIC: {exc}"
        records = [{"family": f, "rmse_log": fit.rmse_log, "aic": fit.aic, "bic": fit.bic} for f, fit in fits.items()]
    rows = []
    for rec in records:
        f = rec["family"]
        row = {"family": _label(f), "runs fitted": str(fits[f].n_points), "RMSE log": format_number(rec["rmse_log"], 3),
               "AIC": format_value(rec["aic"], "plain", 5), "BIC": format_value(rec["bic"], "plain", 5)}
        if "delta_aic" in rec:
            row["ΔAIC"] = format_value(rec["delta_aic"], "plain", 3)
            row["Akaike weight"] = _weight_text(rec["akaike_weight"])
        row["raw"] = {"name": f, "runs": fits[f].n_points, **{k: rec[k] for k in
                                                              ("rmse_log", "aic", "bic", "delta_aic", "akaike_weight")
                                                              if k in rec}}
        rows.append(row)
    misfit = [_label(r["family"]) for r in records if r.get("delta_aic", 0.0) > UNSUPPORTED_DELTA_AIC]
    return rows, note, misfit


def formula_html(tex: str) -> str:
    """A family's LaTeX formula rendered as HTML (``<sup>``/``<sub>``, Unicode Greek): the report
    opens offline, with no math renderer to fetch (:func:`scalecore.formatting.latex_to_html`)."""
    return latex_to_html(tex)


def _weight_text(w: float) -> str:
    """An Akaike weight as a percentage; one below 0.1% as "<0.1%" (not 9.64e-18%)."""
    return "<0.1%" if w < 1e-3 else format_value(w, "fraction", 3)


def _fit_quality(a: Analysis, results) -> str:
    """Fit quality of every family (:func:`fit_quality_rows`): runs fitted, RMSE of log residuals,
    AIC, BIC, ΔAIC and Akaike weight, best first."""
    from .diagnostics import UNSUPPORTED_DELTA_AIC

    if not results:
        return ""
    rows, note, misfit = fit_quality_rows(results)
    fields = {"runs fitted": "runs", "RMSE log": "rmse_log", "AIC": "aic", "BIC": "bic", "ΔAIC": "delta_aic",
              "Akaike weight": "akaike_weight"}
    header = [h for h in rows[0] if h != "raw"]
    cells = []
    for r in rows:
        raw = r["raw"]
        cells.append(_tr(_td(r["family"]), *[_num_cell(r[h], raw[fields[h]], family=raw["name"], field=fields[h])
                                             for h in header[1:]]))
    text = ("<section id=\"fit-quality\"><h2>Fit quality</h2>" + _table(header, cells, "quality")
            + "<p class=\"caption\">RMSE of the log residuals of the fitted runs; AIC and BIC from the residuals "
              "(lower is better); ΔAIC: AIC minus the lowest; Akaike weight: exp(−ΔAIC/2), normalised.</p>")
    if note:
        text += f"<p class=\"caption\">{e(note)}</p>"
    if misfit:
        text += (f"<p class=\"warning\">⚠ ΔAIC above {UNSUPPORTED_DELTA_AIC:g}: {e(', '.join(misfit))} "
                 "fit these runs far worse than the best law; read their parameter intervals loosely.</p>")
    return text + "</section>"


def residual_figure(a: Analysis, runs, results):
    """Each family's residuals (actual − predicted, :func:`scalecore.diagnostics.shown_residuals`)
    against the analysis' x; None without results."""
    from . import plots
    from .diagnostics import RESIDUAL_HEADERS, shown_residuals

    if not results:
        return None
    axis = _axis(a, runs)
    x_by_id = dict(zip(np.asarray(runs.run_ids).astype(str), runs.values(axis)))
    series = []
    for f, boot in results.items():
        ids = boot.fit.problem.run_ids.astype(str)
        series.append(plots.ResidualSeries(name=f, label=html.escape(_label(f)),
                                           x=np.array([x_by_id.get(i, np.nan) for i in ids]),
                                           residual=shown_residuals(boot.fit), run_ids=ids))
    log_space = all(b.family.space == "log" for b in results.values())
    return plots.residuals_figure(series, x_title=AXIS_TITLES.get(axis, axis),
                                  y_title=RESIDUAL_HEADERS["log" if log_space else "linear"],
                                  title="Residuals: actual minus predicted (above 0: the run lies above the law)")


def _residual_plot(a: Analysis, runs, results, figures: "_Figures") -> str:
    fig = residual_figure(a, runs, results)
    if fig is None:
        return ""
    return ("<section id=\"residuals\"><h2>Residuals</h2>" + figures.html(fig)
            + "<p class=\"caption\">Residual = actual − predicted, in log space for losses (ln actual − ln predicted): "
              "a run above 0 has a higher metric than its law predicts. Fitted runs only; the excluded runs' "
              "residuals against the fit without them are in the table of excluded runs.</p></section>")


def compute_optimal_curves(results, c_grid, k: float) -> dict:
    """For each two-input family: {"params": [Estimate per C], "tokens": [...]} along ``c_grid``
    (:meth:`BootstrapResult.compute_optimal`, the one frontier routine)."""
    from .optimum import compute_optimum

    grid = np.asarray(c_grid, dtype=float)
    out = {}
    for f, boot in results.items():
        if not boot.family.is_two_input:
            continue
        # what boot.compute_optimal(c) does at each c, broadcast over the grid in one call
        point = compute_optimum(boot.family, boot.fit.theta, grid, k)
        dist = compute_optimum(boot.family, boot.good[:, None, :], grid[None, :], k)
        out[f] = {q: [boot.estimate(float(point[q][j]), dist[q][:, j]) for j in range(len(grid))]
                  for q in ("params", "tokens")}
    return out


def compute_optimal_figure(results, runs, k: float, target: float | None = None):
    """N* and D* against compute C with their bands, one colour per family (N* solid, D* dashed);
    None without a two-input family. A small figure of its own, to be swapped for a shared one in
    :mod:`scalecore.plots` when there is one."""
    from . import plots

    two = {f: b for f, b in results.items() if b.family.is_two_input}
    if not two or not runs.has("compute"):
        return None
    c = runs.values("compute")
    c = c[np.isfinite(c) & (c > 0)]
    lo, hi = float(c.min()) / 3, float(c.max()) * 30
    if target is not None and math.isfinite(target) and target > 0:
        lo, hi = min(lo, target / 3), max(hi, target * 3)
    grid = np.geomspace(lo, hi, 40)
    curves = compute_optimal_curves(two, grid, k)
    fig = plots.new_figure()
    for f, q in curves.items():
        colour = plots.family_color(f)
        for what, dash in (("params", "solid"), ("tokens", "dash")):
            est = q[what]
            point = np.array([x.value for x in est])
            low = np.array([x.low for x in est])
            high = np.array([x.high for x in est])
            name = f"{html.escape(_label(f))}: {'N*' if what == 'params' else 'D*'}"
            if np.isfinite(low).any():
                fig.add_scatter(x=np.concatenate([grid, grid[::-1]]), y=np.concatenate([high, low[::-1]]), fill="toself",
                                mode="lines", line=dict(width=0), fillcolor=plots._rgba(colour, 0.15), hoverinfo="skip",
                                showlegend=False, legendgroup=name)
            fig.add_scatter(x=grid, y=point, mode="lines", name=name, legendgroup=name,
                            line=dict(color=colour, dash=dash, width=2),
                            hovertemplate="C %{x:.3s}<br>" + name + " %{y:.3s}<extra></extra>")
    fig.update_layout(title="Compute-optimal model size N* and tokens D* against compute", height=440,
                      xaxis=dict(type="log", title=AXIS_TITLES["compute"]),
                      yaxis=dict(type="log", title="N* (parameters), D* (tokens)"),
                      template="plotly_white", margin=dict(l=60, r=20, t=60, b=50))
    return fig


def _compute_optimal_plot(a: Analysis, runs, results, figures: "_Figures") -> str:
    fig = compute_optimal_figure(results, runs, runs.flops_per_token_param,
                                 a.settings.target if _axis(a, runs) == "compute" else None)
    if fig is None:
        return ""
    level = next(iter(results.values())).confidence_level
    return ("<section id=\"compute-optimal\"><h2>Compute-optimal allocation against compute</h2>" + figures.html(fig)
            + f"<p class=\"caption\">Solid: N*, dashed: D*; bands: {level:.0%} bootstrap percentile intervals "
              f"(C = {runs.flops_per_token_param:g}·N·D).</p></section>")


#: A unit for each kind of number, added to a scenario row's name when the name does not say it.
KIND_UNITS = {"flops": "FLOPs", "money": "USD", "days": "days", "fraction": "%", "count": ""}


def scenario_label(name: str) -> str:
    """A scenario row's readable name, with its unit: ``params_opt`` -> "compute-optimal model size N*",
    ``inference_saving_fraction`` -> "fraction of FLOPs saved (%)"."""
    from .budget import ANSWER_LABELS

    last = str(name).rsplit(".", 1)[-1]
    text = ANSWER_LABELS.get(last) or str(name).replace(".", " · ").replace("_", " ")
    unit = KIND_UNITS.get(_kind(name), "")
    if unit and unit.lower() not in text.lower():
        text += f" ({unit})"
    return text


def scenario_text(ans: Any, name: str) -> str:
    """A scenario's answer as shown: value [low, high] in its kind (:func:`format_estimate`); the
    value alone (3 digits: "$1.84M") without an interval; "—" when missing. Never "nan"."""
    if isinstance(ans, Mapping):
        v, lo, hi = (math.nan if ans.get(k) is None else float(ans.get(k)) for k in ("value", "low", "high"))
        kind = _kind(name)
        if math.isnan(v):
            return "—"
        if math.isnan(lo) or math.isnan(hi):
            return format_value(v, kind, 3)
        return format_estimate(v, lo, hi, kind=kind)
    if isinstance(ans, (float, np.floating)) and math.isfinite(ans):
        return format_value(float(ans), _kind(name), 3)
    return _value_text(ans, name) or "—"


def _scenario_keys(scenarios) -> tuple[list[dict], list[str], list[str]]:
    """(scenarios as dicts, their names, every answer key any of them has, in the order of
    :data:`scalecore.budget.ANSWER_LABELS`): the columns and rows of scenarios side by side."""
    from .budget import ANSWER_LABELS

    scen = [dict(s) for s in scenarios]
    names = [str(s.get("name", f"scenario {i + 1}")) for i, s in enumerate(scen)]
    keys: list[str] = []
    for s in scen:
        keys += [k for k in dict(s.get("answers") or {}) if k not in keys]
    order = {k: i for i, k in enumerate(ANSWER_LABELS)}
    keys.sort(key=lambda k: order.get(k, len(order)))
    return scen, names, keys


def scenarios_side_by_side(scenarios: Sequence[Mapping]):
    """(answers, inputs): two DataFrames of text with one column per scenario (its name) and one
    row per answer / input, indexed by readable names with units (:func:`scenario_label`)."""
    import pandas as pd

    scen, names, keys = _scenario_keys(scenarios)
    answers = pd.DataFrame({n: [scenario_text(dict(s.get("answers") or {}).get(k), k) for k in keys]
                            for n, s in zip(names, scen)}, index=[scenario_label(k) for k in keys])
    flats = []
    for s in scen:
        flat = dict(_flatten(s.get("inputs") or {}))
        flat.update(dict(_flatten({k: v for k, v in s.items()
                                   if k not in ("name", "answers", "inputs", "interval", "warnings")})))
        flats.append(flat)
    in_keys: list[str] = []
    for flat in flats:
        in_keys += [k for k in flat if k not in in_keys]
    inputs = pd.DataFrame({n: [_value_text(flat.get(k), k) if k in flat else "—" for k in in_keys]
                           for n, flat in zip(names, flats)}, index=[scenario_label(k) for k in in_keys])
    return answers, inputs


def _scenario_cell(ans: Any, name: str, scenario: str) -> str:
    text = scenario_text(ans, name)
    if isinstance(ans, Mapping):
        v, lo, hi = (math.nan if ans.get(k) is None else float(ans.get(k)) for k in ("value", "low", "high"))
        return _num_cell(text, v, scenario=scenario, answer=name, kind="value", low=_raw(lo), high=_raw(hi))
    return _num_cell(text, ans if isinstance(ans, (int, float)) and not isinstance(ans, bool) else "",
                     scenario=scenario, answer=name, kind="value")


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
    """The budget scenarios side by side: one column per scenario, one row per answer (readable
    names with units, value [interval] through :func:`format_estimate`), then their inputs."""
    if not scenarios:
        return ""
    scen, names, keys = _scenario_keys(scenarios)
    parts = ["<section id=\"scenarios\"><h2>Budget scenarios</h2>"]
    if keys:
        rows = [_tr(_td(scenario_label(k)), *[_scenario_cell(dict(s.get("answers") or {}).get(k), k, n)
                                              for s, n in zip(scen, names)]) for k in keys]
        parts.append(_table(["answer"] + names, rows, "scenarios side"))
    intervals = {str(s.get("interval")) for s in scen if s.get("interval")}
    if intervals:
        parts.append(f"<p class=\"caption\">Value [low, high]; intervals: {e('; '.join(sorted(intervals)))}. "
                     "A value alone: no interval (a law typed in or a published preset).</p>")
    _, inputs = scenarios_side_by_side(scen)
    if len(inputs):
        rows = [_tr(_td(inputs.index[i]), *[_td(v) for v in inputs.iloc[i].tolist()]) for i in range(len(inputs))]
        parts.append("<h3>What each scenario was computed from</h3>" + _table(["input"] + names, rows, "scenario-inputs side"))
    for n, s in zip(names, scen):
        for w in s.get("warnings") or ():
            parts.append(f"<p class=\"warning\">⚠ {e(w)} (scenario {e(n)})</p>")
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
        if joint_shared(a) is not None:
            shared = joint_shared(a)
            args += ["--compare-shared", shared if isinstance(shared, str) else ",".join(shared)]
    args += ["-o", "report.html"]
    return " ".join(shlex.quote(x) for x in args)


def _exact(v: Any) -> str:
    """A setting as typed: floats in their shortest exact form (1e+12, 0.001)."""
    if isinstance(v, float) and math.isfinite(v):
        short = f"{v:g}"
        return short if float(short) == v and len(short) < len(repr(v)) else repr(v)
    return "(default)" if v is None else str(v)


#: Readable names of an analysis' settings (:class:`scalecore.store.Settings`).
SETTING_LABELS = {"x": "fitted against (x axis)", "metric": "metric", "n_resamples": "bootstrap resamples",
                  "method": "resampling method", "confidence_level": "confidence level", "seed": "seed",
                  "loss": "loss", "delta": "Huber δ (log space)", "target": "extrapolation target",
                  "flops_per_token_param": "FLOPs per parameter per token k (C = k·N·D)"}


def _settings(a: Analysis, runs, results) -> str:
    """Every setting of the analysis under a readable name, with the families, the exclusions and
    the column mapping."""
    s = a.settings.to_dict()
    rows = []
    for key, value in s.items():
        if key == "target":
            text = scale_text(value, a.settings.x) if value is not None else "none"
        elif key == "confidence_level" and isinstance(value, float):
            text = f"{value:.0%}"
        elif key == "x" and not value:
            text = _axis(a, runs) + " (default)"
        elif key == "metric" and not value:
            text = _metric(a, runs, results) + " (default)"
        else:
            text = _exact(value)
        rows.append(_tr(_td(SETTING_LABELS.get(key, key.replace("_", " "))), f"<td data-setting=\"{e(key)}\">{e(text)}</td>"))
    rows.append(_tr(_td("families"), _td(", ".join(_label(f) for f in a.families) or "none")))
    rows.append(_tr(_td("excluded runs"), _td(str(len(a.exclusions)))))
    mapping = ", ".join(f"{k} → {v if v else '(none)'}" for k, v in a.mapping.items()) or "detected from the column names"
    rows.append(_tr(_td("column mapping"), _td(mapping)))
    return "<section id=\"settings\"><h2>Settings</h2>" + _table(["setting", "value"], rows, "settings-readable") + "</section>"


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
# ------------------------------------------------------------------------------ backtest


def backtest_section(a: Analysis, runs, results, figures: _Figures) -> str:
    """Would the forecast have been right? Each fitted family refitted on the runs below the top 20%
    of compute (a one-input family: of its own x), with the analysis's bootstrap settings
    (:func:`scalecore.backtest.backtest`): per family the bias, the mean absolute relative error and
    the held-out runs inside the prediction interval, every held-out run, and the forecast figure."""
    from . import plots
    from .backtest import backtest

    if not results:
        return ""
    s = a.settings
    done, failed = [], {}
    for family, boot in results.items():
        try:
            done.append(backtest(boot.fit.problem, holdout_fraction=0.2, by="compute", n_resamples=s.n_resamples,
                                 level=s.confidence_level, seed=s.seed, method=s.method))
        except ScaleCoreError as exc:
            failed[family] = str(exc)
    parts = ["<section id=\"backtest\"><h2>Backtest</h2>",
             "<p class=\"caption\">Each law refitted to the runs below the largest 20% and asked to predict those: "
             "bias is the mean of (predicted − actual) / actual over the held-out runs, the mean absolute error the "
             f"mean of its absolute value; the {s.confidence_level:.0%} prediction interval adds run-to-run noise "
             "(each bootstrap resample's prediction plus a residual of the training fit drawn at random).</p>"]
    rows = []
    for bt in done:
        row = bt.summary_row()
        rows.append(_tr(_td(_label(bt.family)), _td(row["trained on"]), _td(row["held out"]),
                        _num_cell(row["bias"], bt.bias_pct, family=bt.family, field="bias_pct"),
                        _num_cell(row["mean abs error"], bt.mape_pct, family=bt.family, field="mape_pct"),
                        _num_cell(row[f"inside the {bt.level:.0%} PI"], bt.n_inside, family=bt.family,
                                  field="n_inside")))
    if rows:
        parts.append(_table(["family", "trained on", "held out", "bias", "mean abs error",
                             f"inside the {s.confidence_level:.0%} PI"], rows, "backtest"))
    for bt in done:
        if not bt.ok:
            parts.append(f"<p class=\"warning\">⚠ {e(_label(bt.family))}: {e(bt.message)}</p>")
        elif bt.note:
            parts.append(f"<p class=\"caption\">{e(_label(bt.family))}: {e(bt.note)}</p>")
    for family, why in failed.items():
        parts.append(f"<p class=\"error\">{e(_label(family))}: {e(why)}</p>")
    ok = [bt for bt in done if bt.ok]
    if ok:
        forecasts = {bt.family: bt.forecast("prediction") for bt in ok}
        by = ok[0].by
        fig = plots.backtest_figure(ok, forecasts, kind="prediction", x_title=AXIS_TITLES.get(by, by),
                                    y_title=html.escape(_metric(a, runs, results)))
        parts.append(figures.html(fig))
        parts.append("<p class=\"caption\">Drawn: each law's forecast with its prediction band (adds run-to-run "
                     "noise; a law in N and D along its compute-optimal frontier), the training runs (filled), the "
                     "held-out runs (open) and each held-out run's own prediction interval (error bars).</p>")
    for bt in ok:
        t = bt.table_text()
        head = ["run", bt.by, "actual", "predicted", "error %", "PI low", "PI high", "inside", "decades out"]
        body = [_tr(f"<td><code>{e(r['run_id'])}</code></td>", _td(r[bt.by]), _td(r["actual"]), _td(r["predicted"]),
                    _td(r["error_pct"]), _td(r["pi_low"]), _td(r["pi_high"]),
                    _td({True: "yes", False: "no"}.get(r["inside_pi"], "")), _td(r["decades"]))
                for _, r in t.iterrows()]
        parts.append(f"<details><summary>{e(_label(bt.family))}: every held-out run ({bt.n_test})</summary>"
                     + _table(head, body, f"backtest-runs backtest-{bt.family}") + "</details>")
    parts.append("</section>")
    return "".join(parts)

"""The analysis records itself: the reporting checklist of Li et al. (2025), filled in automatically.

Li et al. (2025, "(Mis)Fitting: A Survey of Scaling Laws") show that scaling-law papers reach
different conclusions from choices they often leave unsaid, and propose a checklist of what to
report. :func:`checklist` fills it from what an analysis was computed with -- the runs (files,
columns and their roles, the notes of the load), the fit (law, loss and δ, parameters held),
each family's starting-point rule (its ``initial_guesses`` docstring), the range the fits actually
covered, the exclusions with their reasons, the resampling scheme, seed and resamples, and the
versions -- as an ordered list of ``(item, value)`` pairs. Saved analyses carry it
(:attr:`scalecore.store.Analysis.checklist`) and the report shows it (:func:`checklist_html`).
"""

from __future__ import annotations

from importlib import metadata
from typing import Mapping, Sequence

import numpy as np

from .families import get_family
from .formatting import format_value
from .spec import Settings

#: The items, in the order they are reported.
ITEMS = ("data", "columns", "FLOPs", "parameters", "law", "loss", "starting points", "fitted range",
         "exclusions", "resampling", "seed", "resamples", "versions")

_SIZE_KIND = {"params": "count", "tokens": "count", "compute": "flops"}
_METHODS = {"cases": "cases (runs drawn with replacement)",
            "residuals": "residuals (the fit's residuals redrawn around the fitted curve)",
            "groups": "groups (whole groups of runs drawn with replacement)"}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> str:
    """``scalecore 0.x, numpy 2.x, scipy 1.x``."""
    from . import __version__

    return f"scalecore {__version__}, numpy {np.__version__}, scipy {_version('scipy')}"


def starting_points(family) -> str:
    """The family's rule for its starting points: the first paragraph of its ``initial_guesses``
    docstring, and what the fit does with them."""
    fam = get_family(family)
    doc = " ".join((fam.initial_guesses.__doc__ or "").strip().split())
    rule = doc or "the family's initial_guesses"
    return f"{rule} Up to 8 distinct candidates, best objective first, each solved; the lowest optimum kept."


def _span(values: np.ndarray, kind: str) -> str:
    v = values[np.isfinite(values)]
    if not v.size:
        return "—"
    return f"{format_value(float(v.min()), kind)}–{format_value(float(v.max()), kind)}"


def _columns(runs) -> str:
    parts = []
    for role in ("params", "tokens", "compute", "run_id", "group"):
        col = runs.roles.get(role)
        if role in runs.derived:
            parts.append(f"{role} derived (C = {runs.flops_per_token_param:g}·N·D)")
        elif col:
            parts.append(f"{role} ← `{col}`")
    parts.append(f"metrics: {', '.join(f'`{m}`' for m in runs.metrics)}")
    return "; ".join(parts)


def checklist(runs, families: Sequence, settings: Settings | None = None, *,
              exclusions: Mapping[str, str] | None = None, results: Mapping | None = None,
              fixed: Mapping[str, float] | None = None) -> list[tuple[str, str]]:
    """The Li et al. (2025) checklist of an analysis of ``runs`` with ``families`` under
    ``settings``: an ordered list of ``(item, value)`` (items :data:`ITEMS`).

    ``exclusions`` maps run id -> reason; ``results`` ({family: BootstrapResult}) gives the runs
    each fit really used (their range, the runs left out for a missing value); without it the range
    is that of the runs not excluded. ``fixed``: parameters held at a value.
    """
    settings = settings or Settings()
    exclusions = dict(exclusions or {})
    results = dict(results or {})
    fams = [get_family(f) for f in families]
    out: list[tuple[str, str]] = []

    files = ", ".join(f"`{s}`" for s in runs.sources) or "a table given in memory"
    data = f"{len(runs)} runs from {files}"
    groups = runs.groups()
    if len(groups) > 1:
        data += f"; {len(groups)} groups"
    if runs.notes:
        data += ". Notes of the load: " + " ".join(runs.notes)
    out.append(("data", data))
    out.append(("columns", _columns(runs)))

    if "compute" in runs.derived:
        flops = f"C = {runs.flops_per_token_param:g}·N·D (derived: the data have no FLOPs column)"
    elif runs.has("compute"):
        flops = f"as given in `{runs.roles.get('compute') or 'compute'}`"
    else:
        flops = "no compute: the runs have no FLOPs column and not both N and D"
    flops += f"; the compute-optimal frontier uses C = {settings.flops_per_token_param:g}·N·D"
    out.append(("FLOPs", flops))

    col = runs.roles.get("params")
    if not runs.has("params"):
        params = "no parameter count in the data"
    else:
        key = str(col or "").lower().replace("_", "").replace(" ", "").replace("-", "")
        counted = ("without embeddings (the column's name says so)" if "nonembed" in key
                   else "whether it counts embeddings is not recorded in the data")
        params = f"N from `{col or 'params'}`: {counted}"
    out.append(("parameters", params))

    metric = settings.metric or runs.default_metric
    laws = []
    for fam in fams:
        against = "N and D" if fam.is_two_input else (settings.x or "compute")
        laws.append(f"{fam.label} ({fam.name}) of `{metric}` against {against}: {fam.formula}")
    out.append(("law", "; ".join(laws) or "no family"))

    loss = ("least squares of log residuals (Huber δ = ∞)" if settings.loss == "ls"
            else f"sum of Huber losses of log residuals, δ = {settings.delta:g} (Hoffmann et al. 2022, Approach 3)")
    if fixed:
        loss += "; held fixed: " + ", ".join(f"{k} = {v:g}" for k, v in dict(fixed).items())
    out.append(("loss", loss))
    out.append(("starting points", " | ".join(f"{fam.name}: {starting_points(fam)}" for fam in fams) or "—"))

    spans = []
    for fam in fams:
        boot = results.get(fam.name)
        if boot is not None:
            ids = np.asarray(boot.fit.problem.run_ids, dtype=object)
            used = runs.subset(np.isin(runs.run_ids, ids))
        else:
            keep = ~np.isin(runs.run_ids, np.array(list(exclusions), dtype=object))
            used = runs.subset(keep)
        sizes = ", ".join(f"{axis} {_span(used.values(axis), _SIZE_KIND[axis])}"
                          for axis in ("params", "tokens", "compute") if used.has(axis))
        spans.append(f"{fam.name}: {len(used)} runs; {sizes}")
    out.append(("fitted range", " | ".join(spans) or "—"))

    if exclusions:
        excl = f"{len(exclusions)} excluded: " + "; ".join(f"{rid} ({why or 'no reason given'})"
                                                           for rid, why in exclusions.items())
    else:
        excl = "none excluded"
    dropped = sorted({d for boot in results.values() for d in boot.fit.problem.dropped})
    if dropped:
        excl += f"; {len(dropped)} left out for a missing value: {', '.join(dropped)}"
    out.append(("exclusions", excl))

    out.append(("resampling", f"bootstrap by {_METHODS.get(settings.method, settings.method)}; "
                              f"{settings.confidence_level:.0%} percentile intervals; each resample solved "
                              "from the full-data optimum and its other optima"))
    out.append(("seed", "none (fresh entropy)" if settings.seed is None else str(settings.seed)))
    failed = [f"{name}: {boot.n_failed} failed" for name, boot in results.items() if getattr(boot, "n_failed", 0)]
    out.append(("resamples", f"{settings.n_resamples}" + (f" ({'; '.join(failed)})" if failed else "")))
    out.append(("versions", versions()))
    return out


def of_analysis(analysis, runs=None, results: Mapping | None = None) -> list[tuple[str, str]]:
    """The checklist of a saved :class:`~scalecore.store.Analysis` (its runs read from its bytes
    unless given)."""
    runs = analysis.runs() if runs is None else runs
    return checklist(runs, analysis.families, analysis.settings, exclusions=analysis.exclusions, results=results)


def as_text(items: Sequence[tuple[str, str]]) -> str:
    """One ``item: value`` line per item."""
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in items)


def checklist_html(items: Sequence[tuple[str, str]]) -> str:
    """The report's checklist section: a two-column table (self-contained HTML)."""
    import html

    rows = "".join(f"<tr><th scope=\"row\">{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in items)
    return ("<section id=\"checklist\"><h2>Reporting checklist (Li et al. 2025)</h2>"
            "<p class=\"caption\">What this analysis was computed with, filled in automatically.</p>"
            f"<table class=\"checklist\"><tbody>{rows}</tbody></table></section>")

"""How far the headline answers move under the analyst's choices (Li et al. 2025; issue 24, item 2).

:func:`sensitivity` refits one law under each alternative of the choices the literature shows
matter, bootstraps each, and reports the compute-optimal model size N*, token count D* and the
loss at the target compute -- each an :class:`~scalecore.uncertainty.Estimate` with its interval --
beside the baseline (the analysis as it stands), with the shift: N* and D* in decades
(``log10(alternative / baseline)``), the loss in percent.

The choices:

========================  ====================================================================
FLOPs definition          6ND, Kaplan et al. 2020's Table 1, Hoffmann et al. 2022's Appendix F
                          (with a transformer config), or the runs' own FLOPs column
                          (:mod:`scalecore.flops`). A law in N and D is not refitted: the
                          optimum at the target uses the definition's ``k = C/(N D)``. A law in
                          compute is refitted on the runs' compute under that definition.
Parameters                with or without embeddings: another column of parameter counts, or
                          the embedding parameters (a number such as vocab × width, or a
                          column) taken off N; C = k N D is derived again if it was derived,
                          and for a law in compute (which sees N only through C = k N D).
Huber δ                   1e-4, 1e-3, 1e-2, 1e-1 (the baseline's left out), and least squares.
Fit range                 the runs below a size left out (default: the smallest quarter).
E fixed or free           E held at a value (default Hoffmann et al.'s 1.69), or freed when
                          the baseline holds it; only for a law with an ``E``.
========================  ====================================================================

Each row is one fit and one bootstrap of ``n_resamples`` resamples (fewer than the analysis's
1,000 by default, for speed: the table says how many), with the same seed and method as the
baseline, which is bootstrapped with the same count so that the intervals compare. A variant
that cannot be fitted keeps its row with the reason.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from . import flops as flops_mod
from .errors import DataError, ScaleCoreError
from .fitting import fit
from .formatting import format_estimate, format_value
from .spec import FitSpec, Settings
from .uncertainty import Estimate

#: Huber thresholds tried (Hoffmann et al. use 1e-3; Besiroglu et al. 2024 discuss the choice).
DELTAS = (1e-4, 1e-3, 1e-2, 1e-1)
#: E held at Hoffmann et al. (2022)'s fitted value unless the user gives another.
E_PUBLISHED = 1.69
#: Resamples per variant unless told otherwise.
N_RESAMPLES = 200
#: The quantities each row reports, with their number kinds (scalecore.formatting).
QUANTITIES = {"params": "count", "tokens": "count", "loss": "loss"}
_NAN = Estimate(math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class SensitivityRow:
    """One alternative: the choice it belongs to, what it is, and the three headline answers."""

    choice: str
    alternative: str
    params: Estimate = _NAN
    tokens: Estimate = _NAN
    loss: Estimate = _NAN
    n_points: int = 0
    n_resamples: int = 0
    n_failed: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def value(self, quantity: str) -> Estimate:
        return getattr(self, quantity)

    def to_dict(self) -> dict:
        return {"choice": self.choice, "alternative": self.alternative, "n_points": self.n_points,
                "n_resamples": self.n_resamples, "n_failed": self.n_failed, "error": self.error,
                **{q: getattr(self, q).to_dict() for q in QUANTITIES}}


def shift(base: Estimate, other: Estimate, quantity: str) -> float:
    """The move from ``base`` to ``other``: decades (log10 of the ratio) for N* and D*, percent for
    the loss; NaN where either is missing."""
    b, o = base.value, other.value
    if not (math.isfinite(b) and math.isfinite(o)) or b <= 0 or o <= 0:
        return math.nan
    return math.log10(o / b) if quantity in ("params", "tokens") else 100.0 * (o / b - 1.0)


def shift_text(value: float, quantity: str) -> str:
    """``+0.12 dec`` or ``-1.3%``, through :func:`format_value`."""
    if not math.isfinite(value):
        return "—"
    sign = "+" if value >= 0 else "−"
    unit = " dec" if quantity in ("params", "tokens") else "%"
    return f"{sign}{format_value(abs(value), digits=2)}{unit}"


@dataclass(frozen=True)
class Sensitivity:
    """The headline answers under each alternative choice, against the baseline."""

    family: str
    target: float
    baseline: SensitivityRow
    rows: tuple[SensitivityRow, ...]
    n_resamples: int
    confidence_level: float
    seed: int | None
    k: float
    two_input: bool
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    spec: FitSpec | None = field(default=None, repr=False)

    @property
    def quantities(self) -> tuple[str, ...]:
        """N*, D* and the loss for a law in N and D; the loss alone for a one-input law."""
        return tuple(QUANTITIES) if self.two_input else ("loss",)

    def shift(self, row: SensitivityRow, quantity: str) -> float:
        return shift(self.baseline.value(quantity), row.value(quantity), quantity)

    def table(self) -> list[dict]:
        """One dict per row (the baseline first): choice, alternative, each quantity as text, its
        shift as text, the resamples and any error; what the app and the CLI show."""
        out = []
        for row in (self.baseline, *self.rows):
            d = {"choice": row.choice, "alternative": row.alternative}
            for q in self.quantities:
                est = row.value(q)
                d[q] = format_estimate(est, kind=QUANTITIES[q]) if math.isfinite(est.value) else "—"
                d[f"{q}_shift"] = "" if row is self.baseline else shift_text(self.shift(row, q), q)
            d["resamples"] = f"{row.n_resamples - row.n_failed}/{row.n_resamples}" if row.ok else ""
            d["note"] = row.error or ""
            out.append(d)
        return out

    def largest(self, quantity: str | None = None) -> tuple[SensitivityRow | None, float]:
        """The row that moves ``quantity`` (default: N* for a law in N and D, else the loss) most."""
        q = quantity or self.quantities[0]
        best, size = None, -1.0
        for row in self.rows:
            s = self.shift(row, q)
            if math.isfinite(s) and abs(s) > size:
                best, size = row, abs(s)
        return best, (self.shift(best, q) if best is not None else math.nan)

    def to_dict(self) -> dict:
        return {"family": self.family, "target": self.target, "k": self.k, "n_resamples": self.n_resamples,
                "confidence_level": self.confidence_level, "seed": self.seed, "notes": list(self.notes),
                "baseline": self.baseline.to_dict(),
                "rows": [dict(r.to_dict(), shift={q: self.shift(r, q) for q in self.quantities}) for r in self.rows]}

    def __repr__(self) -> str:
        q = self.quantities
        lines = [f"Sensitivity of {self.family} at C = {format_value(self.target, 'flops')} "
                 f"({len(self.rows)} alternatives, {self.n_resamples} resamples each, "
                 f"{self.confidence_level:.0%} percentile intervals)"]
        table = self.table()
        wide = max(len(d["alternative"]) for d in table)
        for d in table:
            cells = "  ".join(f"{d[k]}{(' (' + d[k + '_shift'] + ')') if d.get(k + '_shift') else ''}" for k in q)
            lines.append(f"  {d['choice']:<17} {d['alternative']:<{wide}}  {cells}{'  ! ' + d['note'] if d['note'] else ''}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------ the variants


def _answers(boot, two_input: bool, target: float, k: float) -> dict[str, Estimate]:
    if two_input:
        opt = boot.compute_optimal(target, k)
        return {q: opt[q] for q in QUANTITIES}
    return {"params": _NAN, "tokens": _NAN, "loss": boot.predict_at(target)}


def _with_column(runs, column: str, values) -> object:
    frame = runs.frame.copy()
    frame[column] = np.asarray(values, float)
    return replace(runs, frame=frame)


def _embedding_values(runs, embedding_params) -> np.ndarray:
    if isinstance(embedding_params, str):
        if embedding_params not in runs.frame.columns:
            raise DataError(f"no column `{embedding_params}` of embedding parameters; the runs have "
                            f"{', '.join(map(str, runs.frame.columns))}")
        return runs.frame[embedding_params].to_numpy(dtype=float)
    value = float(embedding_params)
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"`embedding_params` must be a positive number (vocabulary × width) or a column; got {embedding_params!r}")
    return np.full(len(runs), value)


def _other_params_column(runs) -> str | None:
    """A column of the runs that holds the other parameter count (its name says embedding)."""
    for col in runs.frame.columns:
        key = str(col).lower().replace("_", "").replace("-", "").replace(" ", "")
        if "embed" in key and col not in (runs.roles.get("params"),) and col != "params":
            values = runs.frame[col]
            if values.dtype.kind in "fi" and bool((values > 0).any()):
                return str(col)
    return None


def sensitivity(runs, spec, target: float, *, settings: Settings | None = None, n_resamples: int | None = None,
                config: flops_mod.TransformerConfig | None = None, config_columns=None, other_params: str | None = None,
                embedding_params: float | str | None = None, min_params: float | None = None,
                fixed_E: float = E_PUBLISHED, deltas=DELTAS) -> Sensitivity:
    """Refit ``spec`` (a :class:`FitSpec` or a family name) under each alternative choice and return
    the headline answers at ``target`` (training FLOPs for a law in N and D; the fit's x for a
    one-input law) with their intervals and shifts (:class:`Sensitivity`).

    ``settings`` supplies the bootstrap (seed, level, method) and ``k`` of C = k N D (default: the
    runs' own k);
    ``n_resamples`` per variant (default :data:`N_RESAMPLES`, at most the settings'). ``config``
    (a :class:`~scalecore.flops.TransformerConfig`: the target's shape) adds Kaplan's and Hoffmann's
    FLOP counts; ``config_columns`` (config field -> column, or a number for every run) gives each
    run its own shape, so a law in compute is refitted on each run's FLOPs by those counts.
    ``other_params`` names a column with the other parameter count (with or without embeddings;
    found by name when it says "embedding"); ``embedding_params`` (a number or a column) is taken
    off N instead. ``min_params``: the fit-range cut (default the smallest quarter of the sizes).
    ``fixed_E``: the value E is held at. Raises what the baseline fit raises.
    """
    t0 = time.perf_counter()
    settings = settings or Settings(flops_per_token_param=runs.flops_per_token_param)
    spec = FitSpec.of(spec) if isinstance(spec, FitSpec) else settings.spec(spec)
    if not (isinstance(target, (int, float)) and math.isfinite(target) and target > 0):
        raise DataError(f"`target` must be a positive number (training FLOPs for a law in N and D); got {target!r}")
    B = int(n_resamples or min(N_RESAMPLES, settings.n_resamples))
    boot_opts = {"n_resamples": B, "seed": settings.seed, "confidence_level": settings.confidence_level,
                 "method": settings.method}
    fam = spec.model
    two_input = fam.is_two_input
    k = float(settings.flops_per_token_param)
    notes: list[str] = []

    base_fit = fit(runs, spec)
    base_boot = base_fit.bootstrap(**boot_opts)
    label = f"as analysed ({'least squares' if spec.loss == 'ls' else f'Huber δ = {spec.delta:g}'}, k = {k:g})"
    baseline = SensitivityRow("baseline", label, n_points=base_fit.n_points, n_resamples=B,
                              n_failed=base_boot.n_failed, **_answers(base_boot, two_input, target, k))
    rows: list[SensitivityRow] = []

    def variant(choice: str, alternative: str, v_runs=None, v_spec=None, v_k=None, boot=None) -> None:
        try:
            if boot is None:
                boot = fit(v_runs if v_runs is not None else runs, v_spec or spec).bootstrap(**boot_opts)
            rows.append(SensitivityRow(choice, alternative, n_points=boot.fit.n_points, n_resamples=B,
                                       n_failed=boot.n_failed, **_answers(boot, two_input, target, v_k or k)))
        except ScaleCoreError as exc:
            rows.append(SensitivityRow(choice, alternative, n_resamples=B, error=str(exc)))

    # 1. the FLOPs definition
    x_axis = spec.x if not two_input else None
    has_nd = runs.has("params") and runs.has("tokens")
    own_column = runs.has("compute") and "compute" not in runs.derived
    definitions: list[tuple[str, float | None]] = []
    if k != 6.0 or own_column:
        definitions.append(("6ND (Kaplan et al. 2020)", 6.0))
    if config is not None:
        definitions.append(("Kaplan et al. 2020, Table 1", flops_mod.flops_per_param_token("kaplan2020", config)))
        definitions.append(("Hoffmann et al. 2022, App. F", flops_mod.flops_per_param_token("hoffmann2022", config)))
    if own_column and has_nd:
        ratio = runs.values("compute") / (runs.values("params") * runs.values("tokens"))
        definitions.append(("the runs' FLOPs column", float(np.nanmedian(ratio))))
    for name, kk in definitions:
        text = f"{name} (k = {format_value(kk, digits=3)})"
        if two_input:
            if math.isclose(kk, k, rel_tol=1e-3):
                notes.append(f"FLOPs definition: {name} gives k = {format_value(kk, digits=3)}, the baseline's")
            else:
                variant("FLOPs definition", text, boot=base_boot, v_k=kk)
        elif x_axis == "compute" and has_nd and not (config_columns and name.startswith(("Kaplan", "Hoffmann"))):
            c = runs.values("compute") if name == "the runs' FLOPs column" else kk * runs.values("params") * runs.values("tokens")
            if np.allclose(c, runs.values("compute"), rtol=1e-3, equal_nan=True):
                notes.append(f"FLOPs definition: {name} gives the runs' compute as analysed")
            else:
                variant("FLOPs definition", text, v_runs=_with_column(runs, "compute", c), v_k=kk)
    if config_columns:
        cfg_runs = flops_mod.TransformerConfig.of_runs(runs, config_columns)
        if two_input:
            notes.append("FLOPs definition: per-run configs do not change a law in N and D (its fit does not use C); "
                         "give the target's config for the frontier")
        elif x_axis == "compute" and runs.has("tokens"):
            for name, definition in (("Kaplan et al. 2020, Table 1", "kaplan2020"),
                                     ("Hoffmann et al. 2022, App. F", "hoffmann2022")):
                c = flops_mod.training_flops(definition, cfg_runs, runs.values("tokens"))
                variant("FLOPs definition", f"{name}, each run's config", v_runs=_with_column(runs, "compute", c))
    if not definitions and not config_columns:
        notes.append("FLOPs definition: give a transformer config (layers, width, heads, context, vocabulary) "
                     "or a FLOPs column to compare definitions")

    # 2. parameters with or without embeddings
    # a law in compute sees N through C = k N D: with N and D, the other count gives other compute
    uses_params = two_input or x_axis == "params" or (x_axis == "compute" and has_nd)
    other = other_params or (None if embedding_params is not None else _other_params_column(runs))
    if runs.has("params") and uses_params and (other is not None or embedding_params is not None):
        try:
            if other is not None:
                if other not in runs.frame.columns:
                    raise DataError(f"no column `{other}` of parameter counts; the runs have "
                                    f"{', '.join(map(str, runs.frame.columns))}")
                n_alt, text = runs.frame[other].to_numpy(dtype=float), f"N from `{other}`"
            else:
                n_alt = runs.values("params") - _embedding_values(runs, embedding_params)
                text = "N without embeddings"
            if np.any(n_alt[np.isfinite(n_alt)] <= 0):
                raise DataError("the other parameter count has values at or below zero: check the embedding parameters")
            v_runs = _with_column(runs, "params", n_alt)
            if "compute" in runs.derived or x_axis == "compute":
                v_runs = _with_column(v_runs, "compute", k * n_alt * runs.values("tokens"))
                text += f" (C = {k:g}·N·D)" if x_axis == "compute" else ""
            variant("Parameters", text, v_runs=v_runs)
        except ScaleCoreError as exc:
            rows.append(SensitivityRow("Parameters", "other parameter count", n_resamples=B, error=str(exc)))
    elif uses_params:
        notes.append("Parameters: name a column with the other count (with/without embeddings), or give the "
                     "embedding parameters (vocabulary × width), to compare")

    # 3. the loss: Huber delta, least squares
    for d in deltas:
        if spec.loss == "ls" or not math.isclose(d, spec.delta):
            variant("Huber δ", f"δ = {d:g}", v_spec=replace(spec, loss="huber", delta=float(d)))
    if spec.loss != "ls":
        variant("Huber δ", "least squares", v_spec=replace(spec, loss="ls"))

    # 4. the fit range: drop the smallest runs
    size_axis = "params" if runs.has("params") else (x_axis or "compute")
    sizes = runs.values(size_axis)
    used = ~np.isin(runs.run_ids, np.array(spec.exclude, dtype=object)) & np.isfinite(sizes)
    if used.any():
        cut = float(min_params) if min_params is not None else float(np.quantile(sizes[used], 0.25))
        below = used & (sizes < cut)
        if below.any():
            drop = tuple(spec.exclude) + tuple(runs.run_ids[below].tolist())
            kind = "count" if size_axis != "compute" else "flops"
            variant("Fit range", f"{size_axis} ≥ {format_value(cut, kind)} (drops {int(below.sum())} runs)",
                    v_spec=replace(spec, exclude=drop))
        else:
            notes.append(f"Fit range: no run is below {format_value(cut)}")

    # 5. E fixed or free
    held = dict(spec.fixed)
    if "E" in held:
        variant("E", "E free", v_spec=replace(spec, fixed=tuple((n, v) for n, v in held.items() if n != "E")))
    elif "E" in fam.param_names:
        variant("E", f"E fixed at {format_value(fixed_E)}", v_spec=replace(spec, fixed={**held, "E": float(fixed_E)}))
    else:
        notes.append(f"E fixed or free: the {fam.name} law has no irreducible term E")

    return Sensitivity(family=fam.name, target=float(target), baseline=baseline, rows=tuple(rows), n_resamples=B,
                       confidence_level=settings.confidence_level, seed=settings.seed, k=k, two_input=two_input,
                       notes=tuple(notes), seconds=time.perf_counter() - t0, spec=spec)

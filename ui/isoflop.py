"""Glue of the "IsoFLOP & curves" page: cached calls into scalecore.isoflop / scalecore.curves, the
curves source (bundled samples and uploads kept in the blob store so links survive a reload), and
the exclusions of curve runs (session state + the ``cexclude`` URL parameter, ``run_id|reason``
like Explore's ``exclude``). IsoFLOP profiles use the sidebar dataset and Explore's exclusions.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import streamlit as st

from scalecore import DataError, ScaleCoreError, blobs, optimum
from scalecore import isoflop as sc_isoflop
from scalecore import curves as sc_curves
from scalecore.plots import CurveSpec
from scalecore.stats import percentile_interval

from . import analysis, cache, state
from .cache import Outcome, guard
from . import data_source



def curves_dir():
    """The samples' curves folder, read when asked: ``data_source.SAMPLES_DIR`` can be moved (tests
    point it at a folder of their own), and a copy taken at import kept the folder of whichever
    session first imported this module (the IsoFLOP page then offered no curves at all)."""
    return data_source.SAMPLES_DIR / "curves"
#: Tokens per step of each bundled curves sample (stated in sample_runs/README.md).
SAMPLE_TOKENS_PER_STEP = {"loss_curves.csv": "524288"}
CURVE_EXCLUDE = "cexclude"
_CURVE_EXCL = "_frontier_curve_exclusions"
_CURVE_DONE = "_frontier_curve_selection_done"
_UPLOADS = "_frontier_curve_uploads"
PLOT_REASON = "selected on the plot"


# ------------------------------------------------------------------------------ IsoFLOP (Approach 2 and 3)


@st.cache_resource(max_entries=128, show_spinner=False)
def isoflop(data_key: str, _runs, metric: str, exclude: tuple, budgets: str | None, robust: bool,
            include_unbracketed: bool, n_resamples: int, confidence_level: float, seed: int, method: str,
            tolerance: float | None = None, by: str | None = None) -> Outcome:
    """Approach 2 on the runs: an IsoFlopResult, or with ``by`` an IsoFlopGroups (one analysis per group)."""
    return guard(sc_isoflop.isoflop_profiles, _runs, y=metric, exclude=exclude, budgets=budgets, robust=robust,
                  include_unbracketed=include_unbracketed, n_resamples=n_resamples,
                  confidence_level=confidence_level, seed=seed, method=method, tolerance=tolerance, by=by)


#: The choice of "Analyse" that pools every run into one frontier.
POOLED = "all runs together"


def group_choices(runs) -> list[str]:
    """How to split the runs: per value of the group column (first: the default) when it holds
    configurations -- several groups at one compute budget -- then all runs pooled. A group column
    that names the budgets themselves (chinchilla_like's C=1e20) offers nothing to split by."""
    if "group" in runs.derived or runs.frame["group"].nunique() < 2 or not sc_isoflop.groups_share_budgets(runs):
        return [POOLED]
    return [runs.roles.get("group") or "group", POOLED]


def default_grouping(runs) -> str:
    """One analysis per group whenever the runs have configurations; pooled only when asked."""
    return group_choices(runs)[0]


def approach3_settings(n_resamples: int, confidence_level: float, seed: int) -> tuple:
    """Explore's settings for the chinchilla family (cases bootstrap, Huber 1e-3): same cache entry."""
    s = analysis.Settings(n_resamples=n_resamples, confidence_level=confidence_level, seed=seed)
    return tuple(sorted(s.as_dict().items()))


def approach3(ds, metric: str, exclude: tuple, settings: tuple) -> Outcome:
    return cache.fit(ds.key, ds.runs, "chinchilla", None, metric, exclude, settings)


def approach3_curve(boot, compute_grid: np.ndarray, k: float) -> CurveSpec:
    """N*(C) of the chinchilla fit with its percentile band."""
    opt = optimum.compute_optimum(boot.family, boot.fit.theta, compute_grid, k)
    point = np.asarray(opt["params"], float)
    dist = np.asarray(optimum.compute_optimum(boot.family, boot.good[:, None, :], compute_grid[None, :], k)["params"], float)
    lo, hi = percentile_interval(dist, boot.confidence_level)
    a3 = float(opt["a"])
    return CurveSpec(name="approach3", label=f"Approach 3 (chinchilla fit): N* ∝ C^{a3:.3f}", x=compute_grid,
                     y=point, lower=lo, upper=hi, dash="dash")


def budget_choices(runs) -> list[str]:
    """"auto" (gaps in compute) first, then text columns that could name budgets (group, extra columns),
    and ``run_id`` when every run name has a budget written in it (isoflop-6e+19-...)."""
    frame = runs.frame
    out = ["auto"]
    if "run_id" not in runs.derived and len(frame) and all(
            np.isfinite(sc_isoflop.budget_from_name(r)) for r in frame["run_id"].astype(str)):
        out.append("run_id")
    for col in frame.columns:
        if col in ("run_id", "params", "tokens", "compute") or col in runs.metrics:
            continue
        values = frame[col]
        n = values.nunique(dropna=True)
        if 2 <= n <= max(2, len(frame) // 3):
            out.append(str(col))
    return out


# ------------------------------------------------------------------------------ curves sources


def sample_curve_ids() -> list[str]:
    folder = curves_dir()
    files = sorted(p.name for p in folder.glob("*.csv")) if folder.is_dir() else []
    return [f"sample:{f}" for f in files]


def curve_source_label(source_id: str) -> str:
    kind, _, rest = str(source_id).partition(":")
    if kind == "sample":
        return f"{rest}  (sample, synthetic)"
    try:  # from the stored manifest, not session state: the same label in every session (and in tests)
        return json.loads(blobs.get(rest).decode("utf-8"))["name"] + "  (uploaded)"
    except (ScaleCoreError, ValueError, KeyError, TypeError, OSError):
        return f"upload {rest}"


def curve_bytes(source_id: str) -> tuple[str, bytes]:
    kind, _, rest = str(source_id).partition(":")
    if kind == "sample":
        path = (curves_dir() / rest).resolve()
        if path.parent != curves_dir().resolve() or not path.is_file():
            raise DataError(f"there is no sample of curves `{rest}`; choose one from the list")
        return path.name, path.read_bytes()
    if kind == "upload":
        manifest = json.loads(blobs.get(rest).decode("utf-8"))
        return manifest["name"], blobs.get(manifest["key"])
    raise DataError(f"`{source_id}` is not a curves reference (expected sample:<file> or upload:<key>)")


def uploaded_curve_ids() -> list[str]:
    """The curve files this session uploaded (``upload:<key>``), in upload order."""
    return list(st.session_state.get(_UPLOADS, {}))


def store_curve_upload(name: str, data: bytes) -> str:
    manifest = {"name": name, "key": blobs.put(data)}
    source_id = "upload:" + blobs.put(json.dumps(manifest, sort_keys=True).encode("utf-8"))
    st.session_state.setdefault(_UPLOADS, {})[source_id] = f"{name}  (uploaded)"
    return source_id


def known_upload(source_id: str | None) -> bool:
    if not source_id or not str(source_id).startswith("upload:"):
        return False
    try:
        curve_bytes(source_id)
    except (ScaleCoreError, ValueError, KeyError, OSError):
        return False
    return True


@st.cache_resource(max_entries=16, show_spinner="Reading the curves…")
def load_curves(source_id: str, tokens_per_step: float | None, stamp: float) -> Outcome:
    def run():
        name, data = curve_bytes(source_id)
        curves = sc_curves.load_curves(data, tokens_per_step=tokens_per_step, name=name)
        return curves, curves.content_key()

    return guard(run)


def stamp(source_id: str) -> float:
    kind, _, rest = source_id.partition(":")
    path = curves_dir() / rest
    return path.stat().st_mtime if kind == "sample" and path.is_file() else 0.0


@st.cache_resource(max_entries=64, show_spinner=False)
def curves_approach1(curves_key: str, _curves, exclude: tuple, skip_steps: float, smoothing: int, n_grid: int,
                    bracketed_only: bool, n_resamples: int, confidence_level: float, seed: int) -> Outcome:
    return guard(sc_curves.approach1, _curves, exclude=exclude, skip_steps=skip_steps, smoothing=smoothing,
                  n_grid=n_grid, bracketed_only=bracketed_only, n_resamples=n_resamples,
                  confidence_level=confidence_level, seed=seed)


# ------------------------------------------------------------------------------ curve exclusions


def curve_exclusions(source_id: str, known_ids) -> dict[str, str]:
    """Excluded curve runs with reasons; read from the URL once per source, kept in session state."""
    current = st.session_state.get(_CURVE_EXCL)
    known = {str(i) for i in known_ids}
    if current is None or current["source"] != source_id:
        requested = st.session_state.setdefault("_frontier_url_cexclude", list(st.query_params.get_all(CURVE_EXCLUDE)))
        items = state.decode_exclusions(requested, known) if requested else {}
        st.session_state["_frontier_url_cexclude"] = []
        current = {"source": source_id, "items": items}
        st.session_state[_CURVE_EXCL] = current
    items = {r: why for r, why in current["items"].items() if r in known}
    write_curve_url(items)
    return items


def set_curve_exclusions(source_id: str, items: dict) -> None:
    st.session_state[_CURVE_EXCL] = {"source": source_id, "items": dict(items)}
    write_curve_url(items)


def write_curve_url(items: dict) -> None:
    values = state.encode_exclusions(items)[: state.MAX_URL_EXCLUSIONS]
    qp = st.query_params
    current = qp.get_all(CURVE_EXCLUDE) if CURVE_EXCLUDE in qp else []
    if list(current) == values:
        return
    if not values:
        del qp[CURVE_EXCLUDE]
    else:
        qp[CURVE_EXCLUDE] = values if len(values) > 1 else values[0]


def on_curve_select(chart_key: str, source_id: str, known: frozenset) -> None:
    ids = [i for i in state.selected_run_ids(st.session_state.get(chart_key)) if i in known]
    st.session_state.setdefault(_CURVE_DONE, {})[chart_key] = tuple(ids)
    if ids:
        items = curve_exclusions(source_id, known)
        set_curve_exclusions(source_id, state.toggled(items, ids, PLOT_REASON))


def apply_pending_curve_selection(chart_key: str, source_id: str, known: frozenset) -> None:
    """A selection that arrived without the callback (AppTest): apply it once, then rerun."""
    ids = tuple(i for i in state.selected_run_ids(st.session_state.get(chart_key)) if i in known)
    done = st.session_state.setdefault(_CURVE_DONE, {})
    if ids and done.get(chart_key) != ids:
        done[chart_key] = ids
        set_curve_exclusions(source_id, state.toggled(curve_exclusions(source_id, known), ids, PLOT_REASON))
        st.rerun()


def _on_curve_table(editor_key: str, source_id: str, row_ids: list[str]) -> None:
    edits = (st.session_state.get(editor_key) or {}).get("edited_rows", {})
    items = st.session_state.get(_CURVE_EXCL, {}).get("items", {})
    set_curve_exclusions(source_id, state.table_edits(items, edits, row_ids))


def curve_runs_table(curves, source_id: str, items: dict) -> None:
    """One row per run with an "excluded" checkbox and an editable reason (as Explore's runs table)."""
    runs = curves.runs
    ids = runs["run_id"].astype(str).tolist()
    table = pd.DataFrame({"excluded": [i in items for i in ids], "reason": [items.get(i, "") for i in ids],
                          "run_id": ids, "group": runs["group"].astype(str), "N": runs["params"],
                          "points": runs["n_points"], "tokens (last)": runs["tokens_max"],
                          "compute (last)": runs["compute_max"], f"{curves.metric} (last)": runs["final"]})
    key = "curve_runs_" + hashlib.sha1(repr(sorted(items.items())).encode()).hexdigest()[:10]
    st.data_editor(table, key=key, hide_index=True, width="stretch", num_rows="fixed",
                   disabled=[c for c in table.columns if c not in ("excluded", "reason")],
                   column_config={"N": st.column_config.NumberColumn("N", format="%.3e"),
                                  "tokens (last)": st.column_config.NumberColumn(format="%.3e"),
                                  "compute (last)": st.column_config.NumberColumn(format="%.3e")},
                   on_change=_on_curve_table, args=(key, source_id, ids))


def parse_positive(text: str) -> tuple[float | None, str | None]:
    """``"524288"``, ``"0.5M"`` -> (value, None); ``""`` -> (None, None); bad text -> (None, message)."""
    value, problem = analysis.parse_target(text)
    if problem:
        return None, problem.replace("target", "value")
    return value, None

"""The sidebar data source shared by every page: sample picker, uploader, column mapping, data table.

A dataset becomes the active one only after it has loaded without error, so a bad upload or a bad
mapping shows its message and leaves the previous dataset (and the link) as they were.
Uploaded bytes go to :mod:`scalecore.blobs`, so ``?data=upload:<key>`` works after a reload.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from scalecore import DataError, ScaleCoreError, blobs, formatting
from scalecore.data import ROLES, detect_roles

from . import WARNING_ICON, cache, md, md_message, state

log = logging.getLogger("scalecore.app")

#: The bundled samples; ``SCALECORE_SAMPLE_DIR`` points elsewhere (for trying the app on a folder of CSVs).
SAMPLES_DIR = Path(os.environ.get("SCALECORE_SAMPLE_DIR") or Path(__file__).resolve().parent.parent / "sample_runs")
DEFAULT_SAMPLE = "chinchilla_like.csv"
ROLE_TITLES = {"params": "model size N", "tokens": "tokens D", "compute": "compute C", "metric": "metric",
               "group": "group", "run_id": "run id"}
MAPPING_ROLES = ("params", "tokens", "compute", "metric", "group", "run_id")
AUTO, NONE = "(detect)", "(none)"

_ACTIVE = "ds_active"  # {"id": source id, "mapping": {...}}
_ERROR = "ds_error"  # message of the last failed load
_PENDING = "ds_pending"  # source id of a failed upload, kept so its columns can be mapped
_UPLOADS = "ds_uploads"  # {source id: label} uploaded in this session
_CURRENT = "ds_current"  # the Dataset of this run
CHOICE_KEY, UPLOAD_KEY = "ds_choice", "ds_upload"


@dataclass(frozen=True)
class Dataset:
    """The active dataset as pages see it."""

    id: str
    label: str
    mapping: dict
    runs: object  # scalecore.Runs
    key: str  # content key: part of every cache key


# ------------------------------------------------------------------------------ sources


def sample_ids() -> list[str]:
    files = sorted(p.name for p in SAMPLES_DIR.glob("*.csv")) if SAMPLES_DIR.is_dir() else []
    if DEFAULT_SAMPLE in files:
        files.remove(DEFAULT_SAMPLE)
        files.insert(0, DEFAULT_SAMPLE)
    return [f"sample:{f}" for f in files]


def default_id() -> str | None:
    ids = sample_ids()
    return ids[0] if ids else None


def source_files(source_id: str) -> list[tuple[str, bytes]]:
    """``[(file name, bytes)]`` of a source id; DataError if it cannot be found."""
    kind, _, rest = str(source_id).partition(":")
    if kind == "sample":
        path = (SAMPLES_DIR / rest).resolve()
        if path.parent != SAMPLES_DIR.resolve() or not path.is_file():
            raise DataError(f"there is no sample dataset `{rest}`; choose one from the list")
        return [(path.name, path.read_bytes())]
    if kind == "upload":
        try:
            manifest = json.loads(blobs.get(rest).decode("utf-8"))
            files = [(f["name"], blobs.get(f["key"])) for f in manifest["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"the upload `{rest}` is damaged on this server; upload the file again") from None
        return files
    raise DataError(f"`{source_id}` is not a dataset reference (expected sample:<file> or upload:<key>)")


def source_label(source_id: str) -> str:
    kind, _, rest = str(source_id).partition(":")
    if kind == "sample":  # the file name alone: "(sample, synthetic)" after it was cut in the sidebar's box;
        return rest        # the box's help says that the bundled samples are synthetic
    labels = st.session_state.get(_UPLOADS, {})
    if source_id in labels:
        return labels[source_id]
    try:
        manifest = json.loads(blobs.get(rest).decode("utf-8"))
        return ", ".join(f["name"] for f in manifest["files"]) + "  (uploaded)"
    except (ScaleCoreError, ValueError, KeyError, TypeError):
        return f"upload {rest}"


def store_upload(files: list[tuple[str, bytes]]) -> str:
    """Keep uploaded files in the blob store; the source id names a small manifest of them."""
    manifest = {"files": [{"name": name, "key": blobs.put(data)} for name, data in files]}
    return "upload:" + blobs.put(json.dumps(manifest, sort_keys=True).encode("utf-8"))


def header_columns(files: list[tuple[str, bytes]]) -> list[str]:
    """Column names in the header rows of the files (for the mapping panel of a failed upload)."""
    columns: list[str] = []
    for _, data in files:
        try:
            text = data[:65536].decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data[:65536].decode("latin-1")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            continue
        sep = max((",", ";", "\t"), key=lambda s: len(next(csv.reader([lines[0]], delimiter=s))))
        for c in next(csv.reader(io.StringIO(lines[0]), delimiter=sep)):
            if c.strip() and c not in columns:
                columns.append(c)
    return columns


# ------------------------------------------------------------------------------ loading


def _load(source_id: str, mapping: dict):
    return cache.load_runs(source_id, tuple(sorted(mapping.items())), _stamp(source_id))


def _stamp(source_id: str) -> float:
    """Modification time of a sample file (so an edited sample is re-read); 0 for uploads."""
    kind, _, rest = source_id.partition(":")
    path = SAMPLES_DIR / rest
    return path.stat().st_mtime if kind == "sample" and path.is_file() else 0.0


def _try_activate(source_id: str, mapping: dict, *, context: str) -> bool:
    """Load and, on success, make it the active dataset; on failure keep the old one and say why."""
    try:
        _load(source_id, mapping)
    except ScaleCoreError as exc:
        st.session_state[_ERROR] = f"{context}: {exc}"
        return False
    except Exception as exc:  # noqa: BLE001 -- a loader bug must not take the app down
        log.exception("loading %s failed", source_id)
        st.session_state[_ERROR] = f"{context}: unexpected error ({type(exc).__name__}: {exc})"
        return False
    st.session_state[_ACTIVE] = {"id": source_id, "mapping": dict(mapping)}
    st.session_state[_ERROR] = None
    st.session_state[_PENDING] = None
    st.session_state[CHOICE_KEY] = source_id
    return True


def _on_choice() -> None:
    choice = st.session_state.get(CHOICE_KEY)
    active = st.session_state.get(_ACTIVE) or {}
    if choice and choice != active.get("id"):
        if not _try_activate(choice, {}, context=f"Could not load {source_label(choice)}"):
            st.session_state[CHOICE_KEY] = active.get("id")


def _on_upload() -> None:
    uploaded = st.session_state.get(UPLOAD_KEY) or []
    if not isinstance(uploaded, list):
        uploaded = [uploaded]
    if not uploaded:
        return
    files = [(f.name, f.getvalue()) for f in uploaded]
    try:
        source_id = store_upload(files)
    except OSError as exc:
        st.session_state[_ERROR] = f"Could not keep the upload on the server: {exc}"
        return
    label = ", ".join(name for name, _ in files) + "  (uploaded)"
    st.session_state.setdefault(_UPLOADS, {})[source_id] = label
    if not _try_activate(source_id, {}, context=f"Could not load {label.removesuffix('  (uploaded)')}"):
        st.session_state[_PENDING] = source_id


def _apply_mapping(source_id: str, columns: list[str], key: str) -> None:
    mapping = {}
    for role in MAPPING_ROLES:
        choice = st.session_state.get(f"map_{key}_{role}", AUTO)
        if choice == NONE:
            mapping[role] = None
        elif choice != AUTO and choice in columns:
            mapping[role] = choice
    _try_activate(source_id, mapping, context="Could not apply the column mapping")


# ------------------------------------------------------------------------------ the sidebar


def _initial_active() -> None:
    """First run of a session: the dataset (and mapping) the URL asks for, else the default sample."""
    if st.session_state.get(_ACTIVE):
        return
    requested = state.read_url_once()
    wanted = requested.get(state.DATA)
    if wanted:
        if _try_activate(wanted, requested.get(state.MAPPING) or {}, context="The link's dataset could not be loaded"):
            return
        error = st.session_state.get(_ERROR)
        fallback = default_id()
        if fallback and _try_activate(fallback, {}, context="The default sample could not be loaded"):
            st.session_state[_ERROR] = f"{error}\n\nShowing the sample dataset instead."
        return
    fallback = default_id()
    if fallback:
        _try_activate(fallback, {}, context="The default sample could not be loaded")


def current() -> Dataset | None:
    """The dataset the sidebar loaded in this run (pages call this)."""
    return st.session_state.get(_CURRENT)


def sidebar() -> Dataset | None:
    """Draw the data source in the sidebar; return the active dataset (None if there is none)."""
    st.session_state[_CURRENT] = None
    _initial_active()
    active = st.session_state.get(_ACTIVE)
    with st.sidebar:
        st.header("Data")
        options = sample_ids()
        for extra in list(st.session_state.get(_UPLOADS, {})) + ([active["id"]] if active else []):
            if extra not in options:
                options.append(extra)
        if active and st.session_state.get(CHOICE_KEY) not in options:
            st.session_state[CHOICE_KEY] = active["id"]
        st.selectbox("Dataset", options, key=CHOICE_KEY, format_func=source_label, on_change=_on_choice,
                     help="The bundled samples (file name alone) are synthetic. Uploaded files are kept on this server so links work.")
        st.file_uploader("Upload CSV files of runs", type=["csv", "tsv", "txt"], accept_multiple_files=True,
                         key=UPLOAD_KEY, on_change=_on_upload,
                         help="One row per training run. Columns are recognised by name (params/N, tokens/D, "
                              "compute/FLOPs, loss, ...); numbers like 7B or 1.4T are fine.")
        if st.session_state.get(_ERROR):
            st.error(md_message(st.session_state[_ERROR]), icon=WARNING_ICON)
        pending = st.session_state.get(_PENDING)
        if pending and "mapping" in (st.session_state.get(_ERROR) or ""):  # a column problem, not a broken file
            try:
                columns = header_columns(source_files(pending))
            except ScaleCoreError:
                columns = []
            if columns:
                with st.expander(f"Map the columns of {source_label(pending).removesuffix('  (uploaded)')}",
                                 expanded=True):
                    _mapping_form(pending, columns, roles=detect_roles(columns), derived=frozenset(), key="pending")
        if not active:
            st.info("No dataset loaded. Upload a CSV file of runs.")
            return None
        try:
            runs, key = _load(active["id"], active["mapping"])
        except ScaleCoreError as exc:  # e.g. the blob was removed since
            st.error(md_message(exc))
            return None
        st.caption(md(runs.summary()))
        _mapping_panel(active, runs)
        if st.button("Show the data as read", width="stretch"):
            _data_dialog(runs)
    dataset = Dataset(active["id"], source_label(active["id"]), dict(active["mapping"]), runs, key)
    state.write_url(data=dataset.id, mapping=dataset.mapping,
                    exclude=state.exclusions(dataset.id, runs.run_ids))
    st.session_state[_CURRENT] = dataset
    return dataset


def _mapping_panel(active: dict, runs) -> None:
    columns = [c for c in dict.fromkeys(
        [v for v in runs.roles.values() if v] + list(runs.metrics)
        + [c for c in runs.frame.columns if c not in ROLES and c not in runs.metrics])]
    with st.expander("Columns", expanded=False):
        rows = []
        for role in MAPPING_ROLES:
            if role == "metric":
                used = ", ".join(runs.metrics)
            else:
                used = runs.roles.get(role) or ""
            note = ""
            if role in runs.derived:
                note = f"derived: C = {runs.flops_per_token_param:g}·N·D" if role == "compute" else (
                    "derived from C = 6·N·D" if role in ("params", "tokens") else "generated")
            rows.append({"role": ROLE_TITLES[role], "column": used or "—", "note": note})
        st.dataframe(rows, hide_index=True, width="stretch")
        roles = {r: runs.roles.get(r) for r in ROLES} | {"metrics": runs.metrics}
        _mapping_form(active["id"], columns, roles=roles, derived=runs.derived, key="active")


def _mapping_form(source_id: str, columns: list[str], *, roles: dict, derived: frozenset, key: str) -> None:
    with st.form(f"mapping_{key}", border=False):
        for role in MAPPING_ROLES:
            detected = (roles.get("metrics") or (None,))[0] if role == "metric" else roles.get(role)
            if role in derived:
                detected = None
            options = [AUTO, NONE] + columns
            hint = f"detected: {detected}" if detected else "not detected"
            if role in derived:
                hint = "derived" if role != "run_id" else "generated"
            st.selectbox(f"{ROLE_TITLES[role]} ({hint})", options, key=f"map_{key}_{role}")
        st.form_submit_button("Apply mapping", on_click=_apply_mapping, args=(source_id, columns, key),
                              width="stretch")


@st.dialog("Runs as read", width="large")
def _data_dialog(runs) -> None:
    st.caption(md(runs.summary()))
    # sizes stay numbers (sortable) in a compact format; compute becomes text, as the table shows
    # integral floats above 2**53 as raw 17-digit integers whatever number format it is given
    config = {c: st.column_config.NumberColumn(format=formatting.STREAMLIT_FORMATS["count"]) for c in ("params", "tokens")}
    shown = formatting.format_table(runs.frame, {"compute": "flops"})
    st.dataframe(shown, hide_index=True, width="stretch", height=520, column_config=config)

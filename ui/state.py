"""The analysis state that must survive a reload or travel in a link: URL <-> session state.

Widgets with simple values (x, metric, families, settings, target) are bound to the URL with
``bind="query-params"`` where they are drawn. Three parts need more care and are kept here:

- ``data``: which dataset is loaded (``sample:<file>`` or ``upload:<key>``). It changes only after
  a load has succeeded, so a failed upload leaves the previous dataset (and the URL) in place.
- ``map``: column-mapping overrides, one ``role=column`` per value (``role=`` means "absent").
- ``exclude``: the excluded runs, one ``run_id|reason`` per value, so the reasons survive a
  reload as well as the ids.
- ``fam``: Explore's families, bound to its pills, which write the families' labels
  (``fam=Chinchilla``). :func:`encode_families` writes them so for a link made elsewhere (a saved
  analysis), and :func:`requested_families` reads the link's values as families whether they are
  labels or names (``fam=chinchilla``, in links written before).

They are written to ``st.query_params`` on every run (query parameters are cleared when the user
switches pages; writing them again restores the link). The pure helpers at the top are unit-tested.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import streamlit as st

from scalecore import FAMILIES as _REGISTRY

DATA, MAPPING, EXCLUDE = "data", "map", "exclude"
#: The Explore page's widget keys, which are also its URL parameters. Explore draws the widgets;
#: Budget and Review read the same keys for "the Explore page's choices".
AXIS, METRIC, FAMILIES = "x", "metric", "fam"
#: ... and those of its fit and bootstrap settings, by the :class:`ui.analysis.Settings` field each sets.
SETTING_KEYS = {"n_resamples": "n", "confidence_level": "cl", "delta": "delta", "seed": "seed", "method": "method"}
REASON_SEP = "|"
MAX_URL_EXCLUSIONS = 400  # beyond this a link gets too long for browsers; the state still works

_URL_READ = "_state_url_read"
_REQUESTED = "_state_requested"  # what the URL asked for at session start
_EXCLUSIONS = "_state_exclusions"  # {"dataset": id, "items": {run_id: reason}}
_FAMILIES_USED = "_state_families_used"  # the URL's families were applied


# ------------------------------------------------------------------------------ pure helpers


def target_key(axis: str) -> str:
    """The key of Explore's target text for ``axis`` (one per axis: "70B" parameters is not "1e24" FLOP)."""
    return f"target_{axis}"


def options_key(key: str) -> str:
    """Where Explore records the options a multi-choice widget's value was made for."""
    return f"_options_{key}"


def choice_is_stale(chosen, made_for, options) -> bool:
    """Whether a multi-choice value no longer fits: made for other options (another dataset or
    metric) and sharing none of these. The defaults for ``options`` then take its place."""
    return made_for != tuple(options) and not set(chosen or ()) & set(options)


def encode_exclusions(items: Mapping[str, str]) -> list[str]:
    """``{run_id: reason}`` -> URL values ``run_id|reason`` (``run_id`` alone without a reason)."""
    return [f"{rid}{REASON_SEP}{reason}" if reason else str(rid) for rid, reason in items.items()]


def decode_exclusions(values: Iterable[str], known_ids: Iterable[str] | None = None) -> dict[str, str]:
    """URL values -> ``{run_id: reason}``.

    A run id may itself contain ``|``; with ``known_ids`` the longest known id that the value
    starts with wins. Values naming unknown runs are dropped when ``known_ids`` is given.
    """
    known = None if known_ids is None else {str(i) for i in known_ids}
    out: dict[str, str] = {}
    for raw in values or ():
        raw = str(raw)
        if not raw:
            continue
        if known is not None and raw in known:
            out[raw] = ""
            continue
        rid, reason = raw, ""
        if known is not None:
            best = ""
            for cut in [i for i, ch in enumerate(raw) if ch == REASON_SEP]:
                if raw[:cut] in known and cut > len(best):
                    best = raw[:cut]
            if not best:
                continue
            rid, reason = best, raw[len(best) + 1 :]
        elif REASON_SEP in raw:
            rid, reason = raw.split(REASON_SEP, 1)
        out[rid] = reason
    return out


def encode_families(names: Iterable[str]) -> list[str]:
    """Family names -> the URL values Explore's family pills read and write: their labels."""
    return [_REGISTRY[n].label if n in _REGISTRY else str(n) for n in names]


def decode_families(values: Iterable[str]) -> list[str]:
    """URL values -> family names, in order, once each: a value may be a family's label (what the
    pills write) or its name (links written before); a value naming no family is dropped."""
    by_text = {}
    for name, fam in _REGISTRY.items():
        by_text.setdefault(fam.label.casefold(), name)
        by_text[name.casefold()] = name
    out: list[str] = []
    for raw in values or ():
        name = by_text.get(str(raw).strip().casefold())
        if name and name not in out:
            out.append(name)
    return out


def encode_mapping(mapping: Mapping[str, str | None]) -> list[str]:
    return [f"{role}={column or ''}" for role, column in mapping.items()]


def decode_mapping(values: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for raw in values or ():
        role, sep, column = str(raw).partition("=")
        if sep and role:
            out[role] = column or None
    return out


def selected_run_ids(event: Any) -> list[str]:
    """Run ids in a plotly selection event (``customdata[0]`` of each point), in order, unique.

    Works on Streamlit's PlotlyState and on the plain dict that tests put in session state.
    """
    if not event:
        return []
    try:
        selection = event["selection"]
        points = selection["points"] if selection else []
    except (KeyError, TypeError):
        return []
    ids: list[str] = []
    for p in points or []:
        data = p.get("customdata") if isinstance(p, Mapping) else None
        if data is None:
            continue
        rid = data[0] if isinstance(data, (list, tuple)) else data
        if rid is not None and str(rid) not in ids:
            ids.append(str(rid))
    return ids


def toggled(items: Mapping[str, str], ids: Iterable[str], reason: str) -> dict[str, str]:
    """Selected runs flip: kept ones become excluded with ``reason``, excluded ones come back."""
    out = dict(items)
    for rid in ids:
        if rid in out:
            del out[rid]
        else:
            out[rid] = reason
    return out


#: The reason of a run excluded by ticking its box in a runs table (Explore's, the curves page's).
TABLE_REASON = "ticked in the table"


def table_edits(items: Mapping[str, str], edits: Mapping, row_ids: list[str]) -> dict[str, str]:
    """Exclusions after a runs table's edits (``st.data_editor``'s ``edited_rows``): a ticked
    "excluded" box excludes the row's run (with the typed reason, its old one, or
    :data:`TABLE_REASON`), an unticked one brings it back, an edited reason replaces the old one."""
    out = dict(items)
    for row, change in edits.items():
        rid = row_ids[int(row)]
        if "excluded" in change:
            if change["excluded"]:
                out[rid] = (change.get("reason") or "").strip() or out.get(rid) or TABLE_REASON
            else:
                out.pop(rid, None)
        elif "reason" in change and rid in out:
            out[rid] = (change["reason"] or "").strip() or TABLE_REASON
    return out


# ------------------------------------------------------------------------------ session <-> URL


def read_url_once() -> dict:
    """What the URL asked for when this session started (data, map, exclude)."""
    if not st.session_state.get(_URL_READ):
        qp = st.query_params
        st.session_state[_REQUESTED] = {
            DATA: qp.get(DATA),
            MAPPING: decode_mapping(qp.get_all(MAPPING)),
            EXCLUDE: list(qp.get_all(EXCLUDE)),
            FAMILIES: list(qp.get_all(FAMILIES)),
        }
        st.session_state[_URL_READ] = True
    return st.session_state[_REQUESTED]


def requested_exclusions(dataset: str) -> list[str] | None:
    """The raw ``exclude`` values of the URL, if the URL's dataset is ``dataset`` and not used yet."""
    req = read_url_once()
    if req.get(EXCLUDE) and (req.get(DATA) or None) in (dataset, None):
        return req[EXCLUDE]
    return None


def requested_families() -> list[str] | None:
    """The families the session's URL asked for (names, from labels or names), once: None after the
    first call, or when the URL named none. Explore puts them in its pills' state before drawing them,
    so that a link with names is read as one with labels (Streamlit itself matches only labels)."""
    req = read_url_once()
    if st.session_state.get(_FAMILIES_USED) or not req.get(FAMILIES):
        return None
    st.session_state[_FAMILIES_USED] = True
    return decode_families(req[FAMILIES])


def exclusions(dataset: str, known_ids: Iterable[str] | None = None) -> dict[str, str]:
    """The excluded runs of ``dataset`` with their reasons (empty after a dataset change)."""
    current = st.session_state.get(_EXCLUSIONS)
    if current is None or current["dataset"] != dataset:
        raw = requested_exclusions(dataset)
        items = decode_exclusions(raw, known_ids) if raw else {}
        if raw:
            st.session_state[_REQUESTED][EXCLUDE] = []  # used once
        current = {"dataset": dataset, "items": items}
        st.session_state[_EXCLUSIONS] = current
    if known_ids is not None:
        known = set(map(str, known_ids))
        if any(rid not in known for rid in current["items"]):
            current["items"] = {r: why for r, why in current["items"].items() if r in known}
    return dict(current["items"])


def set_exclusions(dataset: str, items: Mapping[str, str]) -> None:
    st.session_state[_EXCLUSIONS] = {"dataset": dataset, "items": dict(items)}
    write_url(exclude=dict(items))


def write_url(*, data: str | None = None, mapping: Mapping[str, str | None] | None = None,
              exclude: Mapping[str, str] | None = None) -> None:
    """Put the given parts of the state in the URL (only what changed is sent to the browser)."""
    if data is not None:
        _set_param(DATA, [data])
    if mapping is not None:
        _set_param(MAPPING, encode_mapping(mapping))
    if exclude is not None:
        values = encode_exclusions(exclude)
        _set_param(EXCLUDE, values if len(values) <= MAX_URL_EXCLUSIONS else values[:MAX_URL_EXCLUSIONS])


def _set_param(key: str, values: list[str]) -> None:
    qp = st.query_params
    current = qp.get_all(key) if key in qp else []
    if list(current) == list(values):
        return
    if not values:
        del qp[key]
    else:
        qp[key] = values if len(values) > 1 else values[0]

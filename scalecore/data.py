"""Reading CSV files of training runs into :class:`Runs`.

One entry point, :func:`load_runs`: bytes or files in, a validated :class:`Runs` out. On the way:

- the text is decoded (UTF-8 with or without BOM, UTF-16 with or without BOM, else cp1252/latin-1,
  which is then said in a note) and the separator sniffed (``,``, ``;`` with decimal commas, tab or
  ``|``); old Mac line ends (CR only) are read too;
- column roles are detected from common names (:func:`detect_roles`) or taken from a ``mapping``;
- sizes and metrics are parsed as numbers, accepting "7B" / "1.4T" / "1,000,000" (:func:`parse_number`),
  with a vectorised fast path so a million rows load in about a second;
- every problem in every file is collected and raised as ONE :class:`DataError` whose message names
  file, column and rows and says what to do;
- the missing one of params N, tokens D and compute C is derived with ``C = k*N*D`` (k = 6 by default);
- soft problems (a guessed encoding, units in a header, sizes that look scaled) become
  :attr:`Runs.notes`, shown next to the data.

Hostile input is refused quickly and clearly: files above :data:`MAX_FILE_BYTES`, binary data,
HTML pages and JSON, broken quoting, rows with too many cells, numbers outside
:data:`SIZE_RANGE` / :data:`METRIC_LIMIT` (a unit or exponent typo), and loss-curve exports (one row
per training step instead of one row per run).

The input files are only ever read, once.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import os
import re
import warnings
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, format_rows

__all__ = [
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "METRIC_LIMIT",
    "ROLES",
    "SIZE_RANGE",
    "SIZE_ROLES",
    "METRIC_ALIASES",
    "ROLE_ALIASES",
    "Runs",
    "detect_roles",
    "load_runs",
    "parse_number",
]

ROLES = ("run_id", "group", "params", "tokens", "compute")
SIZE_ROLES = ("params", "tokens", "compute")

#: Column names recognised for each role, best first. Matching ignores case, spaces, underscores,
#: hyphens, punctuation and units in parentheses or brackets ("Model Size (params)").
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "params": ("params", "N", "n_params", "num_params", "parameters", "model_size", "Model Size",
               "non_embedding_params", "nonembedding_params", "n_parameters", "model_params", "size"),
    "tokens": ("tokens", "D", "n_tokens", "num_tokens", "train_tokens", "training_tokens",
               "dataset_size", "data", "tokens_seen"),
    "compute": ("compute", "C", "flops", "Training FLOP", "training_flops", "budget", "compute_budget",
                "total_flops", "flop"),
    "run_id": ("run_id", "run", "id", "name", "run_name", "model", "model_name"),
    "group": ("group", "family", "arch", "architecture", "experiment", "series", "dataset", "config"),
}

#: Metric column names, best first; the first one found becomes the default metric.
METRIC_ALIASES = ("loss", "val_loss", "eval_loss", "train_loss", "final_loss", "test_loss",
                  "validation_loss", "bpb", "bits_per_byte", "perplexity", "ppl", "accuracy", "acc",
                  "score", "error")
# Fuzzy metric names (ranked after every exact alias): "*_loss", "*_acc", "*accuracy", also "val/loss".
_METRIC_PATTERN = re.compile(r".+[\s_\-./:](?:loss|acc)|.+accuracy")

ROLE_LABELS = {
    "params": "model size (params)",
    "tokens": "training tokens (tokens)",
    "compute": "training compute (compute)",
    "run_id": "run id (run_id)",
    "group": "group (group)",
}

_MISSING_TEXT = frozenset({"", "nan", "na", "n/a", "null", "none", "#n/a", "<na>"})
_SUFFIX_EXPONENT = {"k": 3, "m": 6, "b": 9, "g": 9, "t": 12, "p": 15}
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:e([+-]?\d+))?\s*([kmbgtp])?", re.IGNORECASE)
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:e[+-]?\d+)?\s*[kmbgtp]?", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:e[+-]?\d+)?\s*[kmbgtp]?", re.IGNORECASE)
# Decimal-comma files (";"-separated) may group thousands with dots: "1.000.000", "1.234,5".
_DOT_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?\s*[kmbgtp]?", re.IGNORECASE)
_DOT_GROUPED_SURE = re.compile(r"[+-]?\d{1,3}(?:(?:\.\d{3}){2,}(?:,\d*)?|(?:\.\d{3})+,\d*)\s*[kmbgtp]?",
                               re.IGNORECASE)
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE)
_UNITS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SEPARATORS = (",", ";", "\t", "|")
#: Largest input file read, in bytes: a table of runs is kilobytes; 200 MB is about 5 million rows.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Most columns read from one file (an experiment tracker's export of every config key can be wide).
MAX_COLUMNS = 5000
#: Sizes (params, tokens, compute) must lie in this range in whatever unit the file uses: anything
#: outside is a unit or exponent typo (1e-300, 1e300), and N*D would overflow.
SIZE_RANGE = (1e-12, 1e40)
#: A metric's magnitude must be 0 or between 1/METRIC_LIMIT and METRIC_LIMIT.
METRIC_LIMIT = 1e30
#: Column names of a training step: a file with one of these and repeated runs is a loss-curve export.
_STEP_NAMES = ("step", "steps", "global_step", "_step", "trainer/global_step", "iter", "iteration",
               "iterations", "train/step", "epoch")
_SCALE_UNITS = {"k": "thousands", "thousand": "thousands", "thousands": "thousands", "m": "millions",
                "mil": "millions", "million": "millions", "millions": "millions", "b": "billions",
                "bn": "billions", "billion": "billions", "billions": "billions", "g": "billions",
                "t": "trillions", "trillion": "trillions", "trillions": "trillions", "p": "10^15",
                "pf-days": "PF-days", "pfdays": "PF-days", "petaflop-days": "PF-days", "pf-day": "PF-days",
                "1e9": "billions", "1e6": "millions", "1e12": "trillions", "e9": "billions", "e6": "millions"}
#: Below these maxima a size column looks scaled (e.g. params in billions): said in a note.
_PLAIN_COUNT_MIN = {"params": 1e4, "tokens": 1e6, "compute": 1e12}
_CONTROL_BYTES = bytes(range(0, 9)) + b"\x0b\x0c" + bytes(range(14, 32)) + b"\x7f"
_MAX_LISTED = 20
_MAX_SUGGESTED = 200  # columns looked at for "did you mean" hints


# --------------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True, eq=False)
class Runs:
    """A validated table of training runs.

    ``frame`` holds the canonical columns first (``run_id`` str and unique, ``group`` str, then
    ``params``, ``tokens``, ``compute`` as float64 with NaN where a role is absent), then the metric
    columns (float64, NaN = missing value) under their original names, then every other column of the
    input kept as read. ``source_rows``/``source_files`` say where each row came from (spreadsheet row
    numbers, header = row 1) so later messages can point at the file. ``notes`` are soft problems
    found while reading (encoding guessed, units in a header): show them next to the data.

    Built by :func:`load_runs`; building one by hand from a frame also works: missing canonical
    columns are filled in (ids ``r1, r2, ...``, group ``"all"``, NaN sizes).
    """

    frame: pd.DataFrame
    metrics: tuple[str, ...]
    roles: Mapping[str, str | None] = field(default_factory=dict)
    derived: frozenset[str] = frozenset()
    sources: tuple[str, ...] = ()
    flops_per_token_param: float = 6.0
    source_rows: tuple[int, ...] = ()
    source_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        metrics = (self.metrics,) if isinstance(self.metrics, str) else tuple(self.metrics)
        if not metrics:
            raise DataError("`metrics` must name at least one metric column")
        missing = [m for m in metrics if m not in self.frame.columns]
        if missing:
            raise DataError(f"metric column(s) {_names(missing)} are not in the frame; "
                            f"it has {_names(self.frame.columns)}")
        n, sources = len(self.frame), tuple(self.sources)
        normalised = {
            "frame": _complete_frame(self.frame, metrics),
            "metrics": metrics,
            "roles": {role: dict(self.roles).get(role) for role in ROLES},
            "derived": frozenset(self.derived),
            "sources": sources,
            "flops_per_token_param": float(self.flops_per_token_param),
            "source_rows": tuple(self.source_rows) or tuple(range(2, n + 2)),
            "source_files": tuple(self.source_files) or (sources[0] if sources else "",) * n,
            "notes": tuple(str(note) for note in self.notes),
        }
        if len(normalised["source_rows"]) != n or len(normalised["source_files"]) != n:
            raise DataError(f"`source_rows` and `source_files` need one entry per row ({n}); "
                            f"got {len(normalised['source_rows'])} and {len(normalised['source_files'])}")
        for name, value in normalised.items():
            object.__setattr__(self, name, value)  # frozen: __post_init__ is the one place that sets fields

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Runs({self.summary()})"

    @property
    def run_ids(self) -> np.ndarray:
        """The run ids as an object array of str."""
        return self.frame["run_id"].to_numpy(dtype=object)

    @property
    def default_metric(self) -> str:
        return self.metrics[0]

    def has(self, role: str) -> bool:
        """Whether ``role`` (or a metric) has a column, read or derived, with at least one value."""
        if role not in self.frame.columns or role not in ROLES + self.metrics:
            return False
        return bool(self.frame[role].notna().any())

    def values(self, column: str) -> np.ndarray:
        """Float64 values of a size role (NaN when absent) or of a metric column."""
        valid = SIZE_ROLES + self.metrics
        if column not in valid:
            raise DataError(f"unknown column `{column}`; valid names are {_names(valid)}")
        return self.frame[column].to_numpy(dtype=np.float64, copy=True)

    def groups(self) -> list[str]:
        """Distinct groups in order of first appearance."""
        return [str(g) for g in pd.unique(self.frame["group"])]

    def subset(self, keep_mask_or_ids: Any) -> Runs:
        """The runs selected by a boolean mask (one entry per run) or by a collection of run ids.

        Rows keep their order; metadata (roles, derived, sources, factor) is unchanged.
        """
        mask = self._mask(keep_mask_or_ids)
        rows = np.asarray(self.source_rows, dtype=np.int64)[mask]
        files = np.asarray(self.source_files, dtype=object)[mask]
        return replace(self, frame=self.frame.loc[mask].reset_index(drop=True),
                       source_rows=tuple(rows.tolist()), source_files=tuple(files.tolist()))

    def _mask(self, keep: Any) -> np.ndarray:
        if isinstance(keep, str):
            keep = [keep]
        elif isinstance(keep, (set, frozenset, dict)):
            keep = list(keep)
        array = np.asarray(keep)
        if array.dtype == bool:
            if array.shape != (len(self),):
                raise DataError(f"the mask has {array.size} entries; there are {len(self)} runs")
            return array
        wanted = {str(x) for x in array.ravel().tolist()}
        ids = self.run_ids
        unknown = sorted(wanted - set(ids.tolist()))
        if unknown:
            raise DataError(f"unknown run id(s) {_quoted(unknown)}; ids look like {_quoted(ids[:3])}")
        return np.isin(ids, list(wanted))

    def summary(self) -> str:
        """One line: counts, files, the range of each size and the metrics."""
        n_files = len(self.sources)
        plural = "s" if n_files != 1 else ""
        files = f" in {n_files} file{plural} ({', '.join(self.sources)})" if n_files else ""
        parts = [f"{len(self)} runs{files}"]
        groups = self.groups()
        if len(groups) > 1:
            more = ", ..." if len(groups) > 6 else ""
            parts.append(f"{len(groups)} groups ({', '.join(groups[:6])}{more})")
        sizes = []
        for role in SIZE_ROLES:
            if self.has(role):
                v = self.values(role)
                text = f"{role} {_short(np.nanmin(v))}–{_short(np.nanmax(v))}"
                if role in self.derived:
                    text += f" (derived, C = {self.flops_per_token_param:g}·N·D)"
                sizes.append(text)
        if sizes:
            parts.append(", ".join(sizes))
        label = "metric" if len(self.metrics) == 1 else "metrics"
        parts.append(f"{label} {', '.join(self.metrics)}")
        return "; ".join(parts)

    def content_key(self) -> str:
        """SHA-256 hex of the frame and the metadata; equal content gives an equal key in any process."""
        digest = hashlib.sha256()
        meta = {
            "columns": [str(c) for c in self.frame.columns],
            "metrics": list(self.metrics),
            "roles": dict(self.roles),
            "derived": sorted(self.derived),
            "sources": list(self.sources),
            "k": repr(self.flops_per_token_param),
        }
        digest.update(json.dumps(meta, sort_keys=True).encode())
        for column in self.frame.columns:
            hashed = pd.util.hash_pandas_object(self.frame[column], index=False)
            digest.update(hashed.to_numpy(dtype=np.uint64).tobytes())
        digest.update(np.asarray(self.source_rows, dtype=np.int64).tobytes())
        digest.update("\x1f".join(self.source_files).encode())
        return digest.hexdigest()


def _complete_frame(frame: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Canonical columns first with their dtypes; a hand-built frame gets the missing ones filled in."""
    n = len(frame)
    ordered = list(ROLES) + list(metrics) + [c for c in frame.columns if c not in ROLES and c not in metrics]
    if (list(frame.columns) == ordered and all(frame[c].dtype == np.float64 for c in SIZE_ROLES + metrics)
            and all(pd.api.types.is_string_dtype(frame[c]) for c in ("run_id", "group"))):
        return frame.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) else frame
    out = frame.copy()
    defaults = {"run_id": [f"r{i}" for i in range(1, n + 1)], "group": ["all"] * n}
    for role in ROLES:
        if role not in out.columns:
            out[role] = defaults.get(role, np.full(n, np.nan))
    for column in SIZE_ROLES + metrics:
        out[column] = pd.to_numeric(out[column], errors="raise").astype(np.float64)
    for column in ("run_id", "group"):
        out[column] = out[column].astype("str")
    repeated = out["run_id"][out["run_id"].duplicated()].unique().tolist()
    if repeated:
        raise DataError(f"run ids must be unique; repeated: {_quoted(repeated)}")
    return out[ordered].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Numbers


def parse_number(text: Any) -> float:
    """Parse one cell: ``"7B"`` -> 7e9, ``"1.4T"`` -> 1.4e12, ``"1,000,000"`` -> 1e6, ``" 3.5 "`` -> 3.5.

    Suffixes (any case): K = 1e3, M = 1e6 (never milli), B = G = 1e9, T = 1e12, P = 1e15. Python and
    NumPy numbers are returned as float. Empty text, "nan", "NA", "null", "None" and None give NaN.
    Anything else raises ``ValueError``.
    """
    if isinstance(text, (bool, np.bool_)):
        raise ValueError(f"not a number: {text!r}")
    if isinstance(text, (int, float, np.integer, np.floating)):
        return float(text)
    if text is None or text is pd.NA:
        return math.nan
    if not isinstance(text, str):
        raise ValueError(f"not a number: {text!r}")
    s = text.strip().replace("\u2212", "-")
    if s.lower() in _MISSING_TEXT:
        return math.nan
    if _INFINITY.fullmatch(s):
        return float(s)
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    match = _NUMBER.fullmatch(s)
    if not match:
        raise ValueError(f"not a number: {text!r}")
    mantissa, exponent, suffix = match.groups()
    exponent = int(exponent or 0) + (_SUFFIX_EXPONENT[suffix.lower()] if suffix else 0)
    # Build the literal so "1.4T" is exactly float("1.4e12"), not 1.4 * 1e12 rounded twice.
    return float(f"{mantissa}e{exponent}")


@dataclass
class _Numbers:
    """One column parsed as numbers."""

    values: np.ndarray  # float64; NaN where the cell is missing or not a number
    missing: np.ndarray  # bool: empty / NA cell
    bad: np.ndarray  # bool: a cell that is there but is not a number


def _parse_column(raw: pd.Series, decimal_comma: bool) -> _Numbers:
    """Parse a column vectorised: numeric dtypes as they are, text with ``pd.to_numeric`` first and
    :func:`parse_number` only on the (distinct) cells that fail."""
    n = len(raw)
    if raw.dtype.kind in "iuf":
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        return _Numbers(values, np.isnan(values), np.zeros(n, dtype=bool))
    missing = raw.isna().to_numpy(copy=True)
    present = np.flatnonzero(~missing)
    cells = raw.iloc[present].reset_index(drop=True)
    text = (cells if isinstance(cells.dtype, pd.StringDtype) else cells.astype("str")).str.strip()
    if decimal_comma and text.str.fullmatch(_DOT_GROUPED_SURE).any():
        # "1.000.000" somewhere in the column: every "1.000"-shaped cell groups thousands with dots
        grouped = text.str.fullmatch(_DOT_GROUPED).to_numpy(dtype=bool)
        text = text.mask(grouped, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    failed = np.flatnonzero(np.isnan(parsed))
    bad = np.zeros(n, dtype=bool)
    if failed.size:
        codes, distinct = pd.factorize(text.iloc[failed])
        results = [_parse_cell(cell, decimal_comma) for cell in distinct]
        is_bad = np.array([r is None for r in results])[codes]
        parsed[failed] = np.array([np.nan if r is None else r for r in results], dtype=np.float64)[codes]
        bad[present[failed[is_bad]]] = True
        missing[present[failed[~is_bad & np.isnan(parsed[failed])]]] = True
    values = np.full(n, np.nan)
    values[present] = parsed
    values[bad] = np.nan
    return _Numbers(values, missing, bad)


def _parse_cell(cell: str, decimal_comma: bool) -> float | None:
    """:func:`parse_number` with an optional decimal comma ("3,25"); None if not a number."""
    if decimal_comma and _DECIMAL_COMMA.fullmatch(cell):
        cell = cell.replace(",", ".")
    try:
        return parse_number(cell)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# Column roles


@lru_cache(maxsize=65536)
def _bare(name: Any) -> str:
    """Lower-case name without units in parentheses or brackets."""
    return _UNITS.sub("", str(name)).strip().lower()


@lru_cache(maxsize=65536)
def _key(name: Any) -> str:
    """Name reduced to letters and digits: "Model Size (params)" -> "modelsize"."""
    return re.sub(r"[\W_]+", "", _bare(name))


def _match_rank(column: str, aliases: Sequence[str]) -> tuple[int, int] | None:
    """(level, alias index) of the best alias match: level 0 exact (ignoring case), 1 normalised."""
    exact, key = str(column).strip().lower(), _key(column)
    best = None
    for i, alias in enumerate(aliases):
        if exact == alias.lower():
            return (0, i)
        if best is None and key and key == _key(alias):
            best = (1, i)
    return best


def _metric_rank(column: str) -> tuple[int, int] | None:
    rank = _match_rank(column, METRIC_ALIASES)
    if rank is None and _METRIC_PATTERN.fullmatch(_bare(column)):
        rank = (2, 0)
    return rank


def detect_roles(columns: Sequence[str]) -> dict[str, Any]:
    """Guess each column's role from its name.

    Returns ``{role: column or None for role in ROLES}`` plus ``"metrics"``: a tuple of metric columns,
    best first. Exact names win over normalised ones, earlier aliases over later ones, and no column
    gets two roles.
    """
    columns = [str(c) for c in columns]
    taken: set[str] = set()
    found: dict[str, Any] = {}
    for role in ROLES:
        ranked = [(rank, pos, col) for pos, col in enumerate(columns)
                  if col not in taken and (rank := _match_rank(col, ROLE_ALIASES[role])) is not None]
        found[role] = min(ranked)[2] if ranked else None
        if found[role] is not None:
            taken.add(found[role])
    ranked = [(rank, pos, col) for pos, col in enumerate(columns)
              if col not in taken and (rank := _metric_rank(col)) is not None]
    found["metrics"] = tuple(col for _, _, col in sorted(ranked))
    return found


def _resolve(name: str, columns: Sequence[str]) -> str | None:
    """The column called ``name``: exact, else the only one with the same normalised name."""
    if name in columns:
        return name
    same = [c for c in columns if _key(c) == _key(name)]
    return same[0] if len(same) == 1 else None


@dataclass
class _Plan:
    """Which column of one file plays which role."""

    roles: dict[str, str | None]
    metrics: list[str]
    metrics_explicit: bool
    problems: list[str] = field(default_factory=list)  # mapping problems found while planning


def _plan(name: str, columns: Sequence[str], mapping: Mapping[str, Any], metrics: Sequence[str]) -> _Plan:
    """Apply the mapping, then detect the roles it leaves open."""
    columns = [str(c) for c in columns]
    problems: list[str] = []
    owner: dict[str, str] = {}  # column -> role or "metric"

    def claim(key: str, wanted: str) -> str | None:
        column = _resolve(wanted, columns)
        if column is None:
            problems.append(f"`{name}`: `{key}` is mapped to `{wanted}`, but there is no column `{wanted}`. "
                            f"Columns are {_names(columns)}.{_did_you_mean(_close(wanted, columns))}")
        elif key == "metric" and column in ROLES:
            problems.append(f"`{name}`: column `{column}` cannot be a metric: `{column}` is the name of a "
                            f"structural column. Rename it in the file, or choose another metric.")
            column = None
        elif column in owner:
            problems.append(f"`{name}`: column `{column}` is given two roles, `{owner[column]}` and `{key}`; "
                            f"a column can have only one role. Change the mapping.")
            column = None
        else:
            owner[column] = key
        return column

    roles: dict[str, str | None] = {}
    for role in ROLES:
        if role in mapping:
            roles[role] = claim(role, mapping[role]) if mapping[role] else None
    mapped_metric = [mapping["metric"]] if mapping.get("metric") else []
    wanted_metrics = list(dict.fromkeys(mapped_metric + list(metrics)))
    chosen_metrics = [c for c in (claim("metric", m) for m in wanted_metrics) if c is not None]
    detected = detect_roles([c for c in columns if c not in owner])
    for role in ROLES:
        if role not in mapping:
            roles[role] = detected[role]
            if detected[role] is not None:
                owner[detected[role]] = role
    if wanted_metrics:
        return _Plan(roles, chosen_metrics, True, problems)
    return _Plan(roles, [m for m in detected["metrics"] if m not in owner], False, problems)


# --------------------------------------------------------------------------------------------------
# Reading files


@dataclass
class _Table:
    """One input file read into a raw frame, with its plan and parsed numeric columns."""

    name: str
    frame: pd.DataFrame  # pandas column names ("x.1" for a repeated name), blank rows dropped
    rows: np.ndarray  # spreadsheet row number of each frame row
    header: list[str]  # the header as written (for repeated names)
    plan: _Plan
    numbers: dict[str, _Numbers]
    sep: str = ","
    notes: list[str] = field(default_factory=list)  # soft problems, carried to Runs.notes

    def present(self, role: str) -> bool:
        """The role has a column with at least one cell filled in."""
        column = self.plan.roles[role]
        return column is not None and not self.numbers[column].missing.all()


def _gather(sources: Any, names: Sequence[str] | None) -> list[tuple[str, Any]]:
    """Normalise ``sources`` to ``[(display name, source)]`` with unique display names."""
    items = list(sources) if isinstance(sources, (list, tuple)) else [sources]
    if not items:
        raise DataError("no input files were given; pass a path, bytes or an uploaded file")
    if names is not None:
        names = [str(n) for n in ([names] if isinstance(names, str) else names)]
        if len(names) != len(items):
            raise DataError(f"`names` has {len(names)} entries for {len(items)} sources; "
                            f"give one name per source")
    else:
        names = [_display_name(src, i) for i, src in enumerate(items, start=1)]
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        if seen[name] > 1:
            path = Path(name)
            name = f"{path.stem} ({seen[name]}){path.suffix}"
        unique.append(name)
    return list(zip(unique, items))


def _display_name(src: Any, index: int) -> str:
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    name = getattr(src, "name", None)
    if isinstance(name, str) and name:
        return Path(name).name
    return f"upload-{index}.csv"


def _read_payload(name: str, src: Any) -> bytes | str:
    """The content of one source, read once and never written."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            if path.is_file():
                _check_size(name, path.stat().st_size)
            return path.read_bytes()
        except FileNotFoundError:
            text_given = isinstance(src, str) and "\n" in src
            hint = " (to load CSV text, pass it as bytes or io.StringIO)" if text_given else ""
            raise DataError(f"`{name}`: file not found at `{path}`{hint}") from None
        except IsADirectoryError:
            raise DataError(f"`{name}` is a folder, not a CSV file") from None
        except OSError as exc:
            raise DataError(f"`{name}` cannot be read: {exc.strerror or exc}") from None
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif callable(getattr(src, "getvalue", None)):
        data = src.getvalue()
    elif callable(getattr(src, "read", None)):
        size = getattr(src, "size", None)  # an UploadedFile knows its size before it is read
        if isinstance(size, int):
            _check_size(name, size)
        data = src.read(MAX_FILE_BYTES + 1)
    else:
        raise DataError(f"`{name}`: cannot read a {type(src).__name__}; pass a path, bytes or a file object")
    if not isinstance(data, (str, bytes)):
        raise DataError(f"`{name}`: reading it gave a {type(data).__name__}, not text or bytes; "
                        f"pass a path, bytes or a file object")
    _check_size(name, len(data))
    return data


def _check_size(name: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise DataError(f"`{name}` is {_size_text(size)}; files above {_size_text(MAX_FILE_BYTES)} are "
                        f"refused (a table of runs, one row per run, is a few kilobytes). If it is a log of "
                        f"loss curves, keep one row per run, e.g. the final evaluation of each run.")



def _size_text(size: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"


def _decode(data: bytes | str, name: str) -> tuple[str, bytes, str | None]:
    """Text of a file, the same text as UTF-8 bytes (BOM stripped, LF line ends) for the parser, and a
    note when the encoding had to be guessed.

    UTF-16 with or without BOM, UTF-8 with or without BOM, else cp1252/latin-1; binary data -> DataError.
    """
    note = None
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        return _lf(text), _lf(text).encode("utf-8"), None
    has_bom = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    encoding = None if has_bom else _utf16_without_bom(data)
    if has_bom or encoding:
        try:
            text = data.decode(encoding or "utf-16").removeprefix("\ufeff")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            if encoding:
                note = (f"`{name}` is UTF-16 text without a byte-order mark; it was read as "
                        f"{encoding.upper()}. Check that names with accents look right.")
            text = _lf(text)
            return text, text.encode("utf-8"), note
    hint = _binary_hint(data)
    if hint is not None or b"\x00" in data:
        raise _binary_error(name, hint or "")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if "\r" not in text:
            return text, data.removeprefix(b"\xef\xbb\xbf"), None
        text = _lf(text)
        return text, text.encode("utf-8"), None
    control = len(data) - len(data.translate(None, _CONTROL_BYTES))
    undecodable = data.decode("utf-8", errors="replace").count("\ufffd")
    if control > 0.05 * len(data) or undecodable > 0.3 * len(data):
        raise _binary_error(name, "")
    try:
        text, encoding = data.decode("cp1252"), "Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "Latin-1 (ISO-8859-1)"
    note = (f"`{name}` is not UTF-8; it was read as {encoding}. Check that names with accents look right, "
            f"or save the file as UTF-8.")
    text = _lf(text)
    return text, text.encode("utf-8"), note


def _lf(text: str) -> str:
    """Line ends as LF: Windows CR LF and old Mac CR alone (which the CSV parser would choke on)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when the first bytes look like ASCII text in UTF-16 (every other byte NUL)."""
    head = data[:4096]
    if len(head) < 4 or len(head) % 2:
        head = head[:len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


_MAGIC = ((b"PK\x03\x04", "it looks like a ZIP archive or an Excel workbook (.xlsx)"),
          (b"\xd0\xcf\x11\xe0", "it looks like an old Excel workbook (.xls)"),
          (b"\x1f\x8b", "it looks like a gzip-compressed file; unpack it first"),
          (b"PAR1", "it looks like a Parquet file"),
          (b"\x89PNG", "it looks like a PNG image"),
          (b"%PDF", "it looks like a PDF"),
          (b"SQLite format 3", "it looks like an SQLite database"))


def _binary_hint(data: bytes) -> str | None:
    for magic, hint in _MAGIC:
        if data.startswith(magic):
            return "; " + hint
    return None


def _binary_error(name: str, hint: str) -> DataError:
    return DataError(f"`{name}` is not a text CSV file (it contains binary data{hint}). "
                     f"Export the table as CSV (comma-separated text) and load that file.")


def _not_a_table_problem(name: str, text: str) -> str | None:
    """HTML or JSON where a CSV was expected (a saved web page, an API response)."""
    start = text.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body", "<table")):
        return (f"`{name}` is an HTML or XML page, not a CSV file (a saved web page or a login page instead "
                f"of the download?). Export the table as CSV and load that file.")
    if start.startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            return None
        return (f"`{name}` is JSON, not a CSV file. Convert it to a table with one row per run "
                f"(e.g. pandas.read_json(...).to_csv(...)) and load that file.")
    return None


def _first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _sniff_separator(text: str) -> str:
    """The separator that splits the header line into the most fields; ties go to the comma."""
    first = _first_line(text)
    return max(_SEPARATORS, key=lambda sep: len(_split_header(first, sep)))


def _split_header(line: str, sep: str) -> list[str]:
    """The cells of one line (the csv module's field-size limit does not apply to a header)."""
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return line.split(sep)


def _read_table(name: str, src: Any, mapping: Mapping[str, Any], metrics: Sequence[str]) -> _Table:
    """Read one source into a :class:`_Table`; raises DataError when the file cannot be read at all."""
    text, body, encoding_note = _decode(_read_payload(name, src), name)
    if not text.strip():
        raise DataError(f"`{name}` is empty; it needs a header row and one row per run")
    not_a_table = _not_a_table_problem(name, text)
    if not_a_table:
        raise DataError(not_a_table)
    leading = re.match(r"(?:[ \t]*\n)*", text)
    offset = leading.group().count("\n")  # blank lines above the header (ASCII: same length in bytes)
    body = body[leading.end():]
    sep = _sniff_separator(text[leading.end():])
    options = dict(sep=sep, decimal="," if sep == ";" else ".", index_col=False)
    header = [h.strip() for h in _split_header(_first_line(text[leading.end():]), sep)]
    if len(header) > MAX_COLUMNS:
        raise DataError(f"`{name}` has {len(header):,} columns; at most {MAX_COLUMNS:,} are read. Keep the columns "
                        f"you need (run id, model size, tokens or compute, the metric) and load that file.")
    raw_columns = [str(c) for c in _read_csv(name, body, offset, nrows=0, **options).columns]
    columns = [c if c.startswith("Unnamed: ") else c.strip() for c in raw_columns]
    if len(set(columns)) < len(columns):  # " loss" and "loss": keep the names apart; reported as repeated
        columns = raw_columns
    plan = _plan(name, columns, mapping, metrics)
    text_columns = [c for r in ("run_id", "group") if (c := plan.roles[r]) is not None]
    raw_text = [raw_columns[columns.index(c)] for c in text_columns]
    frame = _read_csv(name, body, offset, dtype={c: str for c in raw_text}, skip_blank_lines=False,
                      low_memory=False, n_fields=len(raw_columns), text=text[leading.end():], **options)
    frame.columns = columns
    for column in text_columns:  # ids and groups: surrounding spaces dropped, blank -> missing
        stripped = frame[column].str.strip()
        frame[column] = stripped.mask(stripped == "")
    frame = frame.drop(columns=[c for c in columns if c.startswith("Unnamed: ") and frame[c].isna().all()])
    filled = ~frame.isna().all(axis=1).to_numpy()
    rows = np.flatnonzero(filled) + 2 + offset
    frame = frame.loc[filled].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"`{name}` has a header but no data rows; add one row per run below the header")
    decimal_comma = sep == ";"
    numeric = [c for role in SIZE_ROLES if (c := plan.roles[role]) is not None] + plan.metrics
    numbers = {c: _parse_column(frame[c], decimal_comma) for c in numeric}
    table = _Table(name, frame, rows, header, plan, numbers, sep=sep)
    if encoding_note:
        table.notes.append(encoding_note)
    _drop_unusable_metrics(table)
    return table


def _read_csv(name: str, body: bytes, offset: int, n_fields: int | None = None, text: str | None = None,
              **options: Any) -> pd.DataFrame:
    """``pd.read_csv`` on UTF-8 bytes, with parser errors turned into a DataError naming the line."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(io.BytesIO(body), encoding="utf-8", **options)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = (int(g) for g in found.groups())
            raise _ragged_error(name, line + offset, saw, expected, options["sep"]) from None
        found = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if found:
            line = int(found.group(1)) + 1 + offset
            raise DataError(f"`{name}`, line {line}: a quoted cell starts here and its closing quote (\") is "
                            f"never found. Close the quote, or remove the stray quote character.") from None
        raise DataError(f"`{name}` could not be read as CSV ({_one_line(exc)}). Export it again as a plain CSV "
                        f"file with one header row and one row per run.") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"`{name}` is empty; it needs a header row and one row per run") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. a cell too long for the tokenizer
        raise DataError(f"`{name}` could not be read as CSV ({_one_line(exc)}). Export it again as a plain CSV "
                        f"file with one header row and one row per run.") from None
    if n_fields is not None and any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        # with index_col=False pandas drops extra cells of the first data rows with only a warning
        line, saw = _first_long_line(text or "", options["sep"], n_fields)
        raise _ragged_error(name, line + offset, saw, n_fields, options["sep"])
    return frame


def _ragged_error(name: str, line: int, saw: int, expected: int, sep: str) -> DataError:
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "|"}.get(sep, sep)
    return DataError(f"`{name}`, line {line}: {saw} fields where the header has {expected}. Quote cells that "
                     f"contain the separator ({shown}), e.g. a number written 2,5, or remove the extra cells.")


def _first_long_line(text: str, sep: str, n_fields: int) -> tuple[int, int]:
    """(1-based line, number of fields) of the first line with more fields than the header."""
    try:
        for line, cells in enumerate(csv.reader(io.StringIO(text), delimiter=sep), start=1):
            if len(cells) > n_fields:
                return line, len(cells)
    except csv.Error:
        pass
    return 2, n_fields + 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _drop_unusable_metrics(table: _Table) -> None:
    """Detected (not requested) metric columns with no number at all ("error" holding messages, an
    empty "acc") are kept as plain columns, as long as another metric column has numbers."""
    plan = table.plan
    if plan.metrics_explicit:
        return
    usable = [m for m in plan.metrics if not np.isnan(table.numbers[m].values).all()]
    if usable:
        plan.metrics = usable


# --------------------------------------------------------------------------------------------------
# Validation


def _validate(table: _Table) -> list[str]:
    """Every problem of one file, one message each (file, column, rows, and what to do)."""
    name, frame, rows, plan = table.name, table.frame, table.rows, table.plan
    problems = list(plan.problems)
    problems += _repeated_header_problems(name, table.header)
    if not any(table.present(role) for role in SIZE_ROLES):
        problems.append(_no_size_problem(table))
    if not plan.metrics:
        problems.append(_no_metric_problem(table))
    for role in SIZE_ROLES:
        column = plan.roles[role]
        if column is not None:
            problems += _number_problems(table, column, role)
    for metric in plan.metrics:
        problems += _number_problems(table, metric, "metric")
        if table.numbers[metric].missing.all():
            problems.append(f"`{name}`, column `{metric}`: the metric column is empty. "
                            f"Fill in the values or choose another metric column.")
    for role in ("run_id", "group"):
        column = plan.roles[role]
        if column is not None:
            empty = frame[column].isna().to_numpy()
            if empty.any():
                instead = "number the runs automatically" if role == "run_id" else "use one group per file"
                problems.append(f"`{name}`, column `{column}` ({role}), {format_rows(rows[empty])}: empty. "
                                f"Fill them in, or map `{role}` to none to {instead}.")
    if plan.roles["run_id"] is not None:
        problems += _duplicate_id_problems(name, plan.roles["run_id"], frame, rows)
    return problems


def _step_column(frame: pd.DataFrame) -> str | None:
    keys = {_key(s) for s in _STEP_NAMES}
    return next((str(c) for c in frame.columns if _key(c) in keys), None)


def _notes(table: _Table) -> list[str]:
    """Soft problems of a valid file: units written in a header, sizes that look scaled, curve rows."""
    notes = list(table.notes)
    for role in SIZE_ROLES:
        column = table.plan.roles[role]
        if column is None or not table.present(role):
            continue
        values = table.numbers[column].values
        low, high = _short(np.nanmin(values)), _short(np.nanmax(values))
        unit = _header_unit(column)
        if unit:
            notes.append(f"`{table.name}`, column `{column}` ({role}): the header says the values are in {unit}; "
                         f"they are used as written ({low} to {high}), so fitted constants, budgets and a "
                         f"derived size (C = k·N·D) are in those units too. To use plain counts, write the "
                         f"values as 7B or 7e9.")
        elif np.nanmax(values) < _PLAIN_COUNT_MIN[role]:
            notes.append(f"`{table.name}`, column `{column}` ({role}): the values ({low} to {high}) are small for "
                         f"{ROLE_LABELS[role].split(' (')[0]} counted one by one; if they are in millions or "
                         f"billions, fitted constants and a derived size (C = k·N·D) are in those units too. "
                         f"Write them as 7B or 7e9 to use plain counts.")
    step = _step_column(table.frame)
    if step is not None and table.plan.roles["run_id"] is None:
        sizes = [c for r in ("params", "compute") if (c := table.plan.roles[r]) is not None and table.present(r)]
        steps_per_size = table.frame.groupby(sizes[0])[step].nunique() if sizes else pd.Series([0])
        if steps_per_size.max() >= 20:
            notes.append(f"`{table.name}`: up to {steps_per_size.max():,} rows have the same `{sizes[0]}` and a "
                         f"different `{step}`; if each row "
                         f"is a training step of a loss curve rather than a finished run, keep one row per run "
                         f"(e.g. the final step) before fitting.")
    return notes


def _header_unit(column: str) -> str | None:
    """The scale a header declares for its values: "params (B)" -> "billions", "tokens_bn" -> "billions"."""
    candidates = [u.strip("()[] ").lower() for u in _UNITS.findall(column)]
    found = re.search(r"(?:[\s_\-/]|in)(k|m|b|bn|t|thousands?|millions?|billions?|trillions?)$", column.strip(),
                      re.IGNORECASE)
    if found:
        candidates.append(found.group(1).lower())
    for text in candidates:
        text = re.sub(r"^in\s+", "", text)
        if text in _SCALE_UNITS:
            return _SCALE_UNITS[text]
    return None


def _repeated_header_problems(name: str, header: list[str]) -> list[str]:
    counts = Counter(h for h in header if h.strip())
    return [f"`{name}`: the header has column `{h}` {n} times (columns "
            f"{_and([str(i + 1) for i, x in enumerate(header) if x == h])}); give each column a unique name."
            for h, n in counts.items() if n > 1]


def _no_size_problem(table: _Table) -> str:
    roles = table.plan.roles
    empty = [f"column `{roles[r]}` ({r}) has no values" for r in SIZE_ROLES if roles[r] is not None]
    unused = _unassigned(table)[:_MAX_SUGGESTED]
    keys = [_key(a) for r in SIZE_ROLES for a in ROLE_ALIASES[r]]
    guesses = [c for c in unused if difflib.get_close_matches(_key(c), keys, n=1, cutoff=0.75)]
    return (f"`{table.name}`: no column for model size (params), training tokens (tokens) or compute "
            f"(compute); at least one is needed. {_sentence('; '.join(empty))}"
            f"Columns are {_names(table.frame.columns)}.{_did_you_mean(guesses)} Rename the column "
            f"(e.g. to `params`, `tokens` or `compute`) or map it with mapping={{'params': ...}} "
            f"or in the column-mapping panel.")


def _no_metric_problem(table: _Table) -> str:
    unused = _unassigned(table)[:_MAX_SUGGESTED]
    keys = [_key(a) for a in METRIC_ALIASES]
    guesses = [c for c in unused if difflib.get_close_matches(_key(c), keys, n=1, cutoff=0.75)]
    numeric = []
    for c in unused:
        if _mostly_numeric(table.frame[c]):
            numeric.append(c)
            if len(numeric) > 1:
                break
    hint = _did_you_mean(guesses)
    if not guesses and len(numeric) == 1:
        hint = f" `{numeric[0]}` is the only other numeric column; if it is the metric, say so explicitly."
    return (f"`{table.name}`: no metric column found (looked for names such as loss, val_loss, accuracy). "
            f"Columns are {_names(table.frame.columns)}.{hint} Map the metric with "
            f"mapping={{'metric': '<column>'}} or pick it in the column-mapping panel.")


def _unassigned(table: _Table) -> list[str]:
    used = set(table.plan.roles.values()) | set(table.plan.metrics)
    return [str(c) for c in table.frame.columns if c not in used]


def _mostly_numeric(column: pd.Series) -> bool:
    if column.dtype.kind in "iuf":
        return bool(column.notna().any())
    numbers = _parse_column(column, decimal_comma=False)
    filled = int((~numbers.missing).sum())
    return filled > 0 and int(numbers.bad.sum()) <= 0.1 * filled


def _number_problems(table: _Table, column: str, role: str) -> list[str]:
    """Cells that are not numbers; sizes that are not positive or partly missing; infinite metrics."""
    numbers, rows, name = table.numbers[column], table.rows, table.name
    where = f"`{name}`, column `{column}`" + (f" ({role})" if role in SIZE_ROLES else "")
    out = []
    if numbers.bad.any():
        cells = table.frame[column].to_numpy(dtype=object)[numbers.bad]
        shown = _quoted([str(c).strip() for c in cells])
        verb = "is not a number" if len(set(map(str, cells))) == 1 else "are not numbers"
        out.append(f"{where}, {format_rows(rows[numbers.bad])}: {shown} {verb}. "
                   f"{_number_hint([str(c).strip() for c in cells], table.sep)}")
    values = numbers.values
    if role in SIZE_ROLES:
        wrong = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
        if wrong.any():
            shown = _values_text(values[wrong])
            out.append(f"{where}, {format_rows(rows[wrong])}: {shown} — {role} must be positive and finite "
                       f"because a log is taken. Fix these values or remove these runs.")
        low, high = SIZE_RANGE
        absurd = ~wrong & ~np.isnan(values) & ((values < low) | (values > high))
        if absurd.any():
            shown = _values_text(values[absurd])
            out.append(f"{where}, {format_rows(rows[absurd])}: {shown} — outside {low:g} to {high:g}, the range "
                       f"a {role} value can have in any unit; probably a typo in the exponent or the unit. "
                       f"Fix these values or remove these runs.")
        if numbers.missing.any() and not numbers.missing.all():
            out.append(f"{where}, {format_rows(rows[numbers.missing])}: no value, while other rows have one. "
                       f"Fill them in or remove these runs.")
    else:
        infinite = np.isinf(values)
        if infinite.any():
            shown = _values_text(values[infinite])
            out.append(f"{where}, {format_rows(rows[infinite])}: {shown} — a metric must be a finite "
                       f"number. Leave the cell empty if the value is missing.")
        size = np.abs(values)
        absurd = np.isfinite(size) & (size != 0) & ((size > METRIC_LIMIT) | (size < 1 / METRIC_LIMIT))
        if absurd.any():
            shown = _values_text(values[absurd])
            out.append(f"{where}, {format_rows(rows[absurd])}: {shown} — a metric's magnitude must be between "
                       f"{1 / METRIC_LIMIT:g} and {METRIC_LIMIT:g} (or 0); probably a typo in the exponent. "
                       f"Fix these values, or leave the cells empty if the values are missing.")
    return out


def _number_hint(cells: list[str], sep: str) -> str:
    """What to do about cells that are not numbers, specific to what they look like."""
    if any(_DECIMAL_COMMA.fullmatch(c) for c in cells):
        if sep == ";":
            return "Use one decimal mark per number, e.g. 2,5 or 2.5."
        return ("They look like numbers with a decimal comma: write 2.5 instead of 2,5, or save the file "
                "with semicolons (;) between the cells, which is read with decimal commas.")
    if any(re.fullmatch(r"[+-]?\d[\d.,]*\s*%", c) for c in cells):
        return "Percentages are not read: write 55% as 0.55 (or as 55, consistently)."
    if any(re.fullmatch(r"[+-]?\d[\d.,]*\s*[a-z]+", c, re.IGNORECASE) for c in cells):
        return ("Only the suffixes K, M, B (or G), T and P are read, e.g. 7B or 1.4T; write other units "
                "as plain numbers such as 7e9.")
    return "Use plain numbers such as 7e9 or suffixed ones such as 7B."


def _duplicate_id_problems(name: str, column: str, frame: pd.DataFrame, rows: np.ndarray) -> list[str]:
    ids = frame[column]
    repeated = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    if not repeated.any():
        return []
    counts = ids[repeated].value_counts()
    step = _step_column(frame)
    if step is not None or (counts.max() >= 3 and repeated.mean() > 0.5):
        by = f" (column `{step}`)" if step else ""
        sort = f".sort_values('{step}')" if step else ""
        return [f"`{name}`, column `{column}` (run_id): {len(counts):,} run ids repeat, up to {counts.max():,} times "
                f"each{by}, in {int(repeated.sum()):,} of {len(ids):,} rows: this looks like a loss-curve export, "
                f"one row per training step. Fits take one row per run: keep the last row of each run (e.g. in "
                f"pandas df{sort}.groupby('{column}').tail(1)) and load that file."]
    where = pd.Series(rows[repeated]).groupby(ids[repeated].to_numpy(), sort=False).agg(list)
    listed = [f"'{run}' is in {format_rows(r)}" for run, r in list(where.items())[:5]]
    more = f" and {len(where) - 5} more ids are repeated" if len(where) > 5 else ""
    return [f"`{name}`, column `{column}` (run_id): run ids must be unique; {'; '.join(listed)}{more}. "
            f"Rename the duplicates or remove the extra runs."]


# --------------------------------------------------------------------------------------------------
# Assembly


@dataclass
class _Part:
    """The canonical rows of one validated file."""

    name: str
    frame: pd.DataFrame  # canonical sizes, metrics, other columns (run_id / group added when combined)
    rows: np.ndarray
    ids: pd.Series | None  # str; None: generate r1, r2, ...
    group: pd.Series | str  # str per row, or one group for the whole file
    roles: dict[str, str | None]
    derived: set[str]
    metrics: list[str]
    notes: list[str] = field(default_factory=list)


def _to_part(table: _Table, k: float, several: bool) -> _Part:
    """Canonical columns of one file, deriving the missing size with C = k*N*D."""
    plan, frame, n = table.plan, table.frame, len(table.frame)
    roles = {role: plan.roles[role] for role in ROLES}
    sizes = {}
    for role in SIZE_ROLES:
        if table.present(role):
            sizes[role] = table.numbers[plan.roles[role]].values
        else:
            roles[role] = None
    derived = set()
    if len(sizes) == 2:
        missing = next(r for r in SIZE_ROLES if r not in sizes)
        sizes[missing] = _derive(missing, sizes, k)
        derived.add(missing)
    columns: dict[str, Any] = {r: sizes.get(r, np.full(n, np.nan)) for r in SIZE_ROLES}
    columns.update({m: table.numbers[m].values for m in plan.metrics})
    used = set(plan.roles.values()) | set(plan.metrics)
    for column in frame.columns:
        if column not in used:
            columns[f"{column} (file)" if column in ROLES else column] = frame[column].to_numpy()
    id_column, group_column = plan.roles["run_id"], plan.roles["group"]
    ids = frame[id_column].astype("str") if id_column else None
    if group_column:
        group: pd.Series | str = frame[group_column].astype("str")
    else:
        group = Path(table.name).stem if several else "all"
        derived.add("group")
    if ids is None:
        derived.add("run_id")
    return _Part(name=table.name, frame=pd.DataFrame(columns), rows=table.rows, ids=ids, group=group,
                 roles=roles, derived=derived, metrics=list(plan.metrics), notes=_notes(table))


def _derive(missing: str, sizes: dict[str, np.ndarray], k: float) -> np.ndarray:
    if missing == "compute":
        return k * sizes["params"] * sizes["tokens"]
    if missing == "tokens":
        return sizes["compute"] / (k * sizes["params"])
    return sizes["compute"] / (k * sizes["tokens"])


def _combine(parts: list[_Part], k: float) -> Runs:
    """Concatenate the files: roles matched, metrics and other columns united by name."""
    metrics = list(dict.fromkeys(m for p in parts for m in p.metrics))
    start = 0
    ids, groups = [], []
    for part in parts:
        n = len(part.frame)
        if part.ids is None:
            ids.append(pd.Series([f"r{i}" for i in range(start + 1, start + n + 1)], dtype="str"))
        else:
            ids.append(part.ids)
        one_group = isinstance(part.group, str)
        groups.append(pd.Series([part.group] * n, dtype="str") if one_group else part.group)
        start += n
    files = np.concatenate([np.full(len(p.frame), p.name, dtype=object) for p in parts])
    run_ids = pd.concat(ids, ignore_index=True)
    if len(parts) > 1:  # repeats inside one file were reported by _validate
        run_ids = _unique_across_files(run_ids, files, parts)
    body = pd.concat([p.frame for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].frame
    frame = pd.DataFrame({"run_id": run_ids.reset_index(drop=True),
                          "group": pd.concat(groups, ignore_index=True)})
    others = [c for c in body.columns if c not in SIZE_ROLES and c not in metrics]
    frame = pd.concat([frame, body[list(SIZE_ROLES) + metrics + others]], axis=1)
    roles = {role: next((p.roles[role] for p in parts if p.roles[role]), None) for role in ROLES}
    return Runs(frame=frame, metrics=tuple(metrics), roles=roles,
                derived=frozenset().union(*(p.derived for p in parts)),
                sources=tuple(p.name for p in parts), flops_per_token_param=k,
                source_rows=tuple(np.concatenate([p.rows for p in parts]).tolist()),
                source_files=tuple(files.tolist()), notes=tuple(n for p in parts for n in p.notes))


def _unique_across_files(ids: pd.Series, files: np.ndarray, parts: list[_Part]) -> pd.Series:
    """Ids repeated across files get a "stem/" prefix when that makes them unique."""
    repeated = ids.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return ids
    stems = {p.name: Path(p.name).stem for p in parts}
    values = ids.to_numpy(dtype=object)
    values[repeated] = [f"{stems[f]}/{i}" for f, i in zip(files[repeated], values[repeated])]
    fixed = pd.Series(values, dtype="str")
    still = fixed.duplicated(keep=False).to_numpy()
    if still.any():
        clashes = sorted(set(values[still].tolist()))
        files_text = _and([f"`{p.name}`" for p in parts])
        raise DataError(f"run ids {_quoted(clashes)} are repeated across {files_text}, "
                        f"even with the file name as prefix. Make the run ids unique.")
    return fixed


# --------------------------------------------------------------------------------------------------
# Entry point


def load_runs(sources: Any, *, mapping: Mapping[str, str | None] | None = None,
              metrics: Sequence[str] | None = None, flops_per_token_param: float = 6.0,
              names: Sequence[str] | None = None) -> Runs:
    """Read one or several CSV files of runs into a validated :class:`Runs`.

    Parameters
    ----------
    sources
        A path, bytes, a binary or text file object (``io.BytesIO``, a Streamlit ``UploadedFile``), or
        a list of those. Files are read once and never written.
    mapping
        Overrides column detection: ``{"params": "N", "tokens": "D", "metric": "val_loss"}``. Keys are
        the :data:`ROLES` and ``"metric"``; a role mapped to ``None`` or ``""`` is absent (not detected).
        A mapped ``"metric"`` (or ``metrics``) switches metric detection off: the metrics are exactly the
        named columns, the mapped one first (``"metric": None`` means "detect").
    metrics
        Metric columns to use, default first.
    flops_per_token_param
        The factor k in ``C = k*N*D`` used to derive the missing one of params, tokens and compute.
    names
        Display names of the sources (default: the file name, the upload's ``.name``, or "upload-1.csv").

    Several files are concatenated with columns matched by role; groups come from a group column,
    else from the file names. Every problem in every file is reported in one :class:`DataError`.
    """
    mapping = _checked_mapping(mapping)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics or [])
    k = _checked_factor(flops_per_token_param)
    sources_named = _gather(sources, names)
    problems: list[str] = []
    tables = []
    for name, src in sources_named:
        try:
            table = _read_table(name, src, mapping, metrics)
        except DataError as exc:
            problems.append(str(exc))
            continue
        problems += _validate(table)
        tables.append(table)
    if problems:
        raise DataError(_problem_message(problems))
    several = len(tables) > 1
    return _combine([_to_part(t, k, several) for t in tables], k)


def _checked_mapping(mapping: Mapping[str, Any] | None) -> dict[str, str | None]:
    mapping = dict(mapping or {})
    valid = ROLES + ("metric",)
    unknown = [key for key in mapping if key not in valid]
    if unknown:
        raise DataError(f"unknown mapping key(s) {_names(unknown)}; valid keys are {_names(valid)}")
    wrong = [key for key, value in mapping.items() if value is not None and not isinstance(value, str)]
    if wrong:
        raise DataError(f"mapping values must be column names (str) or None; got "
                        f"{', '.join(f'`{k}`: {mapping[k]!r}' for k in wrong)}")
    return {key: (value.strip() or None) if isinstance(value, str) else None
            for key, value in mapping.items()}


def _checked_factor(k: Any) -> float:
    try:
        value = float(k)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"`flops_per_token_param` must be a positive number; got {k!r}")
    return value


# --------------------------------------------------------------------------------------------------
# Message helpers


def _problem_message(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems in the input:\n" + "\n".join(f"- {p}" for p in problems)


def _sentence(text: str) -> str:
    """``text`` as a sentence (first letter upper-cased, full stop, trailing space); "" stays ""."""
    return f"{text[0].upper()}{text[1:]}. " if text else ""


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _names(columns: Any) -> str:
    columns = [str(c) for c in columns]
    shown = [_shown_name(c) for c in columns[:_MAX_LISTED]]
    more = f" and {len(columns) - _MAX_LISTED} more" if len(columns) > _MAX_LISTED else ""
    return (", ".join(shown) + more) if shown else "none"


def _shown_name(column: str) -> str:
    unnamed = re.fullmatch(r"Unnamed: (\d+)", column)
    return f"(column {int(unnamed.group(1)) + 1} has no name)" if unnamed else f"`{column}`"


def _quoted(values: Sequence[Any], limit: int = 3) -> str:
    distinct = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(f"'{v}'" for v in distinct[:limit])
    return shown + (f" (and {len(distinct) - limit} more)" if len(distinct) > limit else "")


def _values_text(values: np.ndarray, limit: int = 3) -> str:
    distinct = list(dict.fromkeys(f"{v:g}" for v in values))
    more = f" (and {len(distinct) - limit} more)" if len(distinct) > limit else ""
    return ", ".join(distinct[:limit]) + more


def _close(name: str, columns: Sequence[str]) -> list[str]:
    by_key = {_key(c): c for c in columns}
    return [by_key[k] for k in difflib.get_close_matches(_key(name), list(by_key), n=2, cutoff=0.6)]


def _did_you_mean(candidates: Sequence[str]) -> str:
    if not candidates:
        return ""
    return f" Did you mean {' or '.join(f'`{c}`' for c in candidates[:3])}?"


def _short(x: float) -> str:
    """Compact number for summaries: 4.4e7, 0.5, 320."""
    if not np.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2g}".split("e")
    return f"{mantissa}e{int(exponent)}"

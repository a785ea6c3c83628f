"""Reading CSV files of training runs into :class:`Runs`: the layer over :mod:`scalecore.io` for tables
of runs (one row per run).

One entry point, :func:`load_runs`: bytes, files or a pandas DataFrame in, a validated :class:`Runs` out.
Reading (size limit, encodings, separators, decimal commas, "7B" numbers, column roles, binary/HTML/JSON
refused) is :mod:`scalecore.io`'s pipeline, shared with :func:`scalecore.load_curves`; this module adds
what a table of runs needs:

- column roles are detected from common names (:func:`detect_roles`) or taken from a ``mapping``;
- every problem in every file is collected and raised as ONE :class:`DataError` whose message names
  file, column and rows and says what to do (sizes positive and within :data:`SIZE_RANGE`, metrics
  finite and within :data:`METRIC_LIMIT`, unique run ids, no loss-curve export);
- the missing one of params N, tokens D and compute C is derived with ``C = k*N*D`` (k = 6 by default);
- units in a size header ("Model Size (B)", "FLOPs (1E21)") are applied; a ``model`` column repeated on
  runs of different sizes is a label (the group), not a run id;
- soft problems (a guessed encoding, units applied, sizes that look scaled, a label taken for a group)
  become :attr:`Runs.notes`, shown next to the data.

The input files are only ever read, once.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, format_rows
from .io import frame as io_frame
from .io import messages as msg
from .io import source as io_source
from .io.dialect import MAX_COLUMNS
from .io.numbers import METRIC_LIMIT, SIZE_RANGE, Numbers, mostly_numeric, not_numbers_problem, parse_column
from .io.numbers import metric_problems, parse_number, size_problems
from .io.roles import (LABEL_KEYS, METRIC_ALIASES, ROLE_ALIASES, ROLE_LABELS, ROLES, SIZE_ROLES, STEP_NAMES, Plan,
                       detect_roles, guess_note, named_like_role, header_scale, key, plan_runs, step_column)
from .io.plausibility import tokens_per_param_note
from .io.source import MAX_FILE_BYTES

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

#: Below these maxima a size column looks scaled (e.g. params in billions): said in a note.
_PLAIN_COUNT_MIN = {"params": 1e4, "tokens": 1e6, "compute": 1e12}
_MAX_SUGGESTED = 200  # columns looked at for "did you mean" hints
_names, _quoted, _and, _short, _sentence = msg.names, msg.quoted, msg.and_, msg.short, msg.sentence
_did_you_mean = msg.did_you_mean

# --------------------------------------------------------------------------------------------------
# Runs


#: Metric names that rise with scale (accuracy-like) and names of metrics that fall (losses).
SCORE_NAME = re.compile(r"acc|accuracy|score|exact|f1|pass|win|correct|bleu|rouge", re.IGNORECASE)
LOSS_NAME = re.compile(r"loss|bpb|bpc|ppl|perplexity|nll|entropy|err", re.IGNORECASE)


def metric_kind(runs, metric: str) -> str:
    """``"score"`` for an accuracy-like metric, else ``"loss"``: named like a score; or not named
    like a loss with every value in [0, 1] (a benchmark column such as ``MMLU``); or with values at
    or below 0 (no loss law's log applies)."""
    if SCORE_NAME.search(metric):
        return "score"
    values = runs.values(metric)
    values = values[np.isfinite(values)]
    if values.size and np.any(values <= 0):
        return "score"
    if values.size and not LOSS_NAME.search(metric) and np.all(values <= 1):
        return "score"
    return "loss"


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
# Reading files


@dataclass
class _Table:
    """One input file read into a raw frame, with its plan and parsed numeric columns."""

    name: str
    frame: pd.DataFrame  # pandas column names ("x.1" for a repeated name), blank rows dropped
    rows: np.ndarray  # spreadsheet row number of each frame row (a DataFrame's positions)
    header: list[str]  # the header as written (for repeated names)
    plan: Plan
    numbers: dict[str, Numbers]
    sep: str = ","
    notes: list[str] = field(default_factory=list)  # soft problems, carried to Runs.notes
    scaled: dict[str, tuple[float, str]] = field(default_factory=dict)  # column -> (factor, unit) applied

    def present(self, role: str) -> bool:
        """The role has a column with at least one cell filled in."""
        column = self.plan.roles[role]
        return column is not None and not self.numbers[column].missing.all()


def _read_table(name: str, src: Any, mapping: Mapping[str, Any], metrics: Sequence[str]) -> _Table:
    """Read one source into a :class:`_Table`; raises DataError when the file cannot be read at all."""
    plans: list[Plan] = []

    def text_columns(columns: list[str]) -> list[str]:
        plans.append(plan_runs(name, columns, mapping, metrics))
        return [c for r in ("run_id", "group") if (c := plans[0].roles[r]) is not None]

    raw = io_frame.read_frame(name, src, text_columns)
    plan, frame = plans[0], raw.frame
    numeric = [c for role in SIZE_ROLES if (c := plan.roles[role]) is not None] + plan.metrics
    numbers = {c: parse_column(frame[c], raw.decimal_comma) for c in numeric}
    table = _Table(name, frame, raw.rows, raw.header, plan, numbers, sep=raw.sep, notes=list(raw.notes))
    table.notes += [n for n in (guess_note(name, plan.guessed),) if n]  # W&B's parameter_count, MLflow's params.*
    if not plan.metrics and not plan.metrics_explicit:
        _metrics_by_values(table, raw.decimal_comma)
    for role in SIZE_ROLES:  # "Model Size (B)": the values are billions; counts from here on
        column = plan.roles[role]
        scale = header_scale(column) if column is not None else None
        if scale is not None:
            numbers[column].values = numbers[column].values * scale[0]
            table.scaled[column] = scale
    _label_not_id(table, mapping)
    _drop_unusable_metrics(table)
    return table


def _label_not_id(table: _Table, mapping: Mapping[str, Any]) -> None:
    """A detected ``model``/``model_name`` run-id column whose values repeat on rows of different size,
    tokens or compute is a label: it becomes the group (when there is none; else a plain column), the
    runs are numbered, and a note says so. A mapped run id, or a file with a step column (a loss-curve
    export, refused with its own message), is left alone."""
    plan, frame = table.plan, table.frame
    column = plan.roles["run_id"]
    if column is None or "run_id" in mapping or key(column) not in LABEL_KEYS:
        return
    if step_column(frame.columns) is not None:
        return
    labels = frame[column]
    known = labels.notna().to_numpy()
    if not labels[known].duplicated().any():
        return
    varying = [role for role in SIZE_ROLES if (c := plan.roles[role]) is not None and
               (pd.Series(table.numbers[c].values[known]).groupby(labels[known].to_numpy()).nunique() > 1).any()]
    if not varying:
        return
    plan.roles["run_id"] = None
    if plan.roles["group"] is None:
        plan.roles["group"] = column
        use = "it is used as the group"
    else:
        use = f"it is kept as a plain column (the group is `{plan.roles['group']}`)"
    n_labels = labels[known].nunique()
    table.notes.append(f"`{table.name}`, column `{column}`: {n_labels:,} values on {int(known.sum()):,} rows, the same "
                       f"value on rows of different {_and(varying)}, so it is a label, not a run id: {use}, and "
                       f"the runs are numbered r1, r2, ... To use it as the run id anyway, map run_id to "
                       f"`{column}`.")


#: Below this similarity (difflib's ratio) to a metric name of four letters or more, a column name is not
#: taken for a misspelled metric ("val_los", "los"); shorter names ("acc", "ppl") are left out, for any
#: four-letter column ("ARC-C") is that close to one.
_TYPO_CUTOFF = 0.75


def _misspelled_metric(columns: Sequence[str]) -> bool:
    """A column named nearly like a loss or accuracy ("val_los"): a typo, refused with "did you mean"."""
    keys = [k for a in METRIC_ALIASES if len(k := key(a)) >= 4]
    return any(difflib.get_close_matches(key(c), keys, n=1, cutoff=_TYPO_CUTOFF) for c in columns)


def _metrics_by_values(table: _Table, decimal_comma: bool) -> None:
    """No column is named like a loss or an accuracy (Ruan et al.'s table: MMLU, ARC-C, ...): the numeric
    columns that play no role become the metrics, in file order, with a note saying which were taken,
    which look like accuracies (every value in [0, 1]) and how to choose another. Columns named like a
    role or a step, text columns, and files with a column that looks like a misspelled metric name
    (refused with "did you mean", as before) are left alone."""
    plan, frame = table.plan, table.frame
    used = {c for c in plan.roles.values() if c is not None}
    free = [str(c) for c in frame.columns if c not in used][:_MAX_SUGGESTED]
    if _misspelled_metric(free):
        return
    steps = {key(s) for s in STEP_NAMES}
    metrics = []
    for column in free:
        if key(column) in steps or named_like_role(column):
            continue
        numbers = parse_column(frame[column], decimal_comma)
        values = numbers.values[~numbers.missing]
        if numbers.bad.any() or values.size == 0 or not np.isfinite(values).all():
            continue
        table.numbers[column] = numbers
        metrics.append(column)
    if not metrics:
        return
    plan.metrics = metrics
    scores = [m for m in metrics if ((v := table.numbers[m].values[~table.numbers[m].missing]) >= 0).all()
              and (v <= 1).all()]
    if len(metrics) == 1:
        taken = f"the numeric column that plays no other role was taken as the metric: `{metrics[0]}`"
        bounded = "; its values all lie in [0, 1]: an accuracy-like score" if scores else ""
    else:
        taken = (f"the {len(metrics)} numeric columns that play no other role were taken as metrics, in file "
                 f"order: {_names(metrics)}; `{metrics[0]}` is the default")
        if len(scores) == len(metrics):
            bounded = "; all have their values in [0, 1]: accuracy-like scores"
        elif len(scores) == 1:
            bounded = f"; `{scores[0]}` has its values in [0, 1]: an accuracy-like score"
        elif scores:
            bounded = f"; {_names(scores)} have their values in [0, 1]: accuracy-like scores"
        else:
            bounded = ""
    table.notes.append(
        f"`{table.name}`: no column is named like a loss or an accuracy, so {taken}{bounded}. To fit another "
        f"column, choose it with "
        f"mapping={{'metric': '<column>'}} or in the column-mapping panel.")


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
    problems += io_frame.repeated_header_problems(name, table.header)
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


def _notes(table: _Table) -> list[str]:
    """Soft problems of a valid file: units written in a header, sizes that look scaled, curve rows."""
    notes = list(table.notes)
    for role in SIZE_ROLES:
        column = table.plan.roles[role]
        if column is None or not table.present(role):
            continue
        values = table.numbers[column].values
        low, high = _short(np.nanmin(values)), _short(np.nanmax(values))
        if column in table.scaled:
            factor, unit = table.scaled[column]
            notes.append(f"`{table.name}`, column `{column}` ({role}): the header says the values are in {unit}; "
                         f"they were multiplied by {_short(factor)} ({_short(np.nanmin(values) / factor)} to "
                         f"{_short(np.nanmax(values) / factor)} in the file, {low} to {high} used). If the "
                         f"header is wrong, rename the column or write the values as plain counts such as 7e9.")
        elif np.nanmax(values) < _PLAIN_COUNT_MIN[role]:
            notes.append(f"`{table.name}`, column `{column}` ({role}): the values ({low} to {high}) are small for "
                         f"{ROLE_LABELS[role].split(' (')[0]} counted one by one; if they are in millions or "
                         f"billions, fitted constants and a derived size (C = k·N·D) are in those units too. "
                         f"Write them as 7B or 7e9 to use plain counts.")
    if table.present("params") and table.present("tokens"):  # BTLM's 627 "T" tokens: named, never changed
        ids = table.frame[c].astype("str").tolist() if (c := table.plan.roles["run_id"]) is not None else None
        odd = tokens_per_param_note(table.name, ids, table.numbers[table.plan.roles["params"]].values,
                                    table.numbers[table.plan.roles["tokens"]].values, table.plan.roles["tokens"])
        notes += [odd] if odd else []
    missing = _missing_note(table)
    if missing:
        notes.append(missing)
    step = step_column(table.frame.columns)
    if step is not None and table.plan.roles["run_id"] is None:
        sizes = [c for r in ("params", "compute") if (c := table.plan.roles[r]) is not None and table.present(r)]
        steps_per_size = table.frame.groupby(sizes[0])[step].nunique() if sizes else pd.Series([0])
        if steps_per_size.max() >= 20:
            notes.append(f"`{table.name}`: up to {steps_per_size.max():,} rows have the same `{sizes[0]}` and a "
                         f"different `{step}`; if each row "
                         f"is a training step of a loss curve rather than a finished run, keep one row per run "
                         f"(e.g. the final step) before fitting.")
    return notes


def _missing_note(table: _Table) -> str | None:
    """Empty cells in a size column that has values elsewhere, or in a metric: the rows are kept (NaN there),
    counted per column, and a fit leaves out only the runs missing a value it needs (:func:`prepare`)."""
    parts = []
    roles = [(table.plan.roles[r], f" ({r})") for r in SIZE_ROLES if table.present(r)]
    for column, label in roles + [(m, "") for m in table.plan.metrics]:
        empty = table.numbers[column].missing
        if empty.any() and not empty.all():
            n = int(empty.sum())
            parts.append(f"`{column}`{label} {n:,}")
    if not parts:
        return None
    return (f"`{table.name}`: rows with an empty cell, by column: {', '.join(parts)}. These runs are kept; a "
            f"fit leaves out the runs missing a value it needs (its x, or params and tokens for a two-input law, "
            f"and the metric) and says how many and which.")


def _no_size_problem(table: _Table) -> str:
    roles = table.plan.roles
    empty = [f"column `{roles[r]}` ({r}) has no values" for r in SIZE_ROLES if roles[r] is not None]
    unused = _unassigned(table)[:_MAX_SUGGESTED]
    keys = [key(a) for r in SIZE_ROLES for a in ROLE_ALIASES[r]]
    guesses = [c for c in unused if difflib.get_close_matches(key(c), keys, n=1, cutoff=0.75)]
    return (f"`{table.name}`: no column for model size (params), training tokens (tokens) or compute "
            f"(compute); at least one is needed. {_sentence('; '.join(empty))}"
            f"Columns are {_names(table.frame.columns)}.{_did_you_mean(guesses)} Rename the column "
            f"(e.g. to `params`, `tokens` or `compute`) or map it with mapping={{'params': ...}} "
            f"or in the column-mapping panel.")


def _no_metric_problem(table: _Table) -> str:
    unused = _unassigned(table)[:_MAX_SUGGESTED]
    keys = [key(a) for a in METRIC_ALIASES]
    guesses = [c for c in unused if difflib.get_close_matches(key(c), keys, n=1, cutoff=0.75)]
    numeric = []
    for c in unused:
        if mostly_numeric(table.frame[c]):
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


def _number_problems(table: _Table, column: str, role: str) -> list[str]:
    """Cells that are not numbers; sizes that are not positive or partly missing; infinite metrics."""
    numbers, rows, name = table.numbers[column], table.rows, table.name
    where = f"`{name}`, column `{column}`" + (f" ({role})" if role in SIZE_ROLES else "")
    out = []
    if numbers.bad.any():
        cells = table.frame[column].to_numpy(dtype=object)[numbers.bad]
        out.append(not_numbers_problem(where, cells, rows[numbers.bad], table.sep))
    values = numbers.values
    if role in SIZE_ROLES:
        out += size_problems(where, role, values, rows)  # empty cells are kept: see _missing_note
    else:
        out += metric_problems(where, values, rows)
    return out


def _duplicate_id_problems(name: str, column: str, frame: pd.DataFrame, rows: np.ndarray) -> list[str]:
    ids = frame[column]
    repeated = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    if not repeated.any():
        return []
    counts = ids[repeated].value_counts()
    step = step_column(frame.columns)
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
        A path, bytes, a binary or text file object (``io.BytesIO``, a Streamlit ``UploadedFile``), a
        pandas DataFrame, or a list of those. Files are read once and never written. A DataFrame gets
        the same detection, parsing ("7B" cells), validation and messages as a file; it is called
        ``<DataFrame>`` in them, and its rows are counted by position (``df.iloc``) from 0.
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
    sources_named = io_source.gather(sources, names)
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
        raise DataError(msg.problem_message(problems))
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


"""Which column plays which role: names people and trackers use for each role, and the detection that
maps a header to roles (a table of runs: :func:`plan_runs`; training curves: :func:`curve_columns`).

Matching ignores case, spaces, underscores, hyphens, punctuation and units in parentheses or brackets
("Model Size (params)"); exact names win over normalised ones, earlier aliases over later ones, and no
column gets two roles.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

from ..errors import DataError
from . import messages as msg

ROLES = ("run_id", "group", "params", "tokens", "compute")
SIZE_ROLES = ("params", "tokens", "compute")

#: Column names recognised for each role, best first. Matching ignores case, spaces, underscores,
#: hyphens, punctuation and units in parentheses or brackets ("Model Size (params)").
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "params": ("params", "N", "n_params", "num_params", "parameters", "model_size", "Model Size",
               "non_embedding_params", "nonembedding_params", "n_parameters", "model_params", "size"),
    "tokens": ("tokens", "D", "n_tokens", "num_tokens", "train_tokens", "training_tokens",
               "dataset_size", "data", "tokens_seen", "data_size", "pretraining_data_size",
               "training_data_size", "pretraining_tokens"),
    "compute": ("compute", "C", "flops", "Training FLOP", "training_flops", "budget", "compute_budget",
                "total_flops", "flop"),
    "run_id": ("run_id", "run", "id", "name", "run_name", "model", "model_name"),
    "group": ("group", "family", "arch", "architecture", "experiment", "series", "dataset", "config",
              "model_family", "family_name"),
}

#: Metric column names, best first; the first one found becomes the default metric.
METRIC_ALIASES = ("loss", "val_loss", "eval_loss", "train_loss", "final_loss", "test_loss",
                  "validation_loss", "bpb", "bits_per_byte", "perplexity", "ppl", "accuracy", "acc",
                  "score", "error")
# Fuzzy metric names (ranked after every exact alias): "*_loss", "*_acc", "*accuracy", also "val/loss", and
# the other way round, "loss_c4_val", "acc_arc_easy", "accuracy_avg17" (not a mixed-precision "loss_scale").
_METRIC_PATTERN = re.compile(r".+[\s_\-./:](?:loss|acc)|.+accuracy|(?:loss|acc|accuracy)[\s_\-./:](?!scal|weight).+")

#: Names experiment trackers give a size column (W&B summaries, MLflow params, trainer logs), by role: not
#: names people choose, so a column found by one of them (or by a role name under a tracker prefix, see
#: :data:`TRACKER_PREFIXES`) is a guess, said in a note (:func:`guess_note`).
TRACKER_ALIASES: dict[str, tuple[str, ...]] = {
    "params": ("parameter_count", "param_count", "num_parameters", "total_params", "total_parameters",
               "n_params_total", "model/num_params", "model/parameters", "params_total", "nparams"),
    "tokens": ("throughput/total_tokens", "total_tokens", "consumed_tokens", "num_tokens_seen",
               "train/tokens", "trainer/tokens", "tokens_processed", "cumulative_tokens", "train/total_tokens",
               "throughput/tokens", "num_input_tokens_seen"),
    "compute": ("throughput/total_flops", "total_flos", "train/flops", "trainer/flops", "flops_total",
                "total_compute"),
}
#: Prefixes trackers put before a logged name: MLflow's ``params.``/``metrics.``/``tags.``, W&B's
#: ``config/``, ``summary/``, ``hparams/``; ``params.n_params`` is then read as ``n_params``.
TRACKER_PREFIXES = ("params.", "param.", "metrics.", "metric.", "config.", "config/", "summary.", "summary/",
                    "hparams.", "hparams/", "hyperparameters.", "hyperparameters/", "tags.", "attributes.")
#: The tracker each prefix or name comes from, for the note.
_TRACKER_OF = (("params.", "MLflow"), ("metrics.", "MLflow"), ("param.", "MLflow"), ("metric.", "MLflow"),
               ("tags.", "MLflow"), ("attributes.", "MLflow"), ("config", "W&B"), ("summary", "W&B"),
               ("throughput/", "W&B"), ("parameter_count", "W&B"), ("train/", "a trainer log"),
               ("trainer/", "a trainer log"), ("num_input_tokens_seen", "Hugging Face Trainer"),
               ("total_flos", "Hugging Face Trainer"))

ROLE_LABELS = {
    "params": "model size (params)",
    "tokens": "training tokens (tokens)",
    "compute": "training compute (compute)",
    "run_id": "run id (run_id)",
    "group": "group (group)",
}

#: Column names of a training step: a table of runs with one of these and repeated runs is a
#: loss-curve export.
STEP_NAMES = ("step", "steps", "global_step", "_step", "trainer/global_step", "iter", "iteration",
              "iterations", "train/step", "epoch")
#: Column names of the training step in a curves file, as trackers export them.
STEP_ALIASES = ("step", "global_step", "_step", "steps", "iteration", "iter", "trainer/global_step",
                "train/global_step", "train/step", "optimizer_step")
#: Extra names of the tokens seen so far in a curves file, beyond :data:`ROLE_ALIASES`.
TOKEN_ALIASES = ("tokens_seen", "consumed_tokens", "num_tokens_seen", "tokens_processed", "train/tokens",
                 "trainer/tokens", "total_tokens", "cumulative_tokens")
#: Roles of a curves file (the keys of its mapping).
CURVE_KEYS = ("run_id", "group", "params", "step", "tokens", "metric")

_UNITS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SCALE_UNITS = {"k": "thousands", "thousand": "thousands", "thousands": "thousands", "m": "millions",
                "mil": "millions", "million": "millions", "millions": "millions", "b": "billions",
                "bn": "billions", "billion": "billions", "billions": "billions", "g": "billions",
                "t": "trillions", "trillion": "trillions", "trillions": "trillions", "p": "10^15",
                "pf-days": "PF-days", "pfdays": "PF-days", "petaflop-days": "PF-days", "pf-day": "PF-days",
                "1e9": "billions", "1e6": "millions", "1e12": "trillions", "e9": "billions", "e6": "millions"}


@lru_cache(maxsize=65536)
def bare(name: Any) -> str:
    """Lower-case name without units in parentheses or brackets."""
    return _UNITS.sub("", str(name)).strip().lower()


@lru_cache(maxsize=65536)
def key(name: Any) -> str:
    """Name reduced to letters and digits: "Model Size (params)" -> "modelsize"."""
    return re.sub(r"[\W_]+", "", bare(name))


def close(name: str, columns: Sequence[str]) -> list[str]:
    """Up to two columns whose names are close to ``name`` (for "did you mean")."""
    by_key = {key(c): c for c in columns}
    return [by_key[k] for k in difflib.get_close_matches(key(name), list(by_key), n=2, cutoff=0.6)]


def _match_rank(column: str, aliases: Sequence[str]) -> tuple[int, int] | None:
    """(level, alias index) of the best alias match: level 0 exact (ignoring case), 1 normalised."""
    exact, k = str(column).strip().lower(), key(column)
    best = None
    for i, alias in enumerate(aliases):
        if exact == alias.lower():
            return (0, i)
        if best is None and k and k == key(alias):
            best = (1, i)
    return best


def strip_tracker_prefix(column: str) -> str | None:
    """``column`` without a tracker's prefix (``params.n_params`` -> ``n_params``), None when it has none."""
    text = str(column).strip()
    lower = text.lower()
    for prefix in TRACKER_PREFIXES:
        if lower.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):]
    return None


def _role_rank(column: str, role: str) -> tuple[int, int] | None:
    """Rank of ``column`` for a role: 0 exact or 1 normalised alias; a guess: 2 a tracker's name for it
    (:data:`TRACKER_ALIASES`), 3 a name of either kind under a tracker prefix (``params.n_params``)."""
    rank = _match_rank(column, ROLE_ALIASES[role])
    if rank is not None or role not in TRACKER_ALIASES:
        return rank
    tracker = _match_rank(column, TRACKER_ALIASES[role])
    if tracker is not None:
        return (2, tracker[1])
    bare_name = strip_tracker_prefix(column)
    if bare_name is not None:
        inner = _match_rank(bare_name, ROLE_ALIASES[role]) or _match_rank(bare_name, TRACKER_ALIASES[role])
        if inner is not None:
            return (3, inner[1])
    return None


def is_guess(column: str, role: str) -> bool:
    """Whether ``column`` was taken for ``role`` only as a tracker's name (:func:`_role_rank` level 2 or 3)."""
    rank = _role_rank(column, role)
    return rank is not None and rank[0] >= 2


def tracker_of(column: str) -> str:
    """Which tracker writes names like ``column`` ("W&B", "MLflow", ...), for the note."""
    lower = str(column).strip().lower()
    for mark, tracker in _TRACKER_OF:
        if lower.startswith(mark):
            return tracker
    return "an experiment tracker"


def guess_note(name: str, guessed: Mapping[str, str]) -> str | None:
    """The note saying which columns were taken for a role from a tracker's name (``guessed``: role -> column)."""
    if not guessed:
        return None
    parts = [f"`{column}` as {ROLE_LABELS[role].split(' (')[0]} ({role}, as {tracker_of(column)} names it)"
             for role, column in guessed.items()]
    mapping = ", ".join(f"'{role}': ..." for role in guessed)
    return (f"`{name}`: no column has a usual name for {msg.and_([f'`{r}`' for r in guessed])}, so "
            f"{msg.and_(parts)} {'was' if len(parts) == 1 else 'were'} guessed from the names experiment trackers "
            f"write. If a guess is wrong, map the role to another column (mapping={{{mapping}}}, the column-mapping "
            f"panel, or --ROLE-column).")


def _metric_rank(column: str) -> tuple[int, int] | None:
    rank = _match_rank(column, METRIC_ALIASES)
    if rank is None:  # MLflow's metrics.eval_loss: eval_loss
        inner = strip_tracker_prefix(column)
        rank = _match_rank(inner, METRIC_ALIASES) if inner is not None else None
        rank = (1, rank[1]) if rank is not None else None
    if rank is None and _METRIC_PATTERN.fullmatch(bare(column)):
        rank = (2, 0)
    return rank


def named_like_role(column: str) -> bool:
    """Whether ``column`` is named like one of the :data:`ROLES` (a second params column, say)."""
    return any(_role_rank(column, role) is not None for role in ROLES)


def detect_roles(columns: Sequence[str]) -> dict[str, Any]:
    """Guess each column's role from its name.

    Returns ``{role: column or None for role in ROLES}`` plus ``"metrics"``: a tuple of metric columns,
    best first. Exact names win over normalised ones, normalised ones over trackers' names
    (:data:`TRACKER_ALIASES`, prefixes :data:`TRACKER_PREFIXES`), earlier aliases over later ones, and
    no column gets two roles.
    """
    columns = [str(c) for c in columns]
    taken: set[str] = set()
    found: dict[str, Any] = {}
    for role in ROLES:
        ranked = [(rank, pos, col) for pos, col in enumerate(columns)
                  if col not in taken and (rank := _role_rank(col, role)) is not None]
        found[role] = min(ranked)[2] if ranked else None
        if found[role] is not None:
            taken.add(found[role])
    ranked = [(rank, pos, col) for pos, col in enumerate(columns)
              if col not in taken and (rank := _metric_rank(col)) is not None]
    found["metrics"] = tuple(col for _, _, col in sorted(ranked))
    return found


def resolve(name: str, columns: Sequence[str]) -> str | None:
    """The column called ``name``: exact, else the only one with the same normalised name."""
    if name in columns:
        return name
    same = [c for c in columns if key(c) == key(name)]
    return same[0] if len(same) == 1 else None


#: What each scale word multiplies a value by ("PF-days": petaFLOP/s for a day, in FLOPs).
_SCALE_FACTORS = {"thousands": 1e3, "millions": 1e6, "billions": 1e9, "trillions": 1e12, "10^15": 1e15,
                  "PF-days": 1e15 * 86400}
_FLOP_PREFIX = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "e": 1e18}


def header_scale(column: str) -> tuple[float, str] | None:
    """(factor, what the header says) for a size column whose header declares a unit: ``Model Size (B)``
    -> (1e9, "billions"), ``Pretraining Data Size (T)`` -> (1e12, "trillions"), ``FLOPs (1E21)`` ->
    (1e21, "units of 1e21"), ``N (B params)`` -> (1e9, "billions"), ``compute (GFLOPs)`` -> (1e9,
    "GFLOPs"), ``tokens_bn`` -> (1e9, "billions"); None when it declares none."""
    candidates = [u.strip("()[] ").lower() for u in _UNITS.findall(column)]
    found = re.search(r"(?:[\s_\-/]|in)(k|m|b|bn|t|thousands?|millions?|billions?|trillions?)$", column.strip(),
                      re.IGNORECASE)
    if found:
        candidates.append(found.group(1).lower())
    for text in candidates:
        text = re.sub(r"^in\s+", "", text).strip()
        power = re.fullmatch(r"(?:x\s*|×\s*)?(?:1e\+?|10\^)(\d{1,2})", text)
        if power:
            exponent = int(power.group(1))
            unit = _SCALE_UNITS.get(f"1e{exponent}")
            return 10.0 ** exponent, unit or f"units of 1e{exponent}"
        flops = re.fullmatch(r"([kmgtpe])flop/?s?", text)
        if flops:
            return _FLOP_PREFIX[flops.group(1)], f"{flops.group(1).upper()}FLOPs"
        for word in (text, text.split()[0] if text.split() else ""):
            if word in _SCALE_UNITS:
                unit = _SCALE_UNITS[word]
                return _SCALE_FACTORS[unit], unit
    return None


#: Names of a run-id column that often hold a label shared by many runs (an architecture or size such
#: as "d=96_l=8_h=4" or "pythia-70m"), not one id per run (keys, as :func:`key` reduces names).
LABEL_KEYS = frozenset({"model", "modelname"})


def step_column(columns: Sequence[Any]) -> str | None:
    """The first column named like a training step (for telling a curves export from a table of runs)."""
    keys = {key(s) for s in STEP_NAMES}
    return next((str(c) for c in columns if key(c) in keys), None)


# ------------------------------------------------------------------------------ a table of runs


@dataclass
class Plan:
    """Which column of one file of runs plays which role."""

    roles: dict[str, str | None]
    metrics: list[str]
    metrics_explicit: bool
    problems: list[str] = field(default_factory=list)  # mapping problems found while planning
    guessed: dict[str, str] = field(default_factory=dict)  # role -> column detected only by a tracker's name


def plan_runs(name: str, columns: Sequence[str], mapping: Mapping[str, Any], metrics: Sequence[str]) -> Plan:
    """Apply the mapping, then detect the roles it leaves open."""
    columns = [str(c) for c in columns]
    problems: list[str] = []
    owner: dict[str, str] = {}  # column -> role or "metric"

    def claim(role: str, wanted: str) -> str | None:
        column = resolve(wanted, columns)
        if column is None:
            problems.append(f"`{name}`: `{role}` is mapped to `{wanted}`, but there is no column `{wanted}`. "
                            f"Columns are {msg.names(columns)}.{msg.did_you_mean(close(wanted, columns))}")
        elif role == "metric" and column in ROLES:
            problems.append(f"`{name}`: column `{column}` cannot be a metric: `{column}` is the name of a "
                            f"structural column. Rename it in the file, or choose another metric.")
            column = None
        elif column in owner:
            problems.append(f"`{name}`: column `{column}` is given two roles, `{owner[column]}` and `{role}`; "
                            f"a column can have only one role. Change the mapping.")
            column = None
        else:
            owner[column] = role
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
    guessed = {role: roles[role] for role in ROLES
               if role not in mapping and roles[role] is not None and is_guess(roles[role], role)}
    if wanted_metrics:
        return Plan(roles, chosen_metrics, True, problems, guessed)
    return Plan(roles, [m for m in detected["metrics"] if m not in owner], False, problems, guessed)


# ------------------------------------------------------------------------------ training curves


def _find(columns: list[str], aliases: Sequence[str], taken: set) -> str | None:
    keys = {key(a) for a in aliases}
    for col in columns:
        if col not in taken and key(col) in keys:
            return col
    return None


def curve_columns(columns: Sequence[str], mapping: Mapping[str, str | None] | None = None,
                  name: str = "curves") -> dict[str, str | None]:
    """Which column plays which role in a long-format curves file: ``run_id``, ``group``,
    ``params``, ``step``, ``tokens``, ``metric`` (None when absent). ``mapping`` overrides;
    ``name`` is the file's name in messages."""
    columns = [str(c) for c in columns]
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in CURVE_KEYS]
    if unknown:
        raise DataError(f"unknown mapping key(s) {', '.join(f'`{k}`' for k in unknown)}; valid keys are "
                        f"{', '.join(f'`{k}`' for k in CURVE_KEYS)}")
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for role, value in mapping.items():
        if value:
            column = resolve(value, columns)
            if column is None:
                raise DataError(f"`{name}`: `{role}` is mapped to `{value}`, but there is no column `{value}`. "
                                f"Columns are {msg.names(columns)}.{msg.did_you_mean(close(value, columns))}")
            out[role] = column
            taken.add(column)
        else:
            out[role] = None
    if "step" not in out:
        out["step"] = _find(columns, STEP_ALIASES, taken)
        if out["step"]:
            taken.add(out["step"])
    free = [c for c in columns if c not in taken]
    roles = detect_roles(free)
    for role in ("run_id", "group", "params", "tokens"):
        if role not in out:
            out[role] = roles[role]
            if out[role]:
                taken.add(out[role])
    if not out.get("tokens") and "tokens" not in mapping:
        out["tokens"] = _find(columns, TOKEN_ALIASES, taken)
        if out["tokens"]:
            taken.add(out["tokens"])
    if "metric" not in out:
        metrics = [m for m in roles["metrics"] if m not in taken]
        out["metric"] = metrics[0] if metrics else None
    return out

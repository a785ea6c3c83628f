"""How the reading pipeline words its messages: lists of names, rows and values, and what a file of
each kind needs (:class:`Kind`), so that every stage says the same thing in the same words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

_MAX_LISTED = 20


@dataclass(frozen=True)
class Kind:
    """What one row of a file is, for the messages: a table of runs or a training-curves export."""

    row: str  # "run" or "logged point"
    too_big: str  # why such a file is small, and what to keep when it is not
    columns: str  # the columns to keep when there are too many


RUNS = Kind(row="run",
            too_big="(a table of runs, one row per run, is a few kilobytes). If it is a log of loss curves, keep "
                    "one row per run, e.g. the final evaluation of each run.",
            columns="run id, model size, tokens or compute, the metric")
CURVES = Kind(row="logged point",
              too_big="(training curves logged every few steps are a few megabytes). Keep fewer points per run, "
                      "e.g. every 10th logged step, and load that file.",
              columns="run id, model size, step or tokens, the metric")


def problem_message(problems: list[str], what: str = "the input") -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems in {what}:\n" + "\n".join(f"- {p}" for p in problems)


def sentence(text: str) -> str:
    """``text`` as a sentence (first letter upper-cased, full stop, trailing space); "" stays ""."""
    return f"{text[0].upper()}{text[1:]}. " if text else ""


def and_(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def names(columns: Any) -> str:
    columns = [str(c) for c in columns]
    shown = [shown_name(c) for c in columns[:_MAX_LISTED]]
    more = f" and {len(columns) - _MAX_LISTED} more" if len(columns) > _MAX_LISTED else ""
    return (", ".join(shown) + more) if shown else "none"


def shown_name(column: str) -> str:
    unnamed = re.fullmatch(r"Unnamed: (\d+)", column)
    return f"(column {int(unnamed.group(1)) + 1} has no name)" if unnamed else f"`{column}`"


def quoted(values: Sequence[Any], limit: int = 3) -> str:
    distinct = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(f"'{v}'" for v in distinct[:limit])
    return shown + (f" (and {len(distinct) - limit} more)" if len(distinct) > limit else "")


def values_text(values: np.ndarray, limit: int = 3) -> str:
    distinct = list(dict.fromkeys(f"{v:g}" for v in values))
    more = f" (and {len(distinct) - limit} more)" if len(distinct) > limit else ""
    return ", ".join(distinct[:limit]) + more


def did_you_mean(candidates: Sequence[str]) -> str:
    if not candidates:
        return ""
    return f" Did you mean {' or '.join(f'`{c}`' for c in candidates[:3])}?"


def short(x: float) -> str:
    """Compact number for summaries: 4.4e7, 0.5, 320."""
    if not np.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    text = f"{x:.2g}"
    if "e" not in text:  # 1e-4 <= |x| < 1e-3: "%g" writes 0.00035, with no exponent to split
        text = f"{x:.1e}"
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def size_text(size: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"

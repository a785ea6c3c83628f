"""Cells as numbers: "7B", "1.4T", "350M", "6e20", "1,000,000", decimal commas, missing markers;
vectorised (:func:`parse_column`), with the checks every size and metric gets and what to do
about cells that are not numbers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import format_rows
from . import messages as msg

#: Sizes (params, tokens, compute) must lie in this range in whatever unit the file uses: anything
#: outside is a unit or exponent typo (1e-300, 1e300), and N*D would overflow.
SIZE_RANGE = (1e-12, 1e40)
#: A metric's magnitude must be 0 or between 1/METRIC_LIMIT and METRIC_LIMIT.
METRIC_LIMIT = 1e30

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
class Numbers:
    """One column parsed as numbers."""

    values: np.ndarray  # float64; NaN where the cell is missing or not a number
    missing: np.ndarray  # bool: empty / NA cell
    bad: np.ndarray  # bool: a cell that is there but is not a number


def parse_column(raw: pd.Series, decimal_comma: bool) -> Numbers:
    """Parse a column vectorised: numeric dtypes as they are, text with ``pd.to_numeric`` first and
    :func:`parse_number` only on the (distinct) cells that fail."""
    n = len(raw)
    if raw.dtype.kind in "iuf":
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        return Numbers(values, np.isnan(values), np.zeros(n, dtype=bool))
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
    return Numbers(values, missing, bad)


def _parse_cell(cell: str, decimal_comma: bool) -> float | None:
    """:func:`parse_number` with an optional decimal comma ("3,25"); None if not a number."""
    if decimal_comma and _DECIMAL_COMMA.fullmatch(cell):
        cell = cell.replace(",", ".")
    try:
        return parse_number(cell)
    except ValueError:
        return None


def mostly_numeric(column: pd.Series) -> bool:
    """At least one number, and at most one cell in ten that is not a number."""
    if column.dtype.kind in "iuf":
        return bool(column.notna().any())
    numbers = parse_column(column, decimal_comma=False)
    filled = int((~numbers.missing).sum())
    return filled > 0 and int(numbers.bad.sum()) <= 0.1 * filled


def number_hint(cells: list[str], sep: str) -> str:
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


def not_numbers_problem(where: str, cells: np.ndarray, rows: np.ndarray, sep: str) -> str:
    """"`file`, column `x`, rows 3 and 5: 'abc', '--' are not numbers. <what to do>"."""
    cells = [str(c).strip() for c in cells]
    verb = "is not a number" if len(set(cells)) == 1 else "are not numbers"
    return f"{where}, {format_rows(rows)}: {msg.quoted(cells)} {verb}. {number_hint(cells, sep)}"


def size_problems(where: str, role: str, values: np.ndarray, rows: np.ndarray) -> list[str]:
    """Sizes (params, tokens, compute) that are not positive and finite, or outside :data:`SIZE_RANGE`."""
    out = []
    wrong = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
    if wrong.any():
        shown = msg.values_text(values[wrong])
        out.append(f"{where}, {format_rows(rows[wrong])}: {shown} — {role} must be positive and finite "
                   f"because a log is taken. Fix these values or remove these runs.")
    low, high = SIZE_RANGE
    absurd = ~wrong & ~np.isnan(values) & ((values < low) | (values > high))
    if absurd.any():
        shown = msg.values_text(values[absurd])
        out.append(f"{where}, {format_rows(rows[absurd])}: {shown} — outside {low:g} to {high:g}, the range "
                   f"a {role} value can have in any unit; probably a typo in the exponent or the unit. "
                   f"Fix these values or remove these runs.")
    return out


def metric_problems(where: str, values: np.ndarray, rows: np.ndarray) -> list[str]:
    """Metric values that are infinite or of an absurd magnitude (see :data:`METRIC_LIMIT`)."""
    out = []
    infinite = np.isinf(values)
    if infinite.any():
        shown = msg.values_text(values[infinite])
        out.append(f"{where}, {format_rows(rows[infinite])}: {shown} — a metric must be a finite "
                   f"number. Leave the cell empty if the value is missing.")
    size = np.abs(values)
    absurd = np.isfinite(size) & (size != 0) & ((size > METRIC_LIMIT) | (size < 1 / METRIC_LIMIT))
    if absurd.any():
        shown = msg.values_text(values[absurd])
        out.append(f"{where}, {format_rows(rows[absurd])}: {shown} — a metric's magnitude must be between "
                   f"{1 / METRIC_LIMIT:g} and {METRIC_LIMIT:g} (or 0); probably a typo in the exponent. "
                   f"Fix these values, or leave the cells empty if the values are missing.")
    return out

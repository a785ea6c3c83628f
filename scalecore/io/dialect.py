"""The third stage: text -> cells. The separator (``,`` ``;`` tab ``|``; a ``;`` file is read with
decimal commas) is sniffed from the header line; pandas' parser errors become messages naming the line
and what to do (too many cells, an unclosed quote)."""

from __future__ import annotations

import csv
import io
import re
import warnings
from typing import Any

import pandas as pd

from ..errors import DataError
from . import messages as msg
from .messages import RUNS, Kind

SEPARATORS = (",", ";", "\t", "|")
#: Most columns read from one file (an experiment tracker's export of every config key can be wide).
MAX_COLUMNS = 5000


def first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[:end]


def sniff_separator(text: str) -> str:
    """The separator that splits the header line into the most fields; ties go to the comma."""
    first = first_line(text)
    return max(SEPARATORS, key=lambda sep: len(split_header(first, sep)))


def split_header(line: str, sep: str) -> list[str]:
    """The cells of one line (the csv module's field-size limit does not apply to a header)."""
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return line.split(sep)


def decimal_mark(sep: str) -> str:
    """"," in a ";"-separated file (as spreadsheets in decimal-comma locales write it), else "."."""
    return "," if sep == ";" else "."


def too_many_columns(name: str, n: int, kind: Kind = RUNS) -> DataError | None:
    if n <= MAX_COLUMNS:
        return None
    return DataError(f"`{name}` has {n:,} columns; at most {MAX_COLUMNS:,} are read. Keep the columns "
                     f"you need ({kind.columns}) and load that file.")


def read_csv(name: str, body: bytes, offset: int, n_fields: int | None = None, text: str | None = None,
             kind: Kind = RUNS, **options: Any) -> pd.DataFrame:
    """``pd.read_csv`` on UTF-8 bytes, with parser errors turned into a DataError naming the line."""
    again = f"Export it again as a plain CSV file with one header row and one row per {kind.row}."
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(io.BytesIO(body), encoding="utf-8", **options)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = (int(g) for g in found.groups())
            raise ragged_error(name, line + offset, saw, expected, options["sep"]) from None
        found = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if found:
            line = int(found.group(1)) + 1 + offset
            raise DataError(f"`{name}`, line {line}: a quoted cell starts here and its closing quote (\") is "
                            f"never found. Close the quote, or remove the stray quote character.") from None
        raise DataError(f"`{name}` could not be read as CSV ({msg.one_line(exc)}). {again}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"`{name}` is empty; it needs a header row and one row per {kind.row}") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. a cell too long for the tokenizer
        raise DataError(f"`{name}` could not be read as CSV ({msg.one_line(exc)}). {again}") from None
    if n_fields is not None and any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        # with index_col=False pandas drops extra cells of the first data rows with only a warning
        line, saw = _first_long_line(text or "", options["sep"], n_fields)
        raise ragged_error(name, line + offset, saw, n_fields, options["sep"])
    return frame


def ragged_error(name: str, line: int, saw: int, expected: int, sep: str) -> DataError:
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

"""The pipeline's one entry: a source -> :class:`RawFrame` (the cells, the row each came from, the
separator and the notes), through :mod:`.source` (bytes, size limit), :mod:`.text` (encodings, binary,
HTML, JSON) and :mod:`.dialect` (separator, decimal mark, parser errors). A pandas DataFrame skips the
first three stages and gets the rest: the same names, text columns and row bookkeeping."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from . import dialect, source, text as text_stage
from . import messages as msg
from .messages import RUNS, Kind

#: Cells that pandas.read_csv reads as missing (its default na_values): a DataFrame's are missing too.
_NA_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                      "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})

#: Which columns to read as text (ids, groups), chosen from the header's column names.
TextColumns = Callable[[list[str]], Sequence[str]]


@dataclass
class RawFrame:
    """One source read into cells.

    ``frame`` has the header's names (surrounding spaces dropped; a repeated name gets pandas' ``.1``);
    the text columns are str with surrounding spaces dropped and blank cells missing; rows with no cell
    filled are dropped. ``rows`` says where each row came from: the spreadsheet row (header = row 1) of a
    file, the position (``df.iloc``) in a DataFrame. ``header`` is the header as written.
    """

    name: str
    frame: pd.DataFrame
    rows: np.ndarray
    header: list[str]
    sep: str = ","
    notes: list[str] = field(default_factory=list)

    @property
    def decimal_comma(self) -> bool:
        return dialect.decimal_mark(self.sep) == ","


def read_frame(name: str, src: Any, text_columns: TextColumns = lambda columns: (), kind: Kind = RUNS) -> RawFrame:
    """Read one source (path, bytes, str, file object, upload or DataFrame) into a :class:`RawFrame`.

    ``text_columns(columns)`` names the columns to read as text (run ids, groups), from the header's names;
    it is called once, before the cells are read. Raises one DataError naming the file when it cannot be
    read at all (too big, binary, HTML, JSON, empty, no data rows, too many columns, broken quoting, rows
    with more cells than the header).
    """
    if isinstance(src, pd.DataFrame):
        return _from_dataframe(name, src, text_columns, kind)
    text, body, encoding_note = text_stage.decode(source.read_payload(name, src, kind), name)
    empty = f"`{name}` is empty; it needs a header row and one row per {kind.row}"
    if not text.strip():
        raise DataError(empty)
    not_a_table = text_stage.not_a_table_problem(name, text, kind)
    if not_a_table:
        raise DataError(not_a_table)
    leading = re.match(r"(?:[ \t]*\n)*", text)
    offset = leading.group().count("\n")  # blank lines above the header (ASCII: same length in bytes)
    body = body[leading.end():]
    text = text[leading.end():]
    sep = dialect.sniff_separator(text)
    options = dict(sep=sep, decimal=dialect.decimal_mark(sep), index_col=False)
    header = [h.strip() for h in dialect.split_header(dialect.first_line(text), sep)]
    wide = dialect.too_many_columns(name, len(header), kind)
    if wide:
        raise wide
    raw_columns = [str(c) for c in dialect.read_csv(name, body, offset, nrows=0, kind=kind, **options).columns]
    columns = [c if c.startswith("Unnamed: ") else c.strip() for c in raw_columns]
    if len(set(columns)) < len(columns):  # " loss" and "loss": keep the names apart; reported as repeated
        columns = raw_columns
    as_text = [c for c in dict.fromkeys(text_columns(list(columns))) if c in columns]
    raw_text = [raw_columns[columns.index(c)] for c in as_text]
    frame = dialect.read_csv(name, body, offset, dtype={c: str for c in raw_text}, skip_blank_lines=False,
                             low_memory=False, n_fields=len(raw_columns), text=text, kind=kind, **options)
    frame.columns = columns
    frame, rows = _tidy(name, frame, as_text, np.arange(len(frame)) + 2 + offset, kind)
    return RawFrame(name, frame, rows, header, sep=sep, notes=[encoding_note] if encoding_note else [])


def _from_dataframe(name: str, df: pd.DataFrame, text_columns: TextColumns, kind: Kind) -> RawFrame:
    header = [str(c).strip() for c in df.columns]
    if not header:
        raise DataError(f"`{name}` is empty (it has no columns); it needs one column per role and one row "
                        f"per {kind.row}")
    wide = dialect.too_many_columns(name, len(header), kind)
    if wide:
        raise wide
    seen: dict[str, int] = {}
    columns = []
    for column in header:  # a repeated name gets ".1", as pandas reads it from a file (and is reported)
        count = seen.get(column, 0)
        seen[column] = count + 1
        columns.append(column if count == 0 else f"{column}.{count}")
    frame = pd.DataFrame({c: df.iloc[:, i].to_numpy() for i, c in enumerate(columns)})
    for column in frame.columns:  # cells a CSV reader takes as missing ("", "NA", "null", ...) are missing here too
        if pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(frame[column]):
            cells = frame[column]
            frame[column] = cells.mask(cells.isin(_NA_TEXT))
    as_text = [c for c in dict.fromkeys(text_columns(list(columns))) if c in columns]
    for column in as_text:
        cells = frame[column]
        as_str = cells.astype("str").astype(object)
        as_str[cells.isna().to_numpy()] = np.nan
        frame[column] = as_str
    if frame.empty:
        raise DataError(f"`{name}` has no rows; it needs one row per {kind.row}")
    frame, rows = _tidy(name, frame, as_text, np.arange(len(frame)), kind)
    return RawFrame(name, frame, rows, header, sep=",")


def _tidy(name: str, frame: pd.DataFrame, as_text: Sequence[str], rows: np.ndarray,
          kind: Kind) -> tuple[pd.DataFrame, np.ndarray]:
    """Text cells trimmed (blank -> missing), empty unnamed columns and empty rows dropped."""
    for column in as_text:  # ids and groups: surrounding spaces dropped, blank -> missing
        stripped = frame[column].str.strip()
        frame[column] = stripped.mask(stripped == "")
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed: ") and frame[c].isna().all()])
    filled = ~frame.isna().all(axis=1).to_numpy()
    rows = rows[filled]
    frame = frame.loc[filled].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"`{name}` has a header but no data rows; add one row per {kind.row} below the header")
    return frame, rows


def repeated_header_problems(name: str, header: list[str]) -> list[str]:
    """One message per column name written more than once in a header."""
    counts = Counter(h for h in header if h.strip())
    return [f"`{name}`: the header has column `{h}` {n} times (columns "
            f"{msg.and_([str(i + 1) for i, x in enumerate(header) if x == h])}); give each column a unique name."
            for h, n in counts.items() if n > 1]

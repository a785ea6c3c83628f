"""The second stage: bytes -> text. UTF-8 with or without BOM, UTF-16 with or without BOM, else
Windows-1252/Latin-1 (said in a note); line ends made LF; binary files, HTML pages and JSON refused
with what they look like and what to do."""

from __future__ import annotations

import json

from ..errors import DataError
from .messages import RUNS, Kind

_CONTROL_BYTES = bytes(range(0, 9)) + b"\x0b\x0c" + bytes(range(14, 32)) + b"\x7f"

_MAGIC = ((b"PK\x03\x04", "it looks like a ZIP archive or an Excel workbook (.xlsx)"),
          (b"\xd0\xcf\x11\xe0", "it looks like an old Excel workbook (.xls)"),
          (b"\x1f\x8b", "it looks like a gzip-compressed file; unpack it first"),
          (b"PAR1", "it looks like a Parquet file"),
          (b"\x89PNG", "it looks like a PNG image"),
          (b"%PDF", "it looks like a PDF"),
          (b"SQLite format 3", "it looks like an SQLite database"))


def decode(data: bytes | str, name: str) -> tuple[str, bytes, str | None]:
    """Text of a file, the same text as UTF-8 bytes (BOM stripped, LF line ends) for the parser, and a
    note when the encoding had to be guessed.

    UTF-16 with or without BOM, UTF-8 with or without BOM, else cp1252/latin-1; binary data -> DataError.
    """
    note = None
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        return lf(text), lf(text).encode("utf-8"), None
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
            text = lf(text)
            return text, text.encode("utf-8"), note
    hint = _binary_hint(data)
    if hint is not None or b"\x00" in data:
        raise binary_error(name, hint or "")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if "\r" not in text:
            return text, data.removeprefix(b"\xef\xbb\xbf"), None
        text = lf(text)
        return text, text.encode("utf-8"), None
    control = len(data) - len(data.translate(None, _CONTROL_BYTES))
    undecodable = data.decode("utf-8", errors="replace").count("\ufffd")
    if control > 0.05 * len(data) or undecodable > 0.3 * len(data):
        raise binary_error(name, "")
    try:
        text, encoding = data.decode("cp1252"), "Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "Latin-1 (ISO-8859-1)"
    note = (f"`{name}` is not UTF-8; it was read as {encoding}. Check that names with accents look right, "
            f"or save the file as UTF-8.")
    text = lf(text)
    return text, text.encode("utf-8"), note


def lf(text: str) -> str:
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


def _binary_hint(data: bytes) -> str | None:
    for magic, hint in _MAGIC:
        if data.startswith(magic):
            return "; " + hint
    return None


def binary_error(name: str, hint: str) -> DataError:
    return DataError(f"`{name}` is not a text CSV file (it contains binary data{hint}). "
                     f"Export the table as CSV (comma-separated text) and load that file.")


def not_a_table_problem(name: str, text: str, kind: Kind = RUNS) -> str | None:
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
        return (f"`{name}` is JSON, not a CSV file. Convert it to a table with one row per {kind.row} "
                f"(e.g. pandas.read_json(...).to_csv(...)) and load that file.")
    return None

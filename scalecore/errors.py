"""The error types of scalecore: one per kind of user mistake.

- :class:`DataError` -- the input data is wrong (file, column, row): fix the CSV or the mapping.
- :class:`FitError` -- the data is readable but the requested fit cannot be done
  (too few points, one distinct size, ...): change the family, the exclusions or the data.

A soft problem (a parameter at its bound, failed resamples, ignored exclusions) is not an
exception nor a Python warning: it is carried on the result (``FitResult.warnings``,
``BootstrapResult.warnings``) and shown next to the numbers by every surface.

Both errors subclass :class:`ScaleCoreError`, so a page or the CLI catches exactly one type at its
boundary. They also subclass the matching builtin so callers that expect ``ValueError`` keep working.
"""

from __future__ import annotations


class ScaleCoreError(Exception):
    """Base class of every error a user of scalecore can cause."""


class DataError(ScaleCoreError, ValueError):
    """The input data cannot be used as it is; the message says what, where and what to do."""


class FitError(ScaleCoreError, RuntimeError):
    """A fit cannot be done on this data; the message says why and what would make it possible."""


class NotIdentified(FitError):
    """The runs do not identify the family: refused before (or early in) its bootstrap, with the
    reason and, where one was found, a family they do identify. ``verdict`` is the
    :class:`~scalecore.identifiability.Verdict` (None when the bootstrap stopped on its own)."""

    def __init__(self, message: str, verdict=None):
        super().__init__(message)
        self.verdict = verdict


def format_rows(rows, limit: int = 8) -> str:
    """Human row list for messages: 1-based file rows, e.g. ``"rows 3, 7 and 12"``.

    ``rows`` are line numbers as a user sees them in a spreadsheet (header is row 1).
    """
    rows = [int(r) for r in rows]
    if not rows:
        return "no rows"
    shown = [str(r) for r in rows[:limit]]
    more = len(rows) - len(shown)
    if more:
        return f"rows {', '.join(shown)} and {more} more"
    if len(shown) == 1:
        return f"row {shown[0]}"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"

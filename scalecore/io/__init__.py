"""One reading pipeline for every file scalecore reads (issue 20).

bytes -> text -> dialect -> frame -> numbers -> roles, one small module per stage:

- :mod:`.source`   a path, bytes, a file object, an upload or a DataFrame -> its content; the size limit
- :mod:`.text`     encodings (UTF-8 +-BOM, UTF-16 +-BOM, cp1252/Latin-1 with a note); binary, HTML, JSON
- :mod:`.dialect`  separator (``,`` ``;`` tab ``|``), decimal comma, parser errors named by line
- :mod:`.frame`    the entry, :func:`read_frame`: cells, source rows, notes
- :mod:`.numbers`  "7B", "1.4T", "350M", "6e20", "1,000,000" -> floats; size and metric checks
- :mod:`.roles`    which column is the run id, group, params, tokens, compute, step, metric; units in headers;
                   trackers' names (W&B, MLflow), guessed with a note
- :mod:`.plausibility` a run whose tokens per parameter is wildly out of line, named in a note
- :mod:`.messages` the words: lists of names, rows and values; what a file of each kind needs

:func:`scalecore.load_runs` (a table of runs) and :func:`scalecore.load_curves` (training curves) are
thin layers over it, so both get every hardening.
"""

from __future__ import annotations

from .dialect import MAX_COLUMNS, SEPARATORS
from .frame import RawFrame, read_frame
from .messages import CURVES, RUNS, Kind
from .numbers import METRIC_LIMIT, SIZE_RANGE, Numbers, parse_column, parse_number
from .plausibility import tokens_per_param_note, tokens_per_param_outliers
from .roles import (CURVE_KEYS, LABEL_KEYS, METRIC_ALIASES, ROLE_ALIASES, ROLE_LABELS, ROLES, SIZE_ROLES,
                    STEP_ALIASES, TOKEN_ALIASES, TRACKER_ALIASES, TRACKER_PREFIXES, curve_columns, detect_roles,
                    header_scale)
from .source import DATAFRAME_NAME, MAX_FILE_BYTES, gather

__all__ = [
    "CURVES", "CURVE_KEYS", "DATAFRAME_NAME", "Kind", "LABEL_KEYS", "MAX_COLUMNS", "MAX_FILE_BYTES", "METRIC_ALIASES",
    "METRIC_LIMIT", "Numbers", "ROLES", "ROLE_ALIASES", "ROLE_LABELS", "RUNS", "RawFrame", "SEPARATORS",
    "SIZE_RANGE", "SIZE_ROLES", "STEP_ALIASES", "TOKEN_ALIASES", "TRACKER_ALIASES", "TRACKER_PREFIXES",
    "curve_columns", "detect_roles", "gather", "header_scale", "parse_column", "parse_number", "read_frame",
    "tokens_per_param_note", "tokens_per_param_outliers",
]

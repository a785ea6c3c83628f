"""The one conversion of results to JSON, for the CLI's ``--json``, the report's record, the
app's downloads and saved analyses.

:func:`to_jsonable` turns a result into plain Python types:

- ``dict``/``Mapping`` -> dict with str keys; list, tuple, set, numpy array -> list;
- numpy scalars -> int, float or bool; ``pathlib.Path`` -> str;
- an :class:`~scalecore.uncertainty.Estimate` -> ``{"value", "low", "high", "level",
  "standard_error"}``; any other object with a ``to_dict()`` method (results, plans, scenarios) ->
  its ``to_dict()``, converted in turn; a dataclass without one -> its fields;
- anything else is refused (TypeError), so a new result type is not silently written as a repr.

Non-finite floats, one policy: strict JSON has no NaN or infinity, so ``nonfinite="null"`` (the
default) writes NaN, +inf and -inf as ``null``; ``nonfinite="string"`` keeps the distinction as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (an interval end that is "unbounded" is then
``"Infinity"``, not a missing value).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import PurePath

import numpy as np

from .uncertainty import Estimate

NONFINITE = ("null", "string")
_STRINGS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float(x: float, nonfinite: str):
    if math.isfinite(x):
        return x
    if nonfinite == "null":
        return None
    return _STRINGS["nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")]


def to_jsonable(obj, *, nonfinite: str = "null"):
    """``obj`` as plain JSON types (see the module docstring for the rules and the NaN policy)."""
    if nonfinite not in NONFINITE:
        raise ValueError(f"`nonfinite` must be one of {', '.join(NONFINITE)}; got {nonfinite!r}")

    def conv(o):
        if o is None or isinstance(o, (str, bool)):
            return o
        if isinstance(o, (np.bool_,)):
            return bool(o)
        if isinstance(o, (int, np.integer)):
            return int(o)
        if isinstance(o, (float, np.floating)):
            return _float(float(o), nonfinite)
        if isinstance(o, Estimate):
            return conv(o.to_dict())
        if isinstance(o, Mapping):
            return {str(k): conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple, set, frozenset)):
            return [conv(v) for v in o]
        if isinstance(o, np.ndarray):
            return conv(o.tolist())
        if isinstance(o, np.generic):
            return conv(o.item())
        if isinstance(o, PurePath):
            return str(o)
        if callable(getattr(o, "to_dict", None)):
            return conv(o.to_dict())
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {f.name: conv(getattr(o, f.name)) for f in dataclasses.fields(o)}
        raise TypeError(f"cannot write a {type(o).__name__} as JSON")

    return conv(obj)


def dumps(obj, *, nonfinite: str = "null", indent: int | None = 2, **kwargs) -> str:
    """Strict JSON text of ``obj`` (:func:`to_jsonable`, then ``json.dumps`` with ``allow_nan=False``)."""
    return json.dumps(to_jsonable(obj, nonfinite=nonfinite), indent=indent, allow_nan=False, **kwargs)

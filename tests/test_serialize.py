"""serialize: the one JSON conversion (CLI --json, the report's record, the app's downloads)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from scalecore.serialize import dumps, to_jsonable
from scalecore.uncertainty import Estimate


@dataclass
class WithToDict:
    x: float

    def to_dict(self):
        return {"x": self.x, "twice": np.float32(2 * self.x)}


@dataclass
class Plain:
    a: int
    b: tuple


def test_every_type_the_results_hold():
    obj = {
        1: np.float64(0.5), "i": np.int64(7), "b": np.bool_(True), "arr": np.array([[1.0, np.nan], [np.inf, 2.0]]),
        "est": Estimate(2.0, 1.5, math.inf, math.inf, 0.9), "nested": (WithToDict(1.5), Plain(3, (4, 5))),
        "path": Path("a/b.csv"), "none": None, "set": {3},
    }
    expected = {
        "1": 0.5, "i": 7, "b": True, "arr": [[1.0, None], [None, 2.0]],
        "est": {"value": 2.0, "low": 1.5, "high": None, "level": 0.9, "standard_error": None},
        "nested": [{"x": 1.5, "twice": 3.0}, {"a": 3, "b": [4, 5]}],
        "path": "a/b.csv", "none": None, "set": [3],
    }
    got = to_jsonable(obj)
    assert got == expected
    assert type(got["i"]) is int and type(got["b"]) is bool and type(got["1"]) is float
    assert json.loads(dumps(obj)) == expected


def test_non_finite_as_strings_keeps_the_difference():
    got = to_jsonable([math.nan, math.inf, -math.inf, np.float32("nan"), 1.0], nonfinite="string")
    assert got == ["NaN", "Infinity", "-Infinity", "NaN", 1.0]
    # strict JSON either way: Python's json would write bare NaN, which other parsers refuse
    assert "NaN" not in dumps([math.nan]) and json.loads(dumps([math.nan, math.inf])) == [None, None]
    with pytest.raises(ValueError, match="nonfinite"):
        to_jsonable(1.0, nonfinite="drop")


def test_unknown_types_are_refused_not_written_as_repr():
    with pytest.raises(TypeError, match="cannot write a object as JSON"):
        to_jsonable({"x": object()})


def test_the_three_old_cleaners_agree_now():
    """cli, ui.analysis and the report went three ways; they are one function now."""
    from scalecore import cli
    from ui import analysis

    obj = {"v": np.float64(np.nan), "w": [np.int32(2), np.inf], "e": Estimate(1.0, 0.5, 2.0)}
    assert json.loads(cli.dumps(obj)) == to_jsonable(obj) == analysis._plain(obj)

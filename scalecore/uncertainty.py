"""The vocabulary of uncertainty every result type shares: an :class:`Estimate` (one number with
its interval) and a :class:`Band` (a curve with its interval over a grid).

Defined here, below every module that produces or renders them, so that nothing has to import
:mod:`bootstrap` (or :mod:`budget`) just to name one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Band:
    """A band over a grid: the point prediction, the bootstrap median and the interval."""

    point: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    kind: str
    confidence_level: float


@dataclass(frozen=True)
class Estimate:
    """A derived quantity: its point value (from the best fit) and its percentile interval.

    ``level`` is the confidence level of ``[low, high]`` (NaN where no interval was computed)."""

    value: float
    low: float
    high: float
    standard_error: float = math.nan
    level: float = math.nan

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.value, self.low, self.high)

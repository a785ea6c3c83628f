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


def interval_of(samples, level: float) -> tuple[float, float, float]:
    """(low, high, standard error) of the bootstrap ``samples`` of one quantity at ``level``.

    The one policy for samples that are not finite numbers:

    - NaN is a resample that failed (or a quantity undefined there): left out, as the bootstrap's
      failed resamples are. With fewer than two samples left, everything is NaN.
    - +-inf is an answer (an optimum that runs off to infinite size, a loss never reached): it
      counts in the ordering, so an interval end may be infinite ("unbounded"), and the standard
      error is then infinite too.

    Percentiles interpolate linearly between order statistics (numpy's default), never between a
    finite value and an infinite one.
    """
    v = np.asarray(samples, float).ravel()
    v = v[~np.isnan(v)]
    if v.size < 2:
        return math.nan, math.nan, math.nan
    q = ((1 - level) / 2, (1 + level) / 2)
    if np.all(np.isfinite(v)):
        lo, hi = np.quantile(v, q)
        return float(lo), float(hi), float(np.std(v, ddof=1))
    s = np.sort(v)
    out = []
    for p in q:
        h = (s.size - 1) * p
        i = int(math.floor(h))
        j = min(i + 1, s.size - 1)
        t = h - i
        a, b = s[i], s[j]
        out.append(a if t == 0 or a == b else (b if math.isinf(b) or math.isinf(a) else a + (b - a) * t))
    return float(out[0]), float(out[1]), math.inf


def estimate_of(point: float, samples, level: float) -> Estimate:
    """One quantity: its ``point`` value and the interval of its bootstrap ``samples`` at ``level``
    (:func:`interval_of`'s policy for NaN and infinite samples)."""
    lo, hi, se = interval_of(samples, level)
    return Estimate(float(point), lo, hi, se, float(level))

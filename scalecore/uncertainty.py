"""The vocabulary of uncertainty every result type shares: an :class:`Estimate` (one number with
its interval) and a :class:`Band` (a curve with its interval over a grid).

Defined here, below every module that produces or renders them, so that nothing has to import
:mod:`bootstrap` (or :mod:`budget`) just to name one.

The one policy for bootstrap samples that are not finite numbers (:func:`interval_of`, and so
:func:`estimate_of` and :func:`parameter_estimates`, through :func:`scalecore.stats.percentile_interval`):

- **NaN** is a resample that failed (or a quantity undefined there): it is left out, as the
  bootstrap's failed resamples are; with fewer than two samples left, the interval and the standard
  error are NaN (the value is then shown alone).
- **+-inf** is an answer (an optimum that runs off to infinite size, a loss never reached): it
  counts in the ordering, so an interval end may be infinite (shown "unbounded"), and the standard
  error is then infinite too. A percentile that falls between a finite sample and an infinite one
  is the upper of the two, never an interpolation.

Example (tested in tests/test_stats.py): samples ``[1, 2, 3, NaN, inf]`` at level 0.5 keep
``[1, 2, 3, inf]``; the quartiles sit at positions 0.75 and 2.25 of that order, so the low end is
``1 + 0.75 * (2 - 1) = 1.75`` and the high end, between 3 and inf, is inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .stats import percentile_interval


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

    def to_dict(self) -> dict:
        """The five numbers as floats (NaN and inf kept; :mod:`scalecore.serialize` makes them JSON)."""
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level,
                "standard_error": self.standard_error}

    def text(self, kind: str = "plain") -> str:
        """``"0.348 [0.330, 0.365]"``: :func:`scalecore.formatting.format_estimate` of this estimate."""
        from .formatting import format_estimate

        return format_estimate(self, kind=kind)

    def __str__(self) -> str:
        """The estimate as every surface writes it (``print(est)`` in a notebook); repr keeps the numbers."""
        return self.text()


def interval_of(samples, level: float) -> tuple[float, float, float]:
    """(low, high, standard error) of the bootstrap ``samples`` of one quantity at ``level``.

    The one policy for samples that are not finite numbers:

    - NaN is a resample that failed (or a quantity undefined there): left out, as the bootstrap's
      failed resamples are. With fewer than two samples left, everything is NaN.
    - +-inf is an answer (an optimum that runs off to infinite size, a loss never reached): it
      counts in the ordering, so an interval end may be infinite ("unbounded"), and the standard
      error is then infinite too.

    Percentiles are :func:`scalecore.stats.percentile_interval`'s (numpy's default "linear"
    method), which never interpolates between a finite value and an infinite one.
    """
    v = np.asarray(samples, float).ravel()
    v = v[~np.isnan(v)]
    if v.size < 2:
        return math.nan, math.nan, math.nan
    lo, hi = percentile_interval(v, level)
    se = float(np.std(v, ddof=1)) if np.all(np.isfinite(v)) else math.inf
    return float(lo), float(hi), se


def estimate_of(point: float, samples, level: float) -> Estimate:
    """One quantity: its ``point`` value and the interval of its bootstrap ``samples`` at ``level``
    (:func:`interval_of`'s policy for NaN and infinite samples)."""
    lo, hi, se = interval_of(samples, level)
    return Estimate(float(point), lo, hi, se, float(level))


def parameter_estimates(names, theta, samples, level: float) -> dict[str, Estimate]:
    """One :class:`Estimate` per parameter: ``theta[i]`` (the best fit) with the interval of column
    ``i`` of ``samples`` (resamples x parameters; failed resamples as NaN rows or left out) at
    ``level``, by :func:`interval_of`'s policy."""
    theta = np.asarray(theta, float).ravel()
    samples = np.asarray(samples, float).reshape(-1, len(theta))
    if len(names) != len(theta):
        raise ValueError(f"{len(names)} names for {len(theta)} parameters")
    return {str(n): estimate_of(theta[i], samples[:, i], level) for i, n in enumerate(names)}

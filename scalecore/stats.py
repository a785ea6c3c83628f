"""Percentiles of bootstrap samples, vectorised: the one percentile routine of scalecore.

``np.nanquantile`` along an axis of a 2-D array calls its 1-D routine once per column (through
``apply_along_axis``): 30 ms for the 160 grid points of one band, paid on every new fit or
confidence level. :func:`nanquantile` gives the same numbers (numpy's default "linear" method)
from one sort of the whole array.

Non-finite samples (the policy :func:`scalecore.uncertainty.interval_of` documents): NaN is left
out; +-inf counts in the ordering, and a quantile between a finite value and an infinite one is the
upper of the two (never an interpolation, which numpy turns into NaN or inf - inf).
"""

from __future__ import annotations

import numpy as np


def nanquantile(values, q, axis: int = 0) -> np.ndarray:
    """Quantiles ``q`` of ``values`` along ``axis``, ignoring NaN, as ``np.nanquantile`` (linear).

    Returns shape ``q.shape + the other axes``; an all-NaN slice gives NaN (without a warning).
    Infinite values count (see the module docstring).
    """
    a = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    q = np.asarray(q, dtype=float)
    if np.any((q < 0) | (q > 1)):
        raise ValueError("quantiles must be in [0, 1]")
    missing = np.isnan(a)
    infinite = np.isinf(a).any()
    if not missing.any() and not infinite:
        return np.quantile(a, q, axis=0)
    s = np.sort(a, axis=0)  # NaN sorts last
    count = a.shape[0] - missing.sum(axis=0)
    qs = q.reshape(q.shape + (1,) * (a.ndim - 1))
    last = np.maximum(count - 1, 0)  # index of the largest value present
    pos = qs * last
    below = np.floor(pos).astype(np.intp)
    above = np.minimum(below + 1, last)
    shape = np.broadcast_shapes(below.shape, a.shape[1:])
    lo = np.take_along_axis(s, np.broadcast_to(below, shape).reshape((-1,) + a.shape[1:]), axis=0).reshape(shape)
    hi = np.take_along_axis(s, np.broadcast_to(above, shape).reshape((-1,) + a.shape[1:]), axis=0).reshape(shape)
    t = pos - below
    with np.errstate(invalid="ignore"):
        out = np.where(t >= 0.5, hi - (hi - lo) * (1 - t), lo + (hi - lo) * t)  # numpy's _lerp
    if infinite:
        out = np.where((t == 0) | (lo == hi), lo, np.where(np.isinf(lo) | np.isinf(hi), hi, out))
    return np.where(count > 0, out, np.nan)


def percentile_interval(values, level: float, *, with_median: bool = False) -> tuple[np.ndarray, ...]:
    """The ends of the central ``level`` percentile interval along axis 0, ignoring NaN: (lower,
    upper), or (lower, median, upper) ``with_median``."""
    q = [(1 - level) / 2, 0.5, (1 + level) / 2] if with_median else [(1 - level) / 2, (1 + level) / 2]
    return tuple(nanquantile(values, q))

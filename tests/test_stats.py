"""nanquantile against numpy's own (the reference it replaces)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalecore.stats import nanquantile, percentile_interval


@pytest.mark.parametrize("shape", [(1000, 160), (7, 3), (1000,), (2, 5, 4)])
def test_matches_numpy_with_and_without_nans(shape):
    rng = np.random.default_rng(0)
    a = rng.lognormal(size=shape)
    q = [0.025, 0.5, 0.975]
    np.testing.assert_allclose(nanquantile(a, q), np.nanquantile(a, q, axis=0), rtol=1e-13)
    a[rng.uniform(size=shape) < 0.3] = np.nan
    if len(shape) > 1:
        a[:, 0] = np.nan  # an all-NaN column
        a[: shape[0] - 1, 1] = np.nan  # a column with one value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(a, q, axis=0)
    got = nanquantile(a, q)
    np.testing.assert_allclose(got, expected, rtol=1e-13, equal_nan=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(a, 0.9, axis=0)
    np.testing.assert_allclose(nanquantile(a, 0.9), expected, rtol=1e-13, equal_nan=True)


def test_other_axis_and_bad_quantiles():
    a = np.random.default_rng(1).normal(size=(5, 300))
    np.testing.assert_allclose(nanquantile(a, [0.1, 0.9], axis=1), np.nanquantile(a, [0.1, 0.9], axis=1), rtol=1e-13)
    with pytest.raises(ValueError):
        nanquantile(a, [1.5])


def test_percentile_interval_is_the_central_quantiles():
    a = np.random.default_rng(2).normal(size=(1000, 4))
    lo, hi = percentile_interval(a, 0.9)
    np.testing.assert_allclose([lo, hi], np.quantile(a, [0.05, 0.95], axis=0), rtol=1e-13)
    lo, med, hi = percentile_interval(a, 0.8, with_median=True)
    np.testing.assert_allclose([lo, med, hi], np.quantile(a, [0.1, 0.5, 0.9], axis=0), rtol=1e-13)

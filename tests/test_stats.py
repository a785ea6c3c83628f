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


# ------------------------------------------------------------------------------ non-finite samples (issue 20)


def test_the_non_finite_policy_on_a_hand_computed_example():
    """NaN left out, +inf counted: [1, 2, 3, NaN, inf] at 50% keeps [1, 2, 3, inf]; the quartiles
    sit at positions 3 * 0.25 = 0.75 and 3 * 0.75 = 2.25 of that order: 1 + 0.75 * (2 - 1) = 1.75,
    and between 3 and inf the upper one, inf (numpy interpolates to NaN or inf there)."""
    from scalecore.uncertainty import estimate_of, interval_of

    samples = [3.0, np.nan, 1.0, np.inf, 2.0]
    assert interval_of(samples, 0.5) == (1.75, np.inf, np.inf)
    e = estimate_of(2.0, samples, 0.5)
    assert (e.value, e.low, e.high, e.standard_error, e.level) == (2.0, 1.75, np.inf, np.inf, 0.5)
    # the same through the one percentile routine, on a column beside a finite one
    lo, hi = percentile_interval(np.array([[3.0, 3.0], [np.nan, 4.0], [1.0, 1.0], [np.inf, 5.0], [2.0, 2.0]]), 0.5)
    np.testing.assert_array_equal(lo, [1.75, 2.0])  # second column: positions 1 and 3 of [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(hi, [np.inf, 4.0])
    # -inf counts at the bottom: [-inf, 1, 2, 3] at 50%: position 0.75 is between -inf and 1 (the
    # upper one, 1), position 2.25 is 2 + 0.25 * (3 - 2)
    assert interval_of([2.0, -np.inf, 1.0, 3.0], 0.5)[:2] == (1.0, 2.25)
    # all finite: numpy's own, and the sample standard deviation
    lo, hi, se = interval_of([1.0, 2.0, 4.0, 8.0, np.nan], 0.9)
    assert (lo, hi) == tuple(np.quantile([1.0, 2.0, 4.0, 8.0], [0.05, 0.95]))
    assert se == pytest.approx(np.sqrt(((np.array([1, 2, 4, 8]) - 3.75) ** 2).sum() / 3), rel=1e-15)
    # fewer than two samples left: nothing
    assert all(np.isnan(interval_of([np.nan, 1.0], 0.9)))


def test_parameter_estimates_are_the_bootstrap_s_intervals():
    from scalecore import bootstrap
    from scalecore.uncertainty import parameter_estimates
    from tests.synth import frame, runs_of

    boot = bootstrap(runs_of(frame("offset_power_law", seed=3, noise=0.02)), "offset_power_law", x="params",
                     n_resamples=200, seed=1, confidence_level=0.9)
    samples = boot.samples.copy()
    samples[boot.failed] = np.nan
    est = parameter_estimates(boot.family.param_names, boot.fit.theta, samples, 0.9)
    assert list(est) == list(boot.family.param_names)
    for name, e in est.items():
        assert e.value == boot.fit.params[name]
        assert (e.low, e.high) == pytest.approx(boot.confidence_interval[name], rel=1e-12)
        assert e.standard_error == pytest.approx(boot.standard_error[name], rel=1e-12) and e.level == 0.9
        # and against numpy directly, on the resamples that succeeded
        column = boot.samples[~boot.failed][:, boot.family.param_names.index(name)]
        assert (e.low, e.high) == pytest.approx(tuple(np.quantile(column, [0.05, 0.95])), rel=1e-12)
    with pytest.raises(ValueError):
        parameter_estimates(("a",), [1.0, 2.0], np.zeros((3, 2)), 0.9)

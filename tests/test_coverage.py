"""Statistical honesty: a 95% bootstrap interval covers the true parameter 95% of the time.

Each test draws 200 seeded synthetic datasets from a family with known parameters (tests/synth.py),
bootstraps each once through the public ``scalecore.bootstrap`` (300 resamples) and counts, per
parameter, the datasets whose 95% interval holds the truth. The count must fall in WINDOW.

How the window was chosen (scipy.stats.binom, in a script run once)::

    from scipy.stats import binom
    N, lo, hi = 200, 181, 198
    for p in (0.95, 0.90, 0.99):
        print(p, binom.cdf(hi, N, p) - binom.cdf(lo - 1, N, p))
    # 0.95 -> 0.9969, 0.90 -> 0.4655, 0.99 -> 0.5954

- A calibrated 95% interval lands in 181-198 of 200 with probability 0.9969 (>= 99.5%).
- A 90%-coverage interval lands there with probability 0.4655: it is rejected with probability
  0.5345 (>= 50%). (A 99%-coverage one is rejected with probability 0.4046.)
- No window of 200 datasets does better on both: raising the low end to 182 drops the calibrated
  pass probability to 0.9938; with 100 datasets (the earlier 88-99 of 100) a 90% interval passed
  with probability 0.80.
Each parameter is one such check, so a calibrated family still fails one of its checks on at most
about 0.3% of seed choices per parameter; the seeds are fixed, so the outcome is deterministic.

What the checks found (coverage over 400 datasets each, measured while choosing the designs):
- cases: offset power law E 0.953, alpha 0.965 (30 runs); chinchilla E 0.970, alpha 0.983,
  beta 0.983 (40 runs on 4 IsoFLOP lines): chinchilla's intervals are conservative, inside the
  window's upper end but not calibrated; reported, not hidden by a wider window.
- groups (20 sizes x 4 runs, the runs of a size sharing a shock): E 0.953, alpha 0.958; on the
  same data the cases bootstrap covers E 0.767, alpha 0.757, far below the window (the
  negative control below: the window does reject an interval that is too narrow).
- residuals: E 0.887, alpha 0.875 (offset power law); E 0.877, alpha 0.860, beta 0.892
  (chinchilla). Its standard errors are about 0.85 of the true sampling sd with the Huber loss
  (0.95 with least squares, the sqrt((n-p)/n) of raw residuals); rescaling the residuals by
  sqrt(n/(n-p)) alone brings the offset power law only to 0.90-0.91 (300 datasets): with a loss
  this close to L1 the resampled residuals need more than a scale. The residual bootstrap is not
  calibrated; those tests are marked xfail (strict), so that a fix turns them into failures to
  un-mark.
"""

from __future__ import annotations

import pytest

from scalecore import bootstrap
from tests.synth import TRUTH, frame, runs_of

N_DATASETS = 200
N_RESAMPLES = 300
WINDOW = (181, 198)

CHINCHILLA = {"budgets": (1e19, 1e20, 1e21, 1e22), "per_budget": 10}
OFFSET = {"n_points": 30}
#: 20 sizes, 4 runs each; the runs of one size share a log-normal shock of sd 1% (group_noise) on
#: top of their own 0.5%, so they are correlated and form the groups the ``groups`` method resamples.
GROUPED = {"n_points": 20, "repeats": 4, "group_noise": 0.01, "noise": 0.005}

RESIDUALS_UNCALIBRATED = pytest.mark.xfail(
    strict=True,
    reason="the residuals bootstrap under-covers (86-89% for a 95% interval over 400 datasets): "
    "resampled fitted residuals are narrower than the noise (Huber/near-L1 fit, no rescaling)",
)


def covered(family: str, x, method: str, names, **frame_kw) -> dict[str, int]:
    """Per parameter, how many of the N_DATASETS 95% intervals hold the true value."""
    frame_kw.setdefault("noise", 0.01)
    count = dict.fromkeys(names, 0)
    for seed in range(N_DATASETS):
        runs = runs_of(frame(family, seed=1000 + seed, **frame_kw))
        boot = bootstrap(runs, family, x=x, n_resamples=N_RESAMPLES, seed=seed, method=method)
        assert boot.confidence_level == 0.95
        for name in names:
            lo, hi = boot.confidence_interval[name]
            count[name] += lo <= TRUTH[family][name] <= hi
    print(f"{family} ({method}): 95% intervals covering the truth, of {N_DATASETS}: {count}")
    return count


def assert_calibrated(count: dict[str, int]) -> None:
    lo, hi = WINDOW
    outside = {name: c for name, c in count.items() if not lo <= c <= hi}
    assert not outside, f"coverage outside {lo}-{hi} of {N_DATASETS}: {outside} (all: {count})"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "x", "method", "names", "design"),
    [
        pytest.param("chinchilla", None, "cases", ("alpha", "beta", "E"), CHINCHILLA,
                     id="chinchilla-cases"),
        pytest.param("offset_power_law", "params", "cases", ("alpha", "E"), OFFSET,
                     id="offset_power_law-cases"),
        pytest.param("offset_power_law", "params", "groups", ("alpha", "E"), GROUPED,
                     id="offset_power_law-groups"),
        pytest.param("offset_power_law", "params", "residuals", ("alpha", "E"), OFFSET,
                     id="offset_power_law-residuals", marks=RESIDUALS_UNCALIBRATED),
        pytest.param("chinchilla", None, "residuals", ("alpha", "beta", "E"), CHINCHILLA,
                     id="chinchilla-residuals", marks=RESIDUALS_UNCALIBRATED),
    ],
)
def test_95_percent_interval_covers_the_truth(family, x, method, names, design):
    assert_calibrated(covered(family, x, method, names, **design))


@pytest.mark.slow
def test_window_rejects_the_cases_bootstrap_on_correlated_runs():
    """Negative control: on GROUPED data, resampling runs as if independent gives intervals too
    narrow (about 76% coverage); the window must reject them, or it could not catch anything."""
    count = covered("offset_power_law", "params", "cases", ("alpha", "E"), **GROUPED)
    assert all(c < WINDOW[0] for c in count.values()), count

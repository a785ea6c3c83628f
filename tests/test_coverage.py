"""Statistical honesty: the 95% bootstrap interval of alpha covers the truth about 95% of the time.

100 seeded synthetic datasets per family (noise: log-normal, sd 1%), one bootstrap each. With 100
Bernoulli(0.95) trials, 88-99 covered has probability > 99.5% for a calibrated interval.
"""

from __future__ import annotations

import pytest

from scalecore import bootstrap
from tests.synth import TRUTH, runs_of, frame

N_DATASETS = 100


def coverage(family: str, x, n_resamples: int, **frame_kw) -> int:
    covered = 0
    for seed in range(N_DATASETS):
        runs = runs_of(frame(family, seed=1000 + seed, noise=0.01, **frame_kw))
        boot = bootstrap(runs, family, x=x, n_resamples=n_resamples, seed=seed)
        lo, hi = boot.confidence_interval["alpha"]
        covered += lo <= TRUTH[family]["alpha"] <= hi
    return covered


@pytest.mark.slow
def test_chinchilla_alpha_coverage():
    covered = coverage("chinchilla", None, 400, budgets=(1e19, 1e20, 1e21, 1e22), per_budget=10)
    print(f"chinchilla: 95% interval of alpha covered the truth in {covered}/{N_DATASETS} datasets")
    assert 88 <= covered <= 99


@pytest.mark.slow
def test_offset_power_law_alpha_coverage():
    covered = coverage("offset_power_law", "params", 400, n_points=30)
    print(f"offset_power_law: 95% interval of alpha covered the truth in {covered}/{N_DATASETS} datasets")
    assert 88 <= covered <= 99

"""The fit against Hoffmann et al.'s full 4,500-start L-BFGS-B grid on the Chinchilla-like sample.

Issue bar: the fit reaches an objective at least as low as the best of the grid, much faster.
The grid takes about a minute; it runs on every `make test` (marked slow).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scalecore import load_runs
from scalecore.fitting import fit_problem, prepare
from scalecore.reference import hoffmann_grid, hoffmann_grid_starts

SAMPLE = Path(__file__).resolve().parents[1] / "sample_runs" / "chinchilla_like.csv"


def test_grid_is_hoffmanns():
    starts = hoffmann_grid_starts()
    assert starts.shape == (4500, 5)
    assert sorted(set(starts[:, 3])) == [0.0, 0.5, 1.0, 1.5, 2.0]  # alpha
    assert sorted(set(starts[:, 0])) == [-1.0, -0.5, 0.0, 0.5, 1.0]  # e
    assert sorted(set(starts[:, 1])) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]  # a


@pytest.mark.slow
def test_fit_is_at_least_as_good_as_the_full_grid():
    problem = prepare(load_runs(SAMPLE), "chinchilla")
    t0 = time.perf_counter()
    result = fit_problem(problem)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, grid_best, objectives = hoffmann_grid(problem.inputs, problem.target)
    t_grid = time.perf_counter() - t0
    print(
        f"\nchinchilla fit: {t_fit:.3f} s, objective {result.objective:.10g}; "
        f"Hoffmann grid (4,500 L-BFGS-B starts): {t_grid:.1f} s, best {grid_best:.10g}, "
        f"ratio {t_grid / t_fit:.0f}x"
    )
    assert result.objective <= grid_best * (1 + 1e-10)

"""Benchmark: one chinchilla fit against Hoffmann et al.'s 4,500-start L-BFGS-B grid, same run.

Prints: case, fit median time and objective, grid time and best objective, and the ratio.
``--grid-every K`` times every K-th grid start and scales the time (the starts are independent);
the default runs the full grid.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import load_runs  # noqa: E402
from scalecore.fitting import fit_problem, prepare  # noqa: E402
from scalecore.reference import hoffmann_grid, hoffmann_grid_starts  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "sample_runs" / "chinchilla_like.csv"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid-every", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    problem = prepare(load_runs(SAMPLE), "chinchilla")
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = fit_problem(problem)
        times.append(time.perf_counter() - t0)
    fast = statistics.median(times)
    starts = hoffmann_grid_starts()[:: args.grid_every]
    t0 = time.perf_counter()
    _, grid_best, _ = hoffmann_grid(problem.inputs, problem.target, starts=starts)
    grid_time = (time.perf_counter() - t0) * args.grid_every
    print(
        f"chinchilla fit ({problem.n} runs): median {fast:.3f}s objective {result.objective:.10g} | "
        f"Hoffmann grid ({len(starts)} of 4500 starts timed): {grid_time:.1f}s best {grid_best:.10g} | "
        f"ratio {grid_time / fast:.0f}x | fit <= grid: {result.objective <= grid_best * (1 + 1e-10)}"
    )


if __name__ == "__main__":
    main()

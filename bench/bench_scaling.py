"""Benchmark: how the bootstrap's cost grows with runs and resamples.

Chinchilla's law (Besiroglu et al. 2024's constants) on synthetic IsoFLOP grids of 50, 240, 1,000
and 10,000 runs (log-normal noise, sd 1%), bootstrapped with 200, 1,000 and 5,000 resamples. Each
line prints the time (median of --repeats), the time per resample-run in microseconds, and that
per-unit time as a ratio to the 240-run, 1,000-resample case of the same run: a bootstrap that
scales linearly in runs x resamples prints ratios near 1; a regression in complexity shows as a
ratio that grows along a row or a column. The last column, solver iterations per resample (all
starts), tells more work from dearer work. Combinations over the bootstrap's cap on resamples x
runs (scalecore.bootstrap.MAX_RESAMPLED_RUNS) are said, not run.

Usage: python bench/bench_scaling.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import fit, load_runs  # noqa: E402
from scalecore.bootstrap import MAX_RESAMPLED_RUNS  # noqa: E402

_bootstrap_module = sys.modules["scalecore.bootstrap"]
_solve = _bootstrap_module.solve
ITERATIONS = [0]


def _counted_solve(*args, **kwargs):
    """The bootstrap's solver, counting its iterations: the work, apart from what each one costs."""
    sol = _solve(*args, **kwargs)
    ITERATIONS[0] += int(sol.n_iter.sum())
    return sol


_bootstrap_module.solve = _counted_solve

EPOCH = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
RUNS = (50, 240, 1000, 10_000)
RESAMPLES = (200, 1000, 5000)
REFERENCE = (240, 1000)


def runs_of(n: int, seed: int = 0):
    """``n`` runs on IsoFLOP lines of 6 budgets (sizes spread over 24x around each optimum)."""
    rng = np.random.default_rng(seed)
    budgets = np.geomspace(6e18, 1e21, 6)
    c = budgets[np.arange(n) % budgets.size]
    n_opt = 0.6 * (c / 6) ** 0.5
    params = n_opt * np.exp(rng.uniform(np.log(1 / 12), np.log(12), n))
    tokens = c / (6 * params)
    p = EPOCH
    loss = p["E"] + p["A"] / params ** p["alpha"] + p["B"] / tokens ** p["beta"]
    loss *= np.exp(0.01 * rng.standard_normal(n))
    frame = pd.DataFrame({"run_id": [f"r{i:05d}" for i in range(n)], "params": params, "tokens": tokens,
                          "loss": loss})
    return load_runs(frame)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    fits = {n: fit(runs_of(n), "chinchilla") for n in RUNS}
    table = {}
    for n in RUNS:
        for b in RESAMPLES:
            if n * b > MAX_RESAMPLED_RUNS:
                table[n, b] = None
                continue
            times = []
            ITERATIONS[0] = 0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                boot = fits[n].bootstrap(b, seed=0)
                times.append(time.perf_counter() - t0)
            table[n, b] = (statistics.median(times), boot.n_failed, ITERATIONS[0] / (args.repeats * b))
    ref_s = table[REFERENCE][0] / (REFERENCE[0] * REFERENCE[1])
    print(f"{'runs':>6} {'resamples':>9} {'seconds':>8} {'us/resample-run':>16} {'ratio':>6} {'failed':>6} "
          f"{'iters/resample':>14}")
    for (n, b), value in table.items():
        if value is None:
            print(f"{n:>6} {b:>9}   over the cap of {MAX_RESAMPLED_RUNS:,} resampled runs: refused, not run")
            continue
        seconds, failed, iters = value
        per = seconds / (n * b)
        print(f"{n:>6} {b:>9} {seconds:>8.3f} {per * 1e6:>16.3f} {per / ref_s:>6.2f} {failed:>6} {iters:>14.2f}")


if __name__ == "__main__":
    main()

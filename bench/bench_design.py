"""Benchmark: ranking a 20x20 grid of candidate runs (scalecore.design) on the bundled sample.

Times, in the same process, on sample_runs/chinchilla_like.csv with Chinchilla's law:

- the reference: one plain fit and a 1,000-resample bootstrap (what the ranking starts from);
- the ranking of a 20x20 N-D grid (the cells within the compute limit) for N* at 1e24 FLOPs and
  for the loss of a planned 70B, 1.4T run, given the bootstrap (the app caches the bootstrap, so
  this is what choosing a target or a compute limit costs);
- one hypothetical run added (a refit and the same bootstrap: what a click on a candidate costs).

Prints seconds (median of repeats) and each one's ratio to the reference. The issue's bar: the
ranking in at most 3 s.

Usage: python bench/bench_design.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import fit, load_runs  # noqa: E402
from scalecore import design  # noqa: E402

from bench_curves import timed  # noqa: E402  (median of repeats; bench/ is the script's folder)

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")

    def fit_and_boot():
        return fit(runs, "chinchilla").bootstrap(1000, seed=0)

    ref, boot = timed(fit_and_boot, args.repeats)
    print(f"reference: fit + 1,000-resample bootstrap, {boot.fit.n_points} runs: {ref:.3f} s")
    for target in (design.Target.optimum(1e24), design.Target.planned(70e9, 1.4e12)):
        secs, ranking = timed(lambda: design.rank_candidates(boot, target, grid=20), args.repeats)
        print(f"rank 20x20 grid ({len(ranking.table)} cells within {ranking.max_compute:.3g} FLOPs), "
              f"{target.label}: {secs:.4f} s ({secs / ref:.3f}x the reference; bar 3 s)")
    import numpy as np

    nn, dd = np.meshgrid(np.geomspace(1e7, 1e11, 20), np.geomspace(1e8, 1e13, 20), indexing="ij")
    secs, ranking400 = timed(lambda: design.rank_candidates(boot, target, candidates=(nn.ravel(), dd.ravel())),
                             args.repeats)
    print(f"rank all 400 cells of a 20x20 grid (no compute limit), {target.label}: {secs:.4f} s "
          f"({secs / ref:.3f}x the reference; bar 3 s)")
    top = ranking.top
    secs, _ = timed(lambda: design.with_hypothetical(boot, [(top["params"], top["tokens"])], target), args.repeats)
    print(f"one hypothetical run added (refit + bootstrap): {secs:.3f} s ({secs / ref:.2f}x the reference)")
    # the whole answer from the data, as a cold CLI call: fit, bootstrap and rank
    secs, _ = timed(lambda: design.rank_candidates(fit_and_boot(), target, grid=20), args.repeats)
    print(f"fit + bootstrap + rank, from the data: {secs:.3f} s ({secs / ref:.2f}x the reference; bar 3 s)")


if __name__ == "__main__":
    main()

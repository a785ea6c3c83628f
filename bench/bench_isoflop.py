"""Benchmark: IsoFLOP budgets found from the data, and one analysis per group, against the analysis itself.

For each file, in the same process (median of repeats):

- the Approach 2 analysis with 1,000 resamples, budgets as the page finds them (the reference);
- finding the budgets alone (scalecore.isoflop.find_budgets: the tolerance from the data's gaps);

and prints: file, runs, budgets, tolerance, analysis_s, budgets_s, budgets/analysis. For the
configurations file it also times one analysis per config (by="config") against the pooled one.
The last line times find_budgets on 100,000 runs against np.sort of the same values.

Usage: python bench/bench_isoflop.py [--resamples 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import load_runs  # noqa: E402
from scalecore.isoflop import find_budgets, isoflop_profiles  # noqa: E402

from bench_curves import timed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "fixtures" / "real"
FILES = [("isoflop_offcentre", ROOT / "sample_runs" / "isoflop_offcentre.csv", {}),
         ("chinchilla_like", ROOT / "sample_runs" / "chinchilla_like.csv", {}),
         ("wandb_isoflop_runs", REAL / "wandb_isoflop_runs.csv",
          {"mapping": {"params": "parameter_count", "tokens": "throughput/total_tokens"}}),
         ("isoflop_configs", REAL / "isoflop_configs.csv", {})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"{'file':<20} {'runs':>5} {'budgets':>7} {'tolerance':>9} {'analysis_s':>10} {'budgets_s':>9} "
          f"{'budgets/analysis':>16}")
    for label, path, kw in FILES:
        runs = load_runs(path, **kw)
        t_all, res = timed(lambda: isoflop_profiles(runs, n_resamples=args.resamples, seed=0), args.repeats)
        t_b, found = timed(lambda: find_budgets(runs.values("compute")), args.repeats)
        print(f"{label:<20} {len(runs):>5} {len(found.values):>7} {found.tolerance:>9.3f} {t_all:>10.3f} "
              f"{t_b:>9.4f} {t_b / t_all:>16.4f}")
        if label == "isoflop_configs":
            t_g, groups = timed(lambda: isoflop_profiles(runs, n_resamples=args.resamples, seed=0, by="config"),
                                args.repeats)
            print(f"{'  by config':<20} {len(runs):>5} {len(groups):>7} groups {t_g:>10.3f} s; per group / pooled "
                  f"{t_g / t_all:.2f}")
    rng = np.random.default_rng(0)
    budgets = np.geomspace(1e17, 1e23, 40)
    c = np.repeat(budgets, 2500) * np.exp(rng.uniform(-0.1, 0.1, 100_000))
    t_sort, _ = timed(lambda: np.sort(c), args.repeats)
    t_find, found = timed(lambda: find_budgets(c), args.repeats)
    print(f"find_budgets on 100,000 runs ({len(found.values)} budgets found of 40): {t_find:.4f} s; "
          f"np.sort of the same {t_sort:.4f} s; ratio {t_find / t_sort:.1f}")


if __name__ == "__main__":
    main()

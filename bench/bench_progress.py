"""Benchmark: what the bootstrap's progress callback costs (issue 22).

The same bootstrap (1,000 resamples, seed 0) timed alternately without a callback (the reference)
and inside ``solver.reporting`` with a callback that records its last count, as the Explore page's
does; median of the repeats, and the ratio with/without. Also prints how many times the callback
was called. Usage: python bench/bench_progress.py [--repeats 5] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import fit, load_runs  # noqa: E402
from scalecore.solver import reporting  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = [("chinchilla_like", "chinchilla"), ("kaplan_like", "offset_power_law"),
         ("compute_saturating", "offset_power_law")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()
    print(f"{'dataset':<20} {'family':<22} {'plain_s':>8} {'progress_s':>10} {'ratio':>6} {'calls':>6}")
    for data, family in CASES:
        f = fit(load_runs(ROOT / "sample_runs" / f"{data}.csv"), family)
        plain, with_cb, calls = [], [], [0]
        last = [0]

        def cb(done, total):
            last[0] = done
            calls[0] += 1

        for _ in range(args.repeats):
            t0 = time.perf_counter()
            f.bootstrap(args.resamples, seed=0)
            plain.append(time.perf_counter() - t0)
            calls[0] = 0
            t0 = time.perf_counter()
            with reporting(cb):
                f.bootstrap(args.resamples, seed=0)
            with_cb.append(time.perf_counter() - t0)
        p, w = statistics.median(plain), statistics.median(with_cb)
        print(f"{data:<20} {family:<22} {p:8.3f} {w:10.3f} {w / p:6.3f} {calls[0]:6d}")


if __name__ == "__main__":
    main()

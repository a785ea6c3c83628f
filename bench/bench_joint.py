"""Benchmark: the joint fit of two groups (shared exponent, 1,000 joint resamples) against the
separate comparison (each group fitted and bootstrapped on its own, 1,000 resamples each), timed in
the same run on sample_runs/architectures_crossover.csv with the saturating power law against compute.

Prints one line per case, the median of ``--repeats`` runs, and its ratio to the separate compare:
  case  median_s  ratio_to_compare
The joint fit is timed with the difference test (``--null`` draws of its null distribution, each
refitted shared and separate) and without it (``shared="none"``: no test), so the test's cost shows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import load_runs  # noqa: E402
from scalecore.comparison import compare  # noqa: E402
from scalecore.joint import joint_fit  # noqa: E402

CSV = Path(__file__).resolve().parents[1] / "sample_runs" / "architectures_crossover.csv"


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--null", type=int, default=999)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    runs = load_runs(CSV)
    common = dict(by="arch", x="compute", n_resamples=args.resamples, seed=0)
    ref, comp = median_time(lambda: compare(runs, "offset_power_law", **common), args.repeats)
    print(f"{'case':<52} {'median_s':>9} {'ratio':>7}")
    print(f"{'separate compare (2 bootstraps of ' + str(args.resamples) + ')':<52} {ref:9.3f} {1.0:7.2f}")
    cases = [
        ("joint, shared alpha, with the test (" + str(args.null) + " null draws)", dict(shared="alpha", n_null=args.null)),
        ("joint, shared E, with the test", dict(shared="E", n_null=args.null)),
        ("joint, nothing shared (no test)", dict(shared="none")),
    ]
    for name, kw in cases:
        t, jf = median_time(lambda: joint_fit(runs, "offset_power_law", **common, **kw), args.repeats)
        print(f"{name:<52} {t:9.3f} {t / ref:7.2f}")
    jf = joint_fit(runs, "offset_power_law", shared="alpha", n_null=args.null, **common)
    print()
    print(repr(jf))
    print(f"separate compare, for reference: {comp!r}")


if __name__ == "__main__":
    main()

"""Benchmark: the whole sensitivity panel against one plain fit + bootstrap, on the bundled
chinchilla_like sample, in the same process.

The reference is what Explore computes for one family (a fit and its bootstrap at the panel's
resample count, seed 0); the panel refits and bootstraps once per alternative (FLOPs definitions
with a transformer config, Huber δ 1e-4 ... 1e-1 and least squares, the fit range, E fixed), so
its ratio to the reference is about the number of refitted rows. Each is the median of
``--repeats`` runs. Prints one line per setting and the ratio.

Usage: python bench/bench_sensitivity.py [--resamples 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import FitSpec, Settings, fit, load_runs  # noqa: E402
from scalecore.flops import TransformerConfig  # noqa: E402
from scalecore.sensitivity import sensitivity  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = TransformerConfig(n_layers=80, d_model=8192, n_heads=64, n_ctx=2048, vocab=32000)


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")
    spec = FitSpec("chinchilla")
    settings = Settings(seed=0)
    B = args.resamples
    ref = median_seconds(lambda: fit(runs, spec).bootstrap(B, seed=0), args.repeats)
    rows = {}

    def panel():
        rows["n"] = len(sensitivity(runs, spec, 1e24, settings=settings, n_resamples=B, config=CONFIG).rows)

    whole = median_seconds(panel, args.repeats)
    print(f"one fit + bootstrap ({B} resamples):          {ref:7.3f} s")
    print(f"sensitivity panel ({rows['n']} alternatives, {B} each): {whole:7.3f} s")
    print(f"ratio panel / one fit+bootstrap: {whole / ref:.1f}x")


if __name__ == "__main__":
    main()

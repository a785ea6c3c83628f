"""Benchmark: Approach 1 on a million-row curves file and Approach 2's bootstrap, each against a
plain reference timed in the same run.

- load: ``load_curves`` (detection, parsing, validation, sorting, FLOPs) against a bare
  ``pandas.read_csv`` of the same bytes (the floor any loader pays);
- envelope: ``scalecore.curves.envelope`` (one global searchsorted) against a pandas groupby loop
  with ``np.interp`` per run (the obvious implementation); both must give the same envelope;
- isoflop: ``isoflop_profiles`` with 1000 resamples (all parabolas of all resamples batched)
  against a loop over resamples and budgets running the same IRLS with ``np.linalg.lstsq``,
  timed on ``--reference`` resamples and scaled to 1000.

Prints one line per case:  case  size  fast_median_s  reference_s  ratio  check
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import load_runs  # noqa: E402
from scalecore.curves import envelope, load_curves  # noqa: E402
from scalecore.isoflop import HUBER_C, isoflop_profiles  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def million_rows(runs: int = 40, per: int = 25_000, seed: int = 0) -> bytes:
    """Long-format curves: ``runs`` model sizes x ``per`` logged steps, Chinchilla-like loss, 1% noise."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(1e7, 1e10, runs), per)
    step = np.tile(np.arange(1, per + 1), runs)
    loss = (1.8172 + 482.01 / n**0.3478 + 2085.43 / (step * 4096.0) ** 0.3658) * np.exp(0.01 * rng.standard_normal(len(n)))
    df = pd.DataFrame({"run_id": np.repeat([f"run-{i:03d}" for i in range(runs)], per), "params": n, "step": step,
                       "loss": np.round(loss, 6)})
    return df.to_csv(index=False).encode()


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def reference_envelope(df: pd.DataFrame, tokens_per_step: float, grid: np.ndarray):
    best = np.full(len(grid), np.inf)
    who = np.full(len(grid), "", dtype=object)
    for run, g in df.groupby("run_id", sort=False):
        g = g.sort_values("step")
        x = np.log(6.0 * g["params"].to_numpy() * g["step"].to_numpy() * tokens_per_step)
        y = np.log(g["loss"].to_numpy())
        inside = (grid >= x[0]) & (grid <= x[-1])
        v = np.where(inside, np.interp(grid, x, y), np.inf)
        better = v < best
        best[better], who[better] = v[better], run
    return np.exp(best), who


def reference_isoflop(runs, n_resamples: int, seed: int = 0) -> np.ndarray:
    """The same robust parabolas and frontier, one resample and one budget at a time."""
    n, c, y = runs.values("params"), runs.values("compute"), runs.values(runs.default_metric)
    budgets = np.unique(np.round(np.log(c), 3))
    members = [np.flatnonzero(np.round(np.log(c), 3) == b) for b in budgets]
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    for b in range(n_resamples):
        xs, ys = [], []
        for m in members:
            pick = m[rng.integers(0, len(m), len(m))]
            ln = np.log(n[pick])
            centre, scale = 0.5 * (ln.min() + ln.max()), 0.5 * (ln.max() - ln.min())
            v = (ln - centre) / scale
            X = np.column_stack([np.ones_like(v), v, v * v])
            t = np.log(y[pick])
            w = np.ones_like(v)
            for _ in range(30):
                coef = np.linalg.lstsq(X * np.sqrt(w)[:, None], t * np.sqrt(w), rcond=None)[0]
                r = np.abs(t - X @ coef)
                s = max(1.4826 * np.median(r), 1e-9)
                w = np.minimum(1.0, HUBER_C * s / np.maximum(r, 1e-300))
            if coef[2] > 0:
                xs.append(np.log(np.exp(np.mean(np.log(c[m])))))
                ys.append(centre - coef[1] / (2 * coef[2]) * scale)
        out[b] = np.polyfit(xs, ys, 1)[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", type=int, default=100, help="resamples of the isoflop loop actually timed")
    args = parser.parse_args()
    print(f"{'case':<10} {'size':>12} {'fast_median_s':>14} {'reference_s':>12} {'ratio':>8}  check")

    data = million_rows()
    fast, curves = timed(lambda: load_curves(data, tokens_per_step=4096), args.repeats)
    ref, _ = timed(lambda: pd.read_csv(io.BytesIO(data)), args.repeats)
    print(f"{'load':<10} {len(curves):>12,} {fast:>14.3f} {ref:>12.3f} {fast / ref:>7.2f}x  "
          f"(load_curves / bare read_csv; {len(data) / 1e6:.0f} MB, {len(curves.runs)} runs)")

    fast, env = timed(lambda: envelope(curves, n_grid=400), args.repeats)
    grid = np.log(env.compute)
    frame = pd.read_csv(io.BytesIO(data))  # read outside the timing: only the envelope is compared
    ref, (ref_loss, ref_who) = timed(lambda: reference_envelope(frame, 4096, grid), args.repeats)
    same = np.allclose(env.loss, ref_loss, rtol=1e-12) and np.array_equal(env.run_ids.astype(object), ref_who)
    print(f"{'envelope':<10} {len(curves):>12,} {fast:>14.3f} {ref:>12.3f} {ref / fast:>7.1f}x  "
          f"same envelope as the groupby loop: {same}")

    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")
    fast, res = timed(lambda: isoflop_profiles(runs, n_resamples=1000, seed=0), args.repeats)
    t0 = time.perf_counter()
    loop = reference_isoflop(runs, args.reference)
    ref = (time.perf_counter() - t0) * 1000 / args.reference
    ci = res.confidence_interval["a"]
    lo, hi = np.quantile(loop, [0.025, 0.975])
    print(f"{'isoflop':<10} {'1000 resamp.':>12} {fast:>14.3f} {ref:>12.3f} {ref / fast:>7.1f}x  "
          f"a in [{ci[0]:.3f}, {ci[1]:.3f}]; loop's {args.reference} resamples [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()

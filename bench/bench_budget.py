"""Benchmark: the Budget answers added for issues 21-22, against references timed in the same run.

- data_constrained_optimal (N and D re-optimised under a unique-token limit, Muennighoff et al.
  2023) over a law with 2,000 parameter samples, vectorised, against the same minimisation done
  row by row with scipy.optimize.minimize_scalar (the reference: ratio = vectorised / reference);
  the largest relative difference in N* between the two is printed too.
- compare_approaches (Approach 2's IsoFLOP frontier beside Approach 3's law at one budget) against
  compute_optimal alone on the same law (ratio: what the comparison adds to the plan).
- isoflop_profiles on sample_runs/isoflop_offcentre.csv with 1,000 resamples (what the page runs
  once per dataset and settings before the comparison; cached after that).

Usage: python bench/bench_budget.py [--samples 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import budget, load_runs  # noqa: E402
from scalecore.budget import Law  # noqa: E402
from scalecore.isoflop import isoflop_profiles  # noqa: E402

from bench_curves import timed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def reference_rows(law: Law, c: float, u: float, u_n: np.ndarray) -> np.ndarray:
    """N* of every row by scipy's bounded minimiser on the effective-data law, one row at a time."""
    from scipy.optimize import minimize_scalar

    out = np.empty(len(law.thetas))
    for i, theta in enumerate(law.thetas):
        E, A, B, al, be = theta
        g = (al * A / (be * B)) ** (1 / (al + be))
        n_star = g * (c / 6) ** (be / (al + be))

        def loss(log_n, E=E, A=A, B=B, al=al, be=be, un=u_n[i]):
            n = math.exp(log_n)
            d = c / (6 * n)
            ne = budget.effective_params(n, un)
            de = budget.effective_tokens(d, u)
            return E + A / ne**al + B / de**be

        res = minimize_scalar(loss, bounds=(math.log(n_star) - 9.2, math.log(n_star) + 9.2), method="bounded",
                              options={"xatol": 1e-9})
        out[i] = math.exp(res.x)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    law = Law.preset("besiroglu2024", n_samples=args.samples, seed=0)
    c = 1e24
    u = budget.compute_optimal(law, c)["tokens"].value / 10
    from scalecore.budget.planning import _unique_params_rows

    u_n = _unique_params_rows(law, u, 6.0)
    t_vec, dc = timed(lambda: budget.data_constrained_optimal(law, c, u), args.repeats)
    t_ref, ref = timed(lambda: reference_rows(law, c, u, u_n), 1)
    from scalecore.budget.planning import _optimum_rows

    free = _optimum_rows(law, c, 6.0)["tokens"] <= u
    rows = budget.data_constrained_optimal(law, c, u)  # the point only is an Estimate; compare the point
    diff = abs(rows["params"].value / ref[0] - 1)
    print(f"data_constrained_optimal  rows={len(law.thetas):5d}  vectorised_s={t_vec:.4f}  scipy_rows_s={t_ref:.3f}  "
          f"ratio={t_vec / t_ref:.4f}  point_N_rel_diff={diff:.1e}  rows_unconstrained={int(free.sum())}  "
          f"N*={budget.format_answer(dc['params'], 'count')}")

    path = ROOT / "sample_runs" / "isoflop_offcentre.csv"
    runs = load_runs([path.read_bytes()], names=[path.name])
    t_iso, iso = timed(lambda: isoflop_profiles(runs, y="loss", n_resamples=1000, seed=0), args.repeats)
    t_plan, _ = timed(lambda: budget.compute_optimal(law, 3.8e25), args.repeats)
    t_cmp, r = timed(lambda: budget.compare_approaches(law, iso, 3.8e25), args.repeats)
    print(f"compare_approaches        rows={len(law.thetas):5d}  compare_s={t_cmp:.4f}  compute_optimal_s={t_plan:.4f}  "
          f"ratio={t_cmp / t_plan:.2f}  isoflop_1000_s={t_iso:.3f}")
    print(f"  {r.sentence}")


if __name__ == "__main__":
    main()

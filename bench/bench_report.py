"""Benchmark: the one-file HTML report of an analysis with two families (Chinchilla and Kaplan on
the bundled Chinchilla-like sample, 1,000 resamples, one exclusion, a target and two scenarios).

Times, in the same process (median of repeats):

- the reference: the two bootstraps the report renders (what any surface pays first);
- report.render with those results (every section: formulas, fit quality, the fit, residual and
  compute-optimal plots, predictions, scenarios, settings);
- its two newest figures alone (residual_figure, compute_optimal_figure);

and prints each time, its ratio to the reference and the report's size. The bar (README): at most
1.5 MB and 2 s for the whole `python -m scalecore report` command.

Usage: python bench/bench_report.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import bootstrap, load_runs, report  # noqa: E402
from scalecore.store import Analysis, DataFile, Settings  # noqa: E402

from bench_curves import timed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_runs" / "chinchilla_like.csv"
SCENARIOS = (
    {"name": "1e24", "inputs": {"compute": 1e24}, "answers": {
        "params_opt": {"value": 8.9e10, "low": 7.7e10, "high": 1.03e11},
        "cost": {"value": 1.843e6, "low": None, "high": None}}, "interval": "95% bootstrap percentile interval"},
    {"name": "1e25", "inputs": {"compute": 1e25}, "answers": {
        "params_opt": {"value": 2.0e11, "low": 1.7e11, "high": 2.4e11}}, "interval": "95% bootstrap percentile interval"},
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = SAMPLE.read_bytes()
    runs = load_runs(data)
    exclude = ["iso1e19-n17"]
    a = Analysis(title="bench", files=(DataFile(SAMPLE.name, data),), families=("chinchilla", "kaplan"),
                 settings=Settings(x="compute", n_resamples=1000, seed=0, target=1e24),
                 exclusions={exclude[0]: "diverged"}, scenarios=SCENARIOS)

    def fits():
        return {f: bootstrap(runs, f, exclude=exclude, n_resamples=1000, seed=0) for f in a.families}

    t_ref, results = timed(fits, args.repeats)
    t_render, text = timed(lambda: report.render(a, results=results, errors={}, runs=runs), args.repeats)
    t_resid, _ = timed(lambda: report.residual_figure(a, runs, results), args.repeats)
    t_opt, _ = timed(lambda: report.compute_optimal_figure(results, runs, runs.flops_per_token_param), args.repeats)
    size = len(text.encode())
    print(f"{'what':<44} {'seconds':>8} {'/ bootstraps':>12}")
    print(f"{'two bootstraps, 1,000 resamples (reference)':<44} {t_ref:>8.3f} {1.0:>12.2f}")
    print(f"{'report.render, every section':<44} {t_render:>8.3f} {t_render / t_ref:>12.2f}")
    print(f"{'  residual figure':<44} {t_resid:>8.3f} {t_resid / t_ref:>12.2f}")
    print(f"{'  compute-optimal figure (N*, D* vs C)':<44} {t_opt:>8.3f} {t_opt / t_ref:>12.2f}")
    print(f"report size {size / 1e6:.2f} MB (bar 1.5 MB): {'ok' if size <= 1_500_000 else 'OVER'}")


if __name__ == "__main__":
    main()

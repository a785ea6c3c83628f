"""Benchmark: what issue 22's figure changes cost a rerun of Explore (figures are rebuilt on every rerun).

On the bundled Chinchilla-like sweep (243 runs, Chinchilla fitted with 1,000 resamples), it times
the median of repeats, in the same process, of:

- the reference: the main figure with the runs in one dark colour, no hover text through
  formatting beyond the runs' own, no IsoFLOP slices (``plain``);
- the same figure with the runs coloured by compute budget (``budget``), then with the fitted law
  along each budget's IsoFLOP line as well (``budget + slices``), and by group (``group``);
- ``run_points`` with and without a colouring; the compute-optimal bands over 80 budgets and
  their figure; the contour map's figure.

and prints one row each: what, ms, ratio to the reference.

Usage: python bench/bench_plots.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import fit, load_runs, plots  # noqa: E402
from ui import analysis  # noqa: E402
from ui.widgets import run_points  # noqa: E402

from bench_curves import timed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    n = ap.parse_args().repeats
    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")
    result = fit(runs, "chinchilla")
    boot = result.bootstrap(1000, seed=0)
    c = analysis.curve(boot, "params", *analysis.plot_range(runs, "params", 7e10))
    spec = plots.CurveSpec(name="chinchilla", label="Chinchilla", x=c.x, y=c.point, lower=c.lower, upper=c.upper,
                           x_kind="count", x_title="N", y_title="loss")
    plain = run_points(runs, "params", "loss", {})
    by_budget = run_points(runs, "params", "loss", {}, color_by="budget")
    by_group = run_points(runs, "params", "loss", {}, color_by="group")
    slices = analysis.isoflop_slices(result, runs, analysis.isoflop_budgets(runs))

    def figure(points, sl=()):
        return lambda: plots.fit_figure(points, [spec], x_title="model size N (parameters)", y_title="loss",
                                        slices=sl)

    ref, _ = timed(figure(plain), n)
    cs = np.geomspace(1e18, 1e25, 80)
    bands = analysis.compute_optimal_bands(boot, cs)
    opt = [plots.CurveSpec(name="chinchilla", label="Chinchilla", x=cs, y=bands["params"].point,
                           lower=bands["params"].lower, upper=bands["params"].upper, x_kind="flops", y_kind="count")]
    from ui.cache import _contour

    contour = _contour(boot, runs, runs.flops_per_token_param)
    rows = [("fit_figure, plain (reference)", ref),
            ("fit_figure, by budget", timed(figure(by_budget), n)[0]),
            ("fit_figure, by budget + slices", timed(figure(by_budget, slices), n)[0]),
            ("fit_figure, by group", timed(figure(by_group), n)[0]),
            ("run_points, plain", timed(lambda: run_points(runs, "params", "loss", {}), n)[0]),
            ("run_points, by budget", timed(lambda: run_points(runs, "params", "loss", {}, color_by="budget"), n)[0]),
            ("isoflop_slices", timed(lambda: analysis.isoflop_slices(result, runs, analysis.isoflop_budgets(runs)), n)[0]),
            ("compute_optimal_bands (80 budgets x 1,001 laws)", timed(lambda: analysis.compute_optimal_bands(boot, cs), n)[0]),
            ("compute_optimal_figure", timed(lambda: plots.compute_optimal_figure(opt, y_title="N*", title="N*"), n)[0]),
            ("contour_figure (90 x 90)", timed(lambda: plots.contour_figure(contour, plain), max(3, n // 3))[0])]
    print(f"{'what':50s} {'ms':>8s} {'/ref':>6s}")
    for what, t in rows:
        print(f"{what:50s} {1e3 * t:8.2f} {t / ref:6.2f}")


if __name__ == "__main__":
    main()

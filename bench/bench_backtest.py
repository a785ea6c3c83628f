"""Benchmark: a move of the Trust page's backtest cutoff, against a plain rerun of the same families.

A cutoff move costs what the tab's cached call computes for every switched-on family
(ui/trust/backtest.py::backtest): the backtest at the new cutoff -- the point fit of the runs below it
and its bootstrap (95%, cases; the tab uses the Explore page's resamples capped at 400,
ui/trust/backtest.py::MAX_RESAMPLES, the default here; --resamples 1000 for Explore's default) -- and
the forecast over a grid with both bands. The reference, timed in the same process, is a plain fit and bootstrap of
the full data for the same families (what Explore computes when a family is switched on).

Data: sample_runs/chinchilla_like.csv (243 runs); families: chinchilla and kaplan (two laws in N and
D) by default. Every cutoff on compute is timed (the median of --repeats), and the last line gives
the worst move against the 1 s target.

Usage: python bench/bench_backtest.py [--resamples 400] [--families chinchilla kaplan] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import load_runs  # noqa: E402
from scalecore.backtest import backtest, cutoffs  # noqa: E402
from scalecore.fitting import fit  # noqa: E402

from bench_curves import timed  # noqa: E402  (median of repeats; bench/ is the script's folder)

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=400, help="the Trust tab's cap (ui/trust/backtest.py)")
    ap.add_argument("--families", nargs="+", default=["chinchilla", "kaplan"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")
    B = args.resamples

    def plain():
        return [fit(runs, f).bootstrap(B, seed=0, refuse_unidentified=False) for f in args.families]

    ref_s, _ = timed(plain, args.repeats)
    print(f"{len(runs)} runs, families {', '.join(args.families)}, {B} resamples")
    print(f"reference: plain fit + bootstrap of the full data: {ref_s:.3f} s")
    print(f"{'cutoff':>9} {'train':>5} {'held':>5} {'move_s':>7} {'move/ref':>8}  per family")
    worst = 0.0
    for cut in cutoffs(runs.values("compute"))[1:]:
        def move():
            out = []
            for f in args.families:
                bt = backtest(runs, f, cutoff=float(cut), n_resamples=B, seed=0)
                if bt.ok:
                    bt.forecast("prediction"), bt.forecast("confidence")
                out.append(bt)
            return out

        s, bts = timed(move, args.repeats)
        worst = max(worst, s)
        per = "; ".join(f"{bt.family} {bt.coverage_text if bt.ok else 'not ok'}" for bt in bts)
        print(f"{cut:>9.3g} {bts[0].n_train:>5} {bts[0].n_test:>5} {s:>7.3f} {s / ref_s:>8.2f}  {per}")
    print(f"worst cutoff move: {worst:.3f} s ({worst / ref_s:.2f} x the plain rerun); target <= {TARGET_S:g} s: "
          f"{'met' if worst <= TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()

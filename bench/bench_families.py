"""Benchmark: every family on every bundled sample and every real export, as a user would switch it on.

For each (dataset, family) that the data allow (the metric kind matches, the inputs exist), it
times, in the same process:

- the plain full-data fit (the reference: the ratio column divides by it);
- the identifiability verdict (scalecore.identifiability.verdict) on that fit;
- the 1,000-resample bootstrap (seed 0), only for families the verdict accepts: a refused family
  is answered by the verdict, which is what the app and the CLI show. The bootstrap itself stops
  early ("stop", with its reason) when its resamples do not settle.

and prints one row each: dataset, family, x, runs, fit_s, verdict_s, verdict, boot_s, cpu_s (CPU
time of the bootstrap, every thread), iters (solver iterations summed over the resamples and starts:
the work, whatever else the machine runs; an early stop counts every resample to the stop), failed,
boot/fit. The last line says how many (dataset, family) answers took over 1 s.

Usage: python bench/bench_families.py [--resamples 1000] [--all] (--all bootstraps every
family to the end, refusing none, to show what the verdict and the early stop save).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import FAMILIES, NotIdentified, ScaleCoreError, bootstrap, fit, load_runs  # noqa: E402
from scalecore.diagnostics import verdict  # noqa: E402

from bench_curves import timed  # noqa: E402  (median of repeats; bench/ is the script's folder)

_bootstrap_module = sys.modules["scalecore.bootstrap"]
_solve = _bootstrap_module.solve
ITERATIONS = [0]


def _counted_solve(*args, **kwargs):
    """The bootstrap's solver, counting its iterations (the work, whatever the machine's load)."""
    try:
        sol = _solve(*args, **kwargs)
    except _bootstrap_module.NotSettling as stop:
        ITERATIONS[0] += stop.iteration * stop.total  # an upper bound: the settled ones stopped earlier
        raise
    ITERATIONS[0] += int(sol.n_iter.sum())
    return sol


_bootstrap_module.solve = _counted_solve

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/real_exports/ beside the checkout (in /work/main) or beside the worktrees' folder (/work/wt/<name>).
REAL = next((p / "shared" / "real_exports" for p in ROOT.parents if (p / "shared" / "real_exports").is_dir()),
            ROOT.parent / "shared" / "real_exports")

#: (label, path, load_runs keywords): the bundled samples as they load, the real exports with the
#: metric a user would pick.
DATASETS = [(p.stem, p, {}) for p in sorted((ROOT / "sample_runs").glob("*.csv"))] + [
    ("gadre2024 (loss)", REAL / "gadre2024" / "gadre2024_runs.csv", {"mapping": {"metric": "loss"}}),
    ("gadre2024 (acc17)", REAL / "gadre2024" / "gadre2024_runs.csv", {"mapping": {"metric": "accuracy_avg17"}}),
    ("gadre2024 wide (c4 val)", REAL / "gadre2024" / "gadre2024_runs_wide.csv",
     {"mapping": {"metric": "loss_c4_val"}}),
    ("pythia final (lambada acc)", REAL / "pythia" / "pythia_final_checkpoints.csv",
     {"mapping": {"metric": "lambada_acc"}}),
    ("obsscaling (MMLU)", REAL / "obsscaling" / "base_llm_benchmark_eval.csv",
     {"mapping": {"metric": "MMLU", "params": "Model Size (B)", "tokens": None, "compute": None}}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--all", action="store_true", help="bootstrap refused families too")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the fit and the verdict (median)")
    args = ap.parse_args()

    print(f"{'dataset':<28} {'family':<17} {'x':<8} {'runs':>5} {'fit_s':>7} {'verdict_s':>9} "
          f"{'verdict':<9} {'boot_s':>7} {'cpu_s':>6} {'iters':>7} {'failed':>6} {'boot/fit':>8}")
    slow = total = 0
    for label, path, kw in DATASETS:
        if not path.exists():
            print(f"{label:<28} (missing: {path})")
            continue
        try:
            runs = load_runs(path, **kw)
        except ScaleCoreError as e:
            print(f"{label:<28} does not load: {str(e)[:90]}")
            continue
        for name, fam in FAMILIES.items():
            axes = [None] if fam.is_two_input else [a for a in ("compute", "params") if runs.has(a)][:1]
            for x in axes:
                try:
                    fit_s, result = timed(lambda: fit(runs, name, x=x), args.repeats)
                except ScaleCoreError:
                    continue
                values = runs.values(result.y)
                score = bool(re.search(r"acc|score|exact|f1", result.y, re.I)) or (
                    not re.search(r"loss|ppl|perplexity|bpb|err", result.y, re.I) and float(values.max()) <= 1.0)
                metric_fits = fam.metric_kind == ("score" if score else "loss")
                v_s, v = timed(lambda: verdict(runs, result), args.repeats)
                answer_s = fit_s + v_s
                boot_s, cpu_s, failed = float("nan"), float("nan"), ""
                ITERATIONS[0] = 0
                stopped = ""
                if v.identified or args.all:
                    t0, c0 = time.perf_counter(), time.process_time()
                    try:
                        boot = bootstrap(runs, name, x=x, n_resamples=args.resamples, seed=0,
                                         refuse_unidentified=not args.all)
                        failed = str(boot.n_failed)
                    except NotIdentified as e:
                        failed, stopped = "stop", str(e)
                    except ScaleCoreError as e:
                        failed, stopped = "error", str(e)
                    boot_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
                    answer_s = boot_s + v_s
                total += 1
                slow += answer_s > 1.0
                print(f"{label[:28]:<28} {name:<17} {x or 'N,D':<8} {result.n_points:>5} {fit_s:>7.3f} {v_s:>9.4f} "
                      f"{'ok' if v.identified else 'refused':<9} {boot_s:>7.3f} {cpu_s:>6.2f} {ITERATIONS[0]:>7} {failed:>6} "
                      f"{boot_s / fit_s:>8.1f}"
                      + ("" if metric_fits else "  (not offered by the app for this metric)"))
                if not v.identified:
                    print(f"   {v.text()}")
                elif stopped:
                    print(f"   {stopped}")
    print(f"answers (verdict, plus the bootstrap of accepted families) over 1 s: {slow} of {total}")


if __name__ == "__main__":
    main()

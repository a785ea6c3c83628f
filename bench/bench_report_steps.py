"""Benchmark: which steps of the HTML report are slow (issue 22: a progress bar for the report
download when it takes over about two seconds).

For three analyses as the app builds them (the fits passed in, as the pages pass their cache hits):
two families on the Chinchilla-like sample; the architecture sample with its comparison and joint
fit refitted by the report (as the Review page's download does); and the same with the comparison
and joint fit passed in (as the Compare page's). Times each step ``report.render`` reports to its
``progress`` callback, and the whole render against the reference measured in the same run: the
bootstraps of the analysis' families (what any page pays first). The constants of
``ui.review.REPORT_SECONDS`` come from these lines.

Usage: python bench/bench_report_steps.py [--resamples 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalecore import bootstrap, load_runs, report  # noqa: E402
from scalecore.comparison import compare  # noqa: E402
from scalecore.joint import joint_fit  # noqa: E402
from scalecore.store import Analysis, DataFile, Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resamples", type=int, default=1000)
    n = ap.parse_args().resamples
    cases = [("chinchilla_like", ("chinchilla", "kaplan"), None, None, False),
             ("architectures_crossover", ("offset_power_law",), "compute", "exponents", False),
             ("architectures_crossover", ("offset_power_law",), "compute", "exponents", True)]
    for data, fams, x, shared, passed in cases:
        csv = ROOT / "sample_runs" / f"{data}.csv"
        runs = load_runs(csv)
        t0 = time.perf_counter()
        results = {f: bootstrap(runs, f, x=x, n_resamples=n, seed=0) for f in fams}
        ref = time.perf_counter() - t0
        spec = {"family": fams[0], "by": "arch", "x": x, "shared": shared} if shared else None
        a = Analysis(title="bench", files=(DataFile(csv.name, csv.read_bytes()),), families=fams,
                     settings=Settings(x=x, n_resamples=n, seed=0), comparison=spec)
        extra = {}
        if passed:
            extra = {"comparison": compare(runs, fams[0], by="arch", x=x, n_resamples=n, seed=0),
                     "joint": joint_fit(runs, fams[0], by="arch", shared=shared, x=x, n_resamples=n, seed=0)}
        marks = []
        t0 = time.perf_counter()
        report.render(a, results=results, runs=runs, progress=lambda i, k, what: marks.append((what, time.perf_counter())),
                      **extra)
        end = time.perf_counter()
        total = end - t0
        how = " (comparison and joint passed in)" if passed else (" (comparison and joint refitted)" if shared else "")
        print(f"{data}: {', '.join(fams)}{how}; {n} resamples")
        for (what, t), nxt in zip(marks, [m[1] for m in marks[1:]] + [end]):
            print(f"    {what:<28} {nxt - t:6.2f} s")
        print(f"    report {total:.2f} s; reference (the families' bootstraps) {ref:.2f} s; ratio {total / ref:.2f}")


if __name__ == "__main__":
    main()

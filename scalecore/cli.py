"""Command line: ``python -m scalecore fit|budget|report ...``.

User mistakes (:class:`ScaleCoreError`) print one line on stderr and exit with status 2. Notes on the
data (a guessed encoding, units in a header) go to stderr as ``note: ...`` lines after a successful
command, so ``--json`` output on stdout stays parseable.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Sequence

from .errors import ScaleCoreError

EXIT_USER_ERROR = 2


def dumps(obj) -> str:
    """The ``--json`` output: :func:`scalecore.serialize.dumps` (strict JSON, non-finite numbers as null)."""
    from .serialize import dumps as _dumps

    return _dumps(obj)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="one or more CSV files of runs")
    p.add_argument("--family", required=True, help="fit family (see `python -m scalecore families`)")
    p.add_argument("--x", choices=("params", "tokens", "compute"), help="input of a one-input family")
    p.add_argument("--y", "--metric", dest="y", help="metric column (default: the first detected)")
    _add_column_args(p)
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--loss", choices=("huber", "ls"), default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold in log space (default 1e-3)")


#: Flags naming the column of each role, honoured before any detection. Spelt ``--ROLE-column``
#: (not ``--compute``) because ``budget --compute`` is the budget in FLOPs.
COLUMN_FLAGS = {"params": "--params-column", "tokens": "--tokens-column", "compute": "--compute-column",
                "run_id": "--run-id-column", "group": "--group-column"}


def _add_column_args(p: argparse.ArgumentParser) -> None:
    for role, flag in COLUMN_FLAGS.items():
        p.add_argument(flag, metavar="COLUMN", dest=f"{role}_column",
                       help=f"the column holding {role.replace('_', ' ')} (default: detected from the names)")


def _mapping(args, metrics=()) -> dict:
    """load_runs' mapping from the column flags and the metric(s) named on the command line."""
    mapping = {role: getattr(args, f"{role}_column") for role in COLUMN_FLAGS if getattr(args, f"{role}_column", None)}
    named = [m for m in metrics if m]
    if named:
        mapping["metric"] = named[0]
    return mapping


def _load(args, metrics=()):
    """The runs of ``args.runs`` read with the columns the flags name (``metrics``: every metric
    column the command names; the first is the default)."""
    from .data import load_runs
    from .errors import DataError

    named = [m for m in metrics if m]
    try:
        return load_runs(args.runs, mapping=_mapping(args, named) or None, metrics=named or None)
    except DataError as exc:
        if "mapping=" not in str(exc):
            raise
        flags = ", ".join(f"`{flag} COLUMN`" for flag in COLUMN_FLAGS.values())
        raise DataError(f"{exc} On the command line, name the columns with {flags} or `--y COLUMN` "
                        "(the metric).") from None


def _add_bootstrap_args(p: argparse.ArgumentParser, default_n: int = 0) -> None:
    p.add_argument("--bootstrap", type=int, default=default_n, metavar="N", help="number of bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--method", choices=("cases", "residuals", "groups"), default="cases")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scalecore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_fit = sub.add_parser("fit", help="fit a scaling law to runs")
    _add_data_args(p_fit)
    _add_bootstrap_args(p_fit)
    p_fit.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("families", help="list the fit families")
    _add_budget_parser(sub)
    _add_report_parser(sub)
    _add_downstream_parser(sub)
    _add_isoflop_parser(sub)
    _add_next_parser(sub)
    _add_sensitivity_parser(sub)
    _add_compare_parser(sub)
    _add_backtest_parser(sub)
    return parser



def _positive(flag: str, text, example: str = "70B or 1e24"):
    """A command-line number (``70B``, ``1.4T``, ``1e24``) that must be positive; None stays None.
    The one reading of every numeric flag, with the one message that names the flag."""
    from .data import parse_number
    from .errors import DataError

    if text is None:
        return None
    try:
        value = parse_number(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"`--{flag}` must be a positive number such as {example}; got {text!r}")
    return value

def _fit_command(args) -> int:
    from .fitting import fit

    runs = _load(args, [args.y])
    result = fit(runs, _spec(args))
    if args.bootstrap:
        from .diagnostics import bootstrap_or_refuse

        boot = bootstrap_or_refuse(runs, result, n_resamples=args.bootstrap, confidence_level=args.confidence,
                                   seed=args.seed, method=args.method)
        print(dumps(boot.to_dict()) if args.json else str(boot))
    else:
        print(dumps(result.to_dict()) if args.json else str(result))
    _print_notes(runs)
    return 0


def _spec(args):
    """The :class:`~scalecore.spec.FitSpec` of the fit options on the command line."""
    from .spec import FitSpec

    return FitSpec(args.family, x=args.x, y=args.y, exclude=tuple(args.exclude), loss=args.loss, delta=args.delta)


def _print_notes(runs) -> None:
    for note in getattr(runs, "notes", ()):
        print(f"note: {' '.join(note.split())}", file=sys.stderr)


def _families_command(args) -> int:
    from .families import FAMILIES

    for fam in FAMILIES.values():
        inputs = "N and D" if fam.is_two_input else "params, tokens or compute"
        print(f"{fam.name:<18} {fam.label:<22} against {inputs}; parameters {', '.join(fam.param_names)}")
    return 0


def _add_budget_parser(sub) -> None:
    p = sub.add_parser("budget", help="plan a training run for a compute budget from a fit or a published law",
                       description="Compute-optimal N and D, loss, cost, the inverse and inference-aware sizing. "
                                   "The law comes from RUNS.csv (fitted; intervals with --bootstrap), --law or --preset.")
    p.add_argument("runs", nargs="*", metavar="RUNS.csv", help="CSV files of runs to fit (or use --law/--preset)")
    p.add_argument("--family", default="chinchilla", help="fit family for RUNS.csv (default chinchilla)")
    p.add_argument("--x", choices=("params", "tokens", "compute"), help="input of a one-input family")
    p.add_argument("--y", "--metric", dest="y", help="metric column (default: the first detected)")
    _add_column_args(p)
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--loss", choices=("huber", "ls"), default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold in log space (default 1e-3)")
    law = p.add_mutually_exclusive_group()
    law.add_argument("--law", metavar="TEXT", help='constants instead of a CSV: "E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28"')
    law.add_argument("--preset", metavar="NAME", help="a published law instead of a CSV: besiroglu2024, hoffmann2022, "
                                                     "hoffmann2022_tex; with --bootstrap N, intervals from N draws of "
                                                     "the paper's published standard errors (where it gives them)")
    p.add_argument("--compute", metavar="FLOPS", help="training budget in FLOPs, e.g. 1e24")
    p.add_argument("--accelerator", metavar="NAME", help='hardware preset, e.g. "NVIDIA H100 SXM" (see the budget page)')
    p.add_argument("--peak-flops", metavar="FLOPS", help="peak dense FLOP/s per accelerator (overrides the preset)")
    p.add_argument("--count", type=int, default=1, help="number of accelerators (default 1)")
    p.add_argument("--days", metavar="DAYS", help="days of training (budget from hardware when --compute is absent)")
    p.add_argument("--mfu", type=float, default=0.4, help="model FLOPs utilisation (default 0.4)")
    p.add_argument("--price", metavar="PRICE", help="price per accelerator-hour -> cost")
    p.add_argument("--target-loss", metavar="LOSS", help="also: the least compute that reaches this loss")
    p.add_argument("--inference-tokens", metavar="TOKENS", help="lifetime inference tokens -> inference-aware sizing")
    p.add_argument("--unique-tokens", metavar="TOKENS", help="unique training tokens available -> epochs, warning")
    p.add_argument("--data-constrained", action="store_true",
                   help="with --unique-tokens: the loss with repeated data and N, D re-optimised for it "
                        "(Muennighoff et al. 2023)")
    p.add_argument("--approach2", action="store_true",
                   help="also plan from Approach 2, the IsoFLOP frontier of RUNS.csv (budgets = runs of equal "
                        "compute), beside the law's plan (Approach 3; RUNS.csv may then come with --preset/--law)")
    _add_bootstrap_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _budget_command(args) -> int:
    from . import budget
    from .errors import DataError

    def number(flag, text):
        return _positive(flag, text, "1e24 or 3.8e25")

    law = _budget_law(args)
    hardware = None
    if args.accelerator or args.peak_flops:
        hardware = (budget.Hardware.of(args.accelerator, args.count, args.mfu, number("price", args.price),
                                       number("peak-flops", args.peak_flops))
                    if args.accelerator else
                    budget.Hardware(number("peak-flops", args.peak_flops), args.count, args.mfu, number("price", args.price)))
    elif args.price:
        raise DataError("`--price` is per accelerator-hour: give `--accelerator` (or `--peak-flops`) too")
    compute = number("compute", args.compute)
    if compute is None and args.days is not None:
        if hardware is None:
            raise DataError("a budget from `--days` needs `--accelerator` (or `--peak-flops`) and `--count`")
        compute = hardware.compute(number("days", args.days))
    if compute is None:
        raise DataError("give the budget: `--compute FLOPS`, or `--accelerator NAME --count N --days D`")
    result = budget.plan(law, compute, hardware=hardware, unique_tokens=number("unique-tokens", args.unique_tokens),
                         inference_tokens=number("inference-tokens", args.inference_tokens),
                         data_constrained=args.data_constrained)
    target = number("target-loss", args.target_loss)
    inverse = budget.compute_for_loss(law, target, hardware=hardware) if target is not None else None
    approaches = _approach2(args, law, compute) if args.approach2 else None
    if args.json:
        out = budget.summary(result, inverse, target)
        if approaches is not None:
            out["approaches"] = approaches.to_dict()
        print(dumps(out))
    else:
        text = budget.summary_text(result, inverse, target)
        if approaches is not None:
            text += ("\n\nApproach 2 (IsoFLOP frontier of the runs) beside Approach 3 (the law):\n"
                     + approaches.table().to_string(index=False) + "\n" + approaches.sentence
                     + f"\nApproach 2 intervals: {approaches.interval2}\nApproach 3 intervals: {approaches.interval3}")
        print(text)
    return 0


def _approach2(args, law, compute):
    """Approach 2 on RUNS.csv beside Approach 3 (the law) at ``compute``: budget.compare_approaches."""
    from . import budget
    from .errors import DataError
    from .isoflop import isoflop_profiles

    if not args.runs:
        raise DataError("`--approach2` reads the IsoFLOP frontier from RUNS.csv: give the runs too")
    runs = _load(args, [args.y])
    iso = isoflop_profiles(runs, y=args.y, exclude=args.exclude, n_resamples=args.bootstrap or 1000,
                           confidence_level=args.confidence, seed=args.seed)
    return budget.compare_approaches(law, iso, compute)


def _budget_law(args):
    from . import budget
    from .errors import DataError

    if args.law is not None or args.preset is not None:
        if args.runs and not getattr(args, "approach2", False):
            raise DataError("give either RUNS.csv or `--law`/`--preset`, not both (or add `--approach2` to read "
                            "the IsoFLOP frontier of RUNS.csv beside the law)")
        if args.preset is not None:  # --bootstrap N: N draws from the paper's published standard errors, if any
            return budget.Law.preset(args.preset, n_samples=args.bootstrap, seed=args.seed,
                                     confidence_level=args.confidence)
        return budget.Law.parse(args.law, args.family)
    if not args.runs:
        raise DataError("give RUNS.csv to fit, or a law with `--law \"E=..., A=..., B=..., alpha=..., beta=...\"` "
                        "or `--preset besiroglu2024`")
    from .fitting import fit

    runs = _load(args, [args.y])
    result = fit(runs, _spec(args))
    if not args.bootstrap:
        return budget.Law.from_fit(result)
    from .diagnostics import bootstrap_or_refuse

    return budget.Law.from_bootstrap(bootstrap_or_refuse(runs, result, n_resamples=args.bootstrap,
                                                         confidence_level=args.confidence, seed=args.seed,
                                                         method=args.method))


def _add_report_parser(sub) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report (opens offline)",
                       description="Fit one or more families with bootstrap intervals and write one HTML file with "
                                   "the parameters, plots with bands, exclusions and the settings to reproduce it.")
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="one or more CSV files of runs")
    p.add_argument("--family", action="append", required=True, help="fit family; repeat for several")
    p.add_argument("--x", choices=("params", "tokens", "compute"), help="input of the one-input families")
    p.add_argument("--y", "--metric", dest="y", help="metric column (default: the first detected)")
    _add_column_args(p)
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--reason", default="excluded on the command line", help="reason recorded for --exclude")
    p.add_argument("--loss", choices=("huber", "ls"), default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold in log space (default 1e-3)")
    _add_bootstrap_args(p, default_n=1000)
    p.add_argument("--target", metavar="X", help="extrapolate to this x, e.g. 70B or 1e24")
    p.add_argument("--compare-by", metavar="COLUMN", help="also compare the groups of this column (or `file`)")
    p.add_argument("--compare-at", metavar="X", help="scale of the compute multiplier (default: top of the data)")
    p.add_argument("--compare-shared", metavar="SHARED",
                   help="also fit the groups jointly sharing these parameters (exponents, E, none, or names)")
    p.add_argument("--title", default=None, help="report title (default: the file names)")
    p.add_argument("--note", default="", help="a note shown under the title")
    p.add_argument("-o", "--output", required=True, metavar="REPORT.html")


def _report_command(args) -> int:
    from pathlib import Path

    from . import report
    from .errors import DataError
    from .store import Analysis, DataFile, Settings

    def number(flag, text):
        return _positive(flag, text, "70B or 1e24")

    from .families import get_family

    for family in args.family:
        get_family(family)  # an unknown name is a user error, not a section of the report
    files = []
    for name in args.runs:
        try:
            files.append(DataFile(Path(name).name, Path(name).read_bytes()))
        except OSError as exc:
            raise DataError(f"cannot read `{name}`: {exc.strerror or exc}") from None
    comparison = None
    if args.compare_by:
        comparison = {"family": args.family[0], "by": args.compare_by, "at": number("compare-at", args.compare_at)}
        if args.compare_shared:
            comparison["shared"] = args.compare_shared
    analysis = Analysis(
        title=args.title or ", ".join(f.name for f in files),
        files=tuple(files), families=tuple(dict.fromkeys(args.family)),
        settings=Settings(x=args.x, metric=args.y, n_resamples=args.bootstrap, confidence_level=args.confidence,
                          delta=args.delta, seed=args.seed, method=args.method, loss=args.loss,
                          target=number("target", args.target)),
        exclusions={rid: args.reason for rid in args.exclude}, comparison=comparison, note=args.note,
        mapping=_mapping(args, [args.y]),
    )
    text = report.write(args.output, analysis)
    print(f"wrote {args.output} ({len(text.encode()) / 1e6:.1f} MB): {', '.join(analysis.families)}; "
          "opens offline in any browser")
    return 0


def _add_downstream_parser(sub) -> None:
    p = sub.add_parser("downstream", help="predict a downstream accuracy in two steps: scale -> loss -> accuracy",
                       description="Fit a loss law (step 1) and a logistic map from loss to accuracy (step 2), "
                                   "bootstrap both together, and predict the accuracy of a larger run.")
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="CSV files of runs with a loss (and an accuracy)")
    p.add_argument("--family", default="chinchilla", help="step 1's loss law (default chinchilla)")
    p.add_argument("--x", choices=("params", "tokens", "compute"), help="input of a one-input loss law")
    p.add_argument("--loss-metric", help="loss column (default: the first metric that is not a score)")
    p.add_argument("--accuracy-metric", help="accuracy column (default: the first score-like metric)")
    _add_column_args(p)
    p.add_argument("--accuracy-runs", nargs="+", metavar="MORE.csv", help="fit step 2 to these runs instead")
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out of both steps")
    p.add_argument("--delta", type=float, default=1e-3, help="step 1's Huber threshold in log space (default 1e-3)")
    p.add_argument("--accuracy-delta", type=float, default=0.02, help="step 2's Huber threshold (default 0.02)")
    p.add_argument("--params", metavar="N", help="target model size, e.g. 30B (laws in N and D)")
    p.add_argument("--tokens", metavar="D", help="target tokens, e.g. 600B (laws in N and D)")
    p.add_argument("--target", metavar="X", help="target x of a one-input law, e.g. 1e23")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="joint resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _downstream_command(args) -> int:
    from .data import load_runs
    from .downstream import fit_downstream
    from .formatting import format_estimate

    def number(flag, text):
        return _positive(flag, text, "30B or 1e23")

    runs = _load(args, [args.loss_metric, args.accuracy_metric])
    more = load_runs(args.accuracy_runs, mapping=_mapping(args) or None) if args.accuracy_runs else None
    result = fit_downstream(runs, args.family, args.x, loss_metric=args.loss_metric,
                            accuracy_metric=args.accuracy_metric, accuracy_runs=more, exclude=args.exclude,
                            delta=args.delta, accuracy_delta=args.accuracy_delta, n_resamples=args.bootstrap,
                            confidence_level=args.confidence, seed=args.seed)
    n, d, x = number("params", args.params), number("tokens", args.tokens), number("target", args.target)
    pred = None
    if n is not None or d is not None or x is not None:
        pred = result.predict_at(x, params=n, tokens=d)
    if args.json:
        out = result.to_dict()
        out["prediction"] = pred.to_dict() if pred is not None else None
        print(dumps(out))
    else:
        print(str(result))
        if pred is not None:
            where = ", ".join(f"{k} = {v:.4g}" for k, v in pred.target.items())
            print(f"\nPredicted {result.accuracy_metric} at {where}: "
                  f"{format_estimate(pred.value, pred.low, pred.high)} (median {pred.median:.4g}); "
                  f"{result.loss_metric} there {format_estimate(pred.loss)}")
            print(f"({result.interval_label})")
    _print_notes(runs)
    return 0


def _add_isoflop_parser(sub) -> None:
    p = sub.add_parser("isoflop", help="IsoFLOP profiles (Chinchilla's Approach 2): N*(C) from sweeps at fixed compute",
                       description="Fit a robust parabola of log loss against log N per compute budget and the "
                                   "frontier N* = k_N C^a through their minima, with bootstrap intervals. With "
                                   "--group-column, one analysis (and one table) per group: never pooled.")
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="CSV files of runs (params and compute, or tokens)")
    p.add_argument("--y", "--metric", dest="y", help="metric column (default: the first detected)")
    _add_column_args(p)
    p.add_argument("--budget-column", metavar="COLUMN",
                   help="column naming each run's budget, or run names with the budget in them (isoflop-6e+19-...); "
                        "default: budgets found from the compute values")
    p.add_argument("--tolerance", type=float, metavar="REL",
                   help="relative gap in compute that starts a new budget (0.05 = 5%%); default: chosen from the data")
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--least-squares", action="store_true", help="plain least-squares parabolas (default: Huber)")
    p.add_argument("--unbracketed", action="store_true", help="keep budgets whose minimum is outside their sweep")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--method", choices=("runs", "budgets"), default="runs",
                   help="resample runs within each budget (default) or whole budgets")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _isoflop_command(args) -> int:
    from .isoflop import isoflop_profiles

    runs = _load(args, [args.y])
    result = isoflop_profiles(runs, y=args.y, exclude=args.exclude, budgets=args.budget_column,
                              robust=not args.least_squares, include_unbracketed=args.unbracketed,
                              n_resamples=args.bootstrap, confidence_level=args.confidence, seed=args.seed,
                              method=args.method, tolerance=args.tolerance,
                              by="group" if args.group_column else None)
    if args.json:
        print(dumps(result.to_dict()))
    elif args.group_column:
        print(result.table().drop(columns=["raw a", "raw a low", "raw a high"], errors="ignore").to_string(index=False))
        print()
        print(str(result))
    else:
        print(str(result))
    _print_notes(runs)
    return 0


def _add_next_parser(sub) -> None:
    p = sub.add_parser("next", help="rank candidate runs by how much each would shrink a target's interval per FLOP",
                       description="Fit a law in N and D with a bootstrap, score a grid of candidate runs (N, D) "
                                   "within a compute limit by the expected shrink of the target's interval per FLOP "
                                   "(scalecore.design), print the best and write them as a CSV plan.")
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="one or more CSV files of runs")
    p.add_argument("--family", default="chinchilla", help="a law in N and D (default chinchilla)")
    p.add_argument("--y", "--metric", dest="y", help="metric column (default: the first detected)")
    _add_column_args(p)
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--loss", choices=("huber", "ls"), default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold in log space (default 1e-3)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--target-compute", metavar="FLOPS", help="target: the compute-optimal run at this budget")
    target.add_argument("--planned", metavar="N,D", help="target: the metric of a planned run, e.g. 70B,1.4T")
    p.add_argument("--quantity", choices=("params", "tokens", "loss"), default="params",
                   help="with --target-compute: N* (default), D* or L*")
    p.add_argument("--max-compute", metavar="FLOPS", help="most FLOPs one candidate run may cost (default: 10x the largest run)")
    p.add_argument("--grid", type=int, default=20, help="N and D grid size (default 20: 20x20)")
    p.add_argument("--top", type=int, default=10, help="candidates printed and written (default 10)")
    p.add_argument("--by", choices=("shrink_per_flop", "shrink"), default="shrink_per_flop",
                   help="rank by the shrink per FLOP (default) or by the shrink alone")
    p.add_argument("--out", metavar="PLAN.csv", help="write the top candidates as a CSV plan")
    _add_bootstrap_args(p, default_n=1000)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _add_compare_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare groups of runs: each fitted apart, or jointly with shared parameters",
                       description="Fit one family to each group of runs (a group column, or one file per group). "
                                   "Without --shared each group is fitted and bootstrapped on its own (exponent "
                                   "differences, crossover, multiplier); with --shared the groups are fitted jointly "
                                   "with those parameters common to all, and a test says whether they differ.")
    _add_data_args(p)
    p.add_argument("--by", default="group", metavar="COLUMN", help="the column whose values are the groups, or `file`")
    p.add_argument("--groups", nargs="+", metavar="NAME", help="the groups to compare (the first is the reference)")
    p.add_argument("--shared", metavar="NAMES",
                   help="fit jointly, sharing these parameters: `alpha,beta`, `exponents`, `E` or `none`")
    p.add_argument("--at", metavar="X", help="scale of the multiplier and P(better) (default: top of the common range)")
    p.add_argument("--null", type=int, default=999, metavar="N", help="draws of the difference test's null (default 999)")
    _add_bootstrap_args(p, default_n=1000)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _next_command(args) -> int:
    from . import design
    from .errors import DataError
    from .fitting import fit

    def number(flag, text):
        return _positive(flag, text, "70B or 1e24")

    if args.planned is not None:
        parts = args.planned.split(",")
        if len(parts) != 2:
            raise DataError(f"`--planned` is N,D such as 70B,1.4T; got {args.planned!r}")
        target = design.Target.planned(number("planned", parts[0].strip()), number("planned", parts[1].strip()))
    else:
        target = design.Target.optimum(number("target-compute", args.target_compute), args.quantity)
    if args.top < 1:
        raise DataError(f"`--top` must be a positive integer; got {args.top}")
    runs = _load(args, [args.y])
    from .spec import FitSpec

    result = fit(runs, FitSpec(args.family, y=args.y, exclude=tuple(args.exclude), loss=args.loss, delta=args.delta))
    from .diagnostics import bootstrap_or_refuse

    boot = bootstrap_or_refuse(runs, result, n_resamples=args.bootstrap or 1000, confidence_level=args.confidence,
                               seed=args.seed, method=args.method)
    ranking = design.rank_candidates(boot, target, number("max-compute", args.max_compute), grid=args.grid,
                                     k=runs.flops_per_token_param, by=args.by)
    print(dumps(ranking.to_dict(args.top)) if args.json else ranking.text(args.top))
    if args.out:
        try:
            ranking.plan().head(args.top).to_csv(args.out, index=False)
        except OSError as exc:
            raise DataError(f"cannot write `{args.out}`: {exc.strerror or exc}") from None
        print(f"wrote {args.out}: {min(args.top, len(ranking.table))} runs", file=sys.stderr)
    _print_notes(runs)
    return 0


def _compare_command(args) -> int:
    from . import comparison, joint
    from .errors import DataError

    at = None
    if args.at is not None:
        at = _positive("at", args.at, "1e22 or 70B")
    runs = _load(args, [args.y])
    common = dict(by=args.by, groups=args.groups, x=args.x, y=args.y, exclude=tuple(args.exclude), loss=args.loss,
                  delta=args.delta, n_resamples=args.bootstrap or 1000, confidence_level=args.confidence, seed=args.seed)
    if args.shared is None:
        comp = comparison.compare(runs, args.family, method=args.method, **common)
        if args.json:
            print(dumps(comp.to_dict(at)))
        else:
            print(repr(comp))
            for row in comp.summary(at):
                print(f"  {row['crossover']['text']}; {row['multiplier']['text']}")
    else:
        if args.method != "cases":
            raise DataError("a joint fit (`--shared`) resamples runs within each group (`--method cases`); "
                            f"got `--method {args.method}`")
        result = joint.joint_fit(runs, args.family, shared=args.shared, n_null=args.null, **common)
        if args.json:
            print(dumps(result.to_dict(at)))
        else:
            print(repr(result))
            for a, b in result.pairs():
                print(f"  {result.better_text(a, b, at)}; {result.multiplier(a, b, at).text()}")
    _print_notes(runs)
    return 0


COMMANDS = {"fit": _fit_command, "families": _families_command, "budget": _budget_command,
            "report": _report_command, "downstream": _downstream_command, "next": _next_command}


def _add_sensitivity_parser(sub) -> None:
    p = sub.add_parser("sensitivity", help="how far N*, D* and the loss at a target move under the analyst's choices",
                       description="Refit under each FLOPs definition, parameter count, Huber delta, fit range and "
                                   "E fixed or free, and show the answers at the target with their shifts.")
    _add_data_args(p)
    p.add_argument("--target", required=True, metavar="C", help="training FLOPs (laws in N and D) or the x of a one-input law")
    p.add_argument("--bootstrap", type=int, default=200, metavar="N", help="resamples per row (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--min-params", metavar="N", help="fit range: drop runs below this size (default: the smallest quarter)")
    p.add_argument("--fixed-E", type=float, default=1.69, dest="fixed_e", help="the value E is held at (default 1.69)")
    p.add_argument("--other-params", metavar="COLUMN", help="a column with the other parameter count")
    p.add_argument("--embedding-params", metavar="N", help="embedding parameters (vocab x width) taken off N")
    p.add_argument("--config", metavar="L,D,H,CTX,V", help="a transformer config for Kaplan's and Hoffmann's FLOP "
                                                            "counts: layers, d_model, heads, context, vocabulary")
    p.add_argument("--config-columns", metavar="FIELD=COLUMN,...",
                   help="each run's config from columns (or numbers), e.g. n_layers=n_layer,d_model=width,n_heads=8,"
                        "n_ctx=2048,vocab=32000: a law in compute is refitted on each run's FLOPs")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _sensitivity_command(args) -> int:
    from .data import parse_number
    from .errors import DataError
    from .flops import TransformerConfig
    from .sensitivity import sensitivity
    from .spec import Settings

    def number(flag, text):
        if text is None:
            return None
        try:
            return parse_number(text)
        except ValueError:
            raise DataError(f"`--{flag}` must be a number such as 1e24 or 100M; got {text!r}") from None

    config = None
    if args.config:
        parts = args.config.split(",")
        if len(parts) != 5:
            raise DataError(f"`--config` takes five numbers: layers,d_model,heads,context,vocabulary; got {args.config!r}")
        config = TransformerConfig(*(int(number("config", v)) for v in parts))
    columns = None
    if args.config_columns:
        columns = {}
        for part in args.config_columns.split(","):
            field, _, col = part.partition("=")
            if not field.strip() or not col.strip():
                raise DataError(f"`--config-columns` takes FIELD=COLUMN pairs separated by commas; got {part!r}")
            try:
                columns[field.strip()] = parse_number(col.strip())
            except ValueError:
                columns[field.strip()] = col.strip()
    runs = _load(args, [args.y])
    settings = Settings(n_resamples=max(args.bootstrap, 2), seed=args.seed, confidence_level=args.confidence)
    result = sensitivity(runs, _spec(args), number("target", args.target), settings=settings,
                         n_resamples=args.bootstrap, config=config, config_columns=columns,
                         other_params=args.other_params,
                         embedding_params=number("embedding-params", args.embedding_params),
                         min_params=number("min-params", args.min_params), fixed_E=args.fixed_e)
    print(dumps(result.to_dict()) if args.json else repr(result))
    _print_notes(runs)
    return 0


COMMANDS["sensitivity"] = _sensitivity_command
COMMANDS["compare"] = _compare_command


def _add_backtest_parser(sub) -> None:
    p = sub.add_parser("backtest", help="fit below a cutoff, predict the larger runs: would the forecast have been right?",
                       description="Fit each family to the runs below --cutoff (on --by), predict the held-out larger "
                                   "runs, and print per family the bias, the mean absolute relative error and how many "
                                   "held-out runs fall inside the prediction interval (bootstrap plus run-to-run "
                                   "noise); --rolling takes every cutoff in turn.")
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="one or more CSV files of runs")
    p.add_argument("--family", action="append", required=True, help="fit family; repeat for several")
    p.add_argument("--x", choices=("params", "tokens", "compute"), help="input of the one-input families")
    p.add_argument("--y", "--metric", dest="y", help="metric column (default: the first detected)")
    _add_column_args(p)
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--loss", choices=("huber", "ls"), default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold in log space (default 1e-3)")
    p.add_argument("--cutoff", metavar="X", help="hold out the runs at or above this scale, e.g. 1e20 or 1B "
                                                 "(default: the largest 20%%)")
    p.add_argument("--by", choices=("compute", "params", "tokens"), default="compute", help="the axis of the cutoff")
    p.add_argument("--rolling", action="store_true", help="every cutoff in turn: error against decades extrapolated")
    p.add_argument("--runs", action="store_true", dest="per_run", help="also print every held-out run")
    _add_bootstrap_args(p, default_n=200)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _backtest_command(args) -> int:
    import pandas as pd

    from .backtest import backtest, rolling_backtest
    from .spec import FitSpec

    cutoff = None
    if args.cutoff is not None:
        cutoff = _positive("cutoff", args.cutoff, "1e20 or 1B")
    runs = _load(args, [args.y])
    out, results = {}, []
    for family in dict.fromkeys(args.family):
        spec = FitSpec(family, x=args.x, y=args.y, exclude=tuple(args.exclude), loss=args.loss, delta=args.delta)
        if args.rolling:
            rb = rolling_backtest(runs, spec, by=args.by)
            out[family] = {"rolling": rb.table.to_dict(orient="records"), "skipped": [list(s) for s in rb.skipped]}
            results.append(rb)
        else:
            bt = backtest(runs, spec, cutoff=cutoff, by=args.by, n_resamples=args.bootstrap, level=args.confidence,
                          seed=args.seed, method=args.method)
            out[family] = bt.to_dict()
            results.append(bt)
    if args.json:
        print(dumps(out))
    elif args.rolling:
        for rb in results:
            print(repr(rb))
            table = rb.by_distance()
            table["mean abs error"] = [f"{v:.2g}%" for v in table.pop("mean abs error_pct")]
            table["bias"] = [f"{v:+.2g}%" for v in table.pop("bias_pct")]
            table["decades"] = [f"≤ {d:g}" for d in table["decades"]]
            print(table.to_string(index=False) if len(table) else "  no cutoff leaves enough training runs")
    else:
        print(pd.DataFrame([bt.summary_row() for bt in results]).to_string(index=False))
        for bt in results:
            print(f"{bt.family}: {bt.message}" + (f"; {bt.note}" if bt.note else ""))
            if args.per_run and bt.ok:
                print(bt.table_text().drop(columns=["inside_pi"]).to_string(index=False))
    _print_notes(runs)
    return 0


COMMANDS["backtest"] = _backtest_command
COMMANDS["isoflop"] = _isoflop_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ScaleCoreError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message's layout
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR

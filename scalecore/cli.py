"""Command line: ``python -m scalecore fit|budget|report ...``.

User mistakes (:class:`ScaleCoreError`) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Sequence

from .errors import ScaleCoreError

EXIT_USER_ERROR = 2


def _plain(obj):
    """JSON-safe copy: non-finite floats become null (strict JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        return _plain(obj.item())
    return obj


def dumps(obj) -> str:
    return json.dumps(_plain(obj), indent=2, allow_nan=False)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUNS.csv", help="one or more CSV files of runs")
    p.add_argument("--family", required=True, help="fit family (see `python -m scalecore families`)")
    p.add_argument("--x", choices=("params", "tokens", "compute"), help="input of a one-input family")
    p.add_argument("--y", help="metric column (default: the first detected)")
    p.add_argument("--exclude", nargs="+", default=[], metavar="RUN_ID", help="run ids to leave out")
    p.add_argument("--loss", choices=("huber", "ls"), default="huber")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold in log space (default 1e-3)")


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
    return parser


def _fit_command(args) -> int:
    from .bootstrap import bootstrap_problem
    from .data import load_runs
    from .fitting import fit_problem, prepare

    runs = load_runs(args.runs)
    problem = prepare(runs, args.family, x=args.x, y=args.y, exclude=args.exclude, loss=args.loss, delta=args.delta)
    result = fit_problem(problem)
    if args.bootstrap:
        boot = bootstrap_problem(
            problem, n_resamples=args.bootstrap, confidence_level=args.confidence, seed=args.seed,
            method=args.method, fit=result,
        )
        print(dumps(boot.to_dict()) if args.json else str(boot))
    else:
        print(dumps(result.to_dict()) if args.json else str(result))
    return 0


def _families_command(args) -> int:
    from .families import FAMILIES

    for fam in FAMILIES.values():
        inputs = "N and D" if fam.is_two_input else "params, tokens or compute"
        print(f"{fam.name:<18} {fam.label:<22} against {inputs}; parameters {', '.join(fam.param_names)}")
    return 0


COMMANDS = {"fit": _fit_command, "families": _families_command}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ScaleCoreError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message's layout
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR

"""Training curves: Hoffmann et al.'s (2022) Approach 1, the lower envelope of loss against compute.

Experiment trackers export curves in long format: one row per logged point, with the run, the
step (or tokens seen) and the loss; the model size N is a column repeated on every row of a run
(or given separately). :func:`load_curves` reads such a file into :class:`Curves` through
:mod:`scalecore.io`, the reading pipeline :func:`~scalecore.load_runs` uses, and computes
the FLOPs of every point as ``C = k N tokens`` (``tokens = step * tokens_per_step`` when only the
step is logged; ``tokens_per_step`` -- batch size times sequence length -- is then a stated option).

:func:`envelope` takes, on a log-spaced grid of compute, the lowest loss any run reaches there (each
run's curve interpolated linearly in log-log, never extrapolated), and which run sets it. The
envelope point is *bracketed* when a smaller and a larger model both cover that compute: only then
does the envelope say something about the best size (where one run covers the compute alone, it
sets the envelope by default). :func:`frontier` fits ``N*(C)`` (the ``power_law`` family, so
``a = -alpha``) and the envelope loss ``L*(C)`` (the ``offset_power_law`` family) over the bracketed
grid points with the library's own :func:`~scalecore.fit` and :func:`~scalecore.bootstrap`; the
bootstrap resamples whole envelope segments (``method="groups"``, a group being the run that sets
the envelope there), because neighbouring grid points of one run are not independent.

Options: ``skip_steps`` (or ``skip_tokens``, ``skip_fraction``) drop the early (warm-up) points of every run,
``smoothing`` averages each curve's log loss over a centred window of points.
Everything is vectorised over points; a million-row file loads and envelopes in about a second.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import budget
from .bootstrap import BootstrapResult, Estimate, bootstrap_problem
from .data import Runs
from .errors import DataError, FitError, format_rows
from .fitting import fit_problem, prepare
from .io.frame import read_frame, repeated_header_problems
from .io.messages import CURVES, short
from .io.numbers import Numbers, metric_problems, parse_column, parse_number, size_problems
from .io.roles import CURVE_KEYS as MAPPING_KEYS  # noqa: F401 -- the keys of load_curves' mapping
from .io.roles import METRIC_ALIASES, STEP_ALIASES, TOKEN_ALIASES, curve_columns  # noqa: F401 -- re-exported
from .io.roles import LABEL_KEYS, header_scale, key
from .io.source import display_name


# ------------------------------------------------------------------------------ the curves


@dataclass(frozen=True, eq=False)
class Curves:
    """Training curves, one row per logged point, sorted by run and then by tokens.

    Arrays (all of one length): ``run`` (int index into ``run_ids``), ``step`` (NaN when not
    logged), ``tokens``, ``compute`` (``k N tokens``), ``loss`` (the metric). ``runs`` is one row per
    run: ``run_id``, ``group``, ``params``, ``n_points``, ``tokens_max``, ``compute_max``, ``final``.
    """

    run: np.ndarray = field(repr=False)
    step: np.ndarray = field(repr=False)
    tokens: np.ndarray = field(repr=False)
    compute: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    runs: pd.DataFrame = field(repr=False)
    metric: str = "loss"
    tokens_per_step: float | None = None
    flops_per_token_param: float = budget.FLOPS_PER_TOKEN_PARAM
    source: str = ""
    columns: Mapping[str, str | None] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        return f"Curves({self.summary()})"

    @property
    def run_ids(self) -> np.ndarray:
        return self.runs["run_id"].to_numpy(dtype=object)

    @property
    def params(self) -> np.ndarray:
        """N of every point (from its run)."""
        return self.runs["params"].to_numpy(float)[self.run]

    @property
    def frame(self) -> pd.DataFrame:
        """The points as a DataFrame (run_id, group, params, step, tokens, compute, metric)."""
        ids, groups = self.run_ids, self.runs["group"].to_numpy(dtype=object)
        return pd.DataFrame({"run_id": ids[self.run], "group": groups[self.run], "params": self.params,
                             "step": self.step, "tokens": self.tokens, "compute": self.compute,
                             self.metric: self.loss})

    def summary(self) -> str:
        r = self.runs
        per = f"tokens per step {self.tokens_per_step:g}; " if self.tokens_per_step else ""
        return (f"{len(self)} points of {len(r)} runs ({self.source or 'curves'}); N {r['params'].min():.3g}–"
                f"{r['params'].max():.3g}; compute {self.compute.min():.3g}–{self.compute.max():.3g} FLOP "
                f"(C = {self.flops_per_token_param:g}·N·tokens; {per}metric {self.metric})")

    def content_key(self) -> str:
        """SHA-256 of the arrays and settings: equal content gives an equal key."""
        h = hashlib.sha256()
        for a in (self.run, self.tokens, self.loss, self.runs["params"].to_numpy(float)):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update("\x1f".join(map(str, self.run_ids)).encode())
        h.update(repr((self.metric, self.tokens_per_step, self.flops_per_token_param)).encode())
        return h.hexdigest()


# ------------------------------------------------------------------------------ reading


def load_curves(
    source: Any,
    *,
    mapping: Mapping[str, str | None] | None = None,
    tokens_per_step: float | None = None,
    params: Mapping[str, Any] | None = None,
    flops_per_token_param: float = budget.FLOPS_PER_TOKEN_PARAM,
    name: str | None = None,
) -> Curves:
    """Read a long-format CSV of training curves into :class:`Curves`.

    Parameters
    ----------
    source
        A path, bytes, or a file object (e.g. a Streamlit upload).
    mapping
        Overrides column detection: keys ``run_id``, ``group``, ``params``, ``step``, ``tokens``,
        ``metric`` -> column names (``None``: absent).
    tokens_per_step
        Tokens per optimiser step (batch size x sequence length). Needed when the file logs the
        step but not the tokens seen; ignored when it has a tokens column.
    params
        ``{run_id: N}`` for files without a model-size column (numbers or "350M"-style text);
        overrides the column for the runs it names.
    flops_per_token_param
        ``k`` in ``C = k N tokens``.

    The file is read by :mod:`scalecore.io`, the pipeline :func:`~scalecore.load_runs` uses: the same
    size limit, encodings (a guessed one is said in :attr:`Curves.notes`), separators, decimal commas,
    "7B" numbers, and refusals of binary files, HTML pages and JSON. Rows without a metric value are
    dropped (trackers leave gaps where a metric was not logged); a point logged twice at the same
    tokens keeps the last. Every other problem -- a missing column, cells that are not numbers, an
    infinite metric, a model size that changes within a run, a non-positive loss, sizes outside
    :data:`scalecore.data.SIZE_RANGE` -- raises one :class:`DataError` naming the file, column and rows.
    """
    fname = name or display_name(source, 1, default="curves.csv")
    k = float(flops_per_token_param)
    if not (math.isfinite(k) and k > 0):
        raise DataError(f"`flops_per_token_param` must be a positive number; got {flops_per_token_param!r}")
    if tokens_per_step is not None:
        try:
            tokens_per_step = float(parse_number(tokens_per_step))
        except ValueError:
            tokens_per_step = math.nan
        if not (math.isfinite(tokens_per_step) and tokens_per_step > 0):
            raise DataError(f"`tokens_per_step` must be a positive number such as 524288 or 0.5M (batch size × "
                            f"sequence length); got {tokens_per_step!r}")
    found: list[dict[str, str | None]] = []

    def text_columns(columns: list[str]) -> list[str]:
        found.append(curve_columns(columns, mapping, name=fname))
        return [c for r in ("run_id", "group") if (c := found[0][r])]

    raw = read_frame(fname, source, text_columns, kind=CURVES)
    frame, rows_no, cols = raw.frame, raw.rows, found[0]
    problems: list[str] = repeated_header_problems(fname, raw.header)

    scaled: list[str] = []

    def numbers(column: str, rows: Any = slice(None), scale: bool = False) -> Numbers:
        """A column as numbers; with ``scale``, a unit in its header ("tokens (B)") applied and noted."""
        parsed = parse_column(frame[column].iloc[rows], raw.decimal_comma)
        unit = header_scale(column) if scale else None
        if unit is not None:
            parsed.values = parsed.values * unit[0]
            scaled.append(f"`{fname}`, column `{column}`: the header says the values are in {unit[1]}; they were "
                          f"multiplied by {short(unit[0])}. If the header is wrong, rename the column.")
        return parsed

    if not cols["run_id"]:
        problems.append(f"`{fname}`: no run id column (looked for run_id, run, name, ...). Long-format curves have one "
                        "row per logged point and need the run each point belongs to; map it with "
                        "mapping={'run_id': '<column>'}.")
    if not cols["metric"]:
        problems.append(f"`{fname}`: no metric column (looked for {', '.join(METRIC_ALIASES[:4])}, train/loss, ...). "
                        "Map it with mapping={'metric': '<column>'}.")
    if not cols["tokens"] and not cols["step"]:
        problems.append(f"`{fname}`: no step or tokens column (looked for step, global_step, _step, tokens, "
                        "tokens_seen, ...). Map one with mapping={'step': ...} or mapping={'tokens': ...}.")
    elif not cols["tokens"] and tokens_per_step is None:
        problems.append(f"`{fname}` logs the step (`{cols['step']}`) but not the tokens seen; give the tokens per "
                        "step (batch size × sequence length, e.g. tokens_per_step=524288) so that tokens = step × "
                        "tokens per step.")
    if not cols["params"] and not params:
        problems.append(f"`{fname}`: no model size column (params, N, n_params, ...). Add one (the same value on every "
                        "row of a run), map it, or pass params={run_id: N}.")
    if problems:
        raise DataError(_message(problems))

    metric = cols["metric"]
    loss_numbers = numbers(metric)
    loss, bad_loss = loss_numbers.values, loss_numbers.bad
    present = ~loss_numbers.missing
    n_missing = int((~present).sum())
    if cols["tokens"]:
        tok_numbers = numbers(cols["tokens"], scale=True)
        tokens, bad_tok = tok_numbers.values, tok_numbers.bad
    else:
        step_numbers = numbers(cols["step"])
        tokens, bad_tok = step_numbers.values * tokens_per_step, step_numbers.bad
    step, bad_step = (numbers(cols["step"]).values, numbers(cols["step"]).bad) if cols["step"] else \
        (np.full(len(frame), np.nan), None)
    for column, bad in ((metric, bad_loss), (cols["tokens"] or cols["step"], bad_tok),
                        (cols["step"], bad_step)):
        if bad is not None and (bad & present).any():
            cells = frame[column].to_numpy(dtype=object)[bad & present][:3]
            problems.append(f"`{fname}`, column `{column}`, {format_rows(rows_no[bad & present])}: "
                            f"{', '.join(repr(str(c)) for c in cells)} not numbers. Use plain numbers such as 1e9 or 7B.")
    problems += metric_problems(f"`{fname}`, column `{metric}`", np.where(present, loss, np.nan), rows_no)
    if problems:
        raise DataError(_message(problems))

    ids_raw = frame[cols["run_id"]]
    no_id = ids_raw.isna().to_numpy() & present
    if no_id.any():
        problems.append(f"`{fname}`, column `{cols['run_id']}` (run_id), {format_rows(rows_no[no_id])}: empty. "
                        "Every point needs its run.")
    keep = present & ~no_id
    bad_pos = keep & ~(loss > 0)
    if bad_pos.any():
        problems.append(f"`{fname}`, column `{metric}`, {format_rows(rows_no[bad_pos])}: values must be positive "
                        f"(the envelope is taken in log {metric}). Remove these points.")
    # step 0 (0 tokens seen) is where most trackers start logging: it has no compute, so log C is
    # undefined and the point cannot be on a curve against compute. It is left out (and counted in a
    # note), not refused: a refused load cannot be fixed by the warm-up option, which acts after it.
    at_zero = keep & (tokens == 0)
    n_zero = int(at_zero.sum())
    keep &= ~at_zero
    if n_zero and not keep.any():
        raise DataError(f"`{fname}`, column `{cols['tokens'] or cols['step']}`: every point is at step 0 (0 tokens "
                        "seen), where there is no compute to place it at. A curve needs points after the start of "
                        "training.")
    bad_t = keep & ~(np.isfinite(tokens) & (tokens > 0))
    what = cols["tokens"] or cols["step"]
    if bad_t.any():
        problems.append(f"`{fname}`, column `{what}`, {format_rows(rows_no[bad_t])}: "
                        f"{'tokens' if cols['tokens'] else 'steps'} must be positive numbers (negative or missing "
                        "values cannot be placed on a curve against compute). Remove these points.")
    problems += size_problems(f"`{fname}`, column `{what}`", "tokens", np.where(keep & ~bad_t, tokens, np.nan),
                              rows_no)
    if problems:
        raise DataError(_message(problems))

    idx = np.flatnonzero(keep)
    codes, uniques = pd.factorize(ids_raw.iloc[idx].astype(str).str.strip(), sort=False)
    run_ids = np.asarray(uniques, dtype=object)
    R = len(run_ids)

    # model size per run: the column (constant within a run) and/or the `params` mapping
    n_run = np.full(R, np.nan)
    if cols["params"]:
        n_numbers = numbers(cols["params"], idx, scale=True)
        n_pt, bad_n = n_numbers.values, n_numbers.bad
        if bad_n.any():
            problems.append(f"`{fname}`, column `{cols['params']}`, {format_rows(rows_no[idx][bad_n])}: not numbers. "
                            "Use plain numbers such as 7e9 or 7B.")
        problems += size_problems(f"`{fname}`, column `{cols['params']}` (params)", "params",
                                  np.where(n_pt > 0, n_pt, np.nan), rows_no[idx])
        lo = np.full(R, np.inf)
        hi = np.full(R, -np.inf)
        finite = np.isfinite(n_pt)
        np.minimum.at(lo, codes[finite], n_pt[finite])
        np.maximum.at(hi, codes[finite], n_pt[finite])
        varies = np.flatnonzero(np.isfinite(lo) & (hi > lo * (1 + 1e-9)))
        for r in varies[:3]:
            where = rows_no[idx][(codes == r) & finite & (n_pt != lo[r])]
            problems.append(f"`{fname}`, column `{cols['params']}`: run '{run_ids[r]}' has model size {lo[r]:.4g} and "
                            f"{hi[r]:.4g} ({format_rows(where)}); a run has one model size. Fix the value or give the "
                            "runs different ids.")
        n_run = np.where(np.isfinite(lo), lo, np.nan)
    if params:
        for rid, value in params.items():
            hits = np.flatnonzero(run_ids == str(rid))
            try:
                v = parse_number(value)
            except ValueError:
                v = math.nan
            if hits.size:
                n_run[hits[0]] = v
    no_n = ~(np.isfinite(n_run) & (n_run > 0))
    if no_n.any():
        listed = ", ".join(f"'{r}'" for r in run_ids[no_n][:5])
        problems.append(f"`{fname}`: run(s) {listed}{' ...' if no_n.sum() > 5 else ''} have no positive model size. "
                        "Fill in the params column or pass params={run_id: N}.")
    if problems:
        raise DataError(_message(problems))

    group_col = cols["group"]
    groups = np.full(R, "all", dtype=object)
    if group_col:
        g = frame[group_col].iloc[idx].astype(str).to_numpy(dtype=object)
        first_of = np.full(R, -1)
        first_of[codes[::-1]] = np.arange(len(codes))[::-1]
        groups = g[first_of]

    # sort by run, then tokens; a repeated (run, tokens) point keeps the last one logged
    t, l, s = tokens[idx], loss[idx], step[idx]
    order = np.lexsort((np.arange(len(idx)), t, codes))
    codes, t, l, s = codes[order], t[order], l[order], s[order]
    last = np.ones(len(codes), dtype=bool)
    last[:-1] = (codes[1:] != codes[:-1]) | (t[1:] != t[:-1])
    notes = list(raw.notes) + scaled
    if n_missing:
        notes.append(f"{n_missing} row(s) without a `{metric}` value were skipped")
    if n_zero:
        notes.append(f"{n_zero} point(s) at step 0 (0 tokens seen, so no compute: log C is undefined) were left out")
    if (~last).any() and key(cols["run_id"]) in LABEL_KEYS and not (mapping or {}).get("run_id"):
        # a tracker resuming a run logs a step twice; a label shared by several runs repeats every step
        label = cols["run_id"]
        raise DataError(f"`{fname}`, column `{label}` (run_id): {int((~last).sum()):,} of {len(last):,} points "
                        f"repeat a step of their `{label}` value, so `{label}` looks like a label shared by "
                        f"several runs (an architecture or size), not a run id; read as a run id it "
                        f"would merge their curves. Map the run id to the column that names each run, e.g. "
                        f"mapping={{'run_id': '<column>'}}.")
    if (~last).any():
        notes.append(f"{int((~last).sum())} point(s) logged twice at the same step were replaced by the later one")
        codes, t, l, s = codes[last], t[last], l[last], s[last]
    counts = np.bincount(codes, minlength=R)
    ends = np.cumsum(counts)
    runs = pd.DataFrame({
        "run_id": pd.Series(run_ids.astype(str), dtype="str"), "group": pd.Series(groups.astype(str), dtype="str"),
        "params": n_run, "n_points": counts, "tokens_max": t[ends - 1], "compute_max": k * n_run * t[ends - 1],
        "final": l[ends - 1],
    })
    return Curves(run=codes.astype(np.int64), step=s, tokens=t, compute=k * n_run[codes] * t, loss=l, runs=runs,
                  metric=metric, tokens_per_step=None if cols["tokens"] else tokens_per_step,
                  flops_per_token_param=k, source=fname, columns=cols, notes=tuple(notes))


def _message(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems in the curves file:\n" + "\n".join(f"- {p}" for p in problems)


# ------------------------------------------------------------------------------ the envelope


@dataclass(frozen=True, eq=False)
class Points:
    """The points an envelope is built from, after exclusions, warm-up skipping and smoothing."""

    run: np.ndarray  # index into the curves' runs, sorted by run then compute
    log_compute: np.ndarray
    log_loss: np.ndarray
    starts: np.ndarray  # (R,) first point of each run (== ends where a run has no points)
    ends: np.ndarray  # (R,)


def prepare_points(curves: Curves, *, exclude: Sequence[str] = (), skip_steps: float = 0.0,
                   skip_tokens: float = 0.0, skip_fraction: float = 0.0, smoothing: int = 0) -> Points:
    """Points left after excluding runs, skipping warm-up and smoothing.

    Warm-up: points at or before step ``skip_steps``, before ``skip_tokens`` tokens, or in the first
    ``skip_fraction`` of each run's tokens are dropped. Warm-up lasts a fixed number of steps in
    most recipes, so ``skip_steps`` is usually the one to use: a fraction drops more of a long run's
    early curve, and with it the coverage that tells whether a larger model would do better.
    Smoothing: centred mean of log loss over ``2*smoothing + 1`` points of the same run.
    """
    if not (isinstance(skip_steps, (int, float)) and skip_steps >= 0):
        raise FitError(f"`skip_steps` must be a non-negative number; got {skip_steps!r}")
    if skip_steps and np.isnan(curves.step).all():
        raise FitError("these curves log tokens, not steps; skip the warm-up by tokens (`skip_tokens`) instead")
    if not (isinstance(skip_fraction, (int, float)) and 0 <= skip_fraction < 1):
        raise FitError(f"`skip_fraction` must be at least 0 and below 1 (e.g. 0.1 for the first 10%); got {skip_fraction!r}")
    if not (isinstance(skip_tokens, (int, float)) and skip_tokens >= 0):
        raise FitError(f"`skip_tokens` must be a non-negative number; got {skip_tokens!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, np.integer)) or smoothing < 0:
        raise FitError(f"`smoothing` must be a non-negative whole number of points; got {smoothing!r}")
    R = len(curves.runs)
    excluded = np.isin(curves.run_ids.astype(str), np.array([str(e) for e in exclude], dtype=object))
    tmax = curves.runs["tokens_max"].to_numpy(float)
    keep = ~excluded[curves.run] & (curves.tokens >= skip_fraction * tmax[curves.run]) & (curves.tokens >= skip_tokens)
    if skip_steps:
        keep &= ~(curves.step <= skip_steps)
    run = curves.run[keep]
    lc = np.log(curves.compute[keep])
    ll = np.log(curves.loss[keep])
    counts = np.bincount(run, minlength=R)
    ends = np.cumsum(counts)
    starts = ends - counts
    if smoothing and len(ll):
        h = int(smoothing)
        cs = np.concatenate([[0.0], np.cumsum(ll)])
        i = np.arange(len(ll))
        lo = np.maximum(i - h, starts[run])
        hi = np.minimum(i + h + 1, ends[run])
        ll = (cs[hi] - cs[lo]) / (hi - lo)
    return Points(run=run, log_compute=lc, log_loss=ll, starts=starts, ends=ends)


def interpolate_runs(points: Points, log_grid: np.ndarray) -> np.ndarray:
    """Each run's log loss at ``log_grid`` (R, m): linear in log-log between its points, NaN
    outside its compute range. One global ``searchsorted``: runs are laid end to end on one axis."""
    R, m = len(points.starts), len(log_grid)
    out = np.full((R, m), np.nan)
    x, y = points.log_compute, points.log_loss
    if not len(x):
        return out
    base = float(min(x.min(), log_grid.min()))
    span = float(max(x.max(), log_grid.max()) - base) + 1.0
    key = points.run * span + (x - base)
    q = (np.arange(R)[:, None] * span + (log_grid[None, :] - base))
    pos = np.searchsorted(key, q, side="right")  # first point beyond q
    left = pos - 1
    starts, ends = points.starts[:, None], points.ends[:, None]
    inside = (left >= starts) & (pos < ends)
    at_end = (left == ends - 1) & (left >= starts) & (key[np.clip(left, 0, len(key) - 1)] == q)
    li = np.clip(left, 0, len(x) - 1)
    ri = np.clip(pos, 0, len(x) - 1)
    with np.errstate(all="ignore"):
        w = (log_grid[None, :] - x[li]) / (x[ri] - x[li])
        val = y[li] + w * (y[ri] - y[li])
    out[inside] = val[inside]
    out[at_end] = y[li][at_end]
    return out


@dataclass(frozen=True, eq=False)
class Envelope:
    """The lowest loss reached at each compute of a grid, and the run that reaches it."""

    compute: np.ndarray  # (m,) grid
    loss: np.ndarray  # (m,) NaN where no run covers the compute
    run: np.ndarray  # (m,) index of the run setting the envelope (-1: none)
    run_ids: np.ndarray  # (m,) its id ("" where none)
    params: np.ndarray  # (m,) its N
    n_covering: np.ndarray  # (m,) how many runs reach this compute
    bracketed: np.ndarray  # (m,) a smaller and a larger model both cover this compute
    k: float
    metric: str
    excluded: tuple[str, ...] = ()
    skip_steps: float = 0.0
    skip_tokens: float = 0.0
    skip_fraction: float = 0.0
    smoothing: int = 0

    def __repr__(self) -> str:
        ok = np.isfinite(self.loss)
        setters = {r for r in self.run_ids[ok].tolist() if r}
        span = (f", C {float(self.compute[ok].min()):.3g} to {float(self.compute[ok].max()):.3g}" if ok.any() else "")
        return (f"Envelope({int(ok.sum())} of {self.compute.size} grid points covered{span}, set by "
                f"{len(setters)} run(s); {self.metric}, {len(self.excluded)} excluded)")

    @property
    def tokens(self) -> np.ndarray:
        return self.compute / (self.k * self.params)

    def segments(self) -> pd.DataFrame:
        """Where each run sets the envelope: contiguous stretches of the grid, in compute order."""
        rows = []
        ok = self.run >= 0
        i = 0
        m = len(self.compute)
        while i < m:
            if not ok[i]:
                i += 1
                continue
            j = i
            while j + 1 < m and self.run[j + 1] == self.run[i]:
                j += 1
            rows.append({"run_id": self.run_ids[i], "params": self.params[i], "compute from": self.compute[i],
                         "compute to": self.compute[j], "grid points": j - i + 1,
                         "bracketed points": int(self.bracketed[i: j + 1].sum()),
                         f"{self.metric} from": self.loss[i], f"{self.metric} to": self.loss[j]})
            i = j + 1
        return pd.DataFrame(rows)


def envelope(curves: Curves, *, exclude: Sequence[str] = (), skip_steps: float = 0.0, skip_tokens: float = 0.0,
             skip_fraction: float = 0.0, smoothing: int = 0, n_grid: int = 200) -> Envelope:
    """The lower envelope of loss against compute over ``n_grid`` log-spaced computes."""
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or not 10 <= n_grid <= 100_000:
        raise FitError(f"`n_grid` must be a whole number from 10 to 100000; got {n_grid!r}")
    known = set(map(str, curves.run_ids))
    exclude = tuple(dict.fromkeys(str(e) for e in exclude if str(e) in known))
    pts = prepare_points(curves, exclude=exclude, skip_steps=skip_steps, skip_tokens=skip_tokens,
                         skip_fraction=skip_fraction, smoothing=smoothing)
    live = np.flatnonzero(pts.ends > pts.starts)
    if len(live) < 2:
        raise FitError(f"{len(live)} run(s) have points left after exclusions and warm-up skipping; an envelope "
                       "needs at least 2 runs. Include more runs or skip less of each curve.")
    grid = np.linspace(pts.log_compute.min(), pts.log_compute.max(), int(n_grid))
    Y = interpolate_runs(pts, grid)
    covered = np.isfinite(Y)
    n_cov = covered.sum(axis=0)
    filled = np.where(covered, Y, np.inf)
    best = np.argmin(filled, axis=0)
    has = n_cov > 0
    best = np.where(has, best, -1)
    loss = np.where(has, np.exp(np.min(filled, axis=0)), np.nan)
    n_run = curves.runs["params"].to_numpy(float)
    params = np.where(has, n_run[np.maximum(best, 0)], np.nan)
    with np.errstate(all="ignore"):
        smaller = np.nanmin(np.where(covered, n_run[:, None], np.inf), axis=0) < params
        larger = np.nanmax(np.where(covered, n_run[:, None], -np.inf), axis=0) > params
    ids = np.where(has, curves.run_ids.astype(str)[np.maximum(best, 0)], "")
    return Envelope(compute=np.exp(grid), loss=loss, run=best, run_ids=ids, params=params, n_covering=n_cov,
                    bracketed=has & smaller & larger, k=curves.flops_per_token_param, metric=curves.metric,
                    excluded=exclude, skip_steps=float(skip_steps), skip_tokens=float(skip_tokens),
                    skip_fraction=float(skip_fraction), smoothing=int(smoothing))


# ------------------------------------------------------------------------------ the frontier


@dataclass(frozen=True, eq=False)
class Approach1Fit:
    """Approach 1: the envelope, N*(C) = k_N C^a and L*(C) = E + A C^-alpha fitted to it."""

    envelope: Envelope
    n_opt: BootstrapResult  # power_law of N* against compute: N* = A C^-alpha, so a = -alpha
    loss: BootstrapResult | None  # offset_power_law of the envelope loss against compute
    used: np.ndarray  # (m,) grid points in the fits
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        from .formatting import format_estimate

        lines = [f"Approach1Fit: N*(C) = k_N C^a with a = {format_estimate(self.a)} "
                 f"({self.n_opt.interval_label}); {self.envelope!r}"]
        if self.loss is not None:
            alpha = self.loss.estimates["alpha"]
            lines.append(f"  L*(C) = E + A C^-alpha with alpha = {format_estimate(alpha)}, "
                         f"E = {format_estimate(self.loss.estimates['E'])}")
        if self.warnings:
            lines.append(f"  {len(self.warnings)} warning(s): {self.warnings[0][:100]}")
        return "\n".join(lines)

    @property
    def a(self) -> Estimate:
        """The exponent of N* ~ C^a with its interval."""
        alpha = self.n_opt.fit.params["alpha"]
        lo, hi = self.n_opt.confidence_interval["alpha"]
        return Estimate(-alpha, -hi, -lo, self.n_opt.standard_error["alpha"])

    @property
    def interval_label(self) -> str:
        return (f"{self.n_opt.confidence_level:.0%} bootstrap percentile interval (whole envelope segments resampled: "
                f"{self.n_opt.n_resamples - self.n_opt.n_failed} resamples)")

    def compute_optimal(self, compute: float) -> dict[str, Estimate]:
        """N* and D* = C/(kN*) at ``compute``, and the envelope-law loss there."""
        c = np.array([float(compute)])
        n = self.n_opt.predict_at(c)
        k = self.envelope.k
        out = {"params": n, "tokens": Estimate(float(compute) / (k * n.value), float(compute) / (k * n.high),
                                               float(compute) / (k * n.low), math.nan)}
        if self.loss is not None:
            out["loss"] = self.loss.predict_at(c)
        return out

    def to_dict(self) -> dict:
        a = self.a
        d = {"approach": 1, "a": {"value": a.value, "low": a.low, "high": a.high},
             "n_opt_fit": self.n_opt.to_dict(), "grid_points_used": int(self.used.sum()),
             "warnings": list(self.warnings)}
        if self.loss is not None:
            d["loss_fit"] = self.loss.to_dict()
        return d


def envelope_runs(env: Envelope, used: np.ndarray | None = None) -> Runs:
    """The envelope points as :class:`~scalecore.data.Runs` (one "run" per grid point, grouped by the
    run that sets it), so the library's fits and bootstraps apply unchanged."""
    used = env.run >= 0 if used is None else used
    i = np.flatnonzero(used)
    metric = env.metric if env.metric not in ("run_id", "group", "params", "tokens", "compute", "n_opt") else "loss"
    frame = pd.DataFrame({"run_id": [f"env{j:04d}" for j in i], "group": env.run_ids[i].astype(str),
                          "compute": env.compute[i], metric: env.loss[i], "n_opt": env.params[i]})
    return Runs(frame=frame, metrics=(metric, "n_opt"), sources=("envelope",))


def approach1(curves: Curves, *, exclude: Sequence[str] = (), skip_steps: float = 0.0, skip_tokens: float = 0.0,
              skip_fraction: float = 0.0, smoothing: int = 0, n_grid: int = 200, bracketed_only: bool = True,
              fit_loss: bool = True, n_resamples: int = 1000, confidence_level: float = 0.95, seed: int | None = 0,
              delta: float = 1e-3) -> Approach1Fit:
    """Approach 1: the envelope of ``curves`` and the frontier fitted to it.

    ``N*(C)`` is fitted with the ``power_law`` family (``a = -alpha``) and the envelope loss with
    ``offset_power_law`` (the Chinchilla law's frontier has exactly this form,
    ``E + K C^-(alpha beta/(alpha+beta))``), both against compute, through :func:`fitting.prepare`,
    :func:`fitting.fit_problem` and :func:`bootstrap_problem` with ``method="groups"``: each
    resample draws whole envelope segments (the runs setting the envelope) with replacement.
    With ``bracketed_only`` (default) only grid points where a smaller and a larger model both
    reach the compute are fitted.
    """
    env = envelope(curves, exclude=exclude, skip_steps=skip_steps, skip_tokens=skip_tokens,
                   skip_fraction=skip_fraction, smoothing=smoothing, n_grid=n_grid)
    used = env.bracketed.copy() if bracketed_only else env.run >= 0
    warnings = []
    segments = np.unique(env.run[used])
    if used.sum() < 4 or len(segments) < 2:
        raise FitError(
            f"the envelope has {int(used.sum())} {'bracketed ' if bracketed_only else ''}grid point(s) set by "
            f"{len(segments)} run(s); a frontier needs at least 2 runs setting it. "
            + ("Train models on both sides of the best size at each compute, or fit all envelope points "
               "(bracketed_only=False)." if bracketed_only else "Include more runs."))
    if len(segments) < 4:
        warnings.append(f"only {len(segments)} runs set the envelope where it is fitted: N* takes {len(segments)} "
                        "distinct values, so the exponent is coarse and its interval wide")
    runs = envelope_runs(env, used)
    common = dict(n_resamples=n_resamples, confidence_level=confidence_level, seed=seed, method="groups")
    pn = prepare(runs, "power_law", x="compute", y="n_opt", delta=delta)
    n_fit = bootstrap_problem(pn, fit=fit_problem(pn), **common)
    loss_fit = None
    if fit_loss:
        try:
            pl = prepare(runs, "offset_power_law", x="compute", y=runs.metrics[0], delta=delta)
            loss_fit = bootstrap_problem(pl, fit=fit_problem(pl), **common)
        except FitError as exc:
            warnings.append(f"the envelope loss could not be fitted: {exc}")
    return Approach1Fit(envelope=env, n_opt=n_fit, loss=loss_fit, used=used, warnings=tuple(warnings))

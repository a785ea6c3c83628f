"""Plausibility of sizes read from a file: a run whose tokens per parameter is wildly out of line with
the others' is named in a note, never changed (issue 21).

Ruan et al.'s table gives BTLM-3B-8K a "Pretraining Data Size (T)" of 627: 627 trillion tokens, where
the model was trained on 627 billion (a unit slip in the source). Read as written it is 209,000 tokens
per parameter, over a thousand times the other models' median; the note names it and says to check
its unit. The values stay as the file has them: the user decides.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..formatting import format_value, scale_text

#: A run is named when its tokens per parameter is this many times above (or below) the median of the others.
RATIO_LIMIT = 100.0
#: ... and this many times beyond the most extreme of the other runs (a gap, not the end of a sweep: an
#: IsoFLOP sweep's smallest model at its budget has a ratio 100x the median, next to others almost as far).
GAP = 10.0
#: Fewer runs with both sizes than this: no median worth comparing with.
MIN_RUNS = 5


def tokens_per_param_outliers(params: np.ndarray, tokens: np.ndarray,
                              limit: float = RATIO_LIMIT) -> list[tuple[int, float, float]]:
    """``(row, tokens per parameter, times the others' median)`` of each run whose D/N is more than ``limit``
    times above or below the median D/N of the other runs and :data:`GAP` times beyond all of them (only
    runs with both sizes count)."""
    params, tokens = np.asarray(params, float), np.asarray(tokens, float)
    known = np.flatnonzero(np.isfinite(params) & np.isfinite(tokens) & (params > 0) & (tokens > 0))
    if len(known) < MIN_RUNS:
        return []
    ratio = tokens[known] / params[known]
    if len(ratio) >= _SORT_BELOW:
        found = _few_outliers(ratio, limit)
        if found is not None:
            return [(int(known[j]), r, t) for j, r, t in found]
    order = np.argsort(ratio, kind="stable")
    r = ratio[order]
    n, k = len(r), np.arange(len(r))
    # each run's others: the sorted ratios without position k (median and ends in O(n) after the sort)
    lo, hi = (n - 2) // 2, (n - 1) // 2

    def others_at(j: int) -> np.ndarray:
        return np.where(j < k, r[j], r[np.minimum(j + 1, n - 1)])

    median = 0.5 * (others_at(lo) + others_at(hi))
    largest = np.where(k == n - 1, r[n - 2], r[n - 1])
    smallest = np.where(k == 0, r[1], r[0])
    times = r / median
    odd = ((times > limit) & (r > GAP * largest)) | ((times < 1.0 / limit) & (r < smallest / GAP))
    out = [(int(known[order[j]]), float(r[j]), float(times[j])) for j in np.flatnonzero(odd)]
    return sorted(out)


#: From this many runs on, order statistics by partition (O(n)) instead of a sort: a million-row file.
_SORT_BELOW = 5000
#: More candidates than this: sort after all.
_MAX_CANDIDATES = 100


def _few_outliers(ratio: np.ndarray, limit: float) -> list[tuple[int, float, float]] | None:
    """The same answer as the sort from eight order statistics: removing one run moves the median by one
    position at most, so only runs beyond ``limit`` times the lowest (or below the highest) possible
    median of the others are candidates; each is then checked exactly. None when there are too many."""
    n = len(ratio)
    a, b = (n - 2) // 2, (n - 1) // 2
    part = np.partition(ratio, [0, 1, a, a + 1, b, b + 1, n - 2, n - 1])
    lowest, highest = 0.5 * (part[a] + part[b]), 0.5 * (part[a + 1] + part[b + 1])
    candidates = np.flatnonzero((ratio > limit * lowest) | (ratio < highest / limit))
    if len(candidates) > _MAX_CANDIDATES:
        return None
    out = []
    for j in candidates:
        x = ratio[j]
        if x > part[b]:
            median = lowest
        elif x < part[a]:
            median = highest
        else:
            median = float(np.median(np.delete(ratio, j)))
        largest = part[n - 2] if x >= part[n - 1] else part[n - 1]
        smallest = part[1] if x <= part[0] else part[0]
        times = x / median
        if (times > limit and x > GAP * largest) or (times < 1.0 / limit and x < smallest / GAP):
            out.append((int(j), float(x), float(times)))
    return out


def tokens_per_param_note(name: str, ids: Sequence[str] | None, params: np.ndarray, tokens: np.ndarray,
                          tokens_column: str, limit: float = RATIO_LIMIT) -> str | None:
    """The note naming the runs whose tokens per parameter is out of line (``ids``: run ids, or None for
    r1, r2, ...), e.g. "BTLM-3B-8K: 627T tokens is 209,000 tokens per parameter, 1,000x the others'
    median; check its unit"; None when every run is in line."""
    found = tokens_per_param_outliers(params, tokens, limit)
    if not found:
        return None
    parts = []
    for row, ratio, times in found:
        run = ids[row] if ids is not None else f"r{row + 1}"
        relation = (f"{_round(times)}x the others' median" if times > 1
                    else f"1/{_round(1 / times)} of the others' median")
        parts.append(f"{run}: {scale_text(float(np.asarray(tokens, float)[row]), 'tokens')} tokens is "
                     f"{_round(ratio)} tokens per parameter, {relation}")
    return (f"`{name}`, column `{tokens_column}` (tokens): {'; '.join(parts)}; check "
            f"{'its unit' if len(parts) == 1 else 'their units'} (a value in billions written in a trillions "
            f"column is 1,000x too large). The values are used as written.")


def _round(x: float) -> str:
    """3 significant figures with thousands separators (209,000; 1,040), 2 below 1,000 (35; 0.19)."""
    if x >= 1000:
        return f"{round(x, 2 - int(np.floor(np.log10(x)))):,.0f}"
    return format_value(x, digits=2)

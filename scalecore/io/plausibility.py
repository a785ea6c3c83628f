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
    # Removing one run moves the median by one position at most, so eight order statistics (by partition,
    # O(n): a million-row file) give every run's median of the others and largest / smallest of the others:
    # a run above the median's positions sees the lower pair, one below them the upper pair. A run at the
    # median itself lies between the others' largest and smallest, so it is never named (times set to 1).
    n = len(ratio)
    a, b = (n - 2) // 2, (n - 1) // 2
    part = np.partition(ratio, [0, 1, a, a + 1, b, b + 1, n - 2, n - 1])
    lower, upper = 0.5 * (part[a] + part[b]), 0.5 * (part[a + 1] + part[b + 1])
    median = np.where(ratio > part[b], lower, np.where(ratio < part[a], upper, ratio))
    largest = np.where(ratio >= part[n - 1], part[n - 2], part[n - 1])
    smallest = np.where(ratio <= part[0], part[1], part[0])
    times = ratio / median
    odd = ((times > limit) & (ratio > GAP * largest)) | ((times < 1.0 / limit) & (ratio < smallest / GAP))
    return [(int(known[j]), float(ratio[j]), float(times[j])) for j in np.flatnonzero(odd)]


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

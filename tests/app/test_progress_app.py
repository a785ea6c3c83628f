"""Progress from inside a bootstrap on the pages (issue 22): the polling helper, and the Explore page
showing the same numbers with its bar moving within a family."""

from __future__ import annotations

import re
import threading

import pytest

from scalecore.solver import progress_callback
from tests.app.test_explore import assert_parameter_table, expected_boot, no_errors, start
from ui.progress import Counter, run_with_progress


def test_the_script_thread_sees_every_count_the_worker_reports():
    """The worker reports 10, 20, ... 50 and waits each time until the polling thread has shown it:
    no timing, only hand-offs (the waits are generous and end as soon as the tick comes)."""
    seen, shown = [], threading.Event()
    worker_threads = []

    def step():
        worker_threads.append(threading.current_thread())
        cb = progress_callback()
        for k in range(1, 6):
            shown.clear()
            cb(10 * k, 50)
            assert shown.wait(60), f"count {10 * k} was never shown"
        return "value"

    def tick(done, total):
        assert threading.current_thread() is main  # drawn on the caller's thread
        seen.append((done, total))
        shown.set()

    main = threading.current_thread()
    assert run_with_progress(step, tick, poll=0.01) == "value"
    assert worker_threads[0] is not main
    assert seen == [(10, 50), (20, 50), (30, 50), (40, 50), (50, 50)]


def test_errors_come_back_to_the_script_thread_and_counts_never_go_back():
    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_with_progress(fail, lambda d, t: None, poll=0.01)
    c = Counter()
    c(30, 100)
    c(20, 100)  # a chunk's older sum arriving late
    assert (c.done, c.total) == (30, 100)


def test_explore_shows_the_same_numbers_with_the_bar_on(monkeypatch, progress_calls):
    seen = progress_calls
    at = start(n="500", seed="6211")  # a first run: the bar is on; a seed no other test fits
    no_errors(at)
    assert_parameter_table(at, expected_boot(n_resamples=500, seed=6211))
    counts = [int(m.group(1).replace(",", "")) for _, t in seen if t
              for m in [re.search(r": ([\d,]+) of 500 resamples done", t)] if m]
    assert counts and counts[0] == 0 and counts == sorted(counts) and max(counts) <= 500
    values = [v for v, _ in seen]
    assert values == sorted(values) and 0 <= min(values) and max(values) <= 1
    assert not at.get("progress")  # emptied once the fits are done

"""Progress from inside a bootstrap (issue 22): the solver reports (resamples settled, total) as
they settle, without changing a single number."""

import threading

import numpy as np
import pytest

from scalecore import fit, load_runs
from scalecore.bootstrap import bootstrap_problem
from scalecore.solver import reporting


@pytest.fixture(scope="module")
def chinchilla_fit():
    return fit(load_runs("sample_runs/chinchilla_like.csv"), "chinchilla")


def _recorder():
    calls, lock = [], threading.Lock()

    def cb(done, total):
        with lock:
            calls.append((done, total))

    return calls, cb


@pytest.mark.parametrize("threads, n", [("1", 200), ("2", 400)])
def test_counts_are_monotone_and_end_at_the_total(chinchilla_fit, monkeypatch, threads, n):
    # one chunk, or (400 resamples x 243 runs, over solver.PARALLEL_MIN_SIZE) two chunks in threads, summed
    monkeypatch.setenv("SCALECORE_THREADS", threads)
    plain = chinchilla_fit.bootstrap(n, seed=3)
    calls, cb = _recorder()
    with reporting(cb):
        reported = chinchilla_fit.bootstrap(n, seed=3)
    assert len(calls) >= 3  # the first check, some in between, the end
    assert all(total == n for _, total in calls)
    done = [d for d, _ in calls]
    assert done[-1] == n
    assert all(0 <= d <= n for d in done)
    if threads == "1":  # one thread calls back in order; with chunks the sum is read under races
        assert done == sorted(done)
    assert max(done) == n and min(done) < n
    # the same numbers, bit for bit
    np.testing.assert_array_equal(reported.samples, plain.samples)
    np.testing.assert_array_equal(reported.failed, plain.failed)


def test_explicit_callback_and_unusable_resamples_count_as_settled(chinchilla_fit, monkeypatch):
    monkeypatch.setenv("SCALECORE_THREADS", "1")
    calls, cb = _recorder()
    boot = bootstrap_problem(chinchilla_fit.problem, n_resamples=150, seed=1, fit=chinchilla_fit, progress=cb)
    assert calls[-1] == (150, 150)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert boot.n_resamples == 150
    # outside the block nothing is reported
    calls.clear()
    chinchilla_fit.bootstrap(50, seed=1)
    assert calls == []

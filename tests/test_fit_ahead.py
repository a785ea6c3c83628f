"""Fitting ahead: the background worker's scheduling, and the solver's stop check under it.

The worker's jobs here are plain solves of a small synthetic problem, so each test controls how
long a job runs; the app test in tests/app/test_explore.py checks the real jobs end to end.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from scalecore import solver as fitting
from scalecore.families import get_family
from ui import fit_ahead


def _problem(B: int = 400, n: int = 120):
    """A batch of offset power laws (B problems of n runs) with noise: a few dozen solver iterations."""
    fam = get_family("offset_power_law")
    rng = np.random.default_rng(3)
    x = np.geomspace(1e17, 1e22, n)
    y = np.log(1.7 + 400 * x ** -0.11) + rng.normal(0, 0.01, size=n)
    weights = rng.poisson(1.0, size=(B, n)).astype(float)
    z0 = np.repeat(fam.to_internal(np.array([1.0, 100.0, 0.1]))[None, :], B, axis=0)
    return fam, {"x": x}, y, weights, z0


def test_a_background_solve_gives_the_foreground_answer_on_one_core():
    fam, inputs, y, w, z0 = _problem()
    assert w.size >= fitting.PARALLEL_MIN_SIZE  # large enough for the foreground to use every core
    front = fitting.solve(fam, inputs, y, w, z0)
    with fitting.in_background(lambda: False, threads=1):
        assert fitting._workers() == 1
        back = fitting.solve(fam, inputs, y, w, z0)
    np.testing.assert_array_equal(front.z, back.z)
    np.testing.assert_array_equal(front.objective, back.objective)
    assert front.converged.all() and front.n_iter.max() > 3


def test_the_stop_check_cancels_a_solve_at_its_next_iteration():
    fam, inputs, y, w, z0 = _problem()
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 3

    with fitting.in_background(stop):
        with pytest.raises(fitting.Cancelled):
            fitting.solve(fam, inputs, y, w, z0)
    assert len(calls) == 3
    fitting.solve(fam, inputs, y, w, z0)  # outside the block nothing stops it
    assert len(calls) == 3


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setattr(fit_ahead, "START_DELAY", 0.0)
    return fit_ahead._Worker()


def _solves(count: int | None, log: list, name: str, until: threading.Event | None = None):
    """A job of ``count`` solves (None: until it is cancelled, or until ``until`` is set)."""
    fam, inputs, y, w, z0 = _problem(B=40, n=60)

    def run():
        i = 0
        log.append(("start", name))
        while (count is None or i < count) and not (until is not None and until.is_set()):
            fitting.solve(fam, inputs, y, w, z0)
            i += 1
        log.append(("end", name))

    return run


def test_planned_jobs_run_in_order_then_the_worker_is_idle(worker):
    log: list = []
    worker.plan([fit_ahead.Job(("a",), ("ds", "a"), _solves(2, log, "a")),
                 fit_ahead.Job(("b",), ("ds", "b"), _solves(2, log, "b"))])
    assert worker.wait_idle(60)
    assert log == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b")]
    assert list(worker.completed) == [("a",), ("b",)]


def test_a_page_run_cancels_work_it_does_not_need_and_keeps_work_it_does(worker):
    log: list = []
    worker.plan([fit_ahead.Job(("endless",), ("ds", "x"), _solves(None, log, "endless")),
                 fit_ahead.Job(("queued",), ("ds", "y"), _solves(1, log, "queued"))])
    _wait_for(lambda: ("start", "endless") in log)
    worker.yield_to([("something else",)], [])  # the user moved on: the endless job stops, the queue is dropped
    assert worker.wait_idle(30)
    assert ("end", "endless") not in log and ("start", "queued") not in log
    assert not worker.completed

    worker.plan([fit_ahead.Job(("needed",), ("ds", "z"), _solves(30, log, "needed"))])
    _wait_for(lambda: ("start", "needed") in log)
    worker.yield_to([("needed",)], [])  # this run waits for that very result: the job goes on
    assert worker.wait_idle(60)
    assert ("end", "needed") in log and list(worker.completed) == [("needed",)]


def test_a_page_run_pauses_work_it_will_plan_again_until_it_is_done(worker, monkeypatch):
    """While the page runs, work it will plan again waits (the run has both cores to itself), and
    the time it waits does not count towards the time limit."""
    # The job's own work is a few milliseconds of solves before the pause and one after, far below
    # the limit even on a loaded machine; the pause is longer than the limit.
    monkeypatch.setattr(fit_ahead, "MAX_SECONDS", 1.5)
    log: list = []
    release = threading.Event()
    job = fit_ahead.Job(("later",), ("ds", "later"), _solves(None, log, "later", until=release))
    worker.plan([job])
    _wait_for(lambda: ("start", "later") in log)
    worker.yield_to([("needed by the run",)], [("later",)])
    calls = []
    real = worker._hold
    monkeypatch.setattr(worker, "_hold", lambda: calls.append(time.monotonic()) or real())
    time.sleep(2.5)
    assert len(calls) == 1 and ("end", "later") not in log  # one check, then it waits
    release.set()
    worker.plan([job])
    assert worker.wait_idle(60)
    assert ("end", "later") in log and list(worker.completed) == [("later",)]  # not given up as too slow
    assert calls[1] - calls[0] >= 2.4  # the next check came after the pause


def test_a_job_over_the_time_limit_is_cancelled_and_not_tried_again(worker, monkeypatch):
    monkeypatch.setattr(fit_ahead, "MAX_SECONDS", 0.3)
    log: list = []
    slow = ("ds", "broken_power_law", "compute")
    worker.plan([fit_ahead.Job(("fit", "slow"), slow, _solves(None, log, "fit")),
                 fit_ahead.Job(("backtest", "slow"), slow, _solves(1, log, "backtest")),
                 fit_ahead.Job(("other",), ("ds", "other"), _solves(1, log, "other"))])
    assert worker.wait_idle(30)  # the endless job was cut
    assert list(worker.completed) == [("other",)]  # the slow family's backtest was dropped with it
    assert [e for e in log if e[0] == "start"] == [("start", "fit"), ("start", "other")]
    worker.plan([fit_ahead.Job(("fit", "slow"), slow, _solves(1, log, "again"))])
    assert worker.wait_idle(30)
    assert ("start", "again") not in log


def test_plan_does_nothing_when_fitting_ahead_is_off(monkeypatch):
    monkeypatch.setenv("SCALECORE_FIT_AHEAD", "0")
    ran = threading.Event()
    before = fit_ahead.WORKER.busy()
    fit_ahead.plan([fit_ahead.Job(("x",), ("ds", "x"), ran.set)])
    time.sleep(0.2)
    assert not ran.is_set() and fit_ahead.WORKER.busy() == before


def _wait_for(condition, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_a_paused_job_goes_on_after_the_pause_limit(worker, monkeypatch):
    """A page run that never finishes (or that waits on the paused job's own result) does not hold
    the job for ever."""
    monkeypatch.setattr(fit_ahead, "MAX_PAUSE", 0.5)
    log: list = []
    worker.plan([fit_ahead.Job(("later",), ("ds", "later"), _solves(40, log, "later"))])
    _wait_for(lambda: ("start", "later") in log)
    worker.yield_to([], [("later",)])  # paused, and no plan() follows
    assert worker.wait_idle(60)
    assert ("end", "later") in log and list(worker.completed) == [("later",)]

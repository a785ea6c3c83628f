"""Fitting ahead of the user: while the page sits idle, what the user is likely to ask for next is
fitted and bootstrapped in the background (the Explore page says what: the families switched on
without the runs it suggests as outliers, and the families not switched on), so that asking for it
is a cache hit (a rerun) rather than a bootstrap.

One worker thread per server process, on one solver core, and never while the page runs: the
user's rerun gets both cores and the interpreter to itself. The page talks to it twice per run:

- :func:`yield_to` as a run starts: queued jobs are dropped, and the running job, at the solver's
  next iteration,
  - goes on if this run needs that very result (the run waits for it through the cache's per-key
    lock, and none of the work is lost);
  - pauses if this run would plan it again (a rerun that changed nothing the fits depend on: a
    confidence level, a tab);
  - is cancelled otherwise (the user excluded runs, changed a setting or the data).
- :func:`plan` when the run is done (also when it failed): the jobs to do next. Work starts, or
  resumes, :data:`START_DELAY` later (:data:`FIRST_DELAY` after a session's first run), while the
  browser draws the page.

A job is a call into :mod:`ui.cache`, so its result is exactly the one the page would compute
(the solver's answers do not depend on how many cores it has). A cancelled job leaves nothing in
the cache. A job that runs past :data:`MAX_SECONDS` is cancelled and not tried again for that
dataset and family: a broken power law the data cannot identify takes a minute of both cores.
The latest plan wins, whichever session sent it. ``SCALECORE_FIT_AHEAD=0`` turns it all off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from scalecore import FAMILIES
from scalecore.solver import Cancelled, in_background

from . import cache

log = logging.getLogger("scalecore.app")

#: Seconds from the end of a page run to the first job: the browser draws the page meanwhile.
START_DELAY = 1.0
#: ... after a session's first run, when the browser loads and compiles its components: with 1 s,
#: fitting ahead made the first fitted plot of a cold start 0.75 s later (median of 5 alternating
#: cold starts, 5.20 s against 4.45 s); with 3 s it made no difference (4.74 s against 4.58 s).
FIRST_DELAY = 3.0
#: A job still running after this many seconds of work is cancelled and remembered as too slow.
MAX_SECONDS = 5.0
#: A paused job goes on after this many seconds whatever the page does.
MAX_PAUSE = 10.0


def enabled() -> bool:
    return os.environ.get("SCALECORE_FIT_AHEAD", "1") != "0"


@dataclass(frozen=True)
class Job:
    """One cached computation: ``key`` names the result it fills (the page lists the keys it needs
    with the same :func:`fit_jobs`), ``slow_key`` what it is remembered by if it is too slow."""

    key: tuple
    slow_key: tuple
    run: Callable[[], object] = field(compare=False)


class _Worker:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: list[Job] = []
        self._start_at = 0.0  # no work before this moment (monotonic seconds)
        self._current: Job | None = None
        self._cancel = False
        self._paused = False
        self._too_slow: set[tuple] = set()
        self._thread: threading.Thread | None = None
        self.completed: deque = deque(maxlen=256)  # keys of finished jobs, newest last (for tests)

    def plan(self, jobs: Iterable[Job], start: bool = True, delay: float | None = None) -> None:
        with self._cond:
            self._paused = False
            self._start_at = time.monotonic() + (START_DELAY if delay is None else delay)
            wanted = [j for j in jobs if j.slow_key not in self._too_slow] if start else []
            current = None if self._current is None else self._current.key
            if current is not None and current not in {j.key for j in wanted}:
                self._cancel = True
            self._jobs = [j for j in wanted if j.key != current]  # the running job goes on
            if self._jobs and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._loop, name="scalecore-fit-ahead", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def yield_to(self, needed: Iterable[tuple], later: Iterable[tuple]) -> None:
        with self._cond:
            self._jobs = []
            current = None if self._current is None else self._current.key
            if current is None or current in set(needed):
                return
            if current in set(later):
                self._paused = True
            else:
                self._cancel = True

    def busy(self) -> bool:
        with self._cond:
            return bool(self._jobs) or self._current is not None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running; False if ``timeout`` seconds pass first."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._current is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _next(self) -> Job:
        with self._cond:
            while True:
                now = time.monotonic()
                if self._jobs and now >= self._start_at:
                    self._current, self._cancel = self._jobs.pop(0), False
                    return self._current
                self._cond.wait(None if not self._jobs else self._start_at - now)

    def _hold(self) -> float:
        """The solver's check, once per iteration: wait while paused or before the start time, but
        no longer than :data:`MAX_PAUSE` (a page run that came to need the paused job's result would
        otherwise wait for it for ever, on the cache's lock). Returns the seconds waited."""
        t0 = time.monotonic()
        with self._cond:
            while not self._cancel and (self._paused or time.monotonic() < self._start_at):
                left = t0 + MAX_PAUSE - time.monotonic()
                if left <= 0:
                    self._paused, self._start_at = False, 0.0  # until the next page run
                    break
                self._cond.wait(left if self._paused else min(left, self._start_at - time.monotonic()))
        return time.monotonic() - t0

    def _loop(self) -> None:
        while True:
            job = self._next()
            spent = [0.0, time.monotonic()]  # seconds of work, and when the last stretch began

            def stop() -> bool:
                now = time.monotonic()
                spent[0] += now - spent[1]
                spent[1] = now + self._hold()
                return self._cancel or spent[0] > MAX_SECONDS

            try:
                with in_background(stop, threads=1):
                    job.run()
                self.completed.append(job.key)
                log.info("fitted ahead %s in %.2f s", job.key[:2], spent[0] + time.monotonic() - spent[1])
            except Cancelled:
                if spent[0] > MAX_SECONDS:
                    with self._cond:
                        self._too_slow.add(job.slow_key)
                        self._jobs = [j for j in self._jobs if j.slow_key != job.slow_key]
                    log.info("fitting %s ahead took over %.0f s: left to the page", job.slow_key, MAX_SECONDS)
            except Exception:  # noqa: BLE001 -- background work must never take the server down
                log.exception("fitting ahead failed for %s", job.key[:2])
            finally:
                with self._cond:
                    self._current = None
                    self._cond.notify_all()


WORKER = _Worker()


def fit_jobs(families: Iterable[str], fit_axis: Callable[[str], str | None], call: dict) -> list[Job]:
    """Each family's fit with its bootstrap, then its backtest: what switching it on computes.
    Laws in N and D first (on such data they are the likely next choice), then by parameter count
    (fewest first: the cheapest, and the most likely to be identified)."""
    jobs = []
    for f in sorted(families, key=lambda f: (not FAMILIES[f].is_two_input, FAMILIES[f].n_params)):
        args = dict(family=f, axis=fit_axis(f), **call)
        # the bootstrap serves every confidence level: a level change must not cancel it
        key = (f, args["axis"], call["data_key"], call["metric"], call["exclude"], cache.at_any_level(call["settings"]))
        slow = (call["data_key"], f, args["axis"])
        jobs.append(Job(("fit",) + key, slow, lambda args=args: cache.fit(**args)))
        jobs.append(Job(("backtest",) + key, slow, lambda args=args: cache.backtest(**args)))
    return jobs


def yield_to(needed: Iterable[Job], later: Iterable[Job]) -> None:
    """A page run starts that computes ``needed`` and will plan ``later``: see the module's text."""
    WORKER.yield_to([j.key for j in needed], [j.key for j in later])


def plan(jobs: Iterable[Job], first: bool = False) -> None:
    """A page run is done (``first``: the session's first): fit these next. When fitting ahead is
    off, this only lets paused work go."""
    WORKER.plan(jobs, start=enabled(), delay=FIRST_DELAY if first else START_DELAY)

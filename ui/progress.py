"""Progress bars for long steps (issue 22): a bootstrap counts its resamples as they settle.

The solver calls back from its own threads (:func:`scalecore.solver.reporting`), and Streamlit
elements must be updated from the script's thread. So the step runs in a worker thread (with the
script's run context attached, for the cached call it makes) while the script thread polls a
shared counter and moves the bar: :func:`run_with_progress`. A cached call that is a hit returns
at once (the worker ends before the first poll).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from scalecore.solver import reporting

#: How often the script thread redraws the bar while the step runs (seconds).
POLL_SECONDS = 0.1


class Counter:
    """The callback the solver calls from its threads: keeps the largest count of settled resamples
    (chunks solved in parallel report sums that can arrive out of order) and the total."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            self.total = int(total)
            self.done = max(self.done, int(done))


def run_with_progress(fn: Callable[[], Any], on_tick: Callable[[int, int], None], poll: float | None = None) -> Any:
    """``fn()`` computed in a worker thread inside :func:`scalecore.solver.reporting`, while this
    (the script's) thread calls ``on_tick(settled, total)`` whenever the count moved, every ``poll``
    seconds. Returns ``fn()``'s value or raises its exception. If the script is stopped meanwhile
    (a rerun), the worker still finishes, so the cached result is not lost."""
    poll = POLL_SECONDS if poll is None else poll
    counter = Counter()
    box: dict = {}

    def work() -> None:
        try:
            with reporting(counter):
                box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 -- handed to the script thread as it is
            box["error"] = exc

    worker = threading.Thread(target=work, name="scalecore-progress", daemon=True)
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        add_script_run_ctx(worker, ctx)
    worker.start()
    shown = 0
    while True:
        worker.join(poll)
        if not worker.is_alive():
            break
        if counter.done != shown:
            shown = counter.done
            on_tick(counter.done, counter.total)
    if "error" in box:
        raise box["error"]
    return box["value"]

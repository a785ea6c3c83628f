"""App tests share one process per xdist worker, and with it ui.fit_ahead's background worker."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def no_background_fits_outlive_their_test():
    """A test that turns fitting ahead on leaves the worker fitting after it ends; its log lines then
    went to the stderr of whatever test ran next (a CLI test that reads its own stderr failed on
    them). After each test, cancel what is queued or running and wait until the worker is idle."""
    yield
    fit_ahead = sys.modules.get("ui.fit_ahead")
    if fit_ahead is not None:
        fit_ahead.WORKER.plan([], start=False)
        assert fit_ahead.WORKER.wait_idle(120), "the fit-ahead worker did not stop"


@pytest.fixture
def progress_calls(monkeypatch) -> list:
    """Every ``st.progress`` call of the test as (value, text), recorded as it is made (a bar is gone
    once its step is done, so the page cannot be read for it afterwards)."""
    from streamlit.delta_generator import DeltaGenerator

    seen: list = []
    original = DeltaGenerator.progress

    def progress(self, value, text=None, **kwargs):
        seen.append((value, text))
        return original(self, value, text=text, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "progress", progress)
    return seen

"""The ui package's helpers that need no page: the heap freeze, the rule for stale choices, the
server log."""

from __future__ import annotations

import gc
import io
import sys
import types

import pytest

import ui
from ui import state


def test_the_heap_is_frozen_after_a_run_that_imported_code_and_only_then(monkeypatch):
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or 0)
    monkeypatch.setattr(ui, "_FROZEN_AT", [0])  # as in a fresh process (earlier app tests froze already)
    gc.unfreeze()
    try:
        ui.freeze_the_imports()
        frozen = gc.get_freeze_count()
        assert len(collections) == 1 and frozen > 0  # everything alive now is out of the collector's way

        ui.freeze_the_imports()  # nothing imported since: no collection, nothing more frozen
        assert len(collections) == 1

        monkeypatch.setitem(sys.modules, "imported_by_a_new_page", types.ModuleType("imported_by_a_new_page"))
        ui.freeze_the_imports()
        assert len(collections) == 2
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("chosen, made_for, options, stale", [
    (["kaplan"], ("chinchilla", "kaplan"), ["chinchilla", "kaplan"], False),  # the options it was made for
    ([], ("chinchilla", "kaplan"), ["chinchilla", "kaplan"], False),  # an empty choice, made here, stands
    (["kaplan", "logistic"], ("kaplan", "logistic"), ["chinchilla", "kaplan"], False),  # some of it still applies
    (["logistic"], ("logistic",), ["chinchilla", "kaplan"], True),  # other data: none of it applies
    (None, None, ["chinchilla"], True),
])
def test_a_multi_choice_is_stale_only_when_made_for_other_options_and_none_of_it_applies(chosen, made_for, options,
                                                                                          stale):
    assert state.choice_is_stale(chosen, made_for, options) is stale


def test_the_server_log_follows_stderr_when_it_is_swapped(monkeypatch):
    """pytest gives each test its own stderr and closes it after; a background fit that logs later
    must write to the stderr of that moment, not raise "I/O operation on closed file"."""
    monkeypatch.setattr(ui.log, "handlers", [])
    ui.log_to_stderr()
    ui.log_to_stderr()  # once per process, however many runs ask
    assert len(ui.log.handlers) == 1
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    ui.log.info("during the test")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    ui.log.info("after it")
    assert second.getvalue().endswith("INFO scalecore.app: after it\n")


def test_settings_round_trip_through_the_url_parameters_the_pages_write():
    """Explore binds each setting's widget to the URL parameter ``state.SETTING_KEYS[field]``; a link
    carries the values as text, and the widgets give them back typed. Every key names a field of
    the one Settings, and a link gives back the same Settings (so the same cache key)."""
    from dataclasses import fields

    from scalecore import Settings
    from ui import cache

    names = {f.name for f in fields(Settings)}
    assert set(state.SETTING_KEYS) <= names
    chosen = Settings(n_resamples=250, confidence_level=0.8, delta=1e-2, seed=17, method="groups")
    url = {key: str(getattr(chosen, name)) for name, key in state.SETTING_KEYS.items()}
    assert url == {"n": "250", "cl": "0.8", "delta": "0.01", "seed": "17", "method": "groups"}
    typed = {name: type(getattr(Settings(), name)) for name in state.SETTING_KEYS}  # what each widget returns
    back = Settings(**{name: typed[name](url[key]) for name, key in state.SETTING_KEYS.items()})
    assert back == chosen
    key = tuple(sorted(back.as_dict().items()))
    assert key == tuple(sorted(chosen.as_dict().items())) and cache._settings(key) == chosen
    # the bootstrap is keyed without the level: one entry serves every level
    assert cache._settings(cache.at_any_level(key)) == Settings(n_resamples=250, delta=1e-2, seed=17, method="groups")

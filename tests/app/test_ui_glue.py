"""ui/__init__.py's process-wide helpers."""

from __future__ import annotations

import gc
import sys
import types

import ui


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

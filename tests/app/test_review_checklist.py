"""The Review page saves the Li et al. (2025) checklist with the analysis and shows it when the
analysis is opened by its link."""

from __future__ import annotations

import numpy as np
import pytest
import scipy
from streamlit.testing.v1 import AppTest

import scalecore
from scalecore import store
from test_review_pages import APP, CSV, TIMEOUT, no_errors, uploaded


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "analyses.sqlite3"))


def test_saved_analysis_carries_and_shows_its_checklist():
    at = uploaded("views/review.py")
    at.text_input(key="save_title").set_value("checklist")
    at.button(key="save_submit").click().run()
    no_errors(at)
    (item,) = store.list_analyses()
    saved = dict(store.load(item.id).checklist)
    n_runs = CSV.decode().count("\n") - 1
    assert saved["data"] == f"{n_runs} runs from `two_arch.csv`; 2 groups"
    assert saved["seed"] == "0" and saved["resamples"] == "1000"
    assert saved["versions"] == f"scalecore {scalecore.__version__}, numpy {np.__version__}, scipy {scipy.__version__}"

    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.query_params["analysis"] = item.id
    fresh.run()
    fresh.switch_page("views/review.py")
    fresh.query_params["analysis"] = item.id
    fresh.run()
    no_errors(fresh)
    table = next(t.value for t in fresh.table if list(t.value.columns) == ["item", "value"])
    assert dict(zip(table["item"], table["value"])) == saved
    assert any(e.label == "Reporting checklist (Li et al. 2025)" for e in fresh.expander)

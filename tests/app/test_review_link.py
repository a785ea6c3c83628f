"""A shared link (review?analysis=<id>) opened in a fresh session: the sidebar names the saved
dataset, and the page shows the report's sections (fit quality with ΔAIC, N* and D*, scenarios side
by side) with the numbers scalecore computes here."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scalecore import bootstrap, load_runs, store
from scalecore.diagnostics import compare_families
from scalecore.formatting import format_estimate, format_value
from tests.synth import frame

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
DATA = frame("chinchilla", seed=2, noise=0.01).to_csv(index=False).encode()
SCENARIO = {"name": "1e22 on H100", "inputs": {"compute": 1e22},
            "answers": {"params_opt": {"value": 9.7e9, "low": 8.1e9, "high": 1.2e10},
                        "cost": {"value": 1.843e6, "low": None, "high": None}},
            "interval": "95% bootstrap percentile interval (cases, 200 resamples)"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "analyses.sqlite3"))
    monkeypatch.setenv("SCALECORE_FIT_AHEAD", "0")


def opened(aid: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["analysis"] = aid
    at.query_params["n"] = "50"
    at.run()
    at.switch_page("views/review.py")
    at.query_params["analysis"] = aid
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_shared_link_names_its_dataset_in_the_sidebar_and_shows_the_reports_sections():
    a = store.Analysis(title="sweep", files=(store.DataFile("sweep_runs.csv", DATA),), families=("chinchilla", "kaplan"),
                       settings=store.Settings(x="compute", n_resamples=200, seed=3, target=1e22),
                       exclusions={"r005": "spike"}, scenarios=(SCENARIO,), dataset="sweep_runs.csv")
    aid = store.save(a)
    at = opened(aid)
    from ui import data_source

    choice = at.sidebar.selectbox(key="ds_choice")
    # the saved dataset, not the default sample: its bytes, stored as an upload
    assert choice.value.startswith("upload:") and data_source.source_files(choice.value) == [("sweep_runs.csv", DATA)]
    assert "sweep_runs.csv  (saved analysis)" in choice.options
    assert at.session_state["ds_active"]["id"] == choice.value

    runs = load_runs(DATA)
    results = {f: bootstrap(runs, f, exclude=["r005"], n_resamples=200, seed=3) for f in a.families}
    tables = [t.value for t in at.table]
    quality = next(t for t in tables if "ΔAIC" in t.columns)
    ref = compare_families([b.fit for b in results.values()])
    assert list(quality["ΔAIC"]) == [format_value(v, "plain", 3) for v in ref["delta_aic"]]
    alloc = next(t for t in tables if "N* [interval]" in t.columns).set_index("family")
    opt = results["chinchilla"].compute_optimal(1e22, runs.flops_per_token_param)
    assert alloc.loc["Chinchilla", "N* [interval]"] == format_estimate(opt["params"], kind="count")
    assert alloc.loc["Chinchilla", "D* [interval]"] == format_estimate(opt["tokens"], kind="count")
    scen = next(t for t in tables if "1e22 on H100" in t.columns)
    assert scen.loc["compute-optimal model size N*", "1e22 on H100"] == "9.7B [8.1B, 12.0B]"
    assert scen.loc["cost (USD)", "1e22 on H100"] == "$1.84M"


def test_a_session_with_work_of_its_own_keeps_its_dataset_and_the_sidebar_names_the_saved_one():
    a = store.Analysis(title="sweep", files=(store.DataFile("sweep_runs.csv", DATA),), families=("chinchilla",),
                       settings=store.Settings(x="compute", n_resamples=50, seed=3), dataset="sweep_runs.csv")
    aid = store.save(a)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["n"] = "50"
    at.query_params["exclude"] = "iso1e19-n17|mine"  # the session's own exclusion on the default sample
    at.run()
    before = at.session_state["ds_active"]["id"]
    at.switch_page("views/review.py")
    at.query_params["analysis"] = aid
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["ds_active"]["id"] == before == "sample:chinchilla_like.csv"
    import re

    notes = [re.sub(r"\\(.)", r"\1", i.value) for i in at.sidebar.info]  # the text read, without md escapes
    assert any("**sweep_runs.csv**" in n and "its own saved data" in n for n in notes), notes

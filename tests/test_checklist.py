"""The Li et al. (2025) checklist of a known analysis, item by item, and its trip through the store
and the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy

import scalecore
from scalecore import Settings, report, store
from scalecore.checklist import ITEMS, checklist, of_analysis
from scalecore.formatting import format_value

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "sample_runs" / "chinchilla_like.csv"
EXCLUDED = {"iso1e19-n17": "diverged at step 900", "iso1e20-n03": ""}


@pytest.fixture
def analysis(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_DB", str(tmp_path / "a.sqlite3"))
    settings = Settings(n_resamples=60, seed=7, delta=1e-3, method="cases", confidence_level=0.9)
    return store.Analysis(title="known", files=(store.DataFile("chinchilla_like.csv", CSV.read_bytes()),),
                          families=("chinchilla",), settings=settings, exclusions=EXCLUDED)


def test_the_checklist_of_a_known_analysis(analysis):
    runs = analysis.runs()
    results, _ = store.reproduce(analysis, runs)
    items = dict(of_analysis(analysis, runs, results))
    assert tuple(dict.fromkeys(k for k, _ in of_analysis(analysis, runs, results))) == ITEMS
    frame = pd.read_csv(CSV)
    used = frame[~frame["run_id"].isin(list(EXCLUDED))]
    assert items["data"] == f"{len(frame)} runs from `chinchilla_like.csv`; {frame['group'].nunique()} groups"
    assert items["columns"] == ("params ← `params`; tokens ← `tokens`; compute ← `compute`; run_id ← `run_id`; "
                                "group ← `group`; metrics: `loss`")
    assert items["FLOPs"] == "as given in `compute`; the compute-optimal frontier uses C = 6·N·D"
    assert items["parameters"] == "N from `params`: whether it counts embeddings is not recorded in the data"
    assert items["loss"] == "sum of Huber losses of log residuals, δ = 0.001 (Hoffmann et al. 2022, Approach 3)"
    assert items["starting points"].startswith("chinchilla: A 16 x 16 grid of alpha and beta")

    def span(col, kind):
        return f"{format_value(float(used[col].min()), kind)}–{format_value(float(used[col].max()), kind)}"

    assert items["fitted range"] == (f"chinchilla: {len(used)} runs; params {span('params', 'count')}, "
                                     f"tokens {span('tokens', 'count')}, compute {span('compute', 'flops')}")
    assert items["exclusions"] == "2 excluded: iso1e19-n17 (diverged at step 900); iso1e20-n03 (no reason given)"
    assert items["resampling"].startswith("bootstrap by cases (runs drawn with replacement); 90% percentile intervals")
    assert items["seed"] == "7"
    assert items["resamples"] == "60"
    assert items["versions"] == f"scalecore {scalecore.__version__}, numpy {np.__version__}, scipy {scipy.__version__}"


def test_saved_analyses_carry_it_and_the_report_shows_it(analysis):
    runs = analysis.runs()
    results, _ = store.reproduce(analysis, runs)
    saved = store.with_checklist(analysis, runs, results)
    aid = store.save(saved)
    loaded = store.load(aid)
    assert loaded.checklist == saved.checklist and dict(loaded.checklist)["seed"] == "7"
    html = report.render(loaded, results=results, errors={}, runs=runs)
    assert "Reporting checklist (Li et al. 2025)" in html
    assert "diverged at step 900" in html.split('id="checklist"')[1]


def test_least_squares_fixed_and_derived_compute():
    frame = pd.read_csv(CSV).drop(columns=["compute"]).rename(columns={"params": "non_embedding_params"})
    runs = scalecore.load_runs(frame)
    items = dict(checklist(runs, ["chinchilla"], Settings(loss="ls", seed=None), fixed={"E": 1.69}))
    assert items["FLOPs"] == ("C = 6·N·D (derived: the data have no FLOPs column); the compute-optimal frontier "
                              "uses C = 6·N·D")
    assert items["parameters"] == "N from `non_embedding_params`: without embeddings (the column's name says so)"
    assert items["loss"] == "least squares of log residuals (Huber δ = ∞); held fixed: E = 1.69"
    assert items["seed"] == "none (fresh entropy)"
    assert items["exclusions"] == "none excluded"

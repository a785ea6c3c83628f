"""AppTest tests of the Downstream page: the numbers on the page are scalecore's two-step fit.

The page is reached through app.py (the sidebar data source runs first, as in the app); the sample
folder holds only the synthetic downstream dataset, so it is the one loaded.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scalecore import load_runs
from scalecore.downstream import fit_downstream
from scalecore.formatting import format_interval
from test_explore import shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "views/downstream.py"
SAMPLE = ROOT / "sample_runs" / "downstream_accuracy.csv"
TIMEOUT = 120


@pytest.fixture
def samples(tmp_path, monkeypatch):
    import ui.data_source

    folder = tmp_path / "samples"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    monkeypatch.setattr(ui.data_source, "SAMPLES_DIR", folder)
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    return folder


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    problems = [e.value for e in at.error if "Something went wrong" in e.value]
    assert not problems, problems


def open_page(query: dict | None = None, **widgets) -> AppTest:
    """The page as a link with ``query`` opens it, then widgets set by key."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    no_errors(at)
    for key, value in widgets.items():
        at = set_widget(at, key, value)
        no_errors(at)
    return at


def set_widget(at: AppTest, key: str, value) -> AppTest:
    for kind in ("segmented_control", "text_input", "selectbox", "number_input", "select_slider"):
        found = [w for w in at.get(kind) if getattr(w, "key", None) == key]
        if found:
            return found[0].set_value(value).run()
    raise AssertionError(f"no widget with key {key!r}")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def shown_estimate(at, label: str) -> str:
    """A card's value and the interval in the caption under it, as "value [low, high]" (the
    accuracy's card comes first, step 1's loss second)."""
    intervals = [c.value for c in at.caption if re.match(r"\d+% interval \[", c.value)]
    interval = intervals[0] if label.startswith("accuracy") else intervals[1]
    return f"{metrics(at)[label]} [{interval.split('[', 1)[1]}"


def estimate_text(est) -> str:
    v, lo, hi = format_interval(est.value, est.low, est.high)
    return f"{v} [{lo}, {hi}]"


def figure(at, title_start: str) -> dict:
    for el in at.get("plotly_chart"):
        fig = json.loads(el.proto.spec)
        if str(fig["layout"].get("title", {}).get("text", "")).startswith(title_start):
            return fig
    raise AssertionError(f"no figure titled {title_start!r}")


def url_values(at, key: str) -> list[str]:
    value = at.query_params[key]
    return [value] if isinstance(value, str) else list(value)


def test_opens_with_the_chained_prediction_of_scalecore(samples):
    at = open_page()
    expected = fit_downstream(load_runs(SAMPLE), n_resamples=1000, seed=0)
    pred = expected.predict_at(params=3e10, tokens=6e11)
    assert shown_estimate(at, "accuracy (chained)") == estimate_text(pred.estimate)
    assert shown_estimate(at, "step 1: loss there") == estimate_text(pred.loss)
    assert metrics(at)["resamples used"] == "1000 of 1000"
    # the held-out run's true accuracy (sample_runs/README.md) is inside the interval shown
    assert pred.low <= 0.7945 <= pred.high
    assert any(expected.interval_label in c.value for c in at.caption)
    assert any(c.value.startswith("Fitted both steps with 1000 joint bootstrap resamples") for c in at.caption)
    assert any("6 run(s) have no `accuracy` value" in shown(w) for w in at.warning)


def test_figures_have_bands_the_target_and_selectable_runs(samples):
    at = open_page()
    runs = load_runs(SAMPLE)
    with_acc = {rid for rid, a in zip(runs.run_ids, runs.values("accuracy")) if a == a}
    scale = figure(at, "Predicted accuracy against")
    band = [t for t in scale["data"] if t.get("fill") == "toself"]
    assert band, "the chained curve has no band"
    kept = next(t for t in scale["data"] if str(t.get("name", "")).startswith("runs ("))
    assert {c[0] for c in kept["customdata"]} == with_acc
    diamond = next(t for t in scale["data"] if t.get("marker", {}).get("symbol") == "diamond")
    assert diamond["x"] == [pytest.approx(6 * 3e10 * 6e11)]
    step2 = figure(at, "Step 2: accuracy against loss")
    assert step2["layout"]["xaxis"]["autorange"] == "reversed"
    assert [t for t in step2["data"] if t.get("fill") == "toself"], "step 2 has no band"


def test_a_link_with_a_target_is_predicted_as_scalecore_does(samples):
    at = open_page({"dn_target_params": "7B", "dn_target_tokens": "140B"})
    assert [w.value for w in at.text_input if w.key == "dn_target_params"] == ["7B"]
    expected = fit_downstream(load_runs(SAMPLE), n_resamples=1000, seed=0).predict_at(params=7e9, tokens=1.4e11)
    assert shown_estimate(at, "accuracy (chained)") == estimate_text(expected.estimate)
    assert any("N = 7e9, D = 1.4e11" in s.value for s in at.subheader)


def test_settings_from_a_link_and_from_the_widgets_change_the_fit(samples):
    at = open_page({"dn_n": "200"}, dn_cl=0.8)
    assert [w.value for w in at.select_slider if w.key == "dn_n"] == [200]
    expected = fit_downstream(load_runs(SAMPLE), n_resamples=200, seed=0, confidence_level=0.8)
    assert shown_estimate(at, "accuracy (chained)") == estimate_text(expected.predict_at(params=3e10, tokens=6e11).estimate)


def test_a_plot_selection_excludes_runs_from_both_steps(samples):
    at = open_page(dn_n=200)
    picked = ["ds-n7-r80", "ds-n0-r10"]
    at.session_state["dn_loss_chart"] = {"selection": {"points": [{"customdata": [r, "", ""]} for r in picked],
                                                       "point_indices": [], "box": [], "lasso": []}}
    at.run()
    no_errors(at)
    assert sorted(u.split("|")[0] for u in url_values(at, "exclude")) == sorted(picked)
    expected = fit_downstream(load_runs(SAMPLE), exclude=picked, n_resamples=200, seed=0)
    assert expected.loss_law.fit.n_points == 30 and expected.accuracy_law.fit.n_points == 24
    shown = shown_estimate(at, "accuracy (chained)")
    assert shown == estimate_text(expected.predict_at(params=3e10, tokens=6e11).estimate)
    assert any("30 runs fitted, 2 excluded" in c.value for c in at.caption)
    scale = figure(at, "Predicted accuracy against")
    excluded = next(t for t in scale["data"] if str(t.get("name", "")).startswith("excluded"))
    assert sorted(c[0] for c in excluded["customdata"]) == sorted(picked)


def test_a_one_input_law_against_compute(samples):
    at = open_page(dn_law="offset_power_law", dn_n=200)
    assert [w for w in at.text_input if w.key == "dn_target_compute"], "a compute target field"
    expected = fit_downstream(load_runs(SAMPLE), "offset_power_law", "compute", n_resamples=200, seed=0)
    pred = expected.predict_at(1.08e23)
    assert shown_estimate(at, "accuracy (chained)") == estimate_text(pred.estimate)


def test_a_dataset_without_accuracy_explains_what_the_page_needs(tmp_path, monkeypatch):
    import ui.data_source

    folder = tmp_path / "samples"
    folder.mkdir()
    (folder / "loss_only.csv").write_text("params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,2.9\n4e8,8e9,2.7\n")
    monkeypatch.setattr(ui.data_source, "SAMPLES_DIR", folder)
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    at = open_page()
    assert any("needs two metric columns" in i.value and "downstream_accuracy.csv" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_too_few_runs_with_accuracy_is_one_message_not_a_traceback(tmp_path, monkeypatch):
    import ui.data_source

    folder = tmp_path / "samples"
    folder.mkdir()
    lines = SAMPLE.read_text().splitlines()
    kept = [lines[0]] + [l if i < 3 else ",".join(l.split(",")[:5] + ["", "synthetic"]) for i, l in enumerate(lines[1:])]
    (folder / "few.csv").write_text("\n".join(kept) + "\n")
    monkeypatch.setattr(ui.data_source, "SAMPLES_DIR", folder)
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    at = open_page(dn_n=200)
    assert any("step 2 (accuracy from loss)" in e.value.replace("\\", "") and "Add accuracy values" in e.value
               for e in at.error)  # markdown-escaped on the page: step 2 \(accuracy from loss\)

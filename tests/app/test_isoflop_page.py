"""AppTest tests of the IsoFLOP & curves page: the numbers on the page are scalecore's, exclusions
work as on Explore (plot selection, reasons in the URL), and the settings travel in the link."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scalecore import bootstrap, load_runs
from scalecore.curves import approach1, load_curves
from scalecore.formatting import format_estimate, format_interval
from scalecore.isoflop import compare_with_approach3, isoflop_profiles
from test_downstream_page import figure, url_values
from test_explore import shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "views/isoflop.py"
SAMPLES = ROOT / "sample_runs"
CHINCHILLA = SAMPLES / "chinchilla_like.csv"
OFFCENTRE = SAMPLES / "isoflop_offcentre.csv"
CURVES = SAMPLES / "curves" / "loss_curves.csv"
TIMEOUT = 180
CURVES_VIEW = {"f_view": "Loss curves"}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))


def open_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    no_errors(at)
    return at


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    problems = [e.value for e in at.error if "Something went wrong" in e.value]
    assert not problems, problems


def cards(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def text(est) -> str:
    return format_estimate(est.value, est.low, est.high)


def shows(at, label: str, est, level: float = 0.95, kind: str = "plain") -> bool:
    """The card called ``label`` shows ``est`` as a user reads it: the value rounded to its interval,
    and the interval in the caption under it."""
    v, lo, hi = format_interval(est.value, est.low, est.high, kind)
    captions = [c.value for c in at.caption]
    return cards(at).get(label) == v and f"{level:.0%} interval [{lo}, {hi}]" in captions


def select(at, chart_key: str, run_ids) -> None:
    at.session_state[chart_key] = {"selection": {"points": [{"customdata": [r, "", ""]} for r in run_ids],
                                                 "point_indices": [], "box": [], "lasso": []}}
    at.run()


# ------------------------------------------------------------------------------ IsoFLOP profiles


def test_profiles_and_exponent_are_scalecores():
    at = open_page()
    assert at.title[0].value == "IsoFLOP & curves"
    res = isoflop_profiles(load_runs(CHINCHILLA), n_resamples=1000, seed=0)
    assert shows(at, "a in N* ∝ C^a (Approach 2)", res.estimates["a"])
    assert shows(at, "N* at C = 1e24", res.compute_optimal(1e24)["params"], kind="count")
    fig = figure(at, "IsoFLOP profiles")
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["yaxis"]["type"] == "log"
    shown = {c[0] for t in fig["data"] if t.get("customdata") and t.get("mode") == "markers"
             and str(t.get("name", "")).startswith("C = ") for c in t["customdata"]}
    assert shown == set(load_runs(CHINCHILLA).run_ids)
    assert sum(str(t.get("name", "")).startswith("C = ") for t in fig["data"]) == 9
    frontier_fig = figure(at, "Compute-optimal model size")
    assert any(str(t.get("name", "")).startswith("Approach 3") for t in frontier_fig["data"])


def test_offcentre_sweeps_show_the_disagreement_and_the_unbracketed_budgets():
    at = open_page(data="sample:isoflop_offcentre.csv")
    runs = load_runs(OFFCENTRE)
    iso = isoflop_profiles(runs, n_resamples=1000, seed=0)
    boot3 = bootstrap(runs, "chinchilla", n_resamples=1000, seed=0)
    cmp = compare_with_approach3(iso, boot3, [1e23, 1e24])
    warnings = [shown(w) for w in at.warning]
    assert any("do not bracket their minimum (3e22, 1e23)" in w for w in warnings)
    assert any(w.startswith("Approach 2 and Approach 3 disagree: a₂ − a₃ = " + text(cmp.difference)) for w in warnings)
    table = next(df.value for df in at.dataframe if "Approach 2 (IsoFLOP)" in df.value.columns)
    assert table.loc[0, "Approach 3 (chinchilla)"] == text(cmp.a3)
    assert table.loc[0, "Approach 2 (IsoFLOP)"] == text(cmp.a2)


def test_a_plot_selection_excludes_runs_with_a_reason_and_refits():
    at = open_page()
    picked = ["iso1e20-n03", "iso6e20-n11"]
    select(at, "iso_chart", picked)
    no_errors(at)
    assert sorted(url_values(at, "exclude")) == sorted(f"{r}|selected on the plot" for r in picked)
    res = isoflop_profiles(load_runs(CHINCHILLA), n_resamples=1000, seed=0, exclude=picked)
    assert shows(at, "a in N* ∝ C^a (Approach 2)", res.estimates["a"])
    excluded = next(t for t in figure(at, "IsoFLOP profiles")["data"] if str(t.get("name", "")).startswith("excluded"))
    assert sorted(c[0] for c in excluded["customdata"]) == sorted(picked)


def test_settings_and_exclusions_come_back_from_the_link():
    at = open_page(exclude=["iso1e19-n17|diverged"], f_robust="false", f_n="200", f_method="budgets", f_target="1e23")
    res = isoflop_profiles(load_runs(CHINCHILLA), n_resamples=200, seed=0, robust=False, method="budgets",
                           exclude=["iso1e19-n17"])
    assert shows(at, "a in N* ∝ C^a (Approach 2)", res.estimates["a"])
    assert shows(at, "N* at C = 1e23", res.compute_optimal(1e23)["params"], kind="count")
    listed = [df.value[["run_id", "reason"]] for df in at.dataframe if {"run_id", "reason"} <= set(df.value.columns)]
    assert listed and listed[0].to_dict("records") == [{"run_id": "iso1e19-n17", "reason": "diverged"}]


def test_data_that_are_not_isoflop_sweeps_get_a_message_not_a_traceback():
    at = open_page(data="sample:compute_saturating.csv")
    assert any("IsoFLOP profiles need model size N (params) and compute" in e.value for e in at.error)


CONFIGS = ROOT / "tests" / "fixtures" / "real" / "isoflop_configs.csv"


def test_several_configurations_get_one_analysis_each_never_a_pooled_one():
    at = open_page(f_a3="false", f_n="200")
    at.file_uploader(key="ds_upload").set_value(("configs.csv", CONFIGS.read_bytes(), "text/csv")).run()
    no_errors(at)
    runs = load_runs(CONFIGS)
    groups = isoflop_profiles(runs, n_resamples=200, seed=0, by="config")
    table = next(df.value for df in at.dataframe if "config" in df.value.columns and "a in N* ∝ C^a" in df.value.columns)
    assert table["config"].tolist() == ["baseline", "swiglu", "moe-8x"]
    assert table["a in N* ∝ C^a"].tolist() == [text(groups[g].estimates["a"]) for g in groups]
    assert at.selectbox(key="f_by").value == "config"  # configurations are analysed one by one by default
    assert shows(at, "a in N* ∝ C^a (Approach 2)", groups["baseline"].estimates["a"])
    assert any(c.value.startswith("Budgets from the compute values") and "tolerance" in c.value for c in at.caption)
    at.selectbox(key="f_group").set_value("moe-8x").run()
    no_errors(at)
    assert shows(at, "a in N* ∝ C^a (Approach 2)", groups["moe-8x"].estimates["a"])
    again = open_page(data=str(at.query_params["data"]), f_group="moe-8x", f_a3="false", f_n="200")  # the link
    assert shows(again, "a in N* ∝ C^a (Approach 2)", groups["moe-8x"].estimates["a"])
    at.selectbox(key="f_by").set_value("all runs together").run()  # pooled on request, and said
    pooled = isoflop_profiles(runs, n_resamples=200, seed=0)
    assert shows(at, "a in N* ∝ C^a (Approach 2)", pooled.estimates["a"])
    assert any("pool 3 groups of column `config`" in shown(w) for w in at.warning)


# ------------------------------------------------------------------------------ training curves


def test_curves_view_shows_scalecores_frontier():
    at = open_page(**CURVES_VIEW)
    curves = load_curves(CURVES, tokens_per_step=524288)
    fr = approach1(curves, n_resamples=1000, seed=0)
    assert shows(at, "a in N* ∝ C^a (Approach 1)", fr.a)
    assert shows(at, "N* at C = 1e22", fr.compute_optimal(1e22)["params"], kind="count")
    fig = figure(at, "Training curves and their lower envelope")
    finals = next(t for t in fig["data"] if str(t.get("name", "")).startswith("runs (12)"))
    assert sorted(c[0] for c in finals["customdata"]) == sorted(curves.run_ids)


def test_warm_up_and_smoothing_from_the_link_and_a_selected_run_is_excluded():
    at = open_page(f_view="Loss curves", f_skip="500", f_smooth="5", f_n="200")
    curves = load_curves(CURVES, tokens_per_step=524288)
    fr = approach1(curves, skip_steps=500, smoothing=5, n_resamples=200, seed=0)
    assert shows(at, "a in N* ∝ C^a (Approach 1)", fr.a)
    select(at, "curves_chart", ["curve-05"])
    no_errors(at)
    assert url_values(at, "cexclude") == ["curve-05|selected on the plot"]
    fr2 = approach1(curves, skip_steps=500, smoothing=5, n_resamples=200, seed=0, exclude=["curve-05"])
    assert shows(at, "a in N* ∝ C^a (Approach 1)", fr2.a)
    assert "curve-05" not in set(fr2.envelope.run_ids)
    # the link reproduces it
    again = open_page(f_view="Loss curves", f_skip="500", f_smooth="5", f_n="200", cexclude=["curve-05|bad node"])
    assert shows(again, "a in N* ∝ C^a (Approach 1)", fr2.a)
    listed = [df.value[["run_id", "reason"]] for df in again.dataframe if {"run_id", "reason"} <= set(df.value.columns)]
    assert listed and listed[0].to_dict("records") == [{"run_id": "curve-05", "reason": "bad node"}]


def test_an_uploaded_file_without_tokens_per_step_says_what_to_give():
    at = open_page(**CURVES_VIEW)
    at.file_uploader(key="f_upload").set_value(("wandb.csv", CURVES.read_bytes(), "text/csv")).run()
    no_errors(at)
    assert at.selectbox(key="f_curves").value.startswith("upload:")
    assert any("logs the step (`step`) but not the tokens seen" in e.value for e in at.error)
    at.text_input(key="f_tps").set_value("0.5M").run()
    no_errors(at)
    fr = approach1(load_curves(CURVES, tokens_per_step=5e5), n_resamples=1000, seed=0)
    assert shows(at, "a in N* ∝ C^a (Approach 1)", fr.a)


def test_an_uploaded_curves_file_survives_in_the_link():
    at = open_page(**CURVES_VIEW)
    at.file_uploader(key="f_upload").set_value(("runs.csv", CURVES.read_bytes(), "text/csv")).run()
    at.text_input(key="f_tps").set_value("524288").run()
    no_errors(at)
    source = at.selectbox(key="f_curves").value
    assert source.startswith("upload:")
    again = open_page(f_view="Loss curves", f_curves=source, f_tps="524288")
    assert again.selectbox(key="f_curves").value == source
    fr = approach1(load_curves(CURVES, tokens_per_step=524288), n_resamples=1000, seed=0)
    assert shows(again, "a in N* ∝ C^a (Approach 1)", fr.a)
    assert any(c.value == "runs.csv  (uploaded)" for c in again.caption)

"""AppTest tests of the Budget page: the numbers on the page are scalecore's.

The page is reached through app.py (the sidebar data source runs first, as in the app). The sample
directory is pointed at synthetic runs written here, so the tests know the data exactly.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scalecore import budget, fitting, load_runs
from scalecore.bootstrap import bootstrap_problem
from scalecore.budget import Law, format_answer
from test_explore import shown
from tests.synth import frame
from ui import budget_state

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "views/budget.py"
TIMEOUT = 120


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    problems = [e.value for e in at.error if "Something went wrong" in e.value]
    assert not problems, problems


@pytest.fixture
def samples(tmp_path, monkeypatch):
    """Two synthetic datasets as the app's samples: runs in N and D, and runs in compute only."""
    import ui.data_source

    folder = tmp_path / "samples"
    folder.mkdir()
    frame("chinchilla", seed=11, noise=0.01).to_csv(folder / "chinchilla_like.csv", index=False)
    one = frame("offset_power_law", seed=4, noise=0.005)
    one["compute"] = 6 * one["params"] * one["tokens"]
    one.drop(columns=["params", "tokens"]).to_csv(folder / "compute_only.csv", index=False)
    monkeypatch.setattr(ui.data_source, "SAMPLES_DIR", folder)
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    return folder


def open_budget(**widgets) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    for key, value in widgets.items():
        at = set_widget(at, key, value)
    no_errors(at)
    return at


def set_widget(at: AppTest, key: str, value) -> AppTest:
    for kind in ("segmented_control", "text_input", "selectbox", "number_input", "select_slider", "checkbox", "toggle"):
        found = [w for w in at.get(kind) if getattr(w, "key", None) == key]
        if found:
            return found[0].set_value(value).run()
    raise AssertionError(f"no widget with key {key!r}")


def metrics(at) -> dict[str, str]:
    """Metric label -> value (the first card with that label)."""
    out: dict[str, str] = {}
    for m in at.metric:
        out.setdefault(m.label, m.value)
    return out


def numbers(at) -> dict:
    """The page's "All numbers" table: answer key -> (value, low, high)."""
    for df in at.dataframe:
        v = df.value
        if "key" in v.columns and "low" in v.columns:
            return {r.key: (r.value, r.low, r.high) for r in v.itertuples()}
    raise AssertionError("no numbers table")


def point(text: str) -> str:
    return text.partition(" [")[0]


def published(name: str = "besiroglu2024") -> Law:
    """A preset as the page uses it: with its published standard errors propagated (the default)."""
    return Law.preset(name, n_samples=budget_state.PRESET_SAMPLES, seed=0)


def law_of_sample(folder, family="chinchilla", n_resamples=1000, seed=0) -> Law:
    """The law exactly as the page fits it: Explore's default settings, no exclusions."""
    path = folder / "chinchilla_like.csv"
    runs = load_runs([path.read_bytes()], names=[path.name])
    problem = fitting.prepare(runs, family, y="loss", loss="huber", delta=1e-3)
    boot = bootstrap_problem(problem, n_resamples=n_resamples, confidence_level=0.95, seed=seed, method="cases",
                             fit=fitting.fit_problem(problem))
    return Law.from_bootstrap(boot)


# ------------------------------------------------------------------------------ the law from the fit


def test_current_fit_plan_equals_scalecore(samples):
    at = open_budget(b_compute="3e23")
    assert at.title[0].value == "Plan a training run"
    law = law_of_sample(samples)
    expected = budget.plan(law, 3e23, hardware=budget.Hardware.of("NVIDIA H100 SXM", 1024, 0.4)).answers
    got = numbers(at)
    for key in ("params_opt", "tokens_opt", "tokens_per_param", "loss", "days"):
        assert got[key] == pytest.approx(expected[key].as_tuple(), rel=1e-12), key
    shown = metrics(at)
    assert shown["Model size N*"] == point(format_answer(expected["params_opt"], "count"))
    assert shown["Predicted loss"] == point(format_answer(expected["loss"]))
    captions = [c.value for c in at.caption]
    assert any("95% bootstrap percentile interval (cases, 1000 resamples)" in c for c in captions)
    assert f"[{format_answer(expected['params_opt'], 'count').partition(' [')[2]}" in captions


def test_trade_off_slider_and_figure(samples):
    at = open_budget(b_compute="3e23", b_nf="1/5")
    law = law_of_sample(samples)
    n_star = budget.compute_optimal(law, 3e23)["params"].value
    off = budget.off_optimum(law, 3e23, n_star / 5)
    shown = metrics(at)
    assert shown["Loss penalty vs N*"] == point(format_answer(off["loss_penalty"]))
    assert shown["Wasted compute"] == point(format_answer(off["wasted_compute"], "flops"))
    assert shown["Share of the budget wasted"] == point(format_answer(off["wasted_fraction"], "fraction"))
    fig = next(json.loads(el.proto.spec) for el in at.get("plotly_chart"))
    assert fig["layout"]["xaxis"]["type"] == "log"
    names = [t.get("name", "") for t in fig["data"]]
    assert any(n.startswith("95% bootstrap percentile band") for n in names)
    assert any(n.startswith("your choice N =") for n in names)


# ------------------------------------------------------------------------------ presets, typed laws, inputs


def test_published_law_with_hardware_and_price(samples):
    at = open_budget(b_law="Published law", b_preset="besiroglu2024", b_mode="Hardware", b_acc="NVIDIA A100",
                     b_count=256, b_days=20.0, b_price=1.8)
    hw = budget.Hardware.of("NVIDIA A100", 256, 0.4, 1.8)
    c = hw.compute(20.0)
    expected = budget.plan(published(), c, hardware=hw).answers
    got = numbers(at)
    assert got["compute"][0] == pytest.approx(c, rel=1e-12)
    assert got["params_opt"] == pytest.approx(expected["params_opt"].as_tuple(), rel=1e-12)
    assert got["params_opt"][1] < got["params_opt"][0] < got["params_opt"][2]  # the published interval
    shown = metrics(at)
    assert shown["Cost"] == format_answer(expected["cost"], "money")
    assert shown["Model size N*"] == point(format_answer(expected["params_opt"], "count"))
    assert at.selectbox(key="b_preset").value == "besiroglu2024"
    assert "Besiroglu et al. 2024" in at.selectbox(key="b_preset").options
    # without the published intervals: the constants alone, no interval
    at = set_widget(at, "b_pubci", False)
    assert math.isnan(numbers(at)["params_opt"][1])
    assert any("arXiv:2404.10102" in c.value for c in at.caption)


def test_bad_budget_text_is_an_inline_message(samples):
    at = open_budget(b_law="Published law")
    at = set_widget(at, "b_compute", "lots of FLOPs")
    no_errors(at)
    assert any("is not a number" in e.value for e in at.error)
    assert not at.metric
    at = set_widget(at, "b_compute", "3.8e25")
    no_errors(at)
    expected = budget.compute_optimal(Law.preset("besiroglu2024"), 3.8e25)
    assert numbers(at)["params_opt"][0] == pytest.approx(expected["params"].value, rel=1e-12)


def test_typed_law_is_parsed_strictly(samples):
    at = open_budget(b_law="Typed constants")
    expected = budget.compute_optimal(Law.parse("E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28"), 1e24)
    assert numbers(at)["params_opt"][0] == pytest.approx(expected["params"].value, rel=1e-12)
    at = set_widget(at, "b_text", "__import__('os').system('echo hi')")
    no_errors(at)
    assert any(e.value.startswith("cannot read `__import__") for e in at.error)
    assert not at.metric


# ------------------------------------------------------------------------------ inverse, inference, data


def test_inverse_and_the_message_below_e(samples):
    at = open_budget(b_law="Published law", b_target="1.7")
    e_est = format_answer(published().param_estimates()["E"])  # 1.82 [1.76, 1.87], the published E with its error
    assert any(f"at or below the irreducible loss E = {e_est}" in e.value for e in at.error)
    at = set_widget(at, "b_target", "2.0")
    no_errors(at)
    inv = budget.compute_for_loss(published(), 2.0, hardware=budget.Hardware.of("NVIDIA H100 SXM", 1024, 0.4))
    labels = [m.label for m in at.metric]
    values = [m.value for m in at.metric]
    assert values[labels.index("Least FLOPs")] == point(format_answer(inv["compute"], "flops"))
    assert values[labels.index("Model size N")] == point(format_answer(inv["params"], "count"))
    last_days = len(labels) - 1 - labels[::-1].index("Days")  # the plan's own "Days" card comes first
    assert values[last_days] == point(format_answer(inv["days"], "days"))
    for v in values:  # every card is a whole number: no "0T", no exponent without its digits
        assert not re.search(r"(?<![\d.])0[KMBT]\b", v) and not v.endswith(("e", "…")), v


def test_inference_aware_side_by_side(samples):
    at = open_budget(b_law="Published law", b_tinf="2e13")
    r = budget.inference_optimal(published(), 1e24, 2e13)
    table = next(df.value for df in at.dataframe if "inference-aware" in df.value.columns)
    row = table.set_index("")
    assert row.loc["Model size N", "inference-aware"] == format_answer(r["params"], "count")
    assert row.loc["Model size N", "compute-optimal"] == format_answer(r["optimal_params"], "count")
    assert row.loc["Training + inference FLOPs", "inference-aware"] == format_answer(r["total_compute"], "flops")
    assert any("saves" in c.value and format_answer(r["saving_fraction"], "fraction") in c.value for c in at.caption)


def test_data_limit_warning_and_repeated_data(samples):
    at = open_budget(b_law="Published law", b_unique="1T", b_dc=True)
    p = budget.plan(published(), 1e24, unique_tokens=1e12, data_constrained=True)
    assert metrics(at)["Epochs"] == point(format_answer(p.answers["epochs"]))
    assert metrics(at)["Loss with repeated data"] == point(format_answer(p.answers["loss_repeated"]))
    assert any("1.74 epochs of the 1.00T unique tokens" in shown(w) for w in at.warning)
    # the re-optimised plan beside the naive one (Muennighoff et al. 2023)
    dc = budget.data_constrained_optimal(published(), 1e24, 1e12)
    table = next(df.value for df in at.dataframe if "re-optimised for the unique tokens" in df.value.columns)
    row = table.set_index("")
    assert row.loc["Model size N", "re-optimised for the unique tokens"] == format_answer(dc["params"], "count")
    assert row.loc["Model size N", "compute-optimal N*, D* (repeating)"] == format_answer(dc["naive_params"], "count")
    assert row.loc["Loss with repeated data", "re-optimised for the unique tokens"] == format_answer(dc["loss"])


# ------------------------------------------------------------------------------ scenarios


def test_scenarios_saved_tabled_and_downloadable(samples):
    at = open_budget(b_law="Published law")
    at = set_widget(at, "b_name", "small")
    at = at.button(key="b_save").click().run()
    at = set_widget(at, "b_compute", "1e25")
    at = at.button(key="b_save").click().run()
    no_errors(at)
    saved = at.session_state["budget_scenarios"]
    assert [s["name"] for s in saved] == ["small", "small (2)"]
    expected = budget.plan(Law.preset("besiroglu2024"), 1e25,
                           hardware=budget.Hardware.of("NVIDIA H100 SXM", 1024, 0.4)).to_scenario("small (2)")
    assert saved[1]["answers"]["params_opt"]["value"] == pytest.approx(expected.answers["params_opt"].value, rel=1e-12)
    json.dumps(saved)  # plain types only
    table = next(df.value for df in at.dataframe if "scenario" in df.value.columns)
    assert list(table["scenario"]) == ["small", "small (2)"]
    assert at.get("download_button")
    at = at.button(key="b_clear").click().run()
    assert at.session_state["budget_scenarios"] == []


# ------------------------------------------------------------------------------ one-input laws


def test_one_input_law_gives_what_it_can(samples):
    at = open_budget()
    at = at.selectbox(key="ds_choice").set_value("sample:compute_only.csv").run()
    no_errors(at)
    assert at.segmented_control(key="b_law").value == "Current fit"
    assert at.selectbox(key="b_family").value == "offset_power_law"
    shown = metrics(at)
    assert "Model size N*" not in shown and "Predicted loss" in shown
    assert any("every N and D with 6·N·D = C" in i.value for i in at.info)
    got = numbers(at)
    assert set(got) >= {"compute", "loss"} and "params_opt" not in got


# ------------------------------------------------------------------------------ Approach 2, the URL


def test_approach2_beside_the_current_fit(samples):
    at = open_budget(b_compute="3.8e25")
    law = law_of_sample(samples)
    from scalecore.isoflop import isoflop_profiles

    path = samples / "chinchilla_like.csv"
    runs = load_runs([path.read_bytes()], names=[path.name])
    iso = isoflop_profiles(runs, y="loss", n_resamples=1000, confidence_level=0.95, seed=0)
    r = budget.compare_approaches(law, iso, 3.8e25)
    table = next(df.value for df in at.dataframe if "Approach 2 (IsoFLOP frontier)" in df.value.columns)
    assert list(table["Approach 2 (IsoFLOP frontier)"]) == list(r.table()["Approach 2 (IsoFLOP frontier)"])
    assert list(table["Approach 3 (law in N and D)"]) == list(r.table()["Approach 3 (law in N and D)"])
    assert any(m.value == r.sentence for m in list(at.info) + list(at.warning))


INPUTS = {"b_law": "Published law", "b_preset": "hoffmann2022_tex", "b_compute": "3.8e25", "b_acc": "NVIDIA A100",
          "b_peak": "3.0e14", "b_count": 512, "b_mfu": 0.35, "b_price": 2.5, "b_nf": "1/3", "b_target": "2.1",
          "b_tinf": "2T", "b_unique": "5T", "b_dc": True}


def _widget(at, key):
    return next(w for kind in ("segmented_control", "text_input", "selectbox", "number_input", "select_slider",
                               "checkbox", "toggle") for w in at.get(kind) if getattr(w, "key", None) == key)


def test_a_reload_of_the_url_restores_every_input(samples):
    at = open_budget(**INPUTS)
    # the browser writes a bound widget to the URL under its key (AppTest has no browser, so the link is
    # written here as the frontend writes it: the shown option for a select, the text or number otherwise)
    for key in INPUTS:
        assert _widget(at, key).proto.query_param_key == key, key
    query = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in INPUTS.items()}
    query["b_preset"] = "Hoffmann et al. 2022 (unrounded TeX values)"
    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        reloaded.query_params[key] = value
    reloaded.run()
    reloaded.switch_page(PAGE).run()
    no_errors(reloaded)
    for key, value in INPUTS.items():
        assert _widget(reloaded, key).value == value, key
    before, after = numbers(at), numbers(reloaded)
    assert set(after) == set(before)
    for key in before:
        assert after[key] == pytest.approx(before[key], rel=1e-12, nan_ok=True), key
    # the preset is shown (and so written to the link) by its paper's name, not the internal key
    assert _widget(at, "b_preset").proto.options[_widget(at, "b_preset").index] == query["b_preset"]
    # Hoffmann et al. publish no intervals: none is shown, and the page says so
    assert math.isnan(numbers(at)["params_opt"][1])
    assert any("publish no intervals" in c.value for c in at.caption)


def same_scenarios(got, expected) -> None:
    """Scenario dicts equal as Scenarios: names, inputs, and every answer (NaN stored as null)."""
    from scalecore.budget import Scenario

    assert len(got) == len(expected)
    for g, e in zip(map(Scenario.from_dict, got), map(Scenario.from_dict, expected)):
        assert (g.name, g.interval, g.warnings) == (e.name, e.interval, e.warnings)
        assert json.dumps(g.inputs, sort_keys=True) == json.dumps(e.inputs, sort_keys=True)
        assert set(g.answers) == set(e.answers)
        for key in e.answers:
            assert g.answers[key].as_tuple() == pytest.approx(e.answers[key].as_tuple(), rel=1e-12, nan_ok=True)


def test_scenarios_go_into_a_saved_analysis_and_come_back(samples):
    from scalecore import store

    at = open_budget(b_law="Published law")
    at = set_widget(at, "b_name", "base")
    at = at.button(key="b_save").click().run()
    at = set_widget(at, "b_compute", "1e25")
    at = at.button(key="b_save").click().run()
    mine = list(at.session_state["budget_scenarios"])
    at.switch_page("views/review.py").run()
    at = at.button(key="save_submit").click().run()
    no_errors(at)
    (item,) = store.list_analyses()
    same_scenarios(store.load(item.id).scenarios, mine)  # saved with the analysis
    at.switch_page(PAGE).run()
    at = at.button(key="b_clear").click().run()
    assert at.session_state["budget_scenarios"] == []
    assert at.selectbox(key="b_from").value == item.id
    at = at.button(key="b_load").click().run()
    no_errors(at)
    same_scenarios(at.session_state["budget_scenarios"], mine)
    table = next(df.value for df in at.dataframe if "scenario" in df.value.columns)
    assert list(table["scenario"]) == ["base", "base (2)"]


def test_the_trade_off_plot_shows_the_whole_curve_and_its_optimum():
    # The y range took the legend's pixel margin for the loss axis's floor and the band's top for
    # the curve's: the curve ran off the top of the plot at both ends.
    runs = load_runs(Path(__file__).parents[2] / "sample_runs" / "chinchilla_like.csv")
    law = Law.from_bootstrap(fitting.fit(runs, "chinchilla").bootstrap(300, seed=0))
    t = budget.tradeoff(law, 1e24)
    fig = budget_state.tradeoff_figure(t, None, None, interval="95% interval")
    lo, hi = fig.layout.yaxis.range
    assert lo <= t.optimum["loss"].value <= hi
    assert hi >= max(t.loss) and lo <= min(t.loss)

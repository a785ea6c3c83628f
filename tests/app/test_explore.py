"""AppTest tests of app.py and the Explore page: the numbers on the page are scalecore's.

Each test starts the app script in-process (no browser). Selections cannot be made in AppTest, so
a plot selection is simulated by putting a selection event in the chart's session state, as
Streamlit's plotly chart would (see STREAMLIT_NOTES.md, 5a).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from scalecore import fitting, load_runs
from scalecore.bootstrap import bootstrap_problem
from scalecore.formatting import format_interval

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SAMPLE = Path(os.environ.get("SCALECORE_SAMPLE_DIR") or ROOT / "sample_runs") / "chinchilla_like.csv"
TIMEOUT = 120

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="sample_runs/chinchilla_like.csv is not there yet")


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Uploads go to a temporary store, never to the user's."""
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))


def start(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def figure_with_trace(at, name_start: str) -> dict:
    for el in at.get("plotly_chart"):
        fig = json.loads(el.proto.spec)
        if any(str(t.get("name", "")).startswith(name_start) for t in fig["data"]):
            return fig
    raise AssertionError(f"no figure has a trace named {name_start!r}")


def trace(fig: dict, name_start: str) -> dict:
    return next(t for t in fig["data"] if str(t.get("name", "")).startswith(name_start))


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype": "f8", "bdata": base64}."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def shown(element) -> str:
    """The text a user reads in a markdown element: its source without the escapes that keep user
    text literal (ui.md_message)."""
    return re.sub(r"\\(.)", r"\1", element.value)


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    problems = [e.value for e in at.error if "Something went wrong" in e.value]
    assert not problems, problems


def param_table(at, family_param_names) -> "object":
    for df in at.dataframe:
        value = df.value
        if "parameter" in value.columns and list(value["parameter"]) == list(family_param_names):
            return value
    raise AssertionError("no parameter table for " + ", ".join(family_param_names))


def assert_parameter_table(at, boot) -> None:
    """The page's parameter table of ``boot``'s family shows scalecore's values and intervals."""
    table = param_table(at, boot.family.param_names)
    for _, row in table.iterrows():
        name = row["parameter"]
        v, lo, hi = format_interval(boot.fit.params[name], *boot.confidence_interval[name])
        assert (row["value"], row["low"], row["high"]) == (v, lo, hi), name


def expected_boot(exclude=(), n_resamples=1000, seed=0, confidence_level=0.95, family="chinchilla", x=None):
    runs = load_runs(SAMPLE)
    problem = fitting.prepare(runs, family, x=x, exclude=exclude)
    return bootstrap_problem(problem, n_resamples=n_resamples, seed=seed, confidence_level=confidence_level,
                             method="cases", fit=fitting.fit_problem(problem))


def test_there_is_no_legacy_pages_folder():
    """A `pages/` folder beside app.py makes Streamlit run a page without app.py (see app.py)."""
    assert not (ROOT / "pages").exists(), "put page scripts in views/ and list them in app.py's PAGES"


def test_opens_on_the_sample_with_a_fitted_curve_and_band():
    at = start()
    no_errors(at)
    assert at.query_params["data"] == ["sample:chinchilla_like.csv"] or at.query_params["data"] == "sample:chinchilla_like.csv"
    fig = figure_with_trace(at, "Chinchilla")
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["yaxis"]["type"] == "log"
    runs = load_runs(SAMPLE)
    kept = trace(fig, "runs (")
    assert kept["name"] == f"runs ({len(runs)})"
    assert {c[0] for c in kept["customdata"]} == set(runs.run_ids)
    band = [t for t in fig["data"] if t.get("fill") == "toself" and t.get("legendgroup") == "chinchilla"]
    assert band, "the Chinchilla curve has no band"
    assert any(c.value.startswith("Fitted 1 family to ") for c in at.caption)


def test_parameter_table_equals_scalecore():
    at = start()
    no_errors(at)
    boot = expected_boot()
    assert_parameter_table(at, boot)
    assert any(boot.interval_label in c.value for c in at.caption)


def test_prediction_at_a_typed_target_equals_scalecore():
    at = start(target_compute="1e24")
    no_errors(at)
    boot = expected_boot()
    est = boot.compute_optimal(1e24)["loss"]
    v, lo, hi = format_interval(est.value, est.low, est.high)
    # the card holds the value, the caption under it the interval (whole at 1024 px)
    assert v in [m.value for m in at.metric]
    assert f"95% interval [{lo}, {hi}]" in [c.value for c in at.caption]
    fig = figure_with_trace(at, "Chinchilla")
    assert any(s.get("type") == "rect" for s in fig["layout"].get("shapes", [])), "no shaded extrapolation region"


def test_invalid_target_is_an_inline_message_not_an_exception():
    at = start(target_compute="seventy B")
    no_errors(at)
    assert any("is not a number" in e.value for e in at.error)
    assert at.get("plotly_chart"), "the plot is still drawn"


def test_simulated_plot_selection_excludes_runs_and_refits():
    at = start()
    runs = load_runs(SAMPLE)
    picked = [str(runs.run_ids[0]), str(runs.run_ids[5])]
    before = param_table(at, ("E", "A", "B", "alpha", "beta"))["value"].tolist()
    at.session_state["fit_chart"] = {"selection": {"points": [{"customdata": [r, ""]} for r in picked],
                                                   "point_indices": [], "box": [], "lasso": []}}
    at.run()
    no_errors(at)
    url = at.query_params["exclude"]
    url = [url] if isinstance(url, str) else list(url)
    assert sorted(u.split("|")[0] for u in url) == sorted(picked)
    assert all(u.endswith("|selected on the plot") for u in url)
    fig = figure_with_trace(at, "Chinchilla")
    assert sorted(c[0] for c in trace(fig, "excluded")["customdata"]) == sorted(picked)
    boot = expected_boot(exclude=picked)
    table = param_table(at, boot.family.param_names)
    expected = [format_interval(boot.fit.params[n], *boot.confidence_interval[n])[0] for n in boot.family.param_names]
    assert table["value"].tolist() == expected
    assert table["value"].tolist() != before or boot.fit.n_points == len(runs) - 2


def test_exclusions_and_reasons_come_back_from_the_url():
    runs = load_runs(SAMPLE)
    rid = str(runs.run_ids[3])
    at = start(exclude=[f"{rid}|diverged at step 2k"])
    no_errors(at)
    fig = figure_with_trace(at, "Chinchilla")
    excluded = trace(fig, "excluded")
    assert [c[0] for c in excluded["customdata"]] == [rid]
    assert excluded["customdata"][0][2] == "diverged at step 2k"
    listed = [df.value for df in at.dataframe if "re-include" in df.value.columns]
    assert listed and listed[0][["run_id", "reason"]].to_dict("records") == [{"run_id": rid, "reason": "diverged at step 2k"}]


def test_settings_in_the_url_change_the_interval():
    at = start(n="200", cl="0.9", seed="3")
    no_errors(at)
    boot = expected_boot(n_resamples=200, seed=3, confidence_level=0.9)
    table = param_table(at, boot.family.param_names)
    lo = [format_interval(boot.fit.params[n], *boot.confidence_interval[n])[1] for n in boot.family.param_names]
    assert table["low"].tolist() == lo
    assert any("90% bootstrap percentile interval (cases, 200 resamples)" in c.value for c in at.caption)


def test_two_families_each_get_a_curve_and_a_table():
    at = start(fam=["Chinchilla", "Power law"], n="200")
    no_errors(at)
    fig = figure_with_trace(at, "Chinchilla")
    names = [t.get("name") for t in fig["data"]]
    assert "Power law" in names and "Chinchilla (compute-optimal frontier)" in names
    boot = expected_boot(n_resamples=200, family="power_law", x="compute")
    table = param_table(at, ("A", "alpha"))
    assert table["value"].tolist() == [format_interval(boot.fit.params[n], *boot.confidence_interval[n])[0]
                                       for n in ("A", "alpha")]


def test_bad_upload_shows_an_error_and_keeps_the_dataset():
    at = start()
    at.file_uploader(key="ds_upload").set_value(("broken.csv", b"name,colour\nx,red\ny,blue\n", "text/csv")).run()
    no_errors(at)
    messages = [e.value for e in at.error]
    assert any("broken.csv" in m and "no column for model size" in m for m in messages), messages
    assert "sample:chinchilla_like.csv" in str(at.query_params["data"])
    assert figure_with_trace(at, "Chinchilla")


def test_good_upload_replaces_the_dataset_and_survives_a_reload(tmp_path):
    rng = np.random.default_rng(0)
    c = np.geomspace(1e18, 1e22, 20)
    loss = 1.7 + 30 * c ** -0.1 * np.exp(rng.normal(0, 0.01, c.size))
    csv = "run,flops,val_loss\n" + "".join(f"u{i},{ci:.4e},{li:.5f}\n" for i, (ci, li) in enumerate(zip(c, loss)))
    at = start()
    at.file_uploader(key="ds_upload").set_value(("mine.csv", csv.encode(), "text/csv")).run()
    no_errors(at)
    data = str(at.query_params["data"])
    assert data.startswith("upload:"), data
    fig = figure_with_trace(at, "runs (")
    assert trace(fig, "runs (")["name"] == "runs (20)"
    table_before = [df.value for df in at.dataframe if "parameter" in df.value.columns][0]
    again = start(data=data)  # a fresh session from the link
    no_errors(again)
    table_after = [df.value for df in again.dataframe if "parameter" in df.value.columns][0]
    assert table_after.equals(table_before)


TABS = {"outlier_tab": ["Excluded", "All runs", "Rules", "Suggestions"],
        "two_input_tab": ["Compute-optimal frontier", "N*, D* against compute", "Map over N and D"],
        "diagnostics_tab": ["Overview", "Residuals", "Bootstrap distribution", "Influence"]}


@pytest.mark.parametrize("x", ["compute", "params", "tokens"])
def test_every_tab_draws_on_every_axis(x):
    at = start(x=x, n="200")
    no_errors(at)
    for key, names in TABS.items():
        for name in names:
            at.session_state[key] = name
            at.run()
            no_errors(at)
    assert figure_with_trace(at, "Chinchilla")["layout"]["xaxis"]["title"]["text"].startswith(
        {"compute": "training compute", "params": "model size", "tokens": "training tokens"}[x])


def test_a_law_the_runs_do_not_support_is_named_under_the_quality_table():
    """ΔAIC above 10 (Kaplan's law on the Chinchilla-like sample: its parameter intervals are the
    approximate ones, README "Known limits"); with one family, no ΔAIC and no note."""
    at = start(fam=["Chinchilla", "Kaplan"], n="200")
    no_errors(at)
    quality = next(df.value for df in at.dataframe if "ΔAIC" in df.value.columns)
    delta = dict(zip(quality["family"], quality["ΔAIC"].astype(float)))
    assert delta["Chinchilla"] == 0.0 and delta["Kaplan"] > 10
    notes = [c.value for c in at.caption if c.value.startswith("ΔAIC above 10")]
    assert len(notes) == 1 and "Kaplan fits these runs far worse" in notes[0] and "Chinchilla" not in notes[0]
    assert "parameter intervals of Kaplan as approximate" in notes[0]
    alone = start(n="200")
    assert not [c.value for c in alone.caption if c.value.startswith("ΔAIC above")]
    # a power law (a straight line in log space) has one optimum: no caveat on its intervals
    line = start(fam=["Chinchilla", "Power law"], n="200")
    notes = [c.value for c in line.caption if c.value.startswith("ΔAIC above 10")]
    assert len(notes) == 1 and notes[0].startswith("ΔAIC above 10: Power law fits") and "approximate" not in notes[0]


def test_a_target_typed_as_70B_is_written_back_as_70B():
    at = start(x="params", n="200", target_params="70B")
    no_errors(at)
    assert "Predicted loss at N = 70B" in [h.value for h in at.subheader]
    fig = figure_with_trace(at, "Chinchilla")
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["extrapolation to 70B"]
    mark = trace(fig, "Chinchilla at target")
    assert array(mark["x"])[0] == 7e10 and "Chinchilla at 70B<br>" in mark["hovertemplate"]


def test_diagnostics_open_on_an_overview_whose_numbers_are_computed_by_hand():
    """The default Diagnostics tab is a table (no figure to redraw on every refit): the run farthest
    from the law by robust z, and the most correlated parameter pair of the bootstrap, checked
    against numpy on scalecore's own bootstrap."""
    at = start(n="200")
    no_errors(at)
    titles = [json.loads(el.proto.spec)["layout"].get("title", {}).get("text", "") for el in at.get("plotly_chart")]
    assert not any(t.startswith("Residuals") for t in titles), titles
    table = next(df.value for df in at.dataframe if "resamples used" in df.value.columns)
    row = table.iloc[0]
    boot = expected_boot(n_resamples=200)
    # shown as actual - predicted: ln(loss) - ln(law), written out here
    r = np.log(boot.fit.problem.y_values) - np.log(boot.fit.predict(params=boot.fit.problem.inputs["params"],
                                                                    tokens=boot.fit.problem.inputs["tokens"]))
    dev = r - np.median(r)
    z = dev / (1.4826 * np.median(np.abs(dev)))
    i = int(np.argmax(np.abs(z)))
    assert row["farthest run (residual actual − predicted, robust z)"] == f"{boot.fit.problem.run_ids[i]}: {r[i]:+.3g} (z {z[i]:+.1f})"
    assert row["runs with |z| ≥ 3.5"] == int(np.sum(np.abs(z) >= 3.5))
    logs = boot.good.copy()
    names = list(boot.family.param_names)
    for j, name in enumerate(names):
        if name in boot.family.log_params:
            logs[:, j] = np.log(logs[:, j])
            names[j] = f"log {name}"
    c = np.corrcoef(logs, rowvar=False) - np.eye(len(names))
    a, b = sorted(np.unravel_index(int(np.argmax(np.abs(c))), c.shape))
    digits = 3 if abs(c[a, b]) >= 0.99 else 2
    assert row["most correlated parameters (bootstrap)"] == f"{names[a]} and {names[b]}: {c[a, b]:+.{digits}f}"
    assert row["resamples used"] == f"{200 - boot.n_failed} of 200"
    at.session_state["diagnostics_tab"] = "Residuals"
    at.run()
    no_errors(at)
    assert figure_with_trace(at, "Chinchilla")  # still drawn, on request
    assert any(json.loads(el.proto.spec)["layout"].get("title", {}).get("text", "").startswith("Residuals")
               for el in at.get("plotly_chart"))


def test_influence_bars_are_scalecores_leave_one_out_changes():
    from scalecore import diagnostics

    at = start(n="200", target_compute="1e24")
    at.session_state["diagnostics_tab"] = "Influence"
    at.run()
    no_errors(at)
    fig = figure_with_trace(at, "change of the prediction")
    bars = fig["data"][0]
    boot = expected_boot(n_resamples=200)
    opt = boot.compute_optimal(1e24)
    table = diagnostics.influence(boot.fit, {"params": opt["params"].value, "tokens": opt["tokens"].value})
    top = table.dropna(subset=["change_pct"]).head(15)
    shown = dict(zip([c[0] for c in bars["customdata"]], array(bars["x"])))
    assert set(shown) == set(top["run_id"])
    for rid, pct in zip(top["run_id"], top["change_pct"]):
        assert shown[rid] == pytest.approx(pct, rel=1e-6)


def test_suggested_outliers_are_excluded_with_one_click_and_a_reason():
    from scalecore import diagnostics

    at = start(n="200")
    at.session_state["outlier_tab"] = "Suggestions"
    at.run()
    suggested = diagnostics.suggest_outliers(expected_boot(n_resamples=200).fit, 3.5)
    if not suggested:
        pytest.skip("the sample has no outlier to suggest")
    next(b for b in at.button if b.label.startswith("Exclude the")).click().run()
    no_errors(at)
    url = at.query_params["exclude"]
    url = [url] if isinstance(url, str) else list(url)
    assert sorted(u.split("|")[0] for u in url) == sorted(s.run_id for s in suggested)
    assert all("|suggested: " in u for u in url)


def test_a_rule_excludes_the_small_runs():
    runs = load_runs(SAMPLE)
    limit = float(np.quantile(runs.values("params"), 0.25))
    at = start(n="200")
    at.session_state["outlier_tab"] = "Rules"
    at.run()
    at.selectbox(key="rule_role").set_value("params")
    at.text_input(key="rule_value").set_value(f"{limit:.6g}")
    next(b for b in at.button if b.label == "Exclude these runs").click().run()
    no_errors(at)
    url = at.query_params["exclude"]
    url = [url] if isinstance(url, str) else list(url)
    expected = sorted(str(r) for r, v in zip(runs.run_ids, runs.values("params")) if v < float(f"{limit:.6g}"))
    assert sorted(u.split("|")[0] for u in url) == expected
    assert all("|rule: N < " in u for u in url)


def test_explore_links_to_the_pages_that_take_the_same_runs_further():
    at = start()
    no_errors(at)
    links = {el.proto.page: el.proto.label for el in at.get("page_link")}
    assert {"budget", "isoflop", "downstream"} <= set(links), links  # url paths of views/<name>.py


def test_the_map_over_n_and_d_is_the_fitted_law_with_iso_flop_lines_and_the_runs():
    """The map tab (one click away): filled contours of log10 of Chinchilla's fitted loss on the
    (N, D) grid, iso-FLOP lines on which k*N*D is constant, and every run on top."""
    at = start(n="200")
    titles = [json.loads(f.proto.spec)["layout"].get("title", {}).get("text", "") for f in at.get("plotly_chart")]
    assert not any("over model size and tokens" in t for t in titles)  # drawn only once its tab is open
    at.session_state["two_input_tab"] = "Map over N and D"
    at.run()
    no_errors(at)
    fig = figure_with_trace(at, "Chinchilla fit")
    contour = trace(fig, "Chinchilla fit")
    log_n, log_d = array(contour["x"]), array(contour["y"])
    z = contour["z"]
    z = np.array([array(row) for row in z]) if isinstance(z, list) else array(z).reshape(
        [int(v) for v in str(z["shape"]).split(",")])
    boot = expected_boot(n_resamples=200)
    expected = np.log10(boot.fit.predict(params=10 ** log_n[None, :], tokens=10 ** log_d[:, None]))
    np.testing.assert_allclose(z, expected, rtol=1e-9)
    iso = [t for t in fig["data"] if t.get("legendgroup") == "iso" and t.get("showlegend") is False]
    assert len(iso) >= 3
    for t in iso:
        compute = 6.0 * 10 ** (array(t["x"]) + array(t["y"]))
        np.testing.assert_allclose(compute, compute[0], rtol=1e-9)  # one budget per line,
        assert abs(np.log10(compute[0]) - round(np.log10(compute[0]))) < 1e-9  # at a power of ten
    (sample,) = [t for t in fig["data"] if t.get("legendgroup") == "iso" and t.get("showlegend") is not False]
    assert sample["line"]["color"] != "rgba(255,255,255,0.9)"  # the legend's sample is visible on white
    labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert labels and all(re.fullmatch(r"1e\d+", text) for text in labels), labels
    # real values on the axes: ticks at whole log10 positions, written 10^k
    for ax in ("xaxis", "yaxis"):
        vals, texts = fig["layout"][ax]["tickvals"], fig["layout"][ax]["ticktext"]
        assert vals == [float(round(v)) for v in vals] and texts == [f"10<sup>{round(v)}</sup>" for v in vals]
    runs = load_runs(SAMPLE)
    assert trace(fig, "runs (")["name"] == f"runs ({len(runs)})"


@pytest.mark.parametrize("family", ["chinchilla", "kaplan", "offset_power_law", "power_law"])
@pytest.mark.parametrize("axis", ["compute", "params", "tokens"])
def test_the_curve_drawn_before_the_bands_is_the_final_curve(family, axis):
    """What a refit shows while its bootstrap runs (the best fit's curve, or a law in N and D's
    frontier) is exactly the curve the finished plot draws, on every axis; it has no band."""
    from ui import analysis

    boot = expected_boot(n_resamples=200, family=family, x=None if family in ("chinchilla", "kaplan") else axis)
    lo, hi = analysis.plot_range(load_runs(SAMPLE), axis, 1e24 if axis == "compute" else None)
    final = analysis.curve(boot, axis, lo, hi)
    early = analysis.point_curve(boot.fit, axis, lo, hi)
    assert early.kind == final.kind and early.family == final.family
    np.testing.assert_array_equal(early.x, final.x)
    np.testing.assert_array_equal(early.point, final.point)
    assert np.isfinite(early.point).sum() > 100
    assert np.isnan(early.lower).all() and np.isnan(early.upper).all()


def fitting_ahead(monkeypatch) -> None:
    """Fitting ahead on (the suite turns it off), starting as soon as a run is done."""
    from ui import fit_ahead

    monkeypatch.setenv("SCALECORE_FIT_AHEAD", "1")
    monkeypatch.setattr(fit_ahead, "START_DELAY", 0.0)
    monkeypatch.setattr(fit_ahead, "FIRST_DELAY", 0.0)


def foreground_bootstraps(monkeypatch) -> list:
    """The families bootstrapped from now on by the page itself (not by the worker fitting ahead)."""
    import threading

    from ui import analysis

    seen = []
    real = analysis.fit_family

    def spy(*args, **kwargs):
        if not threading.current_thread().name.startswith("scalecore-fit-ahead"):
            seen.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "fit_family", spy)
    return seen


def test_families_not_switched_on_are_fitted_ahead_then_switching_one_on_is_a_cache_hit(monkeypatch):
    """With fitting ahead on, the idle page fits the families the user has not switched on; Kaplan
    switched on afterwards is bootstrapped by nobody in the foreground, and its table is
    scalecore's (the worker's one core gives the foreground's answer)."""
    from ui import fit_ahead

    fitting_ahead(monkeypatch)
    at = start(n="200", seed="77")  # a seed no other test uses: nothing of it is cached
    no_errors(at)
    assert fit_ahead.WORKER.wait_idle(120)  # the broken power law is given up after MAX_SECONDS
    fitted = {k[1] for k in fit_ahead.WORKER.completed if k[0] == "fit" and dict(k[-1])["seed"] == 77 and k[5] == ()}
    assert {"kaplan", "power_law", "offset_power_law"} <= fitted and "chinchilla" not in fitted

    bootstraps = foreground_bootstraps(monkeypatch)
    at.pills(key="fam").set_value(["chinchilla", "kaplan"])
    at.run()
    no_errors(at)
    assert bootstraps == []
    boot = expected_boot(n_resamples=200, seed=77, family="kaplan")
    assert_parameter_table(at, boot)


def test_the_suggested_outliers_are_fitted_ahead_so_excluding_them_is_a_cache_hit(monkeypatch):
    """The idle page also fits the families switched on without the runs it suggests as outliers;
    the "Exclude the suggested runs" button then refits nothing in the foreground, and the table
    is scalecore's fit without those runs."""
    from scalecore import diagnostics
    from ui import fit_ahead

    fitting_ahead(monkeypatch)
    at = start(n="200", seed="78")
    at.session_state["outlier_tab"] = "Suggestions"
    at.run()
    no_errors(at)
    suggested = sorted(s.run_id for s in diagnostics.suggest_outliers(expected_boot(n_resamples=200, seed=78).fit, 3.5))
    assert len(suggested) >= 2  # the sample's diverged runs
    assert fit_ahead.WORKER.wait_idle(120)
    assert ("fit", "chinchilla", None) in {k[:3] for k in fit_ahead.WORKER.completed if k[5] == tuple(suggested)}

    bootstraps = foreground_bootstraps(monkeypatch)
    next(b for b in at.button if b.label.startswith("Exclude the")).click().run()
    no_errors(at)
    assert bootstraps == []
    boot = expected_boot(exclude=suggested, n_resamples=200, seed=78)
    assert_parameter_table(at, boot)


def test_a_family_the_runs_do_not_identify_is_refused_with_its_reason_and_drawn_without_a_band():
    at = start(fam=["Chinchilla", "Broken power law"], n="200")
    assert not at.exception and not at.error
    warning = next(w for w in at.warning if "Broken power law" in w.value)
    assert "cannot be identified from these runs" in shown(warning)
    assert "`f` (any value fits)" in shown(warning) and "Use the saturating power law against compute" in shown(warning)
    fig = figure_with_trace(at, "Broken power law")
    broken = trace(fig, "Broken power law")
    # the best fit, evaluated where the page draws it, and no band trace for it
    runs = load_runs(SAMPLE)
    best = fitting.fit(runs, "broken_power_law", x="compute")
    x = array(broken["x"])
    np.testing.assert_allclose(array(broken["y"]), best.predict(x), rtol=1e-9)
    assert sum(str(t.get("name", "")).startswith("Broken power law") for t in fig["data"]) == 1
    assert "1 not identified by these runs, drawn without a band" in at.caption[0].value


# ------------------------------------------------------------------------------ issue 22: colours, N*(C)


def kept_runs(fig: dict) -> dict:
    return trace(fig, "runs (")


def test_runs_are_coloured_by_budget_by_default_on_an_isoflop_sweep_and_by_size_from_the_url():
    from scalecore.isoflop import budget_labels

    runs = load_runs(SAMPLE)
    at = start(n="200", x="params")
    no_errors(at)
    assert at.selectbox(key="color").value == "budget"
    fig = figure_with_trace(at, "runs (")
    kept = kept_runs(fig)
    labels, budgets = budget_labels(runs.values("compute"))
    np.testing.assert_allclose(array(kept["marker"]["color"]), [np.log10(budgets[lab]) for lab in labels], rtol=1e-12)
    assert kept["marker"]["colorbar"]["ticktext"] == sorted(budgets, key=budgets.get)
    # the fitted law along each budget's IsoFLOP line, on the params view
    slices = [t for t in fig["data"] if t.get("legendgroup") == "slices"]
    assert len(slices) == len(budgets)
    at.selectbox(key="color").set_value("size").run()
    no_errors(at)
    kept = kept_runs(figure_with_trace(at, "runs ("))
    np.testing.assert_allclose(array(kept["marker"]["color"]), np.log10(runs.values("params")), rtol=1e-12)
    # a link with the choice (the URL holds the option's label, as for the family pills) opens with it
    link = start(n="200", x="params", color="model size")
    no_errors(link)
    assert link.selectbox(key="color").value == "size"
    kept = kept_runs(figure_with_trace(link, "runs ("))
    np.testing.assert_allclose(array(kept["marker"]["color"]), np.log10(runs.values("params")), rtol=1e-12)


def test_runs_coloured_by_group_get_a_legend_entry_per_group():
    at = start(n="200", color="group")
    assert at.selectbox(key="color").value == "group"
    no_errors(at)
    runs = load_runs(SAMPLE)
    fig = figure_with_trace(at, "Chinchilla")
    groups = runs.frame["group"].astype(str)
    names = {t["name"] for t in fig["data"] if t.get("mode") == "markers" and t.get("legendgroup", "").startswith("group ")}
    assert names == {f"{g} ({n})" for g, n in groups.value_counts().items()}


def test_the_compute_optimal_section_draws_n_star_with_its_band_and_a_published_law():
    at = start(n="200")
    at.session_state["two_input_tab"] = "N*, D* against compute"
    at.run()
    no_errors(at)
    fig = figure_with_trace(at, "Chinchilla: 95% band")
    line = next(t for t in fig["data"] if t["name"] == "Chinchilla")
    band = trace(fig, "Chinchilla: 95% band")
    cs, n_star = array(line["x"]), array(line["y"])
    lower, upper = array(band["y"])[: len(cs)], array(band["y"])[len(cs):][::-1]
    assert np.all(lower <= n_star) and np.all(n_star <= upper)
    p = expected_boot(n_resamples=200).fit.params  # Chinchilla's closed form, written out
    a = p["beta"] / (p["alpha"] + p["beta"])
    g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    np.testing.assert_allclose(n_star, g * (cs / 6.0) ** a, rtol=1e-6)
    assert fig["layout"]["yaxis"]["title"]["text"].startswith("compute-optimal model size N*")
    # D*/N* with Kaplan et al. 2020 over it: N = 1.3e9 (C / 8.64e19)^0.73, D = C / 6N
    at.segmented_control(key="optimal").set_value("ratio")
    at.multiselect(key="published").set_value(["kaplan2020"])
    at.run()
    no_errors(at)
    fig = figure_with_trace(at, "Kaplan")
    kaplan = trace(fig, "Kaplan")
    c = array(kaplan["x"])
    n = 1.3e9 * (c / 8.64e19) ** 0.73
    np.testing.assert_allclose(array(kaplan["y"]), c / (6.0 * n) / n, rtol=1e-9)
    assert fig["layout"]["yaxis"]["title"]["text"].startswith("tokens per parameter")


def test_a_first_fit_counts_its_resamples_on_a_progress_bar(progress_calls):
    """The bar is gone once the fits are done, so the calls are recorded as they are made. Each
    family's bootstrap is one batched call: the bar moves a family at a time."""
    seen = progress_calls
    at = start(n="200", seed="9173", fam=["Chinchilla", "Kaplan"])  # a seed no other test fits
    no_errors(at)
    texts = [t for _, t in seen if t]
    assert texts[0] == "Bootstrap: 0 of 400 resamples"
    assert any(t.startswith("Bootstrap of Chinchilla: 0 of 400 resamples done (2 families × 200)") for t in texts), texts
    assert any(t.startswith("Bootstrap of Kaplan") and ": 200 of 400 resamples done" in t for t in texts), texts
    assert not at.get("progress")  # emptied once the fits are done

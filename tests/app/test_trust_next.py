"""AppTest of the Trust page's "What to run next" tab: the top candidate, the interval now and after
adding it, and the plan are scalecore.design's, computed here from the same synthetic runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scalecore import design, fitting, load_runs
from scalecore.bootstrap import bootstrap_problem
from scalecore.formatting import format_estimate, format_value
from tests.synth import frame

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "views/trust.py"
TIMEOUT = 120


@pytest.fixture
def samples(tmp_path, monkeypatch):
    import ui.data_source

    folder = tmp_path / "samples"
    folder.mkdir()
    frame("chinchilla", seed=11, noise=0.01).to_csv(folder / "chinchilla_like.csv", index=False)
    monkeypatch.setattr(ui.data_source, "SAMPLES_DIR", folder)
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCALECORE_FIT_AHEAD", "0")
    return folder


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def boot_of_sample(folder):
    """The fit as Explore makes it by default: Chinchilla on `loss`, Huber 1e-3, 1,000 case resamples, seed 0."""
    path = folder / "chinchilla_like.csv"
    runs = load_runs([path.read_bytes()], names=[path.name])
    problem = fitting.prepare(runs, "chinchilla", y="loss", loss="huber", delta=1e-3)
    return bootstrap_problem(problem, n_resamples=1000, confidence_level=0.95, seed=0, method="cases",
                             fit=fitting.fit_problem(problem))


def open_tab(**texts) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    at.segmented_control(key="trust_tab").set_value("What to run next").run()
    for key, value in texts.items():
        at.text_input(key=key).set_value(value).run()
    no_errors(at)
    return at


def test_top_candidate_and_the_interval_after_it(samples):
    at = open_tab(next_budget="1e23", next_limit="1e21")
    boot = boot_of_sample(samples)
    target = design.Target.optimum(1e23)
    expected = design.rank_candidates(boot, target, 1e21, grid=20)
    top = expected.top
    text = " ".join(m.value for m in at.markdown)
    assert format_estimate(expected.before, kind="count") in text
    assert (f"Top candidate: **N = {format_value(top['params'], 'count', 3)}, "
            f"D = {format_value(top['tokens'], 'count', 3)}**") in text
    table = at.dataframe[0].value
    assert list(table["N"][:3]) == [format_value(v, "count", 3) for v in expected.table["params"][:3]]

    at.button(key="next_add_top").click().run()
    no_errors(at)
    after = design.with_hypothetical(boot, [(top["params"], top["tokens"])], target)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Now"] == format_estimate(after.before, kind="count")
    assert shown["With the chosen runs"] == format_estimate(after.after, kind="count")
    plan = at.dataframe[1].value
    assert list(plan["run_id"]) == ["next-01"] and plan["N"][0] == format_value(top["params"], "count")
    # the candidates are now ranked given the chosen run: scalecore's ranking on the refitted bootstrap
    given = design.rank_candidates(after.boot, target, 1e21, grid=20).top
    text = " ".join(m.value for m in at.markdown)
    assert (f"Top candidate given the chosen runs: **N = {format_value(given['params'], 'count', 3)}, "
            f"D = {format_value(given['tokens'], 'count', 3)}**") in text


def test_planned_run_target(samples):
    at = open_tab()
    at.segmented_control(key="next_target").set_value("Metric of a planned run").run()
    at.text_input(key="next_params").set_value("7B").run()
    at.text_input(key="next_tokens").set_value("140B").run()
    no_errors(at)
    boot = boot_of_sample(samples)
    largest = float((6 * boot.fit.problem.inputs["params"] * boot.fit.problem.inputs["tokens"]).max())
    limit = float(format_value(10 * largest, "flops"))  # the default limit as the page writes it
    expected = design.rank_candidates(boot, design.Target.planned(7e9, 140e9), limit, grid=20)
    text = " ".join(m.value for m in at.markdown)
    assert format_estimate(expected.before, kind="plain") in text
    assert f"N = {format_value(expected.top['params'], 'count', 3)}" in text


def test_clicking_a_candidate_adds_it_and_clicking_again_removes_it(monkeypatch):
    """The chart's on_select callback reads the candidates' customdata (never point indices): a
    selected candidate is added to the chosen runs, a run of the fit is ignored, and selecting a
    chosen candidate again removes it."""
    from types import SimpleNamespace

    import ui.trust.next_run as page

    fake = SimpleNamespace(session_state={})
    monkeypatch.setattr(page, "st", fake)
    points = [{"curve_number": 1, "point_index": 4, "customdata": ["candidate", 1e8, 2e9, "..."]},
              {"curve_number": 2, "point_index": 0, "customdata": ["run", 5e7, 1e9, "..."]}]
    fake.session_state[page.CHART] = {"selection": {"points": points}}
    page._add_selected()
    assert fake.session_state[page.CHOSEN] == [(1e8, 2e9)]
    # a box over the candidate catches the top-candidate mark drawn over it as well: still one toggle
    top_mark = {"curve_number": 3, "point_index": 0, "customdata": ["candidate", 1e8, 2e9, "..."]}
    fake.session_state[page.CHART] = {"selection": {"points": points[:1] + [top_mark]}}
    page._add_selected()
    assert fake.session_state[page.CHOSEN] == []

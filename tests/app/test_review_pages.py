"""AppTest of the Compare and Review pages: the numbers on them are the library's; saving, reopening by
link, renaming and deleting work; a damaged record is a message, not a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scalecore import comparison, store
from scalecore.formatting import format_interval
from tests.synth import frame

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 180


def two_arch_csv(moe_alpha: float = 0.28) -> bytes:
    """Two architectures on one grid of model sizes, with different E and A (and exponents 0.3 and
    ``moe_alpha``)."""
    parts = []
    for arch, theta, seed in (("dense", {"E": 1.7, "A": 400.0, "alpha": 0.3}, 1),
                              ("moe", {"E": 1.6, "A": 300.0, "alpha": moe_alpha}, 2)):
        df = frame("offset_power_law", seed=seed, noise=0.01, theta=theta, n_points=16)
        df = df.drop(columns=["tokens"])  # model size only: Explore's x is params, its families one-input
        df["arch"] = arch
        df["run_id"] = arch[0] + df["run_id"]
        parts.append(df)
    return pd.concat(parts, ignore_index=True).to_csv(index=False).encode()


CSV = two_arch_csv()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Uploads and saved analyses go to temporary places, never to the user's."""
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "analyses.sqlite3"))


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    problems = [e.value for e in at.error if "Something went wrong" in e.value]
    assert not problems, problems


def uploaded(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:  # upload on the page itself: Explore's fits are not needed
        at.switch_page(page).run()
    at.file_uploader(key="ds_upload").set_value([("two_arch.csv", CSV, "text/csv")]).run()
    no_errors(at)
    return at


def frame_with(at, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a column {column!r}")


def library_boot(family="offset_power_law"):
    """What Explore fits by default on the uploaded data: x = params, 1000 cases resamples, seed 0."""
    analysis = store.Analysis(title="x", files=(store.DataFile("two_arch.csv", CSV),), families=(family,),
                              settings=store.Settings(x="params"))
    results, _ = store.reproduce(analysis)
    return results[family]


# ------------------------------------------------------------------------------ Review


def test_save_then_reopen_by_link_shows_the_same_numbers():
    at = uploaded("views/review.py")
    assert "Save the current analysis" in [s.value for s in at.subheader]
    at.text_input(key="save_title").set_value("Dense vs MoE <b>draft</b>")
    at.text_area(key="save_note").set_value("asked: without r003?")
    at.button(key="save_submit").click().run()
    no_errors(at)
    (item,) = store.list_analyses()
    assert item.title == "Dense vs MoE <b>draft</b>" and item.dataset == "two_arch.csv"
    saved = store.load(item.id)
    assert saved.settings.x == "params" and saved.settings.n_resamples == 1000 and saved.settings.seed == 0
    assert saved.files[0].data == CSV and saved.note == "asked: without r003?"
    assert f"review?analysis={item.id}" in " ".join(c.value for c in at.code)
    boot = library_boot(saved.families[0])
    alpha = saved.summary[saved.families[0]]["params"]["alpha"]
    assert alpha["value"] == boot.fit.params["alpha"]

    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.query_params["analysis"] = item.id
    fresh.run()
    fresh.switch_page("views/review.py")
    fresh.query_params["analysis"] = item.id
    fresh.run()
    no_errors(fresh)
    assert any("every number equals the one saved" in s.value for s in fresh.success)
    table = next(t.value for t in fresh.table if "parameter" in t.value.columns
                 and list(t.value["parameter"]) == list(boot.fit.params))
    lo, hi = boot.confidence_interval["alpha"]
    row = table.set_index("parameter").loc["alpha"]
    assert (row["value"], row["low"], row["high"]) == format_interval(boot.fit.params["alpha"], lo, hi)
    assert [s.value for s in fresh.subheader][0] == "Dense vs MoE \\<b\\>draft\\</b\\>"  # shown as typed


def test_rename_and_delete_from_the_list():
    at = uploaded("views/review.py")
    at.text_input(key="save_title").set_value("first")
    at.button(key="save_submit").click().run()
    (item,) = store.list_analyses()
    at.text_input(key=f"rename_{item.id}").set_value("renamed in the meeting")
    at.button(key="rename_saved").click().run()
    no_errors(at)
    assert store.load(item.id).title == "renamed in the meeting"
    assert "renamed in the meeting" in list(frame_with(at, "title")["title"])
    assert at.button(key="delete_saved").disabled
    at.checkbox(key=f"sure_{item.id}").check().run()
    at.button(key="delete_saved").click().run()
    no_errors(at)
    assert store.list_analyses() == []
    assert any("Nothing saved yet" in i.value for i in at.info)


def test_a_damaged_record_is_a_message_and_the_others_still_open(tmp_path):
    good_one = store.Analysis(title="good", files=(store.DataFile("two_arch.csv", CSV),),
                              families=("offset_power_law",), settings=store.Settings(x="params", n_resamples=50))
    from dataclasses import replace

    good = store.save(replace(good_one, summary=store.summarize(store.reproduce(good_one)[0])))
    bad = store.save(store.Analysis(title="bad", files=(store.DataFile("two_arch.csv", CSV),),
                                    families=("power_law",), settings=store.Settings(x="params", n_resamples=50)))
    con = sqlite3.connect(store.default_path())
    con.execute("UPDATE analyses SET record = ? WHERE id = ?", ("{broken", bad))
    con.commit()
    con.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/review.py")
    at.query_params["analysis"] = bad
    at.run()
    no_errors(at)
    assert any(f"`{bad}`" in e.value and "is damaged" in e.value for e in at.error)
    listing = frame_with(at, "status").set_index("id")
    assert listing.loc[bad, "status"] == "damaged" and listing.loc[good, "status"] == ""
    at.query_params["analysis"] = good
    at.run()
    no_errors(at)
    assert any("every number equals the one saved" in s.value for s in at.success)


def test_an_unknown_link_says_so():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/review.py")
    at.query_params["analysis"] = "nope1234"
    at.run()
    no_errors(at)
    assert any("there is no saved analysis `nope1234`" in e.value for e in at.error)


# ------------------------------------------------------------------------------ Compare


def test_compare_page_numbers_are_the_library_s():
    at = uploaded("views/compare.py")
    assert at.title[0].value == "Compare experiments"
    at.selectbox(key="cmp_by").set_value("group").run()
    at.selectbox(key="cmp_family").set_value("offset_power_law").run()
    at.segmented_control(key="cmp_x").set_value("params").run()
    at.text_input(key="cmp_at_params").set_value("1e11").run()
    no_errors(at)
    from scalecore import load_runs

    comp = comparison.compare(load_runs(CSV, names=["two_arch.csv"]), "offset_power_law", by="group",
                           groups=["dense", "moe"], x="params", n_resamples=1000, seed=0)
    pairs = frame_with(at, "pair").iloc[0]
    assert pairs["pair"] == "moe vs dense"
    assert pairs["Δ alpha"] == comparison.estimate_text(comp.exponent_difference("moe", "dense")["alpha"])
    mult = comp.multiplier("moe", "dense", 1e11)
    assert pairs["multiplier"] == comparison.estimate_text(mult.multiplier) + "×"
    groups = frame_with(at, "moe")  # one column per group, one row per quantity
    boot = comp.results["moe"]
    lo, hi = boot.confidence_interval["alpha"]
    v, l, h = format_interval(boot.fit.params["alpha"], lo, hi)
    assert groups.loc["alpha", "moe"] == f"{v} [{l}, {h}]"
    assert any("needs" in m.value and "moe" in m.value for m in at.markdown)
    # the comparison travels with a saved analysis
    at.switch_page("views/review.py").run()
    at.text_input(key="save_title").set_value("with comparison")
    at.button(key="save_submit").click().run()
    no_errors(at)
    (item,) = store.list_analyses()
    spec = store.load(item.id).comparison
    # with what the Joint fit section shares (issue 24: the report and the link refit it)
    assert spec == {"family": "offset_power_law", "by": "group", "groups": ["dense", "moe"], "x": "params", "at": 1e11,
                    "shared": "exponents"}


def test_compare_explains_what_it_needs():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/compare.py").run()
    no_errors(at)
    if (ROOT / "sample_runs" / "chinchilla_like.csv").exists():  # the default sample: grouped by budget
        assert any("single compute budget" in i.value for i in at.info)
        assert not at.get("plotly_chart")
    one = frame("offset_power_law", seed=3, n_points=12).to_csv(index=False).encode()
    at.file_uploader(key="ds_upload").set_value([("one.csv", one, "text/csv")]).run()
    no_errors(at)
    assert any("Comparing needs groups" in i.value for i in at.info)


def test_pages_with_results_offer_the_report():
    at = uploaded("views/review.py")
    labels = lambda: [el.proto.label for el in at.get("download_button")]  # noqa: E731
    assert "Download the report of the current analysis" in labels()
    at.switch_page("views/explore.py").run()
    no_errors(at)
    assert "Report (HTML)" in labels()
    at.switch_page("views/compare.py").run()
    no_errors(at)
    assert "Download the report (with this comparison)" in labels()



def explore_families_shown(at) -> set[str]:
    """The families whose parameter tables Explore shows (their bold headings)."""
    return {s.value.split("**")[1] for s in at.markdown if s.value.startswith("**")}


def test_open_in_explore_link_switches_on_the_saved_families():
    """Issue 22: the link wrote ``fam=power_law`` (names) while Explore's pills read and write labels,
    so Explore opened with its default families (here both power laws) instead of the saved one."""
    from urllib.parse import parse_qs, urlsplit

    from ui import review as rv

    saved = store.Analysis(title="x", files=(store.DataFile("two_arch.csv", CSV),), families=("power_law",),
                           settings=store.Settings(x="params", n_resamples=200))
    query = parse_qs(urlsplit(rv.explore_url(saved)).query)
    assert query["fam"] == ["Power law"]  # what the app's own links write
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, values in query.items():
        at.query_params[key] = values if len(values) > 1 else values[0]
    at.run()
    no_errors(at)
    assert list(at.session_state["fam"]) == ["power_law"]
    assert explore_families_shown(at) == {"Power law"}


def test_a_link_written_with_family_names_still_opens_them():
    """Links written before the fix name families (``fam=power_law``): read as the labels are."""
    from ui import data_source

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["data"] = data_source.store_upload([("two_arch.csv", CSV)])
    at.query_params["x"] = "params"
    at.query_params["fam"] = "power_law"
    at.query_params["n"] = "200"
    at.run()
    no_errors(at)
    assert list(at.session_state["fam"]) == ["power_law"]
    assert explore_families_shown(at) == {"Power law"}

"""Issue 24 item 4 on the pages: the joint fit offered when the separate comparison fails, saved with
the analysis, and shown on the shared link's Review page with the library's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scalecore import formatting, load_runs, report, store
from scalecore.joint import joint_fit
from ui import review as rv

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 240


def narrow_wide_csv() -> bytes:
    """One group over four decades of N, the other over half a decade: alone, the narrow one does not
    determine its offset power law; with alpha shared it does. alpha = 0.3 in both."""
    rng = np.random.default_rng(5)
    rows = []
    for arch, E, A, lo, hi, k in (("wide", 1.7, 400.0, 1e7, 1e11, 14), ("narrow", 1.6, 300.0, 1e9, 3e9, 5)):
        n = np.geomspace(lo, hi, k)
        y = (E + A * n ** -0.3) * np.exp(rng.normal(0, 0.01, k))
        rows += [{"run_id": f"{arch}{i}", "params": a, "tokens": 20 * a, "loss": b, "arch": arch}
                 for i, (a, b) in enumerate(zip(n, y))]
    return pd.DataFrame(rows).to_csv(index=False).encode()


CSV = narrow_wide_csv()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "analyses.sqlite3"))


def shared_table(tables) -> pd.DataFrame:
    for t in tables:
        value = t.value
        if "shared" in value.columns:
            return value.set_index("shared")
    raise AssertionError("no table of shared values")


def test_joint_fit_offered_when_the_separate_fits_fail_then_saved_and_shown_on_the_link():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/compare.py").run()
    at.file_uploader(key="ds_upload").set_value([("narrow_wide.csv", CSV, "text/csv")]).run()
    at.selectbox(key="cmp_by").set_value("group").run()
    at.multiselect(key="cmp_groups_group").set_value(["wide", "narrow"]).run()
    at.selectbox(key="cmp_family").set_value("offset_power_law").run()
    at.segmented_control(key="cmp_x").set_value("params").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "narrow" in errors[0]  # the separate comparison: one group not determined

    runs = load_runs(CSV, names=["narrow_wide.csv"])
    jf = joint_fit(runs, "offset_power_law", by="group", groups=["wide", "narrow"], shared="exponents", x="params",
                   n_resamples=1000, seed=0)
    shared = shared_table(at.dataframe)
    assert shared.loc["alpha", "value"] == formatting.format_estimate(jf.shared_estimates["alpha"])
    assert 0.25 < jf.shared_estimates["alpha"].value < 0.35  # the truth, 0.3, recovered jointly
    spec = at.session_state[rv.COMPARE_SPEC]
    assert spec["shared"] == "exponents" and spec["by"] == "group" and spec["at"] == pytest.approx(jf.target())

    # saved with the analysis on the Review page, then opened by its link
    at.switch_page("views/review.py").run()
    at.button(key="save_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (item,) = store.list_analyses()
    saved = store.load(item.id)
    assert report.joint_shared(saved) == "exponents" and saved.comparison["groups"] == ["wide", "narrow"]

    link = AppTest.from_file(APP, default_timeout=TIMEOUT)
    link.run()
    link.switch_page("views/review.py")
    link.query_params["analysis"] = item.id
    link.run()
    assert not link.exception, [e.value for e in link.exception]
    assert shared_table(link.table).loc["alpha", "value"] == formatting.format_estimate(jf.shared_estimates["alpha"])
    text = jf.test.text()
    assert any(m.value.replace("\\", "") == text[0].upper() + text[1:] + "." for m in link.markdown)
    pairs = [t.value for t in link.table if "P(better)" in t.value.columns][0].iloc[0]
    assert pairs["pair"] == "narrow vs wide"
    assert pairs["P(better)"] == formatting.format_value(jf.probability_better("narrow", "wide"), digits=3)


def test_a_slow_report_is_prepared_with_a_progress_bar_through_its_steps(monkeypatch, progress_calls):
    """Over REPORT_SLOW_SECONDS expected (set to 0 here, so this small analysis counts as slow), the
    opened analysis' report is prepared behind a button, the bar naming each step, then downloaded."""
    monkeypatch.setattr(rv, "REPORT_SLOW_SECONDS", 0.0)
    saved = store.Analysis(title="narrow and wide", files=(store.DataFile("narrow_wide.csv", CSV),),
                           families=("offset_power_law",), settings=store.Settings(x="params", n_resamples=100, seed=1),
                           comparison={"family": "offset_power_law", "by": "group", "groups": ["wide", "narrow"],
                                       "x": "params", "at": 1e10, "shared": "alpha"})
    aid = store.save(saved)
    seen = progress_calls
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    # a session with work of its own keeps its dataset (AppTest cannot click on a page whose sidebar
    # adopted the saved data: it formats the dataset choice outside the session)
    at.query_params["exclude"] = "iso1e19-n17|mine"
    at.run()
    at.switch_page("views/review.py")
    at.query_params["analysis"] = aid
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = lambda: [el.proto.label for el in at.get("download_button")]  # noqa: E731
    assert "Download the report" not in labels()
    prepare = at.button(key="dl_opened_report_prepare")
    assert prepare.label.startswith("Prepare the report (about ")
    seen.clear()
    prepare.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Download the report" in labels()
    texts = [t for _, t in seen if t and t.startswith("Preparing the report")]
    # the comparison is refitted (the page passes only the joint fit it shows), the backtest, the rest
    assert any("comparing the groups" in t for t in texts) and any("backtesting" in t for t in texts), texts
    assert not any("fitting the groups jointly" in t for t in texts)  # passed in: not refitted
    values = [v for v, t in seen if t and t.startswith("Preparing the report")]
    assert values == sorted(values) and values[-1] < 1
    assert not at.get("progress")  # emptied once the report is ready
    # prepared once: a rerun keeps the download without preparing again
    seen.clear()
    at.run()
    assert "Download the report" in labels() and not seen

"""AppTest of the Compare page's Joint fit section: the numbers on screen are scalecore's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scalecore import formatting, load_runs, store
from scalecore.joint import joint_fit
from test_review_pages import two_arch_csv
from ui import md

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 180


CSV = two_arch_csv(moe_alpha=0.3)  # one exponent: what a shared-exponent fit assumes


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "analyses.sqlite3"))


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error], [e.value for e in at.error]


def table(at, column: str) -> pd.DataFrame:
    """The table with a column ``column`` (AppTest does not find a dataframe by its key)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a column {column!r}")


def joint_groups(at) -> pd.DataFrame:
    """The joint fit's table of each group's own parameters (the last table with a `group` column)."""
    return [df.value for df in at.dataframe if "group" in df.value.columns][-1].set_index("group")


def test_joint_section_shows_the_library_s_numbers():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/compare.py").run()
    at.file_uploader(key="ds_upload").set_value([("two_arch.csv", CSV, "text/csv")]).run()
    at.selectbox(key="cmp_by").set_value("group").run()
    at.selectbox(key="cmp_family").set_value("offset_power_law").run()
    at.segmented_control(key="cmp_x").set_value("params").run()
    at.text_input(key="cmp_at_params").set_value("1e11").run()
    no_errors(at)
    assert at.segmented_control(key="cmp_shared").value == "exponents"

    runs = load_runs(CSV, names=["two_arch.csv"])
    jf = joint_fit(runs, "offset_power_law", by="group", groups=["dense", "moe"], shared="exponents", x="params",
                   n_resamples=1000, seed=0)
    shared = table(at, "shared").set_index("shared")
    assert shared.loc["alpha", "value"] == formatting.format_estimate(jf.shared_estimates["alpha"])
    text = jf.test.text()
    assert any(m.value == md(text[0].upper() + text[1:] + ".") for m in at.markdown)
    assert "no evidence" in text.lower()  # one alpha for both groups
    pairs = table(at, "P(better)").iloc[0]
    assert pairs["pair"] == "moe vs dense"
    assert pairs["P(better)"] == formatting.format_value(jf.probability_better("moe", "dense", 1e11), digits=3)
    mult = jf.multiplier("moe", "dense", 1e11)
    assert mult.status == "ok"
    assert pairs["multiplier"] == formatting.format_estimate(mult.multiplier) + "×"
    own = joint_groups(at)
    assert own.loc["moe", "E"] == formatting.format_estimate(jf.estimates["moe"]["E"])
    assert "alpha" not in own.columns

    # the floor shared instead: E has one value, alpha one per group
    at.segmented_control(key="cmp_shared").set_value("E").run()
    no_errors(at)
    jf = joint_fit(runs, "offset_power_law", by="group", groups=["dense", "moe"], shared="E", x="params",
                   n_resamples=1000, seed=0)
    shared = table(at, "shared").set_index("shared")
    assert list(shared.index) == ["E"]
    assert shared.loc["E", "value"] == formatting.format_estimate(jf.shared_estimates["E"])
    own = joint_groups(at)
    assert own.loc["dense", "alpha"] == formatting.format_estimate(jf.estimates["dense"]["alpha"])

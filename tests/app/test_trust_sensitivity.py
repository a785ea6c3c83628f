"""AppTest of the Trust page's sensitivity tab: the numbers on screen are scalecore's, computed here
from the same runs (the bundled chinchilla_like sample, Explore's default Chinchilla fit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scalecore import FitSpec, Settings, load_runs
from scalecore.formatting import format_estimate
from scalecore.sensitivity import sensitivity, shift_text

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 240


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCALECORE_FIT_AHEAD", "0")


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error], [e.value for e in at.error]


def test_the_table_shows_scalecores_numbers():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("views/trust.py").run()
    no_errors(at)
    at.segmented_control(key="trust_tab").set_value("Sensitivity").run()
    no_errors(at)
    assert at.selectbox(key="sens_family").value == "chinchilla"
    at.text_input(key="sens_target").set_value("1e24")
    at.text_input(key="sens_cut").set_value("100M")
    at.number_input(key="sens_resamples").set_value(40).run()
    no_errors(at)

    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")
    expected = sensitivity(runs, FitSpec("chinchilla"), 1e24, settings=Settings(), n_resamples=40, min_params=1e8)
    table = at.table[0].value
    assert list(table["choice"])[0] == "baseline"
    assert table["N*"].iloc[0] == format_estimate(expected.baseline.params, kind="count")
    least = expected.rows[[r.alternative for r in expected.rows].index("least squares")]
    shown = table[table["alternative"] == "least squares"].iloc[0]
    assert shown["N*"] == format_estimate(least.params, kind="count")
    assert shown["shift of N*"] == shift_text(expected.shift(least, "params"), "params")
    cut = table[table["choice"] == "Fit range"].iloc[0]
    assert cut["alternative"] == [r.alternative for r in expected.rows if r.choice == "Fit range"][0]
    assert len(at.get("plotly_chart")) >= 1


def test_a_law_in_compute_shows_the_loss_and_its_shift():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["data"] = "sample:compute_saturating.csv"
    at.run()
    at.switch_page("views/trust.py").run()
    at.segmented_control(key="trust_tab").set_value("Sensitivity").run()
    no_errors(at)
    assert at.selectbox(key="sens_family").value == "offset_power_law"
    at.text_input(key="sens_target").set_value("1e24")
    at.number_input(key="sens_resamples").set_value(40).run()
    no_errors(at)
    runs = load_runs(ROOT / "sample_runs" / "compute_saturating.csv")
    expected = sensitivity(runs, FitSpec("offset_power_law", x="compute"), 1e24, settings=Settings(), n_resamples=40)
    table = at.table[0].value
    assert "N*" not in table.columns
    e_row = expected.rows[[r.choice for r in expected.rows].index("E")]
    shown = table[table["choice"] == "E"].iloc[0]
    assert shown["loss at the target"] == format_estimate(e_row.loss, kind="loss")
    assert shown["shift of loss at the target"] == shift_text(expected.shift(e_row, "loss"), "loss")

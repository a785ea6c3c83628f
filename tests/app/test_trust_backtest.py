"""AppTest of the Trust page's backtest tab on the bundled sample (sample_runs/chinchilla_like.csv):
the numbers on screen are scalecore's, computed here with the Explore page's default settings."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scalecore import load_runs
from scalecore.backtest import backtest, rolling_backtest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SAMPLE = ROOT / "sample_runs" / "chinchilla_like.csv"
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    problems = [e.value for e in at.error if "Something went wrong" in e.value]
    assert not problems, problems


def open_tab() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/trust.py").run()
    no_errors(at)
    return at


def expected(cutoff: float, family: str = "chinchilla"):
    """Explore's defaults (95%, seed 0, Huber delta 1e-3, cases), its 1000 resamples capped at the tab's 400."""
    return backtest(load_runs(SAMPLE), family, cutoff=cutoff, by="compute", n_resamples=400, level=0.95, seed=0)


def summary_table(at) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if "held out" in df.value.columns)


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata" (base64)}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, float)


def test_backtest_tab_shows_scalecores_numbers():
    at = open_tab()
    # the cutoff the tab opens with: the budget whose runs at or above it are nearest 20% of the runs
    compute = pd.read_csv(SAMPLE)["compute"].to_numpy()
    budgets = np.unique(compute)[1:]
    share = np.array([np.mean(compute >= b) for b in budgets])
    cutoff = float(budgets[np.argmin(np.abs(share - 0.2))])
    assert at.select_slider(key="trust_bt_cutoff").value == pytest.approx(cutoff)

    bt = expected(cutoff)
    held = bt.table
    # independent of the summary's own arithmetic: the bias and coverage from the per-run columns
    rel = (held["predicted"] - held["actual"]) / held["actual"]
    inside = int(((held["actual"] >= held["pi_low"]) & (held["actual"] <= held["pi_high"])).sum())
    assert bt.bias_pct == pytest.approx(100 * rel.mean()) and bt.n_inside == inside

    row = summary_table(at).iloc[0]
    assert row["family"] == "Chinchilla"
    assert row["held out"] == f"{bt.n_test} runs ≥ {cutoff:.2e} compute"
    assert row["bias"] == bt.summary_row()["bias"] and float(row["bias"].rstrip("%")) == pytest.approx(
        100 * rel.mean(), abs=0.051)
    assert row["mean abs error"] == bt.summary_row()["mean abs error"]
    assert row["inside the 95% PI"] == f"{inside} of {bt.n_test} inside"

    # the figure: training and held-out runs as split, and the prediction band named in the caption
    captions = " ".join(c.value for c in at.caption)
    assert "Drawn: the 95% prediction band, which adds run-to-run noise" in captions
    assert "400 cases resamples of the runs below the cutoff, of the Explore page's 1000" in captions
    spec = next(json.loads(el.proto.spec) for el in at.get("plotly_chart") if "backtest" in json.loads(
        el.proto.spec)["layout"]["title"]["text"].lower() and "rolling" not in json.loads(
        el.proto.spec)["layout"]["title"]["text"].lower())
    names = [t.get("name", "") for t in spec["data"]]
    assert f"training runs ({bt.n_train})" in names and f"held-out runs ({bt.n_test})" in names
    forecast = next(t for t in spec["data"] if t.get("name") == "Chinchilla: held-out forecasts")
    np.testing.assert_allclose(array(forecast["y"]), held["predicted"], rtol=1e-9)

    # every cutoff in turn: each point is a held-out run's error against its decades beyond the training runs
    rolled = rolling_backtest(load_runs(SAMPLE), "chinchilla", by="compute")
    spec = next(json.loads(el.proto.spec) for el in at.get("plotly_chart")
                if "rolling" in json.loads(el.proto.spec)["layout"]["title"]["text"].lower())
    (points,) = [t for t in spec["data"] if t.get("name") == "Chinchilla"]
    np.testing.assert_allclose(array(points["x"]), rolled.table["decades"], rtol=1e-9)
    np.testing.assert_allclose(array(points["y"]), rolled.table["error_pct"], rtol=1e-9)
    budgets_left = np.unique(compute)
    # every budget but the first (6 N D of the rounded sizes is within 1e-5 of the budget)
    assert sorted(set(rolled.table["cutoff"])) == pytest.approx(list(budgets_left[1:]), rel=1e-5)

    # the other band: the caption says so, and the error bars are the confidence interval of the mean
    at.radio(key="trust_bt_band").set_value("confidence").run()
    no_errors(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Drawn: the 95% confidence band of the mean" in captions

    # another cutoff: the table follows
    other = float(budgets[-2])
    at.select_slider(key="trust_bt_cutoff").set_value(other).run()
    no_errors(at)
    bt2 = expected(other)
    row = summary_table(at).iloc[0]
    assert row["held out"].startswith(f"{bt2.n_test} runs") and bt2.n_test == int(np.sum(compute >= other))
    assert row["inside the 95% PI"] == bt2.coverage_text

"""The Downstream page in a real browser: open it on the synthetic downstream sample, read the chained
prediction with its interval, type another target, reopen the link.

Screenshots (test-artifacts/): downstream-01-open.png, downstream-02-target.png.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from conftest import wait_for_app_run
from scalecore import load_runs
from scalecore.downstream import fit_downstream
from scalecore.formatting import format_interval

pytestmark = pytest.mark.e2e

TRUE_ACCURACY = 0.7945  # the held-out run of sample_runs/README.md, section 6


def card(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").filter(has_text=label))
    return metric.first.get_by_test_id("stMetricValue").inner_text().strip()


def interval_caption(page) -> str:
    """The interval under the chained accuracy's card ("95% interval [0.744, 0.811]")."""
    return page.get_by_text("95% interval [").first.inner_text().strip()


def texts(est) -> tuple[str, str]:
    v, lo, hi = format_interval(est.value, est.low, est.high)
    return v, f"95% interval [{lo}, {hi}]"


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app_run(page)
    page.get_by_test_id("stMetric").first.wait_for(timeout=90_000)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=30_000)


def test_the_chained_prediction_and_its_interval(page, app_url, artifacts):
    from conftest import ROOT

    result = fit_downstream(load_runs(ROOT / "sample_runs" / "downstream_accuracy.csv"), n_resamples=1000, seed=0)
    pred = result.predict_at(params=3e10, tokens=6e11)
    open_page(page, f"{app_url}/downstream?data=sample:downstream_accuracy.csv")
    value, interval = texts(pred.estimate)
    assert card(page, "accuracy (chained)") == value  # "0.784"
    assert interval_caption(page) == interval  # "95% interval [0.744, 0.811]"
    low, high = (float(v) for v in interval.split("[")[1].rstrip("]").split(","))
    assert low <= TRUE_ACCURACY <= high
    assert page.get_by_test_id("stPlotlyChart").count() >= 2
    assert page.locator(".js-plotly-plot .scatterlayer .point").count() > 20  # runs and the target drawn
    assert not page.get_by_test_id("stException").count()
    page.screenshot(path=str(artifacts / "downstream-01-open.png"), full_page=True)

    box = page.get_by_role("textbox", name="Target model size N")
    box.fill("7B")
    box.press("Enter")
    box = page.get_by_role("textbox", name="Target tokens D")
    box.fill("140B")
    box.press("Enter")
    wait_for_app_run(page)
    value, interval = texts(result.predict_at(params=7e9, tokens=1.4e11).estimate)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-testid=stCaptionContainer]')].some(e => e.innerText.trim() === want)",
        arg=interval, timeout=60_000)
    assert card(page, "accuracy (chained)") == value
    query = parse_qs(urlparse(page.url).query)
    assert query.get("dn_target_params") == ["7B"] and query.get("dn_target_tokens") == ["140B"], page.url
    page.set_viewport_size({"width": 1400, "height": 2700})  # the whole page: both figures and the tables
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts / "downstream-02-target.png"), full_page=True)

    fresh = page.context.new_page()
    open_page(fresh, page.url)
    assert card(fresh, "accuracy (chained)") == value and interval_caption(fresh) == interval
    fresh.close()

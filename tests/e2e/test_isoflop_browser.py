"""The IsoFLOP & curves page in a real browser: the profiles plot of the off-centre sample with the
Approach 2 / 3 disagreement, then the training curves with their envelope.

Screenshots (test-artifacts/): isoflop-01-open.png, isoflop-02-profiles.png, isoflop-03-frontier.png,
isoflop-04-curves.png.
"""

from __future__ import annotations

import pytest

from conftest import wait_for_app_run
from scalecore import load_runs
from scalecore.formatting import format_interval
from scalecore.isoflop import isoflop_profiles

pytestmark = pytest.mark.e2e


def figure_titles(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(gd => (gd._fullLayout.title || {}).text || '')""")


def test_profiles_then_curves(page, app_url, artifacts):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "sample_runs" / "isoflop_offcentre.csv"
    page.goto(f"{app_url}/isoflop?data=sample:isoflop_offcentre.csv")
    wait_for_app_run(page)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=90_000)
    wait_for_app_run(page)
    assert not page.get_by_test_id("stException").count()
    titles = figure_titles(page)
    assert any(t.startswith("IsoFLOP profiles") for t in titles), titles
    # eleven budgets drawn, each minimum a star
    budgets = page.evaluate("""() => document.querySelector('.js-plotly-plot')._fullData
        .filter(t => (t.name || '').startsWith('C = ')).length""")
    assert budgets == 11
    a = isoflop_profiles(load_runs(sample), n_resamples=1000, seed=0).estimates["a"]
    value, low, high = format_interval(a.value, a.low, a.high)
    values = [m.inner_text() for m in page.get_by_test_id("stMetricValue").all()]
    assert value in values, values
    assert page.get_by_text(f"95% interval [{low}, {high}]").count() >= 1
    assert page.get_by_text("Approach 2 and Approach 3 disagree").count() == 1
    page.screenshot(path=str(artifacts / "isoflop-01-open.png"), full_page=True)
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "isoflop-02-profiles.png"))
    second = page.get_by_test_id("stPlotlyChart").nth(1)
    second.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "isoflop-03-frontier.png"))

    page.get_by_text("Loss curves", exact=True).first.click()
    wait_for_app_run(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some("
                           "gd => ((gd._fullLayout.title || {}).text || '').startsWith('Training curves'))",
                           timeout=90_000)
    assert "f_view=Loss+curves" in page.url or "f_view=Loss%20curves" in page.url, page.url
    assert not page.get_by_test_id("stException").count()
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "isoflop-04-curves.png"))

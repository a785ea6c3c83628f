"""The Budget page in a real browser: change the budget, read the new N*, reopen the link.

Screenshots (test-artifacts/): budget-01-open.png, budget-02-changed.png, budget-03-reopened.png.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from conftest import wait_for_app_run
from scalecore import budget
from scalecore.budget import Law, format_answer

pytestmark = pytest.mark.e2e


def open_budget(page, url: str) -> None:
    page.goto(url)
    wait_for_app_run(page)
    page.get_by_test_id("stMetric").first.wait_for(timeout=90_000)


def card(page, label: str) -> str:
    """The value of the metric card called ``label``."""
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").filter(has_text=label))
    return metric.first.get_by_test_id("stMetricValue").inner_text().strip()


def expected_n_star(compute: float) -> str:
    """The card's value: N* of the preset with its published intervals (the page's default), rounded
    to that interval (the card shows the value; the interval is in the caption under it)."""
    from ui.budget_state import PRESET_SAMPLES

    est = budget.compute_optimal(Law.preset("besiroglu2024", n_samples=PRESET_SAMPLES, seed=0), compute)["params"]
    return format_answer(est, "count").partition(" [")[0]


def test_change_the_budget_and_read_the_new_n_star(page, app_url, artifacts):
    open_budget(page, f"{app_url}/budget?b_law=Published+law&b_preset=Besiroglu+et+al.+2024&b_compute=1e24")
    assert card(page, "Model size N*") == expected_n_star(1e24)  # about 96B (the published errors give a wide interval)
    page.screenshot(path=str(artifacts / "budget-01-open.png"), full_page=True)

    box = page.get_by_role("textbox", name="Training compute (FLOPs)")
    box.fill("5.76e23")
    box.press("Enter")
    wait_for_app_run(page)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === want)",
        arg=expected_n_star(5.76e23), timeout=30_000)
    assert card(page, "Model size N*") == expected_n_star(5.76e23)  # 72B: Chinchilla's 70B
    assert not page.get_by_test_id("stException").count()
    page.screenshot(path=str(artifacts / "budget-02-changed.png"), full_page=True)

    # the budget is in the link: a fresh page opened from it shows the same plan
    query = parse_qs(urlparse(page.url).query)
    assert query.get("b_compute") == ["5.76e23"], page.url
    fresh = page.context.new_page()
    open_budget(fresh, page.url)
    assert card(fresh, "Model size N*") == expected_n_star(5.76e23)
    fresh.screenshot(path=str(artifacts / "budget-03-reopened.png"), full_page=True)
    fresh.close()

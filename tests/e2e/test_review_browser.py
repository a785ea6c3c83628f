"""Browser test: save an analysis on the Review page, open its link in a fresh browser context (a
colleague the morning after) and read the same parameters -- which are also the library's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from scalecore import store
from scalecore.formatting import format_interval

from conftest import start_server, stop_server, wait_for_app_run

pytestmark = pytest.mark.e2e
TITLE = "Morning-after check <script>alert(1)</script>"
#: Elements of the page's latest run: while a rerun is on (or its leftovers are being removed), the
#: previous run's elements stay on screen marked stale, so a count over every element can double.
CURRENT = "[data-testid='stElementContainer'][data-stale='false']"


@pytest.fixture(scope="module")
def review_app(tmp_path_factory):
    """The app with its own analyses database (never the user's)."""
    home = tmp_path_factory.mktemp("review-home")
    db = home / "analyses.sqlite3"
    proc, url = start_server(home, env_extra={store.ENV_VAR: str(db)})
    yield url, db
    stop_server(proc)


def parameter_tables(page) -> list[list[list[str]]]:
    """The rows (cells as text) of every static table of the page's latest run."""
    tables = []
    for table in page.locator(f"{CURRENT} [data-testid='stTable']").all():
        rows = []
        for tr in table.locator("tr").all():
            cells = [c.inner_text().strip() for c in tr.locator("th, td").all()]
            if cells:
                rows.append(cells)
        tables.append(rows)
    return tables


def test_saved_link_reopens_the_same_parameters(browser, review_app, artifacts, monkeypatch):
    url, db = review_app
    first = browser.new_context(viewport={"width": 1400, "height": 2400})
    page = first.new_page()
    page.goto(f"{url}/review")
    wait_for_app_run(page)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Note").fill("Asked in the meeting: is beta really above alpha?")
    page.get_by_role("button", name="Save analysis").click()
    wait_for_app_run(page)
    page.get_by_text("Share this link").wait_for(timeout=90_000)
    link = page.get_by_test_id("stCode").first.inner_text().strip()
    assert re.fullmatch(rf"{re.escape(url)}/review\?analysis=[{store.ID_ALPHABET}]{{{store.ID_LENGTH}}}", link), link
    analysis_id = link.rsplit("=", 1)[1]

    page.get_by_role("link", name="Open it here").click()
    wait_for_app_run(page)
    page.get_by_text("every number equals the one saved").wait_for(timeout=90_000)
    page.get_by_test_id("stTable").first.wait_for(timeout=30_000)
    wait_for_app_run(page)
    shown_here = parameter_tables(page)
    assert shown_here
    page.screenshot(path=str(artifacts / "review-saved.png"), full_page=True)

    second = browser.new_context(viewport={"width": 1400, "height": 2400})  # no shared session or cookies
    other = second.new_page()
    dialogs = []
    other.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    other.goto(link)
    wait_for_app_run(other)
    other.get_by_text("every number equals the one saved").wait_for(timeout=90_000)
    other.get_by_test_id("stTable").first.wait_for(timeout=30_000)
    wait_for_app_run(other)
    # the title, as typed (not run as HTML), as the page's one heading of it (the list of saved
    # analyses names it too): waited for, as a rerun under load can leave the previous run's heading
    # beside this one's for a moment
    expect(other.locator(CURRENT).get_by_role("heading", name=TITLE, exact=True)).to_have_count(1, timeout=60_000)
    shown_there = parameter_tables(other)
    other.screenshot(path=str(artifacts / "review-reopened.png"), full_page=True)
    assert shown_there == shown_here
    assert not dialogs and other.get_by_test_id("stException").count() == 0

    # ... and they are the library's numbers for the saved data and settings
    monkeypatch.setenv(store.ENV_VAR, str(db))
    saved = store.load(analysis_id)
    results, errors = store.reproduce(saved)
    assert not errors
    rows = {row[0]: row[1:4] for table in shown_there for row in table[1:]}
    for family, boot in results.items():
        for name, value in boot.fit.params.items():
            lo, hi = boot.confidence_interval[name]
            if name in rows and list(rows[name]) == list(format_interval(value, lo, hi)):
                continue
            # parameter names repeat across families (E, A, alpha): look in that family's table
            assert any([r[0]] + r[1:4] == [name, *format_interval(value, lo, hi)] for t in shown_there for r in t), \
                (family, name)

    # the colleague downloads the report for people who were not there: same numbers, opens offline
    with other.expect_download(timeout=120_000) as info:
        other.get_by_role("button", name="Download the report", exact=True).click()
    html = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Morning-after check &lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert not re.search(r"<script[^>]*\bsrc=", html)
    for family, boot in results.items():
        name, value = next(iter(boot.fit.params.items()))
        assert f'data-raw="{value!r}" data-kind="value" data-family="{family}" data-param="{name}"' in html
    first.close()
    second.close()

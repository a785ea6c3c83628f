"""Hostile text in a real browser (issue 7): run ids, reasons, group and file names that look like
HTML or markdown stay text -- in the sidebar, the plot's hover, the tables, the error messages and
the downloaded report -- and no script ever runs (no dialog opens).

Screenshots (test-artifacts/): hostile-01-hover.png, hostile-02-excluded.png, hostile-03-report.png,
hostile-04-bad-upload.png.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from conftest import wait_for_app_run

pytestmark = pytest.mark.e2e

SCRIPT_ID = "<script>alert(1)</script>"
IMG_ID = "<img src=x onerror=alert(2)>"
REASON = "<img src=y onerror=alert(3)> see [the log](https://example.com/log) **now**"
GROUPS = ("<b>g1</b>", "**plain**")
FILE_NAME = "runs <i>x</i> [y](z).csv"


def hostile_csv() -> bytes:
    """A Chinchilla-like grid (5 budgets x 9 sizes, seeded 1% noise) whose first two run ids and
    whose group names are HTML or markdown."""
    rng = np.random.default_rng(7)
    lines, i = ["run,N,D,loss,group"], 0
    for c in (1e18, 1e19, 1e20, 1e21, 1e22):
        n_opt = 0.6 * (c / 6) ** 0.5
        for n in np.geomspace(n_opt / 12, n_opt * 12, 9):
            d = c / (6 * n)
            loss = (1.8172 + 482.01 / n ** 0.3478 + 2085.43 / d ** 0.3658) * math.exp(rng.normal(0, 0.01))
            rid = {0: SCRIPT_ID, 1: IMG_ID}.get(i, f"r{i}")
            lines.append(f"{rid},{n:.4e},{d:.4e},{loss:.5f},{GROUPS[i % 2]}")
            i += 1
    return ("\n".join(lines) + "\n").encode()


def upload(page, name: str, data: bytes) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    wait_for_app_run(page)


def wait_for_trace(page, name: str) -> None:
    page.wait_for_function(
        "(name) => { const gd = document.querySelector('.js-plotly-plot');"
        " return gd && gd._fullData && gd._fullData.some(t => t.name === name); }", arg=name, timeout=90_000)
    wait_for_app_run(page)


def point_on_screen(page, run_id: str) -> dict:
    """Where the main figure draws run ``run_id`` (read from plotly's own layout)."""
    return page.evaluate("""(rid) => {
        const gd = document.querySelector('.js-plotly-plot');
        const fl = gd._fullLayout, box = gd.getBoundingClientRect();
        for (const t of gd._fullData) {
            if (!t.customdata) continue;
            for (let i = 0; i < t.x.length; i++) if (t.customdata[i][0] === rid)
                return {x: box.left + fl.xaxis._offset + fl.xaxis.l2p(Math.log10(t.x[i])),
                        y: box.top + fl.yaxis._offset + fl.yaxis.l2p(Math.log10(t.y[i]))};
        }
        return null; }""", run_id)


def sidebar_caption(page) -> str:
    return page.get_by_test_id("stSidebar").get_by_test_id("stCaptionContainer").first.inner_text()


@pytest.fixture
def dialogs(page) -> list[str]:
    """Every alert/confirm/prompt the page opens (there must be none); registered before navigation."""
    opened: list[str] = []
    page.on("dialog", lambda d: (opened.append(d.message), d.dismiss()))
    return opened


def test_html_and_markdown_in_user_text_stay_text_everywhere(page, browser, app_url, artifacts, dialogs):
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.goto(app_url)
    wait_for_app_run(page)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=90_000)
    upload(page, FILE_NAME, hostile_csv())
    wait_for_trace(page, "runs (45)")
    assert "data=upload%3A" in page.url

    # the sidebar's summary names the file and the groups as typed: no italics, bold or link
    caption = sidebar_caption(page)
    assert caption.startswith(f"45 runs in 1 file ({FILE_NAME}); 2 groups (")
    assert all(g in caption for g in GROUPS), caption
    html = page.get_by_test_id("stSidebar").get_by_test_id("stCaptionContainer").first.inner_html()
    assert not re.search(r"<(i|b|strong|em|a)\b", html), html

    # the plot's hover shows the run id as written
    page.get_by_test_id("stPlotlyChart").first.scroll_into_view_if_needed()
    page.get_by_test_id("stPlotlyChart").first.hover()
    where = point_on_screen(page, SCRIPT_ID)
    page.mouse.move(where["x"], where["y"])
    page.wait_for_timeout(400)
    page.mouse.move(where["x"] + 1, where["y"])
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for(timeout=10_000)
    assert hover.text_content().startswith(SCRIPT_ID), hover.text_content()
    page.screenshot(path=str(artifacts / "hostile-01-hover.png"))

    # exclude it with a hostile reason (as a shared link would): listed as typed, in a table cell
    page.goto(page.url + "&exclude=" + quote(f"{SCRIPT_ID}|{REASON}"))
    wait_for_app_run(page)
    wait_for_trace(page, "excluded (1)")
    excluded = page.evaluate("""() => document.querySelector('.js-plotly-plot')._fullData
                                  .find(t => t.name === 'excluded (1)').customdata.map(c => c[0])""")
    assert excluded == [SCRIPT_ID]
    # st.dataframe draws on a canvas; its accessible table (role=gridcell) holds the cell text
    page.locator("[role='gridcell']").filter(has_text="alert(3)").first.wait_for(state="attached", timeout=30_000)
    cells = [c.text_content() for c in page.locator("[role='gridcell']").all()]
    assert SCRIPT_ID in cells and REASON in cells, [c for c in cells if "alert" in c]
    page.screenshot(path=str(artifacts / "hostile-02-excluded.png"), full_page=True)

    # the report escapes every one of them, and opens in the browser without running any
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Report (HTML)").click()
    report = Path(info.value.path()).read_text(encoding="utf-8")
    for raw in (SCRIPT_ID, IMG_ID, "<img src=y", "<b>g1</b>", "<i>x</i>"):
        assert raw not in report, raw
    assert "<td><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></td>" in report
    assert "&lt;img src=y onerror=alert(3)&gt; see [the log](https://example.com/log) **now**" in report
    assert "runs &lt;i&gt;x&lt;/i&gt; [y](z).csv" in report
    viewer = browser.new_context(viewport={"width": 1400, "height": 1000}, java_script_enabled=True)
    shown = viewer.new_page()
    shown_dialogs: list[str] = []
    shown.on("dialog", lambda d: (shown_dialogs.append(d.message), d.dismiss()))
    shown.set_content(report, wait_until="load")
    shown.get_by_text(REASON, exact=True).first.wait_for(timeout=30_000)
    assert shown.get_by_text(SCRIPT_ID, exact=True).count() >= 1
    shown.wait_for_timeout(500)
    shown.screenshot(path=str(artifacts / "hostile-03-report.png"), full_page=True)
    viewer.close()
    assert not shown_dialogs

    assert not dialogs and page.get_by_test_id("stException").count() == 0


def test_a_bad_upload_quoting_markdown_cells_shows_them_as_text(page, app_url, artifacts, dialogs):
    page.goto(app_url)
    wait_for_app_run(page)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=90_000)
    before = page.url
    upload(page, "links.csv", b"run,N,loss\na,1e9,[click](https://example.com)\nb,2e9,**x**\n"
                              b"c,3e9,<script>alert(4)</script>\n")
    alert = page.get_by_test_id("stSidebar").get_by_test_id("stAlert").filter(has_text="links.csv")
    alert.wait_for(timeout=30_000)
    assert alert.get_by_test_id("stMarkdownContainer").inner_text().strip() == (
        "Could not load links.csv: links.csv, column loss, rows 2, 3 and 4: '[click](https://example.com)', "
        "'**x**', '<script>alert(4)</script>' are not numbers. Use plain numbers such as 7e9 or suffixed ones "
        "such as 7B.")
    inner = alert.inner_html()
    assert "<code" in inner  # file and column names keep their code style
    assert not re.search(r"<(strong|em|script|img)\b", inner), inner
    # a bare URL is still made clickable by the renderer, but only as itself: no hidden link target
    links = alert.locator("a").evaluate_all("as => as.map(a => [a.textContent, a.getAttribute('href')])")
    assert all(text == href for text, href in links), links
    assert page.url == before and page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(artifacts / "hostile-04-bad-upload.png"))
    assert not dialogs

"""The Explore page in a real browser: see the plot, upload, lasso, share the link.

Screenshots (test-artifacts/): explore-01-open.png, explore-02-uploaded.png,
explore-03-lassoed.png, explore-04-reopened.png, explore-05-bad-upload.png.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from playwright.sync_api import expect

from conftest import wait_for_app_run

pytestmark = pytest.mark.e2e

EPOCH = dict(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def small_grid_csv() -> bytes:
    """Synthetic Chinchilla-like runs: 5 IsoFLOP budgets x 9 sizes, 1% noise (seeded)."""
    rng = np.random.default_rng(7)
    lines = ["run,N,D,val_loss"]
    for c in (1e18, 1e19, 1e20, 1e21, 1e22):
        n_opt = 0.6 * (c / 6) ** 0.5
        for i, n in enumerate(np.geomspace(n_opt / 12, n_opt * 12, 9)):
            d = c / (6 * n)
            loss = (EPOCH["E"] + EPOCH["A"] / n ** EPOCH["alpha"] + EPOCH["B"] / d ** EPOCH["beta"]) * math.exp(
                rng.normal(0, 0.01))
            lines.append(f"c{c:.0e}-{i},{n:.4e},{d:.4e},{loss:.5f}")
    return ("\n".join(lines) + "\n").encode()


def open_app(page, url: str) -> None:
    page.goto(url)
    wait_for_app_run(page)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=90_000)


def main_traces(page) -> dict:
    """Names and run ids of the first (main) figure's traces, read from plotly in the page."""
    return page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const out = {};
        gd._fullData.forEach(t => { out[t.name] = (t.customdata || []).map(c => Array.isArray(c) ? c[0] : c); });
        return out;
    }""")


def numbers(page) -> list[str]:
    """What a user reads: the predicted metric(s) at the target and the fit summary line."""
    values = [h.inner_text() for h in page.locator("h3").all() if h.inner_text().startswith("Predicted")]
    values += [m.inner_text() for m in page.get_by_test_id("stMetricValue").all()]
    summary = page.get_by_test_id("stCaptionContainer").filter(has_text="Fitted ").first.inner_text()
    return values + [summary.strip()]


def lasso_two_points(page, release: bool = True) -> list[str]:
    """Lasso the two kept runs with the highest metric that lie next to each other (``release``:
    let go of the mouse button, which ends the selection; bench/bench_app.py times that alone)."""
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.scroll_into_view_if_needed()
    chart.hover()
    info = page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const fl = gd._fullLayout, box = gd.getBoundingClientRect(), out = [];
        gd._fullData.forEach(t => { if (t.name.startsWith('runs (')) {
            for (let i = 0; i < t.x.length; i++) out.push({id: t.customdata[i][0],
                px: box.left + fl.xaxis._offset + fl.xaxis.l2p(Math.log10(t.x[i])),
                py: box.top + fl.yaxis._offset + fl.yaxis.l2p(Math.log10(t.y[i]))}); } });
        return out;
    }""")
    info.sort(key=lambda q: q["py"])
    a = info[0]
    b = min(info[1:], key=lambda q: (q["px"] - a["px"]) ** 2 + (q["py"] - a["py"]) ** 2)
    others = [q for q in info if q["id"] not in (a["id"], b["id"])]
    cx, cy = (a["px"] + b["px"]) / 2, (a["py"] + b["py"]) / 2
    r = math.hypot(a["px"] - b["px"], a["py"] - b["py"]) / 2 + 5
    assert all(math.hypot(q["px"] - cx, q["py"] - cy) > r + 2 for q in others), "no two points stand apart to lasso"
    page.locator(".modebar-btn[data-title='Lasso Select']").first.click()
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for k in range(1, 33):
        angle = 2 * math.pi * k / 32
        page.mouse.move(cx + r * math.cos(angle), cy + r * math.sin(angle), steps=2)
    if release:
        page.mouse.up()
    return sorted([a["id"], b["id"]])


def upload(page, name: str, data: bytes) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    wait_for_app_run(page)


MAIN_PLOT = "document.querySelector('[data-testid=stMain] .js-plotly-plot')"
# the main plot has a trace of this name (false, not an error, while no plot is on the page)
MAIN_PLOT_HAS = ("() => { const gd = " + MAIN_PLOT + "; "
                 "return !!(gd && gd._fullData && gd._fullData.some(t => t.name === '%s')); }")


def test_open_upload_lasso_and_reopen_the_link(page, browser, app_url, artifacts):
    open_app(page, app_url)
    assert "data=sample%3Achinchilla_like.csv" in page.url
    assert any(name.startswith("Chinchilla") for name in main_traces(page))
    page.screenshot(path=str(artifacts / "explore-01-open.png"))

    upload(page, "grid.csv", small_grid_csv())
    page.wait_for_function(MAIN_PLOT_HAS % "runs (45)", timeout=90_000)
    assert "data=upload%3A" in page.url
    before = numbers(page)
    assert "45 runs (0 excluded)" in before[-1]
    page.screenshot(path=str(artifacts / "explore-02-uploaded.png"))

    # the plot stays on screen while the lasso's refit runs (it used to vanish for ~0.6 s)
    page.evaluate("() => { window.__gone = 0; window.__iv = setInterval(() => "
                  "{ if (!document.querySelector('.js-plotly-plot')) window.__gone++; }, 10); }")
    picked = lasso_two_points(page)
    page.wait_for_function(MAIN_PLOT_HAS % "excluded (2)", timeout=90_000)
    wait_for_app_run(page)
    assert page.evaluate("() => { clearInterval(window.__iv); return window.__gone; }") == 0
    traces = main_traces(page)
    assert sorted(traces["excluded (2)"]) == picked
    query = parse_qs(urlparse(page.url).query)
    assert sorted(v.split("|")[0] for v in query["exclude"]) == picked
    after = numbers(page)
    assert "43 runs (2 excluded)" in after[-1]
    assert after[:-1] != before[:-1], "excluding two runs did not change the prediction"
    page.screenshot(path=str(artifacts / "explore-03-lassoed.png"))

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = fresh.new_page()
    open_app(other, page.url)
    assert sorted(main_traces(other)["excluded (2)"]) == picked
    # the prediction card is drawn after the plot: wait for it rather than read a page half drawn
    expect(other.get_by_test_id("stMetricValue")).to_have_count(len(after) - 2, timeout=90_000)
    assert numbers(other) == after, (numbers(other), after, before)
    other.screenshot(path=str(artifacts / "explore-04-reopened.png"))
    fresh.close()


def test_a_bad_upload_shows_a_message_and_keeps_the_data(page, app_url, artifacts):
    open_app(page, app_url)
    url_before = page.url
    upload(page, "results.csv", b"PK\x03\x04\x14\x00\x00\x00binary spreadsheet")
    alert = page.get_by_test_id("stAlert").filter(has_text="results.csv")
    alert.wait_for(timeout=30_000)
    assert re.search(r"not a text CSV file", alert.inner_text())
    assert page.get_by_test_id("stException").count() == 0
    assert page.url == url_before
    assert any(name.startswith("Chinchilla") for name in main_traces(page))
    page.screenshot(path=str(artifacts / "explore-05-bad-upload.png"))


TRACES = MAIN_PLOT + "._fullData.map(t => ({name: t.name, fill: t.fill, y: Array.from(t.y || [])}))"
# the main plot's final state: a title that no longer says it is fitting
FINAL = ("() => { const gd = " + MAIN_PLOT + "; return !!(gd && gd.layout && gd.layout.title && "
         "!String(gd.layout.title.text).includes('fitting')); }")
# every 5 ms: keep the main plot's traces while its title says "bands follow"; count the ticks with no
# plot on the page (__gone) or a plot element collapsed below 100 px (__low)
EARLY = ("() => { window.__early = null; window.__gone = 0; window.__low = 0; window.__iv = setInterval(() => {"
         " const gd = " + MAIN_PLOT + "; if (!gd) { window.__gone++; return; }"
         " if (gd.getBoundingClientRect().height < 100) window.__low++;"
         " if (gd.layout && gd.layout.title && String(gd.layout.title.text).includes('bands follow'))"
         " window.__early = " + TRACES + "; }, 5); }")


def test_best_fit_curves_are_drawn_before_their_bands(page, app_url):
    """While Kaplan's 5,000 resamples are fitted, the plot already shows its best fit (no band yet)
    beside Chinchilla's curve and band; the finished plot draws the same Kaplan curve with a band.
    The plot is updated in place: never off the page, never collapsed."""
    page.goto(f"{app_url}/?fam=Chinchilla&n=5000&seed=4242")
    wait_for_app_run(page)
    page.wait_for_function(FINAL, timeout=120_000)
    wait_for_app_run(page)
    page.evaluate(EARLY)
    page.get_by_test_id("stButtonGroup").get_by_role("button", name="Kaplan", exact=True).click()
    page.wait_for_function("() => window.__early !== null", timeout=90_000)
    page.wait_for_function(FINAL, timeout=120_000)
    wait_for_app_run(page)
    early = {t["name"]: t for t in page.evaluate("() => window.__early")}
    final = {t["name"]: t for t in page.evaluate(f"() => {{ clearInterval(window.__iv); return {TRACES}; }}")}
    kaplan = "Kaplan (compute-optimal frontier)"
    assert kaplan in early and "Chinchilla (compute-optimal frontier)" in early
    assert [t["name"] for t in early.values() if t["fill"] == "toself"] == ["Chinchilla (compute-optimal frontier) band"]
    assert len([t for t in final.values() if t["fill"] == "toself"]) == 2
    np.testing.assert_allclose(final[kaplan]["y"], early[kaplan]["y"], rtol=1e-12)
    assert page.evaluate("() => [window.__gone, window.__low]") == [0, 0]


def test_a_family_fitted_ahead_is_drawn_with_its_band_at_once(page, tmp_path):
    """With fitting ahead on (as `make run` starts the app), the idle page fits Kaplan in the
    background; switched on, Kaplan is drawn with its band straight away (no "bands follow" plot),
    and its curve and band are scalecore's."""
    from conftest import start_server, stop_server
    from scalecore import load_runs
    from scalecore import bootstrap
    from ui import analysis

    proc, url = start_server(tmp_path, env_extra={"SCALECORE_FIT_AHEAD": "1"})
    try:
        page.goto(f"{url}/?fam=Chinchilla&n=500&seed=31337")
        wait_for_app_run(page)
        page.wait_for_function(FINAL, timeout=120_000)
        log = next(tmp_path.glob("streamlit-*.log"))
        deadline = time.monotonic() + 120
        while "fitted ahead ('backtest', 'kaplan')" not in log.read_text():
            assert time.monotonic() < deadline, "Kaplan was not fitted ahead within 120 s:\n" + log.read_text()[-2000:]
            time.sleep(0.2)
        page.evaluate(EARLY)
        page.get_by_test_id("stButtonGroup").get_by_role("button", name="Kaplan", exact=True).click()
        page.wait_for_function(MAIN_PLOT_HAS % "Kaplan (compute-optimal frontier) band", timeout=60_000)
        wait_for_app_run(page)
        drawn = {t["name"]: t for t in page.evaluate(f"() => {{ clearInterval(window.__iv); return {TRACES}; }}")}
        assert page.evaluate("() => window.__early") is None, "Kaplan was refitted: the page drew its best fit first"
    finally:
        stop_server(proc)

    sample = Path(__file__).resolve().parents[2] / "sample_runs" / "chinchilla_like.csv"
    boot = bootstrap(load_runs(sample), "kaplan", n_resamples=500, seed=31337)
    lo, hi = analysis.plot_range(load_runs(sample), "compute", float(analysis.suggested_target("compute")))
    want = analysis.curve(boot, "compute", lo, hi)
    ok = np.isfinite(want.lower) & np.isfinite(want.upper) & (want.lower > 0)
    np.testing.assert_allclose(drawn["Kaplan (compute-optimal frontier)"]["y"], want.point, rtol=1e-12)
    np.testing.assert_allclose(drawn["Kaplan (compute-optimal frontier) band"]["y"],
                               np.concatenate([want.lower[ok], want.upper[ok][::-1]]), rtol=1e-12)

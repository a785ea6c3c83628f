"""Browser tests: `streamlit run app.py` on a free local port, driven by Playwright in Debian's
Chromium (no browser download). Screenshots go to test-artifacts/.

Without /usr/bin/chromium the tests are skipped locally and FAIL when CI=true.

Waits are for states, so that a loaded machine only makes the tests slower, and timeouts are upper
bounds: the server is ready when its health check answers and its log names its URL; the app is ready
when :func:`wait_for_app_run` sees it settled (connected, the script not running). One time remains,
QUIET_MS: between a widget change and the server's answer that the script runs, Streamlit's page shows
no state at all, so "settled" also needs QUIET_MS without input or change of state.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SCALECORE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    """No Chromium: skip locally; in CI (CI=true) leave the tests in, so that they fail."""
    if Path(CHROMIUM).exists() or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _chromium_required():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}; .ci/run installs it with apt-get")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


#: Upper bound of Playwright's own waits (a click waiting for its button, an ``expect``) on a loaded
#: machine; the default 30 s (5 s for ``expect``) is a speed assumption.
ACTION_TIMEOUT = 90_000
expect.set_options(timeout=ACTION_TIMEOUT)


@pytest.fixture
def context(context):
    """pytest-playwright's context, with the settle tracker in every page it opens."""
    context.set_default_timeout(ACTION_TIMEOUT)
    context.add_init_script(f"({SETTLE_TRACKER})()")
    return context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Upper bound (s) of a server's start (imports of plotly, scipy, pandas) on a loaded machine.
SERVER_START_TIMEOUT = 240


def start_server(home: Path, port: int | None = None, env_extra: dict | None = None):
    """Start the app; returns (Popen, base url) once /_stcore/health answers ok.

    A free port is taken by binding port 0 and closing it; another process (another xdist worker's
    server) may take it before streamlit does, so an automatic port is tried up to three times."""
    for attempt in range(1 if port else 3):
        proc, url, log = _launch(home, port or free_port(), env_extra)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
                    # ok, and from this server (its log says so), not from one that took the port
                    if r.read().decode().strip() == "ok" and f"URL: {url}" in log.read_text():
                        return proc, url
            except OSError:
                time.sleep(0.1)
        if proc.poll() is None:
            stop_server(proc)
            raise RuntimeError(f"streamlit did not become healthy within {SERVER_START_TIMEOUT} s; see {log}")
        if "is not available" not in log.read_text() or attempt == 2 or port:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
        log.rename(log.with_suffix(".port-taken"))


def _launch(home: Path, port: int, env_extra: dict | None):
    env = {**os.environ, "SCALECORE_HOME": str(home), "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    log = home / f"streamlit-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address=127.0.0.1",
             f"--server.port={port}", "--server.headless=true", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}", log


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    home = tmp_path_factory.mktemp("scalecore-home")
    proc, url = start_server(home)
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


#: How long (ms) the app must stay idle before it counts as settled. Streamlit's page does not mark
#: a rerun as requested when a widget changes: it stays "notRunning" until the server answers that the
#: script runs. QUIET_MS bounds that answer's delay, and also spans the gap between two runs when a
#: script calls st.rerun(). It is counted from the last input, state change or call, not from the
#: start of the wait, so a long run is waited for in full.
QUIET_MS = 1500
#: Upper bound (ms) of one wait for the app to settle (a cold 5,000-resample fit on a loaded machine).
RUN_TIMEOUT = 240_000

# Installed in every page (init script) or on the first wait: keeps in window.__scSettle.last the
# time of the last user input (pointer, key, input, change, click), of the last change of the app's
# script or connection state, and of the start and end of each file upload, and in .uploads the
# uploads under way (a file is PUT to /_stcore/upload_file before the rerun that reads it is asked
# for, however long that takes). Idempotent.
SETTLE_TRACKER = """() => {
  if (window.__scSettle) return;
  const s = window.__scSettle = {last: performance.now(), uploads: 0};
  const mark = () => { s.last = performance.now(); };
  new MutationObserver(mark).observe(document, {subtree: true, attributes: true,
      attributeFilter: ['data-test-script-state', 'data-test-connection-state']});
  for (const e of ['pointerdown', 'pointerup', 'mousedown', 'mouseup', 'keydown', 'keyup', 'input',
                   'change', 'click', 'submit', 'popstate'])
    window.addEventListener(e, mark, true);
  const isUpload = (url) => String(url).includes('/_stcore/upload_file');
  const begin = () => { s.uploads++; mark(); };
  const end = () => { s.uploads--; mark(); };
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.__scUpload = isUpload(url);
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (...args) {
    if (this.__scUpload) { begin(); this.addEventListener('loadend', end, {once: true}); }
    return send.apply(this, args);
  };
  const fetch = window.fetch;
  window.fetch = function (input, init) {
    if (!isUpload(input && input.url ? input.url : input)) return fetch.apply(this, arguments);
    begin();
    return fetch.apply(this, arguments).finally(end);
  };
}"""

SETTLED = """(quiet) => {
  if (!window.__scSettle) (""" + SETTLE_TRACKER + """)();
  const app = document.querySelector("[data-testid='stApp']");
  return !!(app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
            && app.getAttribute('data-test-script-state') === 'notRunning'
            && window.__scSettle.uploads === 0
            && performance.now() - window.__scSettle.last >= quiet);
}"""


def wait_for_app_run(page, timeout: int = RUN_TIMEOUT, quiet: int = QUIET_MS) -> None:
    """Wait until the app has settled after whatever the test just did: connected, its script not
    running, no upload under way, and no input, run, upload or reconnection for ``quiet`` ms
    (counted from this call at the earliest). A rerun that starts within ``quiet`` is waited for to
    its end, and so is a second run that a script starts with st.rerun(). Elements left from an
    earlier run are gone then."""
    try:
        page.evaluate(f"() => {{ ({SETTLE_TRACKER})(); window.__scSettle.last = performance.now(); }}")
    except PlaywrightError:  # the page is navigating: the new document installs its own tracker
        pass
    page.wait_for_function(SETTLED, arg=quiet, timeout=timeout, polling=100)

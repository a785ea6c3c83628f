"""Downloads of figures (PNG, SVG via kaleido and the system Chromium; standalone HTML).

Nothing is rendered until a button is clicked: Streamlit calls the ``data`` callable of a
download button on click (in a worker thread), so a rerun costs nothing and kaleido's browser is
started only when the first image is asked for. The kaleido server is one per process and not
thread-safe, hence the lock. ``mathjax=False`` keeps it from fetching MathJax from a CDN.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import warnings

import plotly.graph_objects as go
import streamlit as st

log = logging.getLogger("scalecore.app")
_lock = threading.Lock()
_started = False

IMAGE_SIZE = dict(width=1200, height=650)


def _ensure_kaleido() -> None:
    global _started
    if _started:
        return
    import kaleido

    if "BROWSER_PATH" not in os.environ:
        chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
        if chromium:
            os.environ["BROWSER_PATH"] = chromium
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    _started = True


def image(fig: go.Figure, fmt: str) -> bytes:
    """PNG or SVG bytes of ``fig`` at a fixed size (2x scale for PNG)."""
    with _lock, warnings.catch_warnings():
        # plotly 7 warns on every image that its (default) kopts are ignored by the warm server
        warnings.filterwarnings("ignore", message="The kopts argument is ignored", category=UserWarning)
        _ensure_kaleido()
        return fig.to_image(format=fmt, scale=2 if fmt == "png" else 1, **IMAGE_SIZE)


def html(fig: go.Figure) -> str:
    """A standalone HTML file with plotly.js inlined: opens offline, stays interactive."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def figure_downloads(fig: go.Figure, stem: str, key: str) -> None:
    """A row of three small download buttons (PNG, SVG, HTML) under a figure."""
    # a wrapping row of buttons as wide as their labels: in narrow columns they shrank to "P…", "H…" at 1024 px
    row = st.container(horizontal=True, wrap=True, gap="small")
    specs = (("PNG", "png", "image/png", lambda: image(fig, "png")),
             ("SVG", "svg", "image/svg+xml", lambda: image(fig, "svg")),
             ("HTML", "html", "text/html", lambda: html(fig)))
    for label, ext, mime, make in specs:
        row.download_button(label, data=make, file_name=f"{stem}.{ext}", mime=mime, key=f"dl_{key}_{ext}",
                            on_click="ignore", width="content",
                            help=f"Download this figure as {label}")

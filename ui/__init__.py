"""Streamlit glue shared by the pages: data source, URL state, cached calls, downloads.

The maths lives in :mod:`scalecore`; this package only turns widgets into calls and results into
elements. :func:`run_page` is the boundary every page runs behind.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
import traceback

import streamlit as st

from scalecore import ScaleCoreError

log = logging.getLogger("scalecore.app")


class StderrNow(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes: a test runner swaps it for each
    test and closes the old one, and the background fits log after the test that started them."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def log_to_stderr() -> None:
    """The app's timings and unexpected errors to the server's log, once per process."""
    if not log.handlers:
        handler = StderrNow()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


#: Characters that markdown (and Streamlit's additions: $LaTeX$, :emoji:, :colour[...]) would read;
#: ``&`` too, or ``&lt;`` typed by a user would show as ``<``.
_MARKDOWN = "\\`*_{}[]()#+-.!|<>~$:&"


def md(text) -> str:
    """User text for ``st.markdown``/``st.caption``, shown as typed (markdown characters escaped).

    Streamlit already escapes HTML; this keeps a group called ``**plain**``, a link ``[x](url)``
    or an image ``![](url)`` in a file name, run id or title from turning into formatting."""
    return "".join("\\" + ch if ch in _MARKDOWN else ch for ch in str(text))


def md_message(text) -> str:
    """A scalecore message for ``st.error``/``st.warning``: its `code spans` (file and column
    names) stay code, whose content markdown shows literally; everything else, including values
    quoted from the user's file, is escaped with :func:`md`."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: the last one is plain text
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    return "".join((f"`{part}`" if part else "") if i % 2 else md(part) for i, part in enumerate(parts))


WARNING_ICON = ":material/warning:"


def show_warnings(messages, where=st) -> None:
    """scalecore's warnings, one ``warning`` each in ``where`` (a container or column); the user's
    names in them are shown as typed (:func:`md_message`)."""
    for message in messages:
        where.warning(md_message(message), icon=WARNING_ICON)


def run_page(main, what: str = "page") -> None:
    """Run a page (or the frame's sidebar, ``what="sidebar"``): a user error is one ``st.error``;
    anything unexpected is a short message, the details in a collapsed expander, and the traceback
    in the server log (never on the page)."""
    t0 = time.perf_counter()
    try:
        main()
        log.info("%s ran in %.3f s", what, time.perf_counter() - t0)
    except ScaleCoreError as exc:
        st.error(md_message(exc))
    except Exception as exc:  # noqa: BLE001 -- the page boundary
        log.error("unexpected error on a page:\n%s", traceback.format_exc())
        st.error("Something went wrong while drawing this page. The data and your settings are unchanged; "
                 "try another setting, or reload. If it keeps happening, report the details below.")
        with st.expander("details"):
            st.text(f"{type(exc).__name__}: {exc}")


_FROZEN_AT = [0]  # how many modules were loaded when the heap was last frozen


def freeze_the_imports() -> None:
    """Keep the garbage collector off what every run keeps: after a run that imported code, collect
    once and move everything alive into the permanent generation (``gc.freeze``).

    Streamlit collects all generations after every run (``runner.postScriptGC``), holding the GIL
    while the run's last messages wait to be sent; over the ~130,000 objects of the imported
    modules (streamlit, pandas, plotly, scalecore) that took 0.09-0.11 s per rerun, 1-3 ms
    once they are frozen. Reference counting still frees frozen objects; only a reference cycle
    among the objects alive at a freeze (at most once per page first visited) is never collected.
    """
    if len(sys.modules) != _FROZEN_AT[0]:
        gc.collect()
        gc.freeze()
        _FROZEN_AT[0] = len(sys.modules)

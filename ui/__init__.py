"""Streamlit glue shared by the pages: data source, URL state, cached calls, downloads.

The maths lives in :mod:`scalecore`; this package only turns widgets into calls and results into
elements. :func:`run_page` is the boundary every page runs behind.
"""

from __future__ import annotations

import logging
import time
import traceback

import streamlit as st

from scalecore import ScaleCoreError

log = logging.getLogger("scalecore.app")


def run_page(main) -> None:
    """Run a page: a user error is one ``st.error``; anything unexpected is a short message, the
    details in a collapsed expander, and the traceback in the server log (never on the page)."""
    t0 = time.perf_counter()
    try:
        main()
        log.info("page ran in %.3f s", time.perf_counter() - t0)
    except ScaleCoreError as exc:
        st.error(str(exc))
    except Exception as exc:  # noqa: BLE001 -- the page boundary
        log.error("unexpected error on a page:\n%s", traceback.format_exc())
        st.error("Something went wrong while drawing this page. The data and your settings are unchanged; "
                 "try another setting, or reload. If it keeps happening, report the details below.")
        with st.expander("details"):
            st.text(f"{type(exc).__name__}: {exc}")

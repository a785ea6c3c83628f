"""Scaling-curve explorer: ``streamlit run app.py``.

The frame every page runs in: page config, the data source in the sidebar (shared by all pages),
and the navigation. Add a page by adding one line to PAGES.

Pages live in ``views/``, not ``pages/``: a folder called ``pages`` beside this file switches
Streamlit 1.67 into its legacy multipage mode whenever a run starts on a page other than the
default (a shared link opened first after the server starts, a browser reconnecting after a
restart, every AppTest rerun). The page script then runs on its own, without this frame, so the
sidebar and the data source are missing. tests/app/test_explore.py guards against the folder.
"""

import logging

import streamlit as st

from ui import data_source

st.set_page_config(page_title="Scaling-curve explorer", page_icon="📈", layout="wide")
_log = logging.getLogger("scalecore.app")
if not _log.handlers:  # once per process: timings and unexpected errors go to the server's log
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _log.addHandler(_handler)
    _log.setLevel(logging.INFO)

# Material icons ship with Streamlit's own font; emoji would need a colour-emoji font on the machine.
PAGES = [
    st.Page("views/explore.py", title="Explore", icon=":material/query_stats:", default=True),
    st.Page("views/budget.py", title="Budget", icon=":material/savings:"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("views/downstream.py", title="Downstream", icon=":material/target:"),
    st.Page("views/frontier.py", title="IsoFLOP & curves", icon=":material/stacked_line_chart:"),
    st.Page("views/review.py", title="Review", icon=":material/folder_shared:"),
]

page = st.navigation(PAGES)
data_source.sidebar()
page.run()

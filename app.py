"""Scaling-curve explorer: ``streamlit run app.py``.

The frame every page runs in: page config, the data source in the sidebar (shared by all pages),
and the navigation. Add a page by adding one line to PAGES.

Pages live in ``views/``, not ``pages/``: a folder called ``pages`` beside this file switches
Streamlit 1.67 into its legacy multipage mode whenever a run starts on a page other than the
default (a shared link opened first after the server starts, a browser reconnecting after a
restart, every AppTest rerun). The page script then runs on its own, without this frame, so the
sidebar and the data source are missing. tests/app/test_explore.py guards against the folder.
"""

import streamlit as st

st.set_page_config(page_title="Scaling-curve explorer", page_icon="📈", layout="wide")

# A session's first run makes the browser load and compile its plotting code (a 4.7 MB chunk, about
# a second of its CPU) at once, while this process imports scalecore and fits, instead of when the
# first real chart arrives: a blank 10-pixel chart, emitted before the heavy imports below and
# removed at the end of the run. It takes about 1.5 s off a cold start (bench/bench_app.py).
WARM_UP_FIGURE = {"data": [{"type": "scatter", "x": [], "y": []}],
                  "layout": {"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                             "xaxis": {"visible": False}, "yaxis": {"visible": False}}}
warm_up = st.sidebar.empty() if not st.session_state.get("_plotly_warm") else None
if warm_up is not None:
    warm_up.plotly_chart(WARM_UP_FIGURE, height=10, config={"staticPlot": True, "displayModeBar": False})
    st.session_state["_plotly_warm"] = True

# after the warm-up: scalecore, pandas and plotly take ~0.7 s to import
from ui import data_source, freeze_the_imports, log_to_stderr, run_page  # noqa: E402

log_to_stderr()  # once per process: timings and unexpected errors go to the server's log

# Material icons ship with Streamlit's own font; emoji would need a colour-emoji font on the machine.
PAGES = [
    st.Page("views/explore.py", title="Explore", icon=":material/query_stats:", default=True),
    st.Page("views/budget.py", title="Budget", icon=":material/savings:"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("views/downstream.py", title="Downstream", icon=":material/target:"),
    st.Page("views/trust.py", title="Trust", icon=":material/fact_check:"),
    st.Page("views/isoflop.py", title="IsoFLOP & curves", icon=":material/stacked_line_chart:"),
    st.Page("views/review.py", title="Review", icon=":material/folder_shared:"),
]

# Narrow screens (1024 px with the sidebar open left the pages 564 px): the wide layout's 5 rem side
# padding shrinks to 1 rem, so that summary grids (backtest, Approach 2 vs 3) fit without a sideways
# scroll. A style-only st.html takes no room on the page.
st.html("<style>@media (max-width: 1200px) { [data-testid='stMainBlockContainer'] "
        "{ padding-left: 1rem; padding-right: 1rem; } }</style>")

page = st.navigation(PAGES)
run_page(data_source.sidebar, what="sidebar")  # its own errors stay on the page too
page.run()
if warm_up is not None:
    warm_up.empty()
freeze_the_imports()  # after the run, before Streamlit's own collection of every generation

"""Trust: would this forecast have been right? The backtest (fit below a cutoff, predict the larger
runs), the sensitivity of the headline answers to the analyst's choices (Li et al. 2025), and which
run to add next to shrink the interval that matters. Each tab is one module of ``ui/trust/``; the
maths is :mod:`scalecore.backtest`, :mod:`scalecore.sensitivity` and :mod:`scalecore.design`."""

from __future__ import annotations

import streamlit as st

from ui import data_source, review, run_page
from ui.trust import backtest, next_run, sensitivity

TABS = {"Backtest": backtest.render, "Sensitivity": sensitivity.render, "What to run next": next_run.render}


def main() -> None:
    st.title("Would this forecast have been right?")
    ds = data_source.current()
    if ds is None:
        st.info("Load a dataset in the sidebar to begin.")
        return
    choices = review.explore_choices(ds.runs)
    st.caption("The runs, metric, families and settings of the Explore page; change them there.")
    names = list(TABS)
    tab = st.segmented_control("View", names, default=names[0], required=True, wrap=True, key="trust_tab",
                               label_visibility="collapsed")
    TABS[tab or names[0]](ds, choices)


run_page(main)

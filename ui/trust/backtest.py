"""The Trust page's backtest tab (to be built)."""

from __future__ import annotations

import streamlit as st


def render(ds, choices) -> None:
    st.info("Not built yet.")

"""The Trust page's sensitivity tab: how far N*, D* and the loss at the target move under the
choices the literature shows matter (FLOPs definition, parameter count, Huber δ, fit range, E fixed
or free). Widgets -> one cached :func:`scalecore.sensitivity.sensitivity` call -> its table and
tornado plot (:func:`scalecore.plots.sensitivity_tornado`)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from scalecore import FAMILIES, FitSpec, formatting, optimum, parse_number
from scalecore.flops import TransformerConfig
from scalecore.plots import sensitivity_tornado
from scalecore.sensitivity import E_PUBLISHED, N_RESAMPLES, sensitivity
from ui import analysis, md_message, state
from ui.cache import Outcome, guard, _settings
from ui.widgets import label

FAMILY, TARGET, CUT, E_VALUE, RESAMPLES = "sens_family", "sens_target", "sens_cut", "sens_e", "sens_resamples"
USE_CONFIG, EMBEDDINGS, QUANTITY = "sens_use_config", "sens_embeddings", "sens_quantity"
CONFIG_FIELDS = {"n_layers": ("layers", 80), "d_model": ("width d_model", 8192), "n_heads": ("heads", 64),
                 "n_ctx": ("context", 2048), "vocab": ("vocabulary", 32000)}
QUANTITY_LABELS = {"params": "N*", "tokens": "D*", "loss": "loss at the target"}


@st.cache_resource(max_entries=32, show_spinner=False)
def compute(data_key: str, _runs, family: str, axis: str | None, metric: str, exclude: tuple, settings: tuple,
            target: float, n_resamples: int, config: tuple, embeddings: str, min_params: float | None,
            fixed_e: float) -> Outcome:
    """The sensitivity panel of one family (cached on the data's key and every input)."""
    s = replace(_settings(settings), flops_per_token_param=_runs.flops_per_token_param)  # as Explore's frontier

    def run():
        spec = FitSpec(family, x=axis, y=metric, exclude=exclude, loss=s.loss, delta=s.delta)
        emb = embeddings.strip()
        other, emb_params = None, None
        if emb:
            if emb in _runs.frame.columns:
                other = emb
            else:
                emb_params = emb  # a number (vocab × width) or the name of a column of embedding parameters
                try:
                    emb_params = parse_number(emb)
                except ValueError:
                    pass
        return sensitivity(_runs, spec, target, settings=s, n_resamples=n_resamples,
                           config=TransformerConfig(**dict(config)) if config else None, other_params=other,
                           embedding_params=emb_params, min_params=min_params, fixed_E=fixed_e)

    return guard(run)


def _default_target(runs, choices, two_input: bool) -> str:
    if choices.target is not None and (two_input and choices.axis == "compute" or not two_input):
        return formatting.format_value(choices.target, "flops" if choices.axis == "compute" else "count")
    axis = "compute" if two_input else choices.axis
    if runs.has(axis):
        return formatting.format_value(100 * optimum.next_decade(runs.values(axis)), "flops" if axis == "compute" else "count")
    return "1e24"


def render(ds, choices) -> None:
    runs = ds.runs
    if not choices.families:
        st.info("Choose a family on the Explore page first.")
        return
    st.caption("Each row refits the law under one alternative choice and bootstraps it; the shift is against "
               "the baseline (the Explore fit, bootstrapped with the same number of resamples). N* and D* move "
               "in decades (log10 of the ratio), the loss in percent.")
    family = st.selectbox("Law", list(choices.families), format_func=label, key=FAMILY)
    fam = FAMILIES[family]
    two = fam.is_two_input
    left, mid, right = st.columns(3)
    where = "training FLOPs" if two else choices.axis
    text = left.text_input(f"Target ({where})", value=_default_target(runs, choices, two), key=TARGET)
    target, problem = analysis.parse_target(text)
    cut_text = mid.text_input("Fit range: drop runs below N =", value="", key=CUT,
                              placeholder="the smallest quarter", help="e.g. 100M; empty: the smallest quarter of the sizes")
    cut, cut_problem = analysis.parse_target(cut_text)
    e_value = E_PUBLISHED
    if "E" in fam.param_names:  # a parameter's name, not the family's: any law with an irreducible E
        e_value = right.number_input("E held at (E fixed)", min_value=0.01, max_value=100.0, value=E_PUBLISHED,
                                     step=0.01, key=E_VALUE, help="Hoffmann et al. (2022) fitted E = 1.69")
    left2, right2 = st.columns([1, 2])
    n_resamples = int(left2.number_input("Resamples per row", min_value=20, max_value=2000,
                                         value=min(N_RESAMPLES, int(choices.settings.n_resamples)), step=20,
                                         key=RESAMPLES))
    embeddings = right2.text_input("Other parameter count", value="", key=EMBEDDINGS,
                                   placeholder="a column (e.g. non_embedding_params), or embedding parameters (vocab × width)",
                                   help="A column with the other parameter count, or the embedding parameters "
                                        "(a number or a column) taken off N")
    config = ()
    if st.toggle("Compare FLOP counts for a transformer config (Kaplan Table 1, Hoffmann App. F)", key=USE_CONFIG):
        cols = st.columns(len(CONFIG_FIELDS))
        values = {}
        for col, (name, (text_label, default)) in zip(cols, CONFIG_FIELDS.items()):
            values[name] = int(col.number_input(text_label, min_value=1, value=default, step=1, key=f"sens_cfg_{name}"))
        config = tuple(values.items())
    for message in (problem, cut_problem):
        if message:
            st.error(message)
            return
    if target is None:
        st.info("Type a target to see how far the answers move.")
        return
    exclude = tuple(sorted(state.exclusions(ds.id, runs.run_ids)))
    axis = None if two else choices.axis
    with st.spinner("Refitting under each choice…"):
        outcome = compute(ds.key, runs, family, axis, choices.metric, exclude, choices.settings_key, float(target),
                          n_resamples, config, embeddings, cut, float(e_value))
    if not outcome.ok:
        st.error(md_message(outcome.error))
        return
    result = outcome.value
    show(result)


def show(result) -> None:
    """The table and the tornado plot of a :class:`~scalecore.sensitivity.Sensitivity`."""
    quantities = result.quantities
    rows = result.table()
    columns = {"choice": "choice", "alternative": "alternative"}
    for q in quantities:
        columns[q] = QUANTITY_LABELS[q]
        columns[f"{q}_shift"] = f"shift of {QUANTITY_LABELS[q]}"
    # the resamples column only when a row lost some: an eighth column of "200/200" pushed the table past
    # the page's edge at 1024 px (the last column cut, every estimate wrapped over three lines)
    complete = all(r.n_failed == 0 for r in (result.baseline, *result.rows) if not r.error)
    if not complete:
        columns["resamples"] = "resamples (ok/all)"
    frame = pd.DataFrame(rows)[list(columns)].rename(columns=columns)
    st.table(frame, hide_index=True, border="horizontal")
    st.caption(f"{result.confidence_level:.0%} bootstrap percentile intervals, {result.n_resamples} resamples per "
               f"row{', all of them fitted' if complete else ''} (seed {result.seed}); target {formatting.format_value(result.target, 'flops')}"
               f"{'' if not result.two_input else f', C = k·N·D with k = {result.k:g} unless the row says'}.")
    for row in (r for r in (result.baseline, *result.rows) if r.error):
        st.warning(f"{row.choice} — {row.alternative}: {md_message(row.error)}")
    for note in result.notes:
        st.caption(note)
    best, size = result.largest()
    if best is not None:
        q = quantities[0]
        st.markdown(f"Largest move of {QUANTITY_LABELS[q]}: **{best.choice} — {best.alternative}**, "
                    f"{result.table()[1 + result.rows.index(best)][f'{q}_shift']}.")
    q = st.segmented_control("Plot", list(quantities), default=quantities[0], format_func=QUANTITY_LABELS.get,
                             wrap=True, key=QUANTITY, required=True) if len(quantities) > 1 else quantities[0]
    st.plotly_chart(sensitivity_tornado(result, q or quantities[0]), key="sens_tornado", theme=None,
                    config={"displaylogo": False})

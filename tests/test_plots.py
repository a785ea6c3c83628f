"""Figures keep their layout when it is assembled in one assignment (no update_layout chain):
nested settings merge key by key, shapes span the plot as plotly's add_vrect/add_hline would."""

from __future__ import annotations

import numpy as np

from scalecore import plots


def _points(n=12):
    x = np.geomspace(1e8, 1e10, n)
    return plots.Points(x=x, y=2 + 1 / np.log(x), run_ids=np.array([f"r{i}" for i in range(n)], dtype=object),
                        excluded=np.arange(n) == 3, hover=np.array([""] * n, dtype=object),
                        reasons=np.array([""] * n, dtype=object))


def test_fit_figure_layout_axes_and_extrapolation_shapes():
    x = np.geomspace(1e8, 1e11, 20)
    curve = plots.CurveSpec(name="chinchilla", label="Chinchilla", x=x, y=2 + 1 / np.log(x),
                            lower=1.9 + 1 / np.log(x), upper=2.1 + 1 / np.log(x))
    fig = plots.fit_figure(_points(), [curve], x_title="model size N", y_title="loss", data_max=1e10, target=1e11,
                           title="T", yaxis=dict(exponentformat="power")).to_plotly_json()["layout"]
    assert fig["xaxis"]["type"] == "log" and fig["yaxis"]["type"] == "log"
    assert fig["xaxis"]["title"]["text"] == "model size N" and fig["title"]["text"] == "T"
    assert fig["yaxis"]["exponentformat"] == "power" and fig["yaxis"]["gridcolor"] == "#e6e9ee"  # merged, not replaced
    rect, line = fig["shapes"]
    assert (rect["type"], rect["x0"], rect["x1"], rect["yref"], rect["y0"], rect["y1"]) == ("rect", 1e10, 1e11, "y domain", 0, 1)
    assert (line["type"], line["x0"], line["x1"]) == ("line", 1e11, 1e11)
    assert fig["annotations"][0]["text"] == "extrapolation to 1e11"
    assert fig["template"]["layout"]["plot_bgcolor"] == "white"
    named = plots.fit_figure(_points(), [curve], x_title="N", y_title="loss", data_max=1e10, target=1e11,
                             target_text="100B").to_plotly_json()["layout"]
    assert named["annotations"][0]["text"] == "extrapolation to 100B"


def test_nested_tweaks_merge_into_the_base_layout():
    fig = plots.influence_figure(["a", "b"], np.array([1.0, -2.0]), name="chinchilla", value_title="change").to_plotly_json()
    layout = fig["layout"]
    assert layout["margin"] == {"l": 110, "r": 20, "t": 60, "b": 60} and layout["showlegend"] is False
    assert layout["yaxis"]["type"] == "category" and layout["yaxis"]["showline"] is True
    resid = plots.residuals_figure([plots.ResidualSeries(name="chinchilla", label="C", x=np.array([1e8, 1e9]),
                                                         residual=np.array([0.01, -0.01]),
                                                         run_ids=np.array(["a", "b"], dtype=object))], x_title="N")
    (zero,) = resid.to_plotly_json()["layout"]["shapes"]
    assert (zero["xref"], zero["x0"], zero["x1"], zero["y0"], zero["y1"]) == ("x domain", 0, 1, 0.0, 0.0)


def test_merged_is_recursive_and_does_not_mutate():
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    out = plots._merged(base, {"a": {"c": 5}, "e": 6})
    assert out == {"a": {"b": 1, "c": 5}, "d": 3, "e": 6} and base == {"a": {"b": 1, "c": 2}, "d": 3}


def test_user_text_in_hovers_is_escaped_but_selection_gets_the_raw_id():
    """Plotly reads <b>, <a href> ... in hover text as markup: run ids and reasons are shown escaped,
    while customdata[0], which a selection sends back, stays the raw id."""
    ids = np.array(["<b>bold</b>", "<a href='x'>a</a>"], dtype=object)
    pts = plots.Points(x=np.array([1e9, 2e9]), y=np.array([3.0, 2.9]), run_ids=ids, excluded=np.array([False, True]),
                       reasons=np.array(["", "<i>diverged</i>"], dtype=object))
    fig = plots.fit_figure(pts, [], x_title="N", y_title="loss")
    kept, excluded = (t for t in fig.data if t.name.startswith(("runs", "excluded")))
    assert kept.customdata[0][0] == "<b>bold</b>" and kept.customdata[0][3] == "&lt;b&gt;bold&lt;/b&gt;"
    assert excluded.customdata[0][0] == "<a href='x'>a</a>" and excluded.customdata[0][2] == "&lt;i&gt;diverged&lt;/i&gt;"
    for trace in (kept, excluded):
        assert "%{customdata[0]}" not in trace.hovertemplate and "%{customdata[3]}" in trace.hovertemplate

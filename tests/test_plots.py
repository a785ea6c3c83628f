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


# ------------------------------------------------------------------------------ issue 22: plots that read like the papers

def _sample():
    from pathlib import Path

    from scalecore import load_runs

    return load_runs(Path(__file__).resolve().parents[1] / "sample_runs" / "chinchilla_like.csv")


def _is_power_of_ten(v: float) -> bool:
    return v > 0 and abs(np.log10(v) - round(np.log10(v))) < 1e-12


def test_log_axes_are_ticked_at_powers_of_ten_written_10k():
    x = np.geomspace(3e7, 2e11, 20)
    curve = plots.CurveSpec(name="chinchilla", label="C", x=x, y=2 + 1 / np.log(x))
    layout = plots.fit_figure(_points(), [curve], x_title="N", y_title="loss").to_plotly_json()["layout"]
    vals, texts = layout["xaxis"]["tickvals"], layout["xaxis"]["ticktext"]
    assert vals == [1e8, 1e9, 1e10, 1e11] and all(_is_power_of_ten(v) for v in vals)
    assert texts == ["10<sup>8</sup>", "10<sup>9</sup>", "10<sup>10</sup>", "10<sup>11</sup>"]
    # a loss between 2 and 3 holds no power of ten: plotly's own ticks, no exponent
    assert "tickvals" not in layout["yaxis"] and layout["yaxis"]["exponentformat"] == "none"
    assert plots.decade_ticks(2.0, 9.0) == {} and plots.decade_ticks(0.5, 20.0)["tickvals"] == [1.0, 10.0]


def test_hovers_write_numbers_through_formatting_not_plotly_si():
    """9.23e18 FLOP in a hover was "9.23E" (plotly's SI exa): the hover text is formatting's."""
    from scalecore.formatting import format_estimate, format_value

    c = np.array([9.23e18, 2.0e20, 3.1e21])
    pts = plots.Points(x=c, y=np.array([3.1, 2.8, 2.5]), run_ids=np.array(["a", "b", "c"], dtype=object),
                       excluded=np.array([False, False, True]), x_kind="flops", y_kind="loss")
    curve = plots.CurveSpec(name="chinchilla", label="Chinchilla", x=c, y=np.array([3.0, 2.7, 2.4]),
                            lower=np.array([2.9, 2.6, 2.3]), upper=np.array([3.1, 2.8, 2.5]), x_kind="flops",
                            x_title="C", y_title="loss")
    fig = plots.fit_figure(pts, [curve], x_title="C", y_title="loss").to_plotly_json()
    kept = next(t for t in fig["data"] if t["name"].startswith("runs"))
    assert [row[4] for row in kept["customdata"]] == [format_value(9.23e18, "flops"), format_value(2e20, "flops")]
    assert kept["customdata"][0][4] == "9.230e18" and kept["customdata"][0][5] == format_value(3.1, "loss")
    line = next(t for t in fig["data"] if t["name"] == "Chinchilla")
    assert [row[1] for row in line["customdata"]] == [format_estimate(3.0, 2.9, 3.1), format_estimate(2.7, 2.6, 2.8),
                                                      format_estimate(2.4, 2.3, 2.5)]
    for t in fig["data"]:
        assert ":.3s" not in (t.get("hovertemplate") or ""), t["name"]


def test_runs_coloured_by_budget_take_the_colour_of_their_budget_from_budget_labels():
    from scalecore.isoflop import budget_labels

    runs = _sample()
    compute = runs.values("compute")
    labels, budgets = budget_labels(compute)  # computed here, independently of the plot
    colors = plots.run_colors("budget", compute=compute)
    np.testing.assert_allclose(colors.values, [np.log10(budgets[lab]) for lab in labels], rtol=1e-12)
    order = sorted(budgets, key=budgets.get)
    assert list(colors.ticktext) == order
    np.testing.assert_allclose(colors.tickvals, [np.log10(budgets[lab]) for lab in order])
    pts = plots.Points(x=runs.values("params"), y=runs.values("loss"), run_ids=runs.run_ids.astype(str),
                       excluded=np.arange(len(runs)) == 0, colors=colors)
    fig = plots.fit_figure(pts, [], x_title="N", y_title="loss")
    kept = next(t for t in fig.data if t.name.startswith("runs"))
    # the kept runs, in order, each on the sequential scale at log10 of its budget's C, with a colour bar
    np.testing.assert_allclose(np.asarray(kept.marker.color, float), [np.log10(budgets[lab]) for lab in labels[1:]],
                               rtol=1e-12)
    assert [row[0] for row in kept.customdata] == list(runs.run_ids.astype(str)[1:])
    assert kept.marker.showscale is True and list(kept.marker.colorbar.ticktext) == order
    assert kept.marker.colorscale[0][1] == "#440154"  # Viridis: small budgets dark


def test_runs_coloured_by_group_get_one_trace_and_colour_per_group_and_keep_their_ids():
    groups = np.array(["a", "b", "a", "c", "b"], dtype=object)
    pts = plots.Points(x=np.geomspace(1e8, 1e10, 5), y=np.linspace(3, 2, 5),
                       run_ids=np.array([f"r{i}" for i in range(5)], dtype=object), excluded=np.zeros(5, bool),
                       colors=plots.run_colors("group", groups=groups))
    fig = plots.fit_figure(pts, [], x_title="N", y_title="loss")
    by_name = {t.name: t for t in fig.data if t.mode == "markers" and not t.name.startswith("excluded")}
    assert set(by_name) == {"a (2)", "b (2)", "c (1)"}
    assert [row[0] for row in by_name["a (2)"].customdata] == ["r0", "r2"]
    assert len({t.marker.color for t in by_name.values()}) == 3


def test_size_colouring_is_log10_of_n():
    n = np.array([1e7, 1e8, 3e9])
    colors = plots.run_colors("size", params=n)
    np.testing.assert_allclose(colors.values, [7.0, 8.0, np.log10(3e9)])
    assert list(colors.tickvals) == [7.0, 8.0, 9.0]


def test_isoflop_slices_are_the_fitted_law_along_each_budget_and_drawn_in_its_colour():
    from scalecore import fit
    from ui import analysis

    runs = _sample()
    result = fit(runs, "chinchilla")
    budgets = analysis.isoflop_budgets(runs)
    assert len(budgets) >= 5
    slices = analysis.isoflop_slices(result, runs, budgets)
    assert [s.label for s in slices] == sorted(budgets, key=budgets.get)
    p = result.params
    for s in slices:  # Chinchilla's law written out: E + A/N^alpha + B/D^beta, D = C / (6N)
        d = s.compute / (6.0 * s.x)
        np.testing.assert_allclose(s.y, p["E"] + p["A"] / s.x ** p["alpha"] + p["B"] / d ** p["beta"], rtol=1e-9)
    colors = plots.run_colors("budget", compute=runs.values("compute"))
    pts = plots.Points(x=runs.values("params"), y=runs.values("loss"), run_ids=runs.run_ids.astype(str),
                       excluded=np.zeros(len(runs), bool), colors=colors)
    fig = plots.fit_figure(pts, [], x_title="N", y_title="loss", slices=slices)
    lines = [t for t in fig.data if t.legendgroup == "slices"]
    assert len(lines) == len(slices) and sum(bool(t.showlegend) for t in lines) == 1
    from plotly.colors import sample_colorscale

    lo, hi = np.nanmin(colors.values), np.nanmax(colors.values)
    for t, s in zip(lines, slices):
        assert t.line.color == sample_colorscale("Viridis", [(np.log10(s.compute) - lo) / (hi - lo)])[0]


def test_compute_optimal_band_holds_the_point_curve_and_matches_optimum_on_the_resamples():
    from scalecore import fit, optimum
    from scalecore.stats import percentile_interval
    from ui import analysis

    runs = _sample()
    boot = fit(runs, "chinchilla").bootstrap(300, seed=1)
    cs = np.geomspace(1e19, 1e25, 25)
    bands = analysis.compute_optimal_bands(boot, cs)
    for key in ("params", "tokens", "ratio"):
        b = bands[key]
        assert np.all(b.lower <= b.point) and np.all(b.point <= b.upper), key
    # N*(C) from scalecore's one frontier routine, called here one budget at a time
    for i in (0, 12, 24):
        point = float(optimum.compute_optimum("chinchilla", boot.fit.theta, cs[i])["params"])
        samples = optimum.compute_optimum("chinchilla", boot.good, cs[i])["params"]
        lo, hi = percentile_interval(samples, boot.confidence_level)
        np.testing.assert_allclose([bands["params"].point[i], bands["params"].lower[i], bands["params"].upper[i]],
                                   [point, lo, hi], rtol=1e-9)
        np.testing.assert_allclose(bands["tokens"].point[i], cs[i] / (6.0 * point), rtol=1e-9)
    # Chinchilla's closed form written out: N* = G (C/6)^a, G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta)
    p = boot.fit.params
    a = p["beta"] / (p["alpha"] + p["beta"])
    g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    np.testing.assert_allclose(bands["params"].point, g * (cs / 6.0) ** a, rtol=1e-6)
    curve = plots.CurveSpec(name="chinchilla", label="Chinchilla", x=cs, y=bands["params"].point,
                            lower=bands["params"].lower, upper=bands["params"].upper, x_kind="flops", y_kind="count")
    fig = plots.compute_optimal_figure([curve], y_title="N*", title="N*", data_range=(1e19, 3e21))
    layout = fig.to_plotly_json()["layout"]
    assert layout["xaxis"]["type"] == "log" and all(_is_power_of_ten(v) for v in layout["xaxis"]["tickvals"])
    assert all(_is_power_of_ten(v) for v in layout["yaxis"]["tickvals"])


def test_published_optima_kaplan_and_besiroglu():
    from ui import analysis

    # Kaplan et al. 2020, Table 6: N_opt = 1.3e9 * C_min^0.73 with C in PF-days (8.64e19 FLOP)
    n = analysis.published_optimum("kaplan2020", np.array([8.64e19, 8.64e21]))["params"]
    np.testing.assert_allclose(n, [1.3e9, 1.3e9 * 100 ** 0.73], rtol=1e-12)
    # Besiroglu et al. 2024 at Chinchilla's budget: 72.25B params, 1.329T tokens (README, `budget --preset`)
    opt = analysis.published_optimum("besiroglu2024", np.array([5.76e23]))
    assert abs(opt["params"][0] / 72.25e9 - 1) < 1e-3 and abs(opt["tokens"][0] / 1.329e12 - 1) < 1e-3
    np.testing.assert_allclose(opt["ratio"], opt["tokens"] / opt["params"])


def test_the_map_has_real_values_on_its_axes_and_iso_flop_lines_at_powers_of_ten():
    n, d = np.geomspace(1e7, 1e10, 30), np.geomspace(1e9, 1e12, 30)
    loss = 1.7 + 400 / n[None, :] ** 0.34 + 410 / d[:, None] ** 0.28
    spec = plots.ContourSpec(name="chinchilla", n_grid=n, d_grid=d, loss=loss, iso_flops=(3.2e17, 7.94e20, 1e21))
    pts = plots.Points(x=np.array([1e8]), y=np.array([1e10]), run_ids=np.array(["r"], dtype=object),
                       excluded=np.array([False]), x_kind="count", y_kind="count")
    figure = plots.contour_figure(spec, pts)
    fig = figure.to_plotly_json()
    layout = fig["layout"]
    assert layout["xaxis"]["ticktext"] == ["10<sup>7</sup>", "10<sup>8</sup>", "10<sup>9</sup>", "10<sup>10</sup>"]
    assert layout["xaxis"]["tickvals"] == [7.0, 8.0, 9.0, 10.0]
    labels = [a["text"] for a in layout["annotations"]]
    assert labels and set(labels) <= {"1e17", "1e18", "1e19", "1e20", "1e21"} and "7.94e20" not in labels
    sample = next(t for t in fig["data"] if t.get("legendgroup") == "iso" and t.get("showlegend") is not False)
    assert sample["line"]["color"] == "#52606d"  # visible on the white legend
    contour = fig["data"][0]
    assert "%{customdata:.4g}" in contour["hovertemplate"] and contour["text"][0][0] == "N 10.00M<br>D 1.000B"
    # the colour bar at round losses (log10 positions, as z is log10 of the loss)
    bar = figure.data[0].colorbar
    ticks = [10 ** v for v in bar.tickvals]
    assert loss.min() <= min(ticks) and max(ticks) <= loss.max() and 2 <= len(ticks) <= 7
    step = np.diff(ticks)
    np.testing.assert_allclose(step, step[0])
    assert step[0] / 10 ** np.floor(np.log10(step[0])) in (1.0, 2.0, 2.5, 5.0)
    assert list(bar.ticktext) == [f"{t:.3g}" for t in ticks]


def test_legends_sit_under_the_plot_clear_of_the_axis_title():
    fig = plots.bootstrap_scatter(np.random.default_rng(0).normal(size=50), np.random.default_rng(1).normal(size=50),
                                  name="chinchilla", x_param="alpha", y_param="beta", point=(0.0, 0.0),
                                  ci_x=(-1.0, 1.0), ci_y=(-1.0, 1.0)).to_plotly_json()["layout"]
    legend = fig["legend"]
    assert legend["orientation"] == "h" and legend["yref"] == "container" and legend["y"] == 0
    # the legend's rows sit in the bottom margin, under the axis title's band (about 60 px)
    legend_dict, bottom = plots.legend_below(3)
    assert fig["margin"]["b"] == bottom >= 60 + 22


def test_many_groups_are_one_trace_with_each_run_in_its_groups_colour():
    groups = np.array([f"g{i % 20}" for i in range(40)], dtype=object)
    pts = plots.Points(x=np.geomspace(1e8, 1e10, 40), y=np.linspace(3, 2, 40),
                       run_ids=np.array([f"r{i}" for i in range(40)], dtype=object), excluded=np.zeros(40, bool),
                       colors=plots.run_colors("group", groups=groups))
    kept = [t for t in plots.run_traces(pts) if not t.name.startswith("excluded")]
    assert len(kept) == 1 and kept[0].name == "runs (40), coloured by group"
    assert list(kept[0].marker.color) == [plots.GROUP_COLORS[i % 20 % len(plots.GROUP_COLORS)] for i in range(40)]

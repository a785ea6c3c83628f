"""report: one offline HTML file whose numbers are the library's, with every piece of user text escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from scalecore import bootstrap, load_runs
from scalecore import report
from scalecore.cli import main
from scalecore.comparison import compare
from scalecore.formatting import format_interval
from scalecore.store import Analysis, DataFile, Settings
from tests.synth import frame

EVIL = "<script>alert(1)</script>"


class Cells(HTMLParser):
    """Collects the numeric cells (data-raw) and every tag's src/href attributes."""

    def __init__(self):
        super().__init__()
        self.cells: list[dict] = []
        self.links: list[tuple[str, str, str]] = []
        self.scripts = 0
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if name in attrs:
                self.links.append((tag, name, attrs[name]))
        if tag == "td" and "data-raw" in attrs:
            self._cell = {**attrs, "text": ""}

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None


def parse(text: str) -> Cells:
    p = Cells()
    p.feed(text)
    return p


def params_of(cells: Cells, family: str) -> dict:
    out: dict = {}
    for c in cells.cells:
        if c.get("data-family") == family and c.get("data-param") and c.get("data-kind") in ("value", "low", "high"):
            out.setdefault(c["data-param"], {})[c["data-kind"]] = (float(c["data-raw"]), c["text"])
    return out


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    df = frame("offset_power_law", seed=21, noise=0.01)
    df["arch"] = np.where(np.arange(len(df)) % 2, "dense", "moe")
    df.loc[3, "run_id"] = EVIL
    path = tmp_path_factory.mktemp("report") / "runs <b>bold.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cli_report(csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "report.html"
    code = main(["report", str(csv), "--family", "offset_power_law", "--family", "power_law", "--x", "params",
                 "--bootstrap", "300", "--seed", "4", "--confidence", "0.9", "--target", "1e12",
                 "--exclude", EVIL, "r010", "--reason", "diverged <img src=x onerror=alert(2)>",
                 "--compare-by", "arch", "--title", "Dense vs MoE <i>draft</i>", "--note", f"note {EVIL}",
                 "-o", str(out)])
    assert code == 0
    return out.read_text(encoding="utf-8")


def test_cli_report_numbers_equal_the_library(csv, cli_report):
    runs = load_runs(csv)
    cells = parse(cli_report)
    for family in ("offset_power_law", "power_law"):
        boot = bootstrap(runs, family, x="params", exclude=[EVIL, "r010"], n_resamples=300, seed=4,
                         confidence_level=0.9)
        shown = params_of(cells, family)
        assert set(shown) == set(boot.fit.params)
        for name, value in boot.fit.params.items():
            lo, hi = boot.confidence_interval[name]
            assert shown[name]["value"][0] == value  # exactly: repr round-trips
            assert (shown[name]["low"][0], shown[name]["high"][0]) == (lo, hi)
            # and the rounded text is the one the app shows (PDG rule)
            assert tuple(shown[name][k][1] for k in ("value", "low", "high")) == format_interval(value, lo, hi)
        assert boot.interval_label in cli_report
        target = boot.predict_at(np.array([1e12]))
        (cell,) = [c for c in cells.cells if c.get("data-family") == family and c.get("data-quantity") == "target"
                   and c.get("data-kind") == "value"]
        assert float(cell["data-raw"]) == target.value


def test_cli_report_comparison_equals_the_library(csv, cli_report):
    comp = compare(load_runs(csv), "offset_power_law", by="arch", x="params", exclude=[EVIL, "r010"],
                   n_resamples=300, seed=4, confidence_level=0.9)
    (a, b) = comp.pairs()[0]
    assert f"{a} vs {b}" in cli_report
    plain = re.sub(r"\s+", " ", cli_report)
    assert report.e(comp.crossover(a, b).text()) in plain
    assert report.e(comp.multiplier(a, b, comp.default_scale()).text()) in plain


def test_report_is_self_contained_and_offline(cli_report):
    cells = parse(cli_report)
    assert not any(value.startswith(("http://", "https://", "//")) for _, _, value in cells.links), cells.links
    assert not [link for link in cells.links if link[0] in ("script", "link", "img")]
    assert not re.search(r"<script[^>]*\bsrc=", cli_report)
    assert "cdn.plot.ly" not in "".join(re.findall(r"<script[^>]*>", cli_report))
    assert cli_report.count("Plotly.newPlot(") == 4  # fits, residuals, backtest, comparison ...
    assert len(re.findall(r"plotly\.js (?:\(basic - minified\) )?v\d", cli_report)) == 1  # ... plotly.js inlined once
    # scatter traces only: the basic bundle, so two families and a comparison stay under 1.5 MB
    assert "plotly.js (basic - minified) v4.1.1" in cli_report
    assert report._BASIC_BUNDLE.stat().st_size < len(cli_report.encode()) < 1_500_000


def test_a_figure_the_basic_bundle_cannot_draw_gets_the_full_plotly():
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    figures = report._Figures()
    figures.html(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    assert "plotly.js (basic - minified)" in figures.script()
    figures.html(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])))
    script = figures.script()
    assert "basic - minified" not in script and get_plotlyjs()[:200] in script
    assert report._Figures().script() == ""  # no figure, no plotly.js


def test_user_text_is_escaped(cli_report):
    assert "<script>alert" not in cli_report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cli_report  # the run id stays visible, as text
    assert "<i>draft</i>" not in cli_report and "Dense vs MoE &lt;i&gt;draft&lt;/i&gt;" in cli_report
    assert "<img" not in cli_report and "diverged &lt;img src=x onerror=alert(2)&gt;" in cli_report
    assert "runs &lt;b&gt;bold.csv" in cli_report and "<b>bold" not in cli_report


def test_report_states_settings_and_version(cli_report):
    from scalecore import __version__

    assert f"scalecore {__version__}" in cli_report
    for text in ("<code>n_resamples</code></td><td>300</td>", "<code>seed</code></td><td>4</td>",
                 "<code>confidence_level</code></td><td>0.9</td>", "<code>target</code></td><td>1e+12</td>",
                 "<code>method</code></td><td>cases</td>", "--compare-by arch"):
        assert text in cli_report
    assert "90% bootstrap percentile interval (cases, 300 resamples)" in cli_report


def test_render_chinchilla_with_scenarios_and_exclusion_reasons(tmp_path):
    df = frame("chinchilla", seed=2, noise=0.01)
    data = df.to_csv(index=False).encode()
    scenario = {"name": "70B on H100s", "inputs": {"compute": 5.8e23, "hardware": {"accelerator": "H100", "count": 512}},
                "answers": {"params": {"value": 7.1e10, "low": 6.2e10, "high": 8.3e10, "standard_error": 5e9}},
                "interval": "95% bootstrap percentile interval (cases, 200 resamples)", "warnings": ["extrapolated"]}
    analysis = Analysis(title="Chinchilla check", files=(DataFile("iso.csv", data),), families=("chinchilla",),
                        settings=Settings(x="compute", n_resamples=120, seed=1, target=1e22),
                        exclusions={"r005": "loss spike"}, scenarios=(scenario,))
    text = report.render(analysis)
    cells = parse(text)
    boot = bootstrap(load_runs(data), "chinchilla", exclude=["r005"], n_resamples=120, seed=1)
    shown = params_of(cells, "chinchilla")
    assert {n: v["value"][0] for n, v in shown.items()} == boot.fit.params
    target = [c for c in cells.cells if c.get("data-quantity") == "target" and c.get("data-kind") == "value"]
    assert float(target[0]["data-raw"]) == boot.compute_optimal(1e22)["loss"].value
    assert "Compute-optimal allocation" in text and "compute-optimal frontier" in text
    assert "loss spike" in text and "70B on H100s" in text and "⚠ extrapolated" in text
    (answer,) = [c for c in cells.cells if c.get("data-answer") == "params" and c.get("data-kind") == "value"]
    assert float(answer["data-raw"]) == 7.1e10


def test_a_family_that_cannot_be_fitted_is_reported_not_fatal(tmp_path):
    data = frame("offset_power_law", seed=3).drop(columns=["tokens"]).to_csv(index=False).encode()
    analysis = Analysis(title="x", files=(DataFile("a.csv", data),), families=("offset_power_law", "chinchilla"),
                        settings=Settings(x="params", n_resamples=50))
    text = report.render(analysis)
    assert "Could not be fitted" in text
    assert params_of(parse(text), "offset_power_law")


def test_cli_report_errors_are_one_line(tmp_path, capsys):
    path = tmp_path / "r.csv"
    pd.DataFrame({"params": [1e7, 1e8, 1e9, 1e10], "loss": [3.0, 2.7, 2.5, 2.4]}).to_csv(path, index=False)
    assert main(["report", str(path), "--family", "chinchila", "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "unknown family" in err
    assert main(["report", str(tmp_path / "missing.csv"), "--family", "power_law", "-o", str(tmp_path / "x.html")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_scenario_numbers_are_written_in_their_kind_not_raw(tmp_path):
    """Issue 20: the report showed `97179142668.0847` params and compute as a 22-digit integer."""
    data = frame("chinchilla", seed=2, noise=0.01).to_csv(index=False).encode()
    scenario = {"name": "big", "inputs": {"compute": 3000000000000000000000, "days": 30.0,
                                          "hardware": {"accelerator": "H100", "count": 512}},
                "answers": {"params_opt": {"value": 97179142668.0847, "low": 8.1e10, "high": 1.2e11},
                            "compute": {"value": 3.0000000000000094e21, "low": None, "high": None},
                            "cost": 1755000.0},
                "interval": "95% bootstrap percentile interval (cases, 200 resamples)"}
    analysis = Analysis(title="kinds", files=(DataFile("iso.csv", data),), families=("chinchilla",),
                        settings=Settings(x="compute", n_resamples=50, seed=1), scenarios=(scenario,))
    text = report.render(analysis, results={}, errors={})
    cells = {(c.get("data-scenario"), c.get("data-answer")): c for c in parse(text).cells if c.get("data-answer")}
    # one column per scenario, value [interval] in one cell; the narrower half-width, 16.2B (lead
    # digits 162), keeps two digits: whole billions
    assert cells["big", "params_opt"]["text"] == "97B [81B, 120B]"
    assert float(cells["big", "params_opt"]["data-raw"]) == 97179142668.0847
    assert cells["big", "compute"]["text"] == "3.00e21"  # no interval: the value alone, no "nan"
    assert cells["big", "cost"]["text"] == "$1.75M" or cells["big", "cost"]["text"] == "$1.76M"
    plain = re.sub(r"<[^>]+>", "|", text)
    assert "|compute-optimal model size N*||97B [81B, 120B]|" in plain  # readable names, not params_opt
    assert "|days on the cluster||30.00|" in plain and "|hardware · count||512|" in plain
    assert "nan" not in plain.split("the analysis record")[0].lower().replace("nanoseconds", "")
    assert "97179142668" not in plain.split("the analysis record")[0]
    assert "3000000000000000000000" not in plain.split("the analysis record")[0]


def test_the_analysis_record_is_strict_json(cli_report):
    import html as html_

    record = html_.unescape(cli_report.split("the analysis record (JSON)</summary><pre>")[1].split("</pre>")[0])
    assert "NaN" not in record and "Infinity" not in record
    import json

    assert json.loads(record)["settings"]["seed"] == 4


# -------------------------------------------------------------------------------- meeting material (issue 22)


@pytest.mark.parametrize("name", sorted(__import__("scalecore").FAMILIES))
def test_every_familys_formula_is_rendered_without_latex(name):
    from scalecore import FAMILIES
    from scalecore.formatting import latex_to_html

    out = latex_to_html(FAMILIES[name].formula)
    assert "\\" not in out and "^{" not in out and "_{" not in out and "{" not in out and "}" not in out, out
    assert "<sup>" in out or "<sub>" in out


def test_formula_html_by_hand():
    from scalecore.formatting import latex_to_html

    assert latex_to_html(r"L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}") == \
        "L(N, D) = E + A/N<sup>α</sup> + B/D<sup>β</sup>"
    assert latex_to_html(r"\left(\frac{N_c}{N}\right)^{\alpha_N}") == "(N<sub>c</sub>/N)<sup>α<sub>N</sub></sup>"
    assert latex_to_html(r"\frac{a + b}{c}") == "(a + b)/c"
    assert latex_to_html("x < y") == "x &lt; y"


@pytest.fixture(scope="module")
def meeting():
    """Two families on Chinchilla-like runs with one exclusion, a target, and two scenarios."""
    df = frame("chinchilla", seed=2, noise=0.01)
    data = df.to_csv(index=False).encode()
    scenarios = (
        {"name": "1e22 on H100", "inputs": {"compute": 1e22, "hardware": {"accelerator": "H100", "count": 256}},
         "answers": {"params_opt": {"value": 9.7e9, "low": 8.1e9, "high": 1.2e10},
                     "cost": {"value": 1.843e6, "low": None, "high": None},
                     "inference_saving_fraction": {"value": 0.12, "low": 0.1, "high": 0.15}},
         "interval": "95% bootstrap percentile interval (cases, 200 resamples)"},
        {"name": "1e23", "inputs": {"compute": 1e23},
         "answers": {"params_opt": {"value": 3.1e10, "low": 2.5e10, "high": 4.0e10}},
         "interval": "95% bootstrap percentile interval (cases, 200 resamples)"},
    )
    a = Analysis(title="meeting", files=(DataFile("iso.csv", data),), families=("chinchilla", "kaplan"),
                 settings=Settings(x="compute", n_resamples=200, seed=3, target=1e22), exclusions={"r005": "spike"},
                 scenarios=scenarios)
    runs = load_runs(data)
    results = {f: bootstrap(runs, f, exclude=["r005"], n_resamples=200, seed=3) for f in a.families}
    text = report.render(a, results=results, errors={}, runs=runs)
    return a, runs, results, text


def test_the_report_renders_formulas_and_has_no_raw_latex_and_no_nan(meeting):
    a, runs, results, text = meeting
    body = text.split("</head>")[1].split("the analysis record")[0]
    visible = re.sub(r"<script.*?</script>", "", body, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    assert "\\frac" not in visible and "\\alpha" not in visible and "^{" not in visible
    assert "A/N<sup>α</sup>" in text
    assert not re.search(r"\bnan\b", visible, flags=re.I)
    assert "params_opt" not in visible and "inference_saving_fraction" not in visible


def test_fit_quality_section_equals_compare_families(meeting):
    from scalecore.diagnostics import compare_families

    a, runs, results, text = meeting
    ref = compare_families([b.fit for b in results.values()]).set_index("family")
    cells = [c for c in parse(text).cells if c.get("data-field") in ("delta_aic", "aic", "rmse_log", "akaike_weight")]
    got = {(c["data-family"], c["data-field"]): float(c["data-raw"]) for c in cells}
    for f in results:
        assert got[f, "aic"] == ref.loc[f, "aic"]
        assert got[f, "delta_aic"] == ref.loc[f, "delta_aic"]
        assert got[f, "rmse_log"] == pytest.approx(np.sqrt(np.mean(results[f].fit.residuals ** 2)), rel=1e-12)
    assert min(got[f, "delta_aic"] for f in results) == 0.0
    assert 'id="fit-quality"' in text


def test_residual_plot_is_actual_minus_predicted(meeting):
    import json

    a, runs, results, text = meeting
    fig = report.residual_figure(a, runs, results)
    boot = results["chinchilla"]
    p = boot.fit.params
    N, D, y = boot.fit.problem.inputs["params"], boot.fit.problem.inputs["tokens"], boot.fit.problem.y_values
    expected = np.log(y) - np.log(p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"])
    trace = next(t for t in fig.data if t.legendgroup == "chinchilla")
    np.testing.assert_allclose(np.asarray(trace.y, float), expected, atol=1e-9)
    assert "ln(actual) − ln(predicted)" in json.dumps(fig.layout.yaxis.title.text, ensure_ascii=False)
    assert 'id="residuals"' in text


def test_compute_optimal_plot_is_the_frontier_with_its_bands(meeting):
    a, runs, results, text = meeting
    fig = report.compute_optimal_figure(results, runs, runs.flops_per_token_param)
    line = next(t for t in fig.data if t.name == "Chinchilla: N*")
    c = float(line.x[10])
    opt = results["chinchilla"].compute_optimal(c, runs.flops_per_token_param)
    assert line.y[10] == pytest.approx(opt["params"].value, rel=1e-12)
    # the closed form of Chinchilla's optimum, written out: G = (alpha A / (beta B))^(1/(alpha+beta))
    p = results["chinchilla"].fit.params
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    assert line.y[10] == pytest.approx(G * (c / 6) ** (p["beta"] / (p["alpha"] + p["beta"])), rel=1e-9)
    band = [t for t in fig.data if t.fill == "toself"]
    assert len(band) == 4  # N* and D* of two families
    assert 'id="compute-optimal"' in text


def test_scenarios_side_by_side_with_readable_names_units_and_money(meeting):
    a, runs, results, text = meeting
    cells = {(c.get("data-scenario"), c.get("data-answer")): c for c in parse(text).cells if c.get("data-answer")}
    assert cells["1e22 on H100", "params_opt"]["text"] == "9.7B [8.1B, 12.0B]"
    assert cells["1e22 on H100", "cost"]["text"] == "$1.84M"
    assert cells["1e23", "params_opt"]["text"] == "31B [25B, 40B]"
    assert cells["1e22 on H100", "inference_saving_fraction"]["text"] == "12.0% [10.0%, 15.0%]"
    section = text.split('id="scenarios"')[1].split("</section>")[0]
    head = re.findall(r"<th>(.*?)</th>", section.split("</thead>")[0])
    assert head == ["answer", "1e22 on H100", "1e23"]  # one column per scenario
    plain = re.sub(r"<[^>]+>", "|", section)
    assert "compute-optimal model size N*" in plain and "fraction of FLOPs saved (%)" in plain and "cost (USD)" in plain
    assert "1.843e+06" not in plain and "nan" not in plain.lower()


def test_every_setting_is_in_the_report_under_a_readable_name(meeting):
    a, runs, results, text = meeting
    section = text.split('id="settings"')[1].split("</section>")[0]
    for key in a.settings.to_dict():
        assert f'data-setting="{key}"' in section
    plain = re.sub(r"<[^>]+>", "|", section)
    assert "|bootstrap resamples||200|" in plain and "|seed||3|" in plain and "|extrapolation target||1e22|" in plain
    assert "|families||Chinchilla, Kaplan|" in plain


def test_excluded_runs_show_their_residual_against_the_fit_without_them(meeting):
    a, runs, results, text = meeting
    (cell,) = [c for c in parse(text).cells if c.get("data-run") == "r005"]
    boot = results["chinchilla"]
    i = list(runs.run_ids).index("r005")
    y = runs.values("loss")[i]
    pred = float(boot.fit.predict(params=runs.values("params")[i], tokens=runs.values("tokens")[i]))
    assert float(cell["data-raw"]) == pytest.approx(np.log(y) - np.log(pred), abs=1e-12)


def test_formula_as_plain_text_for_tables():
    from scalecore import FAMILIES
    from scalecore.formatting import latex_to_text

    assert latex_to_text(FAMILIES["chinchilla"].formula) == "L(N, D) = E + A/N^α + B/D^β"
    for fam in FAMILIES.values():
        out = latex_to_text(fam.formula)
        assert "\\" not in out and "{" not in out and "<" not in out, out


def test_without_a_target_the_report_still_gives_n_star_and_d_star():
    df = frame("chinchilla", seed=2, noise=0.01)
    data = df.to_csv(index=False).encode()
    a = Analysis(title="no target", files=(DataFile("iso.csv", data),), families=("chinchilla",),
                 settings=Settings(x="compute", n_resamples=100, seed=1))
    runs = load_runs(data)
    results = {"chinchilla": bootstrap(runs, "chinchilla", n_resamples=100, seed=1)}
    text = report.render(a, results=results, errors={}, runs=runs)
    c = report.allocation_compute(a, runs)
    assert c == 10 ** np.ceil(np.log10(runs.values("compute").max()))
    opt = results["chinchilla"].compute_optimal(c, runs.flops_per_token_param)
    from scalecore.formatting import format_estimate

    assert format_estimate(opt["params"], kind="count") in text and format_estimate(opt["tokens"], kind="count") in text

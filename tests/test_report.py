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
    assert cli_report.count("Plotly.newPlot(") == 3  # three figures (fits, backtest, comparison) ...
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
    cells = {(c.get("data-answer"), c.get("data-kind")): c["text"] for c in parse(text).cells if c.get("data-answer")}
    # the narrower half-width, 16.2B (lead digits 162), keeps two digits: whole billions
    assert (cells["params_opt", "value"], cells["params_opt", "low"], cells["params_opt", "high"]) == \
        ("97B", "81B", "120B")
    assert (cells["compute", "value"], cells["compute", "low"], cells["compute", "high"]) == ("3.000e21", "", "")
    plain = re.sub(r"<[^>]+>", "|", text)
    assert "|compute||3.000e21|" in plain and "|days||30.00|" in plain and "|hardware.count||512|" in plain
    assert "|cost||$1.755M|" in plain
    assert "97179142668" not in plain.split("the analysis record")[0]
    assert "3000000000000000000000" not in plain.split("the analysis record")[0]


def test_the_analysis_record_is_strict_json(cli_report):
    import html as html_

    record = html_.unescape(cli_report.split("the analysis record (JSON)</summary><pre>")[1].split("</pre>")[0])
    assert "NaN" not in record and "Infinity" not in record
    import json

    assert json.loads(record)["settings"]["seed"] == 4

"""The joint fit in the meeting material (issue 24 item 4): the report's section read back against a
JointFit computed here with the same settings, and the saved analysis' round trip."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scalecore import load_runs, report, store
from scalecore.joint import joint_fit
from scalecore.store import Analysis, DataFile, Settings

CSV = Path("sample_runs/architectures_crossover.csv")
SETTINGS = Settings(x="compute", n_resamples=200, seed=4, confidence_level=0.9)
SPEC = {"family": "offset_power_law", "by": "arch", "groups": ["transformer", "ssm"], "x": "compute", "at": 1e21,
        "shared": "exponents"}


class Section(HTMLParser):
    """The numeric cells and the text of one <section id=...>."""

    def __init__(self, section: str):
        super().__init__()
        self.section, self.inside, self.depth = section, False, 0
        self.cells: list[dict] = []
        self.text = ""
        self.attrs: list[dict] = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id") == self.section:
            self.inside = True
        if not self.inside:
            return
        self.attrs.append({"tag": tag, **attrs})
        if tag == "td" and "data-raw" in attrs:
            self._cell = {**attrs, "text": ""}

    def handle_data(self, data):
        if self.inside:
            self.text += data
            if self._cell is not None:
                self._cell["text"] += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "section":
            self.inside = False


def section(html: str, name: str) -> Section:
    p = Section(name)
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def runs():
    return load_runs(CSV)


@pytest.fixture(scope="module")
def reference(runs):
    """The joint fit as the Compare page makes it, with the analysis' settings."""
    return joint_fit(runs, "offset_power_law", by="arch", groups=["transformer", "ssm"], shared="exponents",
                     x="compute", n_resamples=200, confidence_level=0.9, seed=4)


@pytest.fixture(scope="module")
def analysis():
    return Analysis(title="joint", files=(DataFile(CSV.name, CSV.read_bytes()),), families=("offset_power_law",),
                    settings=SETTINGS, comparison=dict(SPEC))


@pytest.fixture(scope="module")
def html(analysis, runs):
    return report.render(analysis, results={}, runs=runs, comparison=None)


def test_report_shared_values_are_the_joint_fits(html, reference):
    sec = section(html, "joint")
    assert reference.shared == ("alpha",)
    cells = {(c.get("data-parameter"), c.get("data-kind")): float(c["data-raw"]) for c in sec.cells
             if c.get("data-parameter")}
    est = reference.shared_estimates["alpha"]
    assert cells[("alpha", "value")] == pytest.approx(est.value, rel=1e-12)
    assert cells[("alpha", "low")] == pytest.approx(est.low, rel=1e-12)
    assert cells[("alpha", "high")] == pytest.approx(est.high, rel=1e-12)
    # an independent reading of the interval: the 5th and 95th percentiles of the resampled alphas
    import numpy as np

    alphas = reference.samples[~reference.failed, reference.names.index("alpha")]
    assert cells[("alpha", "low")] == pytest.approx(np.percentile(alphas, 5), rel=1e-9)
    assert cells[("alpha", "high")] == pytest.approx(np.percentile(alphas, 95), rel=1e-9)


def test_report_difference_test_in_one_sentence(html, reference):
    sec = section(html, "joint")
    test = [a for a in sec.attrs if "joint-test" in (a.get("class") or "")]
    assert len(test) == 1 and float(test[0]["data-p-value"]) == pytest.approx(reference.test.p_value)
    sentence = reference.test.text()
    assert (sentence[0].upper() + sentence[1:] + ".") in sec.text
    assert ("differ in alpha" in sentence)


def test_report_pairs_p_better_and_multiplier(html, reference):
    sec = section(html, "joint")
    p = [c for c in sec.cells if c.get("data-field") == "p_better"]
    assert [c["data-pair"] for c in p] == ["ssm vs transformer"]
    assert float(p[0]["data-raw"]) == pytest.approx(reference.probability_better("ssm", "transformer", 1e21))
    m = reference.multiplier("ssm", "transformer", 1e21)
    cells = {c["data-kind"]: float(c["data-raw"]) for c in sec.cells if c.get("data-pair") == "ssm vs transformer"
             and c.get("data-kind")}
    if m.status == "ok":
        assert cells["value"] == pytest.approx(m.multiplier.value)
        assert cells["low"] == pytest.approx(m.multiplier.low) and cells["high"] == pytest.approx(m.multiplier.high)
    else:
        assert "not reached" in sec.text
    assert reference.better_text("ssm", "transformer", 1e21) in sec.text
    assert "compute = 1e21" in sec.text


def test_p_better_against_the_curves_written_out(reference):
    """P(better) against the offset power law written out here, L = E + A x^-alpha, on every resample."""
    import numpy as np

    names = list(reference.names)
    ok = ~reference.failed
    s = reference.samples[ok]

    def loss(g):
        E, A, alpha = (s[:, names.index(n if n == "alpha" else f"{n}[{g}]")] for n in ("E", "A", "alpha"))
        return E + A * 1e21 ** (-alpha)

    by_hand = float(np.mean(loss("ssm") < loss("transformer")))
    assert reference.probability_better("ssm", "transformer", 1e21) == pytest.approx(by_hand, abs=1e-12)


def test_saved_analysis_round_trip_keeps_the_joint_fit(analysis, html, runs, tmp_path):
    aid = store.save(analysis, path=tmp_path / "a.sqlite3")
    back = store.load(aid, path=tmp_path / "a.sqlite3")
    assert back.comparison == SPEC
    assert report.joint_shared(back) == "exponents"
    again = report.render(back, results={}, runs=back.runs())
    strip = lambda h: re.sub(r'id="figure-\d+"', "", section_html(h))  # noqa: E731
    assert strip(again) == strip(html)


def section_html(h: str) -> str:
    start = h.index('<section id="joint">')
    return h[start:h.index("</section>", start)]


def test_no_joint_key_no_section_and_errors_are_said(runs):
    plain = Analysis(title="t", files=(DataFile(CSV.name, CSV.read_bytes()),), families=("offset_power_law",),
                     settings=SETTINGS, comparison={k: v for k, v in SPEC.items() if k != "shared"})
    assert report.joint_shared(plain) is None
    assert 'id="joint"' not in report.render(plain, results={}, runs=runs)
    bad = Analysis(title="t", files=plain.files, families=plain.families, settings=SETTINGS,
                   comparison={**SPEC, "shared": "nonsense"})
    text = section(report.render(bad, results={}, runs=runs), "joint").text
    assert "could not be made" in text and "nonsense" in text


def test_render_reports_its_steps(analysis, runs):
    seen = []
    report.render(analysis, results={}, runs=runs, progress=lambda i, n, label: seen.append((i, n)))
    steps = [i for i, _ in seen]
    assert steps == sorted(steps) and all(n == report.RENDER_STEPS for _, n in seen)
    assert seen[-1][0] == report.RENDER_STEPS - 1


def test_report_multiplier_with_its_interval_where_it_is_reached(analysis, runs, reference):
    from dataclasses import replace

    at = 1e17
    m = reference.multiplier("ssm", "transformer", at)
    assert m.status == "ok"
    sec = section(report.joint_section(replace(analysis, comparison={**SPEC, "at": at}), reference, None), "joint")
    cells = {c["data-kind"]: float(c["data-raw"]) for c in sec.cells if c.get("data-pair") == "ssm vs transformer"
             and c.get("data-kind")}
    assert (cells["value"], cells["low"], cells["high"]) == pytest.approx(
        (m.multiplier.value, m.multiplier.low, m.multiplier.high))
    assert cells["low"] <= cells["value"] <= cells["high"]


def test_cli_report_with_a_joint_fit(tmp_path):
    from scalecore.cli import main

    out = tmp_path / "r.html"
    assert main(["report", str(CSV), "--family", "offset_power_law", "--x", "compute", "--compare-by", "arch",
                 "--compare-shared", "alpha", "--bootstrap", "100", "--seed", "2", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    sec = section(text, "joint")
    assert "sharing alpha" in sec.text and "P(better)" in sec.text
    assert "--compare-shared alpha" in text  # the command that rebuilds it

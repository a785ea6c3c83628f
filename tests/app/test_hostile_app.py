"""AppTest of hostile input in the app (issue 7): no traceback ever reaches the page, and a bad upload
says what is wrong while the previous dataset stays loaded with its exclusions and its fit.

- An unexpected exception inside any page becomes the short message of ``ui.run_page`` with a
  collapsed "details" expander (exception type and text, no traceback); the traceback goes to the
  server log. The sidebar and its dataset keep working.
- A bad CSV upload (one of the catalogue's files in tests/fixtures/bad/, or a file over the size
  limit) shows the library's exact message in the sidebar and changes nothing else: the same
  dataset, exclusions, run count and fitted parameters as before the upload.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from scalecore.io import source as data_module
from scalecore import fit, load_runs
from scalecore.errors import DataError, FitError
from scalecore.formatting import format_interval
from test_explore import SAMPLE, expected_boot, figure_with_trace, no_errors, param_table, start, trace
from ui import md, md_message

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="sample_runs/chinchilla_like.csv is not there yet")

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad"
PAGES = ["views/explore.py", "views/budget.py", "views/compare.py", "views/downstream.py", "views/isoflop.py", "views/trust.py",
         "views/review.py"]
SHORT = "Something went wrong while drawing this page."


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Uploads go to a temporary store, never to the user's."""
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))


def all_text(at) -> str:
    """Every string of every element on the page and in the sidebar (the protobufs as text)."""
    return "\n".join(str(node.proto) for block in (at.main, at.sidebar) for node in block
                     if getattr(node, "proto", None) is not None)


def rendered(markdown: str) -> str:
    """The text a user reads of markdown written by ui.md/md_message: escapes resolved, the
    backticks of code spans gone (their content is literal)."""
    out, chars = [], iter(markdown)
    for ch in chars:
        if ch == "\\":
            out.append(next(chars))
        elif ch != "`":
            out.append(ch)
    return "".join(out)


def url_list(at, key: str) -> list[str]:
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


# ------------------------------------------------------------------------------------------------
# an unexpected error inside a page


def boom(*args, **kwargs):
    raise RuntimeError("cannot reach /srv/secret/cache.db (errno 13)")


@pytest.mark.parametrize("page", PAGES)
def test_an_unexpected_error_in_a_page_is_a_short_message_with_details_and_no_traceback(page, monkeypatch, caplog):
    at = start()
    if page != PAGES[0]:
        at.switch_page(page).run()
    no_errors(at)
    monkeypatch.setattr("ui.data_source.current", boom)  # the first thing every page asks for
    with caplog.at_level(logging.ERROR, logger="scalecore.app"):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [e.value for e in at.main.error]
    assert error.startswith(SHORT) and "report the details below" in error
    (details,) = [x for x in at.main.expander if x.label == "details"]
    assert [t.value for t in details.text] == ["RuntimeError: cannot reach /srv/secret/cache.db (errno 13)"]
    assert not details.proto.expanded  # collapsed: the short message is what the user reads first
    text = all_text(at)
    assert "Traceback" not in text and "File \"" not in text
    # ... the traceback is in the server log instead
    logged = [r for r in caplog.records if r.name == "scalecore.app" and r.levelno == logging.ERROR]
    assert logged and "Traceback (most recent call last)" in logged[-1].getMessage()
    assert "RuntimeError: cannot reach /srv/secret/cache.db" in logged[-1].getMessage()
    # the sidebar still shows the dataset, and the page comes back once the fault is gone
    runs = load_runs(SAMPLE)
    assert md(runs.summary()) in [c.value for c in at.sidebar.caption]
    monkeypatch.undo()
    at.run()
    no_errors(at)
    assert not [x for x in at.main.expander if x.label == "details"]


def test_an_error_half_way_through_the_explore_page_keeps_what_was_drawn(monkeypatch):
    at = start(n="200")
    no_errors(at)
    monkeypatch.setattr("ui.analysis.parameter_rows", boom)  # after the fit and the main figure
    at.run()
    assert not at.exception
    assert [e.value for e in at.main.error if e.value.startswith(SHORT)]
    assert figure_with_trace(at, "Chinchilla")  # drawn before the failure, still there
    assert any(c.value.startswith("Fitted 1 family to ") for c in at.caption)  # the fit summary too
    assert "Traceback" not in all_text(at)


# ------------------------------------------------------------------------------------------------
# a bad upload keeps the previous dataset, exclusions and fit


def library_message(name: str, data: bytes) -> str:
    with pytest.raises(DataError) as info:
        load_runs(data, names=[name])
    return str(info.value)


def state_of(at) -> dict:
    """What the user sees of the analysis: dataset, exclusions, runs fitted, Chinchilla's parameters."""
    fig = figure_with_trace(at, "Chinchilla")
    return {
        "data": str(at.query_params["data"]),
        "exclude": url_list(at, "exclude"),
        "runs trace": trace(fig, "runs (")["name"],
        "excluded ids": sorted(c[0] for c in trace(fig, "excluded")["customdata"]),
        "status": next(c.value for c in at.caption if c.value.startswith("Fitted ")),
        "sidebar": [c.value for c in at.sidebar.caption],
        "params": param_table(at, ("E", "A", "B", "alpha", "beta"))[["value", "low", "high"]].values.tolist(),
    }


BAD_UPLOADS = {name: (BAD / name).read_bytes() for name in (
    "non_numeric.csv", "binary_junk.csv", "empty.csv", "duplicated_run_ids.csv", "loss_misspelled.csv",
    "decimal_comma_unquoted.csv", "huge_magnitudes.csv")}
# cells quoted back in the message must stay text, not become a link, an image or bold type
BAD_UPLOADS["**links** [x](y).csv"] = (b"run,N,loss\na,1e9,[click](https://example.com)\nb,2e9,**x**\n"
                                       b"c,3e9,![](https://example.com/t.png)\nd,4e9,:material/home: $x$\n")


@pytest.fixture(scope="module")
def sample_with_an_exclusion():
    runs = load_runs(SAMPLE)
    rid = str(runs.run_ids[3])
    boot = expected_boot(exclude=[rid], n_resamples=200)
    return runs, rid, boot


def check_unchanged(at, before, runs, rid, boot) -> None:
    after = state_of(at)
    assert after == before
    # ... and "before" is the sample with run `rid` excluded, fitted as the library fits it
    assert after["data"] == "sample:chinchilla_like.csv"
    assert after["exclude"] == [f"{rid}|diverged at step 2k"] and after["excluded ids"] == [rid]
    assert after["runs trace"] == f"runs ({len(runs) - 1})"
    assert f"to {len(runs) - 1} runs (1 excluded)" in after["status"]
    assert md(runs.summary()) in after["sidebar"]
    names = boot.family.param_names
    expected = [list(format_interval(boot.fit.params[n], *boot.confidence_interval[n])) for n in names]
    assert after["params"] == expected
    alpha = after["params"][names.index("alpha")][0]
    assert alpha == format_interval(boot.fit.params["alpha"], *boot.confidence_interval["alpha"])[0]


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_a_bad_upload_shows_the_librarys_message_and_keeps_dataset_exclusions_and_fit(name, sample_with_an_exclusion):
    runs, rid, boot = sample_with_an_exclusion
    at = start(n="200", exclude=[f"{rid}|diverged at step 2k"])
    no_errors(at)
    before = state_of(at)
    data = BAD_UPLOADS[name]
    at.file_uploader(key="ds_upload").set_value((name, data, "text/csv")).run()
    no_errors(at)
    expected = f"Could not load {name}: {library_message(name, data)}"
    assert [e.value for e in at.sidebar.error] == [md_message(expected)]
    assert rendered(at.sidebar.error[0].value) == expected.replace("`", "")  # what the user reads
    assert not at.main.error
    check_unchanged(at, before, runs, rid, boot)


def test_a_file_over_the_size_limit_is_refused_and_changes_nothing(sample_with_an_exclusion, monkeypatch):
    """Streamlit refuses uploads above server.maxUploadSize (50 MB) before the app sees them; the
    library refuses files above its own limit. The limit is lowered here so the test stays small."""
    runs, rid, boot = sample_with_an_exclusion
    at = start(n="200", exclude=[f"{rid}|diverged at step 2k"])
    before = state_of(at)
    limit = SAMPLE.stat().st_size + 1024  # the sample itself stays under it
    monkeypatch.setattr(data_module, "MAX_FILE_BYTES", limit)
    big = b"N,loss\n" + b"1e9,2.5\n" * (limit // 8 + 1)
    at.file_uploader(key="ds_upload").set_value(("export.csv", big, "text/csv")).run()
    no_errors(at)
    (message,) = [e.value for e in at.sidebar.error]
    assert message == md_message(f"Could not load export.csv: {library_message('export.csv', big)}")
    assert "files above" in message and "are refused" in message
    check_unchanged(at, before, runs, rid, boot)


def test_a_file_that_loads_but_cannot_be_fitted_says_why_on_the_page():
    """single_run.csv is a valid table of one run: it becomes the dataset, and each family says it
    needs more runs (the fit's FitError, shown on the page, not a traceback)."""
    data = (BAD / "single_run.csv").read_bytes()
    runs = load_runs(data, names=["single_run.csv"])
    at = start()
    at.file_uploader(key="ds_upload").set_value(("single_run.csv", data, "text/csv")).run()
    no_errors(at)
    assert str(at.query_params["data"]).startswith("upload:")
    shown = [e.value for e in at.main.error]
    assert shown, "no message on the page"
    for message in shown:
        family = next(f for f in ("offset_power_law", "power_law", "chinchilla", "logistic", "kaplan",
                                  "broken_power_law") if message.startswith(_label(f) + ": "))
        with pytest.raises(FitError) as info:
            fit(runs, family)
        assert message == f"{_label(family)}: {md_message(info.value)}"  # escaped: user values stay text
        plain = message.replace("\\", "")
        assert "found 1 usable run(s)" in plain and "single_run.csv" in plain
    assert "Traceback" not in all_text(at)


def _label(family: str) -> str:
    from scalecore import FAMILIES

    return FAMILIES[family].label

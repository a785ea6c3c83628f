"""The catalogue of bad input (issue 7): every case gives one exact message, or loads correctly.

Each file in tests/fixtures/bad/ is something an experiment tracker or a spreadsheet really exports.
A case either loads to known values (encodings, separators, decimal marks: the user should not have
to care), or raises a DataError / FitError whose message names the file, the column and the rows
and says what to do. The same cases go through the command line, which prints that message on one
line and exits with status 2. Big files are generated here, never committed.

Both loaders read through one pipeline (scalecore.io), so the catalogue runs against both: load_runs
(a table of runs) and load_curves (training curves, one row per logged point; its own cases, which
need run, step or tokens and metric columns, are in tests/fixtures/bad/curves/).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore.io import source as data_module
from scalecore import fit, load_curves, load_runs
from scalecore.cli import main
from scalecore.errors import DataError, FitError

BAD = Path(__file__).parent / "fixtures" / "bad"


def esc(text: str) -> str:
    return re.escape(text)


# ------------------------------------------------------------------------------------------------
# the catalogue: (file, error type, stage, the essentials of the message as regular expressions)
# stage "load": load_runs raises; "fit": load_runs works and fit(runs, "power_law") raises.

FAILING = [
    ("empty.csv", DataError, "load",
     [esc("`empty.csv` is empty; it needs a header row and one row per run")]),
    ("blank_lines.csv", DataError, "load",
     [esc("`blank_lines.csv` is empty; it needs a header row and one row per run")]),
    ("header_only.csv", DataError, "load",
     [esc("`header_only.csv` has a header but no data rows; add one row per run below the header")]),
    ("binary_junk.csv", DataError, "load",
     [esc("`binary_junk.csv` is not a text CSV file (it contains binary data)"),
      esc("Export the table as CSV (comma-separated text) and load that file.")]),
    ("workbook.csv", DataError, "load",
     [esc("`workbook.csv` is not a text CSV file"), esc("it looks like a ZIP archive or an Excel workbook (.xlsx)"),
      esc("Export the table as CSV")]),
    ("compressed.csv", DataError, "load",
     [esc("`compressed.csv` is not a text CSV file"), esc("gzip-compressed file; unpack it first")]),
    ("saved_page.csv", DataError, "load",
     [esc("`saved_page.csv` is an HTML or XML page, not a CSV file"), esc("Export the table as CSV and load that file.")]),
    ("api_response.csv", DataError, "load",
     [esc("`api_response.csv` is JSON, not a CSV file"), esc("pandas.read_json(...).to_csv(...)")]),
    ("decimal_comma_quoted.csv", DataError, "load",
     [esc("`decimal_comma_quoted.csv`, column `loss`, rows 2, 3 and 4: '3,5', '3,1', '2,8' are not numbers."),
      esc("write 2.5 instead of 2,5, or save the file with semicolons (;) between the cells")]),
    ("decimal_comma_unquoted.csv", DataError, "load",
     [esc("`decimal_comma_unquoted.csv`, line 2: 4 fields where the header has 3."),
      esc("Quote cells that contain the separator (comma), e.g. a number written 2,5")]),
    ("loss_misspelled.csv", DataError, "load",
     [esc("`loss_misspelled.csv`: no metric column found"), esc("Columns are `run`, `N`, `val_los`."),
      esc("Did you mean `val_los`?"), esc("mapping={'metric': '<column>'} or pick it in the column-mapping panel")]),
    ("params_misspelled.csv", DataError, "load",
     [esc("`params_misspelled.csv`: no column for model size (params), training tokens (tokens) or compute"),
      esc("Did you mean `parms`?"), esc("Rename the column (e.g. to `params`, `tokens` or `compute`)")]),
    ("unnamed_column.csv", DataError, "load",
     [esc("`unnamed_column.csv`: no column for model size"), esc("Columns are (column 1 has no name), `loss`.")]),
    ("duplicated_columns.csv", DataError, "load",
     [esc("`duplicated_columns.csv`: the header has column `loss` 2 times (columns 3 and 4); "
          "give each column a unique name.")]),
    ("non_numeric.csv", DataError, "load",
     [esc("`non_numeric.csv`, column `loss`, rows 3 and 5: 'diverged', 'NaN?' are not numbers. "
          "Use plain numbers such as 7e9 or suffixed ones such as 7B.")]),
    ("percent.csv", DataError, "load",
     [esc("`percent.csv`, column `accuracy`, rows 2, 3 and 4: '35%', '48%', '61%' are not numbers."),
      esc("write 55% as 0.55")]),
    ("inf_loss.csv", DataError, "load",
     [esc("`inf_loss.csv`, column `loss`, row 3: inf — a metric must be a finite number. "
          "Leave the cell empty if the value is missing.")]),
    ("empty_metric.csv", DataError, "load",
     [esc("`empty_metric.csv`, column `loss`: the metric column is empty. "
          "Fill in the values or choose another metric column.")]),
    ("nonpositive_params.csv", DataError, "load",
     [esc("`nonpositive_params.csv`, column `N` (params), rows 2 and 3: 0, -5e+08 — params must be positive "
          "and finite because a log is taken. Fix these values or remove these runs.")]),
    ("tiny_magnitudes.csv", DataError, "load",
     [esc("`tiny_magnitudes.csv`, column `N` (params), rows 2 and 3: 1e-300, 2e-300 — outside 1e-12 to 1e+40"),
      esc("probably a typo in the exponent or the unit. Fix these values or remove these runs.")]),
    ("huge_magnitudes.csv", DataError, "load",
     [esc("2 problems in the input:"),
      esc("`huge_magnitudes.csv`, column `N` (params), row 2: 1e+300 — outside 1e-12 to 1e+40"),
      esc("`huge_magnitudes.csv`, column `D` (tokens), row 2: 1e+300 — outside 1e-12 to 1e+40")]),
    ("huge_loss.csv", DataError, "load",
     [esc("`huge_loss.csv`, column `loss`, row 3: 1e+300 — a metric's magnitude must be between 1e-30 and 1e+30"),
      esc("Fix these values, or leave the cells empty")]),
    ("duplicated_run_ids.csv", DataError, "load",
     [esc("`duplicated_run_ids.csv`, column `run` (run_id): run ids must be unique; 'a' is in rows 2 and 4. "
          "Rename the duplicates or remove the extra runs.")]),
    ("unclosed_quote.csv", DataError, "load",
     [esc("`unclosed_quote.csv`, line 3: a quoted cell starts here and its closing quote (\") is never found. "
          "Close the quote, or remove the stray quote character.")]),
    ("zero_loss.csv", DataError, "fit",
     [esc("`zero_loss.csv`, column `loss`, row 3: values must be positive because the power_law family fits "
          "log(loss). Exclude those runs, or use the logistic family for a metric that can be zero.")]),
    ("negative_loss.csv", DataError, "fit",
     [esc("`negative_loss.csv`, column `loss`, row 4: values must be positive")]),
    ("single_run.csv", FitError, "fit",
     [esc("found 1 usable run(s); the power_law family has 2 parameters and needs at least 3. "
          "Include more runs or choose a family with fewer parameters. Runs read from `single_run.csv`.")]),
    ("same_size.csv", FitError, "fit",
     [esc("the 4 runs have 1 distinct value(s) of `params`; the power_law family needs at least 2"),
      esc("Add runs of other sizes, include excluded runs, or fit against another input. "
          "Runs read from `same_size.csv`.")]),
    ("constant_loss.csv", FitError, "fit",
     [esc("`constant_loss.csv`: all 5 runs have the same `loss` (2.5), so there is no trend to fit. "
          "Check that `loss` is the right metric column")]),
]


# The same files through load_curves: what a file is (empty, binary, HTML, JSON, broken quoting) is said
# the same way, with "one row per logged point" where a table of runs has "one row per run".
FILE_LEVEL = ["empty.csv", "blank_lines.csv", "header_only.csv", "binary_junk.csv", "workbook.csv",
              "compressed.csv", "saved_page.csv", "api_response.csv", "decimal_comma_unquoted.csv",
              "unclosed_quote.csv"]
CURVES_FAILING = [
    (name, error, stage, [p.replace(esc("one row per run"), esc("one row per logged point")) for p in patterns])
    for name, error, stage, patterns in FAILING if name in FILE_LEVEL
] + [
    ("curves/duplicated_columns.csv", DataError, "load",
     [esc("`duplicated_columns.csv`: the header has column `loss` 2 times (columns 4 and 5); "
          "give each column a unique name.")]),
    ("curves/non_numeric.csv", DataError, "load",
     [esc("`non_numeric.csv`, column `loss`, row 3: 'diverged' not numbers. Use plain numbers such as 1e9 or 7B.")]),
    ("curves/inf_loss.csv", DataError, "load",
     [esc("`inf_loss.csv`, column `loss`, row 3: inf — a metric must be a finite number. "
          "Leave the cell empty if the value is missing.")]),
    ("curves/nonpositive_loss.csv", DataError, "load",
     [esc("`nonpositive_loss.csv`, column `loss`, rows 3 and 5: values must be positive (the envelope is taken in "
          "log loss). Remove these points.")]),
    ("curves/huge_tokens.csv", DataError, "load",
     [esc("`huge_tokens.csv`, column `tokens`, row 3: 1e+300 — outside 1e-12 to 1e+40, the range a tokens value "
          "can have in any unit"), esc("Fix these values or remove these runs.")]),
    ("curves/huge_params.csv", DataError, "load",
     [esc("`huge_params.csv`, column `N` (params), rows 2 and 3: 1e+300 — outside 1e-12 to 1e+40")]),
    ("curves/negative_step.csv", DataError, "load",  # step 0 is read (left out with a note): test_curves
     [esc("`negative_step.csv`, column `step`, rows 2 and 4: steps must be positive numbers (negative or missing "
          "values cannot be placed on a curve against compute). Remove these points.")]),
    ("curves/no_run_id.csv", DataError, "load",
     [esc("`no_run_id.csv`: no run id column (looked for run_id, run, name, ...)"),
      esc("map it with mapping={'run_id': '<column>'}.")]),
    ("curves/loss_misspelled.csv", DataError, "load",
     [esc("`loss_misspelled.csv`: no metric column (looked for loss, val_loss, eval_loss, train_loss, train/loss, "
          "...). Map it with mapping={'metric': '<column>'}.")]),
    ("curves/no_step.csv", DataError, "load",
     [esc("`no_step.csv`: no step or tokens column (looked for step, global_step, _step, tokens, tokens_seen, ...)")]),
    ("curves/params_vary.csv", DataError, "load",
     [esc("`params_vary.csv`, column `N`: run 'm0' has model size 1e+08 and 2e+08 (row 3); a run has one model "
          "size. Fix the value or give the runs different ids.")]),
    ("curves/empty_run_id.csv", DataError, "load",
     [esc("`empty_run_id.csv`, column `run` (run_id), row 3: empty. Every point needs its run.")]),
]
CATALOGUE = [("runs", *case) for case in FAILING] + [("curves", *case) for case in CURVES_FAILING]


def load_with(loader: str, source, **kw):
    """The loader under test: a table of runs, or curves (1,000 tokens per step where only steps are logged)."""
    if loader == "runs":
        return load_runs(source, **kw)
    return load_curves(source, tokens_per_step=1000, **kw)


@pytest.mark.parametrize(("loader", "name", "error", "stage", "patterns"), CATALOGUE,
                         ids=[f"{c[0]}-{c[1]}" for c in CATALOGUE])
def test_bad_file_gives_its_message(loader, name, error, stage, patterns):
    path = BAD / name
    if stage == "load":
        with pytest.raises(error, match=patterns[0]) as info:
            load_with(loader, path)
    else:
        runs = load_runs(path)
        with pytest.raises(error, match=patterns[0]) as info:
            fit(runs, "power_law")
    message = str(info.value)
    for pattern in patterns[1:]:
        assert re.search(pattern, message), (pattern, message)
    assert Path(name).name in message  # every message names the file
    assert "Traceback" not in message and "Error tokenizing" not in message


@pytest.mark.parametrize(("name", "error", "stage", "patterns"), FAILING, ids=[c[0] for c in FAILING])
def test_cli_prints_the_same_message_on_one_line_and_exits_2(name, error, stage, patterns, capsys):
    assert main(["fit", str(BAD / name), "--family", "power_law"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert re.search(patterns[0], captured.err) and name in captured.err, captured.err


# ------------------------------------------------------------------------------------------------
# cases that must simply load (the user should not have to care), with their values

GOOD_TABLE = {"run_id": [f"r{i}" for i in range(8)],
              "params": [1e8, 1e8, 3e8, 3e8, 1e9, 1e9, 3e9, 3e9],
              "tokens": [2e9, 2e10] * 4}


@pytest.mark.parametrize("name", ["utf8_bom.csv", "utf16_bom.csv", "utf16le_no_bom.csv", "latin1.csv",
                                  "mac_line_ends.csv", "pipe_separated.csv"])
def test_encodings_line_ends_and_separators_load_the_same_table(name):
    runs = load_runs(BAD / name)
    assert runs.roles["run_id"] == "run"  # a BOM in front of the first name is invisible
    ids = runs.run_ids.tolist()
    assert ids[1:] == GOOD_TABLE["run_id"][1:]
    assert ids[0] == {"utf16_bom.csv": "r\u00e9sum\u00e9", "latin1.csv": "caf\u00e9"}.get(name, "r0")
    np.testing.assert_array_equal(runs.values("params"), GOOD_TABLE["params"])
    np.testing.assert_array_equal(runs.values("tokens"), GOOD_TABLE["tokens"])
    expected_loss = [round(1.7 + 400 / n ** 0.34 + 410 / d ** 0.28, 4) for n, d in zip(GOOD_TABLE["params"], GOOD_TABLE["tokens"])]
    np.testing.assert_allclose(runs.values("loss"), expected_loss, rtol=0, atol=1e-12)


def test_guessed_encodings_are_said_in_a_note():
    assert load_runs(BAD / "utf8_bom.csv").notes == ()
    assert load_runs(BAD / "utf16_bom.csv").notes == ()
    assert load_runs(BAD / "latin1.csv").notes == (
        "`latin1.csv` is not UTF-8; it was read as Windows-1252 (cp1252). Check that names with accents look "
        "right, or save the file as UTF-8.",)
    assert load_runs(BAD / "utf16le_no_bom.csv").notes == (
        "`utf16le_no_bom.csv` is UTF-16 text without a byte-order mark; it was read as UTF-16-LE. Check that "
        "names with accents look right.",)


def test_semicolons_with_decimal_commas_load():
    runs = load_runs(BAD / "semicolon_decimal_comma.csv")
    np.testing.assert_array_equal(runs.values("params"), [1.5e8, 3e9, 7e9])
    np.testing.assert_array_equal(runs.values("tokens"), [3e10, 6e10, 1.2e11])
    np.testing.assert_array_equal(runs.values("Val Loss"), [2.75, 2.5, 2.31])
    assert runs.metrics == ("Val Loss",) and runs.roles["run_id"] == "Run"


def test_dot_grouped_thousands_in_a_decimal_comma_file_load():
    runs = load_runs(BAD / "semicolon_dot_thousands.csv")
    np.testing.assert_array_equal(runs.values("params"), [1e6, 2e7, 3e8])
    np.testing.assert_array_equal(runs.values("loss"), [3.5, 3.1, 2.8])
    # the same numbers quoted with comma grouping in a comma-separated file
    quoted = load_runs(BAD / "quoted_thousands.csv")
    np.testing.assert_array_equal(quoted.values("params"), runs.values("params"))


def test_names_with_spaces_around_them_are_trimmed():
    runs = load_runs(BAD / "loss_with_spaces.csv")
    assert runs.metrics == ("Loss",) and runs.roles["params"] == "N"
    np.testing.assert_array_equal(runs.values("Loss"), [3.1, 2.7, 2.4])


def test_units_in_a_header_are_applied_and_said():
    # issue 21: "params (B)" means billions; until then the values were used as written (0.1 to 70)
    runs = load_runs(BAD / "params_in_billions.csv")
    np.testing.assert_array_equal(runs.values("params"), [0.1e9, 1e9, 7e9, 70e9])
    assert runs.notes == (
        "`params_in_billions.csv`, column `params (B)` (params): the header says the values are in billions; they "
        "were multiplied by 1e9 (0.1 to 70 in the file, 1e8 to 7e10 used). If the header is wrong, rename the "
        "column or write the values as plain counts such as 7e9.",)


def test_small_sizes_without_units_are_said_too():
    runs = load_runs(b"run,N,loss\na,7,2.5\nb,13,2.4\nc,70,2.3\n", names=["sizes.csv"])
    assert runs.notes == ("`sizes.csv`, column `N` (params): the values (7 to 70) are small for model size "
                          "counted one by one; if they are in millions or billions, fitted constants and a "
                          "derived size (C = k·N·D) are in those units too. Write them as 7B or 7e9 to use "
                          "plain counts.",)


def test_missing_metric_values_are_left_out_with_a_warning():
    runs = load_runs(BAD / "nan_loss.csv")
    result = fit(runs, "power_law")
    assert result.n_points == 4
    assert "1 run(s) have no `loss` value and were left out: b" in result.warnings


def test_cli_prints_notes_after_the_result(capsys):
    assert main(["fit", str(BAD / "params_in_billions.csv"), "--family", "power_law", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.out.lstrip().startswith("{")
    assert captured.err.startswith("note: `params_in_billions.csv`, column `params (B)` (params): the header says")


# the same for training curves: every encoding, line end and separator load_runs reads, load_curves
# reads too (before issue 20 it refused pipes and UTF-16 without BOM, and read Latin-1 without a word)

CURVE_POINTS = [("caf\u00e9", "1e8", "1e9", "3.5"), ("caf\u00e9", "1e8", "2e9", "3.25"),
                ("m1", "1e9", "1e9", "3.125"), ("m1", "1e9", "2e9", "2.75")]


def curves_text(sep: str = ",", newline: str = "\n", decimal: str = ".") -> str:
    rows = [sep.join(["run", "N", "tokens", "loss"])]
    rows += [sep.join([r, n, t, loss.replace(".", decimal)]) for r, n, t, loss in CURVE_POINTS]
    return newline.join(rows) + newline


CURVE_VARIANTS = {
    "utf8_bom": curves_text().encode("utf-8-sig"),
    "utf16_bom": curves_text().encode("utf-16"),
    "utf16le_no_bom": curves_text().encode("utf-16-le"),
    "utf16be_no_bom": curves_text().encode("utf-16-be"),
    "latin1": curves_text().encode("latin-1"),
    "crlf": curves_text(newline="\r\n").encode(),
    "mac_line_ends": curves_text(newline="\r").encode(),
    "pipe_separated": curves_text(sep="|").encode(),
    "tab_separated": curves_text(sep="\t").encode(),
    "semicolon_decimal_comma": curves_text(sep=";", decimal=",").encode(),
}


@pytest.mark.parametrize("variant", list(CURVE_VARIANTS))
def test_curves_in_every_encoding_and_separator_load_the_same_points(variant):
    curves = load_curves(CURVE_VARIANTS[variant], name=f"{variant}.csv")
    assert curves.columns["run_id"] == "run" and curves.metric == "loss"
    assert curves.run_ids.tolist() == ["caf\u00e9", "m1"]
    assert curves.runs["params"].tolist() == [1e8, 1e9]
    np.testing.assert_array_equal(curves.tokens, [1e9, 2e9, 1e9, 2e9])
    np.testing.assert_array_equal(curves.loss, [3.5, 3.25, 3.125, 2.75])
    np.testing.assert_array_equal(curves.compute, [6e17, 1.2e18, 6e18, 1.2e19])  # 6 N tokens, exact here


def test_guessed_encodings_of_curves_are_said_in_a_note():
    assert load_curves(CURVE_VARIANTS["utf8_bom"], name="a.csv").notes == ()
    assert load_curves(CURVE_VARIANTS["utf16_bom"], name="a.csv").notes == ()
    assert load_curves(CURVE_VARIANTS["latin1"], name="latin1.csv").notes == (
        "`latin1.csv` is not UTF-8; it was read as Windows-1252 (cp1252). Check that names with accents look "
        "right, or save the file as UTF-8.",)
    assert load_curves(CURVE_VARIANTS["utf16le_no_bom"], name="u16.csv").notes == (
        "`u16.csv` is UTF-16 text without a byte-order mark; it was read as UTF-16-LE. Check that "
        "names with accents look right.",)


# ------------------------------------------------------------------------------------------------
# generated cases: wide, big, over the limit


def test_too_many_columns_are_refused_before_parsing():
    header = ",".join(f"c{i}" for i in range(6000)) + "\n"
    with pytest.raises(DataError, match=esc("`wide.csv` has 6,000 columns; at most 5,000 are read. Keep the "
                                            "columns you need")):
        load_runs((header + "1\n").encode(), names=["wide.csv"])


def test_a_long_header_is_read_whole():
    names = [f"metric_{i:05d}" for i in range(3000)]
    text = "N,loss," + ",".join(names) + "\n1e9,2.5," + ",".join("1" for _ in names) + "\n"
    runs = load_runs(text.encode(), names=["long.csv"])
    assert runs.frame.columns[-1] == names[-1]  # not cut at 64 KB: no false "repeated column" either


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:  # sparse: no disk space, no time
        f.truncate(data_module.MAX_FILE_BYTES + 1)
    with pytest.raises(DataError, match=esc("`huge.csv` is 200.0 MB; files above 200.0 MB are refused")
                       + ".*" + esc("keep one row per run")):
        load_runs(path)
    assert main(["fit", str(path), "--family", "power_law"]) == 2


def test_uploaded_bytes_over_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_FILE_BYTES", 1024)
    with pytest.raises(DataError, match=esc("`big.csv` is 2.0 KB; files above 1.0 KB are refused")):
        load_runs(b"N,loss\n" + b"1e9,2.5\n" * 256, names=["big.csv"])


def test_a_curves_file_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge_curves.csv"
    with path.open("wb") as f:  # sparse: no disk space, no time
        f.truncate(data_module.MAX_FILE_BYTES + 1)
    with pytest.raises(DataError, match=esc("`huge_curves.csv` is 200.0 MB; files above 200.0 MB are refused "
                                            "(training curves logged every few steps are a few megabytes). Keep "
                                            "fewer points per run, e.g. every 10th logged step, and load that file.")):
        load_curves(path)


def test_uploaded_curves_over_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_FILE_BYTES", 1024)
    body = b"run,N,tokens,loss\n" + b"m0,1e9,1e9,2.5\n" * 136  # 2,058 bytes
    with pytest.raises(DataError, match=esc("`big_curves.csv` is 2.0 KB; files above 1.0 KB are refused")):
        load_curves(body, name="big_curves.csv")
    with pytest.raises(DataError, match=esc("`big_curves.csv` is 2.0 KB; files above 1.0 KB are refused")):
        load_curves(io.BytesIO(body), name="big_curves.csv")


def curve_export(n_runs: int, n_steps: int, with_ids: bool) -> pd.DataFrame:
    """A tracker's loss-curve export: one row per (run, step)."""
    rng = np.random.default_rng(0)
    run = np.repeat(np.arange(n_runs), n_steps)
    step = np.tile(np.arange(1, n_steps + 1) * 100, n_runs)
    frame = pd.DataFrame({"step": step, "params": np.repeat(np.round(np.geomspace(1e7, 1e10, n_runs)), n_steps),
                          "tokens": step * 4096.0, "loss": np.round(rng.uniform(2, 4, run.size), 5)})
    if with_ids:
        frame.insert(0, "run_id", [f"run{i}" for i in run])
    return frame


@pytest.mark.slow
def test_a_million_row_loss_curve_export_is_refused_clearly(tmp_path, capsys):
    import time

    path = tmp_path / "curves.csv"
    curve_export(1000, 1000, with_ids=True).to_csv(path, index=False)
    start = time.perf_counter()
    with pytest.raises(DataError) as info:
        load_runs(path)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[test_hostile] 1,000,000-row loss-curve export ({path.stat().st_size / 1e6:.0f} MB) refused in "
              f"{seconds:.2f} s")
    assert str(info.value) == (
        "`curves.csv`, column `run_id` (run_id): 1,000 run ids repeat, up to 1,000 times each (column `step`), "
        "in 1,000,000 of 1,000,000 rows: this looks like a loss-curve export, one row per training step. Fits "
        "take one row per run: keep the last row of each run (e.g. in pandas "
        "df.sort_values('step').groupby('run_id').tail(1)) and load that file.")


def test_a_curve_export_without_ids_loads_with_a_note_and_too_many_rows_do_not_fit():
    frame = curve_export(25, 1000, with_ids=False)
    runs = load_runs(frame.to_csv(index=False).encode(), names=["curves.csv"])
    assert len(runs) == 25_000
    assert runs.notes == ("`curves.csv`: up to 1,000 rows have the same `params` and a different `step`; if each "
                          "row is a training step of a loss curve rather than a finished run, keep one row per run "
                          "(e.g. the final step) before fitting.",)
    with pytest.raises(FitError, match=esc("`curves.csv`: 25,000 runs to fit; a fit takes at most 20,000.")
                       + ".*" + esc("keep the last row of each run")):
        fit(runs, "chinchilla")


def test_a_bootstrap_too_big_for_memory_is_refused_with_the_largest_allowed():
    from scalecore import bootstrap

    n = 5000
    rng = np.random.default_rng(1)
    params = np.geomspace(1e7, 1e10, n)
    loss = 2 + 30 * params ** -0.2 * np.exp(rng.normal(0, 0.01, n))
    runs = load_runs(pd.DataFrame({"N": params, "loss": loss}).to_csv(index=False).encode(), names=["many.csv"])
    with pytest.raises(FitError, match=esc("1000 resamples of 5,000 runs are too many to bootstrap at once (at most "
                                           "2,000,000 resampled runs); use at most 400 resamples, or fewer runs.")):
        bootstrap(runs, "power_law", n_resamples=1000)

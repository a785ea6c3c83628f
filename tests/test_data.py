"""Tests of scalecore.data: numbers, column roles, derivation, files, validation messages, Runs."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore.data import (
    METRIC_ALIASES,
    ROLE_ALIASES,
    ROLES,
    Runs,
    detect_roles,
    load_runs,
    parse_number,
)
from scalecore.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
ROOT = Path(__file__).resolve().parents[1]


def load(text: str | bytes, name: str = "runs.csv", **kw) -> Runs:
    """Load CSV text given inline, under a display name."""
    data = text.encode() if isinstance(text, str) else text
    return load_runs(data, names=[name], **kw)


def error_of(text: str | bytes, name: str = "runs.csv", **kw) -> str:
    with pytest.raises(DataError) as info:
        load(text, name, **kw)
    return str(info.value)


class Upload:
    """Stands in for a Streamlit UploadedFile: a name and getvalue()."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


# ------------------------------------------------------------------------------------------------
# parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7B", 7e9), ("7b", 7e9), ("1.4T", 1.4e12), ("350M", 3.5e8), ("350m", 3.5e8), ("125k", 1.25e5),
        ("125K", 1.25e5), ("1.5G", 1.5e9), ("2P", 2e15), ("6e20", 6e20), ("1,000,000", 1e6),
        ("1,234.5", 1234.5), (" 3.5 ", 3.5), ("2.5e+3", 2500.0), ("-3", -3.0), (".5", 0.5),
        ("7 B", 7e9), ("1e3k", 1e6), ("\u22122", -2.0), ("inf", math.inf), ("-Infinity", -math.inf),
        (7, 7.0), (2.5, 2.5), (np.int64(3), 3.0), (np.float32(0.5), 0.5),
    ],
)
def test_parse_number_values(text, expected):
    value = parse_number(text)
    assert isinstance(value, float)
    assert value == expected


def test_parse_number_suffix_is_exact_not_rounded_twice():
    # 1.4 * 1e12 and float("1.4e12") can differ in the last bit; the parser builds the literal.
    assert parse_number("1.4T") == float("1.4e12")
    assert parse_number("0.3B") == float("0.3e9")


@pytest.mark.parametrize("text", ["", "   ", "nan", "NaN", "NA", "n/a", "null", "None", None, float("nan")])
def test_parse_number_missing_is_nan(text):
    assert math.isnan(parse_number(text))


@pytest.mark.parametrize("text", ["abc", "--", "7X", "1,00", "1.2.3", "B", "7BB", "1e", "12,34", True, b"7"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


# ------------------------------------------------------------------------------------------------
# detect_roles


@pytest.mark.parametrize(("role", "alias"), [(r, a) for r in ROLES for a in ROLE_ALIASES[r]])
def test_detect_every_role_alias(role, alias):
    found = detect_roles(["zzz", alias, "loss"])
    assert found[role] == alias
    assert found["metrics"] == ("loss",)
    assert [r for r in ROLES if found[r] is not None] == [role]


FUZZY_METRICS = ("val/loss", "my_loss", "top1_acc", "TopAccuracy", "Eval Loss")


@pytest.mark.parametrize("alias", METRIC_ALIASES + FUZZY_METRICS)
def test_detect_every_metric_name(alias):
    assert detect_roles(["N", alias])["metrics"] == (alias,)


@pytest.mark.parametrize(
    ("column", "role"),
    [("Model Size (params)", "params"), ("num-params", "params"), ("N Params", "params"),
     ("Training FLOP", "compute"), ("training FLOPs", "compute"), ("TOKENS", "tokens"),
     ("Tokens [B]", "tokens"), ("Run ID", "run_id"), ("Architecture", "group")],
)
def test_detect_normalised_names(column, role):
    assert detect_roles([column, "loss"])[role] == column


def test_detect_prefers_exact_names_and_never_gives_two_roles():
    found = detect_roles(["Params (B)", "params", "size", "train_loss", "accuracy", "my_loss", "loss"])
    assert found["params"] == "params"  # exact beats "Params (B)" (units stripped) and the later alias "size"
    # metric aliases in their order, then the patterns
    assert found["metrics"] == ("loss", "train_loss", "accuracy", "my_loss")
    assert detect_roles(["N", "n_params", "loss"])["params"] == "N"  # earlier alias wins
    assert detect_roles(["foo", "bar"]) == {"run_id": None, "group": None, "params": None, "tokens": None,
                                          "compute": None, "metrics": ()}


# ------------------------------------------------------------------------------------------------
# loading, roles and derivation


def test_load_fixture_with_suffixes_derives_compute():
    runs = load_runs(FIXTURES / "chinchilla_small.csv")
    n, d = np.array([70e6, 160e6, 410e6, 1e9]), np.array([1.4e9, 3.2e9, 8.2e9, 20e9])
    assert list(runs.frame.columns[:6]) == ["run_id", "group", "params", "tokens", "compute", "loss"]
    np.testing.assert_array_equal(runs.values("params"), n)
    np.testing.assert_array_equal(runs.values("tokens"), d)
    np.testing.assert_array_equal(runs.values("compute"), 6.0 * n * d)
    assert runs.values("compute")[3] == 1.2e20
    assert runs.derived == {"compute", "group"}
    assert runs.roles == {"run_id": "run", "group": None, "params": "N", "tokens": "D", "compute": None}
    assert runs.run_ids.tolist() == ["a", "b", "c", "d"] and runs.run_ids.dtype == object
    assert runs.groups() == ["all"] and runs.sources == ("chinchilla_small.csv",)
    assert runs.source_rows == (2, 3, 4, 5)
    assert runs.frame["compute"].dtype == np.float64
    assert len(runs) == 4 and runs.default_metric == "loss" and runs.metrics == ("loss",)


def test_custom_flops_factor():
    runs = load("N,D,loss\n1e9,2e10,2.5\n3e9,5e10,2.2\n", flops_per_token_param=8)
    np.testing.assert_array_equal(runs.values("compute"), 8.0 * np.array([1e9, 3e9]) * np.array([2e10, 5e10]))
    assert runs.flops_per_token_param == 8.0
    with pytest.raises(DataError, match=r"`flops_per_token_param` must be a positive number; got -1"):
        load("N,D,loss\n1,2,3\n", flops_per_token_param=-1)


def test_derive_tokens_or_params_from_compute():
    runs = load("N,C,loss\n1e9,1.2e20,2.5\n")
    assert runs.values("tokens")[0] == 1.2e20 / (6 * 1e9) and runs.derived >= {"tokens"}
    runs = load("D,compute,loss\n2e10,1.2e20,2.5\n")
    assert runs.values("params")[0] == 1.2e20 / (6 * 2e10) and runs.derived >= {"params"}


def test_all_three_sizes_are_kept_as_read():
    runs = load("N,D,C,loss\n1e9,2e10,5,2.5\n")  # inconsistent with 6ND on purpose
    assert runs.values("compute")[0] == 5.0
    assert not runs.derived & {"params", "tokens", "compute"}


def test_one_size_leaves_the_others_missing():
    runs = load("params,loss\n1e9,2.5\n2e9,2.3\n")
    assert runs.has("params") and not runs.has("tokens") and not runs.has("compute")
    assert np.isnan(runs.values("tokens")).all() and runs.derived == {"run_id", "group"}
    assert runs.run_ids.tolist() == ["r1", "r2"]


def test_an_empty_size_column_counts_as_absent_and_is_derived():
    runs = load("N,D,C,loss\n1e9,2e10,,2.5\n2e9,2e10,,2.4\n")
    np.testing.assert_array_equal(runs.values("compute"), 6.0 * np.array([1e9, 2e9]) * 2e10)
    assert "compute" in runs.derived and runs.roles["compute"] is None


def test_mapping_overrides_detection():
    text = "a,b,c,z\nx1,1e9,2.5,7\nx2,2e9,2.4,8\n"
    runs = load(text, mapping={"run_id": "a", "params": "b", "metric": "c"})
    assert runs.run_ids.tolist() == ["x1", "x2"] and runs.metrics == ("c",)
    np.testing.assert_array_equal(runs.values("params"), [1e9, 2e9])
    np.testing.assert_array_equal(runs.values("c"), [2.5, 2.4])
    assert runs.frame["z"].tolist() == [7, 8]  # other columns kept as read
    assert runs.roles["params"] == "b" and runs.roles["run_id"] == "a"


def test_mapping_a_role_to_none_switches_detection_off():
    runs = load("N,D,C,loss\n1e9,2e10,5,2.5\n", mapping={"compute": None})
    assert runs.values("compute")[0] == 6.0 * 1e9 * 2e10 and "compute" in runs.derived
    assert runs.frame["C"].tolist() == [5]  # the unmapped column stays as a plain column
    runs = load("N,D,C,loss\n1e9,2e10,5,2.5\n", mapping={"compute": ""})
    assert "compute" in runs.derived


def test_mapping_matches_names_loosely_and_reports_unknown_names():
    runs = load("Params,loss\n1e9,2.5\n", mapping={"params": "params"})
    assert runs.roles["params"] == "Params"
    message = error_of("N,D,loss\n1e9,2e10,2.5\n", mapping={"params": "N_params", "tokens": "D"})
    assert "`runs.csv`: `params` is mapped to `N_params`, but there is no column `N_params`" in message
    assert "Columns are `N`, `D`, `loss`" in message
    with pytest.raises(DataError, match=r"unknown mapping key\(s\) `metrics`; valid keys are `run_id`"):
        load("N,loss\n1,2\n", mapping={"metrics": "loss"})
    with pytest.raises(DataError, match=r"column `N` is given two roles, `params` and `tokens`"):
        load("N,loss\n1,2\n", mapping={"params": "N", "tokens": "N"})
    with pytest.raises(DataError, match=r"`runs.csv`: `metric` is mapped to `los`.* Did you mean `loss`\?"):
        load("N,loss\n1,2\n", metrics=["los"])
    with pytest.raises(DataError, match=r"column `compute` cannot be a metric"):
        load("N,D,compute\n1,2,3\n", mapping={"metric": "compute"})


def test_metrics_argument_orders_metrics():
    runs = load("N,loss,val_loss,acc\n1e9,2.5,2.6,0.5\n", metrics=["val_loss", "acc"])
    assert runs.metrics == ("val_loss", "acc") and runs.default_metric == "val_loss"
    assert runs.frame["loss"].tolist() == [2.5]  # kept as a plain column
    runs = load("N,loss,val_loss\n1e9,2.5,2.6\n")
    assert runs.metrics == ("loss", "val_loss")


def test_missing_and_nonpositive_metric_values_are_allowed():
    runs = load("N,loss,score\n1e9,,-1\n2e9,NA,0\n3e9,2.5,1\n")
    np.testing.assert_array_equal(runs.values("loss"), [np.nan, np.nan, 2.5])
    np.testing.assert_array_equal(runs.values("score"), [-1, 0, 1])


def test_text_only_metric_candidate_is_not_a_metric():
    runs = load("N,loss,error\n1e9,2.5,OOM\n2e9,2.4,\n")
    assert runs.metrics == ("loss",) and runs.frame["error"].tolist()[0] == "OOM"


def test_run_ids_stay_text_and_are_stripped():
    runs = load("run_id,N,loss\n007, 1e9,2.5\n 8 ,2e9,2.4\n")
    assert runs.run_ids.tolist() == ["007", "8"]
    assert all(isinstance(r, str) for r in runs.run_ids)


def test_bom_is_stripped():
    runs = load(b"\xef\xbb\xbfN,loss\n1e9,2.5\n")
    assert runs.roles["params"] == "N"


def test_semicolon_with_decimal_commas_and_bom_fixture():
    runs = load_runs(FIXTURES / "euro_semicolon.csv")
    np.testing.assert_array_equal(runs.values("params"), [1.5e8, 3e9])
    np.testing.assert_array_equal(runs.values("tokens"), [3e10, 6e10])
    np.testing.assert_array_equal(runs.values("Val Loss"), [2.75, 2.5])
    assert runs.roles == {"run_id": None, "group": None, "params": "Model Size (params)",
                          "tokens": "Training Tokens", "compute": None}


def test_semicolon_file_with_mixed_decimal_marks():
    runs = load("N;loss\n7B;3,25\n1e9;3.5\n")
    np.testing.assert_array_equal(runs.values("loss"), [3.25, 3.5])


def test_tab_separated():
    runs = load("N\tD\tloss\n1e9\t2e10\t2.5\n")
    assert runs.values("tokens")[0] == 2e10


def test_other_encodings():
    runs = load("N,loss,note\n1e9,2.5,café\n".encode("cp1252"))
    assert runs.frame["note"].tolist() == ["café"]
    runs = load("N,loss,note\n1e9,2.5,naïve\n".encode("utf-16"))
    assert runs.frame["note"].tolist() == ["naïve"] and runs.values("loss")[0] == 2.5


def test_quoted_thousands_and_blank_lines():
    runs = load('N,loss\n"1,000,000",2.5\n\n7B,2.4\n,\n')
    np.testing.assert_array_equal(runs.values("params"), [1e6, 7e9])
    assert runs.source_rows == (2, 4)  # the blank line is row 3 in a spreadsheet


def test_sources_of_every_kind():
    text = b"N,loss\n1e9,2.5\n"
    assert load_runs(io.BytesIO(text)).sources == ("upload-1.csv",)
    assert load_runs(io.StringIO(text.decode())).values("loss")[0] == 2.5
    assert load_runs(Upload("mine.csv", text)).sources == ("mine.csv",)
    assert load_runs([text, text]).sources == ("upload-1.csv", "upload-2.csv")
    assert load_runs([Upload("x.csv", text), Upload("x.csv", text)]).sources == ("x.csv", "x (2).csv")


# ------------------------------------------------------------------------------------------------
# several files


def test_several_files_group_by_file_name():
    a = Upload("small.csv", b"N,D,loss\n1e8,2e9,3.0\n2e8,4e9,2.8\n")
    b = Upload("large.csv", b"params,tokens,loss,val_loss\n1e9,2e10,2.5,2.6\n")
    runs = load_runs([a, b])
    assert runs.groups() == ["small", "large"] and runs.frame["group"].tolist() == ["small", "small", "large"]
    assert runs.run_ids.tolist() == ["r1", "r2", "r3"]
    assert runs.source_files == ("small.csv", "small.csv", "large.csv") and runs.source_rows == (2, 3, 2)
    assert runs.metrics == ("loss", "val_loss")
    np.testing.assert_array_equal(runs.values("val_loss"), [np.nan, np.nan, 2.6])
    np.testing.assert_array_equal(runs.values("compute"), 6.0 * np.array([1e8, 2e8, 1e9]) * [2e9, 4e9, 2e10])
    assert runs.roles["params"] == "N" and runs.derived == {"compute", "group", "run_id"}


def test_group_column_wins_over_file_names():
    a = Upload("a.csv", b"family,N,loss\ndense,1e8,3.0\nmoe,2e8,2.8\n")
    b = Upload("b.csv", b"family,N,loss\ndense,1e9,2.5\n")
    runs = load_runs([a, b])
    assert runs.groups() == ["dense", "moe"] and "group" not in runs.derived
    assert runs.roles["group"] == "family"


def test_ids_repeated_across_files_get_the_file_stem():
    a = Upload("a.csv", b"run,N,loss\nx,1e8,3.0\ny,2e8,2.8\n")
    b = Upload("b.csv", b"run,N,loss\nx,1e9,2.5\nz,2e9,2.4\n")
    assert load_runs([a, b]).run_ids.tolist() == ["a/x", "y", "b/x", "z"]


# ------------------------------------------------------------------------------------------------
# validation messages


def test_non_numbers_name_file_column_rows_and_values():
    message = error_of("N,loss\n1e9,2.5\nabc,2.4\n2e9,2.3\n--,2.2\n")
    assert message == ("`runs.csv`, column `N` (params), rows 3 and 5: 'abc', '--' are not numbers. "
                       "Use plain numbers such as 7e9 or suffixed ones such as 7B.")


def test_non_numbers_show_at_most_three_values():
    message = error_of("N,loss\n" + "".join(f"1e9,x{i}\n" for i in range(5)))
    assert ("`runs.csv`, column `loss`, rows 2, 3, 4, 5 and 6: 'x0', 'x1', 'x2' (and 2 more) "
            "are not numbers") in message


def test_nonpositive_and_infinite_sizes():
    message = error_of("N,D,loss\n0,1e9,2\n-5,1e9,2\n1e9,inf,2\n1e9,1e9,2\n")
    assert ("`runs.csv`, column `N` (params), rows 2 and 3: 0, -5 — params must be positive and finite "
            "because a log is taken") in message
    assert "`runs.csv`, column `D` (tokens), row 4: inf — tokens must be positive" in message
    assert message.startswith("2 problems in the input:\n- ")


def test_partly_missing_size_is_kept_with_a_note_and_derived_only_where_both_inputs_are():
    # issue 21: before, these rows were refused ("no value, while other rows have one"); now the runs are
    # kept (NaN) and counted, and a fit leaves them out only when it needs the value (tests/test_fitting.py)
    runs = load("N,D,loss\n1e9,2e10,2\n2e9,,2\n3e9,2e10,\n4e9,NA,2\n")
    assert len(runs) == 4 and runs.run_ids.tolist() == ["r1", "r2", "r3", "r4"]
    np.testing.assert_array_equal(runs.values("tokens"), [2e10, np.nan, 2e10, np.nan])
    np.testing.assert_array_equal(runs.values("compute"), [6 * 1e9 * 2e10, np.nan, 6 * 3e9 * 2e10, np.nan])
    assert "compute" in runs.derived
    assert runs.notes == ("`runs.csv`: rows with an empty cell, by column: `D` (tokens) 2, `loss` 1. These runs are "
                          "kept; a fit leaves out the runs missing a value it needs (its x, or params and tokens for "
                          "a two-input law, and the metric) and says how many and which.",)
    # values that are there but wrong are refused as before
    message = error_of("N,D,loss\n1e9,0,2\n2e9,,2\n3e9,abc,2\n")
    assert "`runs.csv`, column `D` (tokens), row 2: 0 — tokens must be positive" in message
    assert "`runs.csv`, column `D` (tokens), row 4: 'abc' is not a number." in message
    assert "no value" not in message and "empty cell" not in message


def test_infinite_metric_is_an_error():
    with pytest.raises(DataError, match=r"`runs.csv`, column `loss`, row 3: inf — a metric must be"):
        load("N,loss\n1e9,2\n2e9,inf\n")


def test_repeated_run_ids_in_one_file():
    expected = r"`runs.csv`, column `run` \(run_id\): run ids must be unique; 'a' is in rows 2 and 4"
    with pytest.raises(DataError, match=expected):
        load("run,N,loss\na,1,2\nb,2,2\na,3,2\n")


def test_empty_run_id_cell():
    expected = r"`runs.csv`, column `run` \(run_id\), row 3: empty\. .*map `run_id` to none"
    with pytest.raises(DataError, match=expected):
        load("run,N,loss\na,1,2\n ,2,2\n")


def test_repeated_header_names():
    expected = r"`runs.csv`: the header has column `loss` 2 times \(columns 2 and 3\)"
    with pytest.raises(DataError, match=expected):
        load("N,loss,loss\n1,2,3\n")


def test_missing_size_column_suggests_close_names():
    message = error_of("n_param,loss\n1e9,2.5\n")
    assert message.startswith("`runs.csv`: no column for model size (params), training tokens (tokens) or")
    assert "Columns are `n_param`, `loss`. Did you mean `n_param`?" in message
    assert "mapping={'params': ...}" in message


def test_without_a_metric_name_the_only_numeric_column_is_the_metric_and_said():
    # issue 21: before, "N,D,perf" was refused ("`perf` is the only other numeric column"); now it is taken,
    # with a note, as Ruan et al.'s benchmark columns are
    runs = load("N,D,perf\n1e9,2e10,2.5\n2e9,2e10,2.25\n")
    assert runs.metrics == ("perf",) and runs.values("perf").tolist() == [2.5, 2.25]
    assert runs.notes == ("`runs.csv`: no column is named like a loss or an accuracy, so the numeric column that "
                          "plays no other role was taken as the metric: `perf`. To fit another column, choose it "
                          "with mapping={'metric': '<column>'} or in the column-mapping panel.",)
    assert load("N,D,perf\n1e9,2e10,2.5\n", mapping={"metric": "perf"}).notes == ()
    # a text column is no metric; a name that looks like a misspelled loss is still refused with the hint
    message = error_of("N,D,note\n1e9,2e10,diverged\n")
    assert message.startswith("`runs.csv`: no metric column found")
    assert "mapping={'metric': '<column>'}" in message
    assert "Did you mean `los`?" in error_of("N,los\n1e9,2.5\n")


def test_empty_header_only_binary_and_ragged_files():
    assert error_of(b"", "e.csv") == "`e.csv` is empty; it needs a header row and one row per run"
    assert error_of(b"\n \n", "e.csv").startswith("`e.csv` is empty")
    assert error_of(b"N,loss\n\n", "h.csv").startswith("`h.csv` has a header but no data rows")
    assert error_of(b"N,l\x00oss\n\x01\x02", "x.bin").startswith("`x.bin` is not a text CSV file")
    assert "Excel workbook" in error_of(b"PK\x03\x04rest", "book.xlsx")
    junk = bytes(range(128, 256)) * 4 + b"\x01\x02\x03" * 50  # no NUL, not UTF-8, many control bytes
    assert error_of(junk, "junk.csv").startswith("`junk.csv` is not a text CSV")
    assert error_of("N,loss\n1,2\n3,4,5\n").startswith("`runs.csv`, line 3: 3 fields where the header has 2")


def test_every_problem_is_reported_at_once_across_files():
    good = Upload("good.csv", b"N,loss\n1e9,2.5\n")
    bad = Upload("bad.csv", b"run,N,loss\na,abc,2\na,-1,inf\n")
    empty = Upload("empty.csv", b"")
    with pytest.raises(DataError) as info:
        load_runs([good, bad, empty])
    lines = str(info.value).splitlines()
    assert lines[0] == "5 problems in the input:"
    assert lines[1:] == [
        "- `bad.csv`, column `N` (params), row 2: 'abc' is not a number. "
        "Use plain numbers such as 7e9 or suffixed ones such as 7B.",
        "- `bad.csv`, column `N` (params), row 3: -1 — params must be positive and finite "
        "because a log is taken. Fix these values or remove these runs.",
        "- `bad.csv`, column `loss`, row 3: inf — a metric must be a finite number. "
        "Leave the cell empty if the value is missing.",
        "- `bad.csv`, column `run` (run_id): run ids must be unique; 'a' is in rows 2 and 3. "
        "Rename the duplicates or remove the extra runs.",
        "- `empty.csv` is empty; it needs a header row and one row per run",
    ]


def test_row_numbers_count_blank_lines_and_lines_above_the_header():
    with pytest.raises(DataError, match=r"column `N` \(params\), row 6: 'x' is not a number"):
        load("\n\nN,loss\n1,2\n\nx,2\n")


def test_bad_sources_and_names():
    with pytest.raises(DataError, match=r"`nope.csv`: file not found at `/no/such/nope.csv`"):
        load_runs("/no/such/nope.csv")
    with pytest.raises(DataError, match=r"`names` has 1 entries for 2 sources"):
        load_runs([b"N,loss\n1,2\n", b"N,loss\n1,2\n"], names=["a.csv"])
    with pytest.raises(DataError, match=r"no input files were given"):
        load_runs([])


# ------------------------------------------------------------------------------------------------
# a pandas DataFrame (notebook users have one): the same detection, parsing, validation and messages


def test_a_dataframe_loads_to_the_values_its_csv_loads_to():
    df = pd.DataFrame({"run": ["a", " b ", "c"], "Model Size": ["7B", 1.3e9, "350M"],
                       "tokens": [1.4e11, 2.6e10, 7e9], "val_loss": [2.1, 2.4, np.nan]})
    before = df.copy()
    runs = load_runs(df)
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is only read
    assert runs.sources == ("<DataFrame>",) and runs.source_files == ("<DataFrame>",) * 3
    assert runs.source_rows == (0, 1, 2)  # positions, as df.iloc counts them
    assert runs.roles["params"] == "Model Size" and runs.roles["run_id"] == "run" and runs.metrics == ("val_loss",)
    assert runs.run_ids.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(runs.values("params"), [7e9, 1.3e9, 3.5e8])
    np.testing.assert_array_equal(runs.values("compute"), 6.0 * np.array([7e9, 1.3e9, 3.5e8]) * [1.4e11, 2.6e10, 7e9])
    np.testing.assert_array_equal(runs.values("val_loss"), [2.1, 2.4, np.nan])
    assert runs.derived == {"compute", "group"}
    from_csv = load(df.to_csv(index=False))
    for column in ("params", "tokens", "compute", "val_loss"):
        np.testing.assert_array_equal(runs.values(column), from_csv.values(column))


def test_a_bad_dataframe_gets_the_messages_a_file_gets():
    df = pd.DataFrame({"run": ["a", "a", "c", "d"], "N": [-1, "x", 1e9, 2e9], "loss": [np.inf, 2.4, 2.3, 2.2]})
    with pytest.raises(DataError) as info:
        load_runs(df)
    assert str(info.value) == (
        "4 problems in the input:\n"
        "- `<DataFrame>`, column `N` (params), row 1: 'x' is not a number. Use plain numbers such as 7e9 or "
        "suffixed ones such as 7B.\n"
        "- `<DataFrame>`, column `N` (params), row 0: -1 — params must be positive and finite because a log is "
        "taken. Fix these values or remove these runs.\n"
        "- `<DataFrame>`, column `loss`, row 0: inf — a metric must be a finite number. Leave the cell empty if "
        "the value is missing.\n"
        "- `<DataFrame>`, column `run` (run_id): run ids must be unique; 'a' is in rows 0 and 1. Rename the "
        "duplicates or remove the extra runs.")
    with pytest.raises(DataError, match=r"`<DataFrame>`: no metric column found .* Columns are `N`, `val_los`\."
                                        r" Did you mean `val_los`\?"):
        load_runs(pd.DataFrame({"N": [1e9, 2e9], "val_los": [2.5, 2.4]}))
    with pytest.raises(DataError, match=r"`<DataFrame>`, column `run_id` \(run_id\), row 2: empty"):
        load_runs(pd.DataFrame({"run_id": [1, 2, np.nan], "N": [1e8, 1e9, 1e10], "loss": [3.0, 2.0, 1.0]}))
    with pytest.raises(DataError, match=r"`<DataFrame>`: the header has column `loss` 2 times \(columns 2 and 3\)"):
        load_runs(pd.DataFrame([[1e9, 2.5, 3.0]], columns=["N", "loss", "loss"]))


def test_empty_dataframes_are_refused_with_what_is_missing():
    with pytest.raises(DataError, match=r"^`<DataFrame>` is empty \(it has no columns\)"):
        load_runs(pd.DataFrame())
    with pytest.raises(DataError, match=r"^`<DataFrame>` has no rows; it needs one row per run$"):
        load_runs(pd.DataFrame({"N": [], "loss": []}))
    with pytest.raises(DataError, match=r"^`<DataFrame>` has a header but no data rows"):
        load_runs(pd.DataFrame({"N": [np.nan], "loss": [np.nan]}))


def test_dataframes_take_names_and_combine_with_files():
    small = pd.DataFrame({"N": [1e8, 2e8], "loss": [3.0, 2.8]})
    large = pd.DataFrame({"N": [1e9], "loss": [2.5]})
    runs = load_runs([small, large])
    assert runs.sources == ("<DataFrame>", "<DataFrame> (2)")
    named = load_runs([small, Upload("large.csv", b"N,loss\n1e9,2.5\n")], names=["small", "large.csv"])
    assert named.groups() == ["small", "large"] and named.source_rows == (0, 1, 2)
    assert load_runs(pd.DataFrame({7: [1e9, 2e9], "loss": [2.5, 2.4]}), mapping={"params": "7"}).roles["params"] == "7"


# ------------------------------------------------------------------------------------------------
# real exports (issue 21): excerpts in tests/fixtures/real (see its README for source and licence)

REAL = Path(__file__).parent / "fixtures" / "real"


def csv_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows as the csv module reads them: the reference the loader's numbers are checked against."""
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def test_units_in_real_headers_are_applied_and_said():
    path = REAL / "obsscaling_base_llm_excerpt.csv"
    runs = load_runs(path, mapping={"metric": "MMLU"})
    header, rows = csv_cells(path)
    column = {name: [row[header.index(name)] for row in rows] for name in header}
    assert runs.roles == {"run_id": "Model", "group": "Model Family", "params": "Model Size (B)",
                          "tokens": "Pretraining Data Size (T)", "compute": "FLOPs (1E21)"}
    assert runs.run_ids.tolist() == column["Model"]
    assert runs.groups() == ["Llama-2", "Llama"] and runs.frame["group"].tolist() == column["Model Family"]
    for role, name, unit in (("params", "Model Size (B)", 1e9), ("tokens", "Pretraining Data Size (T)", 1e12),
                             ("compute", "FLOPs (1E21)", 1e21)):
        np.testing.assert_allclose(runs.values(role), [float(v) * unit for v in column[name]], rtol=1e-15, atol=0)
    # the paper's FLOPs are 6ND: the units are right when the three columns agree
    np.testing.assert_allclose(runs.values("compute"), 6 * runs.values("params") * runs.values("tokens"), rtol=1e-12)
    assert runs.derived == frozenset()
    assert runs.notes == (
        "`obsscaling_base_llm_excerpt.csv`, column `Model Size (B)` (params): the header says the values are in "
        "billions; they were multiplied by 1e9 (6.7 to 70 in the file, 6.7e9 to 7e10 used). If the header is "
        "wrong, rename the column or write the values as plain counts such as 7e9.",
        "`obsscaling_base_llm_excerpt.csv`, column `Pretraining Data Size (T)` (tokens): the header says the "
        "values are in trillions; they were multiplied by 1e12 (1 to 2 in the file, 1e12 to 2e12 used). If the "
        "header is wrong, rename the column or write the values as plain counts such as 7e9.",
        "`obsscaling_base_llm_excerpt.csv`, column `FLOPs (1E21)` (compute): the header says the values are in "
        "units of 1e21; they were multiplied by 1e21 (40.2 to 840 in the file, 4e22 to 8.4e23 used). If the "
        "header is wrong, rename the column or write the values as plain counts such as 7e9.")


@pytest.mark.parametrize(("header", "factor", "unit"), [
    ("Model Size (B)", 1e9, "billions"), ("params (M)", 1e6, "millions"), ("N (B params)", 1e9, "billions"),
    ("Pretraining Data Size (T)", 1e12, "trillions"), ("tokens (bn)", 1e9, "billions"),
    ("FLOPs (1E21)", 1e21, "units of 1e21"), ("compute (GFLOPs)", 1e9, "GFLOPs"),
    ("C [PF-days]", 1e15 * 86400, "PF-days"), ("flops (1e9)", 1e9, "billions"),
])
def test_header_units_and_their_factors(header, factor, unit):
    runs = load(f"{header},loss\n1.5,2.5\n3,2.4\n".replace(f"{header},", f'"{header}",'))
    role = next(r for r in ("params", "tokens", "compute") if runs.roles[r] == header)
    np.testing.assert_allclose(runs.values(role), [1.5 * factor, 3 * factor], rtol=1e-15)
    assert f"the header says the values are in {unit}; they were multiplied by" in runs.notes[0]


def test_loss_c4_val_and_other_prefixed_metrics_are_metrics():
    runs = load_runs(REAL / "gadre2024_runs_wide_excerpt.csv")
    header, rows = csv_cells(REAL / "gadre2024_runs_wide_excerpt.csv")
    assert runs.roles["run_id"] == "name" and runs.roles["group"] == "dataset" and runs.roles["compute"] == "flops"
    losses = [h for h in header if h.startswith("loss_")]
    accuracies = [h for h in header if h.startswith("acc_") or h.startswith("accuracy_")]
    assert "loss_c4_val" in losses and len(accuracies) == 48
    assert list(runs.metrics) == losses + accuracies  # in file order, the first loss-like one the default
    assert runs.default_metric == "loss_openlm"
    np.testing.assert_array_equal(runs.values("loss_c4_val"), [float(r[header.index("loss_c4_val")]) for r in rows])
    assert "model" in runs.frame.columns and runs.notes == ()  # `name` is the run id; `model` stays a column
    picked = load_runs(REAL / "gadre2024_runs_wide_excerpt.csv", mapping={"metric": "loss_c4_val"})
    assert picked.metrics == ("loss_c4_val",)
    tracker = load("N,loss_scale,loss_weight,loss_val\n1e9,65536,1,2.5\n")  # fp16 loss scaling is not a metric
    assert tracker.metrics == ("loss_val",)


def test_a_model_label_repeated_across_sizes_or_tokens_is_a_group_not_a_run_id():
    text = (REAL / "gadre2024_runs_excerpt.csv").read_text()
    header, rows = csv_cells(REAL / "gadre2024_runs_excerpt.csv")
    without_ids = "".join(line.split(",", 2)[2] + "\n" for line in text.splitlines())  # no run_id, no group
    runs = load(without_ids, name="gadre.csv")
    assert runs.roles["run_id"] is None and runs.roles["group"] == "model"
    assert runs.run_ids.tolist() == [f"r{i}" for i in range(1, 17)] and "run_id" in runs.derived
    assert runs.groups() == ["d=96_l=8_h=4", "d=512_l=8_h=4"]
    np.testing.assert_array_equal(runs.values("tokens"), [float(r[header.index("tokens")]) for r in rows])
    assert runs.notes == (
        "`gadre.csv`, column `model`: 2 values on 16 rows, the same value on rows of different tokens, so it is "
        "a label, not a run id: it is used as the group, and the runs are numbered r1, r2, ... To use it as the "
        "run id anyway, map run_id to `model`.",)
    # with a group column already there, the label stays a plain column
    with_group = load("".join(line.split(",", 1)[1] + "\n" for line in text.splitlines()), name="gadre.csv")
    assert with_group.roles["group"] == "group" and with_group.frame["model"].tolist() == [r[2] for r in rows]
    assert "it is kept as a plain column (the group is `group`)" in with_group.notes[0]
    # the file's own run ids win, and a run id the user maps is taken at its word
    assert load_runs(REAL / "gadre2024_runs_excerpt.csv").run_ids.tolist() == [r[0] for r in rows]
    message = error_of(without_ids, name="gadre.csv", mapping={"run_id": "model"})
    assert message.startswith("`gadre.csv`, column `model` (run_id):")


def test_benchmark_columns_without_a_metric_name_are_the_metrics_in_file_order():
    # Ruan et al.'s table names no column like a loss or accuracy: its 8 benchmarks are the metrics
    path = REAL / "obsscaling_base_llm_excerpt.csv"
    runs = load_runs(path)
    header, rows = csv_cells(path)
    benchmarks = header[5:]
    assert benchmarks == ["MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval"]
    assert runs.metrics == tuple(benchmarks) and runs.default_metric == "MMLU"
    for name in benchmarks:
        np.testing.assert_array_equal(runs.values(name), [float(r[header.index(name)]) for r in rows])
    assert runs.roles["params"] == "Model Size (B)" and runs.roles["group"] == "Model Family"
    assert runs.notes[0] == (
        "`obsscaling_base_llm_excerpt.csv`: no column is named like a loss or an accuracy, so the 8 numeric "
        "columns that play no other role were taken as metrics, in file order: `MMLU`, `ARC-C`, `HellaSwag`, "
        "`Winograd`, `TruthfulQA`, `GSM8K`, `XWinograd`, `HumanEval`; `MMLU` is the default; all have their "
        "values in [0, 1]: accuracy-like scores. To fit another column, choose it with mapping={'metric': "
        "'<column>'} or in the column-mapping panel.")
    assert len(runs.notes) == 4  # then the three unit notes, as with a mapped metric
    # a mapped metric is taken at its word and nothing is guessed
    assert load_runs(path, mapping={"metric": "GSM8K"}).metrics == ("GSM8K",)
    # only the columns with every value in [0, 1] are called scores; a column named like a role is no metric
    text = "".join(",".join(r[2:4] + [r[5], str(float(r[4]) * 10), r[4]]) + "\n" for r in rows)
    mixed = load("params,tokens,MMLU,elo,n_params\n" + text)
    assert mixed.metrics == ("MMLU", "elo") and "n_params" in mixed.frame.columns
    assert mixed.notes[0].endswith("`MMLU` is the default; `MMLU` has its values in [0, 1]: an accuracy-like "
                                   "score. To fit another column, choose it with mapping={'metric': '<column>'} "
                                   "or in the column-mapping panel.")


def test_a_model_column_with_one_row_per_model_is_the_run_id():
    runs = load("model,N,loss\npythia-70m,7e7,3.1\npythia-160m,1.6e8,2.9\n")
    assert runs.roles["run_id"] == "model" and runs.notes == ()
    message = error_of("model,N,loss\na,1e8,3.1\nb,1e9,2.9\na,1e8,3.0\n")  # same size: a duplicate, as before
    assert "run ids must be unique; 'a' is in rows 2 and 4" in message


# ------------------------------------------------------------------------------------------------
# inputs are only read


def test_input_files_are_not_modified(tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    paths[0].write_bytes((FIXTURES / "chinchilla_small.csv").read_bytes())
    paths[1].write_bytes((FIXTURES / "euro_semicolon.csv").read_bytes())
    before = [(hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths]
    runs = load_runs(paths)
    assert len(runs) == 6 and runs.groups() == ["a", "b"]
    assert [(hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths] == before
    upload = Upload("u.csv", b"N,loss\n1e9,2.5\n")
    load_runs(upload)
    assert upload.getvalue() == b"N,loss\n1e9,2.5\n"


# ------------------------------------------------------------------------------------------------
# Runs


def test_content_key_is_stable_and_sensitive():
    text = (FIXTURES / "chinchilla_small.csv").read_text()
    key = load(text).content_key()
    assert len(key) == 64 and key == load(text).content_key()
    assert load(text.replace("3.4", "3.41")).content_key() != key  # one cell
    assert load(text, flops_per_token_param=8).content_key() != key
    assert load(text, name="other.csv").content_key() != key
    code = ("from scalecore.data import load_runs; import sys; "
            "print(load_runs(sys.stdin.buffer.read(), names=['runs.csv']).content_key())")
    out = subprocess.run([sys.executable, "-c", code], input=text.encode(), capture_output=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"}, check=True)
    assert out.stdout.decode().strip() == key


def test_subset_by_mask_and_ids():
    runs = load_runs(FIXTURES / "chinchilla_small.csv")
    kept = runs.subset(runs.values("params") > 1e8)
    assert kept.run_ids.tolist() == ["b", "c", "d"] and kept.source_rows == (3, 4, 5)
    assert kept.roles == runs.roles and kept.derived == runs.derived and kept.metrics == runs.metrics
    by_ids = runs.subset(["d", "a"])
    assert by_ids.run_ids.tolist() == ["a", "d"] and by_ids.source_rows == (2, 5)  # file order kept
    np.testing.assert_array_equal(by_ids.values("compute"), runs.values("compute")[[0, 3]])
    assert runs.subset({"b"}).run_ids.tolist() == ["b"] and len(runs) == 4
    with pytest.raises(DataError, match=r"unknown run id\(s\) 'zz'"):
        runs.subset(["zz"])
    with pytest.raises(DataError, match=r"the mask has 2 entries; there are 4 runs"):
        runs.subset(np.array([True, False]))


def test_summary_values_and_has():
    runs = load_runs(FIXTURES / "chinchilla_small.csv")
    assert runs.summary() == ("4 runs in 1 file (chinchilla_small.csv); params 7e7–1e9, "
                              "tokens 1.4e9–2e10, "
                              "compute 5.9e17–1.2e20 (derived, C = 6·N·D); metric loss")
    assert repr(runs).startswith("Runs(4 runs")
    again = pickle.loads(pickle.dumps(runs))  # Streamlit's cache pickles return values
    assert again.content_key() == runs.content_key() and again.roles == runs.roles
    assert runs.has("params") and runs.has("loss") and runs.has("run_id") and not runs.has("nope")
    expected = r"unknown column `N`; valid names are `params`, `tokens`, `compute`, `loss`"
    with pytest.raises(DataError, match=expected):
        runs.values("N")


def test_runs_built_by_hand_get_canonical_columns():
    runs = Runs(frame=pd.DataFrame({"params": [1e9, 2e9], "loss": [2.5, 2.4]}), metrics=("loss",))
    assert list(runs.frame.columns) == ["run_id", "group", "params", "tokens", "compute", "loss"]
    assert runs.run_ids.tolist() == ["r1", "r2"] and runs.groups() == ["all"]
    assert runs.source_rows == (2, 3) and not runs.has("tokens")


# ------------------------------------------------------------------------------------------------
# size


@pytest.mark.slow
def test_million_rows_load_correctly(tmp_path, capsys):
    n = 1_000_000
    rng = np.random.default_rng(0)
    params = np.round(rng.uniform(1e6, 1e10, n))
    tokens = np.round(rng.uniform(1e8, 1e12, n))
    loss = np.round(rng.uniform(2, 4, n), 6)
    frame = pd.DataFrame({"run_id": [f"run{i}" for i in range(n)], "N": params, "D": tokens,
                          "loss": loss, "family": np.where(np.arange(n) % 3 == 0, "moe", "dense")})
    frame["N"] = frame["N"].astype(object)
    frame.loc[7, "N"] = "7B"  # one suffixed cell takes the slow path for just that cell
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    start = time.perf_counter()
    runs = load_runs(path)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[test_data] 1,000,000-row, 5-column CSV loaded in {seconds:.2f} s")
    params[7] = 7e9
    assert len(runs) == n and runs.groups() == ["moe", "dense"]
    np.testing.assert_array_equal(runs.values("params"), params)
    np.testing.assert_array_equal(runs.values("tokens"), tokens)
    np.testing.assert_array_equal(runs.values("loss"), loss)
    np.testing.assert_array_equal(runs.values("compute"), 6.0 * params * tokens)
    assert runs.run_ids[999_999] == "run999999" and runs.source_rows[-1] == n + 1

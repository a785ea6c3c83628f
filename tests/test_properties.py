"""Property tests (hypothesis) of hostile input (issue 7).

- ``load_runs`` and ``load_curves`` (one reading pipeline, issue 20) on arbitrary bytes (and on CSV-shaped
  junk) raise only DataError or return a valid Runs / Curves; valid numbers written any way load to
  exactly those numbers in both;
- ``fit`` and ``bootstrap`` on arbitrary valid runs raise only FitError or return finite results whose
  warnings say what is soft about them; they never hang (the solver's iterations are bounded);
- saving and reopening an analysis returns an equal analysis, whatever text the user typed (the title
  normalised as ``store.save`` documents: whitespace runs to one space, trimmed).

Reproducible: every test is ``derandomize=True`` (examples follow from the test's source, no database),
with moderate example counts so the module runs in well under a minute. Run with
``--hypothesis-show-statistics`` to see how many examples ran.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from scalecore import FAMILIES, bootstrap, fit, load_curves, load_runs, store
from scalecore.curves import Curves
from scalecore.data import ROLES, SIZE_ROLES, Runs
from scalecore.errors import DataError, FitError
from scalecore.fitting import prepare, solve
from scalecore.store import Analysis, DataFile, Settings

REPRODUCIBLE = dict(derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_valid_runs(runs: Runs) -> None:
    """What every Runs promises: canonical columns, unique text ids, positive finite sizes, a metric."""
    frame = runs.frame
    assert len(runs) > 0 and runs.metrics
    assert list(frame.columns[:5]) == list(ROLES)
    ids = runs.run_ids.tolist()
    assert all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids)
    for role in SIZE_ROLES:
        v = runs.values(role)
        present = ~np.isnan(v)
        if present.any() and not present.all():  # empty cells are kept, and said (a fit leaves those runs out)
            assert any("empty cell" in note for note in runs.notes), (role, runs.notes)
        assert np.all(np.isfinite(v[present]) & (v[present] > 0)), role
    for metric in runs.metrics:
        v = runs.values(metric)
        assert not np.isinf(v).any()
    assert len(runs.source_rows) == len(runs) and all(r >= 2 for r in runs.source_rows)
    assert all(isinstance(n, str) and n for n in runs.notes)


def assert_valid_curves(curves: Curves) -> None:
    """What every Curves promises: points sorted by run then tokens, positive finite numbers everywhere."""
    n_runs = len(curves.runs)
    assert len(curves) > 0 and n_runs > 0
    assert np.all((curves.run >= 0) & (curves.run < n_runs)) and np.all(np.diff(curves.run) >= 0)
    same_run = np.diff(curves.run) == 0
    assert np.all(np.diff(curves.tokens)[same_run] > 0)  # one point per (run, tokens)
    for values in (curves.tokens, curves.compute, curves.loss, curves.runs["params"].to_numpy(float)):
        assert np.all(np.isfinite(values) & (values > 0))
    np.testing.assert_allclose(curves.compute, curves.flops_per_token_param * curves.params * curves.tokens)
    ids = curves.run_ids.tolist()
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
    assert np.array_equal(np.bincount(curves.run, minlength=n_runs), curves.runs["n_points"].to_numpy())
    assert all(isinstance(n, str) and n for n in curves.notes)


def load_or_data_error(data: bytes, loader: str = "runs") -> None:
    try:
        if loader == "runs":
            result = load_runs(data, names=["prop.csv"])
        else:
            result = load_curves(data, name="prop.csv", tokens_per_step=1000)
    except DataError as exc:
        message = str(exc)
        assert message and "prop.csv" in message and "Traceback" not in message
        event(f"{loader}: DataError")
        return
    event(f"{loader}: loaded")
    (assert_valid_runs if loader == "runs" else assert_valid_curves)(result)


LOADERS = pytest.mark.parametrize("loader", ["runs", "curves"])


# ------------------------------------------------------------------------------------------------
# load_runs and load_curves


@LOADERS
@settings(max_examples=300, **REPRODUCIBLE)
@given(st.binary(max_size=3000))
def test_load_runs_on_arbitrary_bytes(loader, data):
    load_or_data_error(data, loader)


NAMES = ["N", "params", "Model Size (B)", "tokens", "D", "C", "flops", "loss", "Loss ", "val_los", "accuracy",
         "run_id", "run", "group", "step", "", " ", "x", "loss", "\ufeffN", '"q"', "a,b", "Unnamed: 0",
         "_step", "tokens_seen", "train/loss", "Name"]
CELLS = ["1e9", "7B", "1.4T", "350M", "1,000,000", "1.000.000", "2,5", "3.25", "0", "-1", "nan", "NA", "",
         " ", "inf", "-inf", "1e300", "1e-300", "abc", "55%", '"1,5"', '"', "x y", "\u22122", "1e", "0x10",
         "é", "\x00", "2.5e-3", "999999999999999999999999"]


@st.composite
def csv_like(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    n_cols = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(NAMES), min_size=n_cols, max_size=n_cols))
    cell = st.one_of(st.sampled_from(CELLS), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.text(max_size=6))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=n_cols + 1), max_size=12))
    text = newline.join([sep.join(header)] + [sep.join(r) for r in rows]) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1"]))
    return text.encode(encoding, errors="replace")


@LOADERS
@settings(max_examples=300, **REPRODUCIBLE)
@given(csv_like())
def test_load_runs_on_csv_shaped_junk(loader, data):
    load_or_data_error(data, loader)


@settings(max_examples=100, **REPRODUCIBLE)
@given(st.lists(st.tuples(st.floats(1e3, 1e12), st.floats(0.01, 100)), min_size=1, max_size=30))
def test_valid_numbers_written_any_way_load_to_the_same_values(pairs):
    """A table of valid numbers loads to exactly those values, as plain, semicolon+decimal-comma, or UTF-16."""
    plain = "N,loss\n" + "".join(f"{n!r},{y!r}\n" for n, y in pairs)
    euro = "N;loss\n" + "".join(f"{n!r};{repr(y).replace('.', ',')}\n" for n, y in pairs)
    expected_n = np.array([n for n, _ in pairs])
    expected_y = np.array([y for _, y in pairs])
    for data in (plain.encode(), euro.encode(), plain.encode("utf-16"), plain.replace("\n", "\r\n").encode("utf-8-sig")):
        runs = load_runs(data, names=["same.csv"])
        np.testing.assert_array_equal(runs.values("params"), expected_n)
        np.testing.assert_array_equal(runs.values("loss"), expected_y)


@settings(max_examples=100, **REPRODUCIBLE)
@given(st.lists(st.tuples(st.one_of(st.floats(1e3, 1e12), st.sampled_from(["7B", "350M", "1,000,000", "x", ""])),
                          st.one_of(st.floats(0.01, 100), st.just(float("inf")), st.just(float("nan")))),
                min_size=1, max_size=20))
def test_a_dataframe_loads_or_fails_as_its_csv_does(pairs):
    """load_runs(df) and load_runs(df.to_csv()) give the same values, or the same message (rows aside:
    a DataFrame's are positions from 0, a file's are lines from 2, so they are masked)."""
    df = pd.DataFrame({"N": [n for n, _ in pairs], "loss": [y for _, y in pairs]})
    outcomes = []
    for source in (df, df.to_csv(index=False).encode()):
        try:
            runs = load_runs(source, names=["same.csv"])
        except DataError as exc:
            outcomes.append(("error", re.sub(r"rows? [\d, and]+(?: more)?", "ROWS", str(exc))))
            continue
        assert_valid_runs(runs) if not isinstance(source, pd.DataFrame) else None
        outcomes.append(("runs", runs.values("params").tolist(), runs.values("loss").tolist(), runs.notes))
    event(outcomes[0][0])
    assert repr(outcomes[0]) == repr(outcomes[1])


@settings(max_examples=100, **REPRODUCIBLE)
@given(st.lists(st.tuples(st.floats(1e3, 1e12), st.floats(1.0, 1e12), st.floats(0.01, 100)), min_size=1,
                max_size=30, unique_by=lambda p: p[1]))
def test_valid_numbers_written_any_way_load_to_the_same_curves(points):
    """One run's curve of valid numbers loads to exactly those numbers (sorted by tokens), whatever the
    separator, decimal mark, encoding or line end."""
    n = points[0][0]
    rows = [("m", n, t, y) for _, t, y in points]
    plain = "run,N,tokens,loss\n" + "".join(f"{r},{n!r},{t!r},{y!r}\n" for r, n, t, y in rows)
    euro = "run;N;tokens;loss\n" + "".join(
        ";".join([r] + [repr(v).replace(".", ",") for v in (n, t, y)]) + "\n" for r, n, t, y in rows)
    pipe = plain.replace(",", "|")
    order = np.argsort([t for _, t, _ in points], kind="stable")
    expected_t = np.array([t for _, t, _ in points])[order]
    expected_y = np.array([y for _, _, y in points])[order]
    for data in (plain.encode(), euro.encode(), pipe.encode(), plain.encode("utf-16"), plain.encode("utf-16-le"),
                 plain.replace("\n", "\r\n").encode("utf-8-sig")):
        curves = load_curves(data, name="same.csv")
        assert curves.runs["params"].tolist() == [n]
        np.testing.assert_array_equal(curves.tokens, expected_t)
        np.testing.assert_array_equal(curves.loss, expected_y)


# ------------------------------------------------------------------------------------------------
# fit and bootstrap


@st.composite
def valid_runs(draw, two_inputs: bool) -> Runs:
    n = draw(st.integers(1, 14))
    sizes = st.floats(1.0, 1e13)
    params = draw(st.lists(st.one_of(sizes, st.sampled_from([1e8, 1e9])), min_size=n, max_size=n))
    columns = {"params": params}
    if two_inputs:
        columns["tokens"] = draw(st.lists(st.one_of(sizes, st.sampled_from([2e9, 2e10])), min_size=n, max_size=n))
    columns["loss"] = draw(st.lists(st.one_of(st.floats(1e-3, 1e3), st.just(2.5)), min_size=n, max_size=n))
    return Runs(frame=pd.DataFrame(columns), metrics=("loss",), sources=("prop.csv",))


def check_fit_result(result, family) -> None:
    """Finite numbers, and a warning for everything soft about them (a bound, no convergence)."""
    assert set(result.params) == set(family.param_names)
    assert all(math.isfinite(v) for v in result.params.values()), result.params
    assert math.isfinite(result.objective) and result.objective >= 0
    assert math.isfinite(result.rmse) and math.isfinite(result.aic) and math.isfinite(result.bic)
    assert np.all(np.isfinite(result.residuals)) and len(result.residuals) == result.n_points
    assert all(isinstance(w, str) and w for w in result.warnings)
    for name in result.at_bound:  # a parameter at a bound is said, by name
        assert any(w.startswith(f"`{name}` is at its bound") for w in result.warnings), (name, result.warnings)
    stopped = [w for w in result.warnings if "stopped at the iteration limit" in w]
    assert bool(stopped) == (not result.success), (result.success, result.warnings)
    event("fitted, converged" if result.success else "fitted, stopped at the iteration limit (said)")
    if result.at_bound:
        event("fitted, a parameter at its bound (said)")


def fit_or_fit_error(runs, family: str):
    """fit(), with any RuntimeWarning (overflow, invalid value) turned into a failure: none may leak out."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            result = fit(runs, family)
    except FitError as exc:
        message = str(exc)
        assert message and "prop.csv" in message, message
        event("FitError: " + message.split(";")[0].split(":")[0][:40])
        return
    check_fit_result(result, FAMILIES[family])


FIT_EXAMPLES = 40


@pytest.mark.parametrize("family", [f for f in FAMILIES if not FAMILIES[f].is_two_input])
@settings(max_examples=FIT_EXAMPLES, **REPRODUCIBLE)
@given(runs=valid_runs(two_inputs=False))
def test_one_input_fits_are_finite_or_fit_errors(family, runs):
    fit_or_fit_error(runs, family)


@pytest.mark.parametrize("family", [f for f in FAMILIES if FAMILIES[f].is_two_input])
@settings(max_examples=FIT_EXAMPLES, **REPRODUCIBLE)
@given(runs=valid_runs(two_inputs=True))
def test_two_input_fits_are_finite_or_fit_errors(family, runs):
    fit_or_fit_error(runs, family)


def bootstrap_or_fit_error(runs, family: str, method: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            boot = bootstrap(runs, family, n_resamples=50, seed=0, method=method)
    except FitError as exc:
        assert str(exc)
        event("FitError: " + str(exc).split(";")[0].split(":")[0][:40])
        return
    check_fit_result(boot.fit, FAMILIES[family])
    n_failed = int(boot.failed.sum())
    good = boot.samples[~boot.failed]
    assert len(good) >= 2 and np.all(np.isfinite(good))
    for name, (low, high) in boot.confidence_interval.items():
        assert math.isfinite(low) and math.isfinite(high) and low <= high, name
    if n_failed:  # failed resamples are said, with their number
        said = any(w.startswith(f"{n_failed} of 50 resamples failed") for w in boot.warnings)
        assert said or (n_failed <= 0.01 * 50 and f"{50 - n_failed} of 50 resamples converged" in boot.interval_label)
        event("bootstrapped, some resamples failed (said)")
    else:
        assert not any("resamples failed" in w for w in boot.warnings)
        event("bootstrapped, no resample failed")


@settings(max_examples=30, **REPRODUCIBLE)
@given(runs=valid_runs(two_inputs=False), family=st.sampled_from([f for f in FAMILIES if not FAMILIES[f].is_two_input]),
       method=st.sampled_from(["cases", "residuals"]))
def test_one_input_bootstrap_is_finite_with_honest_warnings_or_a_fit_error(runs, family, method):
    bootstrap_or_fit_error(runs, family, method)


@settings(max_examples=15, **REPRODUCIBLE)
@given(runs=valid_runs(two_inputs=True), family=st.sampled_from([f for f in FAMILIES if FAMILIES[f].is_two_input]),
       method=st.sampled_from(["cases", "residuals"]))
def test_two_input_bootstrap_is_finite_with_honest_warnings_or_a_fit_error(runs, family, method):
    bootstrap_or_fit_error(runs, family, method)


@settings(max_examples=40, **REPRODUCIBLE)
@given(runs=valid_runs(two_inputs=True), max_iter=st.integers(1, 30))
def test_the_solver_stops_after_max_iter(runs, max_iter):
    """"Never hangs": every solve is bounded by ``max_iter`` iterations, whatever the data."""
    try:
        problem = prepare(runs, "chinchilla")
    except FitError:
        return
    fam = problem.family
    lo, hi = fam.internal_bounds()
    z0 = np.clip(np.zeros((3, fam.n_params)), lo, hi)
    with np.errstate(all="ignore"):
        sol = solve(fam, problem.inputs, problem.target, np.ones(problem.n), z0, max_iter=max_iter)
    assert np.all(sol.n_iter <= max_iter)


# ------------------------------------------------------------------------------------------------
# saved analyses


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
#: Whitespace a pasted title brings along: tabs, line breaks, the ASCII separators, Unicode spaces.
SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\x1c", "\x1f", "\x85", "\u00a0", "\u2028", "\u3000"])
#: Titles: any text; words with whitespace runs between and around them; text repeated past 200 characters.
TITLES = st.one_of(TEXT,
                   st.lists(st.one_of(TEXT, SPACES), max_size=8).map("".join),
                   st.builds(lambda t, k: (t + " ") * k, TEXT.filter(str.strip), st.integers(5, 60)))


@st.composite
def analyses(draw) -> Analysis:
    files = draw(st.lists(st.tuples(TEXT.filter(str.strip), st.binary(max_size=200)), min_size=1, max_size=3))
    families = draw(st.lists(st.sampled_from(list(FAMILIES)), min_size=1, max_size=3, unique=True))
    settings_ = Settings(x=draw(st.sampled_from([None, "params", "tokens", "compute"])),
                         n_resamples=draw(st.integers(2, 5000)),
                         confidence_level=draw(st.floats(0.5, 0.999)),
                         seed=draw(st.one_of(st.none(), st.integers(0, 2**31))),
                         target=draw(st.one_of(st.none(), st.floats(1.0, 1e30))))
    return Analysis(
        title=draw(TITLES),
        files=tuple(DataFile(name, data) for name, data in files),
        families=tuple(families), settings=settings_,
        exclusions=draw(st.dictionaries(TEXT, TEXT, max_size=4)),
        note=draw(TEXT), mapping=draw(st.dictionaries(st.sampled_from(["params", "tokens", "metric"]), TEXT, max_size=2)),
    )


def titled(title: str) -> Analysis:
    return Analysis(title=title, files=(DataFile("runs.csv", b"N,loss\n1e9,2.5\n"),), families=("power_law",))


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          **{k: v for k, v in REPRODUCIBLE.items() if k != "suppress_health_check"})
@given(analysis=analyses())
@example(analysis=titled("0\x1f0"))  # found by this test: stored as "0 0"
@example(analysis=titled(" x" * 100))  # 200 characters once trimmed: kept
@example(analysis=titled("x" * 201))  # one too many: refused
@example(analysis=titled("\r\n\t \u3000"))  # only whitespace: refused
def test_saving_and_reopening_gives_an_equal_analysis(analysis, tmp_path):
    """Everything comes back as typed, except the title, which store.save normalises as documented:
    every run of whitespace (spaces, tabs, line breaks, the separators \\x1c-\\x1f, ...) becomes one
    space and the ends are trimmed; an empty or too long result is refused with a message."""
    path = tmp_path / "analyses.sqlite"
    title = " ".join(analysis.title.split())
    if not title or len(title) > store.MAX_TITLE:
        with pytest.raises(DataError, match="an analysis needs a title" if not title else
                           f"the title has {len(title)} characters; keep it under {store.MAX_TITLE}"):
            store.save(analysis, path)
        event("refused: " + ("empty title" if not title else "title too long"))
        return
    event("saved, title unchanged" if title == analysis.title else "saved, title normalised")
    aid = store.save(analysis, path)
    again = store.load(aid, path)
    assert again.id == aid and again.title == title
    assert again == replace(analysis, id=aid, title=title, created=again.created, updated=again.updated)
    assert [f.data for f in again.files] == [f.data for f in analysis.files]
    assert [f.name for f in again.files] == [f.name for f in analysis.files]
    assert again.created and again.updated == again.created

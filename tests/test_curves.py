"""Training curves (Approach 1): loading long-format exports, the envelope against a brute-force
reference, the frontier against the generating law, and the user's mistakes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore import DataError, FitError
from scalecore.curves import approach1, envelope, interpolate_runs, load_curves, prepare_points

SAMPLE = Path(__file__).resolve().parents[1] / "sample_runs" / "curves" / "loss_curves.csv"
TOKENS_PER_STEP = 524288
ALPHA, BETA = 0.3478, 0.3658
A_TRUE = BETA / (ALPHA + BETA)  # N* ~ C^0.5126
LOSS_EXPONENT = ALPHA * BETA / (ALPHA + BETA)  # L* - E ~ C^-0.1783
E_TRUE = 1.8172


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def random_curves(seed=0, runs=7, sizes=None):
    """Curves with random lengths and logging steps (tokens logged directly)."""
    rng = np.random.default_rng(seed)
    rows = []
    sizes = sizes if sizes is not None else np.geomspace(1e7, 1e9, runs)
    for i, n in enumerate(sizes):
        tokens = np.unique(np.sort(rng.uniform(1e6, rng.uniform(2e9, 5e10), size=rng.integers(5, 60))))
        loss = 2 + 400 / n**0.34 + 2000 / tokens**0.36 + 0.05 * rng.standard_normal(len(tokens))
        rows += [{"run": f"m{i}", "N": n, "tokens": t, "loss": v} for t, v in zip(tokens, loss)]
    return pd.DataFrame(rows)


def brute_force_envelope(curves, grid, exclude=()):
    """Loop over runs and grid points with np.interp: the reference the fast envelope must equal."""
    R = len(curves.runs)
    best = np.full(len(grid), np.inf)
    who = np.full(len(grid), -1)
    for r in range(R):
        if curves.run_ids[r] in exclude:
            continue
        m = curves.run == r
        x, y = np.log(curves.compute[m]), np.log(curves.loss[m])
        for j, g in enumerate(grid):
            if x[0] <= g <= x[-1]:
                v = np.interp(g, x, y)
                if v < best[j]:
                    best[j], who[j] = v, r
    return np.exp(best), who


# ------------------------------------------------------------------------------ loading


def test_the_sample_loads_with_tokens_from_steps():
    c = load_curves(SAMPLE, tokens_per_step=TOKENS_PER_STEP)
    raw = pd.read_csv(SAMPLE)
    assert len(c) == len(raw) and len(c.runs) == 12
    assert c.columns["step"] == "step" and c.columns["tokens"] is None and c.metric == "loss"
    np.testing.assert_array_equal(c.tokens, c.step * TOKENS_PER_STEP)
    np.testing.assert_allclose(c.compute, 6 * c.params * c.tokens)
    last = raw.groupby("run_id").tail(1).set_index("run_id")
    assert dict(zip(c.runs["run_id"], c.runs["final"])) == pytest.approx(last["loss"].to_dict())


def test_a_step_only_file_needs_the_tokens_per_step():
    with pytest.raises(DataError, match=r"logs the step \(`step`\) but not the tokens seen; give the tokens per step"):
        load_curves(SAMPLE)
    with pytest.raises(DataError, match="`tokens_per_step` must be a positive number"):
        load_curves(SAMPLE, tokens_per_step="lots")
    assert load_curves(SAMPLE, tokens_per_step="0.5M").tokens_per_step == 5e5


def test_tracker_style_names_suffixes_and_gaps():
    df = pd.DataFrame({"Name": ["a"] * 3 + ["b"] * 3, "_step": [1, 2, 3, 1, 2, 3],
                       "train/loss": [4.0, "", 3.0, 5.0, 4.5, 4.0], "model_size": ["125M"] * 3 + ["1.3B"] * 3,
                       "tokens_seen": ["1M", "2M", "3M", "1,000,000", "2e6", "3e6"]})
    c = load_curves(csv_bytes(df))
    assert c.columns == {"run_id": "Name", "group": None, "params": "model_size", "step": "_step",
                         "tokens": "tokens_seen", "metric": "train/loss"}
    assert len(c) == 5 and any("1 row(s) without a `train/loss` value" in n for n in c.notes)
    assert c.runs["params"].tolist() == [1.25e8, 1.3e9]
    np.testing.assert_array_equal(c.tokens, [1e6, 3e6, 1e6, 2e6, 3e6])


def test_params_can_come_from_a_mapping_and_repeated_steps_keep_the_last():
    df = pd.DataFrame({"run_id": ["a", "a", "a", "b", "b"], "step": [1, 2, 2, 1, 2],
                       "loss": [3.0, 2.9, 2.8, 3.5, 3.4]})
    c = load_curves(csv_bytes(df), tokens_per_step=1000, params={"a": "7B", "b": 1e9})
    assert c.runs["params"].tolist() == [7e9, 1e9]
    assert c.loss.tolist() == [3.0, 2.8, 3.5, 3.4]
    assert any("logged twice" in n for n in c.notes)


@pytest.mark.parametrize("change, message", [
    (lambda df: df.drop(columns=["run"]), "no run id column"),
    (lambda df: df.drop(columns=["N"]), "no model size column"),
    (lambda df: df.drop(columns=["tokens"]), "no step or tokens column"),
    (lambda df: df.assign(loss=df["loss"].astype(object).where(df.index != 4, "oops")), r"column `loss`, row 6: 'oops' not numbers"),
    (lambda df: df.assign(loss=df["loss"].where(df.index != 2, -1.0)), r"column `loss`, row 4: values must be positive"),
    (lambda df: df.assign(N=df["N"].where(df.index != 3, 5e7)), r"run 'm0' has model size 1e\+07 and 5e\+07 \(row 5\)"),
])
def test_mistakes_name_the_column_and_rows(change, message):
    df = random_curves()
    with pytest.raises(DataError, match=message):
        load_curves(csv_bytes(change(df)))


# Reading goes through scalecore.io, as load_runs does (issue 20). Each test below is a file the old
# reader of this module got wrong; the catalogue in test_hostile.py checks the rest.

POINTS = "run,N,tokens,loss\nm0,1e8,1e9,3.5\nm0,1e8,2e9,3.2\nm1,1e9,1e9,3.1\nm1,1e9,2e9,2.8\n"


def test_an_infinite_loss_is_refused_not_skipped_as_missing():
    # was: the row was dropped and counted as "without a `loss` value"
    with pytest.raises(DataError, match=r"^`c.csv`, column `loss`, row 3: inf — a metric must be a finite number"):
        load_curves(POINTS.replace("3.2", "inf").encode(), name="c.csv")


def test_sizes_whose_compute_would_overflow_are_refused():
    # was: loaded, with compute = 6 N tokens = inf
    with pytest.raises(DataError, match=r"^`c.csv`, column `tokens`, row 3: 1e\+300 — outside 1e-12 to 1e\+40"):
        load_curves(POINTS.replace("2e9,3.2", "1e300,3.2").encode(), name="c.csv")
    with pytest.raises(DataError, match=r"^`c.csv`, column `N` \(params\), rows 4 and 5: 1e\+300 — outside"):
        load_curves(POINTS.replace("m1,1e9", "m1,1e300").encode(), name="c.csv")


def test_a_header_only_file_is_refused():
    # was: a Curves of 0 points, whose summary raised ValueError
    with pytest.raises(DataError, match=r"^`c.csv` has a header but no data rows; add one row per logged point"):
        load_curves(b"run,N,tokens,loss\n", name="c.csv")


def test_a_blank_run_id_is_empty_not_a_run_called_nothing():
    # was: a third run with the id ""
    with pytest.raises(DataError, match=r"^`c.csv`, column `run` \(run_id\), row 3: empty. Every point needs its run."):
        load_curves(POINTS.replace("m0,1e8,2e9", "  ,1e8,2e9").encode(), name="c.csv")


def test_row_numbers_count_blank_lines_and_lines_above_the_header():
    # was: blank lines were skipped before counting, so the row named was not the row in the file
    text = "\n" + POINTS.replace("m1,1e9,1e9,3.1\n", "\nm1,1e9,1e9,oops\n")
    with pytest.raises(DataError, match=r"column `loss`, row 6: 'oops' not numbers"):
        load_curves(text.encode(), name="c.csv")


def test_a_repeated_column_is_refused_not_read_as_the_first():
    with pytest.raises(DataError, match=r"^`c.csv`: the header has column `loss` 2 times \(columns 4 and 5\)"):
        load_curves(b"run,N,tokens,loss,loss\nm0,1e8,1e9,3.5,9\nm0,1e8,2e9,3.2,9\n", name="c.csv")


def test_units_in_curve_headers_are_applied_and_said_as_for_runs():
    text = POINTS.replace("run,N,tokens,loss", '"run","N (M)","tokens (B)","loss"').replace("1e8,", "100,")
    text = text.replace("1e9,1e9", "1000,1").replace("1e9,2e9", "1000,2")
    text = text.replace(",1e9,", ",1,").replace(",2e9,", ",2,")
    c = load_curves(text.encode(), name="c.csv")
    assert c.runs["params"].tolist() == [1e8, 1e9]
    np.testing.assert_array_equal(c.tokens, [1e9, 2e9, 1e9, 2e9])
    assert c.notes == ("`c.csv`, column `tokens (B)`: the header says the values are in billions; they were "
                       "multiplied by 1e9. If the header is wrong, rename the column.",
                       "`c.csv`, column `N (M)`: the header says the values are in millions; they were "
                       "multiplied by 1e6. If the header is wrong, rename the column.")


def test_a_model_label_shared_by_runs_is_not_read_as_a_run_id():
    # issue 21: a `model` column naming the architecture merged every run of it into one curve, said only
    # in a note ("... replaced by the later one")
    rows = [("d512", cfg, step, 4.0 - 0.001 * step - 0.1 * cfg) for cfg in (0, 1) for step in (100, 200, 300)]
    df = pd.DataFrame(rows, columns=["model", "lr_config", "step", "loss"]).assign(N=7.9e7)
    with pytest.raises(DataError, match=r"^`c.csv`, column `model` \(run_id\): 3 of 6 points repeat a step of their "
                                        r"`model` value, so `model` looks like a label shared by several runs"):
        load_curves(csv_bytes(df), tokens_per_step=1000, name="c.csv")
    df["run"] = [f"d512-lr{cfg}" for _, cfg, _, _ in rows]  # with a run column, that is the id: 2 curves
    c = load_curves(csv_bytes(df), tokens_per_step=1000, name="c.csv")
    assert c.columns["run_id"] == "run" and c.run_ids.tolist() == ["d512-lr0", "d512-lr1"] and c.notes == ()
    mapped = load_curves(csv_bytes(df.drop(columns="run")), tokens_per_step=1000, mapping={"run_id": "model"})
    assert len(mapped.runs) == 1 and "3 point(s) logged twice at the same step" in mapped.notes[0]  # as asked


def test_curves_from_a_dataframe_load_like_the_file():
    df = pd.read_csv(io.StringIO(POINTS))
    c = load_curves(df)
    assert c.source == "<DataFrame>" and c.run_ids.tolist() == ["m0", "m1"]
    from_file = load_curves(POINTS.encode())
    for attr in ("run", "tokens", "compute", "loss"):
        np.testing.assert_array_equal(getattr(c, attr), getattr(from_file, attr))


# ------------------------------------------------------------------------------ the envelope


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_envelope_equals_the_brute_force_reference(seed):
    c = load_curves(csv_bytes(random_curves(seed)))
    env = envelope(c, n_grid=157)
    ref_loss, ref_run = brute_force_envelope(c, np.log(env.compute))
    np.testing.assert_allclose(env.loss, ref_loss, rtol=1e-12)
    np.testing.assert_array_equal(env.run, ref_run)
    np.testing.assert_array_equal(env.params, c.runs["params"].to_numpy()[ref_run])
    # excluding the run that sets most of the envelope: the reference without it
    top = c.run_ids[np.bincount(env.run).argmax()]
    env2 = envelope(c, n_grid=157, exclude=[top])
    ref2, who2 = brute_force_envelope(c, np.log(env2.compute), exclude=[top])
    np.testing.assert_allclose(env2.loss, ref2, rtol=1e-12)
    assert top not in env2.run_ids and env2.excluded == (top,)


def test_interpolation_is_exact_at_the_logged_points_and_nan_outside():
    c = load_curves(csv_bytes(random_curves(3)))
    pts = prepare_points(c)
    r = 2
    s, e = pts.starts[r], pts.ends[r]
    Y = interpolate_runs(pts, pts.log_compute[s:e])
    np.testing.assert_allclose(Y[r], pts.log_loss[s:e], rtol=1e-12)
    outside = interpolate_runs(pts, np.array([pts.log_compute[s] - 1e-6, pts.log_compute[e - 1] + 1e-6]))
    assert np.isnan(outside[r]).all()


def test_bracketing_needs_a_smaller_and_a_larger_model_at_that_compute():
    c = load_curves(csv_bytes(random_curves(4)))
    env = envelope(c, n_grid=120)
    n = c.runs["params"].to_numpy()
    for j in np.flatnonzero(env.run >= 0):
        covering = [r for r in range(len(n)) if c.compute[c.run == r].min() <= env.compute[j] * (1 + 1e-12)
                    and c.compute[c.run == r].max() >= env.compute[j] * (1 - 1e-12)]
        expect = any(n[r] < env.params[j] for r in covering) and any(n[r] > env.params[j] for r in covering)
        assert env.bracketed[j] == expect


def test_smoothing_is_a_centred_mean_of_log_loss_within_each_run():
    c = load_curves(csv_bytes(random_curves(5)))
    pts = prepare_points(c, smoothing=3)
    raw = pd.DataFrame({"run": c.run, "ll": np.log(c.loss)})
    expect = raw.groupby("run")["ll"].transform(lambda s: s.rolling(7, center=True, min_periods=1).mean())
    np.testing.assert_allclose(pts.log_loss, expect.to_numpy(), rtol=1e-12)


def test_warm_up_skipping():
    c = load_curves(SAMPLE, tokens_per_step=TOKENS_PER_STEP)
    pts = prepare_points(c, skip_steps=500)
    assert len(pts.run) == int((c.step > 500).sum())
    frac = prepare_points(c, skip_fraction=0.25)
    tmax = c.runs["tokens_max"].to_numpy()[c.run]
    assert len(frac.run) == int((c.tokens >= 0.25 * tmax).sum())
    tokens_only = load_curves(csv_bytes(random_curves(0)))
    with pytest.raises(FitError, match="log tokens, not steps"):
        prepare_points(tokens_only, skip_steps=10)
    with pytest.raises(FitError, match="`skip_fraction` must be at least 0 and below 1"):
        prepare_points(c, skip_fraction=1.0)


def test_checkpoints_from_step_0_load_with_step_0_left_out_and_counted():
    """Pythia's and most trackers' curves start at step 0 (0 tokens: no compute, log C undefined). The load
    leaves those points out with a note that counts them, instead of refusing a file whose warm-up the
    user could then not skip; the other points are read exactly as without the step-0 rows."""
    bad = Path(__file__).resolve().parent / "fixtures" / "bad" / "curves" / "step_zero.csv"
    c = load_curves(bad, tokens_per_step=1000)
    assert c.step.tolist() == [100.0, 100.0] and c.tokens.tolist() == [1e5, 1e5]
    assert c.loss.tolist() == [3.2, 2.8]
    assert c.compute.tolist() == [6 * 1e8 * 1e5, 6 * 1e9 * 1e5]
    assert any("2 point(s) at step 0" in n for n in c.notes)
    df = random_curves(3)
    zero = df.groupby("run", as_index=False).first().assign(tokens=0.0, loss=11.0)
    with_zero = load_curves(csv_bytes(pd.concat([zero, df], ignore_index=True)))
    plain = load_curves(csv_bytes(df))
    np.testing.assert_array_equal(with_zero.compute, plain.compute)
    np.testing.assert_array_equal(with_zero.loss, plain.loss)
    assert any(f"{len(zero)} point(s) at step 0" in n for n in with_zero.notes)
    with pytest.raises(DataError, match="steps must be positive numbers"):  # a negative step is still refused
        load_curves(bad.with_name("negative_step.csv"), tokens_per_step=1000)
    with pytest.raises(DataError, match="column `step`: every point is at step 0"):
        load_curves(b"run,N,step,loss\nm0,1e8,0,3.5\nm1,1e9,0,3.1\n", tokens_per_step=1000)


# ------------------------------------------------------------------------------ the frontier (known truth)


@pytest.fixture(scope="module")
def sample_frontier():
    c = load_curves(SAMPLE, tokens_per_step=TOKENS_PER_STEP)
    return approach1(c, skip_steps=500, smoothing=5, n_resamples=1000, seed=0)


def test_frontier_recovers_the_generating_exponent(sample_frontier):
    a = sample_frontier.a
    assert a.low <= A_TRUE <= a.high
    assert abs(a.value - A_TRUE) < 0.02
    assert sample_frontier.used.sum() >= 50
    assert set(np.unique(sample_frontier.envelope.run_ids[sample_frontier.used])) >= {"curve-03", "curve-06", "curve-09"}


def test_the_envelope_loss_follows_the_laws_frontier(sample_frontier):
    """Along the Chinchilla frontier L*(C) = E + K C^-(alpha beta / (alpha + beta)): the
    offset power law fitted to the envelope recovers E and that exponent within their intervals."""
    fit = sample_frontier.loss
    ci = fit.confidence_interval
    assert ci["E"][0] <= E_TRUE <= ci["E"][1]
    assert ci["alpha"][0] <= LOSS_EXPONENT <= ci["alpha"][1]
    opt = sample_frontier.compute_optimal(1e21)
    G = (ALPHA * 482.01 / (BETA * 2085.43)) ** (1 / (ALPHA + BETA))
    assert opt["params"].low <= G * (1e21 / 6) ** A_TRUE <= opt["params"].high  # a decade beyond the fitted range
    assert opt["tokens"].value == pytest.approx(1e21 / (6 * opt["params"].value))


def test_too_few_bracketed_points_is_a_fit_error():
    df = random_curves(0, sizes=[1e8, 1e9])
    c = load_curves(csv_bytes(df))
    with pytest.raises(FitError, match="a frontier needs at least 2 runs setting it"):
        approach1(c, n_resamples=20)
    with pytest.raises(FitError, match="an envelope needs at least 2 runs"):
        envelope(c, exclude=["m0"])


def test_a_million_rows_load_and_envelope_correctly():
    """The size the page promises to handle; timings are in bench/bench_curves.py, not here."""
    rng = np.random.default_rng(0)
    runs, per = 40, 25_000
    n = np.repeat(np.geomspace(1e7, 1e10, runs), per)
    step = np.tile(np.arange(1, per + 1), runs)
    loss = 1.8 + 480 / n**0.35 + 2000 / (step * 4096.0) ** 0.37
    df = pd.DataFrame({"run_id": np.repeat([f"r{i:02d}" for i in range(runs)], per), "params": n, "step": step,
                       "loss": loss * np.exp(0.01 * rng.standard_normal(len(n)))})
    c = load_curves(csv_bytes(df), tokens_per_step=4096)
    assert len(c) == 1_000_000 and len(c.runs) == runs
    env = envelope(c, n_grid=300)
    grid = np.log(env.compute)
    per_run = []
    for r in range(runs):  # the reference, one np.interp per run
        m = c.run == r
        x, y = np.log(c.compute[m]), np.log(c.loss[m])
        per_run.append(np.where((grid >= x[0]) & (grid <= x[-1]), np.interp(grid, x, y), np.inf))
    per_run = np.array(per_run)
    np.testing.assert_allclose(env.loss, np.exp(per_run.min(axis=0)), rtol=1e-12)
    np.testing.assert_array_equal(env.run, per_run.argmin(axis=0))


def test_results_print_a_summary_not_their_arrays(sample_frontier):
    text = repr(sample_frontier)
    assert len(text.splitlines()) <= 4 and len(text) < 600 and "array(" not in text
    a = sample_frontier.a
    assert text.startswith("Approach1Fit: N*(C) = k_N C^a with a = ") and f"{a.value:.3f}" in text
    env = repr(sample_frontier.envelope)
    assert env.startswith("Envelope(") and "array(" not in env and len(env) < 300

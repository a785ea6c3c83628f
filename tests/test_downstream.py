"""Two-step downstream prediction: known constants are recovered, the chain's interval covers the
known accuracy of a held-out run, and both steps share one bootstrap.

The data are synthetic, drawn by sample_runs/generate.py (loss from Chinchilla's law with
Besiroglu et al.'s constants, accuracy = logistic of the loss + noise); its constants are the truth.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from scalecore import DataError, FitError, load_runs
from scalecore.downstream import ACCURACY_PARAMS, accuracy_from_loss, fit_downstream
from scalecore.families import get_family
from scalecore.fitting import predict

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_runs" / "downstream_accuracy.csv"
HEADER = "run_id,params,tokens,compute,loss,accuracy"


def _generator():
    spec = importlib.util.spec_from_file_location("sample_generate", ROOT / "sample_runs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
TRUE_LOSS_LAW = GEN.CHINCHILLA
TRUE_ACCURACY_LAW = GEN.DOWNSTREAM_ACCURACY
TARGET = GEN.downstream_target()


def runs_for(seed: int, rows=None):
    rows = rows if rows is not None else GEN.downstream_rows(seed)
    return load_runs((HEADER + "\n" + "\n".join(",".join(r) for r in rows)).encode(), names=[f"ds{seed}.csv"])


@pytest.fixture(scope="module")
def sample():
    return fit_downstream(load_runs(SAMPLE), "chinchilla", n_resamples=1000, seed=0)


# ------------------------------------------------------------------------------ the sample


def test_the_sample_file_is_what_the_generator_writes():
    rows = GEN.downstream_rows(GEN.DOWNSTREAM_SEED)
    text = SAMPLE.read_text().splitlines()
    assert text[0] == HEADER + ",source"
    assert text[1:] == [",".join(r + ["synthetic"]) for r in rows]
    assert len(rows) == 32 and sum(r[5] == "" for r in rows) == 6


def test_chained_interval_contains_the_true_accuracy_of_the_held_out_run(sample):
    pred = sample.predict_at(params=TARGET["params"], tokens=TARGET["tokens"])
    assert pred.covers(TARGET["accuracy"]), (pred, TARGET)
    assert abs(pred.value - TARGET["accuracy"]) < 0.03
    assert pred.low < pred.median < pred.high
    assert pred.n_failed == sample.n_failed
    # an honest interval for a 56x extrapolation: a few points of accuracy, not 0.001 and not 0.5
    assert 0.02 < pred.high - pred.low < 0.15
    # the chain's point and samples are step 2 applied to step 1, resample by resample
    loss_samples = predict("chinchilla", sample.loss_law.good, params=TARGET["params"], tokens=TARGET["tokens"])
    np.testing.assert_allclose(pred.samples, accuracy_from_loss(sample.accuracy_samples, loss_samples), rtol=1e-12)
    assert pred.value == pytest.approx(accuracy_from_loss(sample.accuracy_params, pred.loss.value), rel=1e-12)


def test_stated_constants_lie_in_simultaneous_intervals():
    """Nine constants at once: each interval at 1 - 0.05/9 (Bonferroni, 99.5%), so that all of them
    cover the truth with probability >= 95% for calibrated intervals."""
    boot = fit_downstream(load_runs(SAMPLE), n_resamples=2000, seed=0, confidence_level=0.995)
    for name, (lo, hi) in boot.loss_law.confidence_interval.items():
        assert lo <= TRUE_LOSS_LAW[name] <= hi, (name, lo, hi)
    for name, (lo, hi) in boot.accuracy_interval.items():
        assert lo <= TRUE_ACCURACY_LAW[name] <= hi, (name, lo, hi)
    # and the point estimates are close: exponents within 0.07, the accuracy map within a few points
    fit = boot.loss_law.fit.params
    assert abs(fit["alpha"] - TRUE_LOSS_LAW["alpha"]) < 0.07 and abs(fit["beta"] - TRUE_LOSS_LAW["beta"]) < 0.07
    acc = boot.accuracy_params
    assert abs(acc["floor"] - 0.25) < 0.02 and abs(acc["loss_mid"] - 2.6) < 0.06 and abs(acc["ceiling"] - 0.85) < 0.08


def test_runs_without_accuracy_serve_step_one_only(sample):
    assert sample.loss_law.fit.n_points == 32
    assert sample.accuracy_law.fit.n_points == 26
    assert any("6 run(s) have no `accuracy` value: used in step 1" in w for w in sample.warnings)
    blank = {r[0] for r in GEN.downstream_rows(GEN.DOWNSTREAM_SEED) if r[5] == ""}
    assert blank <= set(sample.loss_law.fit.problem.run_ids)
    assert not blank & set(sample.accuracy_law.fit.problem.run_ids)


def test_both_steps_share_one_failed_mask_and_a_label_that_says_so(sample):
    assert sample.joint
    np.testing.assert_array_equal(sample.loss_law.failed, sample.accuracy_law.failed)
    assert len(sample.loss_law.good) == len(sample.accuracy_law.good) == 1000 - sample.n_failed
    assert "joint case resamples of both steps" in sample.interval_label


# ------------------------------------------------------------------------------ the maths


def test_step_two_is_the_logistic_family_on_ten_to_the_minus_loss():
    loss = np.linspace(1.5, 4.5, 13)
    named = {"floor": 0.25, "ceiling": 0.85, "slope": 4.0, "loss_mid": 2.6}
    logistic = get_family("logistic").predict(np.array([0.25, 0.85, 4.0, -2.6]), {"x": 10.0 ** -loss})
    np.testing.assert_allclose(accuracy_from_loss(named, loss), logistic, rtol=1e-13)
    # accuracy falls as loss rises, from the ceiling to the floor, half-way at loss_mid
    acc = accuracy_from_loss(named, loss)
    assert np.all(np.diff(acc) < 0)
    assert accuracy_from_loss(named, 2.6) == pytest.approx(0.55)


def test_noiseless_runs_give_back_the_constants_and_the_target():
    rows = []
    sizes = np.geomspace(5e7, 2e9, 8)
    for i, n in enumerate(sizes):
        for ratio in (10, 20, 40, 80):
            loss = GEN.chinchilla_loss(n, ratio * n, **TRUE_LOSS_LAW)
            acc = accuracy_from_loss(TRUE_ACCURACY_LAW, loss)
            rows.append([f"r{i}-{ratio}"] + [repr(float(v)) for v in (n, ratio * n)] + [""]
                        + [repr(float(v)) for v in (loss, acc)])
    boot = fit_downstream(runs_for(0, rows), n_resamples=50, seed=1, loss="ls", delta=1.0)
    for name, value in TRUE_LOSS_LAW.items():
        assert boot.loss_law.fit.params[name] == pytest.approx(value, rel=2e-3), name
    for name, value in TRUE_ACCURACY_LAW.items():
        assert boot.accuracy_params[name] == pytest.approx(value, rel=1e-4), name
    pred = boot.predict_at(params=TARGET["params"], tokens=TARGET["tokens"])
    assert pred.value == pytest.approx(TARGET["accuracy"], abs=1e-4)
    assert pred.loss.value == pytest.approx(TARGET["loss"], abs=1e-4)


def test_a_one_input_loss_law_against_compute_chains_too():
    runs = load_runs(SAMPLE)
    boot = fit_downstream(runs, "offset_power_law", "compute", n_resamples=300, seed=0)
    assert boot.loss_law.fit.x == "compute"
    pred = boot.predict_at(TARGET["compute"])
    assert pred.target == {"x": TARGET["compute"]}
    # loss against compute alone averages over the 4 token ratios, so it is rougher, but still near
    assert abs(pred.value - TARGET["accuracy"]) < 0.05
    band = boot.band(np.geomspace(1e18, 1e23, 7))
    assert np.all(band["lower"] <= band["median"]) and np.all(band["median"] <= band["upper"])
    assert np.all(np.diff(band["point"]) > 0), "more compute, lower loss, higher accuracy"
    json.dumps(boot.to_dict())


def test_a_separate_set_of_runs_for_step_two():
    """Step 1 on runs with loss only, step 2 on other runs with both: resampled independently."""
    rows = GEN.downstream_rows(GEN.DOWNSTREAM_SEED)
    loss_only = runs_for(0, [r[:5] + [""] for r in rows])
    with_acc = runs_for(1, [r for r in rows if r[5]])
    boot = fit_downstream(loss_only, accuracy_runs=with_acc, loss_metric="loss", accuracy_metric="accuracy",
                          n_resamples=300, seed=0)
    assert not boot.joint and "independent case resamples" in boot.interval_label
    assert boot.loss_law.fit.n_points == 32 and boot.accuracy_law.fit.n_points == 26
    pred = boot.predict_at(params=TARGET["params"], tokens=TARGET["tokens"])
    assert pred.covers(TARGET["accuracy"])


def test_exclusions_leave_a_run_out_of_both_steps(sample):
    runs = load_runs(SAMPLE)
    boot = fit_downstream(runs, exclude=["ds-n7-r80", "no-such-run"], n_resamples=100, seed=0)
    for step in (boot.loss_law, boot.accuracy_law):
        assert step.fit.n_excluded == 1
        assert "ds-n7-r80" not in set(step.fit.problem.run_ids)
    assert boot.loss_law.fit.n_points == 31 and boot.accuracy_law.fit.n_points == 25


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_ones():
    runs = load_runs(SAMPLE)
    a, b, c = (fit_downstream(runs, n_resamples=200, seed=s) for s in (3, 3, 4))
    t = dict(params=TARGET["params"], tokens=TARGET["tokens"])
    assert a.predict_at(**t).to_dict() == b.predict_at(**t).to_dict()
    assert a.predict_at(**t).low != c.predict_at(**t).low


def test_accuracy_band_against_loss_is_step_two(sample):
    loss = np.linspace(2.0, 4.0, 9)
    band = sample.accuracy_band(loss)
    np.testing.assert_allclose(band.point, accuracy_from_loss(sample.accuracy_params, loss), rtol=1e-12)
    assert np.all(band.lower <= band.point + 1e-9) and np.all(band.point <= band.upper + 1e-9)
    # within 2 points of the true map over the data's range of losses (pointwise 95% bands need not
    # all cover the truth at once; the simultaneous test above checks the constants)
    truth = accuracy_from_loss(TRUE_ACCURACY_LAW, loss)
    assert np.max(np.abs(band.point - truth)) < 0.02


def test_str_and_dict_name_the_parameters_in_terms_of_the_loss(sample):
    text = str(sample)
    for name in ACCURACY_PARAMS:
        assert name in text
    d = sample.to_dict()
    assert set(d["accuracy_law"]["params"]) == set(ACCURACY_PARAMS)
    assert d["bootstrap"]["n_resamples"] == 1000
    json.dumps(d)


def test_repr_is_a_few_lines_with_both_steps_values(sample):
    text = repr(sample)
    assert len(text.splitlines()) < 20 and "array(" not in text
    for name, value in sample.loss_law.fit.params.items():
        lo, hi = sample.loss_law.confidence_interval[name]
        assert f"{name}={value:.4g} [{lo:.4g}, {hi:.4g}]" in text
    for name, value in sample.accuracy_params.items():
        lo, hi = sample.accuracy_interval[name]
        assert f"{name}={value:.4g} [{lo:.4g}, {hi:.4g}]" in text
    html = sample._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == 1 + len(sample.loss_law.fit.params) + len(ACCURACY_PARAMS)


def test_step_one_is_the_public_fit_of_the_runs(sample):
    from scalecore import FitSpec, fit

    want = fit(load_runs(SAMPLE), FitSpec("chinchilla", y=sample.loss_metric))
    assert sample.loss_law.fit.theta.tobytes() == want.theta.tobytes()


# ------------------------------------------------------------------------------ user mistakes


def test_no_accuracy_column_says_which_columns_there_are():
    runs = load_runs(ROOT / "sample_runs" / "chinchilla_like.csv")
    with pytest.raises(DataError, match=r"step 2.*no accuracy column.*`loss`"):
        fit_downstream(runs, n_resamples=10)


def test_too_few_runs_with_accuracy_is_a_fit_error_that_says_what_to_do():
    rows = GEN.downstream_rows(GEN.DOWNSTREAM_SEED)
    with_acc = [i for i, r in enumerate(rows) if r[5]][:4]
    rows = [r if i in with_acc else r[:5] + [""] for i, r in enumerate(rows)]
    with pytest.raises(FitError, match=r"step 2 .*found 4 run\(s\) with both `loss` and `accuracy`.*Add accuracy"):
        fit_downstream(runs_for(0, rows), n_resamples=10)


def test_a_score_family_is_not_a_loss_law():
    with pytest.raises(FitError, match="step 1 needs a loss law; `logistic`"):
        fit_downstream(load_runs(SAMPLE), "logistic", "params", n_resamples=10)


def test_the_same_column_twice_is_refused():
    with pytest.raises(DataError, match="same column"):
        fit_downstream(load_runs(SAMPLE), loss_metric="loss", accuracy_metric="loss", n_resamples=10)


def test_a_target_must_match_the_loss_law(sample):
    with pytest.raises(FitError, match="give both"):
        sample.predict_at(7e9)
    with pytest.raises(FitError, match="positive"):
        sample.predict_at(params=-1.0, tokens=1e11)


def test_bad_bootstrap_arguments_are_named():
    with pytest.raises(FitError, match="`n_resamples`"):
        fit_downstream(load_runs(SAMPLE), n_resamples=1)


# ------------------------------------------------------------------------------ calibration


@pytest.mark.slow
def test_coverage_of_the_chained_interval_over_50_seeded_datasets():
    """How often the 95% chained interval covers the held-out run's true accuracy (and the 95%
    interval of step 1's loss at the target covers its true loss). A loose bar: >= 40 of 50."""
    covered = covered_loss = 0
    for seed in range(1000, 1050):
        boot = fit_downstream(runs_for(seed), n_resamples=500, seed=seed)
        pred = boot.predict_at(params=TARGET["params"], tokens=TARGET["tokens"])
        covered += pred.covers(TARGET["accuracy"])
        covered_loss += pred.loss.low <= TARGET["loss"] <= pred.loss.high
    print(f"chained 95% interval covered the true accuracy in {covered}/50 datasets; "
          f"step-1 loss interval covered the true loss in {covered_loss}/50")
    assert covered >= 40


# ------------------------------------------------------------------------------ command line


def test_cli_prints_the_chained_prediction_of_the_library(capsys):
    from scalecore.cli import main

    assert main(["downstream", str(SAMPLE), "--params", "30B", "--tokens", "600B", "--bootstrap", "200",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = fit_downstream(load_runs(SAMPLE), n_resamples=200, seed=0).predict_at(params=3e10, tokens=6e11)
    assert out["prediction"]["accuracy"] == pytest.approx(expected.value, rel=1e-12)
    assert (out["prediction"]["low"], out["prediction"]["high"]) == pytest.approx((expected.low, expected.high))
    assert out["accuracy_law"]["n_points"] == 26 and out["loss_law"]["n_points"] == 32


def test_cli_user_error_is_one_line_and_status_2(capsys):
    from scalecore.cli import main

    chinchilla = ROOT / "sample_runs" / "chinchilla_like.csv"
    assert main(["downstream", str(chinchilla), "--params", "30B", "--tokens", "600B", "--bootstrap", "20"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--accuracy-metric" in err

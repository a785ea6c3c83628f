"""The identifiability verdict: known-identified and known-unidentifiable runs, and the
linearised standard errors against a finite-difference reference written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalecore import NotIdentified, fit, load_runs
from scalecore.diagnostics import verdict
from scalecore.identifiability import MAX_LOG_SE, check, curvature
from tests.synth import TRUTH, frame, runs_of


def test_chinchilla_on_a_grid_of_ratios_is_identified():
    runs = runs_of(frame("chinchilla", seed=1))
    v = verdict(runs, fit(runs, "chinchilla"))
    assert v.identified, v.text()
    assert v.reasons == ()
    # every parameter determined far better than the limits
    assert all(se < 0.5 for se in v.standard_errors.values())


def test_one_tokens_per_parameter_ratio_refuses_chinchilla_and_names_a_law_that_fits():
    df = frame("offset_power_law", seed=2, n_points=25)  # tokens = 20 x params for every run
    df["compute"] = 6 * df["params"] * df["tokens"]
    runs = runs_of(df)
    v = verdict(runs, fit(runs, "chinchilla"))
    assert not v.identified
    assert any("one tokens-per-parameter ratio" in r and "D/N ≈ 20" in r for r in v.reasons)
    assert v.alternative == "offset_power_law" and v.alternative_x == "compute"
    assert "Use the saturating power law against compute." in v.text()


def test_broken_power_law_without_a_break_is_refused_with_a_break_is_not():
    flat = runs_of(frame("offset_power_law", seed=3, n_points=40))
    v = verdict(flat, fit(flat, "broken_power_law", x="params"))
    assert not v.identified
    assert set(v.undetermined) & {"x_b", "f", "c", "E", "A"}
    assert v.alternative == "offset_power_law"
    broken = runs_of(frame("broken_power_law", seed=3, noise=0.002))
    assert check(fit(broken, "broken_power_law", x="params")).identified


def test_bundled_chinchilla_sample_passes_and_its_broken_power_law_does_not():
    runs = load_runs("sample_runs/chinchilla_like.csv")
    assert check(fit(runs, "chinchilla")).identified
    assert check(fit(runs, "kaplan")).identified
    v = check(fit(runs, "broken_power_law", x="compute"))
    assert not v.identified and "f" in v.undetermined


def _offset_log_model(theta, x):
    """log(E + A x^-alpha) in the internal coordinates (log E, log A, alpha), written out."""
    le, la, alpha = theta
    return np.log(np.exp(le) + np.exp(la) * x ** (-alpha))


def test_standard_errors_match_a_finite_difference_reference():
    df = frame("offset_power_law", seed=4, noise=0.01, n_points=30)
    runs = runs_of(df)
    result = fit(runs, "offset_power_law", x="params", loss="ls")
    x = df["params"].to_numpy()
    y = np.log(df["loss"].to_numpy())
    t = np.array([math.log(result.params["E"]), math.log(result.params["A"]), result.params["alpha"]])
    J = np.empty((len(x), 3))
    for j in range(3):
        h = 1e-6 * max(1.0, abs(t[j]))
        up, dn = t.copy(), t.copy()
        up[j] += h
        dn[j] -= h
        J[:, j] = (_offset_log_model(up, x) - _offset_log_model(dn, x)) / (2 * h)
    r = _offset_log_model(t, x) - y
    s2 = r @ r / (len(x) - 3)
    se_ref = np.sqrt(np.diag(np.linalg.inv(J.T @ J)) * s2)
    _, se = curvature(result)
    assert [se["E"], se["A"], se["alpha"]] == pytest.approx(se_ref, rel=1e-4)
    # and the truth lies within 4 standard errors (an honest linearisation on identified data)
    truth = TRUTH["offset_power_law"]
    assert abs(math.log(truth["E"]) - t[0]) < 4 * se["E"] < MAX_LOG_SE
    assert abs(truth["alpha"] - t[2]) < 4 * se["alpha"]


# ------------------------------------------------------------------------------ in the bootstrap


@pytest.mark.parametrize("path, family, x", [
    ("sample_runs/chinchilla_like.csv", "chinchilla", None),
    ("sample_runs/chinchilla_like.csv", "kaplan", None),
    ("sample_runs/compute_saturating.csv", "offset_power_law", "compute"),
    ("sample_runs/kaplan_like.csv", "chinchilla", None),  # a misfit law: 20% still moving at the check
])
def test_the_early_stop_changes_nothing_for_a_family_whose_resamples_settle(path, family, x):
    result = fit(load_runs(path), family, x=x)
    guarded = result.bootstrap(300, seed=3)
    plain = result.bootstrap(300, seed=3, refuse_unidentified=False)
    np.testing.assert_array_equal(guarded.failed, plain.failed)
    np.testing.assert_array_equal(guarded.samples, plain.samples)  # bit for bit, so every interval too


def test_a_bootstrap_whose_resamples_do_not_settle_stops_with_the_reason():
    runs = load_runs("sample_runs/isoflop_offcentre.csv")
    result = fit(runs, "broken_power_law", x="compute")
    assert check(result).identified  # the full-data fit alone does not show it ...
    with pytest.raises(NotIdentified, match=r"of 1000 bootstrap resamples were still moving after (60|150) iterations"):
        result.bootstrap(1000, seed=0)
    # ... and what it stops: ground to the end, most resamples never converge
    ground = result.bootstrap(1000, seed=0, refuse_unidentified=False)
    assert ground.n_failed > 50


def test_a_family_the_fit_already_shows_unidentified_is_refused_before_any_resample(monkeypatch):
    runs = load_runs("sample_runs/architectures_crossover.csv")
    result = fit(runs, "chinchilla")
    import sys

    def no_resample(*a, **k):
        raise AssertionError("resampled a family the verdict refuses")

    monkeypatch.setattr(sys.modules["scalecore.bootstrap"], "resample_weights", no_resample)
    with pytest.raises(NotIdentified) as info:
        result.bootstrap(1000, seed=0)
    assert "one tokens-per-parameter ratio" in str(info.value)
    enriched = verdict(runs, result, base=info.value.verdict)
    assert enriched.alternative == "offset_power_law" and enriched.alternative_x == "compute"


def test_a_loss_law_on_a_rising_accuracy_is_refused_and_the_logistic_law_is_named():
    # Accuracy rising with N and D: E + A/N^alpha + B/D^beta (A, B >= 0) can only fall, so its best
    # fit is the constant E with A and B at zero -- in log space a location estimate: with Huber's
    # delta = 1e-3 (nearly L1) the median of log accuracy, written out here.
    rng = np.random.default_rng(5)
    n = 10 ** rng.uniform(7, 10, 60)
    d = n * 10 ** rng.uniform(0.5, 2.0, 60)
    acc = 0.25 + 0.5 / (1 + np.exp(-2.5 * (np.log10(6 * n * d) - 20.0)))
    acc *= np.exp(rng.normal(0, 0.01, 60))
    import pandas as pd

    runs = load_runs(pd.DataFrame({"params": n, "tokens": d, "accuracy": acc}))
    f = fit(runs, "chinchilla")
    pinned = {"A", "B"} & set(f.at_bound)
    assert pinned == {"A", "B"}
    assert math.isclose(f.params["E"], math.exp(np.median(np.log(acc))), rel_tol=0.01)
    v = verdict(runs, f)
    assert not v.identified  # with A = B = 0 the exponents change nothing: undetermined
    assert v.alternative == "logistic"  # a law for accuracies, not offset/plain power laws for losses
    with pytest.raises(NotIdentified):
        f.bootstrap(200, seed=0)


def test_chinchilla_on_gadre_accuracies_collapses_onto_its_bounds():
    # Gadre et al.'s 17-task average (the excerpt in tests/fixtures/real): Chinchilla's law puts A,
    # B, alpha and beta at their bounds, i.e. the constant E, which with Huber's delta = 1e-3 in log
    # space is (nearly) the median of log accuracy. Its bootstrap took 1.3 s to say as much.
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "real" / "gadre2024_runs_excerpt.csv"
    runs = load_runs(path, mapping={"metric": "accuracy_avg17"})
    f = fit(runs, "chinchilla")
    assert set(f.at_bound) == {"A", "B", "alpha", "beta"}
    acc = runs.frame["accuracy_avg17"].to_numpy(float)
    assert math.isclose(f.params["E"], math.exp(np.median(np.log(acc))), rel_tol=0.02)
    v = verdict(runs, f)
    assert not v.identified
    assert any("collapses onto its bounds (4 of its 5 parameters" in r for r in v.reasons), v.reasons
    assert v.alternative == "logistic"


def test_a_logistic_whose_midpoint_lies_outside_the_runs_is_refused_and_one_inside_is_not():
    # A sigmoid seen only on one side of its midpoint: the plateau on the other side is extrapolated.
    # Written out here: y = 0.2 + 0.6 / (1 + exp(-2 (log10 x - m))), runs at x = 1e18..1e22.
    import pandas as pd

    x = np.geomspace(1e18, 1e22, 30)
    noise = np.random.default_rng(3).normal(0, 0.005, x.size)
    for mid, refused in ((20.0, False), (17.5, True)):
        acc = 0.2 + 0.6 / (1 + np.exp(-2.0 * (np.log10(x) - mid))) + noise
        runs = load_runs(pd.DataFrame({"compute": x, "accuracy": acc}))
        f = fit(runs, "logistic", x="compute")
        v = check(f)
        said = any("the sigmoid's midpoint" in r and "below the smallest run (10^18.0)" in r for r in v.reasons)
        assert said == refused, (mid, v.reasons)
        if not refused:
            assert v.identified and abs(f.params["log10_mid"] - mid) < 0.1
        else:  # what the refusal spares: the unseen plateau comes out wrong (0.39 for a true 0.2)
            assert abs(f.params["y0"] - 0.2) > 0.1


def test_a_broken_power_law_whose_break_lies_beyond_the_runs_is_refused():
    # compute_saturating's runs end at 1e23; the broken power law puts its break beyond them.
    from pathlib import Path

    runs = load_runs(Path(__file__).parents[1] / "sample_runs" / "compute_saturating.csv")
    f = fit(runs, "broken_power_law")
    assert math.log10(f.params["x_b"]) > math.log10(runs.values("compute").max())
    v = verdict(runs, f)
    assert not v.identified and any("the break" in r and "beyond the largest run" in r for r in v.reasons)
    assert v.alternative == "offset_power_law"

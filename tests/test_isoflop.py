"""IsoFLOP profiles (Approach 2): vertices against closed form, exponents against the generating law,
the off-centre bias against Approach 3, and the user's mistakes."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore import DataError, FitError, bootstrap, load_runs
from scalecore.isoflop import budget_labels, compare_with_approach3, fit_parabolas, isoflop_profiles, vertex

SAMPLES = Path(__file__).resolve().parents[1] / "sample_runs"
CHINCHILLA = SAMPLES / "chinchilla_like.csv"
OFFCENTRE = SAMPLES / "isoflop_offcentre.csv"
ALPHA, BETA = 0.3478, 0.3658
A_TRUE = BETA / (ALPHA + BETA)  # 0.5126
DIVERGED = ("iso1e19-n17", "iso1e20-n03", "iso6e20-n11", "iso3e21-n22")


def runs_of(df: pd.DataFrame):
    return load_runs(io.BytesIO(df.to_csv(index=False).encode()), names=["iso.csv"])


def parabola_runs(a=0.55, k_n=0.08, budgets=(1e18, 1e19, 1e20, 1e21), per=9, curvature=0.02, shift=0.0):
    """Runs whose log loss is an exact parabola in ln N with its vertex at N* = k_n C^a."""
    rows = []
    for c in budgets:
        n_star = k_n * c**a
        ln = np.log(n_star) + shift + np.linspace(-2.0, 2.0, per)
        loss = np.exp(np.log(2.0) + curvature * (ln - np.log(n_star)) ** 2)
        for i, (x, y) in enumerate(zip(np.exp(ln), loss)):
            rows.append({"run_id": f"c{c:.0e}-{i}", "params": x, "compute": c, "loss": y})
    return runs_of(pd.DataFrame(rows))


# ------------------------------------------------------------------------------ parabolas


@pytest.mark.parametrize("robust", [True, False])
def test_parabola_vertex_is_the_closed_form(robust):
    v = np.linspace(-1.0, 1.0, 11)
    c0, c1, c2 = 0.7, -0.3, 0.45
    t = c0 + c1 * v + c2 * v * v
    coef, omega, ok = fit_parabolas(v[None, :], t[None, :], np.ones((1, 11)), robust=robust)
    assert ok[0]
    np.testing.assert_allclose(coef[0], [c0, c1, c2], atol=1e-10)
    vs, value = vertex(coef)
    assert vs[0] == pytest.approx(-c1 / (2 * c2), abs=1e-10)
    assert value[0] == pytest.approx(c0 - c1**2 / (4 * c2), abs=1e-10)


def test_robust_parabola_ignores_a_diverged_point_and_least_squares_does_not():
    v = np.linspace(-1.0, 1.0, 15)
    t = 0.2 * v + 0.5 * v * v
    t[3] += 0.4  # a diverged run: 0.4 higher in log loss
    robust, omega, _ = fit_parabolas(v[None, :], t[None, :], np.ones((1, 15)), robust=True)
    plain, _, _ = fit_parabolas(v[None, :], t[None, :], np.ones((1, 15)), robust=False)
    assert vertex(robust)[0][0] == pytest.approx(-0.2, abs=1e-6)
    assert abs(vertex(plain)[0][0] + 0.2) > 0.01
    assert omega[0, 3] < 1e-3 and np.all(np.delete(omega[0], 3) == 1.0)


def test_a_batch_of_parabolas_with_weights_and_too_few_points():
    rng = np.random.default_rng(0)
    v = np.linspace(-1, 1, 7)
    coefs = rng.normal(size=(4, 3))
    coefs[:, 2] = np.abs(coefs[:, 2]) + 0.1
    t = coefs[:, :1] + coefs[:, 1:2] * v + coefs[:, 2:3] * v * v
    w = np.ones((4, 7))
    w[1, :5] = 0.0  # two distinct points left: no parabola
    w[2, ::2] = 3.0  # repeated runs (bootstrap counts) change nothing on exact data
    coef, _, ok = fit_parabolas(np.broadcast_to(v, (4, 7)), t, w)
    assert ok.tolist() == [True, False, True, True]
    np.testing.assert_allclose(coef[[0, 2, 3]], coefs[[0, 2, 3]], atol=1e-9)
    assert np.isnan(coef[1]).all()


def test_vertex_is_nan_without_a_minimum():
    vs, _ = vertex(np.array([[1.0, 0.5, -0.2], [1.0, 0.5, 0.0]]))
    assert np.isnan(vs).all()


def test_budgets_are_runs_of_equal_compute_within_five_percent():
    labels, values = budget_labels(np.array([1e20, 1.02e20, 3e20, 9.9e19, 3.01e20, 1e21]))
    assert labels.tolist() == ["1e20", "1e20", "3e20", "1e20", "3e20", "1e21"]
    assert values["1e20"] == pytest.approx((1e20 * 1.02e20 * 9.9e19) ** (1 / 3))


# ------------------------------------------------------------------------------ known truth


def test_exact_parabolas_give_the_generating_frontier_exactly():
    runs = parabola_runs(a=0.55, k_n=0.08)
    res = isoflop_profiles(runs, n_resamples=50, seed=1)
    assert res.params["a"] == pytest.approx(0.55, abs=1e-8)
    assert res.params["k_N"] == pytest.approx(0.08, rel=1e-6)
    assert res.params["b"] == pytest.approx(0.45, abs=1e-8)
    assert res.params["k_D"] == pytest.approx(1 / (6 * 0.08), rel=1e-6)
    for p in res.profiles:
        assert p.n_opt == pytest.approx(0.08 * p.compute**0.55, rel=1e-7)
        assert p.loss_opt == pytest.approx(2.0, rel=1e-9)
        assert p.bracketed and p.position == pytest.approx(0.5, abs=1e-7)
    est = res.compute_optimal(1e24)
    assert est["params"].value == pytest.approx(0.08 * 1e24**0.55, rel=1e-6)
    assert est["params"].low <= est["params"].value <= est["params"].high


def test_chinchilla_like_recovers_a_within_its_interval_with_the_diverged_runs_in():
    res = isoflop_profiles(load_runs(CHINCHILLA), n_resamples=1000, seed=0)
    est = res.estimates
    assert est["a"].low <= A_TRUE <= est["a"].high
    assert est["b"].low <= 1 - A_TRUE <= est["b"].high
    assert abs(est["a"].value - A_TRUE) < 0.02
    assert len(res.profiles) == 9 and all(p.bracketed and p.used for p in res.profiles)
    assert res.n_failed == 0
    # N* per budget against the law's closed form (Besiroglu et al. 2024): within 15%
    G = (ALPHA * 482.01 / (BETA * 2085.43)) ** (1 / (ALPHA + BETA))
    for p in res.profiles:
        assert p.n_opt == pytest.approx(G * (p.compute / 6) ** A_TRUE, rel=0.15)
    # the robust parabolas down-weight the diverged runs
    weights = {rid: w for p in res.profiles for rid, w in zip(p.run_ids, p.weights)}
    assert all(weights[r] < 0.2 for r in DIVERGED)


def test_least_squares_parabolas_are_thrown_by_the_diverged_runs():
    runs = load_runs(CHINCHILLA)
    robust = isoflop_profiles(runs, n_resamples=200, seed=0)
    plain = isoflop_profiles(runs, n_resamples=200, seed=0, robust=False)
    assert abs(plain.params["a"] - A_TRUE) > 3 * abs(robust.params["a"] - A_TRUE)
    cleaned = isoflop_profiles(runs, n_resamples=200, seed=0, robust=False, exclude=DIVERGED)
    assert abs(cleaned.params["a"] - A_TRUE) < 0.02
    assert cleaned.excluded == DIVERGED


def test_budget_column_gives_the_same_budgets_and_resampling_budgets_works():
    runs = load_runs(CHINCHILLA)
    auto = isoflop_profiles(runs, n_resamples=200, seed=0)
    by_group = isoflop_profiles(runs, n_resamples=200, seed=0, budgets="group")
    assert [p.label for p in by_group.profiles] == [f"C={p.label}" for p in auto.profiles]
    assert by_group.params["a"] == pytest.approx(auto.params["a"], abs=1e-12)
    whole = isoflop_profiles(runs, n_resamples=500, seed=0, method="budgets")
    assert whole.estimates["a"].low <= A_TRUE <= whole.estimates["a"].high
    assert "whole budgets" in whole.interval_label


def test_same_seed_same_numbers():
    runs = load_runs(CHINCHILLA)
    a = isoflop_profiles(runs, n_resamples=100, seed=7)
    b = isoflop_profiles(runs, n_resamples=100, seed=7)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, isoflop_profiles(runs, n_resamples=100, seed=8).samples)


# ------------------------------------------------------------------------------ off-centre sweeps


@pytest.fixture(scope="module")
def offcentre():
    runs = load_runs(OFFCENTRE)
    iso = isoflop_profiles(runs, n_resamples=1000, seed=0)
    boot3 = bootstrap(runs, "chinchilla", n_resamples=1000, seed=0)
    return runs, iso, boot3


def test_offcentre_sweeps_bias_approach_2_and_approach_3_recovers_the_law(offcentre):
    _, iso, boot3 = offcentre
    cmp = compare_with_approach3(iso, boot3, [1e22, 1e24])
    assert cmp.a3.low <= A_TRUE <= cmp.a3.high  # Approach 3 on the same runs: right
    assert cmp.a2.low > A_TRUE  # Approach 2: biased upwards, its interval misses the truth
    assert cmp.difference.low > 0 and not cmp.agree
    assert cmp.n_opt[1e24]["ratio"].low > 1.0  # Approach 2 recommends a larger model at 1e24
    assert cmp.n_pairs == 1000
    assert list(cmp.table()["quantity"]) == ["a in N* ∝ C^a", "N* at C = 1e22", "N* at C = 1e24"]


def test_a_sweep_that_misses_its_minimum_is_named_and_left_out(offcentre):
    runs, iso, _ = offcentre
    missed = [p for p in iso.profiles if not p.bracketed]
    assert [p.label for p in missed] == ["3e22", "1e23"]  # swept furthest above their optimum
    assert all(not p.used and "minimum at the smallest sizes swept" in p.note for p in missed)
    assert any("do not bracket their minimum (3e22, 1e23)" in w for w in iso.warnings)
    assert all(p.used for p in iso.profiles[:-2])
    assert any("near the edge of the sweep" in w for w in iso.warnings)
    kept = isoflop_profiles(runs, n_resamples=50, seed=0, include_unbracketed=True)
    assert kept.profiles[-1].used and kept.params["a"] != iso.params["a"]
    assert iso.table()["brackets its minimum"].tolist() == ["yes"] * 9 + ["NO", "NO"]


# ------------------------------------------------------------------------------ mistakes


def test_runs_that_are_not_isoflop_sweeps_are_refused_with_the_reason():
    runs = load_runs(SAMPLES / "architectures_crossover.csv")  # every run has its own compute
    with pytest.raises(FitError, match="at least 2 compute budgets with 5 or more runs"):
        isoflop_profiles(runs, n_resamples=10)


def test_missing_model_size_is_a_data_error():
    runs = load_runs(SAMPLES / "compute_saturating.csv")
    with pytest.raises(DataError, match=r"need model size N \(params\) and compute"):
        isoflop_profiles(runs, n_resamples=10)


def test_a_non_positive_loss_names_its_rows():
    df = pd.read_csv(CHINCHILLA)
    df.loc[5, "loss"] = 0.0
    with pytest.raises(DataError, match=r"column `loss`, row 7: values must be positive"):
        isoflop_profiles(runs_of(df), n_resamples=10)


@pytest.mark.parametrize("kw, message", [
    ({"method": "cases"}, "`method` must be one of runs, budgets"),
    ({"n_resamples": 1}, "`n_resamples` must be an integer from 2"),
    ({"min_runs": 2}, "`min_runs` must be an integer of at least 3"),
    ({"budgets": "nope"}, "no budget column `nope`"),
])
def test_bad_arguments(kw, message):
    with pytest.raises((FitError, DataError), match=message):
        isoflop_profiles(load_runs(CHINCHILLA), **kw)


def test_unknown_exclusions_are_a_warning_and_small_budgets_a_note():
    df = pd.read_csv(CHINCHILLA)
    extra = pd.DataFrame([{"run_id": f"tiny-{i}", "params": 1e8 * (i + 1), "tokens": 1e22 / (6e8 * (i + 1)),
                           "compute": 1e22, "loss": 2.0, "group": "C=1e22", "source": "x"} for i in range(3)])
    res = isoflop_profiles(runs_of(pd.concat([df, extra])), n_resamples=20, exclude=["no-such-run"])
    assert any("ignored 1 excluded run id" in w for w in res.warnings)
    tiny = next(p for p in res.profiles if p.label == "1e22")
    assert not tiny.used and "too few for a profile" in tiny.note
    assert math.isnan(tiny.n_opt)

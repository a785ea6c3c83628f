"""compare(): exponent differences, crossover and compute multiplier against cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scalecore import DataError, FitError, load_runs
from scalecore.formatting import format_estimate
from scalecore.comparison import (
    COMPUTE_EXPONENT,
    child_seeds,
    compare,
    group_columns,
    group_names,
)
from scalecore.families import FAMILIES
from scalecore import budget, optimum
from tests.synth import EPOCH, TRUTH, frame, runs_of

X = np.geomspace(1e7, 1e11, 25)
X_CROSS = 1e9
EA, AA, ALPHA_A = 1.7, 400.0, 0.3
EB, ALPHA_B = 1.9, 0.2


def law_a(x):
    return EA + AA * x**-ALPHA_A


AB = (law_a(X_CROSS) - EB) * X_CROSS**ALPHA_B  # B meets A exactly at X_CROSS


def law_b(x):
    return EB + AB * x**-ALPHA_B


def two_groups(la, lb, noise=0.0, seed=0, x=X, column="arch"):
    rng = np.random.default_rng(seed)
    parts = []
    for name, law in (("A", la), ("B", lb)):
        y = law(x) * np.exp(noise * rng.standard_normal(len(x)))
        parts.append(pd.DataFrame({"params": x, "tokens": 20 * x, "loss": y, column: name}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "run_id", [f"r{i:03d}" for i in range(len(df))])
    return runs_of(df)


@pytest.fixture(scope="module")
def exact():
    return compare(two_groups(law_a, law_b), "offset_power_law", by="arch", x="params", n_resamples=200, seed=1)


@pytest.fixture(scope="module")
def noisy():
    return compare(two_groups(law_a, law_b, noise=0.01, seed=5), "offset_power_law", by="arch", x="params",
                   n_resamples=400, seed=2)


# ------------------------------------------------------------------------------ crossover


def test_known_crossover_noise_free(exact):
    cross = exact.crossover("A", "B")
    assert cross.status == "inside"
    assert cross.x.value == pytest.approx(X_CROSS, rel=1e-6)
    assert cross.metric.value == pytest.approx(law_a(X_CROSS), rel=1e-6)
    assert cross.share == 1.0 and cross.share_inside == 1.0
    assert cross.x.low == pytest.approx(X_CROSS, rel=1e-6) and cross.x.high == pytest.approx(X_CROSS, rel=1e-6)
    assert cross.text().startswith("crossover in the fitted range at ")
    # symmetric: B against A meets at the same place
    assert exact.crossover("B", "A").x.value == pytest.approx(X_CROSS, rel=1e-6)


def test_known_crossover_with_noise_interval_contains_truth(noisy):
    cross = noisy.crossover("A", "B")
    assert cross.status == "inside"
    assert cross.x.low < X_CROSS < cross.x.high
    assert cross.x.low < cross.x.value < cross.x.high
    assert cross.share > 0.9
    assert "95% bootstrap percentile interval" in cross.interval and "paired by index" in cross.interval


def test_crossover_beyond_the_fitted_range():
    far = 1e13  # above the data (1e7..1e11), within the 4 searched decades
    floor_b = 1.0  # a lower floor and a slower decay: B starts above A and ends below it
    ab = (law_a(far) - floor_b) * far**ALPHA_B
    comp = compare(two_groups(law_a, lambda x: floor_b + ab * x**-ALPHA_B), "offset_power_law", by="arch", x="params",
                   n_resamples=100)
    cross = comp.crossover("A", "B")
    assert cross.status == "beyond"
    assert cross.x.value == pytest.approx(far, rel=1e-6)
    assert cross.share_inside == 0.0
    assert cross.text().startswith("crossover beyond the fitted range at ")


def test_no_crossover_for_parallel_laws():
    comp = compare(two_groups(lambda x: 30 * x**-0.12, lambda x: 33 * x**-0.12, noise=0.002, seed=4), "power_law",
                   by="arch", x="params", n_resamples=200)
    cross = comp.crossover("A", "B")
    assert cross.status == "none" and math.isnan(cross.x.value)
    assert cross.share < 0.5
    assert cross.text().startswith("no crossover in the fitted range")
    assert cross.to_dict()["x"]["value"] != cross.to_dict()["x"]["value"]  # NaN, not a made-up number


# ------------------------------------------------------------------------------ multiplier


@pytest.mark.parametrize("family, k", [("offset_power_law", 4.0), ("power_law", 10.0), ("offset_power_law", 0.5)])
def test_known_multiplier_is_the_factor_in_x(family, k):
    """L_A(x) = L_B(x / k): A needs exactly k times the x of B to reach B's loss, at every scale."""
    law = (lambda x: 1.7 + 400 * x**-0.3) if family == "offset_power_law" else (lambda x: 30 * x**-0.12)
    comp = compare(two_groups(lambda x: law(x / k), law), family, by="arch", x="params", n_resamples=100)
    for at in (1e8, 3e10, 1e12):
        mult = comp.multiplier("A", "B", at)
        assert mult.status == "ok"
        assert mult.multiplier.value == pytest.approx(k, rel=1e-6)
        assert mult.target.value == pytest.approx(law(at), rel=1e-6)
        assert mult.share == 1.0
    back = comp.multiplier("B", "A", 1e9)
    assert back.multiplier.value == pytest.approx(1 / k, rel=1e-6)


def test_multiplier_with_noise_interval_contains_truth():
    k = 3.0
    law = lambda x: 1.7 + 400 * x**-0.3  # noqa: E731
    comp = compare(two_groups(lambda x: law(x / k), law, noise=0.01, seed=9), "offset_power_law", by="arch",
                   x="params", n_resamples=400, seed=7)
    mult = comp.multiplier("A", "B", 1e10)
    assert mult.multiplier.low < k < mult.multiplier.high
    assert "needs" in mult.text() and "× the model size of “B”" in mult.text()


def test_unreachable_loss_is_reported_not_invented():
    # A's floor (2.5) is above B's loss at 1e11 (about 2.3): A never gets there
    comp = compare(two_groups(lambda x: 2.5 + 400 * x**-0.3, law_a), "offset_power_law", by="arch", x="params",
                   n_resamples=100)
    mult = comp.multiplier("A", "B", 1e11)
    assert mult.status == "unreachable" and math.isnan(mult.multiplier.value)
    assert mult.share < 0.05
    assert "does not reach" in mult.text()


def test_multiplier_checks_its_scale(exact):
    with pytest.raises(FitError, match="`at` must be a positive number"):
        exact.multiplier("A", "B", -1.0)
    with pytest.raises(FitError, match="unknown group `C`; the groups are A, B"):
        exact.multiplier("A", "C", 1e9)


# ------------------------------------------------------------------------------ exponents


def test_exponent_difference_noise_free(exact):
    diff = exact.exponent_difference("A", "B")
    assert set(diff) == {"alpha"}
    assert diff["alpha"].value == pytest.approx(ALPHA_A - ALPHA_B, abs=1e-9)


def test_exponent_difference_pairs_independent_samples_by_index(noisy):
    diff = noisy.exponent_difference("A", "B")["alpha"]
    a, b = noisy.results["A"], noisy.results["B"]
    rows = noisy.paired_rows("A", "B")
    d = a.samples[rows, 2] - b.samples[rows, 2]
    assert diff.value == pytest.approx(a.fit.params["alpha"] - b.fit.params["alpha"], rel=1e-12)
    assert (diff.low, diff.high) == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])), rel=1e-12)
    assert diff.low < ALPHA_A - ALPHA_B < diff.high
    assert noisy.seeds["A"] != noisy.seeds["B"]
    assert not np.allclose(a.samples[:, 2] - a.fit.params["alpha"], b.samples[:, 2] - b.fit.params["alpha"])


# ------------------------------------------------------------------------------ two-input families


def _scaled_pair(family, truth, s, noise=0.0):
    """Group B is group A with N and D both scaled by s: along the frontier B needs exactly s^2 the compute."""
    theta_b = dict(truth)
    if family == "chinchilla":
        theta_b["A"] = truth["A"] * s ** truth["alpha"]
        theta_b["B"] = truth["B"] * s ** truth["beta"]
    else:
        theta_b["N_c"], theta_b["D_c"] = truth["N_c"] * s, truth["D_c"] * s
    a = frame(family, seed=1, noise=noise, theta=truth)
    b = frame(family, seed=2, noise=noise, theta=theta_b)
    a["group"], b["group"] = "base", "scaled"
    b["run_id"] = "s" + b["run_id"]
    return runs_of(pd.concat([a, b], ignore_index=True))


@pytest.mark.parametrize("family, truth", [("chinchilla", EPOCH), ("kaplan", TRUTH["kaplan"])])
def test_frontier_multiplier_of_scaled_law(family, truth):
    s = 3.0
    comp = compare(_scaled_pair(family, truth, s), family, n_resamples=60)
    assert comp.axis == "compute" and comp.along_frontier
    mult = comp.multiplier("scaled", "base", 1e21)
    assert mult.multiplier.value == pytest.approx(s**2, rel=1e-5)
    assert comp.crossover("scaled", "base").status == "none"
    band = comp.band("base", np.geomspace(1e18, 1e22, 7))
    assert np.all(band.lower <= band.point * (1 + 1e-9)) and np.all(band.point <= band.upper * (1 + 1e-9))


def test_chinchilla_frontier_band_matches_closed_form():
    comp = compare(_scaled_pair("chinchilla", EPOCH, 2.0, noise=0.005), "chinchilla", n_resamples=100, seed=3)
    xs = np.geomspace(1e19, 1e23, 5)
    point, samples = comp.curve("base", xs)
    boot = comp.results["base"]
    np.testing.assert_allclose(point, budget.chinchilla_optimum(boot.fit.theta, xs)["loss"], rtol=1e-12)
    np.testing.assert_allclose(samples[:, 2], budget.chinchilla_optimum(boot.good, xs[2])["loss"], rtol=1e-12)
    diff = comp.exponent_difference("scaled", "base")
    assert set(diff) == {"alpha", "beta", COMPUTE_EXPONENT}
    for est in diff.values():
        assert est.low < 0.0 < est.high  # same exponents: the interval of the difference covers 0


def _kaplan_frontier_loss(theta, c, k=6.0):
    """Kaplan's L*(C) written out: N* = (p N_c^p C / (k D_c))^(1/(p+1)), D* = C/(k N*),
    L* = ((N_c/N*)^p + D_c/D*)^alpha_D with p = alpha_N/alpha_D."""
    n_c, d_c, a_n, a_d = (np.asarray(theta, float)[..., i] for i in range(4))
    p = a_n / a_d
    n = (p * n_c**p * c / (k * d_c)) ** (1 / (p + 1))
    return ((n_c / n) ** p + d_c / (c / (k * n))) ** a_d


def test_vectorised_numerical_frontier_agrees_with_the_closed_form():
    """The generic numerical optimum, over thetas x budgets at once, finds Kaplan's written-out L*(C)."""
    fam = FAMILIES["kaplan"]
    theta = fam.theta_from(TRUTH["kaplan"])[None, :] * np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 0.5, 1.1, 0.9]])
    cs = np.array([1e15, 1e19, 1e23])
    got = optimum.numerical_optimum(fam, theta[:, None, :], cs[None, :])["loss"]
    np.testing.assert_allclose(got, _kaplan_frontier_loss(theta[:, None, :], cs[None, :]), rtol=1e-9)


def test_kaplan_comparison_reads_the_closed_form_frontier_everywhere():
    """Bug fix: compare tabulated Kaplan's frontier with its own numerical search over N in [1e3, 1e16]
    (81-point grid, 48 steps) and interpolated it, while Explore, Budget and the bootstrap used the
    closed form; for a resample whose N* lies outside that range the two disagreed (by 30% on the
    architectures sample). The comparison now reads the same closed form, at every budget."""
    comp = compare(_scaled_pair("kaplan", TRUTH["kaplan"], 2.0, noise=0.005), "kaplan", n_resamples=60, seed=3)
    boot = comp.results["base"]
    rows = np.flatnonzero(~boot.failed)
    lx = np.log(np.geomspace(1e10, 1e36, 7))[None, :]
    got = np.exp(comp.values("base", lx, rows))
    np.testing.assert_allclose(got, _kaplan_frontier_loss(boot.samples[rows][:, None, :], np.exp(lx)), rtol=1e-12)
    point = np.exp(comp.values("base", lx))[0]
    np.testing.assert_allclose(point, _kaplan_frontier_loss(boot.fit.theta, np.exp(lx[0])), rtol=1e-12)
    # a law whose N* at 1e36 FLOPs is far beyond 1e16 parameters
    theta = FAMILIES["kaplan"].theta_from(TRUTH["kaplan"])
    n_star = optimum.compute_optimum("kaplan", theta, 1e36)["params"]
    assert n_star > 1e16
    np.testing.assert_allclose(point[-1], _kaplan_frontier_loss(boot.fit.theta, 1e36), rtol=1e-12)


# ------------------------------------------------------------------------------ groups, seeds, errors


def test_same_seed_same_numbers_and_seeds_are_derived():
    runs = two_groups(law_a, law_b, noise=0.01, seed=5)
    one = compare(runs, "offset_power_law", by="arch", x="params", n_resamples=100, seed=11)
    two = compare(runs, "offset_power_law", by="arch", x="params", n_resamples=100, seed=11)
    for g in ("A", "B"):
        np.testing.assert_array_equal(one.results[g].samples, two.results[g].samples)
    assert list(one.seeds.values()) == child_seeds(11, 2)
    assert len(set(child_seeds(11, 5))) == 5 and child_seeds(None, 2) == [None, None]
    assert one.crossover("A", "B").to_dict() == two.crossover("A", "B").to_dict()


def test_groups_from_files_and_columns(tmp_path):
    from scalecore import load_runs

    paths = []
    for name, law in (("dense.csv", law_a), ("moe.csv", law_b)):
        df = pd.DataFrame({"run_id": [f"{name[0]}{i}" for i in range(len(X))], "params": X, "loss": law(X)})
        df.to_csv(tmp_path / name, index=False)
        paths.append(tmp_path / name)
    runs = load_runs(paths)
    assert "file" in group_columns(runs)
    assert group_names(runs, "file") == ["dense.csv", "moe.csv"]
    comp = compare(runs, "offset_power_law", by="file", x="params", n_resamples=50)
    assert comp.crossover("dense.csv", "moe.csv").x.value == pytest.approx(X_CROSS, rel=1e-6)
    # the group column of the files was derived from their names too
    assert compare(runs, "offset_power_law", x="params", n_resamples=50).groups == ("dense", "moe")


def test_exclusions_apply_to_their_own_group():
    runs = two_groups(law_a, law_b, noise=0.01, seed=5)
    comp = compare(runs, "offset_power_law", by="arch", x="params", exclude=["r000", "r030"], n_resamples=50)
    assert comp.results["A"].fit.n_excluded == 1 and comp.results["B"].fit.n_excluded == 1
    assert not comp.warnings or all("not in the data" not in w for w in comp.warnings)


def test_errors_name_the_problem():
    runs = two_groups(law_a, law_b)
    with pytest.raises(DataError, match="no column `model` to group the runs by; choose one of: group"):
        compare(runs, "power_law", by="model")
    with pytest.raises(FitError, match="a comparison needs at least two groups"):
        compare(runs, "power_law", by="arch", groups=["A"])
    with pytest.raises(DataError, match="no group\\(s\\) `C` in column `arch`; the groups are A, B"):
        compare(runs, "power_law", by="arch", groups=["A", "C"])
    few = runs.subset([f"r{i:03d}" for i in list(range(25)) + [25, 26]])
    with pytest.raises(FitError, match="group `B`: found 2 usable run"):
        compare(few, "offset_power_law", by="arch", x="params", n_resamples=20)


def test_summary_and_to_dict(noisy):
    d = noisy.to_dict(at=1e10)
    assert d["family"] == "offset_power_law" and d["axis"] == "params" and set(d["groups"]) == {"A", "B"}
    (pair,) = d["pairs"]
    assert pair["a"] == "B" and pair["b"] == "A"  # every group against the first
    assert pair["multiplier"]["at"] == 1e10
    assert pair["crossover"]["status"] == "inside"
    assert set(pair["differences"]) == {"alpha"}


def test_a_comparison_prints_a_summary_not_its_arrays():
    runs = load_runs("sample_runs/architectures_crossover.csv")
    comp = compare(runs, "offset_power_law", by="arch", n_resamples=100, seed=0)
    text = repr(comp)
    assert len(text.splitlines()) == 2 and "array(" not in text and len(text) < 600
    diff = comp.exponent_difference("ssm", "transformer")["alpha"]
    assert text.splitlines()[1] == f"  ssm - transformer: Δalpha {format_estimate(diff)}"

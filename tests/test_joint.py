"""joint_fit: groups fitted together with shared parameters, against known truth.

The data are drawn from laws written out here (not from ``Family.predict``): two groups of runs on
one grid of compute budgets, ``loss = E_g + A_g C^-alpha_g`` with log-normal noise.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scalecore import FitError, load_runs
from scalecore.comparison import group_labels
from scalecore.joint import budget_positions, joint_fit, resample_weights, shared_names

X = np.geomspace(1e16, 1e22, 12)
X0 = 1e16  # where each group's power term is set: A = term * X0^alpha
TRUTH = {"A": {"E": 1.8, "term": 0.8, "alpha": 0.3}, "B": {"E": 2.0, "term": 0.6, "alpha": 0.3}}


def law(E, A, alpha, x):
    return E + A * x**-alpha


def truth(group, alpha=None):
    t = dict(TRUTH[group])
    t["alpha"] = t["alpha"] if alpha is None else alpha
    t["A"] = t.pop("term") * X0 ** t["alpha"]
    return t


def dataset(seed, alpha_b=0.3, noise=0.01, x=X, x_b=None):
    """Two groups on the budgets ``x`` (group B on ``x_b`` if given), B's exponent ``alpha_b``."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, xs, alpha in (("A", x, None), ("B", x if x_b is None else x_b, alpha_b)):
        t = truth(name, alpha)
        y = law(t["E"], t["A"], t["alpha"], xs) * np.exp(noise * rng.standard_normal(len(xs)))
        parts.append(pd.DataFrame({"compute": xs, "loss": y, "arch": name}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "run_id", [f"r{i:03d}" for i in range(len(df))])
    return load_runs(df)


def test_shared_names():
    assert shared_names("chinchilla", "exponents") == ("alpha", "beta")
    assert shared_names("chinchilla", "beta, E") == ("E", "beta")
    assert shared_names("offset_power_law", "none") == ()
    with pytest.raises(FitError, match="cannot share `gamma`"):
        shared_names("offset_power_law", "gamma")
    with pytest.raises(FitError, match="sharing every parameter"):
        shared_names("power_law", ("A", "alpha"))


@pytest.fixture(scope="module")
def recovered():
    return joint_fit(dataset(11, noise=0.003), "offset_power_law", by="arch", shared="exponents",
                     n_resamples=400, seed=3, n_null=199)


def test_shared_exponent_recovers_the_truth(recovered):
    j = recovered
    assert j.shared == ("alpha",) and j.names[0] == "alpha"
    alpha = j.shared_estimates["alpha"]
    assert alpha.low <= 0.3 <= alpha.high
    assert alpha.value == pytest.approx(0.3, abs=0.02)
    for g in ("A", "B"):
        t = truth(g)
        est = j.estimates[g]
        assert est["alpha"].value == alpha.value  # one value for every group
        assert est["E"].low <= t["E"] <= est["E"].high
        assert est["E"].value == pytest.approx(t["E"], rel=0.01)
        assert est["A"].low <= t["A"] <= est["A"].high
        assert est["A"].value == pytest.approx(t["A"], rel=0.5)
    # the shared interval is narrower than either group's own (the point of sharing)
    alone = joint_fit(dataset(11, noise=0.003), "offset_power_law", by="arch", shared="none", n_resamples=400,
                      seed=3)
    width = alpha.high - alpha.low
    for g in ("A", "B"):
        own = alone.estimates[g]["alpha"]
        assert width < own.high - own.low
    assert j.test is not None and not j.test.differ


def test_joint_objective_is_the_summed_huber_of_both_groups(recovered):
    """The joint optimum evaluated with the law written out here gives the reported objective."""
    j = recovered
    runs = dataset(11, noise=0.003)
    labels = group_labels(runs, "arch")
    total = 0.0
    for g in ("A", "B"):
        p = j.params[g]
        rows = labels == g
        r = np.log(law(p["E"], p["A"], p["alpha"], runs.values("compute")[rows])) - np.log(runs.values("loss")[rows])
        a = np.abs(r)
        total += np.sum(np.where(a <= 1e-3, 0.5 * r**2, 1e-3 * (a - 0.5e-3)))
    assert j.objective == pytest.approx(total, rel=1e-9)


def test_probability_better_and_multiplier_against_the_truth(recovered):
    """B's floor is higher, so A is better at the top of the range; the multiplier of B against A is
    read off the joint fit with the inversion written out here."""
    j = recovered
    at = 1e20
    assert j.probability_better("B", "A", at) < 0.01
    assert j.probability_better("A", "B", at) > 0.99
    # A (lower floor) reaches B's loss at `at` with less compute: solve E_A + A_A c^-alpha = L_B(at)
    pa, pb = j.params["A"], j.params["B"]
    target = law(pb["E"], pb["A"], pb["alpha"], at)
    c = (pa["A"] / (target - pa["E"])) ** (1 / pa["alpha"])
    mult = j.multiplier("A", "B", at)
    assert mult.status == "ok"
    assert mult.multiplier.value == pytest.approx(c / at, rel=1e-6)
    ta, tb = truth("A"), truth("B")
    true_mult = (ta["A"] / (law(tb["E"], tb["A"], tb["alpha"], at) - ta["E"])) ** (1 / ta["alpha"]) / at
    assert mult.multiplier.low <= true_mult <= mult.multiplier.high
    assert "joint" in mult.interval


def test_probability_and_multiplier_intervals_from_the_joint_samples(recovered):
    """Read off the joint resamples with the law written out here: at 1e16 the two true curves meet
    (2.6 each), so P(better) is in between; the multiplier's interval is the percentile interval of
    the closed-form inversion per resample."""
    j = recovered
    ok = ~j.failed
    col = {n: j.samples[ok, i] for i, n in enumerate(j.names)}
    alpha = col["alpha"]
    la = law(col["E[A]"], col["A[A]"], alpha, 1e16)
    lb = law(col["E[B]"], col["A[B]"], alpha, 1e16)
    p = j.probability_better("B", "A", 1e16)
    assert p == pytest.approx(np.mean(lb < la), abs=1e-12)
    assert 0.02 < p < 0.98
    at = 1e19
    target = law(col["E[B]"], col["A[B]"], alpha, at)
    mult = (col["A[A]"] / (target - col["E[A]"])) ** (1 / alpha) / at
    low, high = np.percentile(mult, [2.5, 97.5])
    est = j.multiplier("A", "B", at).multiplier
    assert est.low == pytest.approx(low, rel=1e-6) and est.high == pytest.approx(high, rel=1e-6)


def test_paired_resamples_keep_budget_positions_aligned(recovered):
    j = recovered
    assert j.paired
    A, B = j.group_of == 0, j.group_of == 1
    # run i of A and run i of B sit at the same budget; their counts agree in every resample
    order_a = np.argsort(j.positions[A])
    order_b = np.argsort(j.positions[B])
    assert np.array_equal(j.weights[:, A][:, order_a], j.weights[:, B][:, order_b])
    assert np.all(j.weights.sum(axis=1) == 2 * len(X))
    # the positions are the budgets' ranks
    assert np.array_equal(j.positions[A], np.argsort(np.argsort(X)))


def test_groups_on_different_budgets_resample_on_their_own():
    runs = dataset(2, x_b=np.geomspace(2e16, 3e22, 12))
    j = joint_fit(runs, "offset_power_law", by="arch", shared="alpha", n_resamples=50, seed=0, n_null=19)
    assert not j.paired
    A, B = j.group_of == 0, j.group_of == 1
    assert np.all(j.weights[:, A].sum(axis=1) == 12) and np.all(j.weights[:, B].sum(axis=1) == 12)
    assert not np.array_equal(j.weights[:, A], j.weights[:, B])
    with pytest.raises(FitError, match="same budgets"):
        joint_fit(runs, "offset_power_law", by="arch", shared="alpha", n_resamples=50, seed=0, paired=True)


def test_resample_weights_paired_and_independent():
    positions = np.array([2, 0, 1, 0, 1, 2])  # group 1's runs in another order
    rng = np.random.default_rng(0)
    w = resample_weights([3, 3], positions, True, 200, rng)
    assert np.array_equal(w[:, [1, 2, 0]], w[:, [3, 4, 5]])
    assert np.all(w.sum(axis=1) == 6)
    w = resample_weights([3, 3], positions, False, 200, np.random.default_rng(0))
    assert np.all(w[:, :3].sum(axis=1) == 3) and not np.array_equal(w[:, :3], w[:, 3:])


def test_budget_positions_sees_the_same_grid_in_any_row_order():
    class P:  # the one field budget_positions reads
        def __init__(self, x):
            self.inputs = {"x": np.asarray(x, float)}

    pos, same = budget_positions([P([3.0, 1.0, 2.0]), P([1.0, 2.0, 3.0])])
    assert same and pos.tolist() == [2, 0, 1, 0, 1, 2]
    assert not budget_positions([P([3.0, 1.0, 2.0]), P([1.0, 2.0, 4.0])])[1]


def test_difference_test_has_its_size_over_200_datasets():
    """Both groups share alpha = 0.3 (different E and A): at 0.05 the test should reject in about 5%
    of datasets. With 200 datasets the count is Binomial(200, 0.05): 3..20 holds 99.7% of it."""
    rejected = 0
    for seed in range(200):
        j = joint_fit(dataset(seed), "offset_power_law", by="arch", shared="alpha", n_resamples=2, seed=seed,
                      n_null=99)
        rejected += j.test.p_value <= 0.05
    assert 3 <= rejected <= 20, rejected


def test_difference_test_p_values_follow_the_classical_f_test():
    """An independent reference: by least squares the statistic is RSS_shared / RSS_separate - 1, so
    F = statistic (n - p_separate) / q with n = 24 runs, p_separate = 6, q = 1 shared parameter too
    many, and the F distribution's tail (scipy) is the classical p-value. The bootstrap's p-values
    (499 draws: Monte Carlo error about 0.02) track it on 20 datasets drawn from one law."""
    from scipy.stats import f as f_dist

    ours, classical = [], []
    for seed in range(20):
        test = joint_fit(dataset(200 + seed), "offset_power_law", by="arch", shared="alpha", n_resamples=2,
                         seed=seed, n_null=499).test
        assert test.n_extra == 1
        ours.append(test.p_value)
        classical.append(f_dist.sf(test.statistic * (24 - 6) / 1, 1, 24 - 6))
    diff = np.abs(np.array(ours) - np.array(classical))
    assert diff.max() < 0.1 and diff.mean() < 0.04, (ours, classical)
    assert np.corrcoef(ours, classical)[0, 1] > 0.98


def test_difference_test_detects_different_exponents():
    """alpha 0.3 against 0.4 with 0.5% noise: detected in most datasets (20 of 20 when written; with
    1% noise, 12 of 20; at 0.45 and 1% noise, 18 of 20)."""
    rejected = 0
    for seed in range(20):
        j = joint_fit(dataset(1000 + seed, alpha_b=0.4, noise=0.005), "offset_power_law", by="arch", shared="alpha",
                      n_resamples=2, seed=seed, n_null=99)
        rejected += j.test.differ
    assert rejected >= 16, rejected


def test_chinchilla_shares_exponents_along_the_frontier():
    """Two Chinchilla laws with Epoch's exponents and different E: the shared exponents are
    recovered, and P(better) reads the compute-optimal loss (lower E is better everywhere)."""
    from tests.synth import EPOCH, isoflop_grid

    n, d = isoflop_grid(per_budget=8)
    rng = np.random.default_rng(4)
    parts = []
    for name, E in (("A", 1.8172), ("B", 1.95)):
        p = dict(EPOCH, E=E)
        y = (p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]) * np.exp(0.003 * rng.standard_normal(len(n)))
        parts.append(pd.DataFrame({"params": n, "tokens": d, "loss": y, "arch": name}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "run_id", [f"r{i:03d}" for i in range(len(df))])
    j = joint_fit(load_runs(df), "chinchilla", by="arch", shared="exponents", n_resamples=200, seed=1, n_null=49)
    assert j.paired and j.axis == "compute"
    for name in ("alpha", "beta"):
        est = j.shared_estimates[name]
        assert est.low <= EPOCH[name] <= est.high
    assert j.probability_better("A", "B", 1e24) > 0.99
    mult = j.multiplier("B", "A", 1e22)
    assert mult.status == "unreachable" or mult.multiplier.value > 1
    assert not j.test.differ


def test_repr_and_dict(recovered):
    text = repr(recovered)
    assert "sharing alpha" in text and "alpha (shared): " in text and "[" in text
    assert "array(" not in text
    d = recovered.to_dict()
    assert d["shared"] == ["alpha"] and d["paired"] is True
    assert d["shared_params"]["alpha"]["value"] == recovered.shared_estimates["alpha"].value
    assert d["test"]["p_value"] == recovered.test.p_value
    assert math.isfinite(d["pairs"][0]["p_better"])
    from scalecore.serialize import dumps

    assert '"shared_params"' in dumps(d)


def test_cli_compare_shared_prints_the_library_s_joint_fit(capsys, tmp_path):
    import json

    from scalecore.cli import main

    runs = dataset(11, noise=0.003)
    path = tmp_path / "two.csv"
    runs.frame.rename(columns={"group": "arch"}).to_csv(path, index=False)
    assert main(["compare", str(path), "--family", "offset_power_law", "--by", "arch", "--shared", "alpha",
                 "--bootstrap", "300", "--null", "99", "--seed", "5", "--at", "1e20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    jf = joint_fit(load_runs(path), "offset_power_law", by="arch", shared="alpha", n_resamples=300, n_null=99, seed=5)
    assert out["shared_params"]["alpha"]["value"] == pytest.approx(jf.shared_estimates["alpha"].value, rel=1e-12)
    assert out["shared_params"]["alpha"]["low"] == pytest.approx(jf.shared_estimates["alpha"].low, rel=1e-12)
    assert out["test"]["p_value"] == jf.test.p_value
    assert out["pairs"][0]["p_better"] == jf.probability_better("B", "A", 1e20)
    assert main(["compare", str(path), "--family", "offset_power_law", "--by", "arch", "--shared", "gamma"]) == 2
    assert "cannot share `gamma`" in capsys.readouterr().err


def test_a_joint_law_the_runs_do_not_identify_is_refused():
    """The crossover sample's runs have one tokens-per-parameter ratio (D/N = 20), so Chinchilla's A/N^alpha
    cannot be told from B/D^beta, shared exponents or not."""
    from pathlib import Path

    from scalecore import NotIdentified

    runs = load_runs(Path(__file__).resolve().parents[1] / "sample_runs" / "architectures_crossover.csv")
    with pytest.raises(NotIdentified, match="one tokens-per-parameter ratio"):
        joint_fit(runs, "chinchilla", by="arch", shared="exponents", n_resamples=200, seed=0)


def test_too_many_resampled_runs_are_refused():
    with pytest.raises(FitError, match="too many to fit at once"):
        joint_fit(dataset(0), "offset_power_law", by="arch", shared="alpha", n_resamples=90_000, seed=0)


def test_nothing_shared_is_each_group_s_own_fit():
    """With nothing shared the summed objective separates, so the joint optimum is each group's own fit."""
    from scalecore import fit

    runs = dataset(7)
    j = joint_fit(runs, "offset_power_law", by="arch", shared="none", n_resamples=50, seed=0)
    assert j.test is None and j.shared == ()
    labels = group_labels(runs, "arch")
    for g in ("A", "B"):
        own = fit(runs.subset(labels == g), "offset_power_law", x="compute")
        for name, value in own.params.items():
            assert j.params[g][name] == pytest.approx(value, rel=1e-5)

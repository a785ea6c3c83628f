"""scalecore.optimum: the one compute-optimal frontier routine, against formulas written out here
(the optimality condition N dL/dN = D dL/dD along C = 6ND, not the closed forms under test), and
the same number on every surface: Explore, the report, the bootstrap result and budget."""

from __future__ import annotations

import numpy as np
import pytest

from scalecore import bootstrap, budget, load_runs, optimum, report
from scalecore.store import Analysis, DataFile, Settings
from tests.synth import EPOCH, TRUTH, frame, runs_of
from tests.test_report import parse
from ui import analysis


@pytest.fixture(scope="module")
def chin_boot():
    return bootstrap(runs_of(frame("chinchilla", seed=4, noise=0.01)), "chinchilla", n_resamples=120, seed=2)


@pytest.fixture(scope="module")
def kaplan_boot():
    return bootstrap(runs_of(frame("kaplan", seed=5, noise=0.01)), "kaplan", n_resamples=120, seed=3)


def chinchilla_frontier_at(theta, axis, x):
    """L on the compute-optimal frontier where N (or D) = x. Along C = 6ND the optimum satisfies
    N dL/dN = D dL/dD, i.e. alpha A N^-alpha = beta B D^-beta; solve it for the other input."""
    E, A, B, alpha, beta = (np.asarray(theta, float)[..., i, None] for i in range(5))
    if axis == "params":
        n = x
        d = (beta * B / (alpha * A * n**-alpha)) ** (1 / beta)
    else:
        d = x
        n = (alpha * A / (beta * B * d**-beta)) ** (1 / alpha)
    return E + A * n**-alpha + B * d**-beta


def kaplan_frontier_at(theta, axis, x):
    """Kaplan: L = S^alpha_D with S = (N_c/N)^p + D_c/D, p = alpha_N/alpha_D; N dS/dN = D dS/dD
    gives p (N_c/N)^p = D_c/D."""
    n_c, d_c, a_n, a_d = (np.asarray(theta, float)[..., i, None] for i in range(4))
    p = a_n / a_d
    if axis == "params":
        n = x
        d = d_c / (p * (n_c / n) ** p)
    else:
        d = x
        n = n_c * (p * d / d_c) ** (1 / p)
    return ((n_c / n) ** p + d_c / d) ** a_d


FRONTIER = {"chinchilla": chinchilla_frontier_at, "kaplan": kaplan_frontier_at}


@pytest.mark.parametrize("which", ["chin_boot", "kaplan_boot"])
@pytest.mark.parametrize("axis", ["params", "tokens"])
def test_frontier_on_an_axis_is_the_optimality_condition(which, axis, request):
    """Every resample, not only those whose frontier a table happened to cover (bug fix: Explore read a
    law without Chinchilla's closed form off 40 budgets around the best fit's range, so a Kaplan
    resample whose N* or D* fell outside it was left out of the band)."""
    boot = request.getfixturevalue(which)
    xs = np.geomspace(1e8, 1e12, 6) if axis == "params" else np.geomspace(1e9, 1e14, 6)
    point, samples = optimum.frontier_on_axis(boot, axis, xs)
    written = FRONTIER[boot.family.name]
    np.testing.assert_allclose(point, written(boot.fit.theta, axis, xs), rtol=1e-9)
    assert samples.shape == (len(boot.good), len(xs)) and np.all(np.isfinite(samples))
    np.testing.assert_allclose(samples, written(boot.good, axis, xs), rtol=1e-9)


@pytest.mark.parametrize("which", ["chin_boot", "kaplan_boot"])
def test_frontier_on_compute_is_the_optimum_minimised_on_a_dense_grid(which, request):
    """L*(C): the law minimised over a dense grid of N along D = C/(6N), written here."""
    boot = request.getfixturevalue(which)
    cs = np.array([1e19, 1e22, 1e25])
    point, _ = optimum.frontier_on_axis(boot, "compute", cs)
    n = np.geomspace(1e5, 1e16, 200_001)
    for c, got in zip(cs, point):
        dense = boot.fit.predict(params=n, tokens=c / (6 * n)).min()
        assert got <= dense * (1 + 1e-12) and got == pytest.approx(dense, rel=1e-9)


@pytest.mark.parametrize("which", ["chin_boot", "kaplan_boot"])
@pytest.mark.parametrize("axis, target", [("compute", 1e24), ("params", 7e10), ("tokens", 1.4e12)])
def test_the_report_predicts_what_explore_shows_on_every_axis(which, axis, target, request):
    """Bug fix: for a law in N and D with the target on the params or tokens axis the report said
    "not predicted on this axis" while Explore showed a number; both now call optimum.predict_at."""
    boot = request.getfixturevalue(which)
    shown = analysis.predict_target(boot, axis, target, 6.0)
    reported = report.target_estimate(boot, axis, target, 6.0)
    assert reported is not None
    assert (reported.value, reported.low, reported.high) == (shown.value, shown.low, shown.high)
    if axis != "compute":
        assert shown.value == pytest.approx(float(FRONTIER[boot.family.name](boot.fit.theta, axis, target)[0]),
                                            rel=1e-9)


def test_the_rendered_report_shows_the_prediction_on_the_params_axis():
    df = frame("chinchilla", seed=2, noise=0.01)
    data = df.to_csv(index=False).encode()
    a = Analysis(title="N axis", files=(DataFile("runs.csv", data),), families=("chinchilla",),
                 settings=Settings(x="params", n_resamples=60, seed=1, target=7e10))
    text = report.render(a)
    assert "not predicted on this axis" not in text
    boot = bootstrap(load_runs(data), "chinchilla", n_resamples=60, seed=1)
    want = analysis.predict_target(boot, "params", 7e10, load_runs(data).flops_per_token_param)
    cells = [c for c in parse(text).cells if c.get("data-quantity") == "target" and c.get("data-kind") == "value"]
    assert [float(c["data-raw"]) for c in cells] == [want.value]


def test_a_one_input_law_is_predicted_on_its_own_axis_only(chin_boot):
    runs = runs_of(frame("offset_power_law", seed=3, noise=0.01))
    boot = bootstrap(runs, "offset_power_law", x="params", n_resamples=60, seed=0)
    est = optimum.predict_at(boot, "params", 7e10)
    ref = boot.predict_at(np.array([7e10]))
    assert (est.value, est.low, est.high) == (ref.value, ref.low, ref.high)
    assert optimum.predict_at(boot, "compute", 1e24) is None


def test_frontier_point_is_the_optimum_with_that_size(chin_boot):
    theta = chin_boot.fit.theta
    for axis, target in (("params", 7e10), ("tokens", 1.4e12), ("compute", 5.76e23)):
        p = optimum.frontier_point("chinchilla", theta, axis, target)
        assert p[axis] == pytest.approx(target, rel=1e-12)
        assert 6.0 * p["params"] * p["tokens"] == pytest.approx(p["compute"], rel=1e-12)
        if axis != "compute":
            assert p["loss"] == pytest.approx(float(chinchilla_frontier_at(theta, axis, target)[0]), rel=1e-9)
    at = analysis.target_point(chin_boot, "params", 7e10, 6.0)
    assert at["params"] == pytest.approx(7e10, rel=1e-12)


def test_bootstrap_and_budget_answer_from_the_same_routine(chin_boot):
    law = budget.Law.from_bootstrap(chin_boot)
    a, b = chin_boot.compute_optimal(1e23), budget.compute_optimal(law, 1e23)
    for key in ("params", "tokens", "loss", "a", "b"):
        assert (a[key].value, a[key].low, a[key].high) == (b[key].value, b[key].low, b[key].high), key


def test_numerical_optimum_of_a_batch_of_budgets_is_the_row_by_row_one():
    theta = np.array([list(EPOCH.values()), [1.9, 150.0, 900.0, 0.3, 0.4]])
    cs = np.array([1e18, 1e21, 1e24, 1e26])
    batch = optimum.numerical_optimum("chinchilla", theta[:, None, :], cs[None, :])
    for i in range(2):
        for j, c in enumerate(cs):
            one = optimum.numerical_optimum("chinchilla", theta[i], c)
            assert batch["params"][i, j] == one["params"]
            assert batch["loss"][i, j] == one["loss"]


def test_numerical_budget_for_reads_the_kaplan_closed_form():
    theta = np.array([[TRUTH["kaplan"][n] for n in ("N_c", "D_c", "alpha_N", "alpha_D")]])
    xs = np.array([1e8, 1e10, 1e12])
    closed = optimum.budget_for("kaplan", theta, "params", xs)
    numeric = optimum.numerical_budget_for("kaplan", theta, "params", xs)
    np.testing.assert_allclose(numeric, closed, rtol=1e-9)  # N*(C) is a power law: log-log exact
    assert np.all(np.isnan(optimum.numerical_budget_for("kaplan", theta, "params", np.array([1e80]))))

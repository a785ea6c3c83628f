"""fit(): recovered parameters against known truth, the objective against Hoffmann's grid, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scalecore import FAMILIES, DataError, FitError, FitSpec, SpecError, fit, get_family
from scalecore.fitting import prepare, rho
from scalecore.reference import reference_objective
from tests.synth import TRUTH, frame, runs_of, synthetic_runs

TOL = {  # relative tolerance of recovery at 0.2% noise; break shape parameters are less determined
    "broken_power_law": {"c": 0.15, "x_b": 0.5, "f": 0.5, "A": 0.1, "alpha": 0.1},
    "kaplan": {"N_c": 0.5, "D_c": 0.2},
    "chinchilla": {"A": 0.1, "B": 0.1},  # coefficients trade off against their exponents
}


def objective_at(result, theta):
    """The summed Huber objective of natural parameters ``theta`` on the result's data, from the
    family's written formula (scalecore.reference), not from the Family.evaluate under test."""
    p = result.problem
    return float(reference_objective(p.family, p.inputs, p.target, np.asarray(theta, float), loss=p.loss,
                                     delta=p.delta))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_recovers_known_parameters(name):
    runs = synthetic_runs(name, seed=1)
    x = None if FAMILIES[name].is_two_input else "params"
    result = fit(runs, name, x=x)
    assert result.success, result.message
    for param, true in TRUTH[name].items():
        tol = TOL.get(name, {}).get(param, 0.03)
        assert result.params[param] == pytest.approx(true, rel=tol), param
    # the optimum found is at least as good as the truth itself
    assert result.objective <= objective_at(result, FAMILIES[name].theta_from(TRUTH[name])) * (1 + 1e-12)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_result_is_a_true_local_optimum(name):
    """No parameter can be nudged to lower the objective (checked against finite differences)."""
    result = fit(synthetic_runs(name, seed=2, noise=0.01), name, x=None if FAMILIES[name].is_two_input else "params")
    fam = result.family
    z = fam.to_internal(result.theta)
    base = objective_at(result, result.theta)
    lo, hi = fam.internal_bounds()
    for i in range(fam.n_params):
        for h in (1e-4, -1e-4):
            zz = z.copy()
            zz[i] = np.clip(zz[i] + h * max(1.0, abs(zz[i])), lo[i], hi[i])
            assert objective_at(result, fam.to_natural(zz)) >= base * (1 - 1e-9)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_jacobian_planes_match_finite_differences(name):
    """Every family's Jacobian, one (B, n) plane per parameter, against central differences."""
    fam = FAMILIES[name]
    runs = synthetic_runs(name, seed=4)
    p = prepare(runs, name, x=None if fam.is_two_input else "params")
    z0 = fam.to_internal(fam.theta_from(TRUTH[name]))
    z = z0 * (1 + 0.05 * np.random.default_rng(0).normal(size=(3, fam.n_params)))
    f, J = fam.evaluate(z, p.inputs)
    assert J.shape == (fam.n_params, 3, p.n) and all(J[i].flags.c_contiguous for i in range(fam.n_params))
    for i in range(fam.n_params):
        h = 1e-6 * np.maximum(1.0, np.abs(z[:, i : i + 1]))
        up, down = z.copy(), z.copy()
        up[:, i : i + 1] += h
        down[:, i : i + 1] -= h
        numeric = (fam.evaluate(up, p.inputs, jac=False)[0] - fam.evaluate(down, p.inputs, jac=False)[0]) / (2 * h)
        np.testing.assert_allclose(J[i], numeric, rtol=1e-5, atol=1e-7, err_msg=fam.param_names[i])


def test_result_fields_and_metrics():
    df = frame("offset_power_law", seed=3, noise=0.01)
    runs = runs_of(df)
    result = fit(runs, "offset_power_law", x="params", exclude=["r000", "r001"])
    assert result.n_points == len(df) - 2 and result.n_excluded == 2
    resid = np.log(result.predict(df["params"].to_numpy()[2:])) - np.log(df["loss"].to_numpy()[2:])
    assert result.rmse_log == pytest.approx(np.sqrt(np.mean(resid**2)), rel=1e-9)
    n, k = result.n_points, 3
    assert result.aic == pytest.approx(n * np.log(np.mean(resid**2)) + 2 * k, rel=1e-9)
    assert result.bic == pytest.approx(n * np.log(np.mean(resid**2)) + k * np.log(n), rel=1e-9)
    d = result.to_dict()
    assert d["family"] == "offset_power_law" and d["n_points"] == n
    assert set(d["metrics"]) >= {"rmse_log", "aic", "bic"}
    assert set(d["params"]) == {"E", "A", "alpha"}


def test_sum_not_mean_objective():
    """The objective is the SUM of Huber losses (Besiroglu et al. 2024's pitfall)."""
    result = fit(synthetic_runs("chinchilla", seed=4, noise=0.01), "chinchilla")
    assert result.objective == pytest.approx(float(np.sum(rho(result.residuals, "huber", 1e-3))), rel=1e-12)


def test_least_squares_option_matches_linear_regression():
    """With loss="ls" a power law is ordinary least squares of log y on log x."""
    df = frame("power_law", seed=5, noise=0.05)
    result = fit(runs_of(df), "power_law", x="params", loss="ls")
    slope, intercept = np.polyfit(np.log(df["params"]), np.log(df["loss"]), 1)
    assert result.params["alpha"] == pytest.approx(-slope, rel=1e-7)
    assert result.params["A"] == pytest.approx(np.exp(intercept), rel=1e-7)


def test_huber_resists_a_diverged_run():
    df = frame("offset_power_law", seed=6, noise=0.005)
    df.loc[10, "loss"] *= 1.6
    runs = runs_of(df)
    robust = fit(runs, "offset_power_law", x="params")
    assert robust.params["alpha"] == pytest.approx(0.3, rel=0.05)


def test_parameter_at_bound_is_reported():
    # data that bends downwards would need E < 0: the saturating family's E stops at its bound 0
    df = frame("power_law", seed=7, noise=0.001)
    df["loss"] -= 0.3
    result = fit(runs_of(df), "offset_power_law", x="params")
    assert "E" in result.at_bound
    assert any("`E` is at its bound" in w for w in result.warnings)


def test_predict_two_input_shapes():
    result = fit(synthetic_runs("chinchilla", seed=8), "chinchilla")
    grid = result.predict(params=np.array([[1e9], [1e10]]), tokens=np.array([1e10, 1e11, 1e12]))
    assert grid.shape == (2, 3)
    E, A, B, a, b = (result.params[k] for k in ("E", "A", "B", "alpha", "beta"))
    assert grid[1, 2] == pytest.approx(E + A / 1e10**a + B / 1e12**b, rel=1e-12)


# -------------------------------------------------------------------------------- errors


def test_too_few_points():
    runs = runs_of(frame("chinchilla").head(5))
    with pytest.raises(FitError, match=r"found 5 usable run\(s\); the chinchilla family has 5 parameters and needs at least 6"):
        fit(runs, "chinchilla")


def test_single_distinct_x():
    df = frame("offset_power_law")
    df["params"] = 1e9
    df["tokens"] = 2e10
    with pytest.raises(FitError, match=r"1 distinct value\(s\) of `params`.*needs at least 3"):
        fit(runs_of(df), "offset_power_law", x="params")


def test_unknown_family_lists_valid_names():
    with pytest.raises(FitError, match=r"unknown family `chinchila`; choose one of: power_law, offset_power_law"):
        get_family("chinchila")


def test_bad_loss_and_delta():
    runs = synthetic_runs("power_law")
    with pytest.raises(FitError, match=r"`loss` must be one of huber, ls; got 'l1'"):
        fit(runs, "power_law", loss="l1")
    with pytest.raises(FitError, match=r"`delta` must be a positive number; got 0"):
        fit(runs, "power_law", delta=0)


def test_nonpositive_metric_names_rows():
    df = frame("offset_power_law")
    df.loc[[3, 7], "loss"] = [0.0, -1.0]
    with pytest.raises(DataError, match=r"`synthetic.csv`, column `loss`, rows 5 and 9: values must be positive"):
        fit(runs_of(df), "offset_power_law", x="params")


def test_two_input_family_needs_params_and_tokens():
    df = frame("offset_power_law")[["run_id", "params", "loss"]]
    with pytest.raises(DataError, match=r"needs model size N \(params\) and training tokens D; the data has no tokens"):
        fit(runs_of(df), "chinchilla")


def test_missing_metric_values_are_left_out_with_a_warning():
    df = frame("offset_power_law", seed=9)
    df.loc[[2, 4], "loss"] = np.nan
    result = fit(runs_of(df), "offset_power_law", x="params")
    assert result.n_points == len(df) - 2
    assert any("2 run(s) have no `loss` value" in w for w in result.warnings)


def test_runs_missing_a_size_are_left_out_only_by_the_fits_that_need_it():
    # issue 21: load_runs keeps runs with an empty size cell; prepare leaves out those the chosen fit needs
    df = frame("chinchilla", seed=4)
    df.loc[[1, 3, 6], "tokens"] = np.nan
    runs = runs_of(df)
    assert len(runs) == len(df) and np.isnan(runs.values("compute")[[1, 3, 6]]).all()  # C = 6ND: not derived there
    ids = runs.run_ids[[1, 3, 6]].tolist()
    by_params = prepare(runs, "power_law", x="params")
    assert by_params.n == len(df) and by_params.warnings == () and by_params.dropped == ()
    for spec in (FitSpec("power_law", x="compute"), FitSpec("power_law", x="tokens"), FitSpec("chinchilla")):
        problem = prepare(runs, spec)
        assert problem.n == len(df) - 3 and problem.dropped == tuple(ids)
        assert not set(ids) & set(problem.run_ids.tolist())
    two_input = prepare(runs, "chinchilla")
    assert two_input.warnings == (f"3 run(s) have no `params` or `tokens` value and were left out: {', '.join(ids)}",)
    result = fit(runs, "power_law", x="compute")
    assert result.n_points == len(df) - 3
    assert result.warnings[0] == f"3 run(s) have no `compute` value and were left out: {', '.join(ids)}"
    # a run missing both the metric and the x is counted once, under the metric
    df.loc[[1, 2], "loss"] = np.nan
    both = prepare(runs_of(df), "power_law", x="compute")
    assert both.n == len(df) - 4 and len(both.dropped) == 4
    assert both.warnings[0].startswith("2 run(s) have no `loss` value and were left out")
    assert both.warnings[1].startswith("2 run(s) have no `compute` value and were left out")


def test_unknown_exclusions_are_ignored_with_a_warning():
    result = fit(synthetic_runs("power_law"), "power_law", x="params", exclude=["nope"])
    assert result.n_excluded == 0 and any("not in the data: nope" in w for w in result.warnings)


def test_x_is_rejected_for_two_input_families():
    with pytest.raises(FitError, match=r"`x` does not apply"):
        prepare(synthetic_runs("chinchilla"), "chinchilla", x="compute")


def test_falling_logistic_is_fitted_with_a_positive_slope():
    df = frame("logistic", seed=3, theta={"y0": 0.8, "y1": 0.1, "slope": 3.0, "log10_mid": 9.5})
    result = fit(runs_of(df), "logistic", x="params")
    assert result.params["slope"] == pytest.approx(3.0, rel=0.05)
    assert result.params["y0"] == pytest.approx(0.8, abs=0.01) and result.params["y1"] == pytest.approx(0.1, abs=0.01)


def test_expit_matches_scipy_without_overflow():
    """The NumPy sigmoid that spares the app's first run scipy.special: within 2 ulps of scipy's
    wherever the value is a normal float, exact 0 and 1 at the infinities, NaN kept, nothing overflows."""
    from scipy.special import expit as reference

    from scalecore.families import expit

    x = np.concatenate([np.linspace(-800.0, 800.0, 200_001), [0.0, -0.0, 1e-300, -1e-300, 37.0, -37.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the answer
        got = expit(x)
    want = reference(x)
    normal = want > np.finfo(float).tiny
    assert np.max(np.abs(got[normal] - want[normal]) / want[normal]) <= 2 * np.finfo(float).eps
    assert np.all(np.abs(got[~normal] - want[~normal]) <= np.finfo(float).tiny)
    np.testing.assert_array_equal(expit(np.array([np.inf, -np.inf, np.nan])), [1.0, 0.0, np.nan])


def test_the_app_libraries_load_without_scipy():
    """scipy (0.25 s for scipy.special alone) is only for the reference solver and the tests: a cold
    first visit waits for every import the app makes."""
    import subprocess
    import sys

    code = ("import importlib, pkgutil, sys, scalecore, ui\n"
            "for pkg in (scalecore, ui):\n"
            "    for m in pkgutil.iter_modules(pkg.__path__):\n"
            "        if m.name not in ('reference', '__main__'):  # reference: the L-BFGS-B the benchmarks compare against\n"
            "            importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def test_small_nnls_matches_scipy_on_random_and_degenerate_problems():
    """The starting-value solver (exact, by supports) reaches scipy's NNLS residual, and is >= 0."""
    from scipy.optimize import nnls

    from scalecore.families import nnls_small

    rng = np.random.default_rng(3)
    G = rng.normal(size=(200, 30, 3))
    G[:20, :, 2] = G[:20, :, 0]  # collinear columns
    G[20:30, :, 1] = 0.0  # an empty column
    t = rng.normal(size=(200, 30))
    c = nnls_small(G, t)
    assert np.all(c >= 0)
    for i in range(200):
        ref, rnorm = nnls(G[i], t[i])
        assert np.linalg.norm(G[i] @ c[i] - t[i]) <= rnorm * (1 + 1e-10) + 1e-12
    free = nnls_small(G[30:], t[30:], nonneg=False)
    np.testing.assert_allclose(free, [np.linalg.lstsq(g, y, rcond=None)[0] for g, y in zip(G[30:], t[30:])], rtol=1e-8, atol=1e-10)


def test_batched_spd_solve_matches_lapack_and_leaves_its_inputs_alone():
    """The vectorised elimination agrees with numpy's solver on SPD systems of every size the
    families have, for one system as for many; singular systems fall back to least squares."""
    from scalecore.solver import _spd_solve

    rng = np.random.default_rng(5)
    for p in (2, 3, 4, 5, 6):
        for k in (1, 2, 300):
            J = rng.normal(size=(k, p, 12))
            A = J @ J.transpose(0, 2, 1) + 1e-10 * np.eye(p)
            b = rng.normal(size=(k, p))
            A0, b0 = A.copy(), b.copy()
            x = _spd_solve(A, b)
            np.testing.assert_allclose(x, np.linalg.solve(A, b[..., None])[..., 0], rtol=1e-8, atol=1e-10)
            np.testing.assert_array_equal(A, A0)
            np.testing.assert_array_equal(b, b0)  # one row's b.T is contiguous: it must still be copied
    singular = np.array([[[1.0, 1.0], [1.0, 1.0]]] * 3)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(_spd_solve(singular, np.ones((3, 2))), 0.5)


def test_a_problem_is_solved_the_same_alone_or_in_any_batch():
    """Every operation of the solver is row by row: a resample's answer must not depend on which
    other resamples share its batch (threads and cores split batches differently)."""
    from scalecore.bootstrap import resample_weights
    from scalecore.fitting import fit_problem
    from scalecore.solver import _solve

    for family in ("offset_power_law", "chinchilla"):
        runs = synthetic_runs(family, seed=2, noise=0.01, **({} if family == "chinchilla" else {"n_points": 30}))
        p = prepare(runs, family, x=None if family == "chinchilla" else "params")
        fit_ = fit_problem(p)
        W, _ = resample_weights(p, 40, "cases", np.random.default_rng(1))
        z0 = np.repeat(p.family.to_internal(fit_.theta)[None], 40, axis=0)
        together = _solve(p.family, p.inputs, p.target, W, z0)
        for rows in (slice(0, 1), slice(1, 2), slice(5, 18), slice(18, 40)):
            alone = _solve(p.family, p.inputs, p.target, W[rows], z0[rows])
            np.testing.assert_array_equal(alone.z, together.z[rows])
            np.testing.assert_array_equal(alone.n_iter, together.n_iter[rows])


# ------------------------------------------------------------------------------ FitSpec


def test_a_spec_and_the_arguments_give_the_same_fit():
    runs = synthetic_runs("offset_power_law", seed=6, noise=0.01)
    drop = [str(runs.run_ids[0]), str(runs.run_ids[3])]
    spec = FitSpec("offset_power_law", x="params", exclude=drop, loss="huber", delta=2e-3)
    a = fit(runs, spec)
    b = fit(runs, "offset_power_law", x="params", exclude=drop, delta=2e-3)
    assert a.theta.tobytes() == b.theta.tobytes() and a.objective == b.objective
    assert a.n_excluded == 2 and a.spec == spec and b.spec == spec
    with pytest.raises(FitError, match="either a FitSpec or the fit's arguments"):
        fit(runs, spec, delta=1e-2)


def test_a_spec_is_a_hashable_value():
    a = FitSpec(get_family("chinchilla"), x="params", exclude=["r1", "r2", "r1"])
    b = FitSpec("chinchilla", exclude=("r1", "r2"))
    # a registered Family is kept as its name; x of a law in N and D means nothing and is dropped
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a.family == "chinchilla" and a.x is None and a.exclude == ("r1", "r2") and a.model is get_family("chinchilla")
    assert FitSpec("power_law", x="params") != FitSpec("power_law", x="tokens")
    assert FitSpec("power_law", exclude=np.array(["r1", "r2"])).exclude == ("r1", "r2")  # an array of ids too
    assert FitSpec("power_law", exclude=None).exclude == ()
    assert a.to_dict() == {"family": "chinchilla", "x": None, "y": None, "exclude": ["r1", "r2"], "loss": "huber",
                           "delta": 1e-3}
    with pytest.raises(Exception):
        a.delta = 1.0  # frozen


@pytest.mark.parametrize("kwargs, message", [
    ({"family": "chinchila"}, "unknown family `chinchila`; choose one of: power_law"),
    ({"family": "power_law", "x": "flops"}, "`x` must be one of params, tokens, compute; got 'flops'"),
    ({"family": "chinchilla", "x": "compute"}, "law in N and D together; `x` does not apply"),
    ({"family": "power_law", "loss": "l1"}, "`loss` must be one of huber, ls; got 'l1'"),
    ({"family": "power_law", "delta": 0}, "`delta` must be a positive number; got 0"),
    ({"family": "power_law", "delta": float("nan")}, "`delta` must be a positive number"),
    ({"family": "power_law", "delta": True}, "`delta` must be a positive number; got True"),
    ({"family": "power_law", "exclude": "run-1"}, r"not one string; write \('run-1',\)"),
    ({"family": "power_law", "y": ""}, "`y` must be the name of a metric column"),
])
def test_a_spec_says_what_is_wrong(kwargs, message):
    with pytest.raises(FitError, match=message):
        FitSpec(**kwargs)


def test_spec_errors_are_value_errors_too():
    with pytest.raises(ValueError):
        FitSpec("power_law", loss="l1")
    assert issubclass(SpecError, FitError)

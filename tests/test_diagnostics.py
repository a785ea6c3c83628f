"""diagnostics: outlier suggestions, influence and information criteria against known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalecore import FitError, fit
from scalecore.diagnostics import (
    Suggestion,
    compare_families,
    influence,
    residual_header,
    residual_table,
    robust_z,
    run_residuals,
    shown_residuals,
    subset_problem,
    suggest_outliers,
    unsupported,
    with_without,
)
from scalecore.fitting import fit_problem, prepare
from tests.synth import frame, runs_of

CORRUPTED = [4, 11, 19]


def corrupted_frame(factor=1.3, rows=CORRUPTED, seed=0, noise=0.002):
    df = frame("offset_power_law", seed=seed, noise=noise)
    df.loc[rows, "loss"] *= factor
    return df


# -------------------------------------------------------------------------------- robust z


def test_robust_z_by_hand():
    r = np.array([0.0, 1.0, 2.0, 3.0, 100.0])
    # median 2, absolute deviations 2, 1, 0, 1, 98 -> MAD 1
    assert robust_z(r) == pytest.approx((r - 2.0) / 1.4826)


def test_robust_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero():
    r = np.array([0.0, 0.0, 0.0, 0.0, 0.5])
    # MAD = 0; mean absolute deviation from the median = 0.1, times sqrt(pi/2)
    assert robust_z(r) == pytest.approx(r / (0.1 * math.sqrt(math.pi / 2)))
    assert np.all(robust_z(np.zeros(4)) == 0.0)


# -------------------------------------------------------------------------------- outliers


def test_suggest_outliers_finds_exactly_the_corrupted_runs():
    df = corrupted_frame()
    result = fit(runs_of(df), "offset_power_law", x="params")
    found = suggest_outliers(result, threshold=3.5)
    assert sorted(s.run_id for s in found) == sorted(df["run_id"].iloc[CORRUPTED])
    assert all(isinstance(s, Suggestion) for s in found)
    scores = [abs(s.score) for s in found]
    assert scores == sorted(scores, reverse=True)
    for s in found:
        # the runs lie 30% above the fitted curve (up to the 0.2% noise of the data): residual
        # actual - predicted = ln(1.3) > 0, and the robust z is positive
        assert math.expm1(s.residual) == pytest.approx(0.30, abs=0.01)
        assert s.score > 3.5
        i = int(s.run_id[1:])
        assert s.actual == df["loss"].iloc[i] and s.inputs == {"params": df["params"].iloc[i]}
        assert s.predicted == pytest.approx(float(result.predict(df["params"].iloc[i])), rel=1e-12)
        assert s.residual == pytest.approx(math.log(s.actual) - math.log(s.predicted), abs=1e-12)
        assert s.reason.startswith("loss 30% above the fit (robust |z| = ")
        assert f"{abs(s.score):.1f}" in s.reason


def test_suggest_outliers_below_the_fit_and_clean_data():
    df = corrupted_frame(factor=0.8, rows=[7])
    found = suggest_outliers(fit(runs_of(df), "offset_power_law", x="params"))
    assert [s.run_id for s in found] == ["r007"]
    assert found[0].reason.startswith("loss 20% below the fit") and found[0].score < 0 and found[0].residual < 0
    assert suggest_outliers(fit(runs_of(frame("offset_power_law", seed=0)), "offset_power_law", x="params")) == []


def test_suggest_outliers_on_exact_data_suggests_nothing():
    # residuals at rounding level must not be blown up into outliers by the scale floor
    result = fit(runs_of(frame("offset_power_law", noise=0.0)), "offset_power_law", x="params")
    assert suggest_outliers(result) == []


def test_suggest_outliers_linear_space_reason():
    df = frame("logistic", seed=2, noise=0.003)
    df.loc[9, "accuracy"] -= 0.12
    found = suggest_outliers(fit(runs_of(df), "logistic", x="params"))
    assert [s.run_id for s in found] == ["r009"]
    assert found[0].reason.startswith("accuracy 0.12 below the fit")


def test_suggest_outliers_bad_threshold():
    result = fit(runs_of(frame("power_law")), "power_law", x="params")
    with pytest.raises(FitError, match=r"`threshold` must be a positive number \(3.5 is usual\); got 0"):
        suggest_outliers(result, threshold=0)


def test_residual_table():
    df = corrupted_frame()
    result = fit(runs_of(df), "offset_power_law", x="params", exclude=["r000"])
    table = residual_table(result)
    assert list(table.columns) == ["run_id", "params", "actual", "predicted", "residual", "robust_z"]
    assert len(table) == len(df) - 1 and table["run_id"].iloc[0] == "r001"
    np.testing.assert_allclose(table["params"], df["params"].iloc[1:])
    np.testing.assert_allclose(table["actual"], df["loss"].iloc[1:])
    np.testing.assert_allclose(table["predicted"], result.predict(df["params"].to_numpy()[1:]), rtol=1e-12)
    np.testing.assert_allclose(table["residual"], np.log(table["actual"]) - np.log(table["predicted"]), atol=1e-12)
    np.testing.assert_allclose(table["robust_z"], robust_z(-result.residuals))

    two = residual_table(fit(runs_of(frame("chinchilla", seed=1)), "chinchilla"))
    assert list(two.columns[:3]) == ["run_id", "params", "tokens"]


def test_shown_residuals_are_actual_minus_predicted_with_a_header_that_says_so():
    df = corrupted_frame(rows=[4])
    result = fit(runs_of(df), "offset_power_law", x="params")
    r = shown_residuals(result)
    np.testing.assert_allclose(r, np.log(df["loss"]) - np.log(result.predict(df["params"].to_numpy())), atol=1e-12)
    assert r[4] > 0.2  # the run 30% above the curve
    assert residual_header(result.family) == "residual ln(actual) − ln(predicted)"
    acc = fit(runs_of(frame("logistic", seed=2, noise=0.003)), "logistic", x="params")
    assert residual_header(acc.family) == "residual actual − predicted"


def test_run_residuals_give_excluded_runs_their_residual_against_the_fit_without_them():
    df = corrupted_frame(rows=[4, 11])
    runs = runs_of(df)
    result = fit(runs, "offset_power_law", x="params", exclude=["r004"])
    table = run_residuals(result, runs)
    assert len(table) == len(df) and list(table["run_id"]) == list(df["run_id"])
    by_id = table.set_index("run_id")
    assert by_id.loc["r004", "status"] == "excluded" and by_id.loc["r011", "status"] == "fitted"
    # the excluded run against the fit made without it: an independent evaluation of the law
    E, A, alpha = (result.params[k] for k in ("E", "A", "alpha"))
    pred4 = E + A * df["params"].iloc[4] ** -alpha
    assert by_id.loc["r004", "predicted"] == pytest.approx(pred4, rel=1e-12)
    assert by_id.loc["r004", "residual"] == pytest.approx(math.log(df["loss"].iloc[4] / pred4), abs=1e-12)
    assert by_id.loc["r004", "residual"] == pytest.approx(math.log(1.3), abs=0.01)
    # the fitted runs' numbers are residual_table's
    fitted = table[table["status"] == "fitted"].reset_index(drop=True)
    ref = residual_table(result)
    np.testing.assert_allclose(fitted["residual"], ref["residual"], atol=1e-12)
    np.testing.assert_allclose(fitted["robust_z"], ref["robust_z"], atol=1e-9)
    assert not table["residual"].isna().any()


def test_with_without_puts_the_two_fits_side_by_side():
    df = corrupted_frame(rows=[4])
    runs = runs_of(df)
    a = fit(runs, "offset_power_law", x="params")
    b = fit(runs, "offset_power_law", x="params", exclude=["r004"])
    table = with_without(a, b).set_index("quantity")
    assert table.loc["runs fitted", "with the runs"] == str(len(df))
    assert table.loc["runs fitted", "without them"] == str(len(df) - 1)
    for name in ("E", "A", "alpha"):
        assert table.loc[name, "value with"] == a.params[name]
        assert table.loc[name, "value without"] == b.params[name]
        pct = 100 * (b.params[name] - a.params[name]) / abs(a.params[name])
        assert table.loc[name, "change"] == f"{pct:+.3g}%"


# -------------------------------------------------------------------------------- backtest


def test_subset_problem():
    problem = prepare(runs_of(frame("offset_power_law")), "offset_power_law", x="params")
    mask = np.arange(problem.n) % 2 == 0
    sub = subset_problem(problem, mask)
    assert sub.n == mask.sum() and list(sub.run_ids) == list(problem.run_ids[mask])
    np.testing.assert_array_equal(sub.inputs["x"], problem.inputs["x"][mask])
    assert sub.family is problem.family and sub.loss == problem.loss and problem.n == 25
    with pytest.raises(FitError, match=r"found 2 usable run\(s\); the offset_power_law family has 3 parameters"):
        subset_problem(problem, np.arange(problem.n) < 2)
    with pytest.raises(FitError, match=r"`mask` must be a boolean array with one entry per run \(25\)"):
        subset_problem(problem, np.ones(3, dtype=bool))


# -------------------------------------------------------------------------------- influence


def loop_influence(problem, at):
    """Reference: refit every leave-one-out subset from scratch with fit_problem."""
    out = {}
    for i in range(problem.n):
        mask = np.ones(problem.n, dtype=bool)
        mask[i] = False
        out[problem.run_ids[i]] = float(np.ravel(fit_problem(subset_problem(problem, mask)).predict(**at))[0])
    return out


@pytest.mark.parametrize("loss", ["ls", "huber"])
def test_influence_vectorised_equals_a_loop_of_fits(loss):
    df = corrupted_frame(rows=[8], seed=4, noise=0.01).iloc[::2].reset_index(drop=True)  # 13 runs
    problem = prepare(runs_of(df), "offset_power_law", x="params", loss=loss)
    result = fit_problem(problem)
    table = influence(result, {"x": 1e12})
    reference = loop_influence(problem, {"x": 1e12})
    got = dict(zip(table["run_id"], table["prediction_without"]))
    assert set(got) == set(reference)
    for run_id, value in reference.items():
        assert got[run_id] == pytest.approx(value, rel=1e-6), run_id
    prediction = table.attrs["prediction"]
    assert prediction == pytest.approx(float(result.predict(1e12)), rel=1e-12)
    np.testing.assert_allclose(table["change"], table["prediction_without"] - prediction)
    np.testing.assert_allclose(table["change_pct"], 100 * table["change"] / prediction)
    assert list(np.abs(table["change_pct"])) == sorted(np.abs(table["change_pct"]), reverse=True)
    assert table.attrs["warnings"] == []


def test_influence_two_input_vectorised_equals_a_loop():
    df = frame("chinchilla", seed=5, noise=0.01, per_budget=3)  # 18 runs
    problem = prepare(runs_of(df), "chinchilla")
    at = {"params": 7e10, "tokens": 1.4e12}
    table = influence(fit_problem(problem), at)
    reference = loop_influence(problem, at)
    for run_id, value in zip(table["run_id"], table["prediction_without"]):
        assert value == pytest.approx(reference[run_id], rel=1e-6), run_id


def test_influence_names_the_corrupted_run():
    df = corrupted_frame(factor=1.3, rows=[12], seed=6)
    result = fit(runs_of(df), "offset_power_law", x="params", loss="ls")
    table = influence(result, {"params": 1e12})  # the fit's own x name works too
    assert table["run_id"].iloc[0] == "r012"
    # without it the least-squares fit returns to the truth; with it the prediction is 2.5% off
    truth = 1.7 + 400.0 * 1e12**-0.3
    assert table["prediction_without"].iloc[0] == pytest.approx(truth, rel=0.005)
    assert abs(table["change_pct"].iloc[0]) > 2.0
    assert abs(table["change_pct"].iloc[0]) > 4 * abs(table["change_pct"].iloc[1])


def test_influence_marks_runs_that_cannot_be_left_out():
    # 4 runs, 3 parameters: any leave-one-out subset has 3 runs, fewer than the 4 a fit needs
    problem = prepare(runs_of(frame("offset_power_law", n_points=4)), "offset_power_law", x="params")
    table = influence(fit_problem(problem), {"x": 1e12})
    assert table["prediction_without"].isna().all()


def test_influence_target_errors():
    result = fit(runs_of(frame("chinchilla", per_budget=3)), "chinchilla")
    with pytest.raises(FitError, match=r'`at` must be \{"params": N, "tokens": D\} for the chinchilla family'):
        influence(result, {"x": 1e12})
    with pytest.raises(FitError, match=r"`at` values must be positive numbers; got tokens=-1"):
        influence(result, {"params": 1e9, "tokens": -1})
    one = fit(runs_of(frame("power_law")), "power_law", x="params")
    with pytest.raises(FitError, match=r'`at` must be \{"x": value\} \(or \{"params": value\}\)'):
        influence(one, {"compute": 1e21})


# -------------------------------------------------------------------------------- families


def by_hand(result, k, jacobian=0.0):
    n = result.n_points
    rss = result.rmse**2 * n
    aic = n * math.log(rss / n) + 2 * k + jacobian
    bic = n * math.log(rss / n) + k * math.log(n) + jacobian
    return aic, bic


def test_compare_families_information_criteria_by_hand():
    runs = runs_of(frame("offset_power_law", seed=7, noise=0.01))
    fits = [fit(runs, name, x="params") for name in ("power_law", "offset_power_law", "broken_power_law")]
    table = compare_families(fits)
    assert list(table.columns) == ["family", "x", "n_params", "rmse_log", "aic", "bic", "delta_aic", "akaike_weight"]
    rows = table.set_index("family")
    aics = {}
    for f in fits:
        aic, bic = by_hand(f, f.family.n_params)
        row = rows.loc[f.family.name]
        assert row["aic"] == pytest.approx(aic, rel=1e-9) and row["bic"] == pytest.approx(bic, rel=1e-9)
        assert row["rmse_log"] == pytest.approx(f.rmse_log) and row["n_params"] == f.family.n_params
        aics[f.family.name] = aic
    best = min(aics.values())
    total = sum(math.exp(-0.5 * (a - best)) for a in aics.values())
    for name, a in aics.items():
        assert rows.loc[name, "delta_aic"] == pytest.approx(a - best, abs=1e-9)
        assert rows.loc[name, "akaike_weight"] == pytest.approx(math.exp(-0.5 * (a - best)) / total, rel=1e-9)
    assert table["akaike_weight"].sum() == pytest.approx(1.0)
    # sorted best first; the family the data was drawn from beats the plain power law, which cannot
    # bend. (The broken power law, a superset with 3 more parameters, may fit this noise draw
    # better even after AIC's penalty: at its optimum here its RMSE is 0.0061 against 0.0079.)
    assert table["delta_aic"].iloc[0] == 0.0 and table["delta_aic"].is_monotonic_increasing
    assert aics["offset_power_law"] < aics["power_law"] - 10


def test_compare_families_true_two_input_family_wins():
    runs = runs_of(frame("chinchilla", seed=8, noise=0.005))
    fits = [fit(runs, "kaplan"), fit(runs, "chinchilla"), fit(runs, "offset_power_law", x="compute")]
    table = compare_families(fits)
    assert table["family"].iloc[0] == "chinchilla"
    assert table["akaike_weight"].iloc[0] > 0.99
    assert table.set_index("family").loc["chinchilla", "x"] == "params+tokens"
    # the laws more than 10 AIC behind the best are the ones the runs do not support
    behind = table.loc[table["delta_aic"] > 10, "family"].tolist()
    assert behind and unsupported(fits) == behind and "chinchilla" not in behind
    assert unsupported(fits[1:2]) == []  # one law alone: nothing to be behind
    assert unsupported([fits[1], fit(runs, "kaplan", exclude=[str(runs.run_ids[0])])]) == []  # other runs


def test_compare_families_mixed_spaces_use_the_jacobian():
    df = frame("logistic", seed=9, noise=0.005)
    runs = runs_of(df)
    logistic, power = fit(runs, "logistic", x="params"), fit(runs, "power_law", x="params")
    table = compare_families([power, logistic]).set_index("family")
    jac = 2 * float(np.sum(np.log(df["accuracy"])))
    assert table.loc["power_law", "aic"] == pytest.approx(by_hand(power, 2, jac)[0], rel=1e-9)
    assert table.loc["power_law", "bic"] == pytest.approx(by_hand(power, 2, jac)[1], rel=1e-9)
    assert table.loc["logistic", "aic"] == pytest.approx(by_hand(logistic, 4)[0], rel=1e-9)
    assert table.loc["logistic", "akaike_weight"] > 0.99
    assert "Jacobian" in compare_families([power, logistic]).attrs["note"]


def test_compare_families_rejects_different_runs():
    runs = runs_of(frame("offset_power_law"))
    a = fit(runs, "offset_power_law", x="params")
    b = fit(runs, "power_law", x="params", exclude=["r003"])
    with pytest.raises(
        FitError,
        match=r"the fits must use the same runs to compare them: offset_power_law uses 25 run\(s\), "
        r"power_law uses 24; only in offset_power_law: r003",
    ):
        compare_families([a, b])
    with pytest.raises(FitError, match=r"`fits` must hold at least one fit; got none"):
        compare_families([])


def test_rules_hit_the_runs_beyond_a_limit_on_any_numeric_column():
    from scalecore.diagnostics import rule_columns, runs_beyond

    df = frame("chinchilla", seed=1)
    df["lr"] = np.linspace(1e-4, 1e-3, len(df))
    runs = runs_of(df)
    assert rule_columns(runs)[:2] == ["loss", "tokens_per_param"] and "lr" in rule_columns(runs)
    ratio = df["tokens"] / df["params"]
    assert runs_beyond(runs, "tokens_per_param", "below", 20.0) == df.loc[ratio < 20, "run_id"].tolist()
    assert runs_beyond(runs, "tokens_per_param", "above", 20.0) == df.loc[ratio > 20, "run_id"].tolist()
    assert runs_beyond(runs, "loss", "above", 3.0) == df.loc[df["loss"] > 3.0, "run_id"].tolist()
    assert runs_beyond(runs, "lr", "above", 5e-4) == df.loc[df["lr"] > 5e-4, "run_id"].tolist()
    with pytest.raises(FitError, match="no numeric column `nope`"):
        runs_beyond(runs, "nope", "above", 1.0)
    with pytest.raises(FitError, match="`direction` must be above or below"):
        runs_beyond(runs, "loss", "over", 1.0)

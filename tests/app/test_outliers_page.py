"""Explore's outlier section run by run: suggestions picked one by one, one excluded run brought
back, rules on the metric above a limit; the exclusions and the refitted numbers are checked against
scalecore computed here."""

from __future__ import annotations

import numpy as np
import pytest

from scalecore import load_runs
from tests.app.test_explore import SAMPLE, assert_parameter_table, expected_boot, no_errors, start

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="sample_runs/chinchilla_like.csv is not there yet")


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALECORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCALECORE_FIT_AHEAD", "0")


def excluded_in_url(at) -> dict[str, str]:
    url = at.query_params.get("exclude", [])
    url = [url] if isinstance(url, str) else list(url)
    return dict(u.split("|", 1) for u in url)


def suggestions_table(at):
    return next(df.value for df in at.dataframe if "robust z" in df.value.columns)


def test_suggestions_show_n_d_loss_and_residual_and_only_the_ticked_runs_are_excluded():
    from scalecore import diagnostics

    at = start(n="200", seed="78")
    at.session_state["outlier_tab"] = "Suggestions"
    at.run()
    no_errors(at)
    boot = expected_boot(n_resamples=200, seed=78)
    found = diagnostics.suggest_outliers(boot.fit, 3.5)
    assert len(found) >= 2
    table = suggestions_table(at)
    assert list(table["run_id"]) == [s.run_id for s in found]
    runs = load_runs(SAMPLE)
    frame = runs.frame.set_index("run_id")
    p = boot.fit.params
    for s, (_, row) in zip(found, table.iterrows()):
        n, d, loss = frame.loc[s.run_id, "params"], frame.loc[s.run_id, "tokens"], frame.loc[s.run_id, "loss"]
        law = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]  # Chinchilla, written out
        assert (row["N"], row["D"], row["loss"]) == (n, d, loss)
        assert row["predicted"] == pytest.approx(law, rel=1e-9)
        assert row["residual"] == pytest.approx(np.log(loss) - np.log(law), abs=1e-9)  # actual - predicted
        assert row["exclude"]

    # untick the first suggestion: only the others are excluded
    keep_in = found[0].run_id
    key = next(df.key for df in at.dataframe if "robust z" in df.value.columns)
    at.session_state[key] = {"edited_rows": {0: {"exclude": False}}, "added_rows": [], "deleted_rows": []}
    at.run()
    button = next(b for b in at.button if b.key == "accept_suggestions")
    assert button.label == f"Exclude the {len(found) - 1} selected run(s)"
    button.click().run()
    no_errors(at)
    excluded = excluded_in_url(at)
    expected = sorted(s.run_id for s in found[1:])
    assert sorted(excluded) == expected and keep_in not in excluded
    assert all(why.startswith("suggested: ") for why in excluded.values())
    assert_parameter_table(at, expected_boot(exclude=expected, n_resamples=200, seed=78))


def test_one_excluded_run_is_brought_back_and_the_fit_is_scalecores_without_the_other():
    runs = load_runs(SAMPLE)
    a, b = (str(r) for r in runs.run_ids[:2])
    at = start(n="200", exclude=[f"{a}|first", f"{b}|second"])
    at.session_state["outlier_tab"] = "Excluded"
    at.run()
    no_errors(at)
    table = next(df.value for df in at.dataframe if "re-include" in df.value.columns)
    assert list(table["run_id"]) == [a, b]
    # the excluded runs' residuals: against the fit made without them, never None
    boot = expected_boot(exclude=[a, b], n_resamples=200)
    p = boot.fit.params
    frame = runs.frame.set_index("run_id")
    for rid, (_, row) in zip((a, b), table.iterrows()):
        n, d, loss = frame.loc[rid, "params"], frame.loc[rid, "tokens"], frame.loc[rid, "loss"]
        law = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]
        assert row["residual"] == pytest.approx(np.log(loss / law), abs=1e-9)
    key = next(df.key for df in at.dataframe if "re-include" in df.value.columns)
    at.session_state[key] = {"edited_rows": {1: {"re-include": True}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="reinclude").click().run()
    no_errors(at)
    assert excluded_in_url(at) == {a: "first"}
    assert_parameter_table(at, expected_boot(exclude=[a], n_resamples=200))


def test_a_rule_on_the_loss_above_a_limit_excludes_those_runs_and_refits():
    runs = load_runs(SAMPLE)
    loss = runs.values("loss")
    limit = float(np.quantile(loss, 0.9))
    at = start(n="200")
    at.session_state["outlier_tab"] = "Rules"
    at.run()
    at.selectbox(key="rule_role").set_value("loss")
    at.session_state["rule_dir"] = "above"
    at.text_input(key="rule_value").set_value(f"{limit:.6g}")
    next(b for b in at.button if b.label == "Exclude these runs").click().run()
    no_errors(at)
    excluded = excluded_in_url(at)
    expected = sorted(str(r) for r, v in zip(runs.run_ids, loss) if v > float(f"{limit:.6g}"))
    assert expected and sorted(excluded) == expected
    assert set(excluded.values()) == {f"rule: loss > {float(f'{limit:.6g}'):.3g}"}
    assert_parameter_table(at, expected_boot(exclude=expected, n_resamples=200))


def test_a_rule_on_tokens_per_parameter_below():
    runs = load_runs(SAMPLE)
    ratio = runs.values("tokens") / runs.values("params")
    limit = float(np.quantile(ratio, 0.2))
    at = start(n="200")
    at.session_state["outlier_tab"] = "Rules"
    at.run()
    at.selectbox(key="rule_role").set_value("tokens_per_param")
    at.text_input(key="rule_value").set_value(f"{limit:.6g}")
    next(b for b in at.button if b.label == "Exclude these runs").click().run()
    no_errors(at)
    expected = sorted(str(r) for r, v in zip(runs.run_ids, ratio) if v < float(f"{limit:.6g}"))
    assert expected and sorted(excluded_in_url(at)) == expected


def test_the_with_without_comparison_is_scalecores_two_fits_side_by_side():
    from scalecore import diagnostics
    from scalecore.formatting import format_estimate

    at = start(n="200", seed="78")
    at.session_state["outlier_tab"] = "Suggestions"
    at.run()
    at.toggle(key="outlier_compare").set_value(True).run()
    no_errors(at)
    found = sorted(s.run_id for s in diagnostics.suggest_outliers(expected_boot(n_resamples=200, seed=78).fit, 3.5))
    table = next(df.value for df in at.dataframe if "without them" in df.value.columns).set_index("quantity")
    with_, without = expected_boot(n_resamples=200, seed=78), expected_boot(exclude=found, n_resamples=200, seed=78)
    for name in ("E", "alpha", "beta"):
        assert table.loc[name, "with the runs"] == format_estimate(with_.estimates[name])
        assert table.loc[name, "without them"] == format_estimate(without.estimates[name])
        pct = 100 * (without.fit.params[name] - with_.fit.params[name]) / abs(with_.fit.params[name])
        assert table.loc[name, "change"] == f"{pct:+.3g}%"
    assert table.loc["runs fitted", "without them"] == str(with_.fit.n_points - len(found))


def test_runs_that_stand_out_after_a_round_of_removal_are_said_with_the_round_count():
    """After accepting suggestions, runs suggested that were not offered before are named as new,
    with a warning about repeated removal and the number of rounds (the round is recorded as the
    accept button records it)."""
    from scalecore import diagnostics

    at = start(n="200", seed="78")
    at.session_state["outlier_tab"] = "Suggestions"
    at.run()
    found = [s.run_id for s in diagnostics.suggest_outliers(expected_boot(n_resamples=200, seed=78).fit, 3.5)]
    dataset = at.session_state["ds_active"]["id"]
    at.session_state["_outlier_rounds"] = {"dataset": dataset, "rounds": 1, "offered": tuple(found[:1])}
    at.run()
    no_errors(at)
    (warning,) = [w.value for w in at.warning if "now stand" in w.value]
    assert warning.startswith(f"{len(found) - 1} more runs now stand out, after 1 round of excluding suggested runs")
    assert "can remove real data" in warning and "Li et al." in warning

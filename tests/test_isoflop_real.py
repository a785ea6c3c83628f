"""IsoFLOP sweeps in the shapes labs export them (issue 21): a W&B runs table whose compute values are
never repeated, several configurations' sweeps in one file, a checkpoint table with size labels.

The fixtures are made by tests/fixtures/real/generate_isoflop.py from Chinchilla laws, so each file's
truth is known: a = beta / (alpha + beta) per configuration (generate_isoflop.TRUTH). The budgets
each run belongs to are known too: they are written in the W&B run names.
"""

from __future__ import annotations

import importlib.util
import io
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore import DataError, FitError, load_runs
from scalecore.curves import load_curves
from scalecore.isoflop import (IsoFlopGroups, IsoFlopResult, budget_from_name, budget_tolerance, find_budgets,
                               isoflop_by_group, isoflop_profiles)

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
WANDB = REAL / "wandb_isoflop_runs.csv"
CONFIGS = REAL / "isoflop_configs.csv"
CHECKPOINTS = REAL / "checkpoints_by_size.csv"
#: A W&B export's column names for N and D are not among the detected names: the user maps them.
WANDB_MAPPING = {"params": "parameter_count", "tokens": "throughput/total_tokens"}
SHARED = Path("/work/shared/real_exports")

_spec = importlib.util.spec_from_file_location("generate_isoflop", REAL / "generate_isoflop.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)
TRUTH = generate.TRUTH


@pytest.fixture(scope="module")
def wandb():
    return load_runs(WANDB, mapping=WANDB_MAPPING)


@pytest.fixture(scope="module")
def wandb_auto(wandb):
    return isoflop_profiles(wandb, n_resamples=1000, seed=0)


def nominal(names) -> np.ndarray:
    """The budget in each W&B name, read here with its own pattern: isoflop-<budget>-d<width>-L<depth>."""
    return np.array([float(re.fullmatch(r"isoflop-([0-9.e+]+)-d\d+-L\d+(?:-\d+)?", n).group(1)) for n in names])


# ------------------------------------------------------------------------------ the files are what they say


def test_the_fixtures_are_the_generators_output(tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "HERE", tmp_path)
    generate.main()
    for name in ("wandb_isoflop_runs.csv", "isoflop_configs.csv", "checkpoints_by_size.csv"):
        assert (tmp_path / name).read_bytes() == (REAL / name).read_bytes(), name


def test_wandb_export_loads_with_its_roles_and_unrepeated_compute(wandb):
    raw = pd.read_csv(WANDB)
    assert wandb.roles["run_id"] == "Name" and wandb.roles["params"] == "parameter_count"
    assert wandb.roles["tokens"] == "throughput/total_tokens" and "compute" in wandb.derived
    assert wandb.metrics[0] == "eval/paloma/macro_loss"
    np.testing.assert_array_equal(wandb.values("params"), raw["parameter_count"].to_numpy(float))
    np.testing.assert_allclose(wandb.values("compute"),
                               6 * raw["parameter_count"].to_numpy(float) * raw["throughput/total_tokens"], rtol=1e-12)
    assert len(np.unique(wandb.values("compute"))) == len(raw)  # no compute value is repeated


def test_configs_file_loads_config_as_the_group():
    runs = load_runs(CONFIGS)
    assert runs.roles["group"] == "config" and runs.groups() == ["baseline", "swiglu", "moe-8x"]
    assert runs.metrics == ("loss",)


# ------------------------------------------------------------------------------ budgets


def test_budgets_from_compute_are_the_sweeps_budgets(wandb, wandb_auto):
    truth = nominal(wandb.run_ids)
    found = find_budgets(wandb.values("compute"))
    # each found budget holds exactly the runs of one nominal budget
    pairs = set(zip(found.labels.tolist(), truth.tolist()))
    assert len(pairs) == len(set(truth)) == len(found.values) == 6
    # the tolerance lies between the widest gap inside a budget and the narrowest between budgets (ln C)
    lc, widest_in, narrowest_between = np.log(wandb.values("compute")), 0.0, math.inf
    order = np.argsort(lc)
    for i, j in zip(order[:-1], order[1:]):
        gap = lc[j] - lc[i]
        if truth[i] == truth[j]:
            widest_in = max(widest_in, gap)
        else:
            narrowest_between = min(narrowest_between, gap)
    assert widest_in < math.log1p(found.tolerance) < narrowest_between
    assert math.log1p(found.tolerance) == pytest.approx(math.sqrt(widest_in * narrowest_between), rel=1e-9)
    assert "tolerance" in wandb_auto.notes[0] and f"{found.tolerance:.0%}" in wandb_auto.notes[0]
    assert wandb_auto.tolerance == pytest.approx(found.tolerance)


def test_the_5_percent_rule_splits_this_export_into_small_budgets(wandb):
    """Why the tolerance is chosen from the data: with a fixed 5% most budgets are 1-3 runs."""
    fixed = isoflop_profiles(wandb, n_resamples=200, seed=0, tolerance=0.05)
    assert len(fixed.profiles) > 12 and len(fixed.not_fitted) > 10


def test_wandb_exponent_matches_the_truth_and_the_small_budget_is_reported_not_fitted(wandb_auto):
    a = wandb_auto.estimates["a"]
    assert a.low <= TRUTH["wandb_isoflop_runs.csv"]["all"] <= a.high
    small = wandb_auto.not_fitted
    assert len(small) == 1 and small[0].n_runs == 2 and not small[0].used
    assert small[0].note.startswith("reported, not fitted: 2 run(s), 2 distinct size(s)")
    assert any("reported, not fitted" in w for w in wandb_auto.warnings)
    table = wandb_auto.table()
    assert table["in frontier fit"].tolist().count("no (reported, not fitted)") == 1
    assert len(wandb_auto.used) == 5


def test_budgets_read_from_run_names(wandb, wandb_auto):
    named = isoflop_profiles(wandb, n_resamples=1000, seed=0, budgets="Name")
    truth = sorted(set(nominal(wandb.run_ids).tolist()))
    assert [p.compute for p in named.profiles] == truth  # the names' budgets, exactly
    assert [p.n_runs for p in named.profiles] == [p.n_runs for p in wandb_auto.profiles]
    # a budget's spread is its runs' largest C over their smallest
    for p in named.profiles:
        c = wandb.values("compute")[np.isin(wandb.run_ids, p.run_ids)]
        assert p.spread == pytest.approx(c.max() / c.min(), rel=1e-12)
    assert named.estimates["a"].low <= TRUTH["wandb_isoflop_runs.csv"]["all"] <= named.estimates["a"].high
    assert "run names in column `Name`" in named.notes[0]
    assert isoflop_profiles(wandb, n_resamples=50, budgets="run_id").params == named.params  # by role too


@pytest.mark.parametrize("name, value", [
    ("isoflop-6e+19-d512-L8", 6e19), ("run_1e20_n3", 1e20), ("sweep-3E18-lr3e-4", 3e18), ("c1.5e21", math.nan),
    ("iso-1.5e21-x", 1.5e21), ("lr3e-4-only", math.nan), ("d512-L8", math.nan),
])
def test_budget_from_name(name, value):
    got = budget_from_name(name)
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_names_without_a_budget_are_refused_with_the_rows():
    df = pd.read_csv(WANDB)
    df.loc[3, "Name"] = "baseline-run"
    runs = load_runs(io.BytesIO(df.to_csv(index=False).encode()), names=["w.csv"], mapping=WANDB_MAPPING)
    with pytest.raises(DataError, match=r"column `Name`, row 5: no compute budget in 'baseline-run'"):
        isoflop_profiles(runs, n_resamples=10, budgets="Name")


def test_tolerance_falls_back_to_5_percent_when_there_are_no_budgets():
    tol, how = budget_tolerance(np.geomspace(1e18, 1e21, 40))  # evenly spread: no gap stands out
    assert tol == 0.05 and "no clear gap" in how
    tol, how = budget_tolerance(np.repeat([1e18, 1e19, 1e20], 5))  # exact budgets: one budget per value
    assert find_budgets(np.repeat([1e18, 1e19, 1e20], 5), tol).values == pytest.approx(
        {"1e18": 1e18, "1e19": 1e19, "1e20": 1e20}, rel=1e-14)
    with pytest.raises(FitError, match="`tolerance` must be a non-negative number"):
        isoflop_profiles(load_runs(CONFIGS), n_resamples=10, tolerance=-1)


def test_exact_budgets_give_the_numbers_they_gave_before():
    """isoflop_offcentre.csv repeats each budget's C exactly: the new budgeting finds the same budgets,
    and every number is the one the 5% rule gave (measured on main before the change)."""
    res = isoflop_profiles(load_runs(REAL.parents[2] / "sample_runs" / "isoflop_offcentre.csv"), n_resamples=1000,
                           seed=0)
    est = res.estimates
    assert res.params["a"] == pytest.approx(0.5333983300418075, rel=1e-12)
    assert (est["a"].low, est["a"].high) == (pytest.approx(0.5174942447089338, rel=1e-12),
                                             pytest.approx(0.5465863363005405, rel=1e-12))
    assert res.params["k_N"] == pytest.approx(0.01918566579273364, rel=1e-12)
    assert (est["k_N"].low, est["k_N"].high) == (pytest.approx(0.010903039625327883, rel=1e-12),
                                                 pytest.approx(0.038438100671370504, rel=1e-12))
    assert len(res.profiles) == 11 and [p.label for p in res.profiles[:3]] == ["1e18", "3e18", "1e19"]
    assert [(p.n_opt, p.n_opt_low, p.n_opt_high) for p in res.profiles[:3]] == [
        pytest.approx((79800315.19890669, 77832072.39128643, 82582680.70421119), rel=1e-12),
        pytest.approx((137336939.2878983, 133337513.62717059, 142247233.9866795), rel=1e-12),
        pytest.approx((252281474.92312264, 247536600.25574675, 263060352.25502703), rel=1e-12)]
    assert all(p.spread == 1.0 for p in res.profiles)


def test_chinchilla_like_with_compute_from_the_tokens_seen_finds_its_nine_budgets():
    """chinchilla_like.csv with each run's C off its budget by up to ±16% (as when C = 6ND is computed from the
    tokens a run actually saw): the budgets are the file's nine, the 5% rule splits them, and a stays right."""
    df = pd.read_csv(REAL.parents[2] / "sample_runs" / "chinchilla_like.csv")
    exact = df["compute"].to_numpy()
    df["compute"] = exact * np.exp(np.random.default_rng(5).uniform(-0.15, 0.15, len(df)))
    runs = load_runs(io.BytesIO(df.to_csv(index=False).encode()), names=["jittered.csv"])
    found = find_budgets(runs.values("compute"))
    assert len(set(zip(found.labels.tolist(), exact.tolist()))) == len(set(exact)) == len(found.values) == 9
    assert len(find_budgets(runs.values("compute"), 0.05).values) > 9
    res = isoflop_profiles(runs, n_resamples=1000, seed=0)
    a_true = 0.3658 / (0.3478 + 0.3658)  # the file's law (sample_runs/README.md)
    assert len(res.used) == 9 and res.estimates["a"].low <= a_true <= res.estimates["a"].high


# ------------------------------------------------------------------------------ one analysis per configuration


@pytest.fixture(scope="module")
def per_config():
    return isoflop_profiles(load_runs(CONFIGS), n_resamples=1000, seed=0, by="config")


def test_each_configuration_gets_its_own_exponent_within_its_interval(per_config):
    assert isinstance(per_config, IsoFlopGroups) and list(per_config) == ["baseline", "swiglu", "moe-8x"]
    for config, a_true in TRUTH["isoflop_configs.csv"].items():
        res = per_config[config]
        assert isinstance(res, IsoFlopResult) and res.group == config
        assert res.estimates["a"].low <= a_true <= res.estimates["a"].high, config
        assert sum(p.n_runs for p in res.profiles) == 28
    table = per_config.table()
    assert table["config"].tolist() == ["baseline", "swiglu", "moe-8x"]
    np.testing.assert_allclose(table["raw a"], [per_config[g].params["a"] for g in per_config])


def test_a_group_alone_gives_the_same_numbers_as_in_the_grouped_analysis(per_config):
    runs = load_runs(CONFIGS)
    alone = isoflop_profiles(runs.subset(runs.frame["group"].to_numpy() == "swiglu"), n_resamples=1000, seed=0)
    np.testing.assert_array_equal(alone.samples, per_config["swiglu"].samples)
    assert isoflop_by_group(runs, by="group", n_resamples=1000, seed=0)["swiglu"].params == alone.params


def test_pooling_configurations_is_said():
    pooled = isoflop_profiles(load_runs(CONFIGS), n_resamples=200, seed=0)
    assert any("pool 3 groups of column `config`" in w and 'by="config"' in w for w in pooled.warnings)
    # chinchilla_like's group column names the budgets: nothing is pooled, nothing is said
    chin = isoflop_profiles(load_runs(REAL.parents[2] / "sample_runs" / "chinchilla_like.csv"), n_resamples=20)
    assert not any("pool" in w for w in chin.warnings)


def test_a_group_that_cannot_be_analysed_is_listed_with_its_reason():
    df = pd.read_csv(CONFIGS)
    df = df[~((df["config"] == "moe-8x") & (df["compute"] > 1e18))]  # one budget left: no frontier
    runs = load_runs(io.BytesIO(df.to_csv(index=False).encode()), names=["c.csv"])
    res = isoflop_profiles(runs, n_resamples=100, seed=0, by="config")
    assert list(res) == ["baseline", "swiglu"] and "at least 2 compute budgets" in res.errors["moe-8x"]
    assert "not analysed" in repr(res) and res.table()["a in N* ∝ C^a"].tolist()[-1] == "—"
    with pytest.raises(DataError, match="no group column `nope`"):
        isoflop_profiles(runs, n_resamples=10, by="nope")


def test_results_print_summaries_not_arrays(per_config, wandb_auto):
    for text in (repr(per_config), repr(wandb_auto), str(per_config)):
        assert "array(" not in text and "[[" not in text
    assert repr(per_config).startswith("IsoFlopGroups(by `config`; baseline: a = ")
    assert "== config = moe-8x" in str(per_config) and "note: " in str(wandb_auto)


# ------------------------------------------------------------------------------ checkpoints


def test_a_checkpoint_table_with_size_labels_loads_from_step_0():
    c = load_curves(CHECKPOINTS)
    raw = pd.read_csv(CHECKPOINTS)
    assert c.columns["params"] == "size" and c.columns["run_id"] == "model" and c.columns["step"] == "step"
    sizes = {"70M": 7e7, "160M": 1.6e8, "410M": 4.1e8, "1B": 1e9, "1.4B": 1.4e9}
    assert dict(zip(c.runs["run_id"], c.runs["params"])) == {f"pythia-{k.lower()}": v for k, v in sizes.items()}
    assert len(c) == int((raw["step"] > 0).sum())
    assert any(f"{int((raw['step'] == 0).sum())} point(s) at step 0" in n for n in c.notes)
    kept = raw[raw["step"] > 0]
    np.testing.assert_allclose(c.compute, 6 * kept["size"].map(sizes).to_numpy() * kept["tokens"].to_numpy())


# ------------------------------------------------------------------------------ no numpy warnings


def _flat_budget_runs():
    """Three good sweeps and one nearly flat one: some resamples put its N* beyond 1e308."""
    rng = np.random.default_rng(0)
    rows = []
    for c, curvature in ((1e18, 0.02), (1e19, 0.02), (1e20, 0.02), (1e21, 0.0005)):
        n_star = 0.08 * c ** 0.55
        ln = np.log(n_star) + np.linspace(-2, 2, 7)
        t = np.log(2) + curvature * (ln - np.log(n_star)) ** 2 + 0.004 * rng.standard_normal(7)
        rows += [{"run_id": f"{c:.0e}-{i}", "params": np.exp(x), "compute": c, "loss": np.exp(y)}
                 for i, (x, y) in enumerate(zip(ln, t))]
    return load_runs(io.BytesIO(pd.DataFrame(rows).to_csv(index=False).encode()), names=["flat.csv"])


def test_no_overflow_warning_when_a_resampled_vertex_runs_off():
    runs = _flat_budget_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = isoflop_profiles(runs, n_resamples=1000, seed=0, include_unbracketed=True)
        est, opt = res.estimates, res.compute_optimal(1e24)
        res.table(), str(res), res.frontier_band(np.geomspace(1e18, 1e24, 5))
    k_d = res.sample_params["k_D"]  # k_D = e^-intercept / 6: the exp that overflowed for the flat budget's resamples
    assert np.isinf(k_d).any()
    # the overflowed resamples count as the largest values (not dropped): the interval is numpy's on them
    # with +inf replaced by the largest float
    lo, hi = np.quantile(np.where(np.isinf(k_d), np.finfo(float).max, k_d), [0.025, 0.975])
    assert (est["k_D"].low, est["k_D"].high) == (pytest.approx(lo, rel=1e-12), pytest.approx(hi, rel=1e-12))
    assert est["a"].high > est["a"].value and opt["params"].high > opt["params"].value


@pytest.mark.skipif(not (SHARED / "gadre2024").is_dir(), reason="the real exports are not on this machine")
def test_no_overflow_warning_on_gadre_s_table_by_dataset():
    """The case that printed the RuntimeWarning: Gadre et al.'s wide table, a downstream accuracy, budgets by group."""
    runs = load_runs(SHARED / "gadre2024" / "gadre2024_runs_wide.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            res = isoflop_profiles(runs, y="acc_agi_eval_sat_en", n_resamples=200, budgets="group")
        except FitError:
            return
        res.estimates, res.table()

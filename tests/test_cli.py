"""python -m scalecore: table and JSON output, bootstrap flags, one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scalecore import bootstrap, fit
from scalecore.cli import main
from tests.synth import frame, runs_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "runs.csv"
    frame("offset_power_law", seed=21, noise=0.01).to_csv(path, index=False)
    return path


def run_json(capsys, *args):
    assert main([*map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_fit_json_matches_library(csv, capsys):
    out = run_json(capsys, "fit", csv, "--family", "offset_power_law", "--x", "params", "--exclude", "r003")
    expected = fit(runs_of(frame("offset_power_law", seed=21, noise=0.01)), "offset_power_law", x="params", exclude=["r003"])
    assert out["family"] == "offset_power_law" and out["n_points"] == 24 and out["n_excluded"] == 1
    assert out["params"] == pytest.approx(expected.params, rel=1e-12)
    assert out["objective"] == pytest.approx(expected.objective, rel=1e-12)
    assert set(out["metrics"]) >= {"rmse_log", "aic", "bic"} and isinstance(out["warnings"], list)


def test_fit_bootstrap_json(csv, capsys):
    out = run_json(capsys, "fit", csv, "--family", "offset_power_law", "--x", "params", "--bootstrap", "200", "--seed", "3", "--confidence", "0.9")
    boot = bootstrap(runs_of(frame("offset_power_law", seed=21, noise=0.01)), "offset_power_law", x="params", n_resamples=200, seed=3, confidence_level=0.9)
    assert out["ci"]["alpha"] == pytest.approx(list(boot.confidence_interval["alpha"]), rel=1e-12)
    assert out["standard_error"]["alpha"] == pytest.approx(boot.standard_error["alpha"], rel=1e-12)
    assert out["bootstrap"]["n_resamples"] == 200 and out["bootstrap"]["method"] == "cases"
    assert out["bootstrap"]["n_failed"] == 0 and out["bootstrap"]["seconds"] >= 0


def test_fit_table(csv, capsys):
    assert main(["fit", str(csv), "--family", "offset_power_law", "--x", "params", "--bootstrap", "100"]) == 0
    text = capsys.readouterr().out
    assert "Saturating power law (offset_power_law) fitted to `loss` against `params`" in text
    assert "95% bootstrap percentile interval (cases, 100 resamples)" in text
    assert "alpha" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--family", "chinchila"], "error: unknown family `chinchila`; choose one of"),
        (["--family", "chinchilla"], "error: the chinchilla family needs model size N (params) and training tokens D"),
        (["--family", "power_law", "--x", "params", "--bootstrap", "1"], "error: `n_resamples` must be an integer of at least 2; got 1"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(tmp_path, capsys, args, message):
    path = tmp_path / "runs.csv"
    frame("offset_power_law", seed=1)[["run_id", "params", "loss"]].to_csv(path, index=False)
    assert main(["fit", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_missing_file_is_a_user_error(capsys, tmp_path):
    assert main(["fit", str(tmp_path / "nope.csv"), "--family", "power_law"]) == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and err.count("\n") == 1


def test_module_entry_point(csv):
    proc = subprocess.run(
        [sys.executable, "-m", "scalecore", "fit", str(csv), "--family", "power_law", "--x", "params", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["family"] == "power_law"
    bad = subprocess.run([sys.executable, "-m", "scalecore", "fit", str(csv), "--family", "nope"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown family `nope`")


def test_json_output_is_strict_json(csv, capsys):
    """--json goes through serialize.dumps: no bare NaN/Infinity tokens, which strict parsers refuse."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    assert main(["fit", str(csv), "--family", "offset_power_law", "--x", "params", "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert out["family"] == "offset_power_law"
    from scalecore import cli
    from scalecore.uncertainty import Estimate

    text = cli.dumps({"e": Estimate(1.0, float("nan"), float("inf")), "n": [float("-inf")]})
    assert json.loads(text, parse_constant=refuse) == {
        "e": {"value": 1.0, "low": None, "high": None, "level": None, "standard_error": None}, "n": [None]}


# ------------------------------------------------------------------------------ naming the columns


def test_y_names_the_metric_of_a_benchmark_table_with_empty_sizes(capsys):
    path = ROOT / "tests" / "fixtures" / "real" / "obsscaling_base_llm_missing_excerpt.csv"
    out = run_json(capsys, "fit", path, "--family", "logistic", "--x", "compute", "--y", "ARC-C")
    import pandas as pd

    table = pd.read_csv(path)
    usable = table["FLOPs (1E21)"].notna() & table["ARC-C"].notna()
    assert out["y"] == "ARC-C" and out["n_points"] == int(usable.sum())
    assert any("have no `compute` value" in w for w in out["warnings"])


def test_column_flags_read_a_tracker_export_whose_names_detection_cannot_guess(tmp_path, capsys):
    """A W&B runs table: nothing in it is named params, tokens or loss (detection guesses them; flags name them)."""
    truth = {"A": 30.0, "alpha": 0.12}
    n = [1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9]
    rows = ["Name,parameter_count,throughput/total_tokens,eval/paloma/macro_loss,sweep"]
    for i, p in enumerate(n):
        rows.append(f"isoflop-run-{i},{p:g},{20 * p:g},{truth['A'] * p ** -truth['alpha']:.9g},s1")
    path = tmp_path / "wandb_export.csv"
    path.write_text("\n".join(rows) + "\n")
    # detection now guesses W&B's names (issue 21) and says so in a note; the flags still name any column
    guessed = run_json(capsys, "fit", path, "--family", "power_law", "--x", "params")
    assert guessed["n_points"] == 6 and guessed["params"] == pytest.approx(truth, rel=1e-6)
    out = run_json(capsys, "fit", path, "--family", "power_law", "--x", "params", "--params-column", "parameter_count",
                   "--tokens-column", "throughput/total_tokens", "--y", "eval/paloma/macro_loss",
                   "--run-id-column", "Name", "--group-column", "sweep")
    assert out["n_points"] == 6 and out["y"] == "eval/paloma/macro_loss"
    assert out["params"] == pytest.approx(truth, rel=1e-6)


def test_downstream_takes_the_metrics_it_is_given(capsys):
    path = ROOT / "tests" / "fixtures" / "real" / "gadre2024_runs_excerpt.csv"
    code = main(["downstream", str(path), "--family", "offset_power_law", "--x", "compute", "--loss-metric", "loss",
                 "--accuracy-metric", "accuracy_avg17", "--bootstrap", "50", "--target", "1e20"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "accuracy_avg17" in out.out and "loss" in out.out


REAL = ROOT / "tests" / "fixtures" / "real"


def test_isoflop_prints_one_analysis_per_group_and_matches_the_library(capsys):
    from scalecore import load_runs
    from scalecore.isoflop import isoflop_profiles

    configs = REAL / "isoflop_configs.csv"
    out = run_json(capsys, "isoflop", configs, "--group-column", "config", "--bootstrap", "200", "--seed", "4")
    lib = isoflop_profiles(load_runs(configs), by="config", n_resamples=200, seed=4)
    assert out["by"] == "config" and list(out["groups"]) == ["baseline", "swiglu", "moe-8x"]
    for g in lib:
        assert out["groups"][g]["params"]["a"] == pytest.approx(lib[g].params["a"], rel=1e-12)
        assert out["groups"][g]["ci"]["a"] == pytest.approx(list(lib[g].confidence_interval["a"]), rel=1e-12)
    assert main(["isoflop", str(configs), "--group-column", "config", "--bootstrap", "100"]) == 0
    text = capsys.readouterr().out
    assert [line.split()[0] for line in text.splitlines()[1:4]] == ["baseline", "swiglu", "moe-8x"]
    assert all(f"== config = {g}" in text for g in ("baseline", "swiglu", "moe-8x")) and "never pooled" in text


def test_isoflop_budgets_from_run_names_or_a_tolerance(capsys):
    wandb = REAL / "wandb_isoflop_runs.csv"
    cols = ["--params-column", "parameter_count", "--tokens-column", "throughput/total_tokens", "--bootstrap", "50"]
    named = run_json(capsys, "isoflop", wandb, *cols, "--budget-column", "Name")
    assert [b["compute"] for b in named["budgets"]] == [1e18, 3e18, 1e19, 6e19, 3e20, 1e21]
    assert named["budgets"][-1]["fitted"] is False and "reported, not fitted" in named["budgets"][-1]["note"]
    fixed = run_json(capsys, "isoflop", wandb, *cols, "--tolerance", "0.05")
    assert fixed["tolerance"] == 0.05 and len(fixed["budgets"]) > 12
    assert main(["isoflop", str(wandb), *cols[:4], "--tolerance", "-1"]) == 2
    assert "error: `tolerance` must be a non-negative number" in capsys.readouterr().err

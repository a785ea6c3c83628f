"""Real exports from public scaling studies load and fit as a user expects (issue 21).

The excerpts in tests/fixtures/real (see its README for source, commit and licence) always run; the whole
files in /work/shared/real_exports are used when they are there. Every number is checked against the
file as the csv module reads it, not against the loader's own reading.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore import fit, load_runs
from scalecore.fitting import prepare

REAL = Path(__file__).parent / "fixtures" / "real"
#: ../shared/real_exports beside the project (as CI lays it out), else where this workplace keeps it.
EXPORTS = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "real_exports",
                            Path("/work/shared/real_exports")) if p.is_dir()), Path("/work/shared/real_exports"))
needs_exports = pytest.mark.skipif(not EXPORTS.is_dir(), reason="the real exports are not on this machine")

SIZES = {"params": ("Model Size (B)", 1e9), "tokens": ("Pretraining Data Size (T)", 1e12),
         "compute": ("FLOPs (1E21)", 1e21)}
BENCHMARKS = ["MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval"]


def table(path: Path) -> dict[str, list[str]]:
    """The file's cells by column, as the csv module reads them."""
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}


def numbers(cells: list[str], factor: float = 1.0) -> np.ndarray:
    return np.array([float(c) * factor if c else math.nan for c in cells])


def left_out(ids: list[str], what: str) -> str:
    return (f"{len(ids)} run(s) have no `{what}` value and were left out: {', '.join(ids[:5])}"
            + (" ..." if len(ids) > 5 else ""))


def check_ruan(runs, cells: dict[str, list[str]], name: str) -> None:
    """Ruan et al.'s table as loaded: every run, sizes in counts with NaN where the file has none, the
    benchmarks as metrics, and a note counting the empty cells of each column."""
    assert len(runs) == len(cells["Model"]) and runs.run_ids.tolist() == cells["Model"]
    assert runs.frame["group"].tolist() == cells["Model Family"]
    assert runs.roles == {"run_id": "Model", "group": "Model Family", **{r: c for r, (c, _) in SIZES.items()}}
    assert runs.metrics == tuple(BENCHMARKS) and runs.derived == frozenset()
    for role, (column, factor) in SIZES.items():
        np.testing.assert_allclose(runs.values(role), numbers(cells[column], factor), rtol=1e-15, atol=0)
    for metric in BENCHMARKS:
        np.testing.assert_array_equal(runs.values(metric), numbers(cells[metric]))
    empty = {c: sum(not v for v in cells[c]) for c in cells}
    parts = [f"`{c}` ({r}) {empty[c]}" for r, (c, _) in SIZES.items() if empty[c]]
    parts += [f"`{m}` {empty[m]}" for m in BENCHMARKS if empty[m]]
    assert runs.notes[-1] == (
        f"`{name}`: rows with an empty cell, by column: {', '.join(parts)}. These runs are kept; a fit leaves out "
        f"the runs missing a value it needs (its x, or params and tokens for a two-input law, and the metric) and "
        f"says how many and which.")
    assert runs.notes[0].startswith(f"`{name}`: no column is named like a loss or an accuracy, so the 8 numeric "
                                    f"columns that play no other role were taken as metrics, in file order: `MMLU`")


def check_fits(runs, cells: dict[str, list[str]]) -> None:
    """MMLU against params uses every run; against compute it leaves out those without FLOPs, and says so."""
    no_flops = [m for m, c in zip(cells["Model"], cells["FLOPs (1E21)"]) if not c]
    by_params = fit(runs, "logistic", x="params", y="MMLU")
    assert by_params.n_points == len(runs) and by_params.problem.dropped == ()
    assert not any("left out" in w for w in by_params.warnings)
    by_compute = fit(runs, "logistic", x="compute", y="MMLU")
    assert by_compute.n_points == len(runs) - len(no_flops)
    assert by_compute.problem.dropped == tuple(no_flops) and not set(no_flops) & set(by_compute.problem.run_ids)
    assert left_out(no_flops, "compute") in by_compute.warnings
    assert by_params.success and by_compute.success  # (bounds for a bounded metric: another part of issue 21)
    # a two-input law needs N and D: the same runs are left out, named by what is missing
    chinchilla = prepare(runs, "chinchilla", y="MMLU")
    assert chinchilla.n == len(runs) - len(no_flops) and left_out(no_flops, "params` or `tokens") in chinchilla.warnings
    # a metric with empty cells: those runs are left out, counted under the metric
    no_arc = [m for m, c in zip(cells["Model"], cells["ARC-C"]) if not c]
    arc = prepare(runs, "logistic", x="params", y="ARC-C")
    assert arc.n == len(runs) - len(no_arc) and arc.warnings == (left_out(no_arc, "ARC-C"),)


def test_ruan_excerpt_with_empty_cells_loads_and_fits():
    path = REAL / "obsscaling_base_llm_missing_excerpt.csv"
    runs = load_runs(path)
    cells = table(path)
    assert len(runs) == 17
    assert [m for m, c in zip(cells["Model"], cells["FLOPs (1E21)"]) if not c] == [
        "Qwen/Qwen1.5-110B", "Qwen/Qwen2-72B", "Qwen/Qwen2-57B-A14B"]
    check_ruan(runs, cells, path.name)
    assert runs.notes[-1].startswith("`obsscaling_base_llm_missing_excerpt.csv`: rows with an empty cell, by column: "
                                     "`Pretraining Data Size (T)` (tokens) 3, `FLOPs (1E21)` (compute) 3, `ARC-C` 3.")
    check_fits(runs, cells)


@needs_exports
def test_ruan_table_loads_all_148_models_and_fits_mmlu_against_params_or_compute():
    path = EXPORTS / "obsscaling" / "base_llm_benchmark_eval.csv"
    runs = load_runs(path)
    cells = table(path)
    assert len(runs) == 148
    assert sum(not c for c in cells["FLOPs (1E21)"]) == 25 and sum(not c for c in cells["Pretraining Data Size (T)"]) == 25
    check_ruan(runs, cells, path.name)
    assert "`Pretraining Data Size (T)` (tokens) 25, `FLOPs (1E21)` (compute) 25" in runs.notes[-1]
    check_fits(runs, cells)
    assert fit(runs, "logistic", x="params", y="MMLU").n_points == 148
    by_compute = fit(runs, "logistic", x="compute", y="MMLU")
    assert by_compute.n_points == 123 and by_compute.warnings[0].startswith(
        "25 run(s) have no `compute` value and were left out: Qwen/Qwen1.5-110B, Qwen/Qwen2-72B, Qwen/Qwen2-57B-A14B")
    for result in (fit(runs, "logistic", x="params", y="MMLU"), by_compute):  # a rising curve within [0, 1]
        assert 0.2 < result.params["y0"] < result.params["y1"] < 0.8 and result.params["slope"] > 0


@needs_exports
@pytest.mark.parametrize(("name", "roles", "metrics", "derived"), [
    ("gadre2024/gadre2024_runs.csv",
     {"run_id": "run_id", "group": "group", "params": "params", "tokens": "tokens", "compute": None},
     ("loss", "accuracy_avg17", "accuracy_avg46"), {"compute"}),
    ("gadre2024/gadre2024_runs_wide.csv",
     {"run_id": "name", "group": "dataset", "params": "params", "tokens": "tokens", "compute": "flops"}, None, set()),
    ("pythia/pythia_final_checkpoints.csv",
     {"run_id": "run_id", "group": None, "params": "params", "tokens": "tokens", "compute": None}, None,
     {"compute", "group"}),
])
def test_gadre_and_pythia_tables_load_as_before(name, roles, metrics, derived):
    """Named metrics: nothing guessed, no note, every value as in the file (unchanged by issue 21's work)."""
    path = EXPORTS / name
    runs = load_runs(path)
    cells = table(path)
    header = list(cells)
    named = tuple(h for h in header if h.startswith(("loss", "acc", "accuracy_")) or h.endswith(("_loss", "_acc")))
    assert runs.roles == roles and runs.derived == frozenset(derived) and runs.notes == ()
    assert runs.run_ids.tolist() == cells[roles["run_id"]] and len(runs) == len(cells[roles["run_id"]])
    assert set(runs.metrics) == set(metrics or named)
    for role in ("params", "tokens", "compute"):
        if roles[role]:
            np.testing.assert_array_equal(runs.values(role), numbers(cells[roles[role]]))
    for metric in runs.metrics:
        np.testing.assert_array_equal(runs.values(metric), numbers(cells[metric]))
    if "compute" in derived:
        np.testing.assert_allclose(runs.values("compute"), 6 * runs.values("params") * runs.values("tokens"), rtol=1e-15)


def test_a_benchmark_column_is_a_score_and_a_named_loss_in_0_1_stays_a_loss():
    from scalecore.data import metric_kind

    frame = pd.DataFrame({"params": [1e8, 1e9, 1e10], "MMLU": [0.25, 0.31, 0.52], "bpb": [0.98, 0.91, 0.84],
                          "val_loss": [3.1, 2.8, 2.5], "delta": [-0.1, 0.2, 0.3]})
    runs = load_runs(frame, mapping={"metric": "MMLU"}, metrics=["MMLU", "bpb", "val_loss", "delta"])
    assert [metric_kind(runs, m) for m in ("MMLU", "bpb", "val_loss", "delta")] == ["score", "loss", "loss", "score"]


# ------------------------------------------------------------------------------ bounded accuracy laws


def test_an_accuracy_s_logistic_floor_and_ceiling_stay_in_0_1():
    from scalecore import FAMILIES

    runs = load_runs(REAL / "obsscaling_base_llm_missing_excerpt.csv", mapping={"metric": "MMLU"})
    result = fit(runs, "logistic", x="compute")
    assert result.family.bounds[:2] == ((0.0, 1.0), (0.0, 1.0))  # the unbounded fit put y0 at -1.7
    assert 0.0 <= result.params["y0"] <= result.params["y1"] <= 1.0
    # a rising metric that is not a fraction keeps the unbounded law
    frame = pd.DataFrame({"params": [1e8, 3e8, 1e9, 3e9, 1e10, 3e10], "elo": [800, 820, 900, 1100, 1250, 1290]})
    other = fit(load_runs(frame, mapping={"metric": "elo"}), "logistic", x="params")
    assert other.family.bounds == FAMILIES["logistic"].bounds


@needs_exports
def test_fifteen_pythia_models_bootstrap_a_bounded_logistic_instead_of_being_refused():
    runs = load_runs(EXPORTS / "pythia" / "pythia_final_checkpoints.csv", mapping={"metric": "lambada_acc"})
    boot = fit(runs, "logistic", x="compute").bootstrap(1000, seed=0)  # unbounded: 43% still moving, refused
    lo, hi = boot.confidence_interval["y1"]
    assert boot.n_failed < 50 and 0.0 <= lo <= hi <= 1.0
    assert (boot.good[:, :2] >= 0).all() and (boot.good[:, :2] <= 1).all()


@needs_exports
def test_pythia_curves_load_from_step_0_with_those_points_left_out():
    """Pythia's checkpoints start at step 0 (0 tokens: no compute). The file was refused; now the 15 step-0
    points are left out with a note and every other point is read as the csv module reads it."""
    from scalecore.curves import load_curves

    path = EXPORTS / "pythia" / "pythia_zero_shot_curves.csv"
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["lambada_loss"] != ""]
    kept = [r for r in rows if float(r["step"]) > 0]
    curves = load_curves(path, mapping={"metric": "lambada_loss"})
    assert len(curves) == len(kept) and len(rows) - len(kept) == 15
    assert any("15 point(s) at step 0" in n for n in curves.notes)
    expected = sorted((r["run_id"], float(r["tokens"]), float(r["lambada_loss"])) for r in kept)
    got = sorted(zip(curves.run_ids[curves.run].tolist(), curves.tokens.tolist(), curves.loss.tolist()))
    assert got == expected


# ------------------------------------------------------------------------------ trackers' names (issue 21)


@pytest.mark.parametrize(("shape", "header", "roles", "metric", "tracker"), [
    ("W&B runs table", ["Name", "State", "parameter_count", "throughput/total_tokens", "eval/paloma/macro_loss",
                        "_runtime"],
     {"run_id": "Name", "params": "parameter_count", "tokens": "throughput/total_tokens"}, "eval/paloma/macro_loss",
     "W&B"),
    ("MLflow search_runs", ["run_id", "status", "params.n_params", "params.tokens_seen", "params.lr",
                            "metrics.train_loss", "metrics.eval_loss"],
     {"run_id": "run_id", "params": "params.n_params", "tokens": "params.tokens_seen"}, "metrics.eval_loss", "MLflow"),
    ("W&B config/summary", ["name", "config/num_params", "summary/total_tokens", "summary/val_loss"],
     {"run_id": "name", "params": "config/num_params", "tokens": "summary/total_tokens"}, "summary/val_loss", "W&B"),
    ("Hugging Face Trainer", ["run", "num_parameters", "num_input_tokens_seen", "total_flos", "eval_loss"],
     {"run_id": "run", "params": "num_parameters", "tokens": "num_input_tokens_seen", "compute": "total_flos"},
     "eval_loss", {"params": "an experiment tracker", "tokens": "Hugging Face Trainer", "compute": "Hugging Face Trainer"}),
])
def test_trackers_names_are_detected_and_the_guess_is_said(shape, header, roles, metric, tracker):
    """Each tracker's names load without a mapping; the note names every guessed column and its tracker."""
    rows = [header] + [[f"r{i}" if j == 0 else ("FINISHED" if h in ("State", "status") else f"{(i + 1) * 10 ** (7 + j % 3):g}")
                        for j, h in enumerate(header)] for i in range(4)]
    for i, row in enumerate(rows[1:]):
        row[header.index(metric)] = f"{3.0 - 0.1 * i}"
    text = "\n".join(",".join(r) for r in rows) + "\n"
    runs = load_runs(text.encode(), names=[f"{shape}.csv"])
    assert {r: c for r, c in runs.roles.items() if c is not None} == roles and runs.metrics[0] == metric
    guessed = [(r, c) for r, c in roles.items() if r in ("params", "tokens", "compute") and c not in ("N", "tokens")]
    note = next(n for n in runs.notes if "guessed from the names experiment trackers write" in n)
    for role, column in guessed:
        named_by = tracker[role] if isinstance(tracker, dict) else tracker
        assert f"`{column}` as " in note and f"({role}, as {named_by} names it)" in note
    # a mapping wins over the guess, and then nothing is said about that role
    other = load_runs(text.encode(), names=[f"{shape}.csv"], mapping={"params": roles["params"]})
    assert all(f"`{roles['params']}` as" not in n for n in other.notes)


def test_usual_names_win_over_trackers_names_and_say_nothing():
    frame = pd.DataFrame({"params": [1e8, 2e8, 4e8], "parameter_count": [1, 2, 3], "tokens": [2e9, 4e9, 8e9],
                          "total_tokens": [5, 6, 7], "loss": [3.0, 2.9, 2.8]})
    runs = load_runs(frame)
    assert runs.roles["params"] == "params" and runs.roles["tokens"] == "tokens" and runs.notes == ()


# ------------------------------------------------------------------------------ plausibility (issue 21)


def test_btlm_s_unit_slip_is_named_and_left_as_written():
    path = REAL / "obsscaling_base_llm_btlm_excerpt.csv"
    cells = table(path)
    runs = load_runs(path)
    i = cells["Model"].index("cerebras/btlm-3b-8k-base")
    assert cells["Pretraining Data Size (T)"][i] == "627.0" and runs.values("tokens")[i] == 627e12  # not changed
    ratios = [float(d) * 1e12 / (float(n) * 1e9) for d, n in zip(cells["Pretraining Data Size (T)"], cells["Model Size (B)"])]
    others = np.median(ratios[:i] + ratios[i + 1:])  # the seven Llama models
    note = next(n for n in runs.notes if "tokens per parameter" in n)
    assert note == (f"`{path.name}`, column `Pretraining Data Size (T)` (tokens): cerebras/btlm-3b-8k-base: 627T tokens "
                    f"is 209,000 tokens per parameter, {round(ratios[i] / others, -1):,.0f}x the others' median; check "
                    f"its unit (a value in billions written in a trillions column is 1,000x too large). The values are "
                    f"used as written.")


def test_sweeps_and_over_trained_runs_are_not_named():
    """An IsoFLOP sweep's ends (100x the median but next to other runs), Gadre et al.'s 640 tokens per
    parameter and BLOOM's 2 are in line: no note."""
    for path in (Path(__file__).parent.parent / "sample_runs" / "chinchilla_like.csv", REAL / "gadre2024_rpj_excerpt.csv",
                 REAL / "obsscaling_base_llm_missing_excerpt.csv"):
        assert not any("tokens per parameter" in n for n in load_runs(path).notes), path.name


@needs_exports
def test_in_the_whole_ruan_table_only_btlm_is_named():
    runs = load_runs(EXPORTS / "obsscaling" / "base_llm_benchmark_eval.csv")
    notes = [n for n in runs.notes if "tokens per parameter" in n]
    assert len(notes) == 1 and notes[0].count("tokens per parameter") == 1 and "btlm-3b-8k-base: 627T" in notes[0]


def test_outliers_match_the_pairwise_definition():
    """The order-statistics shortcut gives what the definition gives run by run: D/N over the median of the
    others' D/N, and beyond all of them (ties, odd and even counts, one run 1,000x off)."""
    import scalecore.io.plausibility as plausibility

    rng = np.random.default_rng(0)
    for trial in range(400):
        n = int(rng.integers(5, 14))
        params, tokens = 10 ** rng.uniform(7, 10, n), 10 ** rng.uniform(7, 10, n) * 10 ** rng.normal(1.3, 1.5, n)
        if trial % 3 == 0:
            tokens[rng.integers(n)] *= 1000
        if trial % 5 == 0:
            params[:2], tokens[:2] = params[0], tokens[0]
        if trial % 7 == 0:  # bimodal: half the runs 1,000x the others
            tokens[: n // 2] *= 1000
        ratio, expected = tokens / params, []
        for i in range(n):
            others = np.delete(ratio, i)
            times = ratio[i] / np.median(others)
            if (times > 100 and ratio[i] > 10 * others.max()) or (times < 0.01 and ratio[i] < others.min() / 10):
                expected.append((i, times))
        got = plausibility.tokens_per_param_outliers(params, tokens)
        assert [g[0] for g in got] == [e[0] for e in expected]
        np.testing.assert_allclose([g[2] for g in got], [e[1] for e in expected], rtol=1e-12)

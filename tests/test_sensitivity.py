"""The sensitivity panel's numbers against independent references: the closed-form optimum written
out here (a change of FLOPs definition moves N* by exactly a·log10(k/6) decades), the loss formula
of the E-fixed fit, the runs the fit-range cut keeps counted from the CSV, and the other parameter
count read through the loader's own column mapping."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalecore import FitSpec, Settings, fit, load_runs
from scalecore.flops import TransformerConfig, flops_per_param_token
from scalecore.sensitivity import sensitivity, shift_text

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "sample_runs" / "chinchilla_like.csv"
TARGET = 1e24
CONFIG = TransformerConfig(n_layers=80, d_model=8192, n_heads=64, n_ctx=2048, vocab=32000)


@pytest.fixture(scope="module")
def result():
    return sensitivity(load_runs(CSV), "chinchilla", TARGET, config=CONFIG, n_resamples=100, min_params=1e8)


def row(res, choice, startswith=""):
    found = [r for r in res.rows if r.choice == choice and r.alternative.startswith(startswith)]
    assert len(found) == 1, [r.alternative for r in res.rows]
    return found[0]


def _n_opt(p, compute, k):
    """Hoffmann et al. 2022, eq. 4, written out: N* = G (C/k)^(beta/(alpha+beta))."""
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    return G * (compute / k) ** (p["beta"] / (p["alpha"] + p["beta"]))


def test_flops_definition_moves_n_opt_by_the_closed_form(result):
    p = fit(load_runs(CSV), "chinchilla").params
    assert result.baseline.params.value == pytest.approx(_n_opt(p, TARGET, 6.0), rel=1e-10)
    k = flops_per_param_token("hoffmann2022", CONFIG)
    r = row(result, "FLOPs definition", "Hoffmann")
    assert r.params.value == pytest.approx(_n_opt(p, TARGET, k), rel=1e-10)
    a = p["beta"] / (p["alpha"] + p["beta"])
    assert result.shift(r, "params") == pytest.approx(-a * math.log10(k / 6.0), rel=1e-8)
    assert result.shift(r, "tokens") == pytest.approx(-(1 - a) * math.log10(k / 6.0), rel=1e-8)
    assert r.params.low < r.params.value < r.params.high and r.n_resamples == 100


def test_e_fixed_row_is_the_reduced_law(result):
    r = row(result, "E")
    assert r.alternative == "E fixed at 1.690"
    p = fit(load_runs(CSV), FitSpec("chinchilla", fixed={"E": 1.69})).params
    n = _n_opt(p, TARGET, 6.0)
    d = TARGET / (6.0 * n)
    assert r.params.value == pytest.approx(n, rel=1e-10)
    assert r.loss.value == pytest.approx(1.69 + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"], rel=1e-10)


def test_fit_range_keeps_the_runs_at_or_above_the_cut(result):
    frame = pd.read_csv(CSV)
    r = row(result, "Fit range")
    dropped = int((frame["params"] < 1e8).sum())
    assert r.n_points == len(frame) - dropped
    assert f"drops {dropped} runs" in r.alternative


def test_huber_rows_and_least_squares(result):
    names = [r.alternative for r in result.rows if r.choice == "Huber δ"]
    assert names == ["δ = 0.0001", "δ = 0.01", "δ = 0.1", "least squares"]  # the baseline's 1e-3 left out
    runs = load_runs(CSV)
    p = fit(runs, FitSpec("chinchilla", loss="ls")).params
    assert row(result, "Huber δ", "least squares").params.value == pytest.approx(_n_opt(p, TARGET, 6.0), rel=1e-10)


def test_other_parameter_count_is_the_column_the_loader_would_map():
    frame = pd.read_csv(CSV)
    frame["non_embedding_params"] = frame["params"] - 64 * 2048.0  # a 64-token vocabulary at width 2048
    runs = load_runs(frame)
    res = sensitivity(runs, "chinchilla", TARGET, n_resamples=50, other_params="non_embedding_params",
                      deltas=(), min_params=0.0)
    r = row(res, "Parameters")
    mapped = load_runs(frame.drop(columns=["params"]), mapping={"params": "non_embedding_params"})
    boot = fit(mapped, "chinchilla").bootstrap(50, seed=0)
    expected = boot.compute_optimal(TARGET)
    assert r.params.value == pytest.approx(expected["params"].value, rel=1e-9)
    assert r.params.low == pytest.approx(expected["params"].low, rel=1e-9)
    # the same with the embeddings given as a number
    res2 = sensitivity(runs, "chinchilla", TARGET, n_resamples=50, embedding_params=64 * 2048.0, deltas=(),
                       min_params=0.0)
    assert row(res2, "Parameters").params.value == pytest.approx(r.params.value, rel=1e-9)


def test_one_input_law_reports_the_loss_at_the_target():
    runs = load_runs(CSV)
    res = sensitivity(runs, FitSpec("offset_power_law", x="compute"), TARGET, n_resamples=50, deltas=(1e-2,),
                      min_params=0.0)
    p = fit(runs, FitSpec("offset_power_law", x="compute")).params
    assert res.quantities == ("loss",)
    assert res.baseline.loss.value == pytest.approx(p["E"] + p["A"] * TARGET ** -p["alpha"], rel=1e-10)
    assert math.isnan(res.baseline.params.value)
    assert row(res, "E").alternative == "E fixed at 1.690"


def test_summary_and_dict(result):
    text = repr(result)
    assert text.startswith("Sensitivity of chinchilla at C = 1.000e24") and "100 resamples each" in text
    d = result.to_dict()
    assert d["rows"][0]["choice"] == "FLOPs definition" and set(d["rows"][0]["shift"]) == {"params", "tokens", "loss"}
    assert shift_text(-0.0123, "params") == "−0.012 dec" and shift_text(1.5, "loss") == "+1.5%"
    assert result.table()[0]["choice"] == "baseline"
    assert not np.isnan(result.largest()[1])
    assert Settings().n_resamples >= result.n_resamples


def test_tornado_bars_are_the_shifts(result):
    from scalecore.plots import sensitivity_tornado

    fig = sensitivity_tornado(result, "params")
    bars = fig.data[0]
    shifts = {f"{r.choice}: {r.alternative}": result.shift(r, "params") for r in result.rows if r.ok}
    assert dict(zip(bars.y, bars.x)) == pytest.approx(shifts)
    assert abs(bars.x[-1]) == max(abs(v) for v in shifts.values())  # largest at the top
    # the whisker of the E-fixed bar ends at log10(high / baseline value)
    r = row(result, "E")
    i = list(bars.y).index(f"E: {r.alternative}")
    assert bars.x[i] + bars.error_x.array[i] == pytest.approx(math.log10(r.params.high / result.baseline.params.value))


#: ../shared/real_exports beside the project (as CI lays it out), else where this workplace keeps it.
EXPORTS = next((p for p in (ROOT.parent / "shared" / "real_exports", Path("/work/shared/real_exports")) if p.is_dir()),
               ROOT.parent / "shared" / "real_exports")
GADRE_WIDE = EXPORTS / "gadre2024" / "gadre2024_runs_wide.csv"


@pytest.mark.skipif(not GADRE_WIDE.exists(), reason="the real exports are not on this machine")
def test_gadre_params_without_embeddings_found_by_name():
    """Gadre et al. (2024) publish params and params_no_embed: the panel finds the second by its name,
    and its row is the fit of the runs read with N mapped to that column; against compute, C = 6 N D
    is recomputed from it."""
    runs = load_runs(GADRE_WIDE, mapping={"metric": "loss_c4_val"})
    res = sensitivity(runs, FitSpec("chinchilla", y="loss_c4_val"), 1e22, n_resamples=40, deltas=(), min_params=0.0)
    r = row(res, "Parameters")
    assert r.alternative == "N from `params_no_embed`"
    mapped = load_runs(GADRE_WIDE, mapping={"metric": "loss_c4_val", "params": "params_no_embed"})
    expected = fit(mapped, FitSpec("chinchilla", y="loss_c4_val")).bootstrap(40, seed=0).compute_optimal(1e22)
    assert r.params.value == pytest.approx(expected["params"].value, rel=1e-9)
    assert r.params.high == pytest.approx(expected["params"].high, rel=1e-9)
    frame = pd.read_csv(GADRE_WIDE)
    res = sensitivity(runs, FitSpec("offset_power_law", x="compute", y="loss_c4_val"), 1e22, n_resamples=40,
                      deltas=(), min_params=0.0)
    r = row(res, "Parameters")
    assert r.alternative == "N from `params_no_embed` (C = 6·N·D)"
    p = fit(load_runs(frame.assign(flops=6.0 * frame["params_no_embed"].astype(float) * frame["tokens"].astype(float)),
                      mapping={"metric": "loss_c4_val"}), FitSpec("offset_power_law", x="compute", y="loss_c4_val")).params
    assert r.loss.value == pytest.approx(p["E"] + p["A"] * 1e22 ** -p["alpha"], rel=1e-9)


def test_each_runs_config_gives_its_own_flops():
    """Columns of layers and width: a law in compute is refitted on each run's Kaplan FLOPs, written
    out here as 3 (2 N + 2 n_layer n_ctx d_model) D with N = 12 n_layer d_model^2."""
    frame = pd.read_csv(CSV)
    frame["n_layer"] = np.clip(np.round(np.log2(frame["params"]) - 14), 2, 60)
    frame["width"] = np.round(np.sqrt(frame["params"] / (12 * frame["n_layer"])) / 64) * 64 + 64
    frame["vocab_size"] = 32000
    runs = load_runs(frame)
    columns = {"n_layers": "n_layer", "d_model": "width", "n_heads": 8, "n_ctx": 2048, "vocab": "vocab_size"}
    res = sensitivity(runs, FitSpec("offset_power_law", x="compute"), TARGET, n_resamples=30, deltas=(),
                      min_params=0.0, config_columns=columns)
    r = row(res, "FLOPs definition", "Kaplan")
    assert r.alternative == "Kaplan et al. 2020, Table 1, each run's config"
    L, d, D = frame["n_layer"].to_numpy(float), frame["width"].to_numpy(float), frame["tokens"].to_numpy(float)
    c = 3 * (2 * 12 * L * d**2 + 2 * L * 2048 * d) * D
    p = fit(load_runs(frame.assign(compute=c)), FitSpec("offset_power_law", x="compute")).params
    assert r.loss.value == pytest.approx(p["E"] + p["A"] * TARGET ** -p["alpha"], rel=1e-9)
    # a law in N and D is not refitted by per-run configs: it says so
    res2 = sensitivity(runs, "chinchilla", TARGET, n_resamples=30, deltas=(), min_params=0.0, config_columns=columns)
    assert not [r for r in res2.rows if r.choice == "FLOPs definition"]
    assert any("per-run configs do not change a law in N and D" in n for n in res2.notes)

"""`python -m scalecore sensitivity`: its JSON carries the numbers the closed-form optimum gives, and
a bad argument is one line and exit status 2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scalecore import FitSpec, fit, load_runs
from scalecore.cli import main

ROOT = Path(__file__).resolve().parents[1]
CSV = str(ROOT / "sample_runs" / "chinchilla_like.csv")


def test_json_baseline_and_e_fixed_rows(capsys):
    assert main(["sensitivity", CSV, "--family", "chinchilla", "--target", "1e24", "--bootstrap", "30",
                 "--min-params", "100M", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    runs = load_runs(CSV)
    for fixed, got in ((None, out["baseline"]), ({"E": 1.69}, [r for r in out["rows"] if r["choice"] == "E"][0])):
        p = fit(runs, FitSpec("chinchilla", fixed=fixed or ())).params
        G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
        n_opt = G * (1e24 / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))
        assert got["params"]["value"] == pytest.approx(n_opt, rel=1e-10)
    assert out["n_resamples"] == 30
    cut = [r for r in out["rows"] if r["choice"] == "Fit range"][0]
    assert cut["n_points"] == int((runs.values("params") >= 1e8).sum())
    assert math.isclose(cut["shift"]["params"], math.log10(cut["params"]["value"] / out["baseline"]["params"]["value"]))


def test_bad_config_is_one_line(capsys):
    assert main(["sensitivity", CSV, "--family", "chinchilla", "--target", "1e24", "--config", "1,2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: `--config` takes five numbers") and err.count("\n") == 1


def test_config_columns_name_the_fields(capsys):
    assert main(["sensitivity", CSV, "--family", "offset_power_law", "--x", "compute", "--target", "1e24",
                 "--config-columns", "layers=n_layer"]) == 2
    err = capsys.readouterr().err
    assert "unknown: layers" in err and err.count("\n") == 1

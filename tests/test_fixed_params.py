"""A parameter held fixed (``FitSpec(..., fixed={"E": 1.69})``): the fit of the other parameters is
the optimum of the reduced model, checked against scipy's least_squares on that model written out
here, and everything downstream (bootstrap, frontier) sees the held value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import least_squares

from scalecore import FitSpec, fit, load_runs
from scalecore.families import CHINCHILLA, chinchilla_optimum, fix_parameters
from scalecore.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "sample_runs" / "chinchilla_like.csv"
E_FIXED = 1.69


def _reduced_fit(n, d, loss, delta, start):
    """log L = log(1.69 + A N^-alpha + B D^-beta), fitted by scipy (Huber with f_scale = delta is the
    same summed Huber loss as Hoffmann et al.'s: 0.5 r^2 inside delta, delta (|r| - delta/2) outside)."""

    def resid(p):
        log_a, log_b, alpha, beta = p
        return np.log(E_FIXED + np.exp(log_a) * n**-alpha + np.exp(log_b) * d**-beta) - np.log(loss)

    kwargs = {"loss": "huber", "f_scale": delta} if delta else {}
    res = least_squares(resid, start, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000, **kwargs)
    return res.x, res


@pytest.mark.parametrize("loss, delta", [("huber", 1e-3), ("ls", None)])
def test_fixed_E_matches_scipy_on_the_reduced_model(loss, delta):
    runs = load_runs(RUNS)
    spec = FitSpec("chinchilla", fixed={"E": E_FIXED}, loss=loss, delta=delta or 1e-3)
    result = fit(runs, spec)
    assert result.family.param_names == ("A", "B", "alpha", "beta")
    n, d, y = runs.values("params"), runs.values("tokens"), runs.values("loss")
    # scipy starts from the free fit's exponents, not from ours
    free = fit(runs, FitSpec("chinchilla", loss=loss, delta=delta or 1e-3)).params
    x, res = _reduced_fit(n, d, y, delta, [np.log(free["A"]), np.log(free["B"]), free["alpha"], free["beta"]])
    ref = {"A": np.exp(x[0]), "B": np.exp(x[1]), "alpha": x[2], "beta": x[3]}
    # the same objective: ours is at least as low, and the parameters agree
    assert result.objective <= res.cost * (1 + 1e-9) + 1e-15
    for name, value in ref.items():
        assert result.params[name] == pytest.approx(value, rel=2e-3), name


def test_the_held_value_reaches_the_frontier():
    runs = load_runs(RUNS)
    result = fit(runs, FitSpec("chinchilla", fixed={"E": E_FIXED}))
    boot = result.bootstrap(50, seed=0)
    p = result.params
    closed = chinchilla_optimum(np.array([E_FIXED, p["A"], p["B"], p["alpha"], p["beta"]]), 1e24)
    opt = boot.compute_optimal(1e24)
    assert opt["params"].value == pytest.approx(float(closed["params"]), rel=1e-12)
    assert opt["loss"].value == pytest.approx(float(closed["loss"]), rel=1e-12)
    assert opt["loss"].low > E_FIXED  # every resample's floor is the held E


def test_fixed_is_checked_and_recorded():
    spec = FitSpec("chinchilla", fixed={"E": 1.69})
    assert spec.fixed == (("E", 1.69),) and spec.to_dict()["fixed"] == {"E": 1.69}
    assert fix_parameters(CHINCHILLA, {"E": 1.69}) is spec.model  # one object: equal specs, equal fits
    assert FitSpec("chinchilla").to_dict().get("fixed") is None
    with pytest.raises(SpecError, match="cannot hold G fixed"):
        FitSpec("chinchilla", fixed={"G": 1.0})
    with pytest.raises(SpecError, match="bounds it to"):
        FitSpec("chinchilla", fixed={"alpha": 7.0})

"""Compute-optimal allocation: closed form against numerical minimisation."""

import numpy as np
import pytest

from scalecore import FitError, chinchilla_optimum, get_family, iso_flop_optimum
from tests.synth import EPOCH

THETA = get_family("chinchilla").theta_from(EPOCH)


@pytest.mark.parametrize("compute", [1e19, 5.76e23, 1e26])
def test_closed_form_matches_numerical_minimum(compute):
    closed = chinchilla_optimum(THETA, compute)
    numeric = iso_flop_optimum("chinchilla", THETA, compute)
    assert numeric["params"][0] == pytest.approx(closed["params"], rel=1e-6)
    assert numeric["tokens"][0] == pytest.approx(closed["tokens"], rel=1e-6)
    assert numeric["loss"][0] == pytest.approx(closed["loss"], rel=1e-12)


def test_exponents_and_epoch_numbers():
    out = chinchilla_optimum(THETA, 1e24)
    a = EPOCH["beta"] / (EPOCH["alpha"] + EPOCH["beta"])
    assert out["a"] == pytest.approx(a) and out["b"] == pytest.approx(1 - a)
    # N* = G (C/6)^a by hand
    G = (EPOCH["alpha"] * EPOCH["A"] / (EPOCH["beta"] * EPOCH["B"])) ** (1 / (EPOCH["alpha"] + EPOCH["beta"]))
    assert out["params"] == pytest.approx(G * (1e24 / 6) ** a, rel=1e-12)


def test_vectorised_over_samples():
    thetas = np.vstack([THETA, THETA * [1, 1, 1, 1.05, 1]])
    out = chinchilla_optimum(thetas, 1e22)
    assert out["params"].shape == (2,)
    assert out["params"][0] == pytest.approx(chinchilla_optimum(THETA, 1e22)["params"])


def test_one_input_family_has_no_allocation():
    with pytest.raises(FitError, match="needs a law in N and D"):
        iso_flop_optimum("offset_power_law", [1.0, 1.0, 0.3], 1e20)

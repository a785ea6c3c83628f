"""The families: every family's ``predict`` against its formula written out here (plain numpy), every
hook against the generic numerical default of scalecore.optimum, and register_family."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from scalecore import FitError, budget, optimum
from scalecore.families import COMPUTE_EXPONENT, FAMILIES, HOOKS, Family, get_family, register_family

ROOT = Path(__file__).resolve().parents[1]

X = np.array([3.0e6, 1.0e9, 7.0e10, 2.5e13])
N = np.array([4.0e7, 1.0e9, 7.0e10, 1.2e12])
D = np.array([8.0e8, 2.0e10, 1.4e12, 3.0e13])


def _power_law(t, x):
    A, alpha = t
    return A * x**-alpha


def _offset_power_law(t, x):
    E, A, alpha = t
    return E + A * x**-alpha


def _broken_power_law(t, x):
    E, A, alpha, c, x_b, f = t
    return E + A * x**-alpha * (1.0 + (x / x_b) ** (1.0 / f)) ** (-c * f)


def _chinchilla(t, n, d):
    E, A, B, alpha, beta = t
    return E + A / n**alpha + B / d**beta


def _kaplan(t, n, d):
    n_c, d_c, a_n, a_d = t
    return ((n_c / n) ** (a_n / a_d) + d_c / d) ** a_d


def _logistic(t, x):
    y0, y1, slope, mid = t
    return y0 + (y1 - y0) / (1.0 + np.exp(-slope * (np.log10(x) - mid)))


#: (family, formula, parameter vectors): a few typical and a few awkward values each.
TABLE = [
    ("power_law", _power_law, [(12.0, 0.08), (3.0e3, 0.5), (0.7, -0.05)]),
    ("offset_power_law", _offset_power_law, [(1.7, 400.0, 0.34), (0.0, 20.0, 0.1), (2.5, 1e6, 1.2)]),
    ("broken_power_law", _broken_power_law,
     [(1.6, 300.0, 0.3, 0.2, 1e10, 0.5), (0.5, 50.0, 0.1, -0.05, 1e8, 2.0), (1.0, 1e4, 0.6, 0.4, 1e12, 0.05)]),
    ("chinchilla", _chinchilla,
     [(1.69, 406.4, 410.7, 0.34, 0.28), (1.8172, 482.01, 2085.43, 0.3478, 0.3658), (0.0, 1e3, 1e4, 0.9, 0.05)]),
    ("kaplan", _kaplan, [(8.8e13, 5.4e13, 0.076, 0.095), (6.4e13, 1.8e13, 0.076, 0.095), (1e10, 1e11, 0.5, 0.3)]),
    ("logistic", _logistic, [(0.25, 0.85, 3.0, 10.5), (0.9, 0.1, 0.7, 8.0), (-2.0, 40.0, 12.0, 11.0)]),
]


def test_the_table_covers_every_family():
    assert {name for name, _, _ in TABLE} == set(FAMILIES) - {n for n in FAMILIES if n.startswith("test_")}


@pytest.mark.parametrize("name, formula, thetas", TABLE, ids=[t[0] for t in TABLE])
def test_predict_is_the_written_formula(name, formula, thetas):
    fam = get_family(name)
    for theta in thetas:
        theta = np.array(theta, float)
        if fam.is_two_input:
            got = fam.predict(theta, {"params": N, "tokens": D})
            want = formula(theta, N, D)
        else:
            got = fam.predict(theta, {"x": X})
            want = formula(theta, X)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # and batched: rows of parameters at once
    batch = np.array(thetas, float)
    got = fam.predict(batch, {"params": N, "tokens": D} if fam.is_two_input else {"x": X})
    want = np.array([formula(t, N, D) if fam.is_two_input else formula(t, X) for t in batch])
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------------------------ hooks vs the generic default


def without(fam: Family, *hooks: str) -> Family:
    """The family with ``hooks`` left None, so that scalecore.optimum uses its generic default."""
    return dataclasses.replace(fam, name=fam.name + "_generic", **{h: None for h in hooks})


CHINCHILLAS = np.array([(1.69, 406.4, 410.7, 0.34, 0.28), (1.8172, 482.01, 2085.43, 0.3478, 0.3658),
                        (1.9, 150.0, 900.0, 0.3, 0.4)])
KAPLANS = np.array([(8.8e13, 5.4e13, 0.076, 0.095), (6.4e13, 1.8e13, 0.076, 0.095), (2e13, 3e13, 0.1, 0.12)])
TWO_INPUT = [("chinchilla", CHINCHILLAS), ("kaplan", KAPLANS)]
BUDGETS = np.array([1e19, 1e21, 1e23])


@pytest.mark.parametrize("name, thetas", TWO_INPUT)
def test_optimum_hook_matches_the_numerical_optimum(name, thetas):
    fam = get_family(name)
    closed = optimum.compute_optimum(fam, thetas[:, None, :], BUDGETS[None, :])
    numeric = optimum.compute_optimum(without(fam, "optimum"), thetas[:, None, :], BUDGETS[None, :])
    assert np.all((closed["params"] > 1e3) & (closed["params"] < 1e16))  # inside the numerical search
    np.testing.assert_allclose(numeric["params"], closed["params"], rtol=1e-6)
    np.testing.assert_allclose(numeric["tokens"], closed["tokens"], rtol=1e-6)
    np.testing.assert_allclose(numeric["loss"], closed["loss"], rtol=1e-12)
    # the closed form's loss is the law at its (N*, D*), and C = 6 N* D*
    formula = dict((n, f) for n, f, _ in TABLE)[name]
    np.testing.assert_allclose(closed["loss"], formula(thetas.T[:, :, None], closed["params"], closed["tokens"]),
                               rtol=1e-12)
    np.testing.assert_allclose(6.0 * closed["params"] * closed["tokens"], np.broadcast_to(BUDGETS, (3, 3)), rtol=1e-12)


@pytest.mark.parametrize("axis", ["params", "tokens"])
@pytest.mark.parametrize("name, thetas", TWO_INPUT)
def test_budget_for_hook_matches_the_numerical_inverse(name, thetas, axis):
    fam = get_family(name)
    xs = np.array([1e9, 7e10]) if axis == "params" else np.array([3e10, 1.4e12])
    closed = optimum.budget_for(fam, thetas, axis, xs)
    numeric = optimum.budget_for(without(fam, "optimum", "budget_for"), thetas, axis, xs)
    np.testing.assert_allclose(numeric, closed, rtol=1e-4)
    # the budget found puts the optimum at x
    at = optimum.compute_optimum(fam, thetas[:, None, :], closed)[axis]
    np.testing.assert_allclose(at, np.broadcast_to(xs, at.shape), rtol=1e-10)


@pytest.mark.parametrize("name, thetas", [("chinchilla", CHINCHILLAS),
                                          ("offset_power_law", np.array([(1.7, 400.0, 0.34), (0.5, 20.0, 0.2)])),
                                          ("broken_power_law", np.array([(1.6, 300.0, 0.3, 0.2, 1e10, 0.5)]))])
def test_floor_hook_matches_the_model_at_unlimited_scale(name, thetas):
    fam = get_family(name)
    # the model at x = e^150 is E + A e^(-150 alpha) + ...: within 1e-10 of E for these exponents
    np.testing.assert_allclose(optimum.floor(without(fam, "floor"), thetas), optimum.floor(fam, thetas), rtol=1e-10)
    np.testing.assert_array_equal(optimum.floor(fam, thetas), thetas[:, 0])  # E


@pytest.mark.parametrize("name, thetas", TWO_INPUT)
def test_loss_inverse_hooks_match_bisection(name, thetas):
    fam = get_family(name)
    generic = without(fam, "log_params_for_loss", "log_tokens_for_loss")
    loss = np.array([2.3, 2.6, 2.1])
    closed = optimum.log_params_for_loss(fam, thetas, loss)
    assert np.all(np.isfinite(closed))
    np.testing.assert_allclose(optimum.log_params_for_loss(generic, thetas, loss), closed, rtol=1e-10)
    log_n = closed[:, None] + np.array([[0.5, 2.0, 6.0]])
    closed_d = optimum.log_tokens_for_loss(fam, thetas, log_n, loss[:, None])
    assert np.all(np.isfinite(closed_d))
    np.testing.assert_allclose(optimum.log_tokens_for_loss(generic, thetas, log_n, loss[:, None]), closed_d, rtol=1e-10)
    # the law at (N, D(N)) is the loss asked for
    got = np.exp(optimum.log_model(fam, thetas, log_n, closed_d))
    np.testing.assert_allclose(got, np.broadcast_to(loss[:, None], got.shape), rtol=1e-10)
    # below the floor: unreachable for both
    low = optimum.floor(fam, thetas) * 0.5 if name == "chinchilla" else np.zeros(3)
    assert np.all(np.isinf(optimum.log_params_for_loss(fam, thetas, low)))
    assert np.all(np.isinf(optimum.log_params_for_loss(generic, thetas, low)))


def test_compute_for_loss_hook_matches_the_numerical_least_cost():
    fam = get_family("chinchilla")
    loss = np.array([2.3, 2.1, 2.25])
    closed = optimum.compute_for_loss(fam, CHINCHILLAS, loss)
    numeric = optimum.compute_for_loss(without(fam, "compute_for_loss"), CHINCHILLAS, loss)
    np.testing.assert_allclose(numeric["compute"], closed["compute"], rtol=1e-9)
    np.testing.assert_allclose(numeric["params"], closed["params"], rtol=1e-5)
    np.testing.assert_allclose(numeric["tokens"], closed["tokens"], rtol=1e-5)
    # the least compute for a loss is the budget whose optimum has that loss
    np.testing.assert_allclose(optimum.compute_optimum(fam, CHINCHILLAS, closed["compute"])["loss"], loss, rtol=1e-10)


def test_exponents_hook_matches_the_parameters_and_the_frontier_slope():
    fam = get_family("chinchilla")
    hook = optimum.exponents(fam, CHINCHILLAS)
    generic = optimum.exponents(without(fam, "exponents"), CHINCHILLAS)
    assert list(generic) == ["alpha", "beta"]
    for n in generic:
        np.testing.assert_array_equal(hook[n], generic[n])
    # L*(C) - E ~ C^-gamma: the slope of the numerical frontier in log-log
    c = np.array([1e21, 1e23])
    loss = optimum.numerical_optimum(fam, CHINCHILLAS[:, None, :], c[None, :])["loss"] - CHINCHILLAS[:, :1]
    slope = -np.diff(np.log(loss), axis=1)[:, 0] / np.log(c[1] / c[0])
    np.testing.assert_allclose(hook[COMPUTE_EXPONENT], slope, rtol=1e-6)


def test_the_allocation_exponents_are_the_slopes_of_n_and_d():
    fam = get_family("chinchilla")
    c = np.array([1e20, 1e24])
    out = optimum.compute_optimum(fam, CHINCHILLAS[:, None, :], c[None, :])
    for key, axis in (("a", "params"), ("b", "tokens")):
        slope = np.diff(np.log(out[axis]), axis=1)[:, 0] / np.log(c[1] / c[0])
        np.testing.assert_allclose(out[key][:, 0], slope, rtol=1e-12)


# ------------------------------------------------------------------------------ registering a family


@pytest.fixture
def registry():
    before = dict(FAMILIES)
    yield FAMILIES
    FAMILIES.clear()
    FAMILIES.update(before)


def test_a_registered_family_without_hooks_plans_like_its_closed_form(registry):
    """Chinchilla's law registered again with no hooks: budget answers through the generic defaults
    agree with the chinchilla family's closed forms."""
    fam = register_family(dataclasses.replace(get_family("chinchilla"), name="test_chinchilla_numeric",
                                              **{h: None for h in HOOKS}))
    assert get_family("test_chinchilla_numeric") is fam
    params = dict(zip(fam.param_names, CHINCHILLAS[0]))
    ref, new = budget.Law.from_params(params, "chinchilla"), budget.Law.from_params(params, fam)
    a, b = budget.compute_optimal(ref, 1e23), budget.compute_optimal(new, 1e23)
    assert b["params"].value == pytest.approx(a["params"].value, rel=1e-6)
    assert b["loss"].value == pytest.approx(a["loss"].value, rel=1e-12)
    assert "a" not in b  # no closed form, no allocation exponents
    inv_a, inv_b = budget.compute_for_loss(ref, 2.2), budget.compute_for_loss(new, 2.2)
    assert inv_b["compute"].value == pytest.approx(inv_a["compute"].value, rel=1e-8)


def test_register_family_refuses_a_duplicate_and_a_bad_family(registry):
    chin = get_family("chinchilla")
    with pytest.raises(FitError, match="already registered"):
        register_family(chin)
    with pytest.raises(FitError, match="bounds"):
        register_family(dataclasses.replace(chin, name="test_bad", bounds=chin.bounds[:-1]))
    with pytest.raises(FitError, match="not among its parameters"):
        register_family(dataclasses.replace(chin, name="test_bad", exponent_params=("gamma",)))
    with pytest.raises(FitError, match="inputs"):
        register_family(dataclasses.replace(chin, name="test_bad", inputs=("params",)))
    with pytest.raises(FitError, match="optimum hook must be callable"):
        register_family(dataclasses.replace(chin, name="test_bad", optimum=3.0))
    assert "test_bad" not in FAMILIES


def test_no_module_asks_a_family_its_name_for_maths():
    """Family-specific maths goes through hooks: outside families.py, scalecore and ui never compare
    a family's name with a family's name literal. reference.py is exempt: it writes each law out
    again, by name, precisely so that it does not depend on the Family it checks."""
    names = "|".join(re.escape(n) for n in FAMILIES)
    pattern = re.compile(r"""(==|!=)\s*["'](%s)["']|["'](%s)["']\s*(==|!=)""" % (names, names))
    found = []
    for folder in ("scalecore", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name in ("families.py", "reference.py"):
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not found, "\n".join(found)

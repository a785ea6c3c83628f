"""Seeded synthetic runs with known truth, for every family (test helper).

Every dataset is synthetic: drawn from the family's law with the constants in TRUTH. The laws are
written out here (LAWS), from the papers' formulas, not taken from ``Family.predict``: data made by
the code under test would fit it whatever its formula says.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from scalecore import load_runs

#: Besiroglu et al. (2024)'s replication of Hoffmann et al.'s Approach 3.
EPOCH = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}

TRUTH = {
    "power_law": {"A": 30.0, "alpha": 0.12},
    "offset_power_law": {"E": 1.7, "A": 400.0, "alpha": 0.3},
    "broken_power_law": {"E": 1.5, "A": 30.0, "alpha": 0.1, "c": 0.3, "x_b": 1e9, "f": 0.5},
    "chinchilla": EPOCH,
    "kaplan": {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
    "logistic": {"y0": 0.25, "y1": 0.85, "slope": 4.0, "log10_mid": 9.7},
}


def _logistic(p, x):
    return p["y0"] + (p["y1"] - p["y0"]) / (1 + np.exp(-p["slope"] * (np.log10(x) - p["log10_mid"])))


#: Each family's law, written from its formula: (inputs, space of the noise, law(params, *inputs)).
LAWS = {
    "power_law": (("x",), "log", lambda p, x: p["A"] * x ** -p["alpha"]),
    "offset_power_law": (("x",), "log", lambda p, x: p["E"] + p["A"] * x ** -p["alpha"]),
    "broken_power_law": (("x",), "log",  # Caballero et al. 2022
                         lambda p, x: p["E"] + p["A"] * x ** -p["alpha"]
                         * (1 + (x / p["x_b"]) ** (1 / p["f"])) ** (-p["c"] * p["f"])),
    "chinchilla": (("params", "tokens"), "log",  # Hoffmann et al. 2022, eq. 2
                   lambda p, n, d: p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]),
    "kaplan": (("params", "tokens"), "log",  # Kaplan et al. 2020, eq. 1.5
               lambda p, n, d: ((p["N_c"] / n) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / d)
               ** p["alpha_D"]),
    "logistic": (("x",), "linear", _logistic),
}


def isoflop_grid(budgets=(6e18, 1e19, 3e19, 1e20, 3e20, 1e21), per_budget=12, span=12.0):
    """N and D on IsoFLOP lines around each budget's Chinchilla optimum (N* ~ 0.6 C^0.5)."""
    ns, ds = [], []
    for c in budgets:
        n_opt = 0.6 * (c / 6) ** 0.5
        n = np.geomspace(n_opt / span, n_opt * span, per_budget)
        ns.append(n)
        ds.append(c / (6 * n))
    return np.concatenate(ns), np.concatenate(ds)


def frame(family: str, seed: int = 0, noise: float = 0.002, theta=None, n_points=None, *, repeats: int = 1,
          group_noise: float = 0.0, **grid) -> pd.DataFrame:
    """Runs drawn from ``family`` with parameters ``theta`` (default TRUTH) and seeded noise.

    Loss-like families get log-normal noise of sd ``noise``; the logistic family additive noise.

    Groups (for the ``groups`` bootstrap): with ``repeats > 1`` or ``group_noise > 0``, each size
    (each (N, D) point for two-input families) is run ``repeats`` times and its runs form one group
    (column ``group``: ``g000``, ``g001``, ...); every group also gets one shared shock of sd
    ``group_noise`` (in the same space as ``noise``), drawn after the per-run noise, so that the
    runs of a group are correlated, as seeds of one size tuned once are. Without either option
    the frame is the same as before (no group column, the same draws).
    """
    inputs, space, law = LAWS[family]
    theta = {k: float(v) for k, v in (TRUTH[family] if theta is None else theta).items()}
    rng = np.random.default_rng(seed)
    if len(inputs) == 2:
        if family == "kaplan":
            n = np.repeat(np.geomspace(1e6, 1e9, 8), 8)
            d = np.tile(np.geomspace(1e8, 1e11, 8), 8)
        else:
            n, d = isoflop_grid(**grid)
        y = law(theta, n, d)
        df = pd.DataFrame({"params": n, "tokens": d})
    else:
        lo, hi = {"logistic": (1e8, 1e11), "broken_power_law": (1e6, 1e12)}.get(family, (1e7, 1e11))
        n = np.geomspace(lo, hi, n_points or (40 if family == "broken_power_law" else 25))
        y = law(theta, n)
        df = pd.DataFrame({"params": n, "tokens": 20 * n})
    grouped = repeats > 1 or group_noise > 0
    if grouped:
        point = np.repeat(np.arange(len(df)), repeats)
        df, y = df.iloc[point].reset_index(drop=True), y[point]
    e = noise * rng.standard_normal(len(y))
    if grouped:
        e = e + group_noise * rng.standard_normal(point.max() + 1)[point]
    df["loss" if space == "log" else "accuracy"] = y * np.exp(e) if space == "log" else y + e
    if grouped:
        df.insert(0, "group", [f"g{g:03d}" for g in point])
    df.insert(0, "run_id", [f"r{i:03d}" for i in range(len(df))])
    return df


def runs_of(df: pd.DataFrame, name: str = "synthetic.csv"):
    buf = io.BytesIO(df.to_csv(index=False).encode())
    return load_runs(buf, names=[name])


def synthetic_runs(family: str, **kw):
    return runs_of(frame(family, **kw))

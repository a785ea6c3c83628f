"""Generate the SYNTHETIC example datasets in this folder.

Run from the repository root::

    python sample_runs/generate.py

Every dataset is drawn from a known law with known constants and a fixed seed
(``numpy.random.default_rng(seed)``), so the files are byte-identical on every run and the
"true" answer of every fit is known (see README.md). The script needs numpy only.

Number formats: sizes (params, tokens, compute) are written with ``%.6g``; losses and accuracies
with ``%.6f``. Model sizes (and, except on the IsoFLOP lines, token counts and compute budgets) are
first rounded to 3 significant figures, as real run sizes are "nice" numbers, and the laws are
evaluated at the values written, so every row is exactly "law + noise" at the numbers in the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FLOPS_PER_TOKEN_PARAM = 6.0  # C = 6 * N * D

# ---------------------------------------------------------------------------------- constants

# 1. Chinchilla approach-3 law as re-fitted by Besiroglu et al. (2024), "Chinchilla Scaling:
#    A replication attempt": L(N, D) = E + A / N**alpha + B / D**beta.
CHINCHILLA = dict(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
CHINCHILLA_BUDGETS = ("6e18", "1e19", "3e19", "6e19", "1e20", "3e20", "6e20", "1e21", "3e21")
CHINCHILLA_SIZES_PER_BUDGET = 27
CHINCHILLA_WINDOW_DECADES = 1.0  # sizes span optimum * 10**(-1 .. +1), centre jittered below
CHINCHILLA_CENTRE_JITTER_DECADES = 0.15
CHINCHILLA_SIGMA = 0.01
CHINCHILLA_SEED = 2024
#: The 4 runs whose loss is made much too high ("diverged"): (budget, size index).
CHINCHILLA_DIVERGED = (("1e19", 17), ("1e20", 3), ("6e20", 11), ("3e21", 22))
CHINCHILLA_DIVERGED_EXCESS = (0.4, 1.5)  # added to the true loss, uniform in this range

# 2. Compute-only saturating curve: L(C) = E + A * C**(-alpha).
SATURATING_E = 1.69
SATURATING_ALPHA = 0.155
#: A = (4.2 - E) * 1e17**alpha, rounded to 4 significant figures: L(1e17) = 4.2 (to 3 decimals).
SATURATING_A = 1083.0
SATURATING_RUNS = 30
SATURATING_RANGE = (1e17, 1e23)
SATURATING_SIGMA = 0.008
SATURATING_SEED = 17

# 3. Two architectures, L(N) = E + A * N**(-alpha), whose curves cross inside 1e7..1e10.
ARCHITECTURES = {
    "transformer": dict(E=1.80, A=60.0, alpha=0.30),
    "ssm": dict(E=1.95, A=150.0, alpha=0.42),
}
ARCH_RUNS = 15
ARCH_RANGE = (1e7, 1e10)
ARCH_TOKENS_PER_PARAM = 20.0
ARCH_SIGMA = 0.01
ARCH_SEED = 3

# 4. Emergent accuracy: acc = floor + (ceiling - floor) * sigmoid(k * (log10 N - midpoint)).
EMERGENCE = dict(floor=0.25, ceiling=0.85, k=4.0, midpoint=9.7)
EMERGENCE_RUNS = 25
EMERGENCE_RANGE = (1e8, 1e11)
EMERGENCE_TOKENS_PER_PARAM = 20.0
EMERGENCE_SD = 0.01  # additive Gaussian, then clipped to [0, 1]
EMERGENCE_SEED = 97

# 5. Kaplan et al. (2020), eq. 1.5: L(N, D) = [(N_c/N)**(alpha_N/alpha_D) + D_c/D]**alpha_D.
KAPLAN = dict(alpha_N=0.076, alpha_D=0.095, N_c=8.8e13, D_c=5.4e13)
KAPLAN_N_RANGE, KAPLAN_N_COUNT = (1e6, 1e9), 8
KAPLAN_D_RANGE, KAPLAN_D_COUNT = (1e8, 1e11), 8
KAPLAN_DROPPED = 4  # grid cells removed at random: 64 - 4 = 60 runs
KAPLAN_SIGMA = 0.01
KAPLAN_SEED = 2020

# 6. Two-step downstream: loss from Chinchilla's law (the constants of 1.), then
#    accuracy = floor + (ceiling - floor) * sigmoid(slope * (loss_mid - loss)) of the noisy loss.
DOWNSTREAM_ACCURACY = dict(floor=0.25, ceiling=0.85, slope=4.0, loss_mid=2.6)
DOWNSTREAM_SIZES = (5e7, 2e9, 8)  # 8 model sizes log-spaced from 5e7 to 2e9
DOWNSTREAM_TOKENS_PER_PARAM = (10, 20, 40, 80)  # every size at each ratio: 32 runs
DOWNSTREAM_NO_ACCURACY = 6  # runs whose accuracy was "not evaluated" (blank), drawn at random
DOWNSTREAM_LOSS_SIGMA = 0.005  # log-normal
DOWNSTREAM_ACCURACY_SD = 0.01  # additive Gaussian
DOWNSTREAM_SEED = 8
#: The held-out larger run (not in the file): 30B parameters on 600B tokens, 56x the largest run's compute.
DOWNSTREAM_TARGET = dict(params=3e10, tokens=6e11)


# ------------------------------------------------------------------------------------ helpers


def nice(x):
    """Round to 3 significant figures (what a run's size looks like in a real sweep)."""
    return np.array([float(f"{v:.3g}") for v in np.atleast_1d(x)])


def log_spaced(low: float, high: float, count: int) -> np.ndarray:
    return np.logspace(np.log10(low), np.log10(high), count)


def lognormal_noise(values: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``values * exp(sigma * eps)`` with eps ~ N(0, 1): multiplicative noise of about ``sigma``."""
    values = np.asarray(values, dtype=float)
    return values * np.exp(sigma * rng.standard_normal(values.shape))


def size(x: float) -> str:
    return f"{x:.6g}"


def metric(x: float) -> str:
    return f"{x:.6f}"


def write_csv(name: str, header: list[str], rows: list[list[str]]) -> Path:
    """Write rows of already formatted strings; every row gets ``source=synthetic`` last."""
    path = HERE / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*header, "source"])
        for row in rows:
            writer.writerow([*row, "synthetic"])
    return path


# ----------------------------------------------------------------------------------- the laws


def chinchilla_loss(params, tokens, E, A, B, alpha, beta):
    return E + A / np.asarray(params) ** alpha + B / np.asarray(tokens) ** beta


def chinchilla_optimum(compute, E, A, B, alpha, beta):
    """Loss-minimising N and D for ``compute = 6 N D`` (Hoffmann et al. 2022, eq. 4)."""
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    a, b = beta / (alpha + beta), alpha / (alpha + beta)
    x = np.asarray(compute) / FLOPS_PER_TOKEN_PARAM
    return G * x**a, x**b / G


def chinchilla_exponents(alpha, beta, **_):
    """(a, b) in N_opt ~ C**a, D_opt ~ C**b."""
    return beta / (alpha + beta), alpha / (alpha + beta)


def offset_power_law(x, E, A, alpha):
    return E + A * np.asarray(x, dtype=float) ** (-alpha)


def kaplan_loss(params, tokens, alpha_N, alpha_D, N_c, D_c):
    params, tokens = np.asarray(params), np.asarray(tokens)
    return ((N_c / params) ** (alpha_N / alpha_D) + D_c / tokens) ** alpha_D


def emergence_accuracy(params, floor, ceiling, k, midpoint):
    z = k * (np.log10(np.asarray(params)) - midpoint)
    return floor + (ceiling - floor) / (1.0 + np.exp(-z))


def architecture_crossover(first: dict, second: dict, low: float, high: float) -> float:
    """The N in [low, high] where the two noiseless curves are equal (bisection in log10 N).

    Fails if the difference does not change sign over the range, i.e. the curves do not cross.
    """
    def diff(log_n):
        return offset_power_law(10.0**log_n, **first) - offset_power_law(10.0**log_n, **second)

    lo, hi = np.log10(low), np.log10(high)
    if np.sign(diff(lo)) == np.sign(diff(hi)):
        raise ValueError(f"the curves do not cross between {low:g} and {high:g}")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.sign(diff(mid)) == np.sign(diff(lo)):
            lo = mid
        else:
            hi = mid
    return float(10.0 ** (0.5 * (lo + hi)))


# ---------------------------------------------------------------------------------- datasets


def chinchilla_like() -> tuple[Path, int, str]:
    """IsoFLOP sweeps: 9 budgets x 27 sizes, 4 of them diverged."""
    rng = np.random.default_rng(CHINCHILLA_SEED)
    diverged = dict.fromkeys(CHINCHILLA_DIVERGED)
    rows = []
    for label in CHINCHILLA_BUDGETS:
        budget = float(label)
        n_opt, _ = chinchilla_optimum(budget, **CHINCHILLA)
        jitter, half = CHINCHILLA_CENTRE_JITTER_DECADES, CHINCHILLA_WINDOW_DECADES
        centre = np.log10(n_opt) + rng.uniform(-jitter, jitter)
        params = nice(10.0 ** np.linspace(centre - half, centre + half, CHINCHILLA_SIZES_PER_BUDGET))
        # tokens keep 6 significant figures, so 6 * params * tokens equals the budget to 1e-6
        tokens = np.array([float(size(d)) for d in budget / (FLOPS_PER_TOKEN_PARAM * params)])
        true = chinchilla_loss(params, tokens, **CHINCHILLA)
        loss = lognormal_noise(true, CHINCHILLA_SIGMA, rng)
        for i in range(CHINCHILLA_SIZES_PER_BUDGET):
            run_id = f"iso{label}-n{i:02d}"
            if (label, i) in diverged:
                loss[i] = true[i] + rng.uniform(*CHINCHILLA_DIVERGED_EXCESS)
                diverged[(label, i)] = run_id
            rows.append([run_id, size(params[i]), size(tokens[i]), size(budget), metric(loss[i]),
                         f"C={label}"])
    if not all(diverged.values()):
        raise ValueError(f"diverged runs outside the grid: {[k for k, v in diverged.items() if v is None]}")
    path = write_csv("chinchilla_like.csv", ["run_id", "params", "tokens", "compute", "loss", "group"], rows)
    a, b = chinchilla_exponents(**CHINCHILLA)
    return path, len(rows), f"diverged: {', '.join(diverged.values())}; a = {a:.4f}, b = {b:.4f}"


def compute_saturating() -> tuple[Path, int, str]:
    """Loss against compute only, flattening towards E = 1.69."""
    rng = np.random.default_rng(SATURATING_SEED)
    compute = nice(log_spaced(*SATURATING_RANGE, SATURATING_RUNS))
    true = offset_power_law(compute, SATURATING_E, SATURATING_A, SATURATING_ALPHA)
    loss = lognormal_noise(true, SATURATING_SIGMA, rng)
    rows = [[f"sat-{i:02d}", size(c), metric(v)] for i, (c, v) in enumerate(zip(compute, loss))]
    path = write_csv("compute_saturating.csv", ["run_id", "compute", "loss"], rows)
    note = f"true loss {true[0]:.4f} at C={compute[0]:g}, {true[-1]:.4f} at C={compute[-1]:g}"
    return path, len(rows), note


def architectures_crossover() -> tuple[Path, int, str]:
    """Two architectures whose loss curves cross inside the sampled range of N."""
    rng = np.random.default_rng(ARCH_SEED)
    crossing = architecture_crossover(ARCHITECTURES["transformer"], ARCHITECTURES["ssm"], *ARCH_RANGE)
    params = nice(log_spaced(*ARCH_RANGE, ARCH_RUNS))
    tokens = nice(ARCH_TOKENS_PER_PARAM * params)
    compute = FLOPS_PER_TOKEN_PARAM * params * tokens
    rows = []
    for arch, law in ARCHITECTURES.items():
        loss = lognormal_noise(offset_power_law(params, **law), ARCH_SIGMA, rng)
        for i in range(ARCH_RUNS):
            rows.append([f"{arch}-{i:02d}", size(params[i]), size(tokens[i]), size(compute[i]),
                         metric(loss[i]), arch])
    header = ["run_id", "params", "tokens", "compute", "loss", "arch"]
    path = write_csv("architectures_crossover.csv", header, rows)
    loss_at = offset_power_law(crossing, **ARCHITECTURES["transformer"])
    return path, len(rows), f"true curves cross at N = {crossing:.4g} (loss {loss_at:.4f})"


def accuracy_emergence() -> tuple[Path, int, str]:
    """An accuracy that jumps from chance (0.25) to 0.85 around N = 10**9.7."""
    rng = np.random.default_rng(EMERGENCE_SEED)
    params = nice(log_spaced(*EMERGENCE_RANGE, EMERGENCE_RUNS))
    tokens = nice(EMERGENCE_TOKENS_PER_PARAM * params)
    compute = FLOPS_PER_TOKEN_PARAM * params * tokens
    true = emergence_accuracy(params, **EMERGENCE)
    accuracy = np.clip(true + EMERGENCE_SD * rng.standard_normal(true.shape), 0.0, 1.0)
    rows = [[f"emg-{i:02d}", size(params[i]), size(tokens[i]), size(compute[i]), metric(accuracy[i])]
            for i in range(EMERGENCE_RUNS)]
    path = write_csv("accuracy_emergence.csv", ["run_id", "params", "tokens", "compute", "accuracy"], rows)
    return path, len(rows), f"midpoint N = {10 ** EMERGENCE['midpoint']:.4g}"


def kaplan_like() -> tuple[Path, int, str]:
    """An 8 x 8 grid of (N, D) with 4 cells removed, loss from Kaplan et al.'s L(N, D)."""
    rng = np.random.default_rng(KAPLAN_SEED)
    n_grid = nice(log_spaced(*KAPLAN_N_RANGE, KAPLAN_N_COUNT))
    d_grid = nice(log_spaced(*KAPLAN_D_RANGE, KAPLAN_D_COUNT))
    cells = [(i, j) for i in range(KAPLAN_N_COUNT) for j in range(KAPLAN_D_COUNT)]
    dropped = {cells[k] for k in rng.choice(len(cells), size=KAPLAN_DROPPED, replace=False)}
    kept = [cell for cell in cells if cell not in dropped]
    params = np.array([n_grid[i] for i, _ in kept])
    tokens = np.array([d_grid[j] for _, j in kept])
    compute = FLOPS_PER_TOKEN_PARAM * params * tokens
    loss = lognormal_noise(kaplan_loss(params, tokens, **KAPLAN), KAPLAN_SIGMA, rng)
    rows = [[f"kap-n{i}-d{j}", size(params[k]), size(tokens[k]), size(compute[k]), metric(loss[k])]
            for k, (i, j) in enumerate(kept)]
    path = write_csv("kaplan_like.csv", ["run_id", "params", "tokens", "compute", "loss"], rows)
    gone = ", ".join(f"kap-n{i}-d{j}" for i, j in sorted(dropped))
    return path, len(rows), f"dropped cells: {gone}"


def downstream_accuracy_of_loss(loss, floor, ceiling, slope, loss_mid):
    return floor + (ceiling - floor) / (1.0 + np.exp(-slope * (loss_mid - np.asarray(loss, dtype=float))))


def downstream_rows(seed: int = DOWNSTREAM_SEED) -> list[list[str]]:
    """Rows of the two-step dataset for ``seed`` (the tests draw more datasets with other seeds).

    Draw order: the loss noise (32 normals), the accuracy noise (32 normals), then which runs have
    no accuracy. The accuracy is the logistic of the *noisy* loss (a run that came out worse than
    the law scores lower), plus its own noise; it is not clipped (it stays far from 0 and 1).
    """
    rng = np.random.default_rng(seed)
    sizes = nice(log_spaced(DOWNSTREAM_SIZES[0], DOWNSTREAM_SIZES[1], DOWNSTREAM_SIZES[2]))
    params = np.repeat(sizes, len(DOWNSTREAM_TOKENS_PER_PARAM))
    ratio = np.tile(np.array(DOWNSTREAM_TOKENS_PER_PARAM, dtype=float), len(sizes))
    tokens = nice(ratio * params)
    compute = FLOPS_PER_TOKEN_PARAM * params * tokens
    loss = lognormal_noise(chinchilla_loss(params, tokens, **CHINCHILLA), DOWNSTREAM_LOSS_SIGMA, rng)
    accuracy = downstream_accuracy_of_loss(loss, **DOWNSTREAM_ACCURACY)
    accuracy = accuracy + DOWNSTREAM_ACCURACY_SD * rng.standard_normal(accuracy.shape)
    blank = set(rng.choice(len(params), size=DOWNSTREAM_NO_ACCURACY, replace=False).tolist())
    rows = []
    for i in range(len(params)):
        rows.append([f"ds-n{sizes.tolist().index(params[i])}-r{int(ratio[i])}", size(params[i]), size(tokens[i]),
                     size(compute[i]), metric(loss[i]), "" if i in blank else metric(accuracy[i])])
    return rows


def downstream_target() -> dict:
    """True loss and accuracy of the held-out target run (noiseless)."""
    loss = float(chinchilla_loss(DOWNSTREAM_TARGET["params"], DOWNSTREAM_TARGET["tokens"], **CHINCHILLA))
    return {**DOWNSTREAM_TARGET, "compute": FLOPS_PER_TOKEN_PARAM * DOWNSTREAM_TARGET["params"] * DOWNSTREAM_TARGET["tokens"],
            "loss": loss, "accuracy": float(downstream_accuracy_of_loss(loss, **DOWNSTREAM_ACCURACY))}


def downstream_accuracy() -> tuple[Path, int, str]:
    """Loss and a downstream accuracy for 32 runs (6 without accuracy) and a held-out target."""
    rows = downstream_rows(DOWNSTREAM_SEED)
    header = ["run_id", "params", "tokens", "compute", "loss", "accuracy"]
    path = write_csv("downstream_accuracy.csv", header, rows)
    t = downstream_target()
    return path, len(rows), (f"target N = {t['params']:g}, D = {t['tokens']:g}: true loss {t['loss']:.4f}, "
                             f"true accuracy {t['accuracy']:.4f}")


DATASETS = (chinchilla_like, compute_saturating, architectures_crossover, accuracy_emergence, kaplan_like,
            downstream_accuracy)


def main() -> None:
    for make in DATASETS + FRONTIER_DATASETS:
        path, n_rows, note = make()
        print(f"{path.name}: {n_rows} rows (SYNTHETIC); {note}")


# ------------------------------------------------------- IsoFLOP & curves page (Approaches 1 and 2)

# 7. IsoFLOP sweeps centred off the optimum, from the Chinchilla law of 1. The sweep centres follow
#    N ~ C**0.73 (Kaplan et al.'s allocation) from 0.2 decades above the true optimum at the smallest
#    budget, so larger budgets are swept further and further above their optimum.
OFFCENTRE_BUDGETS = ("1e18", "3e18", "1e19", "3e19", "1e20", "3e20", "1e21", "3e21", "1e22", "3e22", "1e23")
OFFCENTRE_SIZES_PER_BUDGET = 17
OFFCENTRE_HALF_DECADES = 1.2  # sizes span centre * 10**(-1.2 .. +1.2)
OFFCENTRE_GUESS_A = 0.73
OFFCENTRE_OFFSET_DECADES = 0.2
OFFCENTRE_SIGMA = 0.004
OFFCENTRE_SEED = 73

# 8. Long-format training curves (one row per logged step), loss from the Chinchilla law of 1. at the
#    tokens seen so far, plus a warm-up bump and noise. No tokens column: tokens = step * 524288.
CURVES_SIZES = (1e7, 2e9, 12)  # 12 model sizes log-spaced from 1e7 to 2e9
CURVES_TOKENS_PER_PARAM = 80.0  # every run is trained to 80 N tokens (past its compute-optimal ~20 N)
CURVES_TOKENS_PER_STEP = 524288  # 256 sequences x 2048 tokens
CURVES_POINTS_PER_RUN = 400  # logged every ceil(steps / 400) steps, and at the last step
CURVES_WARMUP = dict(excess=2.0, steps=100.0)  # loss += 2.0 * exp(-step / 100)
CURVES_SIGMA = 0.02  # log-normal, independent per logged point
CURVES_SEED = 1


def isoflop_offcentre() -> tuple[Path, int, str]:
    """IsoFLOP sweeps whose centres drift above the optimum: Approach 2's bias against Approach 3."""
    rng = np.random.default_rng(OFFCENTRE_SEED)
    first = float(OFFCENTRE_BUDGETS[0])
    n_first, _ = chinchilla_optimum(first, **CHINCHILLA)
    rows, positions = [], []
    for label in OFFCENTRE_BUDGETS:
        budget = float(label)
        centre = np.log10(n_first) + OFFCENTRE_OFFSET_DECADES + OFFCENTRE_GUESS_A * np.log10(budget / first)
        half = OFFCENTRE_HALF_DECADES
        params = nice(10.0 ** np.linspace(centre - half, centre + half, OFFCENTRE_SIZES_PER_BUDGET))
        tokens = np.array([float(size(d)) for d in budget / (FLOPS_PER_TOKEN_PARAM * params)])
        loss = lognormal_noise(chinchilla_loss(params, tokens, **CHINCHILLA), OFFCENTRE_SIGMA, rng)
        n_opt, _ = chinchilla_optimum(budget, **CHINCHILLA)
        positions.append((np.log10(n_opt) - (centre - half)) / (2 * half))
        for i in range(OFFCENTRE_SIZES_PER_BUDGET):
            rows.append([f"off{label}-n{i:02d}", size(params[i]), size(tokens[i]), size(budget), metric(loss[i]),
                         f"C={label}"])
    path = write_csv("isoflop_offcentre.csv", ["run_id", "params", "tokens", "compute", "loss", "group"], rows)
    where = ", ".join(f"{p:.2f}" for p in positions)
    return path, len(rows), f"true optimum at fraction {where} of each sweep (0 = smallest size)"


def curve_loss(params, tokens, step):
    """True loss of a curve point: the Chinchilla law at the tokens seen, plus the warm-up bump."""
    law = chinchilla_loss(params, tokens, **CHINCHILLA)
    return law + CURVES_WARMUP["excess"] * np.exp(-np.asarray(step, dtype=float) / CURVES_WARMUP["steps"])


def loss_curves() -> tuple[Path, int, str]:
    """12 training curves in long format (run_id, params, step, loss) in curves/loss_curves.csv."""
    rng = np.random.default_rng(CURVES_SEED)
    sizes = nice(log_spaced(*CURVES_SIZES))
    rows = []
    for i, n in enumerate(sizes):
        total = int(np.ceil(CURVES_TOKENS_PER_PARAM * n / CURVES_TOKENS_PER_STEP))
        every = int(np.ceil(total / CURVES_POINTS_PER_RUN))
        steps = np.unique(np.append(np.arange(every, total + 1, every), total))
        loss = lognormal_noise(curve_loss(n, steps * float(CURVES_TOKENS_PER_STEP), steps), CURVES_SIGMA, rng)
        rows += [[f"curve-{i:02d}", size(n), str(int(s)), metric(v)] for s, v in zip(steps, loss)]
    (HERE / "curves").mkdir(exist_ok=True)
    path = write_csv("curves/loss_curves.csv", ["run_id", "params", "step", "loss"], rows)
    a, _ = chinchilla_exponents(**CHINCHILLA)
    return path, len(rows), f"tokens per step {CURVES_TOKENS_PER_STEP}; true N* ~ C^{a:.4f}"


FRONTIER_DATASETS = (isoflop_offcentre, loss_curves)


if __name__ == "__main__":
    main()

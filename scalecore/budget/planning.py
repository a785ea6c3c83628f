"""Planning with a law: compute-optimal N and D, loss, the inverse (least compute for a loss),
trade-offs off the optimum, inference-aware sizing and data limits, and a whole :class:`Plan`.

The frontier maths (closed forms, numerical optimum, floors, inverses) is :mod:`scalecore.optimum`;
here it is applied to every row of a :class:`~scalecore.budget.law.Law` and wrapped as Estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .. import optimum
from ..errors import DataError, FitError
from ..formatting import format_estimate, format_number, format_value
from ..optimum import FLOPS_PER_TOKEN_PARAM, INFERENCE_FLOPS_PER_TOKEN_PARAM
from ..stats import percentile_interval
from ..uncertainty import Estimate, estimate_of
from .hardware import Hardware, _positive
from .law import WHY_TWO_INPUTS, Law, _need_loss_law, _need_two_inputs
from .presentation import Scenario

# ============================================================================ maths on rows of thetas
# Each helper takes a law and returns one value per row of its thetas.


def _optimum_rows(law: Law, compute, k: float) -> dict[str, np.ndarray]:
    """Compute-optimal params, tokens, loss for every row of the law at ``compute`` (scalar or (M,))."""
    out = optimum.compute_optimum(law.family, law.thetas, compute, k)
    return {key: np.broadcast_to(out[key], (len(law.thetas),)).astype(float) for key in ("params", "tokens", "loss")}


def _value_rows(law: Law, params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The metric of row i of the law at (params[i], tokens[i]), for all rows: (M,)."""
    log_n = np.log(np.asarray(params, float))[:, None]
    log_d = np.log(np.asarray(tokens, float))[:, None]
    return np.exp(optimum.log_model(law.family, law.thetas, log_n, log_d)[:, 0])


def _least_compute_rows(law: Law, loss, k: float) -> dict:
    """Least training compute reaching ``loss`` (scalar or (M,)) per row, with its N and D."""
    return optimum.compute_for_loss(law.family, law.thetas, loss, k)


def _floor_rows(law: Law) -> np.ndarray:
    """The loss the law approaches with unlimited N, D (or x), per row."""
    return optimum.floor(law.family, law.thetas)

def _check_compute(compute) -> float:
    return _positive("compute", compute, "training FLOPs")


def _with_ratio(law: Law, rows: Mapping[str, np.ndarray], prefix: str = "") -> dict:
    with np.errstate(all="ignore"):
        ratio = np.asarray(rows["tokens"]) / np.asarray(rows["params"])
    return {f"{prefix}params": law.estimate(rows["params"]), f"{prefix}tokens": law.estimate(rows["tokens"]),
            f"{prefix}tokens_per_param": law.estimate(ratio)}


# ============================================================================ answers


def compute_optimal(law: Law, compute: float, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """N*, D*, tokens per parameter and the predicted loss at ``compute`` FLOPs, with intervals.

    From :func:`scalecore.optimum.compute_optimum`: the family's closed form where it has one (for
    Chinchilla's law also the exponents ``a``, ``b``), else minimised numerically along ``D = C/(kN)``.
    """
    _need_loss_law(law)
    _need_two_inputs(law, "A compute-optimal model size and token count")
    c = _check_compute(compute)
    full = optimum.compute_optimum(law.family, law.thetas, c, k)
    rows = {key: np.broadcast_to(full[key], (len(law.thetas),)).astype(float) for key in ("params", "tokens", "loss")}
    out = _with_ratio(law, rows)
    out["loss"] = law.estimate(rows["loss"])
    for key in ("a", "b"):  # the allocation exponents, where the closed form gives them
        if key in full:
            out[key] = law.estimate(np.broadcast_to(full[key], (len(law.thetas),)))
    return out


def loss_at_compute(law: Law, compute: float, k: float = FLOPS_PER_TOKEN_PARAM):
    """The predicted loss at a compute budget: on the compute-optimal frontier for a law in N and D,
    or the law itself for a one-input law fitted against compute."""
    _need_loss_law(law)
    c = _check_compute(compute)
    if law.family.is_two_input:
        return law.estimate(_optimum_rows(law, c, k)["loss"])
    _need_compute_axis(law)
    return law.estimate(law.predict(x=np.array([c]))[:, 0])


def _need_compute_axis(law: Law) -> None:
    if law.x != "compute":
        raise FitError(f"this {law.family.label} law is fitted against `{law.x}`, not compute, so it says nothing "
                       "about a compute budget; fit it against compute, or fit a law in N and D")


@dataclass(frozen=True, eq=False)
class TradeOff:
    """Loss along the iso-FLOP line ``D = C/(kN)``: the point curve and its percentile band."""

    compute: float
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    optimum: dict
    interval: str


def tradeoff(law: Law, compute: float, params=None, *, n_points: int = 161, span: float = 30.0,
             k: float = FLOPS_PER_TOKEN_PARAM) -> TradeOff:
    """Predicted loss against N along ``D = C/(kN)`` (default grid: N*/span ... N*·span)."""
    _need_loss_law(law)
    _need_two_inputs(law, "The trade-off between model size and tokens")
    c = _check_compute(compute)
    opt = compute_optimal(law, c, k)
    if params is None:
        n_star = opt["params"].value
        params = np.geomspace(n_star / span, n_star * span, n_points)
    params = np.asarray(params, float)
    tokens = c / (k * params)
    curves = law.predict(params=params, tokens=tokens)  # (M, m)
    if law.has_interval:
        level = law.confidence_level
        lower, upper = percentile_interval(curves[1:], level)
    else:
        lower = upper = np.full(params.shape, np.nan)
    return TradeOff(c, params, tokens, curves[0], lower, upper, opt, law.interval)


def off_optimum(law: Law, compute: float, params: float, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """What choosing model size ``params`` (with ``D = C/(kN)``) instead of N* costs.

    ``loss_penalty`` = L(N, C/(kN)) - L*(C); ``compute_needed`` = the least compute with which the
    optimum reaches that same loss; ``wasted_compute`` = C - compute_needed (>= 0) and
    ``wasted_fraction`` = wasted / C. Each per sample, so each with its interval.
    """
    _need_loss_law(law)
    _need_two_inputs(law, "The loss penalty of another model size")
    c = _check_compute(compute)
    n = _positive("params", params, "model size")
    d = c / (k * n)
    loss = law.predict(params=np.array([n]), tokens=np.array([d]))[:, 0]
    best = _optimum_rows(law, c, k)
    needed = _least_compute_rows(law, loss, k)["compute"]
    wasted = np.clip(c - needed, 0.0, None)
    wasted[wasted < 1e-9 * c] = 0.0  # at N* itself the two routes to C differ by rounding only
    penalty = loss - best["loss"]
    penalty[np.abs(penalty) < 1e-12 * np.abs(loss)] = 0.0
    return {
        "params": law.constant(n),
        "tokens": law.constant(d),
        "tokens_per_param": law.constant(d / n),
        "loss": law.estimate(loss),
        "loss_opt": law.estimate(best["loss"]),
        "loss_penalty": law.estimate(penalty),
        "compute_needed": law.estimate(np.minimum(needed, c)),
        "wasted_compute": law.estimate(wasted),
        "wasted_fraction": law.estimate(wasted / c),
    }


def compute_for_loss(law: Law, target_loss: float, k: float = FLOPS_PER_TOKEN_PARAM, *,
                     hardware: Hardware | None = None) -> dict:
    """The least training compute that reaches ``target_loss``, with the N and D that do it.

    Raises :class:`FitError` when the target is at or below the law's irreducible loss (E, or the
    floor of a one-input law): no compute reaches it. Samples whose own floor is above the target
    need unbounded compute, which makes the interval's high end infinite; ``unreachable_fraction``
    (a float, the only entry that is not an Estimate) says how many. A one-input law against
    compute gives the compute only. With ``hardware``: accelerator-hours, days and cost too.
    """
    _need_loss_law(law)
    target = _positive("target_loss", target_loss, "the loss to reach")
    floor = _floor_rows(law)
    if target <= floor[0]:
        raise FitError(_below_floor_message(law, target, floor))
    if law.family.is_two_input:
        rows = _least_compute_rows(law, target, k)
        out = {"compute": law.estimate(rows["compute"]), **_with_ratio(law, rows)}
    else:
        _need_compute_axis(law)
        out = {"compute": law.estimate(_one_input_inverse(law, target))}
    if hardware is not None:
        compute = rows["compute"] if law.family.is_two_input else _one_input_inverse(law, target)
        out["accelerator_hours"] = law.estimate(hardware.accelerator_hours(compute))
        out["days"] = law.estimate(hardware.days(compute))
        if hardware.price_per_hour is not None:
            out["cost"] = law.estimate(hardware.cost(compute))
    out["unreachable_fraction"] = float(np.mean(~(target > floor[1:]))) if law.n_samples else 0.0
    return out


def _below_floor_message(law: Law, target: float, floor: np.ndarray) -> str:
    fam = law.family
    name = "E" if "E" in fam.param_names else "the floor"
    est = law.estimate(floor)
    shown = (format_estimate(est.value, est.low, est.high) + f" ({law.interval})") if law.has_interval and \
        math.isfinite(est.low) else format_number(est.value)
    hint = "" if law.citation else (", or check the fit: an irreducible loss that looks too high often means "
                                    "too few large runs")
    return (f"the target loss {target:g} is at or below the irreducible loss {name} = {shown} that this "
            f"{fam.label} law approaches with unlimited compute, so no budget reaches it. Choose a target above "
            f"{format_number(est.value)} (losses just above it already need enormous compute){hint}")


def _one_input_inverse(law: Law, target: float) -> np.ndarray:
    """x (compute) at which a falling one-input law reaches ``target``, per row (+inf if never)."""
    fam = law.family
    z = fam.to_internal(law.thetas)
    M = len(law.thetas)

    def value(log_x):
        with np.errstate(all="ignore"):
            f, _ = fam.evaluate(z, {"x": np.exp(log_x)[:, None]}, jac=False)
        f = f[:, 0]
        return np.exp(f) if fam.space == "log" else f

    lo, hi = np.zeros(M), np.full(M, optimum.LOG_HUGE)
    reachable = value(hi) < target
    for _ in range(optimum.BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = value(mid) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(reachable, np.exp(hi), np.inf)


def inference_optimal(law: Law, compute: float, inference_tokens: float, k: float = FLOPS_PER_TOKEN_PARAM,
                      k_inf: float = INFERENCE_FLOPS_PER_TOKEN_PARAM) -> dict:
    """Inference-aware sizing (Sardana et al. 2023, "Beyond Chinchilla-Optimal").

    The model that reaches the same loss as the compute-optimal plan for ``compute`` while
    minimising training plus lifetime inference FLOPs ``k N D + k_inf N T_inf``: smaller than N*
    and trained on more tokens when ``inference_tokens`` > 0, equal to the compute-optimal plan at
    0. Per sample (each sample keeps its own compute-optimal loss), so every answer has an interval.
    ``saving`` is the compute-optimal plan's total minus this plan's (>= 0).
    """
    _need_loss_law(law)
    _need_two_inputs(law, "Inference-aware sizing")
    c = _check_compute(compute)
    T = float(inference_tokens)
    if not (math.isfinite(T) and T >= 0):
        raise DataError(f"`inference_tokens` must be a non-negative number of tokens; got {inference_tokens!r}")
    best = _optimum_rows(law, c, k)
    if T == 0:
        rows = {"params": best["params"], "tokens": best["tokens"], "training": np.full(len(law.thetas), c),
                "inference": np.zeros(len(law.thetas))}
        rows["total"] = rows["training"]
    else:
        rows = optimum.least_cost(law.family, law.thetas, best["loss"], T, k, k_inf)
    co_total = c + k_inf * best["params"] * T
    saving = np.clip(co_total - rows["total"], 0.0, None)
    out = _with_ratio(law, rows)
    out.update({
        "loss": law.estimate(best["loss"]),
        "training_compute": law.estimate(rows["training"]),
        "inference_compute": law.estimate(rows["inference"]),
        "total_compute": law.estimate(rows["total"]),
        "optimal_params": law.estimate(best["params"]),
        "optimal_total_compute": law.estimate(co_total),
        "saving": law.estimate(saving),
        "saving_fraction": law.estimate(saving / co_total),
    })
    return out


#: Muennighoff et al. (2023), "Scaling Data-Constrained Language Models" (NeurIPS 2023): the fitted
#: decay constant of the value of repeated tokens, R_D* ~ 15.4 (eq. 5; repeated data loses value
#: with a half-life of about 15.4 ln 2 ~ 11 repetitions, and beyond ~16 epochs adds little).
MUENNIGHOFF_R_D = 15.4
#: The same paper's decay constant of excess parameters, R_N* ~ 5.3 (eq. 6): parameters beyond
#: U_N, the compute-optimal size for the unique tokens, lose value faster than repeated tokens do.
#: Both as the paper quotes them, rounded (R_D* ~ 15.4, R_N* ~ 5.3); pass others to the functions below.
MUENNIGHOFF_R_N = 5.3


def effective_tokens(tokens, unique_tokens, r_d_star: float = MUENNIGHOFF_R_D):
    """Muennighoff et al. (2023), eq. 5: ``D' = U + U R_D* (1 - exp(-R_D / R_D*))`` with
    ``R_D = D/U - 1`` repetitions; ``D' = D`` when ``D <= U`` (no repetition)."""
    d = np.asarray(tokens, float)
    u = float(unique_tokens)
    with np.errstate(all="ignore"):
        repeats = d / u - 1.0
        out = np.where(repeats > 0, u + u * r_d_star * (1.0 - np.exp(-repeats / r_d_star)), d)
    return float(out) if out.ndim == 0 else out


def effective_params(params, unique_params, r_n_star: float = MUENNIGHOFF_R_N):
    """Muennighoff et al. (2023), eq. 6: ``N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*))`` with
    ``R_N = N/U_N - 1`` excess parameters; ``N' = N`` when ``N <= U_N``. Vectorised like
    :func:`effective_tokens` (``unique_params`` may be an array too)."""
    n = np.asarray(params, float)
    u = np.asarray(unique_params, float)
    with np.errstate(all="ignore"):
        excess = n / u - 1.0
        out = np.where(excess > 0, u + u * r_n_star * (1.0 - np.exp(-excess / r_n_star)), n)
    return float(out) if out.ndim == 0 else out


#: The data-constrained optimum searches N within this factor of the unconstrained N* (either side).
DC_SPAN = 1e4


def _unique_params_rows(law: Law, unique_tokens: float, k: float) -> np.ndarray:
    """U_N of Muennighoff et al. per row: the compute-optimal model size whose D* is ``unique_tokens``."""
    fam, thetas = law.family, law.thetas
    c_u = optimum.budget_for(fam, thetas, "tokens", np.array([float(unique_tokens)]), k)[:, 0]
    return np.broadcast_to(np.asarray(optimum.compute_optimum(fam, thetas, c_u, k)["params"], float),
                           (len(thetas),)).copy()


def _repeated_log_loss(law: Law, log_n: np.ndarray, c: float, u: float, u_n: np.ndarray, k: float,
                       r_d_star: float, r_n_star: float) -> np.ndarray:
    """log L(N', D') per row at model sizes ``exp(log_n)`` (M, m) trained on ``D = C/(kN)`` tokens
    drawn from ``u`` unique tokens (``u_n`` (M,): each row's unique parameters)."""
    n = np.exp(log_n)
    d = c / (k * n)
    n_eff = effective_params(n, u_n[:, None], r_n_star)
    d_eff = effective_tokens(d, u, r_d_star)
    with np.errstate(all="ignore"):
        return optimum.log_model(law.family, law.thetas, np.log(n_eff), np.log(d_eff))


def data_constrained_optimal(law: Law, compute: float, unique_tokens: float, k: float = FLOPS_PER_TOKEN_PARAM, *,
                             r_d_star: float = MUENNIGHOFF_R_D, r_n_star: float = MUENNIGHOFF_R_N) -> dict:
    """The compute-optimal N and D when only ``unique_tokens`` (U) distinct tokens exist
    (Muennighoff et al. 2023, section 5), for every row of the law at once.

    Training on ``D = C/(kN)`` tokens repeats the data ``R_D = D/U - 1`` times; the law is evaluated
    at the effective data ``D'`` (:func:`effective_tokens`) and effective parameters ``N'``
    (:func:`effective_params`, with ``U_N`` the law's compute-optimal size for U tokens, i.e. N* at
    the budget whose D* is U), and ``L(N', D')`` is minimised over N along ``k N D = C`` (a grid of
    :data:`optimum.GRID_POINTS` over N*/DC_SPAN ... N*·DC_SPAN, then golden-section steps,
    vectorised over the rows as :func:`scalecore.optimum.numerical_optimum`).

    A row whose unconstrained D* is at most U needs no repetition: its answer is the unconstrained
    optimum exactly (L(N', D') >= L(N, D) everywhere, with equality there).

    Returns Estimates: ``params``, ``tokens``, ``tokens_per_param``, ``epochs`` (D/U), ``loss``
    (with repetition), ``effective_params``, ``effective_tokens``, ``unique_params`` (U_N), and for
    comparison ``naive_loss`` (the unconstrained N*, D* trained on repeated data), ``fresh_loss``
    (the unconstrained loss with unlimited data), ``naive_params``, ``naive_epochs`` and ``gain``
    (naive_loss - loss, >= 0).
    """
    _need_loss_law(law)
    _need_two_inputs(law, "Data-constrained planning")
    c = _check_compute(compute)
    u = _positive("unique_tokens", unique_tokens, "unique tokens available")
    for name, v in (("r_d_star", r_d_star), ("r_n_star", r_n_star)):
        _positive(name, v, "a decay constant of Muennighoff et al.")
    thetas = law.thetas
    M = len(thetas)
    best = _optimum_rows(law, c, k)
    u_n = _unique_params_rows(law, u, k)
    log_star = np.log(best["params"])
    span = math.log(DC_SPAN)
    grid = np.linspace(-span, span, optimum.GRID_POINTS)

    def fn(x):  # (M, m) offsets from each row's log N*
        f = _repeated_log_loss(law, log_star[:, None] + x, c, u, u_n, k, r_d_star, r_n_star)
        return np.where(np.isnan(f), np.inf, f)

    x = optimum._row_minimum(fn, grid, optimum.GOLDEN_STEPS, M)
    n = np.exp(log_star + x)
    free = best["tokens"] <= u  # no repetition at the unconstrained optimum: that optimum is exact
    n = np.where(free, best["params"], n)
    d = c / (k * n)
    d = np.where(free, best["tokens"], d)
    loss = np.exp(_repeated_log_loss(law, np.log(n)[:, None], c, u, u_n, k, r_d_star, r_n_star)[:, 0])
    loss = np.where(free, best["loss"], loss)
    naive = np.exp(_repeated_log_loss(law, np.log(best["params"])[:, None], c, u, u_n, k, r_d_star, r_n_star)[:, 0])
    gain = np.clip(naive - loss, 0.0, None)
    gain[gain < 1e-12 * np.abs(loss)] = 0.0
    with np.errstate(all="ignore"):
        ratio = d / n
    return {
        "params": law.estimate(n), "tokens": law.estimate(d), "tokens_per_param": law.estimate(ratio),
        "epochs": law.estimate(d / u), "loss": law.estimate(loss),
        "effective_params": law.estimate(effective_params(n, u_n, r_n_star)),
        "effective_tokens": law.estimate(effective_tokens(d, u, r_d_star)),
        "unique_params": law.estimate(u_n),
        "naive_params": law.estimate(best["params"]), "naive_epochs": law.estimate(best["tokens"] / u),
        "naive_loss": law.estimate(naive), "fresh_loss": law.estimate(best["loss"]), "gain": law.estimate(gain),
    }


def data_limit(law: Law, params, tokens, unique_tokens: float, *, data_constrained: bool = False,
               k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """Epochs over ``unique_tokens`` for a plan with ``params``, ``tokens`` (scalars or per row).

    Returns ``epochs`` (an Estimate), ``repeats`` (True when the point plan needs more tokens than
    are available), ``warning`` (text or None) and, with ``data_constrained``, the loss with
    repeated data from the effective-data form of Muennighoff et al. (2023): ``loss_repeated``,
    ``effective_tokens``, ``effective_params`` (N' with U_N the compute-optimal size for the unique
    tokens, eq. 6) and ``loss_increase`` over the loss with fresh tokens. This allocation is not
    re-optimised: :func:`data_constrained_optimal` does that.
    """
    _need_two_inputs(law, "A data limit")
    u = _positive("unique_tokens", unique_tokens, "unique tokens available")
    M = len(law.thetas)
    n = np.broadcast_to(np.asarray(params, float), (M,))
    d = np.broadcast_to(np.asarray(tokens, float), (M,))
    epochs = d / u
    out: dict = {"epochs": law.estimate(epochs), "repeats": bool(epochs[0] > 1), "warning": None}
    if epochs[0] > 1:
        out["warning"] = (f"the plan trains on {format_value(epochs[0], digits=3)} epochs of the "
                          f"{format_value(u, 'count', 3)} unique tokens available: "
                          f"{format_value(d[0], 'count', 3)} tokens are needed. Repeating up to about 4 epochs "
                          "costs little; beyond that each repetition is worth less (Muennighoff et al. 2023). Find "
                          "more data or plan a smaller budget, or re-plan for repeated data (N and D re-optimised: "
                          "usually a smaller model trained for more epochs).")
    if data_constrained:
        d_eff = effective_tokens(d, u)
        n_eff = effective_params(n, _unique_params_rows(law, u, k))
        fresh = _value_rows(law, n, d)
        repeated = _value_rows(law, n_eff, d_eff)
        out.update({"effective_tokens": law.estimate(d_eff), "effective_params": law.estimate(n_eff),
                    "loss_repeated": law.estimate(repeated),
                    "loss_increase": law.estimate(repeated - fresh)})
    return out



@dataclass(frozen=True, eq=False)
class Plan:
    """Everything the budget page shows for one budget, as Estimates with one interval kind."""

    law: Law
    compute: float
    answers: dict
    inputs: dict
    warnings: tuple[str, ...]
    k: float = FLOPS_PER_TOKEN_PARAM

    def to_scenario(self, name: str) -> Scenario:
        return Scenario(name=str(name), inputs=dict(self.inputs), answers=dict(self.answers),
                        interval=self.law.interval, warnings=self.warnings)

    def to_dict(self) -> dict:
        return self.to_scenario("plan").to_dict()


def plan(law: Law, compute: float, *, hardware: Hardware | None = None, unique_tokens: float | None = None,
         inference_tokens: float | None = None, data_constrained: bool = False,
         k: float = FLOPS_PER_TOKEN_PARAM) -> Plan:
    """The compute-optimal plan at ``compute`` with its cost, data limit and inference-aware
    alternative (each only when its input is given). Answers are named as in :data:`ANSWER_LABELS`.

    A one-input law against compute gives the loss (and cost) only, with a warning saying why N and
    D need a law in both.
    """
    _need_loss_law(law)
    c = _check_compute(compute)
    answers: dict = {"compute": law.constant(c)}
    warnings: list[str] = []
    if law.family.is_two_input:
        opt = compute_optimal(law, c, k)
        answers.update({"params_opt": opt["params"], "tokens_opt": opt["tokens"],
                        "tokens_per_param": opt["tokens_per_param"], "loss": opt["loss"]})
    else:
        answers["loss"] = loss_at_compute(law, c, k)
        warnings.append(f"Only the loss at this budget: {WHY_TWO_INPUTS}")
    if hardware is not None:
        answers["accelerator_hours"] = law.constant(hardware.accelerator_hours(c))
        answers["days"] = law.constant(hardware.days(c))
        if hardware.price_per_hour is not None:
            answers["cost"] = law.constant(hardware.cost(c))
    if unique_tokens is not None and law.family.is_two_input:
        rows = _optimum_rows(law, c, k)
        lim = data_limit(law, rows["params"], rows["tokens"], unique_tokens, data_constrained=data_constrained, k=k)
        answers["epochs"] = lim["epochs"]
        if data_constrained:
            answers["loss_repeated"] = lim["loss_repeated"]
            dc = data_constrained_optimal(law, c, unique_tokens, k)
            answers.update({f"dc_{key}": dc[key] for key in ("params", "tokens", "tokens_per_param", "epochs",
                                                              "loss", "gain")})
        if lim["warning"]:
            warnings.append(lim["warning"][0].upper() + lim["warning"][1:])
    if inference_tokens is not None and inference_tokens > 0 and law.family.is_two_input:
        inf = inference_optimal(law, c, inference_tokens, k)
        answers.update({
            "inference_params": inf["params"], "inference_tokens_train": inf["tokens"],
            "inference_tokens_per_param": inf["tokens_per_param"],
            "inference_training_compute": inf["training_compute"],
            "inference_total_compute": inf["total_compute"], "optimal_total_compute": inf["optimal_total_compute"],
            "inference_saving": inf["saving"], "inference_saving_fraction": inf["saving_fraction"],
        })
    inputs = {
        "law": law.to_dict(),
        "compute": c,
        "hardware": hardware.to_dict() if hardware is not None else None,
        "unique_tokens": None if unique_tokens is None else float(unique_tokens),
        "inference_tokens": None if inference_tokens is None else float(inference_tokens),
        "data_constrained": bool(data_constrained),
        "flops_per_token_param": k,
    }
    return Plan(law, c, answers, inputs, tuple(warnings), k)


# ============================================================================ Approach 2 beside Approach 3


@dataclass(frozen=True, eq=False)
class ApproachPlans:
    """N* and D* at one budget from Approach 2 (an IsoFLOP frontier) and Approach 3 (a law in N and
    D, through :func:`compute_optimal`), the ratio of the two N* and whether their intervals overlap."""

    compute: float
    approach2: dict  # {"params", "tokens"}: Estimates from IsoFlopResult.compute_optimal
    approach3: dict  # {"params", "tokens", "loss"}: Estimates from compute_optimal(law)
    ratio: Estimate  # N*_2 / N*_3: resamples paired by index when both have them
    overlap: bool | None  # None when either side has no interval
    sentence: str
    interval2: str
    interval3: str
    source3: str

    def __repr__(self) -> str:
        return f"ApproachPlans({self.sentence})"

    def table(self):
        """One row per quantity, the two approaches side by side (formatted through format_estimate)."""
        import pandas as pd

        rows = [{"quantity": label, "Approach 2 (IsoFLOP frontier)": format_estimate(self.approach2[key], kind="count"),
                 "Approach 3 (law in N and D)": format_estimate(self.approach3[key], kind="count")}
                for key, label in (("params", "model size N*"), ("tokens", "tokens D*"))]
        rows.append({"quantity": "N* of Approach 2 / N* of Approach 3",
                     "Approach 2 (IsoFLOP frontier)": format_estimate(self.ratio), "Approach 3 (law in N and D)": ""})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        def e(x: Estimate) -> dict:
            return {"value": x.value, "low": x.low, "high": x.high}

        return {"compute": self.compute, "approach2": {k: e(v) for k, v in self.approach2.items()},
                "approach3": {k: e(v) for k, v in self.approach3.items()}, "ratio": e(self.ratio),
                "overlap": self.overlap, "sentence": self.sentence, "interval2": self.interval2,
                "interval3": self.interval3, "source3": self.source3}


def _has_interval(e: Estimate) -> bool:
    return math.isfinite(e.low) and math.isfinite(e.high)


def compare_approaches(law: Law, iso, compute: float) -> ApproachPlans:
    """Plan ``compute`` from Approach 2 (``iso``, a :class:`scalecore.isoflop.IsoFlopResult`: its
    fitted ``N* = k_N C^a`` with bootstrap) and from Approach 3 (``law``, through
    :func:`compute_optimal`, the one frontier routine), and say where they disagree.

    Both use the IsoFLOP result's FLOPs per token-parameter ``k``, so the two D* lie on the same
    line ``C = k N D``. The ratio's interval pairs resample i of one with resample i of the other
    (the bootstraps are independent); without samples on either side it is the point ratio only
    and ``overlap`` is None. (:func:`scalecore.isoflop.compare_with_approach3` compares the
    exponents of two bootstraps; this compares the plans at one budget, from any law -- a preset
    or typed constants included -- and keeps the law's own N* interval, all of its samples.)
    """
    _need_loss_law(law)
    _need_two_inputs(law, "Approach 3's plan")
    c = _check_compute(compute)
    k = float(iso.k)
    a2 = iso.compute_optimal(c)
    a3 = compute_optimal(law, c, k)
    a3 = {key: a3[key] for key in ("params", "tokens", "loss")}
    good = iso.samples[~iso.failed]
    n2_s = np.exp(good[:, 1] + good[:, 0] * math.log(c))
    n3_all = _optimum_rows(law, c, k)["params"]
    m = min(len(n2_s), law.n_samples)
    ratio_point = a2["params"].value / a3["params"].value
    if m >= 2:
        ratio = estimate_of(ratio_point, n2_s[:m] / n3_all[1:m + 1], iso.confidence_level)
    else:
        ratio = Estimate(ratio_point, math.nan, math.nan, math.nan)
    n2, n3 = a2["params"], a3["params"]
    overlap = (bool(n2.low <= n3.high and n3.low <= n2.high) if _has_interval(n2) and _has_interval(n3) else None)
    factor = max(ratio_point, 1.0 / ratio_point)
    where = f"in N* at {format_value(c, 'flops', digits=2)} FLOPs"
    if overlap is None:
        missing = "Approach 3" if not _has_interval(n3) else "Approach 2"
        tail = f"{missing} has no interval" + (f" ({law.interval.removeprefix('no interval: ')})"
                                               if missing == "Approach 3" else "")
    else:
        tail = "their intervals overlap" if overlap else "their intervals do not overlap"
        if overlap and _has_interval(ratio) and not (ratio.low <= 1.0 <= ratio.high):
            tail += f", but the interval of the ratio N*₂/N*₃, {format_estimate(ratio)}, excludes 1"
    within = bool(overlap) and _has_interval(ratio) and ratio.low <= 1.0 <= ratio.high
    if within and factor < 1.05:  # "differ by 1.0x" read as a disagreement where the two agree
        sentence = (f"Approach 2 and 3 agree {where} within their intervals: the ratio N*₂/N*₃ is "
                    f"{format_estimate(ratio)}.")
    else:
        lead = ("Approach 2 and 3 agree " + where if factor < 1.005 else
                f"Approach 2 and 3 differ by {format_value(factor, digits=2)}x {where}")
        larger = "" if factor < 1.005 else f" (Approach {2 if ratio_point > 1 else 3} gives the larger model)"
        sentence = f"{lead}{larger}; {tail}."
    return ApproachPlans(c, a2, a3, ratio, overlap, sentence, iso.interval_label, law.interval, law.source)

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
from ..formatting import format_estimate, format_number
from ..optimum import FLOPS_PER_TOKEN_PARAM, INFERENCE_FLOPS_PER_TOKEN_PARAM
from ..stats import percentile_interval
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


def effective_tokens(tokens, unique_tokens, r_d_star: float = MUENNIGHOFF_R_D):
    """Muennighoff et al. (2023), eq. 5: ``D' = U + U R_D* (1 - exp(-R_D / R_D*))`` with
    ``R_D = D/U - 1`` repetitions; ``D' = D`` when ``D <= U`` (no repetition)."""
    d = np.asarray(tokens, float)
    u = float(unique_tokens)
    with np.errstate(all="ignore"):
        repeats = d / u - 1.0
        out = np.where(repeats > 0, u + u * r_d_star * (1.0 - np.exp(-repeats / r_d_star)), d)
    return float(out) if out.ndim == 0 else out


def data_limit(law: Law, params, tokens, unique_tokens: float, *, data_constrained: bool = False) -> dict:
    """Epochs over ``unique_tokens`` for a plan with ``params``, ``tokens`` (scalars or per row).

    Returns ``epochs`` (an Estimate), ``repeats`` (True when the point plan needs more tokens than
    are available), ``warning`` (text or None) and, with ``data_constrained``, the loss with
    repeated data from the effective-data form of Muennighoff et al. (2023): ``loss_repeated``,
    ``effective_tokens`` and ``loss_increase`` over the loss with fresh tokens. The allocation itself
    is not re-optimised for repetition.
    """
    _need_two_inputs(law, "A data limit")
    u = _positive("unique_tokens", unique_tokens, "unique tokens available")
    M = len(law.thetas)
    n = np.broadcast_to(np.asarray(params, float), (M,))
    d = np.broadcast_to(np.asarray(tokens, float), (M,))
    epochs = d / u
    out: dict = {"epochs": law.estimate(epochs), "repeats": bool(epochs[0] > 1), "warning": None}
    if epochs[0] > 1:
        out["warning"] = (f"the plan trains on {epochs[0]:.3g} epochs of the {u:.3g} unique tokens available: "
                          f"{d[0]:.3g} tokens are needed. Repeating up to about 4 epochs costs little; beyond that "
                          "each repetition is worth less (Muennighoff et al. 2023). Find more data, or plan a "
                          "smaller budget or a larger model.")
    if data_constrained:
        d_eff = effective_tokens(d, u)
        fresh = _value_rows(law, n, d)
        repeated = _value_rows(law, n, d_eff)
        out.update({"effective_tokens": law.estimate(d_eff), "loss_repeated": law.estimate(repeated),
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
        lim = data_limit(law, rows["params"], rows["tokens"], unique_tokens, data_constrained=data_constrained)
        answers["epochs"] = lim["epochs"]
        if data_constrained:
            answers["loss_repeated"] = lim["loss_repeated"]
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

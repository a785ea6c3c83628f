"""Budgets from a fitted law: compute-optimal N and D, loss, cost, the inverse, trade-offs.

Everything here is vectorised over parameter samples, so the same call gives the point answer
(from the best fit) and its bootstrap distribution (from the resamples). A :class:`Law` carries
both: row 0 of ``Law.thetas`` is the point fit, the other rows are bootstrap samples, and every
answer is an :class:`~scalecore.uncertainty.Estimate` (point value and percentile interval).

The package, by job (this module re-exports every public name, so ``budget.X`` keeps working):

- :mod:`.law` -- :class:`Law`, a family and its parameter samples, from a bootstrap, a published
  preset (:data:`PRESETS`) or text the user typed (:func:`parse_law`, strict; never evaluated).
- :mod:`.hardware` -- :class:`Hardware` and :data:`ACCELERATORS`: accelerators x days x MFU ->
  FLOPs, and FLOPs -> accelerator-hours, days and cost.
- :mod:`.planning` -- :func:`compute_optimal` (N*, D*, tokens per parameter and loss at a budget),
  :func:`tradeoff` and :func:`off_optimum` (loss along ``D = C/(kN)``; the cost of another N),
  :func:`compute_for_loss` (the least compute reaching a loss), :func:`inference_optimal` (Sardana
  et al. 2023), :func:`data_limit` (epochs; Muennighoff et al. 2023),
  :func:`data_constrained_optimal` (N and D re-optimised under a unique-token limit, Muennighoff et
  al.'s effective data and parameters), :func:`compare_approaches` (the plan from an IsoFLOP frontier,
  Approach 2, beside the law's, Approach 3) and :func:`plan`, all of it as one record.
- :mod:`.presentation` -- :class:`Scenario`, :func:`scenarios_table`, :func:`summary`,
  :func:`summary_text`, :func:`format_answer`: how a plan is shown and kept.

The frontier maths itself (closed forms, the numerical optimum, floors and inverses) lives in
:mod:`scalecore.optimum` and the families' hooks (:mod:`scalecore.families`).
"""

from ..errors import DataError, FitError
from ..families import chinchilla_exponents, chinchilla_optimum, kaplan_optimum
from ..optimum import (FLOPS_PER_TOKEN_PARAM, INFERENCE_FLOPS_PER_TOKEN_PARAM, compute_optimum, next_decade, tokens_for,
                       training_compute)
from .hardware import ACCELERATORS, SECONDS_PER_DAY, Accelerator, Hardware
from .law import (EXAMPLE_LAWS, NO_INTERVAL, PRESETS, PUBLISHED_SAMPLING, WHY_TWO_INPUTS, Law, Preset, example_law,
                  parse_law)
from .planning import (MUENNIGHOFF_R_D, MUENNIGHOFF_R_N, ApproachPlans, Plan, TradeOff, compare_approaches,
                       compute_for_loss, compute_optimal, data_constrained_optimal, data_limit, effective_params,
                       effective_tokens, inference_optimal, loss_at_compute, off_optimum, plan, tradeoff)
from .presentation import (ANSWER_KINDS, ANSWER_LABELS, INVERSE_LABELS, Scenario, format_answer,
                           scenarios_csv, scenarios_table, summary, summary_text)


def iso_flop_optimum(family, theta, compute, k: float = FLOPS_PER_TOKEN_PARAM, n_range=(1e3, 1e16)) -> dict:
    """Numerical compute-optimal allocation for every row of ``theta`` (atleast 2-D): ``compute`` a
    scalar or one budget per row. :func:`scalecore.optimum.numerical_optimum` row by row (kept for
    callers of the old name; used to check the closed forms in tests)."""
    import numpy as np

    from ..optimum import numerical_optimum

    theta = np.atleast_2d(np.asarray(theta, float))
    c = np.asarray(compute, float)
    c = c if c.ndim == 0 else np.broadcast_to(c.ravel(), (len(theta),))
    return numerical_optimum(family, theta, c, k, n_range)


__all__ = [
    "next_decade",
    "tokens_for",
    "training_compute",
    "ACCELERATORS", "ANSWER_KINDS", "ANSWER_LABELS", "Accelerator", "DataError", "EXAMPLE_LAWS", "FitError",
    "FLOPS_PER_TOKEN_PARAM", "Hardware", "INFERENCE_FLOPS_PER_TOKEN_PARAM", "INVERSE_LABELS", "Law",
    "MUENNIGHOFF_R_D", "MUENNIGHOFF_R_N", "ApproachPlans", "compare_approaches", "data_constrained_optimal",
    "effective_params", "NO_INTERVAL", "PRESETS", "PUBLISHED_SAMPLING", "Plan", "Preset", "SECONDS_PER_DAY", "Scenario", "TradeOff",
    "WHY_TWO_INPUTS", "chinchilla_exponents", "chinchilla_optimum", "compute_for_loss", "compute_optimal",
    "compute_optimum", "data_limit", "effective_tokens", "example_law", "format_answer", "inference_optimal",
    "iso_flop_optimum", "kaplan_optimum", "loss_at_compute", "off_optimum", "parse_law", "plan", "scenarios_csv",
    "scenarios_table", "summary", "summary_text", "tradeoff",
]

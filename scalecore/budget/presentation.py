"""How plans are shown and kept: :class:`Scenario` (a saved plan), tables of scenarios, the plain
summary and the terminal text (:func:`summary_text`), with each answer's label and kind."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence


from ..formatting import format_estimate
from ..serialize import to_jsonable
from ..uncertainty import Estimate
from .law import NO_INTERVAL

if TYPE_CHECKING:
    from .planning import Plan

#: What each answer is, for tables and the CLI (answers without a unit are plain numbers).
ANSWER_LABELS = {
    "compute": "training compute (FLOPs)",
    "params_opt": "compute-optimal model size N*",
    "tokens_opt": "compute-optimal tokens D*",
    "tokens_per_param": "tokens per parameter D*/N*",
    "loss": "predicted loss",
    "accelerator_hours": "accelerator-hours",
    "days": "days on the cluster",
    "cost": "cost",
    "epochs": "epochs over the unique tokens",
    "loss_repeated": "loss of N*, D* with repeated data (Muennighoff et al. 2023)",
    "dc_params": "data-constrained model size N",
    "dc_tokens": "data-constrained training tokens D",
    "dc_tokens_per_param": "data-constrained tokens per parameter",
    "dc_epochs": "data-constrained epochs over the unique tokens",
    "dc_loss": "data-constrained loss (N and D re-optimised)",
    "dc_gain": "loss saved by re-optimising N and D",
    "inference_params": "inference-aware model size N",
    "inference_tokens_train": "inference-aware training tokens D",
    "inference_tokens_per_param": "inference-aware tokens per parameter",
    "inference_training_compute": "inference-aware training compute",
    "inference_total_compute": "inference-aware training + inference FLOPs",
    "optimal_total_compute": "compute-optimal training + inference FLOPs",
    "inference_saving": "FLOPs saved by inference-aware sizing",
    "inference_saving_fraction": "fraction of FLOPs saved",
}


@dataclass(frozen=True)
class Scenario:
    """A saved plan: its name, what it was computed from (plain types) and its answers."""

    name: str
    inputs: dict
    answers: dict  # {name: Estimate}
    interval: str = NO_INTERVAL
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain types only: inputs through serialize.to_jsonable (non-finite numbers as null); answers keep their floats (NaN where no interval), which Scenario.from_dict reads back."""
        return {
            "name": self.name,
            "inputs": to_jsonable(self.inputs),
            "answers": {k: {"value": e.value, "low": e.low, "high": e.high, "standard_error": e.standard_error,
                            "level": e.level} for k, e in self.answers.items()},
            "interval": self.interval,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Scenario:
        answers = {k: Estimate(*(float(math.nan if v.get(f) is None else v.get(f))
                                            for f in ("value", "low", "high", "standard_error", "level")))
                   for k, v in dict(d.get("answers", {})).items()}
        return cls(str(d["name"]), dict(d.get("inputs", {})), answers, str(d.get("interval", NO_INTERVAL)),
                   tuple(d.get("warnings", ())))


def scenarios_table(scenarios: Sequence[Scenario] | Iterable[Scenario]):
    """One row per scenario: name, law, budget, then each answer with its low and high."""
    import pandas as pd

    rows = []
    for s in scenarios:
        law = s.inputs.get("law") or {}
        hw = s.inputs.get("hardware") or {}
        row = {"scenario": s.name, "law": law.get("source", ""), "family": law.get("family", ""),
               "accelerator": hw.get("accelerator", ""), "count": hw.get("count"),
               "unique_tokens": s.inputs.get("unique_tokens"), "inference_tokens": s.inputs.get("inference_tokens")}
        for key, e in s.answers.items():
            row[key] = e.value
            if key != "compute":
                row[f"{key}_low"] = e.low
                row[f"{key}_high"] = e.high
        row["interval"] = s.interval
        rows.append(row)
    return pd.DataFrame(rows)


def scenarios_csv(scenarios) -> str:
    return scenarios_table(scenarios).to_csv(index=False)

# ============================================================================ output


def summary(plan_: Plan, inverse: Mapping | None = None, target_loss: float | None = None) -> dict:
    """A plan (and an inverse answer) as one plain dict: each answer's value at the top level, the
    intervals under ``ci`` (only when the law has samples), the law, warnings and inputs."""
    law = plan_.law
    out: dict = {key: e.value for key, e in plan_.answers.items()}
    if law.has_interval:
        out["ci"] = {key: [e.low, e.high] for key, e in plan_.answers.items()}
    out["interval"] = law.interval
    out["law"] = law.to_dict()
    out["inputs"] = {k: v for k, v in to_jsonable(plan_.inputs).items() if k != "law"}
    out["warnings"] = list(plan_.warnings)
    if inverse is not None:
        inv = {"target_loss": target_loss}
        inv.update({key: e.value for key, e in inverse.items() if key != "unreachable_fraction"})
        inv["unreachable_fraction"] = inverse.get("unreachable_fraction", 0.0)
        if law.has_interval:
            inv["ci"] = {key: [e.low, e.high] for key, e in inverse.items() if key != "unreachable_fraction"}
        out["inverse"] = inv
    return out


#: How each answer is written: counts with K/M/B/T suffixes, FLOPs in scientific notation, money,
#: fractions as percentages, the rest as plain numbers.
ANSWER_KINDS = {
    "compute": "flops", "params_opt": "count", "tokens_opt": "count", "params": "count", "tokens": "count",
    "accelerator_hours": "count", "cost": "money", "inference_params": "count", "inference_tokens_train": "count",
    "inference_training_compute": "flops", "inference_total_compute": "flops", "optimal_total_compute": "flops",
    "inference_saving": "flops", "inference_saving_fraction": "fraction", "wasted_compute": "flops",
    "compute_needed": "flops", "wasted_fraction": "fraction", "training_compute": "flops",
    "inference_compute": "flops", "total_compute": "flops", "optimal_params": "count", "saving": "flops",
    "saving_fraction": "fraction", "effective_tokens": "count", "effective_params": "count",
    "dc_params": "count", "dc_tokens": "count", "naive_params": "count", "unique_params": "count",
    "days": "days",
}


def format_answer(est, kind: str = "plain", digits: int = 4) -> str:
    """An Estimate as text in its kind (``"72B [65B, 130B]"``, ``"2.5e23 [2.3e23, 3.9e23]"``,
    ``"$1.8M"``, ``"20% [17%, 30%]"``): :func:`scalecore.formatting.format_estimate`, the one format."""
    return format_estimate(est, kind=kind, digits=digits)


def summary_text(plan_: Plan, inverse: Mapping | None = None, target_loss: float | None = None) -> str:
    """The plan as a fixed-width table for the terminal."""
    law = plan_.law
    lines = [f"law: {law.source}", "  " + ", ".join(f"{n}={v:.6g}" for n, v in law.params.items())]
    if law.citation:
        lines.append(f"  {law.citation}")
    lines += [f"intervals: {law.interval}", ""]
    width = max(len(ANSWER_LABELS.get(k, k)) for k in plan_.answers)
    for key, e in plan_.answers.items():
        lines.append(f"{ANSWER_LABELS.get(key, key):<{width}}  {format_answer(e, ANSWER_KINDS.get(key, 'plain'))}")
    if inverse is not None:
        lines += ["", f"to reach a loss of {target_loss:g}:"]
        w2 = max(len(INVERSE_LABELS.get(k, k)) for k in inverse)
        for key, e in inverse.items():
            if key == "unreachable_fraction":
                if e:
                    lines.append(f"  {e:.0%} of the resamples cannot reach it (their E is above the target)")
                continue
            lines.append(f"  {INVERSE_LABELS.get(key, key):<{w2}}  {format_answer(e, ANSWER_KINDS.get(key, 'plain'))}")
    lines += [f"warning: {w}" for w in plan_.warnings]
    return "\n".join(lines)


INVERSE_LABELS = {
    "compute": "least training compute (FLOPs)",
    "params": "model size N",
    "tokens": "training tokens D",
    "tokens_per_param": "tokens per parameter",
    "accelerator_hours": "accelerator-hours",
    "days": "days on the cluster",
    "cost": "cost",
}

"""Science the pages used to do themselves, moved out of ``views/`` and kept here only until it moves
into :mod:`scalecore` (issue 20: a view is spec -> cached call -> render). Each function says where
it came from and what it computes; none of them draws anything.
"""

from __future__ import annotations

import numpy as np

from scalecore import Estimate, comparison, diagnostics, downstream

#: The LaTeX of the Downstream page's step 2 (``scalecore.downstream.ACCURACY_FORMULA``, not public
#: API: the result or its family should carry it).
ACCURACY_FORMULA = downstream.ACCURACY_FORMULA

#: ΔAIC above which a family is "not supported by the runs" (from views/explore.py, which read
#: ``scalecore.diagnostics.UNSUPPORTED_DELTA_AIC``, not public API).
UNSUPPORTED_DELTA_AIC = diagnostics.UNSUPPORTED_DELTA_AIC


def unsupported(fits) -> list[str]:
    """The families whose ΔAIC against the best of ``fits`` is above :data:`UNSUPPORTED_DELTA_AIC`
    (from views/explore.py; ``scalecore.diagnostics.unsupported``, not public API)."""
    return diagnostics.unsupported(fits)


def next_decade(values) -> float:
    """The next power of ten at or above the largest finite value: the budget the Explore page's
    allocation table plans by default (from views/explore.py)."""
    return float(10 ** np.ceil(np.log10(np.nanmax(values))))


#: The pair of parameters the bootstrap scatter shows first, per family: the two that trade off.
#: Family knowledge (from views/explore.py): belongs on ``Family``.
_SCATTER_PAIRS = {"chinchilla": ("alpha", "beta"), "kaplan": ("alpha_N", "alpha_D"),
                  "offset_power_law": ("alpha", "E"), "power_law": ("alpha", "A"),
                  "broken_power_law": ("alpha", "c"), "logistic": ("log10_mid", "slope")}


def scatter_pair(family) -> tuple[str, str]:
    """The two parameters of ``family`` (a :class:`scalecore.Family`) the bootstrap scatter opens on
    (its first two for a family that names none)."""
    names = tuple(family.param_names)
    pair = _SCATTER_PAIRS.get(family.name, names[:2])
    return pair if all(p in names for p in pair) else names[:2]


def parameter_estimate(boot, name: str) -> Estimate:
    """One fitted parameter of a bootstrap result as an Estimate: best fit, percentile interval,
    standard error (from views/frontier.py; the bootstrap result should carry these)."""
    lo, hi = boot.confidence_interval[name]
    return Estimate(boot.fit.params[name], lo, hi, boot.standard_error[name])


def training_compute(params: float, tokens: float, k: float) -> float:
    """C = k·N·D (from views/downstream.py, where a target given as N and D is placed on the compute
    axis)."""
    return k * params * tokens


def tokens_for(compute: float, params: float, k: float) -> float:
    """D = C / (k·N): the tokens a model of ``params`` trains on with ``compute`` (from views/budget.py)."""
    return compute / (k * params)


def one_budget_each(runs, by: str, groups) -> bool:
    """Whether every chosen group has one compute budget only (e.g. grouped by IsoFLOP budget), so a
    law fitted to one group is poorly determined (from views/compare.py)."""
    if not runs.has("compute"):
        return False
    labels = comparison.group_labels(runs, by)
    c = runs.values("compute")
    return all(len(set(c[labels == g].tolist())) <= 1 for g in groups)

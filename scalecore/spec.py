"""What defines a fit and an analysis, as plain frozen values: :class:`FitSpec` and :class:`Settings`.

- :class:`FitSpec` -- which law is fitted to which columns of which runs, and how (family, x, y,
  excluded runs, loss, Huber delta). Hashable, so it is a cache key as it is; checked when made,
  so a wrong argument fails with a clear message before any data is read.
- :class:`Settings` -- everything an analysis is computed with beyond the data and the families:
  the fit settings (x, metric, loss, delta), the bootstrap's (resamples, confidence level, method,
  seed), the FLOPs factor k of C = k N D, the target and the downstream accuracy fit's delta. The
  one copy used by saved analyses (:mod:`scalecore.store`), the app's pages and links (``ui``) and
  the CLI, so that a saved link reproduces what was shown.

The data-dependent checks (a column exists, enough runs, positive values for a log) are made when
the spec meets the runs (:func:`scalecore.fitting.prepare`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

from .errors import FitError
from .families import FAMILIES, ONE_INPUT_AXES, Family, fix_parameters, get_family

LOSSES = ("huber", "ls")
METHODS = ("cases", "residuals", "groups")
#: Most resamples one bootstrap takes.
MAX_RESAMPLES = 100_000


class SpecError(FitError, ValueError):
    """An argument of a fit or of its settings is not valid (a :class:`FitError`, and a
    ``ValueError`` for callers that check arguments that way)."""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    import numbers

    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_loss(loss, delta) -> None:
    if loss not in LOSSES:
        raise SpecError(f"`loss` must be one of {', '.join(LOSSES)}; got {loss!r}")
    if not (_is_number(delta) and delta > 0):
        raise SpecError(f"`delta` must be a positive number; got {delta!r}")


def check_bootstrap(n_resamples, confidence_level, method, seed) -> None:
    """Raise :class:`SpecError` for bootstrap arguments that cannot be used."""
    if not _is_int(n_resamples) or n_resamples < 2:
        raise SpecError(f"`n_resamples` must be an integer of at least 2; got {n_resamples!r}")
    if n_resamples > MAX_RESAMPLES:
        raise SpecError(f"`n_resamples` must be at most {MAX_RESAMPLES}; got {n_resamples}")
    if not (_is_number(confidence_level) and 0 < confidence_level < 1):
        raise SpecError(f"`confidence_level` must be between 0 and 1 (e.g. 0.95); got {confidence_level!r}")
    if method not in METHODS:
        raise SpecError(f"`method` must be one of {', '.join(METHODS)}; got {method!r}")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise SpecError(f"`seed` must be a non-negative integer or None; got {seed!r}")


@dataclass(frozen=True)
class FitSpec:
    """One fit: ``family`` fitted to metric ``y`` against ``x``, without the runs ``exclude``,
    minimising the summed ``loss`` (Huber with threshold ``delta``, or least squares ``"ls"``).

    ``family`` is a name from :data:`scalecore.FAMILIES` (a registered :class:`Family` object is
    stored as its name, so equal specs hash equal). ``x`` is what a one-input family is fitted
    against (``"params"``, ``"tokens"`` or ``"compute"``; None: compute, else params, else tokens);
    a law in N and D takes no ``x`` (``"params"``/``"tokens"`` are accepted and mean the same, so
    they become None). ``y`` is the metric column (None: the runs' first metric). ``exclude`` is
    kept as a tuple of run ids, in order, without repeats. ``fixed`` holds parameters at given
    values (``{"E": 1.69}``; kept as sorted ``(name, value)`` pairs): the fit is of the family
    :func:`~scalecore.families.fix_parameters` derives, whose free parameters are the others.
    """

    family: Any
    x: str | None = None
    y: str | None = None
    exclude: tuple = ()
    loss: str = "huber"
    delta: float = 1e-3
    fixed: Any = ()

    def __post_init__(self) -> None:
        fam = get_family(self.family)  # FitError naming the valid families
        if isinstance(self.family, Family) and FAMILIES.get(fam.name) is fam:
            object.__setattr__(self, "family", fam.name)
        elif isinstance(self.family, str):
            object.__setattr__(self, "family", fam.name)
        x = self.x
        if fam.is_two_input:
            if x not in (None, "params", "tokens"):
                raise SpecError(f"the {fam.name} family is a law in N and D together; `x` does not apply (got {x!r})")
            x = None
        elif x is not None and x not in ONE_INPUT_AXES:
            raise SpecError(f"`x` must be one of {', '.join(ONE_INPUT_AXES)}; got {x!r}")
        object.__setattr__(self, "x", x)
        if self.y is not None and (not isinstance(self.y, str) or not self.y):
            raise SpecError(f"`y` must be the name of a metric column (or None for the first one); got {self.y!r}")
        if isinstance(self.exclude, (str, bytes)):
            raise SpecError(f"`exclude` must be a sequence of run ids, not one string; write ({self.exclude!r},)")
        try:
            exclude = tuple(dict.fromkeys(str(e) for e in (() if self.exclude is None else self.exclude)))
        except TypeError:
            raise SpecError(f"`exclude` must be a sequence of run ids; got {self.exclude!r}") from None
        object.__setattr__(self, "exclude", exclude)
        check_loss(self.loss, self.delta)
        object.__setattr__(self, "delta", float(self.delta))
        try:
            pairs = tuple(sorted((str(k), float(v)) for k, v in dict(self.fixed or ()).items()))
        except (TypeError, ValueError):
            raise SpecError(f"`fixed` must map parameter names to numbers, e.g. {{'E': 1.69}}; got {self.fixed!r}") from None
        object.__setattr__(self, "fixed", pairs)
        if pairs:
            try:
                fix_parameters(fam, dict(pairs))
            except FitError as exc:
                raise SpecError(str(exc)) from None

    @property
    def model(self) -> Family:
        """The :class:`Family` object (with the ``fixed`` parameters held, if any)."""
        return fix_parameters(get_family(self.family), dict(self.fixed))

    @classmethod
    def of(cls, family, *, x=None, y=None, exclude: Sequence[str] = (), loss: str = "huber",
           delta: float = 1e-3) -> "FitSpec":
        """``family`` if it is already a spec (then no other argument may differ from its
        default), else a spec of these arguments."""
        if isinstance(family, FitSpec):
            given = exclude is not None and len(tuple(exclude)) > 0
            if x is not None or y is not None or given or loss != "huber" or delta != 1e-3:
                raise SpecError("give either a FitSpec or the fit's arguments (x, y, exclude, loss, delta), not both")
            return family
        return cls(family, x=x, y=y, exclude=exclude, loss=loss, delta=delta)

    def to_dict(self) -> dict:
        d = {"family": self.model.name, "x": self.x, "y": self.y, "exclude": list(self.exclude),
             "loss": self.loss, "delta": self.delta}
        if self.fixed:
            d["fixed"] = dict(self.fixed)
        return d


@dataclass(frozen=True)
class Settings:
    """How the families of an analysis are fitted and bootstrapped, and where they are extrapolated.

    ``x`` and ``metric``: the fit's axis (one-input families) and metric column (None: the
    defaults). ``n_resamples``, ``confidence_level``, ``method``, ``seed``: the bootstrap.
    ``loss``, ``delta``: the objective. ``target``: the value the analysis predicts at (on ``x``),
    if any. ``flops_per_token_param``: k in C = k N D. ``accuracy_delta``: the Huber threshold of
    the downstream accuracy fit (accuracy points).

    Checked when made (:class:`SpecError`). :meth:`from_dict` reads every saved form (unknown keys
    are ignored, ``confidence`` is ``confidence_level``).
    """

    x: str | None = None
    metric: str | None = None
    n_resamples: int = 1000
    confidence_level: float = 0.95
    delta: float = 1e-3
    seed: int | None = 0
    method: str = "cases"
    loss: str = "huber"
    target: float | None = None
    flops_per_token_param: float = 6.0
    accuracy_delta: float = 0.02

    def __post_init__(self) -> None:
        check_bootstrap(self.n_resamples, self.confidence_level, self.method, self.seed)
        check_loss(self.loss, self.delta)
        if not (_is_number(self.accuracy_delta) and self.accuracy_delta > 0):
            raise SpecError(f"`accuracy_delta` must be a positive number; got {self.accuracy_delta!r}")
        if not (_is_number(self.flops_per_token_param) and self.flops_per_token_param > 0):
            raise SpecError(f"`flops_per_token_param` must be a positive number; got {self.flops_per_token_param!r}")
        if self.x is not None and self.x not in ONE_INPUT_AXES:
            raise SpecError(f"`x` must be one of {', '.join(ONE_INPUT_AXES)} or None; got {self.x!r}")

    # ---------------------------------------------------------------- plain types

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    as_dict = to_dict

    def items(self) -> tuple:
        """The fields as sorted (name, value) pairs: a cache key, and ``Settings(**dict(items))``."""
        return tuple(sorted(asdict(self).items()))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Settings":
        d = dict(d or {})
        if "confidence" in d and "confidence_level" not in d:  # the short name is accepted too
            d["confidence_level"] = d.pop("confidence")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    # ---------------------------------------------------------------- what they fit

    def spec(self, family, exclude: Sequence[str] = ()) -> FitSpec:
        """The :class:`FitSpec` of ``family`` under these settings (``x`` only for a one-input family)."""
        fam = get_family(family)
        return FitSpec(family, x=None if fam.is_two_input else self.x, y=self.metric, exclude=tuple(exclude),
                       loss=self.loss, delta=self.delta)

    @property
    def bootstrap_options(self) -> dict:
        """The keyword arguments of :meth:`FitResult.bootstrap <scalecore.fitting.FitResult.bootstrap>`."""
        return {"n_resamples": self.n_resamples, "seed": self.seed, "confidence_level": self.confidence_level,
                "method": self.method}

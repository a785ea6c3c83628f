"""A scaling law to plan with: a family and its parameter samples (:class:`Law`), the published
presets (:data:`PRESETS`) and strict parsing of typed constants (:func:`parse_law`; never evaluated)."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import FitError
from ..families import Family, get_family
from ..uncertainty import Estimate, estimate_of, parameter_estimates

@dataclass(frozen=True)
class Preset:
    """Published constants of a law, with where they come from.

    ``title`` is the paper's name as a page shows it (and writes to a link); ``standard_errors``
    the standard errors the paper publishes for the parameters (empty when it gives none), and
    ``uncertainty`` says where they come from or why there are none.
    """

    name: str
    family: str
    params: Mapping[str, float]
    label: str
    citation: str
    note: str = ""
    title: str = ""
    standard_errors: Mapping[str, float] = field(default_factory=dict)
    uncertainty: str = ""

    @property
    def has_interval(self) -> bool:
        return bool(self.standard_errors)


#: Besiroglu et al. 2024's estimates and the standard errors they publish beside them.
_BESIROGLU = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
_BESIROGLU_SE = {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02}
#: Why the two readings of Hoffmann et al.'s Approach 3 carry no interval.
_HOFFMANN_NO_INTERVALS = (
    "Hoffmann et al. publish no intervals for Approach 3's parameters (E, A, B, alpha, beta); they give "
    "intervals only for the allocation exponents a and b, which Besiroglu et al. (2024) found "
    "implausibly narrow. Plans from this law have no interval.")

#: How a preset's published standard errors become parameter samples (see :meth:`Law.preset`).
PUBLISHED_SAMPLING = (
    "sampled from the published standard errors as independent distributions (E, alpha, beta normal; "
    "A, B log-normal with the same relative spread, so they stay positive). The paper's correlations between "
    "the parameters are not used (it publishes none), so intervals on N*, D* and the loss are wider than a "
    "joint sample would give"
)


#: Published laws, constants exactly as printed.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "besiroglu2024", "chinchilla",
            _BESIROGLU,
            "Besiroglu et al. 2024 (replication of Chinchilla Approach 3)",
            "T. Besiroglu, E. Erdil, M. Barnett, J. You, \"Chinchilla Scaling: A replication attempt\", "
            "arXiv:2404.10102 (2024): their re-fit of Hoffmann et al.'s Approach 3 to data reconstructed "
            "from Hoffmann et al.'s Figure 4.",
            "Consistent with Hoffmann et al.'s Approaches 1 and 2 (about 20 tokens per parameter).",
            title="Besiroglu et al. 2024",
            standard_errors=_BESIROGLU_SE,
            uncertainty="Standard errors as published beside the estimates (in parentheses) by Besiroglu et al. "
                        "2024, from their bootstrap of the fit: "
                        + ", ".join(f"{k} {v:g} ({_BESIROGLU_SE[k]:g})" for k, v in _BESIROGLU.items()) + ".",
        ),
        Preset(
            "hoffmann2022", "chinchilla",
            {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
            "Hoffmann et al. 2022, Approach 3 (as printed)",
            "J. Hoffmann et al., \"Training Compute-Optimal Large Language Models\", NeurIPS 2022, "
            "arXiv:2203.15556: the parametric fit of Approach 3, with the constants as printed in the paper.",
            "Besiroglu et al. (2024) found that this fit stopped before convergence and that the printed, "
            "rounded exponents bias its predictions (a = 0.452 from these, 0.46 reported).",
            title="Hoffmann et al. 2022 (as printed)",
            uncertainty=_HOFFMANN_NO_INTERVALS,
        ),
        Preset(
            "hoffmann2022_tex", "chinchilla",
            {"E": 1.6934, "A": 406.4, "B": 410.7, "alpha": 0.3392, "beta": 0.2849},
            "Hoffmann et al. 2022, Approach 3 (unrounded, from the TeX source)",
            "The same fit as `hoffmann2022` with the unrounded values found in the TeX source of "
            "arXiv:2203.15556, as reported by Besiroglu et al. (2024, arXiv:2404.10102v2).",
            "Reproduces the paper's own projection of a 40B-parameter model for Gopher's budget.",
            title="Hoffmann et al. 2022 (unrounded TeX values)",
            uncertainty=_HOFFMANN_NO_INTERVALS,
        ),
    )
}

NO_INTERVAL = "no interval: published or typed constants carry no parameter samples"


@dataclass(frozen=True, eq=False)
class Law:
    """A scaling law to plan with: a family and its parameter samples.

    ``thetas`` is (1 + n_samples, p) natural parameters: row 0 is the point fit, the other rows are
    bootstrap samples (none for a preset or typed constants). ``x`` is the input of a one-input
    law (``"compute"``, ``"params"`` or ``"tokens"``; None for laws in N and D). ``interval``
    says what the intervals of every answer are.
    """

    family: Family
    thetas: np.ndarray = field(repr=False)
    source: str
    citation: str = ""
    x: str | None = None
    confidence_level: float = 0.95
    interval: str = NO_INTERVAL

    def __post_init__(self) -> None:
        fam = get_family(self.family)
        object.__setattr__(self, "family", fam)
        thetas = np.atleast_2d(np.asarray(self.thetas, float))
        if thetas.ndim != 2 or thetas.shape[1] != fam.n_params or len(thetas) < 1:
            raise FitError(f"a {fam.name} law needs {fam.n_params} parameters per row; got shape {np.shape(self.thetas)}")
        if not np.all(np.isfinite(thetas[0])):
            raise FitError(f"the point fit of the {fam.name} law is not finite: {fam.params_dict(thetas[0])}")
        thetas = thetas[np.all(np.isfinite(thetas), axis=1)]
        thetas.setflags(write=False)
        object.__setattr__(self, "thetas", thetas)
        if not fam.is_two_input and self.x is None:
            object.__setattr__(self, "x", "compute")
        if not (0 < self.confidence_level < 1):
            raise FitError(f"`confidence_level` must be between 0 and 1; got {self.confidence_level!r}")

    # ---------------------------------------------------------------- constructors

    @classmethod
    def from_bootstrap(cls, boot, source: str | None = None) -> Law:
        """The fit and the successful resamples of a :class:`~scalecore.BootstrapResult`."""
        fit = boot.fit
        thetas = np.vstack([fit.theta[None, :], boot.good])
        if source is None:
            source = (f"{fit.family.label} fit to `{fit.y}`"
                      + (f" against `{fit.x}`" if fit.x else "")
                      + f" ({fit.n_points} runs, {fit.n_excluded} excluded)")
        return cls(fit.family, thetas, source, x=fit.x, confidence_level=boot.confidence_level,
                   interval=boot.interval_label)

    @classmethod
    def from_fit(cls, fit, source: str | None = None) -> Law:
        """A fit without a bootstrap: point answers only."""
        if source is None:
            source = f"{fit.family.label} fit to `{fit.y}` ({fit.n_points} runs, no bootstrap)"
        return cls(fit.family, fit.theta[None, :], source, x=fit.x,
                   interval="no interval: the fit was not bootstrapped")

    @classmethod
    def from_params(cls, params: Mapping[str, float], family="chinchilla", *, source: str = "typed constants",
                    citation: str = "", x: str | None = None) -> Law:
        fam = get_family(family)
        return cls(fam, _checked_params(fam, params)[None, :], source, citation, x=x)

    @classmethod
    def preset(cls, name: str, n_samples: int = 0, seed: int = 0, confidence_level: float = 0.95) -> Law:
        """A published law. With ``n_samples`` > 0 and published standard errors, the law carries
        that many parameter samples drawn from them (:data:`PUBLISHED_SAMPLING`, seeded), so every
        answer gets an interval propagated from the paper's; without standard errors (Hoffmann et
        al.) it has none whatever ``n_samples`` is."""
        if name not in PRESETS:
            raise FitError(f"unknown preset `{name}`; choose one of: {', '.join(PRESETS)}")
        p = PRESETS[name]
        law = cls.from_params(p.params, p.family, source=p.label, citation=p.citation)
        if n_samples <= 0 or not p.has_interval:
            return law
        fam = law.family
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 22]))
        rows = np.empty((int(n_samples), fam.n_params))
        for j, pname in enumerate(fam.param_names):
            v, se = float(p.params[pname]), float(p.standard_errors.get(pname, 0.0))
            if pname in ("A", "B"):
                rows[:, j] = v * np.exp(rng.normal(0.0, se / v, int(n_samples)))
            else:
                rows[:, j] = rng.normal(v, se, int(n_samples))
        interval = (f"{confidence_level:.0%} interval from {p.title}'s published standard errors, "
                    f"{int(n_samples)} independent draws")
        return cls(fam, np.vstack([law.theta[None, :], rows]), p.label, p.citation, confidence_level=confidence_level,
                   interval=interval)

    @classmethod
    def parse(cls, text: str, family="chinchilla") -> Law:
        """Constants typed as ``"E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28"`` (see :func:`parse_law`)."""
        fam = get_family(family)
        return cls.from_params(parse_law(text, fam), fam, source=f"typed constants ({fam.label})")

    # ---------------------------------------------------------------- views

    @property
    def theta(self) -> np.ndarray:
        return self.thetas[0]

    @property
    def samples(self) -> np.ndarray:
        return self.thetas[1:]

    @property
    def n_samples(self) -> int:
        return len(self.thetas) - 1

    @property
    def has_interval(self) -> bool:
        return self.n_samples >= 2

    @property
    def params(self) -> dict[str, float]:
        return self.family.params_dict(self.theta)

    @property
    def key(self) -> str:
        """A content hash: equal laws have equal keys (use it as a cache key)."""
        h = hashlib.sha256()
        h.update(f"{self.family.name}|{self.x}|{self.confidence_level}|{self.source}|".encode())
        h.update(np.ascontiguousarray(self.thetas).tobytes())
        return h.hexdigest()[:24]

    def estimate(self, values) -> Estimate:
        """Wrap a derived quantity given for every row of ``thetas``: the point value (row 0) and
        the percentile interval of the samples (rows 1...). Infinite samples count (an interval may
        be unbounded); NaN samples are left out. Without samples the interval is NaN."""
        values = np.asarray(values, float).ravel()
        if values.size != len(self.thetas):
            raise ValueError(f"expected {len(self.thetas)} values (one per row of thetas); got {values.size}")
        return estimate_of(values[0], values[1:], self.confidence_level)

    def constant(self, value: float) -> Estimate:
        """A quantity with no uncertainty (the budget itself, a price): an exact interval
        [value, value] when the law has samples, no interval otherwise."""
        v = float(value)
        return Estimate(v, v, v, 0.0) if self.has_interval else Estimate(v, math.nan, math.nan, math.nan)

    def param_estimates(self) -> dict[str, Estimate]:
        return parameter_estimates(self.family.param_names, self.thetas[0], self.thetas[1:], self.confidence_level)

    def predict(self, params=None, tokens=None, x=None) -> np.ndarray:
        """The metric for every row: (1 + n_samples, ...) for inputs broadcasting together."""
        fam = self.family
        z = fam.to_internal(self.thetas)
        if fam.is_two_input:
            n, d = np.broadcast_arrays(np.asarray(params, float), np.asarray(tokens, float))
            f, _ = fam.evaluate(z, {"params": n.ravel(), "tokens": d.ravel()}, jac=False)
            shape = n.shape
        else:
            xs = np.asarray(x, float)
            f, _ = fam.evaluate(z, {"x": xs.ravel()}, jac=False)
            shape = xs.shape
        y = np.exp(f) if fam.space == "log" else f
        return y.reshape((len(self.thetas),) + shape)

    def to_dict(self) -> dict:
        """Plain types (no samples): what the law is and where it comes from."""
        out = {
            "family": self.family.name,
            "params": self.params,
            "source": self.source,
            "citation": self.citation,
            "x": self.x,
            "n_samples": self.n_samples,
            "interval": self.interval,
        }
        if self.has_interval:
            out["ci"] = {n: [e.low, e.high] for n, e in self.param_estimates().items()}
        return out


_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_ITEM = re.compile(r"([^\W\d]\w*)\s*=\s*(" + _NUMBER + r")(?![\w.])")
_SEPARATORS = re.compile(r"[\s,;]*")
_ALIASES = {"α": "alpha", "β": "beta", "α_n": "alpha_N", "α_d": "alpha_D"}


def parse_law(text: str, family="chinchilla") -> dict[str, float]:
    """``"E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28"`` -> ``{name: value}``, strictly.

    Only ``name = number`` pairs separated by commas, semicolons or white space are read; numbers
    are plain decimals with an optional exponent (``4.064e2``). Names are the family's parameter
    names (case-insensitive when that is unambiguous; ``α``, ``β`` for alpha, beta). Anything else
    -- an unknown or repeated name, a missing parameter, stray text, a value outside the family's
    bounds -- raises :class:`FitError` naming it. Nothing is ever evaluated.
    """
    fam = get_family(family)
    if not isinstance(text, str) or not text.strip():
        raise FitError(f"type the constants of the law as {example_law(fam)}")
    if len(text) > 2000:
        raise FitError(f"the law text is too long ({len(text)} characters); type only {example_law(fam)}")
    lookup = {n.lower(): n for n in fam.param_names}
    found: dict[str, float] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    pos = 0
    for m in _ITEM.finditer(text):
        gap = text[pos:m.start()]
        if not _SEPARATORS.fullmatch(gap):
            raise FitError(f"cannot read `{_snippet(gap)}` in the law; write it as {example_law(fam)}")
        pos = m.end()
        raw = m.group(1)
        name = raw if raw in fam.param_names else lookup.get(_ALIASES.get(raw.lower(), raw).lower())
        if name is None:
            unknown.append(raw)
            continue
        if name in found:
            repeated.append(name)
        found[name] = float(m.group(2))
    rest = text[pos:]
    if not _SEPARATORS.fullmatch(rest):
        raise FitError(f"cannot read `{_snippet(rest)}` in the law; write it as {example_law(fam)}")
    if unknown:
        raise FitError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(f'`{u}`' for u in unknown)} "
                       f"for the {fam.name} law; its parameters are {', '.join(fam.param_names)}")
    if repeated:
        raise FitError(f"parameter {', '.join(f'`{r}`' for r in dict.fromkeys(repeated))} given more than once")
    missing = [n for n in fam.param_names if n not in found]
    if missing:
        raise FitError(f"the {fam.name} law needs {', '.join(fam.param_names)}; missing {', '.join(missing)}")
    _checked_params(fam, found)
    return {n: found[n] for n in fam.param_names}


#: The example shown in messages, per family (others list their parameter names).
EXAMPLE_LAWS = {"chinchilla": "E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28"}


def example_law(family="chinchilla") -> str:
    fam = get_family(family)
    if fam.name in EXAMPLE_LAWS:
        return f"`{EXAMPLE_LAWS[fam.name]}`"
    return "`" + ", ".join(f"{n}=..." for n in fam.param_names) + "`"


def _snippet(text: str, limit: int = 40) -> str:
    text = " ".join(text.split()).strip(" ,;")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _checked_params(fam: Family, params: Mapping[str, float]) -> np.ndarray:
    """The parameter vector, if every value is finite and inside the family's bounds (coefficients
    and exponents with a lower bound of 0 must be positive; E may be 0)."""
    theta = fam.theta_from(params)
    bad = []
    for name, value, (lo, hi) in zip(fam.param_names, theta, fam.bounds):
        strict = lo >= 0 and name != "E"
        if not math.isfinite(value) or value < lo or value > hi or (strict and value <= 0):
            allowed = ("> 0" if strict and lo == 0 else f">= {lo:g}") + (f" and <= {hi:g}" if math.isfinite(hi) else "")
            bad.append(f"{name}={value:g} (allowed: {allowed})")
    if bad:
        raise FitError(f"parameters out of range for the {fam.name} law: {'; '.join(bad)}")
    return theta


def _need_two_inputs(law: Law, what: str) -> None:
    if not law.family.is_two_input:
        raise FitError(f"{what} needs a law in model size N and tokens D. {WHY_TWO_INPUTS}")


def _need_loss_law(law: Law) -> None:
    if law.family.metric_kind != "loss":
        raise FitError(f"budgets are planned on a loss; the {law.family.label} family models a score that rises "
                       "with scale")


WHY_TWO_INPUTS = (
    "A law in compute alone says how the loss falls with C, not how to split C between model size "
    "and data: every N and D with 6·N·D = C get the same predicted loss from it. The split needs a law in "
    "N and D together (chinchilla or kaplan) fitted to runs that vary N and D separately, such as "
    "IsoFLOP profiles."
)


"""Budgets from a fitted law: compute-optimal N and D, loss, cost, the inverse, trade-offs.

Everything here is vectorised over parameter samples, so the same call gives the point answer
(from the best fit) and its bootstrap distribution (from the resamples). A :class:`Law` carries
both: row 0 of ``Law.thetas`` is the point fit, the other rows are bootstrap samples, and every
answer is an :class:`~scalecore.bootstrap.Estimate` (point value and percentile interval).

Contents, in the order a plan is made:

- :class:`Law` -- a family and its parameter samples, from a bootstrap, a published preset
  (:data:`PRESETS`) or text the user typed (:func:`parse_law`, strict; never evaluated).
- :class:`Hardware` and :data:`ACCELERATORS` -- accelerators x days x MFU -> FLOPs, and FLOPs ->
  accelerator-hours, days and cost.
- :func:`compute_optimal` -- N*, D*, tokens per parameter and loss at a compute budget (closed form
  for Chinchilla's law, numerical minimisation along the iso-FLOP line otherwise).
- :func:`tradeoff` and :func:`off_optimum` -- loss along ``D = C/(kN)`` with its band; for another
  N, the loss penalty and the compute it wastes.
- :func:`compute_for_loss` -- the least compute (and N, D) that reaches a target loss.
- :func:`inference_optimal` -- Sardana et al. (2023): the N, D minimising training plus inference
  FLOPs for the same loss.
- :func:`data_limit` -- epochs over the unique tokens available, optionally the effective-data
  form of Muennighoff et al. (2023).
- :func:`plan`, :class:`Scenario`, :func:`scenarios_table` -- all of it as one record, and a table
  of several.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from .errors import DataError, FitError
from .families import Family, get_family
from .formatting import COUNT_SUFFIXES, _decimal_place, _fmt_at, format_estimate, format_interval, format_number
from .stats import percentile_interval
from .uncertainty import Estimate, estimate_of

#: FLOPs per parameter per training token (C = 6 N D, Kaplan et al. 2020).
FLOPS_PER_TOKEN_PARAM = 6.0
#: FLOPs per parameter per token served at inference (a forward pass, 2 N; Sardana et al. 2023).
INFERENCE_FLOPS_PER_TOKEN_PARAM = 2.0
SECONDS_PER_DAY = 86_400.0


def chinchilla_exponents(theta) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal exponents a = beta/(alpha+beta), b = alpha/(alpha+beta) (N* ~ C^a, D* ~ C^b)."""
    theta = np.asarray(theta, float)
    alpha, beta = theta[..., 3], theta[..., 4]
    return beta / (alpha + beta), alpha / (alpha + beta)


def chinchilla_optimum(theta, compute, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """Closed-form compute-optimal allocation of Hoffmann et al. (2022), eq. 4.

    ``N* = G (C/k)^a``, ``D* = G^-1 (C/k)^b``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``.
    ``theta`` is (5,) or (B, 5) in the chinchilla order (E, A, B, alpha, beta); ``compute`` a
    scalar or array broadcasting against the batch. Returns arrays ``params``, ``tokens``,
    ``loss``, ``a``, ``b``.
    """
    theta = np.asarray(theta, float)
    E, A, B, alpha, beta = (theta[..., i] for i in range(5))
    c = np.asarray(compute, float) / k
    with np.errstate(all="ignore"):
        a, b = beta / (alpha + beta), alpha / (alpha + beta)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        n_opt = G * c**a
        d_opt = c**b / G
        loss = E + A / n_opt**alpha + B / d_opt**beta
    return {"params": n_opt, "tokens": d_opt, "loss": loss, "a": a, "b": b}


def kaplan_optimum(theta, compute, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """Closed-form compute-optimal allocation of Kaplan et al.'s L(N, D) (eq. 1.5).

    Along ``D = C/(k N)`` the loss is ``[(N_c/N)^p + D_c k N / C]^alpha_D`` with
    ``p = alpha_N/alpha_D``; the outer power is increasing, so the optimum minimises the bracket:
    ``N* = (p N_c^p C / (k D_c))^(1/(p+1))``. ``theta`` is (4,) or (..., 4) in the kaplan order
    (N_c, D_c, alpha_N, alpha_D); ``compute`` broadcasts against the batch.
    """
    theta = np.asarray(theta, float)
    n_c, d_c, alpha_n, alpha_d = (theta[..., i] for i in range(4))
    c = np.asarray(compute, float)
    with np.errstate(all="ignore"):
        p = alpha_n / alpha_d
        log_n = (np.log(p) + p * np.log(n_c) + np.log(c) - np.log(k * d_c)) / (p + 1.0)
        n_opt = np.exp(log_n)
        d_opt = c / (k * n_opt)
        loss = ((n_c / n_opt) ** p + d_c / d_opt) ** alpha_d
    return {"params": n_opt, "tokens": d_opt, "loss": loss}


#: Two-input laws whose compute-optimal allocation has a closed form.
CLOSED_FORM_OPTIMA = {"chinchilla": chinchilla_optimum, "kaplan": kaplan_optimum}


def compute_optimum(family, theta, compute, k: float = FLOPS_PER_TOKEN_PARAM) -> dict:
    """Compute-optimal N*, D*, L* of a two-input law: the closed form where there is one, else numerical.

    ``theta`` (p,) or (..., p) and ``compute`` broadcast against each other like
    :func:`chinchilla_optimum`; every returned array has the broadcast shape. Chinchilla's law
    also returns its exponents ``a`` and ``b``.
    """
    fam = get_family(family)
    if fam.name in CLOSED_FORM_OPTIMA:
        return CLOSED_FORM_OPTIMA[fam.name](theta, compute, k)
    theta = np.asarray(theta, float)
    c = np.asarray(compute, float)
    shape = np.broadcast_shapes(theta.shape[:-1], c.shape)
    rows = np.broadcast_to(theta, shape + theta.shape[-1:]).reshape(-1, theta.shape[-1])
    out = iso_flop_optimum(fam, rows, np.broadcast_to(c, shape).ravel(), k)
    return {key: v.reshape(shape) for key, v in out.items()}


def iso_flop_optimum(family, theta, compute, k: float = FLOPS_PER_TOKEN_PARAM, n_range=(1e3, 1e16)) -> dict:
    """Numerical compute-optimal allocation for any two-input family.

    Minimises the predicted loss along ``D = C/(k N)`` over log N by a coarse grid followed by
    golden-section refinement, for every row of ``theta`` at once. Used for laws without a closed
    form (see :func:`compute_optimum`) and to check the closed forms in tests. ``compute`` is a scalar, or one budget
    per row of ``theta``.
    """
    fam = get_family(family)
    if not fam.is_two_input:
        raise FitError(f"a compute-optimal N and D needs a law in N and D; `{fam.name}` has one input")
    theta = np.atleast_2d(np.asarray(theta, float))
    c = np.asarray(compute, float)
    c = float(c) if c.ndim == 0 else np.broadcast_to(c.ravel(), (len(theta),))[:, None]
    grid = np.linspace(np.log(n_range[0]), np.log(n_range[1]), 241)

    z = fam.to_internal(theta)

    def loss_at(log_n):  # (B, m) -> model value in the family's space, (B, m)
        n = np.exp(log_n)
        return fam.evaluate(z, {"params": n, "tokens": c / (k * n)}, jac=False)[0]

    f = loss_at(np.broadcast_to(grid, (len(theta), len(grid))))
    i = np.clip(np.argmin(f, axis=1), 1, len(grid) - 2)
    lo, hi = grid[i - 1], grid[i + 1]
    invphi = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(60):
        x1 = hi - invphi * (hi - lo)
        x2 = lo + invphi * (hi - lo)
        f12 = loss_at(np.stack([x1, x2], axis=1))
        left = f12[:, 0] < f12[:, 1]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
    log_n = 0.5 * (lo + hi)
    n_opt = np.exp(log_n)
    d_opt = np.ravel(c / (k * n_opt[:, None]))
    f_opt = loss_at(log_n[:, None])[:, 0]
    loss = np.exp(f_opt) if fam.space == "log" else f_opt
    return {"params": n_opt, "tokens": d_opt, "loss": loss}


# ============================================================================ the law


@dataclass(frozen=True)
class Preset:
    """Published constants of a law, with where they come from."""

    name: str
    family: str
    params: Mapping[str, float]
    label: str
    citation: str
    note: str = ""


#: Published laws, constants exactly as printed.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "besiroglu2024", "chinchilla",
            {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658},
            "Besiroglu et al. 2024 (replication of Chinchilla Approach 3)",
            "T. Besiroglu, E. Erdil, M. Barnett, J. You, \"Chinchilla Scaling: A replication attempt\", "
            "arXiv:2404.10102 (2024): their re-fit of Hoffmann et al.'s Approach 3 to data reconstructed "
            "from Hoffmann et al.'s Figure 4.",
            "Consistent with Hoffmann et al.'s Approaches 1 and 2 (about 20 tokens per parameter).",
        ),
        Preset(
            "hoffmann2022", "chinchilla",
            {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
            "Hoffmann et al. 2022, Approach 3 (as printed)",
            "J. Hoffmann et al., \"Training Compute-Optimal Large Language Models\", NeurIPS 2022, "
            "arXiv:2203.15556: the parametric fit of Approach 3, with the constants as printed in the paper.",
            "Besiroglu et al. (2024) found that this fit stopped before convergence and that the printed, "
            "rounded exponents bias its predictions (a = 0.452 from these, 0.46 reported).",
        ),
        Preset(
            "hoffmann2022_tex", "chinchilla",
            {"E": 1.6934, "A": 406.4, "B": 410.7, "alpha": 0.3392, "beta": 0.2849},
            "Hoffmann et al. 2022, Approach 3 (unrounded, from the TeX source)",
            "The same fit as `hoffmann2022` with the unrounded values found in the TeX source of "
            "arXiv:2203.15556, as reported by Besiroglu et al. (2024, arXiv:2404.10102v2).",
            "Reproduces the paper's own projection of a 40B-parameter model for Gopher's budget.",
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
    def preset(cls, name: str) -> Law:
        if name not in PRESETS:
            raise FitError(f"unknown preset `{name}`; choose one of: {', '.join(PRESETS)}")
        p = PRESETS[name]
        return cls.from_params(p.params, p.family, source=p.label, citation=p.citation)

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
        return {n: self.estimate(self.thetas[:, j]) for j, n in enumerate(self.family.param_names)}

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


def example_law(family="chinchilla") -> str:
    fam = get_family(family)
    if fam.name == "chinchilla":
        return "`E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28`"
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


# ============================================================================ hardware


@dataclass(frozen=True)
class Accelerator:
    """An accelerator's vendor-stated peak dense BF16 throughput (FLOP/s)."""

    name: str
    peak_flops: float
    source: str


#: Peak **dense** BF16 tensor throughput per accelerator, as stated by the vendors (without the
#: 2:4 structured-sparsity doubling that datasheets often print beside it). These are peaks: what a
#: training run achieves is the peak times its model FLOPs utilisation (MFU), typically 0.3-0.5.
#: NVIDIA A100 (SXM and PCIe): 312 TFLOP/s (A100 datasheet); H100 SXM: 989 TFLOP/s and H100 PCIe:
#: 756 TFLOP/s (H100 datasheet, 1,979 and 1,513 "with sparsity"); H200 SXM: 989 TFLOP/s (H200
#: datasheet); B200: 2.25 PFLOP/s (HGX B200 specification, 4.5 with sparsity); AMD Instinct MI300X:
#: 1,307.4 TFLOP/s (AMD MI300X data sheet); Google TPU v4: 275, v5e: 197, v5p: 459 TFLOP/s (Cloud
#: TPU system architecture pages). Edit them where your hardware differs.
ACCELERATORS: dict[str, Accelerator] = {
    a.name: a
    for a in (
        Accelerator("NVIDIA A100", 312e12, "NVIDIA A100 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA H100 SXM", 989e12, "NVIDIA H100 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA H100 PCIe", 756e12, "NVIDIA H100 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA H200", 989e12, "NVIDIA H200 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA B200", 2250e12, "NVIDIA HGX B200 specification, BF16 Tensor Core, dense"),
        Accelerator("AMD MI300X", 1307e12, "AMD Instinct MI300X data sheet, BF16, dense"),
        Accelerator("Google TPU v4", 275e12, "Google Cloud TPU v4 system architecture, BF16"),
        Accelerator("Google TPU v5e", 197e12, "Google Cloud TPU v5e system architecture, BF16"),
        Accelerator("Google TPU v5p", 459e12, "Google Cloud TPU v5p system architecture, BF16"),
    )
}


@dataclass(frozen=True)
class Hardware:
    """A training cluster: ``count`` accelerators of ``peak_flops`` (FLOP/s each) at utilisation
    ``mfu``, optionally priced per accelerator-hour. Conversions are vectorised over compute."""

    peak_flops: float
    count: int = 1
    mfu: float = 0.4
    price_per_hour: float | None = None
    name: str = "custom accelerator"

    def __post_init__(self) -> None:
        _positive("peak_flops", self.peak_flops, "FLOP/s per accelerator")
        if isinstance(self.count, bool) or not isinstance(self.count, (int, np.integer)) or self.count < 1:
            raise DataError(f"`count` (number of accelerators) must be a whole number of at least 1; got {self.count!r}")
        if not (isinstance(self.mfu, (int, float)) and 0 < self.mfu <= 1):
            raise DataError(f"`mfu` (model FLOPs utilisation) must be in (0, 1], e.g. 0.4; got {self.mfu!r}")
        if self.price_per_hour is not None and not (
                isinstance(self.price_per_hour, (int, float)) and math.isfinite(self.price_per_hour)
                and self.price_per_hour >= 0):
            raise DataError(f"`price_per_hour` must be a non-negative number; got {self.price_per_hour!r}")

    @classmethod
    def of(cls, accelerator: str, count: int = 1, mfu: float = 0.4, price_per_hour: float | None = None,
           peak_flops: float | None = None) -> Hardware:
        """A cluster of a preset accelerator (``peak_flops`` overrides its datasheet value)."""
        if accelerator not in ACCELERATORS:
            raise DataError(f"unknown accelerator `{accelerator}`; choose one of: {', '.join(ACCELERATORS)}, "
                            "or give its peak FLOP/s")
        peak = ACCELERATORS[accelerator].peak_flops if peak_flops is None else peak_flops
        return cls(peak, count, mfu, price_per_hour, accelerator)

    @property
    def sustained_flops(self) -> float:
        """FLOP/s the whole cluster delivers: count x peak x MFU."""
        return self.count * self.peak_flops * self.mfu

    def compute(self, days) -> np.ndarray | float:
        """FLOPs in ``days`` of training: count x days x 86400 x MFU x peak."""
        days = np.asarray(days, float)
        if np.any(~np.isfinite(days) | (days <= 0)):
            raise DataError(f"`days` must be a positive number; got {days.tolist()!r}")
        out = self.sustained_flops * SECONDS_PER_DAY * days
        return float(out) if out.ndim == 0 else out

    def accelerator_hours(self, compute):
        return _scalar(np.asarray(compute, float) / (self.peak_flops * self.mfu * 3600.0))

    def days(self, compute):
        """Wall-clock days for ``compute`` FLOPs on the whole cluster."""
        return _scalar(np.asarray(compute, float) / (self.sustained_flops * SECONDS_PER_DAY))

    def cost(self, compute):
        """Price of ``compute`` FLOPs (accelerator-hours x price); NaN without a price."""
        if self.price_per_hour is None:
            return _scalar(np.full(np.shape(compute), math.nan))
        return _scalar(np.asarray(self.accelerator_hours(compute)) * self.price_per_hour)

    def to_dict(self) -> dict:
        return {"accelerator": self.name, "peak_flops": self.peak_flops, "count": int(self.count),
                "mfu": self.mfu, "price_per_hour": self.price_per_hour}


def _scalar(a):
    a = np.asarray(a, float)
    return float(a) if a.ndim == 0 else a


def _positive(name: str, value, what: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DataError(f"`{name}` must be a positive number{f' ({what})' if what else ''}; got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise DataError(f"`{name}` must be a positive number{f' ({what})' if what else ''}; got {value!r}")
    return v


# ============================================================================ maths on rows of thetas
# Each helper takes the (M, p) natural parameters of a law and returns one value per row.


def _optimum_rows(law: Law, compute, k: float) -> dict[str, np.ndarray]:
    """Compute-optimal params, tokens, loss for every row of the law at ``compute`` (scalar or (M,))."""
    out = compute_optimum(law.family, law.thetas, compute, k)
    return {key: np.broadcast_to(out[key], (len(law.thetas),)).astype(float) for key in ("params", "tokens", "loss")}


def _chinchilla_frontier(thetas: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L*(C) = E + K (C/k)^-gamma for Chinchilla's law: (E, K, gamma) per row.

    With N* = G c^a, D* = c^b / G: A N*^-alpha = A G^-alpha c^-gamma and B D*^-beta = B G^beta c^-gamma,
    gamma = alpha beta / (alpha + beta).
    """
    E, A, B, alpha, beta = (thetas[:, i] for i in range(5))
    with np.errstate(all="ignore"):
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        K = A * G**-alpha + B * G**beta
    return E, K, alpha * beta / (alpha + beta)


def _log_floor(fam: Family, thetas: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """log of the smallest N that can reach ``loss`` with unlimited data (+inf where no N can)."""
    with np.errstate(all="ignore"):
        if fam.name == "chinchilla":
            E, A, alpha = thetas[:, 0], thetas[:, 1], thetas[:, 3]
            gap = loss - E
            return np.where(gap > 0, (np.log(A) - np.log(np.where(gap > 0, gap, 1.0))) / alpha, np.inf)
        if fam.name == "kaplan":
            nc, alpha_n = thetas[:, 0], thetas[:, 2]
            return np.where(loss > 0, np.log(nc) - np.log(np.where(loss > 0, loss, 1.0)) / alpha_n, np.inf)
    # Any other law in N and D: bisection on log N with (practically) unlimited data.
    big = np.full((len(thetas), 1), _LOG_HUGE)
    lo, hi = np.zeros(len(thetas)), np.full(len(thetas), _LOG_HUGE)
    reachable = _log_model(fam, thetas, big, big)[:, 0] < np.log(loss)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = _log_model(fam, thetas, mid[:, None], big)[:, 0] > np.log(loss)
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(reachable, hi, np.inf)


def _log_tokens_for_loss(fam: Family, thetas: np.ndarray, log_n: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """log D such that L(N, D) = loss, for log N (M, m) and loss (M, 1); +inf where unreachable."""
    with np.errstate(all="ignore"):
        if fam.name == "chinchilla":
            E, A, B, alpha, beta = (thetas[:, i : i + 1] for i in range(5))
            rem = loss - E - A * np.exp(-alpha * log_n)
            return np.where(rem > 0, (np.log(B) - np.log(np.where(rem > 0, rem, 1.0))) / beta, np.inf)
        if fam.name == "kaplan":
            nc, dc, alpha_n, alpha_d = (thetas[:, i : i + 1] for i in range(4))
            rem = loss ** (1.0 / alpha_d) - np.exp((alpha_n / alpha_d) * (np.log(nc) - log_n))
            return np.where(rem > 0, np.log(dc) - np.log(np.where(rem > 0, rem, 1.0)), np.inf)
    # Generic: the loss falls with D; bisection on log D in [0, _LOG_HUGE].
    target = np.log(loss)
    lo, hi = np.zeros_like(log_n), np.full_like(log_n, _LOG_HUGE)
    reachable = _log_model(fam, thetas, log_n, hi) < target
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = _log_model(fam, thetas, log_n, mid) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(reachable, hi, np.inf)


_LOG_HUGE = 150.0  # e^150 ~ 1e65: "unlimited" N or D
_BISECTIONS = 80


def _log_model(fam: Family, thetas: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """log of the model value at per-row inputs (M, m)."""
    log_n, log_d = np.broadcast_arrays(log_n, log_d)
    with np.errstate(all="ignore"):
        f, _ = fam.evaluate(fam.to_internal(thetas), {"params": np.exp(log_n), "tokens": np.exp(log_d)}, jac=False)
    return f if fam.space == "log" else np.log(f)


def _value_rows(law: Law, params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The metric of row i of the law at (params[i], tokens[i]), for all rows: (M,)."""
    log_n = np.log(np.asarray(params, float))[:, None]
    log_d = np.log(np.asarray(tokens, float))[:, None]
    return np.exp(_log_model(law.family, law.thetas, log_n, log_d)[:, 0])


def _least_cost(fam: Family, thetas: np.ndarray, loss, inference_tokens: float = 0.0,
                k: float = FLOPS_PER_TOKEN_PARAM, k_inf: float = INFERENCE_FLOPS_PER_TOKEN_PARAM) -> dict:
    """min over N of ``k N D + k_inf N T`` subject to ``L(N, D) = loss``, for every row at once.

    ``D(N)`` comes from :func:`_log_tokens_for_loss`; N is searched above the smallest size that
    can reach the loss, as ``log N = log N_min + exp(v)``, on a grid of v and then by golden
    section. The objective is convex in log N for Chinchilla's law (a sum of two functions that are
    convex in log N), so the search finds the global minimum. Rows that cannot reach ``loss`` get
    ``compute = inf``. Returns params, tokens, training, inference (FLOPs) and total (M,).
    """
    M = len(thetas)
    loss = np.broadcast_to(np.asarray(loss, float), (M,)).copy()
    T = float(inference_tokens)
    log_floor = _log_floor(fam, thetas, loss)
    ok = np.isfinite(log_floor)
    base = np.where(ok, log_floor, 0.0)
    log_k, log_inf = math.log(k), (math.log(k_inf * T) if T > 0 else None)

    def objective(v):  # v (M, m) -> log of the total FLOPs
        log_n = base[:, None] + np.exp(v)
        log_d = _log_tokens_for_loss(fam, thetas, log_n, loss[:, None])
        train = log_k + log_n + log_d
        return train if log_inf is None else np.logaddexp(train, log_inf + log_n)

    grid = np.linspace(math.log(1e-9), math.log(60.0), 321)
    f = objective(np.broadcast_to(grid, (M, grid.size)))
    f = np.where(np.isnan(f), np.inf, f)
    i = np.clip(np.argmin(f, axis=1), 1, grid.size - 2)
    lo, hi = grid[i - 1], grid[i + 1]
    invphi = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(90):
        x1 = hi - invphi * (hi - lo)
        x2 = lo + invphi * (hi - lo)
        f12 = objective(np.stack([x1, x2], axis=1))
        left = f12[:, 0] < f12[:, 1]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
    log_n = base + np.exp(0.5 * (lo + hi))
    with np.errstate(all="ignore"):
        log_d = _log_tokens_for_loss(fam, thetas, log_n[:, None], loss[:, None])[:, 0]
        params = np.where(ok, np.exp(log_n), np.nan)
        tokens = np.where(ok, np.exp(log_d), np.inf)
        training = np.where(ok, k * params * tokens, np.inf)
        inference = np.where(ok, k_inf * params * T, np.nan)
    return {"params": params, "tokens": tokens, "training": training, "inference": inference,
            "total": training + np.nan_to_num(inference, nan=0.0) if T > 0 else training.copy()}


def _least_compute_rows(law: Law, loss, k: float) -> dict:
    """Least training compute reaching ``loss`` (scalar or (M,)) per row, with its N and D."""
    fam = law.family
    M = len(law.thetas)
    loss = np.broadcast_to(np.asarray(loss, float), (M,))
    if fam.name == "chinchilla":
        E, K, gamma = _chinchilla_frontier(law.thetas, k)
        with np.errstate(all="ignore"):
            gap = loss - E
            compute = np.where(gap > 0, k * (np.where(gap > 0, gap, 1.0) / K) ** (-1.0 / gamma), np.inf)
            opt = chinchilla_optimum(law.thetas, compute, k)
        return {"compute": compute, "params": np.where(gap > 0, opt["params"], np.nan),
                "tokens": np.where(gap > 0, opt["tokens"], np.inf)}
    out = _least_cost(fam, law.thetas, loss, 0.0, k)
    return {"compute": out["training"], "params": out["params"], "tokens": out["tokens"]}


def _floor_rows(law: Law) -> np.ndarray:
    """The loss the law approaches with unlimited N, D (or x), per row."""
    fam = law.family
    if "E" in fam.param_names:
        return law.thetas[:, fam.param_names.index("E")]
    if fam.is_two_input:
        huge = np.full((len(law.thetas), 1), _LOG_HUGE)
        return np.exp(_log_model(fam, law.thetas, huge, huge)[:, 0])
    return law.predict(x=np.array([math.exp(_LOG_HUGE)]))[:, 0]


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

    Chinchilla's law uses the closed form (:func:`chinchilla_optimum`, also giving the exponents
    ``a``, ``b``); other laws in N and D are minimised numerically along ``D = C/(kN)``.
    """
    _need_loss_law(law)
    _need_two_inputs(law, "A compute-optimal model size and token count")
    c = _check_compute(compute)
    rows = _optimum_rows(law, c, k)
    out = _with_ratio(law, rows)
    out["loss"] = law.estimate(rows["loss"])
    if law.family.name == "chinchilla":
        a, b = chinchilla_exponents(law.thetas)
        out["a"], out["b"] = law.estimate(a), law.estimate(b)
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

    lo, hi = np.zeros(M), np.full(M, _LOG_HUGE)
    reachable = value(hi) < target
    for _ in range(_BISECTIONS):
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
        rows = _least_cost(law.family, law.thetas, best["loss"], T, k, k_inf)
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


# ============================================================================ a plan, scenarios


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
    "loss_repeated": "loss with repeated data (Muennighoff et al. 2023)",
    "inference_params": "inference-aware model size N",
    "inference_tokens_train": "inference-aware training tokens D",
    "inference_tokens_per_param": "inference-aware tokens per parameter",
    "inference_training_compute": "inference-aware training compute",
    "inference_total_compute": "inference-aware training + inference FLOPs",
    "optimal_total_compute": "compute-optimal training + inference FLOPs",
    "inference_saving": "FLOPs saved by inference-aware sizing",
    "inference_saving_fraction": "fraction of FLOPs saved",
}


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
    M = len(law.thetas)
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


@dataclass(frozen=True)
class Scenario:
    """A saved plan: its name, what it was computed from (plain types) and its answers."""

    name: str
    inputs: dict
    answers: dict  # {name: Estimate}
    interval: str = NO_INTERVAL
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain types only (JSON-ready; non-finite numbers stay floats -- dump with allow_nan or clean)."""
        return {
            "name": self.name,
            "inputs": _plain(self.inputs),
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


def _plain(obj):
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    return obj


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
    out["inputs"] = {k: v for k, v in _plain(plan_.inputs).items() if k != "law"}
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
    "saving_fraction": "fraction", "effective_tokens": "count",
}


def format_answer(est, kind: str = "plain", digits: int = 4) -> str:
    """An Estimate as text, rounded by the PDG rule (:func:`~scalecore.formatting.format_interval`)
    on a readable scale: ``"72B [65B, 130B]"`` (count), ``"2.5e23 [2.3e23, 3.9e23]"`` (flops),
    ``"$1.8M"`` (money), ``"20% [17%, 30%]"`` (fraction), ``"1.985 [1.930, 2.023]"`` (plain). The
    bare value when there is no interval or it is exact; ``unbounded`` for an infinite high end."""
    v, lo, hi = est.value, est.low, est.high
    if not math.isfinite(v):
        return "unbounded" if v == math.inf else "n/a"
    scale, pre, post = 1.0, "", ""
    size = max(abs(x) for x in (v, lo, hi) if math.isfinite(x))  # a value of 0 takes the interval's scale
    if kind == "fraction":
        scale, post = 0.01, "%"
    elif kind in ("count", "money") and size >= 1e3:
        scale, post = next((f, sfx) for f, sfx in COUNT_SUFFIXES if size >= f)
    elif kind == "flops" and size > 0:
        exp = math.floor(math.log10(abs(v) if v else size))
        scale, post = 10.0**exp, f"e{exp}"
    if kind == "money":
        pre = "$"
    def w(text: str) -> str:
        if kind == "flops" and float(text) == 0:
            return "0"
        return f"{pre}{text}{post}"

    # scaled once, to 12 significant digits (10.0**23 is not exactly 1e23)
    v, lo, hi = (float(f"{x / scale:.12g}") if math.isfinite(x) else x for x in (v, lo, hi))
    exact = math.isfinite(lo) and math.isfinite(hi) and lo == hi
    if exact or math.isnan(lo) or math.isnan(hi):
        return w(format_number(v, digits))
    if math.isinf(hi):
        return f"{w(format_number(v, 3))} [{w(format_number(lo, 3))}, unbounded]"
    small, big = sorted((abs(v - lo), abs(hi - v)))
    if small < 0.01 * big:
        # One-sided: the point sits at an end of its interval (a penalty of 0 at N* itself); the
        # PDG rule on the tiny side would print a dozen digits, so the wide side sets the precision.
        place = _decimal_place(big)
        a, b, c = (_fmt_at(x, place, False) for x in (v, lo, hi))
    else:
        a, b, c = format_interval(v, lo, hi)
    return f"{w(a)} [{w(b)}, {w(c)}]"


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

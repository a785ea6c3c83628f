"""Training FLOPs of a transformer, by each definition the scaling-law literature uses.

One function per definition, each returning the training FLOPs of ``tokens`` tokens (forward and
backward pass):

- :func:`six_nd` -- ``C = 6 N D`` (Kaplan et al. 2020, section 2.1: "C ≈ 6NBS"; the definition
  Hoffmann et al. 2022 compare theirs against).
- :func:`kaplan_flops` -- Kaplan et al. 2020, Table 1: forward FLOPs per token
  ``C_forward = 2 N + 2 n_layer n_ctx d_attn`` (N the non-embedding parameters, d_attn = d_model),
  the backward pass twice the forward, so ``3 C_forward`` per training token.
- :func:`hoffmann_flops` -- Hoffmann et al. 2022, Appendix F: per sequence of ``n_ctx`` tokens,
  embeddings ``2 S V d``; per layer the attention (key, query, value projections ``2·3·S·d·(k·H)``,
  key @ query logits ``2 S² (k·H)``, softmax ``3 H S²``, softmax @ value reduction ``2 S² (k·H)``,
  final linear ``2 S (k·H) d``) and the dense block ``2 S (d·f + d·f)``; final logits ``2 S d V``.
  Forward = embeddings + layers × (attention + dense) + logits; training = 3 × forward.
- :func:`flops_column` -- the user's own count, a column of the runs.

A :class:`TransformerConfig` is the shape of one model (layers, width, heads, context, vocabulary,
feed-forward width, key/query size). :func:`flops_per_param_token` gives each definition's
``k = C / (N D)`` for a config (N counted the way its paper counts it), which is how the
sensitivity panel (:mod:`scalecore.sensitivity`) changes the FLOPs definition of a fit: one config
stands for the models near the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import DataError

#: The definitions by name, as the sensitivity panel and the CLI spell them.
DEFINITIONS = ("6ND", "kaplan2020", "hoffmann2022", "column")


@dataclass(frozen=True)
class TransformerConfig:
    """The shape of a decoder-only transformer.

    ``d_ff`` defaults to ``4 d_model`` and ``head_dim`` (Hoffmann et al.'s "k/q size") to
    ``d_model / n_heads``.
    """

    n_layers: int
    d_model: int
    n_heads: int
    n_ctx: int
    vocab: int
    d_ff: int | None = None
    head_dim: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "n_ctx", "vocab", "d_ff", "head_dim"):
            value = getattr(self, name)
            if value is None and name in ("d_ff", "head_dim"):
                continue
            try:
                v = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                v = np.array(math.nan)
            if isinstance(value, bool) or v.size == 0 or not (np.all(np.isfinite(v)) and np.all(v > 0)):
                raise DataError(f"`{name}` of a transformer config must be a positive number; got {value!r}")
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        if self.head_dim is None:
            object.__setattr__(self, "head_dim", self.d_model / self.n_heads)

    @classmethod
    def of_runs(cls, runs, columns) -> "TransformerConfig":
        """One config per run, each field read from the column ``columns`` names for it
        (``{"n_layers": "n_layer", "d_model": "width", ...}``; a number is used for every run)."""
        known = ("n_layers", "d_model", "n_heads", "n_ctx", "vocab", "d_ff", "head_dim")
        unknown = [n for n in dict(columns) if n not in known]
        missing = [n for n in known[:5] if n not in dict(columns)]
        if unknown or missing:
            raise DataError(f"a transformer config takes {', '.join(known)} (the first five required); "
                            + (f"unknown: {', '.join(unknown)}" if unknown else f"missing: {', '.join(missing)}"))
        values = {}
        for name, col in dict(columns).items():
            if isinstance(col, str):
                if col not in runs.frame.columns:
                    raise DataError(f"no column `{col}` for the config's `{name}`; the runs have "
                                    f"{', '.join(map(str, runs.frame.columns))}")
                values[name] = runs.frame[col].to_numpy(dtype=float)
            else:
                values[name] = col
        return cls(**values)

    @property
    def non_embedding_params(self):
        """Per layer: Q, K, V and output projections ``4 d (k H)`` and the dense block ``2 d f``
        (biases and norms left out, as Kaplan et al.'s ``N ≈ 12 n_layer d_model²`` does).
        A float, or an array for a config of arrays (one per run)."""
        return _num(self.n_layers * (4 * self.d_model * self.head_dim * self.n_heads + 2 * self.d_model * self.d_ff))

    @property
    def embedding_params(self):
        """The token embedding matrix ``V d`` (tied with the output logits)."""
        return _num(self.vocab * self.d_model)

    @property
    def params(self) -> float:
        """Non-embedding plus embedding parameters."""
        return self.non_embedding_params + self.embedding_params

    def to_dict(self) -> dict:
        return {"n_layers": self.n_layers, "d_model": self.d_model, "n_heads": self.n_heads, "n_ctx": self.n_ctx,
                "vocab": self.vocab, "d_ff": self.d_ff, "head_dim": self.head_dim}


def _num(x):
    """A float for a scalar, a float array for an array."""
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def six_nd(params, tokens):
    """``6 N D``: Kaplan et al. (2020)'s approximation of the training FLOPs."""
    return 6.0 * np.asarray(params, float) * np.asarray(tokens, float)


def kaplan_forward_per_token(config: TransformerConfig, params: float | None = None):
    """Kaplan et al. (2020), Table 1: ``2 N + 2 n_layer n_ctx d_model`` forward FLOPs per token,
    ``N`` the non-embedding parameters (the config's, unless ``params`` is given)."""
    n = config.non_embedding_params if params is None else np.asarray(params, float)
    return _num(2.0 * n + 2.0 * np.asarray(config.n_layers * config.n_ctx * config.d_model, float))


def kaplan_flops(config: TransformerConfig, tokens, params: float | None = None):
    """Training FLOPs by Kaplan et al. (2020), Table 1: ``3 (2 N + 2 n_layer n_ctx d_model) D``."""
    return 3.0 * kaplan_forward_per_token(config, params) * np.asarray(tokens, float)


def hoffmann_terms(config: TransformerConfig) -> dict:
    """The forward FLOPs of one sequence of ``n_ctx`` tokens, term by term (Hoffmann et al. 2022,
    Appendix F); ``attention`` and ``dense`` are per layer. Floats, or arrays for a config of arrays."""
    S, V, d, H = (np.asarray(v, float) for v in (config.n_ctx, config.vocab, config.d_model, config.n_heads))
    kh = np.asarray(config.head_dim, float) * H
    terms = {
        "embeddings": 2.0 * S * V * d,
        "qkv": 2.0 * 3 * S * d * kh,
        "logits": 2.0 * S * S * kh,
        "softmax": 3.0 * H * S * S,
        "reduction": 2.0 * S * S * kh,
        "projection": 2.0 * S * kh * d,
        "dense": 2.0 * S * (d * config.d_ff + d * config.d_ff),
        "final_logits": 2.0 * S * d * V,
    }
    terms["attention"] = terms["qkv"] + terms["logits"] + terms["softmax"] + terms["reduction"] + terms["projection"]
    terms["forward"] = terms["embeddings"] + config.n_layers * (terms["attention"] + terms["dense"]) + terms["final_logits"]
    return {k: _num(v) for k, v in terms.items()}


def hoffmann_flops(config: TransformerConfig, tokens):
    """Training FLOPs by Hoffmann et al. (2022), Appendix F: 3 × the forward FLOPs per sequence,
    per token (÷ ``n_ctx``), times ``tokens``."""
    return 3.0 * hoffmann_terms(config)["forward"] / config.n_ctx * np.asarray(tokens, float)


def flops_column(runs, column: str = "compute"):
    """The training FLOPs the runs give in ``column`` (their compute column by default)."""
    if column == "compute":
        if not runs.has("compute") or "compute" in runs.derived:
            raise DataError("the runs have no FLOPs column of their own (compute is missing or derived as k·N·D); "
                            "map one as compute in the column mapping")
        return runs.values("compute")
    if column not in runs.frame.columns:
        raise DataError(f"no column `{column}` in the runs; they have {', '.join(map(str, runs.frame.columns))}")
    return runs.frame[column].to_numpy(dtype=float)


def training_flops(definition: str, config: TransformerConfig, tokens):
    """Training FLOPs of ``tokens`` by ``"kaplan2020"`` or ``"hoffmann2022"`` (per run for a config of arrays)."""
    if definition == "kaplan2020":
        return kaplan_flops(config, tokens)
    if definition == "hoffmann2022":
        return hoffmann_flops(config, tokens)
    raise DataError(f"unknown FLOPs definition `{definition}`; choose kaplan2020 or hoffmann2022")


def flops_per_param_token(definition: str, config: TransformerConfig | None = None) -> float:
    """``k = C / (N D)`` of a definition for one model shape: 6 for ``"6ND"``; Kaplan's
    ``3 (2 N + 2 n_layer n_ctx d) / N`` with N the non-embedding parameters (as Kaplan et al. count
    N); Hoffmann's ``3 × forward per token / N`` with N all parameters including the embeddings (as
    Hoffmann et al. count N)."""
    if definition == "6ND":
        return 6.0
    if config is None:
        raise DataError(f"the {definition} FLOPs definition needs a transformer config (layers, width, heads, context, vocabulary)")
    if definition == "kaplan2020":
        return 3.0 * kaplan_forward_per_token(config) / config.non_embedding_params
    if definition == "hoffmann2022":
        return 3.0 * hoffmann_terms(config)["forward"] / config.n_ctx / config.params
    raise DataError(f"unknown FLOPs definition `{definition}`; choose one of {', '.join(DEFINITIONS[:3])}")

"""FLOP definitions against numbers computed by hand, term by term, for a small transformer
(2 layers, d_model 64, 2 heads of 32, context 128, vocabulary 1,000, feed-forward 256)."""

from __future__ import annotations

import pytest

from scalecore.errors import DataError
from scalecore.flops import (TransformerConfig, flops_per_param_token, hoffmann_flops, hoffmann_terms, kaplan_flops,
                             six_nd)

SMALL = TransformerConfig(n_layers=2, d_model=64, n_heads=2, n_ctx=128, vocab=1000, d_ff=256)


def test_hoffmann_appendix_f_by_hand():
    t = hoffmann_terms(SMALL)
    # Hoffmann et al. 2022, Appendix F, per sequence of 128 tokens (k/q size 32 x 2 heads = 64):
    assert t["embeddings"] == 2 * 128 * 1000 * 64 == 16_384_000
    assert t["qkv"] == 2 * 3 * 128 * 64 * 64 == 3_145_728
    assert t["logits"] == 2 * 128 * 128 * 64 == 2_097_152
    assert t["softmax"] == 3 * 2 * 128 * 128 == 98_304
    assert t["reduction"] == 2_097_152
    assert t["projection"] == 2 * 128 * 64 * 64 == 1_048_576
    assert t["attention"] == 3_145_728 + 2_097_152 + 98_304 + 2_097_152 + 1_048_576 == 8_486_912
    assert t["dense"] == 2 * 128 * (64 * 256 + 64 * 256) == 8_388_608
    assert t["final_logits"] == 2 * 128 * 64 * 1000 == 16_384_000
    # forward = embeddings + 2 layers x (attention + dense) + logits = 66,519,040 per sequence
    assert t["forward"] == 16_384_000 + 2 * (8_486_912 + 8_388_608) + 16_384_000 == 66_519_040
    # training: x3, per token (/128): 1,559,040 FLOPs per token; 1e6 tokens
    assert hoffmann_flops(SMALL, 1e6) == pytest.approx(3 * 66_519_040 / 128 * 1e6, rel=1e-15)
    assert 3 * 66_519_040 / 128 == 1_559_040


def test_kaplan_table_1_by_hand():
    # N (non-embedding) = 2 layers x (4 x 64 x 64 + 2 x 64 x 256) = 98,304 = 12 n_layer d_model^2
    assert SMALL.non_embedding_params == 98_304 == 12 * 2 * 64**2
    # forward per token 2N + 2 n_layer n_ctx d_model = 196,608 + 32,768 = 229,376; training x3
    assert kaplan_flops(SMALL, 1.0) == 3 * 229_376 == 688_128
    assert kaplan_flops(SMALL, 1e9) == pytest.approx(688_128e9, rel=1e-15)
    # Kaplan et al. (section 2.1): the context term is n_ctx / (12 d_model) of 2N
    assert kaplan_flops(SMALL, 1.0) / six_nd(SMALL.non_embedding_params, 1.0) == pytest.approx(1 + 128 / (12 * 64))


def test_flops_per_param_token():
    assert flops_per_param_token("6ND") == 6.0
    assert six_nd(7e9, 1.4e12) == pytest.approx(5.88e22)
    assert flops_per_param_token("kaplan2020", SMALL) == pytest.approx(688_128 / 98_304)  # 7.0
    # Hoffmann: per token 1,559,040 over all parameters 98,304 + 64,000 embedding = 162,304
    assert SMALL.params == 162_304
    assert flops_per_param_token("hoffmann2022", SMALL) == pytest.approx(1_559_040 / 162_304)
    with pytest.raises(DataError, match="needs a transformer config"):
        flops_per_param_token("kaplan2020")
    with pytest.raises(DataError, match="must be a positive number"):
        TransformerConfig(n_layers=0, d_model=64, n_heads=2, n_ctx=128, vocab=1000)

"""Scales written as people type them, also at the rounding edges of a suffix (issue 24: the
crossover sentence printed its search range for params as "1e+03–1e+03T")."""

import math

from scalecore.comparison import Crossover
from scalecore.formatting import scale_text, short_number
from scalecore.uncertainty import Estimate


def test_bounds_computed_through_logs_keep_their_suffix():
    # what the crossover search computes: exp(log(1e3)) and exp(log(1e15)) land just below the powers
    lo, hi = math.exp(math.log(1e3) - 1e-12), math.exp(math.log(1e15) - 1e-12)
    assert lo < 1e3 and hi < 1e15
    assert scale_text(lo, "params") == "1K"
    assert scale_text(hi, "params") == "1e15"  # beyond T: an exponent (as scale_text(2.5e16) == "2.5e16")
    assert scale_text(999_999.6, "tokens") == "1M" and scale_text(9.996e11, "params") == "1T"
    assert scale_text(1234, "params") == "1.23K" and scale_text(-2500, "tokens") == "-2.5K"


def test_short_number_rounds_before_choosing_the_notation():
    assert short_number(999.9999) == "1000" and short_number(1000) == "1000" and short_number(1234) == "1230"
    assert short_number(9999.7) == "1e4" and short_number(9.99999e14) == "1e15"
    assert short_number(0.000999) == "9.99e-4" and short_number(1.5e16) == "1.5e16" and short_number(7e10) == "7e10"
    assert short_number(2.31) == "2.31" and short_number(-3.3e-7) == "-3.3e-7"


def test_crossover_sentence_names_its_search_range_readably():
    nan = Estimate(math.nan, math.nan, math.nan)
    cross = Crossover(a="ssm", b="transformer", axis="params", status="none", x=nan, metric=nan, share=0.02,
                      share_inside=0.0, fitted_range=(1e7, 1e11),
                      searched=(math.exp(math.log(1e3) - 1e-12), math.exp(math.log(1e15) - 1e-12)),
                      n_pairs=1000, interval="")
    text = cross.text()
    assert "(nor within 1K–1e15)" in text, text
    assert "e+0" not in text

import math

import pytest

from scalecore.formatting import format_estimate, format_interval, format_number, scale_text


@pytest.mark.parametrize(
    "value, low, high, expected",
    [
        (0.34781, 0.33012, 0.36544, ("0.348", "0.330", "0.365")),  # half-width 0.0177 -> 177: two digits
        (0.34781, 0.3, 0.39, ("0.35", "0.30", "0.39")),  # 0.0422 -> 422: one digit
        (482.01, 380.2, 590.7, ("480", "380", "590")),  # 101.8 -> 102: two digits, tens place
        (1.8172, 1.8161, 1.8181, ("1.8172", "1.8161", "1.8181")),
        (2.1e10, 1.6e10, 2.9e10, ("2.1e+10", "1.6e+10", "2.9e+10")),
        # each number normalised (not 0.89e+11 beside another row's 8.6e+09), all to the 1e9 place
        (8.9123e10, 6.1e10, 1.3249e11, ("8.9e+10", "6.1e+10", "1.32e+11")),
        (3.2e-5, 1.1e-5, 9.97e-5, ("3.2e-05", "1.1e-05", "1.00e-04")),  # 9.97 rounds up to the next power
        (1.5e6, -2e5, 3.1e6, ("1.5e+06", "-2e+05", "3.1e+06")),
        # an end decades below the value keeps two digits of its own: "0" would read as a zero
        (1.5e13, 2.345e9, 3.87e14, ("1.5e+13", "2.3e+09", "3.87e+14")),
        (0.5, 0.000412, 0.9, ("0.5", "0.00041", "0.9")),
        (0.5, 0.0, 0.9, ("0.5", "0.0", "0.9")),  # a true zero stays at the common place
        (0.004, -0.5, 0.6, ("0.0", "-0.5", "0.6")),  # a value is rounded as PDG's rule says
    ],
)
def test_pdg_rounding(value, low, high, expected):
    assert format_interval(value, low, high) == expected


def test_estimate_string():
    assert format_estimate(0.34781, 0.33012, 0.36544) == "0.348 [0.330, 0.365]"


def test_numbers_without_uncertainty():
    assert format_number(1234.5678) == "1235"
    assert format_number(0.012346) == "0.01235"
    assert format_number(7e9) == "7.000e+09"
    assert format_number(math.nan) == "nan"


def test_scales_are_written_as_people_type_them():
    """A model size or token count as "70B" or "1.4T" (what the target box takes), compute as "1e24"."""
    assert scale_text(7e10, "params") == "70B"
    assert scale_text(1.4e12, "tokens") == "1.4T"
    assert scale_text(3.5e8, "params") == "350M" and scale_text(2500, "tokens") == "2.5K"
    assert scale_text(1e24, "compute") == "1e24" and scale_text(7e10, None) == "7e10"
    assert scale_text(2.5e16, "tokens") == "2.5e16"  # beyond T: an exponent, not "25000T"
    assert scale_text(500, "params") == "500" and scale_text(None, "params") == ""

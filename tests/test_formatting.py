import math

import pytest

import pandas as pd

from scalecore.formatting import (column_formats, format_estimate, format_interval, format_number, format_table,
                                  format_value, scale_text)
from scalecore.uncertainty import Estimate

nan, inf = math.nan, math.inf


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
        # a nonzero value is never shown as 0 (issue 20): it keeps two digits of its own, as an end does
        (0.004, -0.5, 0.6, ("0.0040", "-0.5", "0.6")),
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


# ------------------------------------------------------------------------------ kinds (issue 20)


@pytest.mark.parametrize("est, kind, expected", [
    # every case tests/test_budget.py checks of budget.format_answer, which this replaces
    (Estimate(7.2e10, 6.5e10, 1.3e11, 1e10), "count", "72B [65B, 130B]"),
    (Estimate(2.47e23, 2.31e23, 3.9e23, 1e22), "flops", "2.47e23 [2.31e23, 3.90e23]"),
    (Estimate(1.96, nan, nan, nan), "plain", "1.960"),
    (Estimate(1e24, 1e24, 1e24, 0.0), "flops", "1.000e24"),
    (Estimate(1.755e6, nan, nan, nan), "money", "$1.755M"),
    (Estimate(0.2026, 0.1729, 0.3009, 0.03), "fraction", "20.3% [17.3%, 30.1%]"),
    (Estimate(3e23, 1e23, inf, inf), "flops", "3.00e23 [1.00e23, unbounded]"),
    (Estimate(0.0, 3e-12, 0.0234, 0.01), "plain", "0.000 [0.000, 0.023]"),
    (Estimate(0.0, 2e9, 6.3e22, 1e22), "flops", "0 [0, 6e22]"),
    # the CLI's budget line "compute-optimal model size N*  95.86B"
    (Estimate(9.586e10, nan, nan, nan), "count", "95.86B"),
])
def test_format_estimate_reproduces_budget_format_answer(est, kind, expected):
    assert format_estimate(est, kind=kind) == expected
    assert format_estimate(est.value, est.low, est.high, kind=kind) == expected


def test_old_positional_call_gives_today_s_text():
    assert format_estimate(0.34781, 0.33012, 0.36544) == "0.348 [0.330, 0.365]"
    assert format_estimate(8.9123e10, 6.1e10, 1.3249e11) == "8.9e+10 [6.1e+10, 1.32e+11]"
    assert format_estimate(Estimate(0.34781, 0.33012, 0.36544)) == "0.348 [0.330, 0.365]"


def test_a_target_loss_near_e_gives_trillions_not_zero():
    """Budget's target-loss row showed `0T [0T, 350T]` for N = 3e12: the one-sided interval took
    the wide side's place (tens of T) and rounded the value and its near end to zero."""
    assert format_estimate(Estimate(3.02e12, 3.0e12, 3.5e14), kind="count") == "3.0T [3.0T, 350T]"


def test_scientific_notation_is_normalised_per_number():
    """`[0.351e26, unbounded]` and `13.0e23`: every number took the value's exponent."""
    assert format_estimate(8.3e25, 3.51e24, inf, kind="flops") == "8.30e25 [3.51e24, unbounded]"
    assert format_estimate(8e23, 6e23, 1.3e24, kind="flops") == "8.0e23 [6.0e23, 1.30e24]"
    assert format_value(9.9996e23, "flops") == "1.000e24"  # not "10.00e23"


def test_one_sided_interval_with_a_tiny_value():
    """`1.9287498479639e-22 [1.9287498479639e-22, …]`: the value at its low end, decades below
    the high one, keeps two digits and an exponent; the high end has the wide side's precision."""
    assert format_estimate(1.9287498479639e-22, 1.9287498479639e-22, 0.0234) == "1.9e-22 [1.9e-22, 0.023]"
    # the low end a hair below: PDG on that hair printed fourteen digits
    v = 1.9287498479639e-22
    assert format_interval(v, v * (1 - 1e-12), 3.1e-20) == ("1.9e-22", "1.9e-22", "3.1e-20")
    assert format_interval(0.5, 0.5 - 1e-15, 0.9) == ("0.5", "0.5", "0.9")


def test_counts_take_suffixes_people_use():
    """`[2e+03, 2.38e+05]` beside `[9e+10, 2.0e+11]` for sizes: written as counts they read as such."""
    assert format_estimate(8e3, 2e3, 2.38e5, kind="count") == "8K [2K, 238K]"
    assert format_estimate(1.3e11, 9e10, 2.0e11, kind="count") == "130B [90B, 200B]"
    assert format_value(7.23e10, "count", 3) == "72.3B" and format_value(1.33e12, "count", 3) == "1.33T"
    assert format_value(3.5e8, "count", 3) == "350M" and format_value(512, "count") == "512.0"
    assert format_value(2.5e16, "count") == "2.500e16"  # beyond T: an exponent, not "25000T"
    assert format_estimate(5.2e14, 4.5e14, 2.06e15, kind="count") == "520T [450T, 2060T]"
    assert format_value(1.84e6, "money", 3) == "$1.84M" and format_value(-2500, "money", 2) == "-$2.5K"


def test_other_kinds():
    assert format_value(0.2, "fraction", 2) == "20%"
    assert format_value(5.8e24, "flops", 2) == "5.8e24"
    assert format_value(30.0, "days") == "30.00" and format_value(1.2e7, "days") == "12000000"
    assert format_value(1.2e10, "days") == "1.200e+10"
    assert format_value(1.9641, "loss") == "1.964"
    with pytest.raises(ValueError, match="unknown number kind"):
        format_value(1.0, "furlongs")


def test_no_interval_unbounded_and_missing():
    assert format_estimate(2.5, nan, nan) == "2.500"  # not "2.500 [nan, nan]"
    assert format_estimate(2.5) == "2.500" and format_estimate(2.5, 2.5, 2.5) == "2.500"
    assert format_estimate(inf, 1.0, inf) == "unbounded" and format_estimate(nan, 1.0, 2.0) == "n/a"
    assert format_estimate(1.5, -inf, 2.0) == "1.50 [unbounded, 2.00]"
    assert format_interval(1.5, 1.0, inf) == ("1.50", "1.00", "unbounded")
    assert format_interval(1.5, nan, nan) == ("1.500", "nan", "nan")


def test_interval_ends_never_round_to_zero():
    # PDG on the narrow side (0.0496: one digit) keeps two decimals; the low end 0.0004 would be
    # "0.00": it keeps two digits of its own
    assert format_estimate(0.05, 0.0004, 1.2) == "0.05 [0.00040, 1.20]"
    assert format_estimate(3e-12, 1e-13, 5e-12) == "3.0e-12 [1e-13, 5.0e-12]"
    # the narrow half-width 0.06 (one digit) sets the hundredths for all three
    assert format_estimate(3.02, 2.96, 3.5) == "3.02 [2.96, 3.50]"


def test_column_formats_write_each_kind():
    frame = pd.DataFrame({"name": ["a", "b"], "params": [97179142668.0847, nan],
                          "compute": [3.0000000000000094e21, 1e24], "days": [30.0, 2.5]})
    fmts = column_formats({"params": "count", "compute": "flops", "days": "days"})
    assert [fmts["params"](x) for x in frame["params"]] == ["97.18B", ""]
    assert [fmts["compute"](x) for x in frame["compute"]] == ["3.000e21", "1.000e24"]
    shown = format_table(frame, {"params": "count", "compute": "flops", "days": "days", "absent": "plain"})
    assert shown.to_dict("list") == {"name": ["a", "b"], "params": ["97.18B", ""],
                                     "compute": ["3.000e21", "1.000e24"], "days": ["30.00", "2.500"]}
    assert frame["params"].iloc[0] == 97179142668.0847  # the frame itself is not changed


def test_budget_target_loss_near_e_on_the_bundled_sample():
    """The Budget page's target-loss rows on sample_runs/chinchilla_like.csv: a loss just above E
    needs a model of hundreds of trillions of parameters; the row said `0T [0T, 130000T]`."""
    from pathlib import Path

    from scalecore import bootstrap, budget, load_runs, parse_number

    runs = load_runs(Path(__file__).resolve().parents[1] / "sample_runs" / "chinchilla_like.csv")
    boot = bootstrap(runs, "chinchilla", n_resamples=200, seed=0)
    inverse = budget.compute_for_loss(budget.Law.from_bootstrap(boot), boot.fit.params["E"] * 1.005)
    for key in ("params", "tokens", "compute"):
        e = inverse[key]
        kind = budget.ANSWER_KINDS[key]
        text = format_estimate(e, kind=kind)
        value, _, rest = text.partition(" [")
        low = rest.split(", ")[0]
        # each shown number reads back as itself to its two or three significant digits
        assert parse_number(value) == pytest.approx(e.value, rel=0.05), text
        assert parse_number(low) == pytest.approx(e.low, rel=0.05), text


def test_an_estimate_prints_as_the_surfaces_write_it():
    e = Estimate(0.34781, 0.33012, 0.36544, 0.01, 0.95)
    assert str(e) == e.text() == "0.348 [0.330, 0.365]" and e.text("fraction") == "34.8% [33.0%, 36.5%]"
    assert repr(e).startswith("Estimate(value=0.34781, low=0.33012")


def test_every_kind_has_a_streamlit_column_format():
    from scalecore.formatting import KINDS, STREAMLIT_FORMATS

    assert set(STREAMLIT_FORMATS) == set(KINDS)


@pytest.mark.parametrize("value, low, high, kind, expected", [
    (7e10, 4.5e9, 1.33e12, "count", "70B [4.5B, 1.3T]"),  # was "0.07T [0.0045T, 1.33T]"
    (6.9e3, 54.0, 2.3e6, "money", "$6.9K [$54, $2.3M]"),  # was "$0.0069M [$5.4e-05M, $2.3M]"
    (9.99e11, 1e10, 1e13, "count", "1T [10B, 10T]"),  # rounded before the suffix is chosen
    (7.2e10, 6.5e10, 1.3e11, "count", "72B [65B, 130B]"),  # a factor 2: one suffix, as before
])
def test_an_interval_spanning_decades_gives_each_count_its_own_suffix(value, low, high, kind, expected):
    assert format_estimate(value, low, high, kind=kind) == expected

"""The widget helpers the pages share (ui/widgets.py), the family link helpers (ui/state.py) and the
computations moved out of the pages into scalecore, each against values written out here."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from scalecore import FAMILIES, Estimate, load_runs
from scalecore import budget, comparison, formatting
from ui import state, widgets


@pytest.fixture
def session(monkeypatch):
    """``st.session_state`` as a plain dict (keep_valid reads and writes nothing else)."""
    ss: dict = {}
    monkeypatch.setattr(widgets, "st", SimpleNamespace(session_state=ss))
    return ss


# ------------------------------------------------------------------------------ labels, families in links


def test_label_is_the_family_s_label_and_an_unknown_name_as_it_is():
    assert widgets.label("chinchilla") == "Chinchilla"
    assert widgets.label("offset_power_law") == "Saturating power law"
    assert widgets.label("retired_family") == "retired_family"


def test_families_are_written_as_labels_and_read_from_labels_or_names():
    assert state.encode_families(["chinchilla", "kaplan"]) == ["Chinchilla", "Kaplan"]
    assert state.decode_families(["Chinchilla", "Kaplan"]) == ["chinchilla", "kaplan"]
    assert state.decode_families(["chinchilla", "kaplan"]) == ["chinchilla", "kaplan"]
    # mixed, repeated, other case, unknown: each family once, in order, unknown values dropped
    assert state.decode_families(["kaplan", "Saturating power law", "KAPLAN", "nope", ""]) == \
        ["kaplan", "offset_power_law"]
    for name in FAMILIES:
        assert state.decode_families(state.encode_families([name])) == [name]


# ------------------------------------------------------------------------------ keep_valid


def test_a_single_choice_keeps_a_valid_value_and_replaces_a_missing_or_stale_one(session):
    widgets.keep_valid("metric", ["loss", "acc"], "loss")
    assert session["metric"] == "loss"  # unset: the fallback
    session["metric"] = "acc"
    widgets.keep_valid("metric", ["loss", "acc"], "loss")
    assert session["metric"] == "acc"  # still an option: kept
    widgets.keep_valid("metric", ["ppl"], "ppl")
    assert session["metric"] == "ppl"  # another dataset: the fallback


def test_a_multi_choice_keeps_what_still_fits_and_takes_the_defaults_on_other_data(session):
    widgets.keep_valid("fam", ["a", "b", "c"], ["a"], multi=True)
    assert session["fam"] == ["a"]
    session["fam"] = ["b", "c"]
    widgets.keep_valid("fam", ["a", "b", "c"], ["a"], multi=True)
    assert session["fam"] == ["b", "c"]
    widgets.keep_valid("fam", ["a", "b"], ["a"], multi=True)  # another metric: c no longer applies
    assert session["fam"] == ["b"]
    widgets.keep_valid("fam", ["x", "y"], ["x"], multi=True)  # another dataset: nothing shared
    assert session["fam"] == ["x"]


def test_a_comparison_needs_two_groups_left_or_takes_the_defaults(session):
    session["groups"] = ["dense", "moe", "ssm"]
    widgets.keep_valid("groups", ["dense", "moe", "ssm"], ["dense", "moe"], multi=True, at_least=2)
    assert session["groups"] == ["dense", "moe", "ssm"]
    widgets.keep_valid("groups", ["dense", "moe"], ["dense", "moe"], multi=True, at_least=2)
    assert session["groups"] == ["dense", "moe"]  # two left: kept
    session["groups"] = ["dense", "ssm"]
    widgets.keep_valid("groups", ["dense", "moe"], ["dense", "moe"], multi=True, at_least=2)
    assert session["groups"] == ["dense", "moe"]  # one left: the defaults


# ------------------------------------------------------------------------------ points, text, cards

CSV = "run_id,group,params,tokens,loss,acc\nr1,g1,1e8,2e9,3.1,0.30\nr2,g1,2e8,4e9,2.9,\nr3,g2,4e8,8e9,2.7,0.41\n"


def test_run_points_mark_the_excluded_runs_and_keep_only_runs_with_values(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(CSV)
    runs = load_runs(path)
    k = runs.flops_per_token_param
    pts = widgets.run_points(runs, "params", "loss", {"r2": "diverged"})
    assert list(pts.run_ids) == ["r1", "r2", "r3"]
    np.testing.assert_array_equal(pts.x, [1e8, 2e8, 4e8])
    np.testing.assert_array_equal(pts.y, [3.1, 2.9, 2.7])
    assert list(pts.excluded) == [False, True, False]
    assert list(pts.reasons) == ["", "diverged", ""]
    # sizes and compute as formatting writes them (counts with suffixes, FLOPs in scientific notation)
    assert pts.hover[0] == f"group g1<br>N 100M · D 2.00B · C {formatting.format_value(k * 1e8 * 2e9, 'flops', 3)}"
    assert (pts.x_kind, pts.y_kind) == ("count", "plain")
    with_acc = widgets.run_points(runs, "loss", "acc", {"r2": "diverged"}, only_with=("acc",))
    assert list(with_acc.run_ids) == ["r1", "r3"] and list(with_acc.excluded) == [False, False]
    np.testing.assert_array_equal(with_acc.y, [0.30, 0.41])
    assert with_acc.hover[1].startswith("group g2<br>N 400M")


def test_an_estimate_reads_value_and_interval_rounded_together_or_its_bare_value():
    # half-width 0.0169: two significant digits of it (PDG), so three decimals for all three
    assert widgets.estimate_text(Estimate(0.3481, 0.3312, 0.3663)) == "0.348 [0.331, 0.366]"
    assert widgets.estimate_text(Estimate(2.3106, 2.2712, 2.3598)) == "2.31 [2.27, 2.36]"
    assert widgets.estimate_text(Estimate(1.5, math.nan, math.nan)) == "1.500"
    # an unbounded end is said, not hidden behind the bare value; counts take their suffix
    assert widgets.estimate_text(Estimate(3.2e12, 1e12, math.inf), "count") == "3.20T [1.00T, unbounded]"


class Column:
    def __init__(self):
        self.shown = []

    def metric(self, label, value, help=None):
        self.shown.append(("metric", label, value))

    def caption(self, text):
        self.shown.append(("caption", text))


def test_an_estimate_card_shows_the_rounded_value_and_the_interval_under_it():
    col = Column()
    widgets.estimate_card(col, "a", Estimate(0.503, 0.401, 0.622), 0.95)  # half-width 0.102: two decimals
    assert col.shown == [("metric", "a", "0.50"), ("caption", "95% interval [0.40, 0.62]")]
    col = Column()
    widgets.estimate_card(col, "N*", Estimate(7.0e10, math.nan, math.nan), 0.9)
    assert col.shown == [("metric", "N*", "7e10")]  # plots.short_number, no interval


# ------------------------------------------------------------------------------ defaults from the families


def test_the_default_loss_law_is_the_first_in_n_and_d_whatever_its_name():
    assert widgets.default_loss_law(["power_law", "offset_power_law", "chinchilla", "kaplan"]) == "chinchilla"
    assert widgets.default_loss_law(["power_law", "kaplan"]) == "kaplan"
    assert widgets.default_loss_law(["offset_power_law", "power_law"]) == "offset_power_law"


def test_the_typed_constants_start_from_the_family_s_worked_example_if_it_has_numbers():
    # the text the Budget page showed for Chinchilla before (Hoffmann et al. 2022, as printed)
    assert widgets.default_law_text("chinchilla") == "E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28"
    assert widgets.default_law_text("kaplan") == ""


# ------------------------------------------------------------------------------ moved out of the pages


def test_the_allocation_table_plans_at_the_next_power_of_ten():
    assert budget.next_decade(np.array([3e21, 5.5e22, np.nan])) == pytest.approx(1e23, rel=1e-15)
    assert budget.next_decade(np.array([1e22, 1e23])) == pytest.approx(1e23, rel=1e-15)
    assert budget.next_decade(np.array([1.01e23])) == pytest.approx(1e24, rel=1e-15)


def test_compute_and_tokens_are_k_n_d():
    assert budget.training_compute(7e10, 1.4e12, 6.0) == pytest.approx(5.88e23, rel=1e-12)
    assert budget.tokens_for(5.88e23, 7e10, 6.0) == pytest.approx(1.4e12, rel=1e-12)


def test_the_bootstrap_scatter_opens_on_two_parameters_of_the_family():
    assert FAMILIES["chinchilla"].shown_pair == ("alpha", "beta")
    assert FAMILIES["kaplan"].shown_pair == ("alpha_N", "alpha_D")
    for fam in FAMILIES.values():
        a, b = fam.shown_pair
        assert a != b and {a, b} <= set(fam.param_names)


def test_groups_of_a_single_budget_each_are_told_apart_from_groups_spanning_scales(tmp_path):
    rows = ["run_id,arch,params,tokens,loss"]
    for i, (n, d) in enumerate([(1e8, 2e9), (2e8, 1e9), (4e8, 5e8)]):  # one budget: 6·N·D = 1.2e18
        rows.append(f"a{i},iso,{n},{d},{3 - i * 0.1}")
    for i, (n, d) in enumerate([(1e8, 2e9), (2e8, 4e9), (4e8, 8e9)]):
        rows.append(f"b{i},scan,{n},{d},{3 - i * 0.2}")
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    runs = load_runs(path)
    assert comparison.one_budget_each(runs, "arch", ["iso"]) is True
    assert comparison.one_budget_each(runs, "arch", ["iso", "scan"]) is False
    frame = pd.DataFrame({"run_id": ["x"], "params": [1e8], "loss": [3.0]})
    assert comparison.one_budget_each(SimpleNamespace(has=lambda role: False, frame=frame), "arch", ["iso"]) is False


def test_the_budget_offers_laws_in_n_and_d_first_then_laws_with_a_floor():
    from ui import budget_state

    loss_laws = [f for f, fam in FAMILIES.items() if fam.metric_kind == "loss"]
    # the order the page hard-coded by name before
    assert budget_state.plan_order(loss_laws) == ["chinchilla", "kaplan", "offset_power_law", "broken_power_law",
                                                  "power_law"]
    assert budget_state.plan_order(["power_law", "broken_power_law", "offset_power_law"]) == \
        ["offset_power_law", "broken_power_law", "power_law"]


class Box(Column):
    def __init__(self, typed: str):
        super().__init__()
        self.typed = typed

    def text_input(self, label, value="", key=None, help=None, placeholder="", **bound):
        self.shown.append(("text_input", label, key, bound))
        return self.typed

    def error(self, text):
        self.shown.append(("error", text))


def test_a_number_box_reads_suffixed_numbers_and_says_what_is_wrong_under_it():
    box = Box("70B")
    assert widgets.number_box(box, "N", "n_key") == 70e9
    assert box.shown == [("text_input", "N", "n_key", widgets.URL)]  # bound to the URL
    assert widgets.number_box(Box(""), "N", "n_key") is None
    box = Box("12 apples")
    assert widgets.number_box(box, "Extrapolate to", "target_compute") is None
    assert box.shown[-1] == ("error", "“12 apples” is not a number. Write it like 70B, 1.4T, 3e23 or 1e24.")
    box = Box("-3")
    assert widgets.number_box(box, "Training compute", "b_compute", noun="value") is None
    assert box.shown[-1] == ("error", "The value must be a positive number; got “-3”.")


def test_a_runs_table_s_edits_become_exclusions_with_their_reasons():
    before = {"r1": "diverged", "r2": "lasso on the plot"}
    edits = {0: {"excluded": True},                       # r0 ticked: the table's reason
             1: {"excluded": False},                      # r1 unticked: back in
             2: {"reason": "  NaN at step 900 "},         # r2's reason edited (trimmed)
             3: {"excluded": True, "reason": "bad seed"},  # r3 ticked with a typed reason
             4: {"reason": "ignored"}}                    # r4 is not excluded: a reason alone does nothing
    after = state.table_edits(before, edits, ["r0", "r1", "r2", "r3", "r4"])
    assert after == {"r0": "ticked in the table", "r2": "NaN at step 900", "r3": "bad seed"}
    assert before == {"r1": "diverged", "r2": "lasso on the plot"}  # the old dict is left alone

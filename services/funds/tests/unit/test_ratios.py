"""Share rules on actual spend with the Ruyuan figures (attachment 2 of the phase-2 plan):
phase 1 + phase 2 = 20,000,000.00 yuan; logistics 3,550,000 + 2,200,000 = 5,750,000 = 28.75 %
against "in principle not below 50 %"; hardware ≤ 10 %; training ≤ 15 %."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruralfund_common.errors import DomainError
from ruralfund_funds.domain.ratios import Justification, Phase, Rule, ShareBook, Spend, percent

YUAN = 100
PUBLIC, LOGISTICS, RETAIL, TRAINING = "public-service-system", "three-tier-logistics", "retail-upgrade", "entrepreneur-training"
PHASE2_LINES = {PUBLIC: 4_900_000 * YUAN, LOGISTICS: 2_200_000 * YUAN, RETAIL: 2_350_000 * YUAN, TRAINING: 550_000 * YUAN}
PHASE1_LINES = {PUBLIC: 3_500_000 * YUAN, LOGISTICS: 3_550_000 * YUAN, RETAIL: 2_000_000 * YUAN, TRAINING: 950_000 * YUAN}
RULES = [
    Rule.of("hardware-decoration-max", "硬件设备购置和装修费用合计占比", "max", "10", "error", measure="hardware"),
    Rule.of("logistics-min", "健全县镇村三级物流配送体系累计占比", "min", "50", "warning", lines=[LOGISTICS]),
    Rule.of("training-max", "培育农村电商创业带头人累计占比", "max", "15", "error", lines=[TRAINING]),
]
NOW = datetime(2026, 3, 2, 2, tzinfo=UTC)


def ruyuan(phase1_measures: dict[str, int] | None = None) -> ShareBook:
    phase1 = Phase("first", "首期", 10_000_000 * YUAN, dict(PHASE1_LINES), dict(phase1_measures or {}))
    return ShareBook(list(RULES), [phase1], 10_000_000 * YUAN, Spend())


def by_rule(statuses) -> dict:
    return {s.rule.code: s for s in statuses}


def refusal(fn) -> DomainError:
    with pytest.raises(DomainError) as e:
        fn()
    return e.value


def test_cumulative_fund_is_both_phases():
    assert ruyuan().denominator_fen == 20_000_000 * YUAN


def test_plan_figures_flag_the_logistics_share_at_28_75_percent():
    plan = {p["rule"]: p for p in ruyuan().plan(PHASE2_LINES, {})}
    assert plan["logistics-min"]["share"] == "28.75" and plan["logistics-min"]["status"] == "breached"
    assert plan["logistics-min"]["counted_fen"] == 5_750_000 * YUAN
    assert plan["training-max"]["share"] == "7.50" and plan["training-max"]["status"] == "met"
    # phase 1's hardware was never recorded: unknown, never read as zero
    assert plan["hardware-decoration-max"]["status"] == "unverified"
    assert plan["hardware-decoration-max"]["unverified_phases"] == ["first"]


def test_hardware_payment_past_10_percent_is_refused_and_exactly_10_is_allowed():
    book = ruyuan({"hardware": 1_500_000 * YUAN})  # phase 1's final accounts
    book.record(PUBLIC, "hardware", 400_000 * YUAN)  # phase 2's hardware paid so far
    err = refusal(lambda: book.check(PUBLIC, "hardware", 200_000 * YUAN, []))
    assert err.code == "RATIO_LIMIT_EXCEEDED" and err.status == 409
    assert err.details["rule"] == "hardware-decoration-max"
    assert (err.details["share_before"], err.details["share_after"], err.details["limit_percent"]) == ("9.50", "10.50", "10")
    statuses = by_rule(book.check(PUBLIC, "hardware", 100_000 * YUAN, []))
    assert statuses["hardware-decoration-max"].status == "met"
    assert statuses["hardware-decoration-max"].after_fen == 2_000_000 * YUAN  # 10.00 % exactly: not above
    # the same money not classified as hardware is not limited by that rule
    assert by_rule(book.check(PUBLIC, None, 200_000 * YUAN, []))["hardware-decoration-max"].status == "met"


def test_unknown_phase1_hardware_is_judged_on_known_figures_and_reported_unverified():
    book = ruyuan()  # phase 1 hardware unknown
    statuses = by_rule(book.check(PUBLIC, "hardware", 1_000_000 * YUAN, []))
    assert statuses["hardware-decoration-max"].status == "unverified"
    assert statuses["hardware-decoration-max"].unknown_phases == ("first",)
    # the unknown can only add: known figures alone above the limit are refused
    book.record(PUBLIC, "hardware", 1_900_000 * YUAN)
    assert refusal(lambda: book.check(PUBLIC, "hardware", 200_000 * YUAN, [])).code == "RATIO_LIMIT_EXCEEDED"


def test_logistics_minimum_warns_once_non_logistics_spend_passes_50_percent():
    book = ruyuan()
    # phase 1 spent 6,450,000 outside logistics (32.25 %); 3,550,000 more reaches 50 % exactly
    book.record(PUBLIC, None, 3_000_000 * YUAN)
    statuses = by_rule(book.check(RETAIL, None, 550_000 * YUAN, []))
    assert statuses["logistics-min"].status == "at_risk"  # still reachable
    book.record(RETAIL, None, 550_000 * YUAN)
    err = refusal(lambda: book.check(RETAIL, None, 1, []))
    assert err.code == "RATIO_JUSTIFICATION_REQUIRED" and err.field == "ratio_justifications"
    assert [w["rule"] for w in err.details["warnings"]] == ["logistics-min"]
    statuses = by_rule(book.check(RETAIL, None, 1, ["logistics-min"]))
    assert statuses["logistics-min"].status == "breached"
    # a logistics payment moves the share the right way: never needs a justification
    assert not by_rule(book.check(LOGISTICS, None, 100_000 * YUAN, []))["logistics-min"].affected


def test_training_ceiling_on_lines():
    book = ruyuan()
    book.record(TRAINING, None, 2_050_000 * YUAN)  # 950,000 + 2,050,000 = 3,000,000 = 15 %
    assert by_rule(book.check(TRAINING, None, 0, []))["training-max"].status == "met"
    err = refusal(lambda: book.check(TRAINING, None, 1, []))
    assert err.code == "RATIO_LIMIT_EXCEEDED" and err.details["share_after"] == "15.00"  # 15.0000005 % shown rounded


def test_a_breached_rule_does_not_block_payments_that_do_not_add_to_it():
    book = ruyuan({"hardware": 2_500_000 * YUAN})  # phase 1 alone is 12.5 %
    assert by_rule(book.judge())["hardware-decoration-max"].status == "breached"
    by_rule(book.check(TRAINING, None, 10_000 * YUAN, []))  # not refused


def test_limits_are_exact_decimals_never_floats():
    rule = Rule.of("r", "r", "max", "12.5", "error", lines=["a"])
    book = ShareBook([rule], [], 1_000 * YUAN, Spend())
    book.check("a", None, 125 * YUAN, [])  # exactly 12.5 %
    assert refusal(lambda: book.check("a", None, 125 * YUAN + 1, [])).code == "RATIO_LIMIT_EXCEEDED"
    assert (str(percent(1, 3)), str(percent(2, 3)), str(percent(1, 0))) == ("33.33", "66.67", "0.00")


def test_a_justification_has_text():
    assert refusal(lambda: Justification("logistics-min", "  ", "u", NOW)).code == "JUSTIFICATION_TEXT_INVALID"


def test_final_accounts_replace_plan_figures_one_by_one():
    phase1 = ruyuan().history[0]
    actual = phase1.with_final_accounts({LOGISTICS: 3_400_000 * YUAN}, {"hardware": 1_500_000 * YUAN})
    assert actual.lines[LOGISTICS] == 3_400_000 * YUAN and actual.lines[PUBLIC] == 3_500_000 * YUAN
    assert actual.measures == {"hardware": 1_500_000 * YUAN}
    assert refusal(lambda: phase1.with_final_accounts({"nope": 1}, {})).field == "lines.nope"
    assert refusal(lambda: phase1.with_final_accounts({PUBLIC: 5_000_000 * YUAN}, {})).code == "HISTORY_EXCEEDS_TOTAL"
    assert refusal(lambda: phase1.with_final_accounts({}, {"hardware": -1})).code == "FIGURE_OUT_OF_RANGE"


def test_report_shows_actual_status_with_the_plan():
    book = ruyuan({"hardware": 1_500_000 * YUAN})
    report = {r["rule"]: r for r in book.report(PHASE2_LINES, {"hardware": 500_000 * YUAN})}
    assert report["logistics-min"]["status"] == "at_risk" and report["logistics-min"]["plan"]["share"] == "28.75"
    assert report["hardware-decoration-max"]["status"] == "met" and report["hardware-decoration-max"]["share"] == "7.50"
    report = {r["rule"]: r for r in book.report(PHASE2_LINES, {"hardware": 500_000 * YUAN + 1})}
    assert report["hardware-decoration-max"]["status"] == "at_risk"  # the plan goes past 10 %

PAYMENTS = st.lists(st.tuples(st.sampled_from([PUBLIC, LOGISTICS, RETAIL, TRAINING]),
                              st.sampled_from([None, "hardware"]),
                              st.integers(min_value=1, max_value=1_500_000 * YUAN)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(PAYMENTS, st.one_of(st.none(), st.integers(min_value=0, max_value=2_000_000 * YUAN)))
def test_checked_payments_never_take_a_kept_ceiling_past_its_limit(payments, phase1_hardware):
    book = ruyuan(None if phase1_hardware is None else {"hardware": phase1_hardware})
    kept = {s.rule.code for s in book.judge() if s.rule.on_breach == "error" and not s.breached}
    for line, category, amount in payments:
        try:
            book.check(line, category, amount, ["logistics-min"])
        except DomainError as refused:
            assert refused.code == "RATIO_LIMIT_EXCEEDED"
            continue
        book.record(line, category, amount)
    d = book.denominator_fen
    for s in book.judge():
        if s.rule.code in kept:
            assert not s.breached
            assert s.after_fen * 100 <= s.rule.limit_percent * d  # exact: Fraction, never float

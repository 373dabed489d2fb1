"""Ledger rules with the seed's numbers, and a property test over random operation sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruralfund_funds.domain import ledger as L

XINPING_LINE1 = {("brand", "brand-packaging"): 1_000_000_00, ("brand", "sales-reward"): 500_000_00}


def apply(balances: dict[str, int], entry: L.Entry) -> dict[str, int]:
    after = L.check_balances(entry, balances)
    return {**balances, **after}


def opened(total=1_500_000_00, items=XINPING_LINE1) -> dict[str, int]:
    return apply({}, L.open_program_entry(total, items))


def test_opening_appropriates_every_item_and_balances():
    b = opened()
    assert b[L.FUND_RECEIVABLE] == 1_500_000_00
    assert b["budget:brand/brand-packaging"] == 1_000_000_00
    assert b[L.BUDGET_CONTROL] == 1_500_000_00


def test_opening_refuses_budgets_that_do_not_add_up():
    with pytest.raises(L.Conflict) as e:
        L.open_program_entry(1_500_000_00, {("brand", "x"): 1})
    assert e.value.code == "PROGRAM_BUDGET_MISMATCH"


def test_release_never_above_program_total():
    b = apply(opened(), L.release_entry(1_500_000_00))
    assert b[L.BANK_JOINT] == 1_500_000_00 and b[L.FUND_RECEIVABLE] == 0
    with pytest.raises(L.InsufficientBalance) as e:
        apply(b, L.release_entry(1))
    assert e.value.code == "RELEASE_EXCEEDS_PROGRAM_TOTAL"


def test_brand_packaging_award_reserve_then_pay():
    b = apply(opened(), L.release_entry(500_000_00))
    b = apply(b, L.reserve_entry("brand", "brand-packaging", 246_900))  # 12,345 boxes x 0.20 yuan
    assert b["budget:brand/brand-packaging"] == 1_000_000_00 - 246_900
    b = apply(b, L.payment_entries("brand", "brand-packaging", "91530427MA6K00000X", 246_900))
    assert b["reserved:brand/brand-packaging"] == 0
    assert b["spent:brand/brand-packaging"] == 246_900
    assert b[L.BANK_JOINT] == 500_000_00 - 246_900
    assert b["payee:91530427MA6K00000X"] == 246_900


def test_over_reservation_refused_with_item_budget_exceeded():
    with pytest.raises(L.InsufficientBalance) as e:
        apply(opened(), L.reserve_entry("brand", "sales-reward", 500_000_01))
    assert e.value.code == "ITEM_BUDGET_EXCEEDED"


def test_payment_refused_when_joint_account_is_short():
    b = apply(opened(), L.reserve_entry("brand", "sales-reward", 100_00))
    with pytest.raises(L.InsufficientBalance) as e:
        apply(b, L.payment_entries("brand", "sales-reward", "91530427MA6K00000X", 100_00))
    assert e.value.code == "INSUFFICIENT_FUNDS"


def test_unbalanced_or_two_sided_lines_are_impossible():
    with pytest.raises(AssertionError):
        L.Line("bank:joint", debit_fen=1, credit_fen=1)
    with pytest.raises(AssertionError):
        L.Entry("x", (L.Line("a", debit_fen=2), L.Line("b", credit_fen=1)))


ops = st.lists(
    st.tuples(st.sampled_from(["release", "reserve", "void", "pay"]), st.sampled_from(["brand-packaging", "sales-reward"]),
              st.integers(min_value=1, max_value=600_000_00)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_sequences_keep_books_balanced_and_nothing_negative(sequence):
    b = opened()
    debits = credits = 0
    entry = L.open_program_entry(1_500_000_00, XINPING_LINE1)
    debits += sum(l.debit_fen for l in entry.lines)
    credits += sum(l.credit_fen for l in entry.lines)
    for op, item, amount in sequence:
        entry = {
            "release": lambda: L.release_entry(amount),
            "reserve": lambda: L.reserve_entry("brand", item, amount),
            "void": lambda: L.void_entry("brand", item, amount),
            "pay": lambda: L.payment_entries("brand", item, "91530427MA6K00000X", amount),
        }[op]()
        try:
            b = apply(b, entry)
        except L.InsufficientBalance:
            continue  # refused: nothing changed
        debits += sum(l.debit_fen for l in entry.lines)
        credits += sum(l.credit_fen for l in entry.lines)
        assert debits == credits
        assert all(v >= 0 for v in b.values())
        for it in ("brand-packaging", "sales-reward"):
            budget = XINPING_LINE1[("brand", it)]
            used = b.get(f"budget:brand/{it}", 0) + b.get(f"reserved:brand/{it}", 0) + b.get(f"spent:brand/{it}", 0)
            assert used == budget, "an item's budget is conserved across available/reserved/spent"
        assert b.get(L.BANK_JOINT, 0) + b.get(L.FUND_RECEIVABLE, 0) + sum(
            v for k, v in b.items() if k.startswith("payee:")) == 1_500_000_00

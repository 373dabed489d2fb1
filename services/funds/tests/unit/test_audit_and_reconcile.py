"""Pure checks behind ``ruralfund ledger verify``, the bank statement parser and the three-way
reconciliation, with the seed's brand-packaging award (2,469.00 yuan)."""

from __future__ import annotations

from datetime import date

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_funds.domain.audit import (
    GENESIS_HASH,
    audit_hash,
    verify_chain,
    verify_entries_against_audit,
    verify_postings,
)
from ruralfund_funds.domain.bank_statement import parse_statement
from ruralfund_funds.domain.reconcile import AwardRow, PaymentRow, StatementRow, reconcile


def chain(n: int) -> list[tuple[int, str, dict, str, str]]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        payload = {"entry_id": f"e{seq}", "lines": [["bank:joint", 0, 246_900]]}
        h = audit_hash(prev, "entry", payload)
        rows.append((seq, "entry", payload, prev, h))
        prev = h
    return rows


def test_an_intact_chain_verifies_even_with_sequence_gaps():
    rows = chain(4)
    rows[2] = (7, *rows[2][1:])  # a rolled-back transaction consumed seq 3..6
    assert verify_chain(rows) == (4, [])


def test_a_changed_or_removed_record_breaks_the_chain():
    rows = chain(4)
    changed = list(rows)
    changed[1] = (2, "entry", {**rows[1][2], "lines": [["bank:joint", 0, 1]]}, rows[1][3], rows[1][4])
    assert [p.detail for p in verify_chain(changed)[1]] == ["hash does not match the record's content"]
    removed = rows[:1] + rows[2:]
    assert [p.detail for p in verify_chain(removed)[1]] == ["prev_hash does not link to the previous record"]


def test_postings_checks_find_unbalanced_entries_negative_accounts_and_drifted_kept_balances():
    postings = [("x", "e1", "bank:joint", 246_900, 0), ("x", "e1", "fund:allocation", 0, 246_900)]
    kept = [("x", "bank:joint", 246_900, 0), ("x", "fund:allocation", 0, 246_900)]
    assert verify_postings(postings, kept) == []
    checks = {p.check for p in verify_postings(postings, [("x", "bank:joint", 246_901, 0), kept[1]])}
    assert checks == {"kept_balance"}
    tampered = [postings[0], ("x", "e1", "fund:allocation", 0, 246_800)]
    assert {p.check for p in verify_postings(tampered, kept)} == {"entry_balance", "trial_balance", "kept_balance"}
    journal = {"e1": [["bank:joint", 246_900, 0], ["fund:allocation", 0, 246_800]]}
    audited = {"e1": [["bank:joint", 246_900, 0], ["fund:allocation", 0, 246_900]]}
    assert [p.check for p in verify_entries_against_audit(journal, audited)] == ["journal_vs_audit"]


HEADER = "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,counterparty_account,counterparty_name\n"


def test_statement_lines_parse_yuan_to_fen_and_refuse_bad_lines_by_number():
    lines = parse_statement(HEADER + '2026-03-09,T1,6222,借,"2,469.00",ok,rfabc,6228,新平礼好\n')
    assert lines[0].amount_fen == 246_900 and lines[0].direction == "debit" and lines[0].reference == "RFABC"
    with pytest.raises(DomainError) as e:
        parse_statement(HEADER + "2026-03-09,T1,6222,debit,2469.00,ok,,,\n2026-03-09,T2,6222,debit,abc,ok,,,\n")
    assert e.value.code == "STATEMENT_LINE_INVALID" and e.value.details == {"line": 3}
    with pytest.raises(DomainError) as e:
        parse_statement("date,amount\n")
    assert e.value.code == "STATEMENT_COLUMNS"


def test_reconciliation_lists_every_kind_of_mismatch():
    today = date(2026, 3, 9)
    awards = [
        AwardRow("paid-ok", "paid", 246_900, "A", True, date(2026, 3, 7), False, False),
        AwardRow("due", "in_publicity", 100_00, "B", True, date(2026, 3, 7), False, False),
        AwardRow("not-yet", "in_publicity", 100_00, "B", True, date(2026, 3, 10), False, False),
        AwardRow("late-objection", "paid", 50_00, "C", True, date(2026, 3, 7), False, True),
    ]
    payments = [PaymentRow("p1", "paid-ok", "settled", 246_900, 2, 2), PaymentRow("p2", "late-objection", "executed",
                                                                                  50_00, 2, 2)]
    statement = [StatementRow("T1", "debit", "ok", 246_000, "RFP1", "p1"),
                 StatementRow("T2", "debit", "ok", 999_00, "RFX", None)]
    found = reconcile(statement, payments, awards, {"A": 246_900, "C": 40_00}, today)
    kinds = sorted((m.kind, m.award_id or m.bank_txn_id or m.note) for m in found)
    assert kinds == [
        ("AMOUNT_DIFFERS", "paid-ok"),
        ("APPROVED_UNPAID_PAST_WINDOW", "due"),
        ("EXECUTED_NOT_ON_STATEMENT", "late-objection"),
        ("LEDGER_DIFFERS", "payee C"),
        ("OBJECTION_UPHELD_AFTER_PAYMENT", "late-objection"),
        ("PAID_NOT_APPROVED", "T2"),
    ]

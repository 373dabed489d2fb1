"""Folding the ledger's leaves into the state every covered row must have, and the rules no
legitimate change breaks."""

from __future__ import annotations

import json

from ruralfund_funds.domain.leaves import compare, fold

KEYS = {"payments": ["payment_id"], "awards": ["award_id"], "postings": ["posting_id"]}


def leaf(table: str, op: str, **row: object) -> str:
    return json.dumps({"table": table, "op": op, "row": row})


def checks(found) -> list[tuple[str, str]]:
    return [(f.check, f.where) for f in found]


def test_the_latest_leaf_is_the_row_and_every_difference_is_named() -> None:
    leaves = list(
        enumerate(
            [
                leaf(
                    "payments",
                    "insert",
                    payment_id="p1",
                    status="awaiting_approval",
                    content={"amount_fen": 1},
                ),
                leaf(
                    "payments",
                    "update",
                    payment_id="p1",
                    status="executed",
                    content={"amount_fen": 1},
                ),
                leaf("postings", "insert", posting_id=1, debit_fen=1),
            ]
        )
    )
    state, found = fold(leaves, KEYS)
    assert found == []
    now = {
        "payments": [{"payment_id": "p1", "status": "executed", "content": {"amount_fen": 9}}],
        "postings": [{"posting_id": 2, "debit_fen": 1}],
    }
    found = compare(state, now, KEYS)
    assert checks(found) == [
        ("row_differs", "payments payment_id=p1"),
        ("row_without_leaf", "postings posting_id=2"),
        ("row_missing", "postings posting_id=1"),
    ]
    assert "content.amount_fen: 1 → 9" in found[0].detail and "leaf #1" in found[0].detail


def test_rules_no_legitimate_change_breaks() -> None:
    leaves = list(
        enumerate(
            [
                leaf("payments", "insert", payment_id="p1", status="executed", content={"to": "A"}),
                leaf("payments", "update", payment_id="p1", status="settled", content={"to": "B"}),
                leaf("awards", "insert", award_id="a1", status="paid", payee_bank_account="A"),
                leaf("awards", "update", award_id="a1", status="paid", payee_bank_account="B"),
                leaf("postings", "insert", posting_id=1, debit_fen=1),
                leaf("postings", "update", posting_id=1, debit_fen=2),
                leaf("postings", "delete", posting_id=1, debit_fen=2),
                leaf("payments", "update", payment_id="p9", status="executed"),
            ]
        )
    )
    _, found = fold(leaves, KEYS)
    assert checks(found) == [
        ("leaf_rule", "payments payment_id=p1"),
        ("leaf_rule", "awards award_id=a1"),
        ("leaf_rule", "postings posting_id=1"),
        ("leaf_rule", "postings posting_id=1"),
        ("leaf_rule", "payments payment_id=p9"),
    ]
    assert (
        "executed payment's content" in found[0].detail
        and "paid award's payee bank account" in found[1].detail
    )
    assert (
        "written once" in found[2].detail
        and "deletes" in found[3].detail
        and "no leaf inserted" in found[4].detail
    )


def test_a_migration_snapshot_may_add_a_column_but_not_change_one() -> None:
    base = leaf("awards", "insert", award_id="a1", status="paid", payee_bank_account="A")
    added = leaf(
        "awards", "migrate", award_id="a1", status="paid", payee_bank_account="A", parts=[]
    )
    state, found = fold(enumerate([base, added]), KEYS)
    assert found == [] and state[("awards", ("a1",))].row["parts"] == []
    laundered = leaf(
        "awards", "migrate", award_id="a1", status="paid", payee_bank_account="B", parts=[]
    )
    _, found = fold(enumerate([base, laundered]), KEYS)
    assert (
        checks(found) == [("leaf_rule", "awards award_id=a1")]
        and "payee_bank_account" in found[0].detail
    )

"""Money edge cases over HTTP against funds: every amount field refuses text that is not an
exact, positive, in-range yuan amount with a 4xx problem naming the field, and nothing in
the ledger changes (postings, balances, releases, adjustments, pre-allocations).

The last request of each test is a valid one (positive control): it must change the ledger,
so the refusals above cannot pass because the endpoint refuses everything.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PROGRAM = "/programs/xinping-2021"


async def _state(funds: Any, hostile: Any) -> tuple[Any, ...]:
    balances = await funds.call("GET", f"{PROGRAM}/balances", hostile.PEOPLE["auditor"])
    assert balances.status_code == 200, balances.text
    counts = [
        await funds.sql(f"SELECT count(*) FROM {table}")
        for table in ("postings", "releases", "adjustments", "awards", "bank_statement_lines")
    ]
    return (*counts, balances.json())


async def _post(funds: Any, who: Any, path: str, body: dict[str, Any]) -> Any:
    return await funds.call(
        "POST", path, who, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )


def _amounts(hostile: Any) -> list[Any]:
    return [*hostile.HOSTILE_YUAN, *hostile.HOSTILE_YUAN_JSON, "0", "0.00"]


async def test_releases_refuse_every_hostile_amount_and_change_nothing(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    finance = hostile.PEOPLE["finance_bureau"]
    before = await _state(funds, hostile)
    for amount in _amounts(hostile):
        body = {"amount_yuan": amount, "approval_reference": "领导小组纪要〔2026〕1号"}
        r = await _post(funds, finance, f"{PROGRAM}/releases", body)
        hostile.assert_refused(r, "amount_yuan")
    # at the bigint limit and just under: well-formed, far above the program total
    for amount in (hostile.MAX_FEN_AS_YUAN, "92233720368547758.06", "1,500,000.01"):
        body = {"amount_yuan": amount, "approval_reference": "纪要"}
        r = await _post(funds, finance, f"{PROGRAM}/releases", body)
        hostile.assert_refused(r, None)
    assert await _state(funds, hostile) == before
    ok = await _post(funds, finance, f"{PROGRAM}/releases", {"amount_yuan": "0.01", "approval_reference": "纪要"})  # fmt: skip
    assert ok.status_code == 201, ok.text
    assert await _state(funds, hostile) != before


async def test_adjustments_and_preallocations_refuse_hostile_amounts(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    leader = hostile.PEOPLE["leading_group"]
    before = await _state(funds, hostile)
    adjustment = {
        "from_item": "brand-packaging",
        "to_item": "anchor-training",
        "resolution_number": "领导小组决议〔2026〕2号",
        "resolution_date": "2026-03-01",
        "override": True,
        "reason": "hostile input test",
    }
    preallocation = {
        "item_code": "anchor-training",
        "provider_credit_code": hostile.CONTRACTOR,
        "provider_name": "新平县主播培训有限公司",
        "bank_name": "中国农业银行新平县支行",
        "bank_account": "6228480000000000002",
        "contract_reference": "XP-2026-009",
    }
    for amount in [*_amounts(hostile), hostile.MAX_FEN_AS_YUAN]:
        r = await _post(
            funds, leader, f"{PROGRAM}/adjustments", adjustment | {"amount_yuan": amount}
        )
        hostile.assert_refused(r, "amount_yuan" if amount != hostile.MAX_FEN_AS_YUAN else None)
        r = await _post(
            funds, leader, f"{PROGRAM}/preallocations", preallocation | {"amount_yuan": amount}
        )
        hostile.assert_refused(r, "amount_yuan" if amount != hostile.MAX_FEN_AS_YUAN else None)
    assert await _state(funds, hostile) == before
    ok = await _post(funds, leader, f"{PROGRAM}/adjustments", adjustment | {"amount_yuan": "0.01"})
    assert ok.status_code == 201, ok.text
    assert await _state(funds, hostile) != before


async def test_a_bank_statement_with_hostile_amounts_is_refused_whole(
    serve: Any, hostile: Any
) -> None:
    funds = await serve("funds")
    system = hostile.PEOPLE["system"]
    before = await _state(funds, hostile)
    header = (
        "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,"
        "counterparty_account,counterparty_name\n"
    )
    for amount in ["-1.00", "0.001", "1e3", "NaN", "92233720368547758.08", "9" * 40, "１２３"]:
        line = (
            f"2026-03-02,T-1,6222000000000000,credit,{amount},ok,X,6228480000000000001,新平礼好\n"
        )
        csv = (header + line).encode()
        r = await funds.call(
            "POST", f"{PROGRAM}/bank-statements", system, content=csv,
            headers={"Content-Type": "text/csv", "Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip
        problem = hostile.assert_refused(r, "amount_yuan")
        assert problem["code"] == "STATEMENT_LINE_INVALID", problem
    assert await _state(funds, hostile) == before

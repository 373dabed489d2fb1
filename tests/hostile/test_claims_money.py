"""Money edge cases over HTTP against claims: contract amounts, per-unit counts and monthly
sales refuse every amount that is not exact, non-negative and in range (including sums of
in-range months that overflow a bigint) with a 4xx problem naming the field; no claim or
contract is stored. A valid request at the end must be accepted (positive control)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def _counts(claims: Any) -> tuple[int, int]:
    return (
        await claims.sql("SELECT count(*) FROM claims"),
        await claims.sql("SELECT count(*) FROM service_contracts"),
    )


async def _submit(claims: Any, hostile: Any, item: str, evidence: Any) -> Any:
    body = {"program_code": "xinping-2021", "item_code": item, "evidence": evidence}
    return await claims.call(
        "POST", "/claims", hostile.PEOPLE["enterprise"], json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip


async def test_contract_amounts(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    provider = hostile.CONTRACTOR
    r = await claims.call(
        "POST", "/enterprises", json=hostile.enterprise_body(provider, "新平县主播培训有限公司", "service_provider")
    )  # fmt: skip
    assert r.status_code == 201, r.text
    before = await _counts(claims)
    contract = {
        "item_code": "anchor-training",
        "provider_credit_code": provider,
        "signed_on": "2023-05-10",
        "ends_on": "2023-12-31",
    }
    amounts = [*hostile.HOSTILE_YUAN, *hostile.HOSTILE_YUAN_JSON, "0", hostile.MAX_FEN_AS_YUAN]
    for n, amount in enumerate(amounts):
        body = contract | {"contract_no": f"H-{n}", "amount_yuan": amount}
        r = await claims.call("POST", "/programs/xinping-2021/contracts", json=body)
        field = "amount_yuan" if amount != hostile.MAX_FEN_AS_YUAN else None
        hostile.assert_refused(r, field)
    assert await _counts(claims) == before
    ok_body = contract | {"contract_no": "H-ok", "amount_yuan": "1.00"}
    ok = await claims.call("POST", "/programs/xinping-2021/contracts", json=ok_body)
    assert ok.status_code == 201, ok.text
    assert await _counts(claims) != before


async def test_per_unit_counts(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    before = await _counts(claims)
    for units in (*hostile.HOSTILE_FEN, 10**12 + 1, 2**63 - 1, "1e3", "12345", 1e3 + 0.5):
        r = await _submit(claims, hostile, "brand-packaging", {"quarter": "2023Q4", "units": units})
        # claims names the evidence as the field; the exact path is in the detail
        assert "evidence.units" in hostile.assert_refused(r, "evidence")["detail"]
    assert await _counts(claims) == before
    # at the limit: 10**12 boxes x 0.20 yuan fits a bigint; the claim is judged, not a 500
    at_limit = await _submit(
        claims, hostile, "brand-packaging", {"quarter": "2023Q4", "units": 10**12}
    )
    assert at_limit.status_code < 500, at_limit.text
    assert (
        hostile.problem_violation(at_limit.status_code, at_limit.headers, at_limit.content) is None
    )


def _sales(*amounts: Any) -> dict[str, Any]:
    months = [{"month": f"2023-{m:02d}", "sales_yuan": a} for m, a in enumerate(amounts, start=7)]
    return {"platform": "taobao", "store_id": "66880001", "store_name": "新平礼好旗舰店",
            "opened_on": "2023-07-01", "months": months}


async def test_monthly_sales_and_their_sum(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    before = await _counts(claims)
    for amount in (*hostile.HOSTILE_YUAN, *hostile.HOSTILE_YUAN_JSON):
        r = await _submit(claims, hostile, "sales-reward", _sales("60,000.00", amount, "60,000.00"))
        assert "sales_yuan" in hostile.assert_refused(r, "evidence")["detail"], amount
    # each month fits a bigint, the cumulative sales do not (test_claims_sales_sum.py too)
    big = hostile.MAX_FEN_AS_YUAN
    r = await _submit(claims, hostile, "sales-reward", _sales(big, big, big))
    hostile.assert_refused(r, "evidence")
    assert await _counts(claims) == before
    ok = await _submit(
        claims, hostile, "sales-reward", _sales("60,000.00", "50,000.00", "40,000.00")
    )
    assert ok.status_code == 201, ok.text
    assert await _counts(claims) != before

"""The payee's bank account has one home (issue 16, 9): for a registry enterprise it is the
enterprise registry in claims, so funds refuses to give one of its awards an account of its own;
funds keeps the account only for a pre-allocation whose provider the registry never spoke for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ruralfund_common.testing.wait import eventually

from .conftest import ADMIN, CC, LEADER, PROVIDER, World, approved
from .test_ledger_lifecycle import registry_account

pytestmark = pytest.mark.integration

REGISTRY_ACCOUNT = "6228480000000000001"  # what the approval carried from the registry


async def _account(w: World, award_id: str) -> str:
    return (await w.get(f"/awards/{award_id}"))["payee_bank_account"]


async def _put_bank(w: World, award_id: str, account: str):
    from ruralfund_common.testing.services import bearer

    return await w.funds.put(f"/awards/{award_id}/payee-bank", headers=bearer(ADMIN),
                             json={"bank_name": "某银行", "bank_account": account})


async def test_the_bureau_cannot_give_an_enterprises_unpaid_award_another_account(world: World):
    w = world
    await w.claims.emit(approved("a-1", publicity=False), "a-1")
    await eventually(lambda: w.status("a-1"), expect="reserved")

    r = await _put_bank(w, "a-1", "6217000000000666")
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "BANK_ACCOUNT_LIVES_IN_REGISTRY" and problem["field"] == "bank_account"
    assert problem["title_zh"] == "收款账户以企业登记为准，不能在资金服务中单独更改"
    assert f"PATCH /enterprises/{CC}" in problem["detail_zh"] and "新平礼好包装有限公司" in problem["detail_zh"]
    assert await _account(w, "a-1") == REGISTRY_ACCOUNT  # nothing changed
    audit = await w.events("funds.evt.command_refused.v1")
    assert all(e["data"].get("award_id") != "a-1" or e["data"]["code"] == "BANK_ACCOUNT_LIVES_IN_REGISTRY"
               for e in audit)

    # the registry's change is the way: the award follows it
    changed_at = datetime(2026, 3, 3, 2, tzinfo=UTC)
    await w.claims.emit(registry_account(CC, "6217000000000002", changed_at), CC)
    await eventually(lambda: _account(w, "a-1"), expect="6217000000000002")


async def test_a_preallocation_providers_account_lives_in_funds_until_the_registry_speaks(world: World):
    w = world
    r = await w.post("/programs/xinping-2021/preallocations", {
        "preallocation_id": "pre-1", "item_code": "anchor-training", "provider_credit_code": PROVIDER,
        "provider_name": "承办企业", "bank_name": "新平县某银行", "bank_account": "6222000000000099",
        "amount_yuan": "1,000.00", "contract_reference": "磋商合同〔2026〕1号"}, LEADER)
    assert r.status_code == 201, r.text
    r = await _put_bank(w, "pre-1", "6222000000000100")  # typed into funds: corrected in funds
    assert r.status_code == 200, r.text
    assert await _account(w, "pre-1") == "6222000000000100"

    # once the registry holds the provider's account, funds is no longer its home
    changed_at = datetime(2026, 3, 3, 2, tzinfo=UTC)
    await w.claims.emit(registry_account(PROVIDER, "6217000000000003", changed_at), PROVIDER)
    await eventually(lambda: _account(w, "pre-1"), expect="6217000000000003")
    r = await _put_bank(w, "pre-1", "6222000000000101")
    assert r.status_code == 409 and r.json()["code"] == "BANK_ACCOUNT_LIVES_IN_REGISTRY", r.text
    assert await _account(w, "pre-1") == "6217000000000003"

"""The complete ledger over real NATS JetStream + PostgreSQL: out-of-order and duplicate events,
objections, command ids, settlement and reversal, bank statements, adjustments, pre-allocation,
clawback, reconciliation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from ruralfund_common.contracts import PublicityPublished
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.contracts.notify.objection_filed import ObjectionFiled
from ruralfund_common.contracts.notify.objection_resolved import ObjectionResolved
from ruralfund_common.testing.wait import eventually

from .conftest import (
    ADMIN,
    CC,
    FINANCE,
    LEADER,
    MONDAY,
    PROVIDER,
    SIGNATORY,
    SYSTEM,
    World,
    approved,
)

pytestmark = pytest.mark.integration


def published(award_id: str, notice: str = "n-1", at: datetime = MONDAY) -> PublicityPublished:
    return PublicityPublished(notice_id=notice, award_id=award_id, claim_id=f"claim-{award_id}",
                              program_code="xinping-2021", item_code="brand-packaging", published_at=at,
                              starts_on="2026-03-02", ends_on="2026-03-06", url=f"http://notify/publicity/{notice}")


def filed(award_id: str, objection: str) -> ObjectionFiled:
    return ObjectionFiled(objection_id=objection, notice_id="n-1", award_id=award_id, claim_id=f"claim-{award_id}",
                          program_code="xinping-2021", filed_at=MONDAY)


def resolved(award_id: str, objection: str, outcome: str) -> ObjectionResolved:
    return ObjectionResolved(objection_id=objection, notice_id="n-1", award_id=award_id, claim_id=f"claim-{award_id}",
                             program_code="xinping-2021", outcome=outcome, reason="核实", resolved_by="u-admin",
                             resolved_at=datetime(2026, 3, 3, 2, tzinfo=UTC))


def registry_account(credit_code: str, account_no: str, at: datetime) -> EnterpriseBankAccountChanged:
    """The enterprise registry's change of a payee's account (the one home of that account)."""
    return EnterpriseBankAccountChanged(
        credit_code=credit_code, enterprise_name="新平礼好包装有限公司", bank_name="建设银行",
        account_no=account_no, previous_bank_name="中国农业银行新平县支行",
        previous_account_no="6228480000000000001", previous_contact_name="李经理",
        changed_by="u-admin", changed_at=at)


async def test_out_of_order_and_duplicate_events_change_state_once(world: World):
    w = world
    # award-1: publication and an objection arrive before the approval; publication and approval twice
    await w.notify.emit(published("award-1"), "award-1")
    await w.notify.emit(filed("award-1", "o-1"), "award-1")
    await w.notify.emit(published("award-1"), "award-1")
    # award-2: the objection is upheld before it is filed, and both before the approval
    await w.notify.emit(resolved("award-2", "o-2", "upheld"), "award-2")
    await w.notify.emit(filed("award-2", "o-2"), "award-2")
    await eventually(w.inbox, expect=6)  # program + 5 notify messages applied
    await w.claims.emit(approved("award-1"), "award-1")
    await w.claims.emit(approved("award-1"), "award-1")
    await w.claims.emit(approved("award-2", 100_000), "award-2")
    await eventually(w.inbox, expect=9)

    award = await w.get("/awards/award-1")
    assert award["status"] == "in_publicity" and award["held"] and award["payable_from"] == "2026-03-07"
    assert (await w.get("/awards/award-2"))["status"] == "revoked"
    by = await w.balances()
    assert by["reserved:brand/brand-packaging/award-1"] == 246_900
    assert by["reserved:brand/brand-packaging/award-2"] == 0
    assert by["budget:brand/brand-packaging"] == 1_000_000_00 - 246_900  # reserved once, award-2 voided

    await w.clock("2026-03-09T02:00:00Z")
    await w.post("/programs/xinping-2021/releases", {"amount_yuan": "10,000.00", "approval_reference": "r"}, FINANCE)
    r = await w.post("/payments", {"award_id": "award-1"}, ADMIN)
    assert r.status_code == 409 and r.json()["code"] == "OBJECTION_PENDING"
    assert r.headers["content-type"].startswith("application/problem+json")
    await w.notify.emit(resolved("award-1", "o-1", "dismissed"), "award-1")
    await eventually(lambda: _not_held(w, "award-1"))
    await w.pay("award-1")

    assert len(await w.events("funds.evt.award_reserved.v1")) == 2
    assert len(await w.events("funds.evt.publicity_window_opened.v1")) == 1
    revoked = await w.events("funds.evt.award_revoked.v1")
    assert [e["data"]["award_id"] for e in revoked] == ["award-2"] and revoked[0]["data"]["code"] == "OBJECTION_UPHELD"
    refused = await w.events("funds.evt.command_refused.v1")
    assert [e["data"]["code"] for e in refused] == ["OBJECTION_PENDING"]


async def _not_held(w: World, award_id: str) -> bool:
    award = await w.get(f"/awards/{award_id}")
    return not award["held"]


async def test_command_ids_replay_the_first_outcome_even_a_refusal(world: World):
    w = world
    await w.claims.emit(approved("award-9"), "award-9")
    await w.notify.emit(published("award-9"), "award-9")
    await eventually(lambda: w.status("award-9"), expect="in_publicity")
    first = await w.post("/payments", {"award_id": "award-9", "command_id": "cmd-1"}, ADMIN)
    assert first.status_code == 409 and first.json()["code"] == "PUBLICITY_NOT_ENDED"
    assert first.json()["title_zh"] == "公示期未满" and "起才能付款" in first.json()["detail_zh"]
    await w.clock("2026-03-07T02:00:00Z")  # the window has ended, but cmd-1 already has its outcome
    again = await w.post("/payments", {"award_id": "award-9", "command_id": "cmd-1"}, ADMIN)
    assert again.status_code == 409 and again.json()["code"] == "PUBLICITY_NOT_ENDED"
    other = await w.post("/payments", {"award_id": "award-1", "command_id": "cmd-1"}, ADMIN)
    assert other.status_code == 409 and other.json()["code"] == "COMMAND_ID_REUSED"
    ok = await w.post("/payments", {"award_id": "award-9", "command_id": "cmd-2"}, ADMIN)
    assert ok.status_code == 201
    replay = await w.post("/payments", {"award_id": "award-9", "command_id": "cmd-2"}, ADMIN)
    assert replay.status_code == 201 and replay.json()["payment_id"] == ok.json()["payment_id"]
    refusals = [e["data"] for e in await w.events("funds.evt.command_refused.v1")]
    assert [(x["code"], x["command_id"]) for x in refusals] == [("PUBLICITY_NOT_ENDED", "cmd-1")]

    # the same person twice on one order, and a signature over other content, are refused by code
    pid, sha = ok.json()["payment_id"], ok.json()["content_sha256"]
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": "0" * 64}, LEADER)
    assert r.json()["code"] == "APPROVAL_CONTENT_CHANGED"
    assert r.json()["title_zh"] == "付款内容已变更，请重新核对" and sha[:12] in r.json()["detail_zh"]
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, LEADER)
    assert r.status_code == 200
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, LEADER)
    assert r.json()["code"] == "SAME_PERSON_BOTH_APPROVALS" and r.json()["title_zh"] == "您已签批过该付款"
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, SIGNATORY)
    assert r.json()["code"] == "INSUFFICIENT_FUNDS"  # nothing released yet: refused, nothing changed
    await w.post("/programs/xinping-2021/releases", {"amount_yuan": "5,000.00", "approval_reference": "r"}, FINANCE)
    r = await w.post(f"/payments/{pid}/approvals", {"content_sha256": sha}, SIGNATORY)
    assert r.json()["status"] == "executed"
    r = await w.post("/payments", {"award_id": "award-9"}, ADMIN)
    assert r.json()["code"] == "ALREADY_PAID" and "已执行），不能再次付款" in r.json()["detail_zh"]


async def test_bank_confirms_or_fails_by_api_and_by_statement(world: World):
    w = world
    for award_id, amount in (("a-1", 100_00), ("a-2", 200_00), ("a-3", 300_00), ("a-4", 400_00)):
        await w.claims.emit(approved(award_id, amount, publicity=False), award_id)
    await eventually(lambda: w.status("a-4"), expect="reserved")
    await w.post("/programs/xinping-2021/releases", {"amount_yuan": "10,000.00", "approval_reference": "r"}, FINANCE)
    p1, p2, p3 = [await w.pay(a) for a in ("a-1", "a-2", "a-3")]

    r = await w.post(f"/payments/{p1}/settlement", {"bank_txn_id": "T-1"}, SYSTEM)
    assert r.status_code == 200 and r.json()["status"] == "settled"
    r = await w.post(f"/payments/{p2}/failure", {"reason": "账户已销户"}, SYSTEM)
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert await w.status("a-2") == "payable"
    by = await w.balances()
    assert by["bank:joint"] == 10_000_00 - 100_00 - 300_00  # a-2's money came back
    assert by[f"payable:brand/brand-packaging/{CC}"] == 200_00
    # the account lives in the enterprise registry (claims): its change moves every unpaid award
    await w.claims.emit(registry_account(CC, "6217000000000002", datetime(2026, 3, 3, 2, tzinfo=UTC)), CC)

    async def a2_account() -> str:
        return (await w.get("/awards/a-2"))["payee_bank_account"]

    await eventually(a2_account, expect="6217000000000002")
    p2b = await w.pay("a-2")  # paid again with a new order and fresh approvals

    pay3 = await w.get(f"/payments/{p3}")
    pay2b = await w.get(f"/payments/{p2b}")
    statement = (
        "value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,counterparty_account,counterparty_name\n"
        f"2026-03-03,T-3,6222000000000000,debit,300.00,ok,{pay3['bank_reference']},6228480000000000001,新平礼好\n"
        f"2026-03-03,T-4,6222000000000000,debit,200.00,returned,{pay2b['bank_reference']},6217000000000002,新平礼好\n"
        "2026-03-03,T-5,6222000000000000,debit,999.00,ok,RFUNKNOWN,6200000000000000,某公司\n"
        "2026-03-03,T-6,6222000000000000,credit,10000.00,ok,,,县财政局\n"
    )
    headers = {"Content-Type": "text/csv"}
    r = await w.funds.post("/programs/xinping-2021/bank-statements", content=statement.encode(),
                           headers={**headers, **_auth(SYSTEM)})
    assert r.status_code == 201, r.text
    assert r.json()["matches"] == {"settled": 1, "failed": 1, "unmatched": 1, "credit": 1}
    again = await w.funds.post("/programs/xinping-2021/bank-statements", content=statement.encode(),
                               headers={**headers, **_auth(SYSTEM)})
    assert again.json() == r.json()  # the same file is the same command: its first outcome, nothing applied twice

    assert (await w.get(f"/payments/{p3}"))["status"] == "settled"
    assert await w.status("a-2") == "payable"
    settled = [e["data"]["payment_id"] for e in await w.events("funds.evt.payment_settled.v1")]
    failed = [e["data"]["payment_id"] for e in await w.events("funds.evt.payment_failed.v1")]
    assert sorted(settled) == sorted([p1, p3]) and sorted(failed) == sorted([p2, p2b])

    await w.clock("2026-03-09T02:00:00Z")
    report = await w.get("/programs/xinping-2021/reconciliation")
    kinds = sorted(m["kind"] for m in report["mismatches"])
    assert kinds == ["APPROVED_UNPAID_PAST_WINDOW", "APPROVED_UNPAID_PAST_WINDOW", "PAID_NOT_APPROVED"], report
    unpaid = {m["award_id"] for m in report["mismatches"] if m["kind"] == "APPROVED_UNPAID_PAST_WINDOW"}
    assert unpaid == {"a-2", "a-4"}
    assert not report["clean"]


def _auth(who) -> dict[str, str]:
    from ruralfund_common.testing.services import bearer

    return bearer(who)


async def test_adjustments_preallocation_default_and_clawback(world: World):
    w = world
    base = "/programs/xinping-2021"
    r = await w.post(f"{base}/adjustments", {"from_item": "new-product", "to_item": "brand-packaging",
                                             "amount_yuan": "20,000.00"}, LEADER)
    assert r.status_code == 409 and r.json()["code"] == "RESOLUTION_REQUIRED"
    res = {"resolution_number": "新电商领〔2026〕3号", "resolution_date": "2026-03-02"}
    r = await w.post(f"{base}/adjustments", {"from_item": "new-product", "to_item": "brand-packaging",
                                             "amount_yuan": "20,000.00", **res}, LEADER)
    assert r.status_code == 201 and not r.json()["override"]
    r = await w.post(f"{base}/adjustments", {"from_item": "anchor-training", "to_item": "brand-packaging",
                                             "amount_yuan": "1,000.00", **res}, LEADER)
    assert r.json()["code"] == "SERVICE_ITEM_NOT_ADJUSTABLE"
    r = await w.post(f"{base}/adjustments", {"from_item": "anchor-training", "to_item": "brand-packaging",
                                             "amount_yuan": "1,000.00", "override": True, **res}, LEADER)
    assert r.status_code == 201 and r.json()["override"]
    report = await w.get(f"{base}/adjustments")
    assert len(report["adjustments"]) == 2 and len(report["overrides"]) == 1

    r = await w.post(f"{base}/preallocations", {
        "preallocation_id": "pre-1", "item_code": "anchor-training", "provider_credit_code": PROVIDER,
        "provider_name": "承办企业", "bank_name": "新平县某银行", "bank_account": "6222000000000099",
        "amount_yuan": "180,000.00", "contract_reference": "磋商合同〔2026〕1号"}, LEADER)
    assert r.status_code == 201, r.text
    await w.post(f"{base}/releases", {"amount_yuan": "500,000.00", "approval_reference": "r"}, FINANCE)
    pid = await w.pay("pre-1")
    assert [e["data"]["preallocation_id"] for e in await w.events("funds.evt.preallocation_executed.v1")] == ["pre-1"]
    default = {"credit_code": PROVIDER, **res}
    r = await w.post(f"{base}/defaults", default, LEADER)
    assert r.json()["code"] == "PAYMENTS_IN_FLIGHT"
    await w.post(f"/payments/{pid}/settlement", {"bank_txn_id": "T-9"}, SYSTEM)
    r = await w.post(f"{base}/defaults", default, LEADER)
    assert r.status_code == 201 and r.json()["receivable_fen"] == 180_000_00
    r = await w.post(f"{base}/repayments", {"credit_code": PROVIDER, "amount_yuan": "100,000.00"}, FINANCE)
    assert r.status_code == 201 and r.json()["outstanding_fen"] == 80_000_00
    r = await w.post(f"{base}/repayments", {"credit_code": PROVIDER, "amount_yuan": "80,000.01"}, FINANCE)
    assert r.json()["code"] == "REPAYMENT_EXCEEDS_RECEIVABLE"
    statement = await w.get(f"{base}/payees/{PROVIDER}/statement")
    assert statement["in_default"] and statement["clawback_receivable_fen"] == 80_000_00 and statement["paid_fen"] == 0
    by = await w.balances()
    # the defaulter holds the joint account: its unspent 320,000.00 went back to the finance
    # bureau with the default, and the repayment went there too (never into the joint account)
    assert by["bank:joint"] == 0
    assert by["finance:bureau"] == 500_000_00 - 180_000_00 + 100_000_00
    assert [e["data"]["receivable_fen"] for e in await w.events("funds.evt.contractor_defaulted.v1")] == [180_000_00]


async def test_a_window_the_calendar_cannot_compute_is_refused_not_guessed(world: World):
    w = world
    new_years_eve = datetime(2026, 12, 31, 2, tzinfo=UTC)  # day 2..5 fall in 2027: not loaded
    await w.claims.emit(approved("late-1"), "late-1")
    await w.notify.emit(published("late-1", "n-9", at=new_years_eve), "late-1")
    await eventually(lambda: _window_error(w, "late-1"), expect="CALENDAR_YEAR_UNKNOWN")
    assert await w.status("late-1") == "reserved"
    refused = [e["data"] for e in await w.events("funds.evt.command_refused.v1")]
    assert [(r["command"], r["code"], r["award_id"]) for r in refused] == \
        [("open_publicity_window", "CALENDAR_YEAR_UNKNOWN", "late-1")]
    await w.clock("2027-02-01T02:00:00Z")
    r = await w.post("/payments", {"award_id": "late-1"}, ADMIN)
    assert r.status_code == 409 and r.json()["code"] == "CALENDAR_YEAR_UNKNOWN", r.text


async def _window_error(w: World, award_id: str) -> str | None:
    award = await w.get(f"/awards/{award_id}")
    return award and award["window_error"]


async def _ordered_and_led(w: World, award_id: str, amount: int) -> tuple[str, str]:
    await w.claims.emit(approved(award_id, amount, publicity=False), award_id)
    await eventually(lambda: w.status(award_id), expect="reserved")
    order = (await w.post("/payments", {"award_id": award_id}, ADMIN)).json()
    r = await w.post(f"/payments/{order['payment_id']}/approvals", {"content_sha256": order["content_sha256"]}, LEADER)
    assert r.status_code == 200, r.text
    return order["payment_id"], order["content_sha256"]


async def test_a_payment_run_decides_each_order_on_its_own(world: World):
    w = world
    orders = [await _ordered_and_led(w, f"run-{n}", 100_00) for n in range(3)]
    await w.notify.emit(filed("run-1", "o-run"), "run-1")  # run-1 is held by an objection
    await eventually(lambda: w.get("/awards/run-1"), description="objection applied")
    await eventually(lambda: _held(w, "run-1"))
    await w.post("/programs/xinping-2021/releases", {"amount_yuan": "1,000.00", "approval_reference": "r"}, FINANCE)
    body = {"command_id": "run-2026-03-02", "approvals": [{"payment_id": p, "content_sha256": s} for p, s in orders]}
    r = await w.post("/payment-approvals", body, SIGNATORY)
    assert r.status_code == 200, r.text
    outcome = {x["payment_id"]: (x["status"], x.get("code")) for x in r.json()["results"]}
    assert [outcome[p] for p, _ in orders] == [("executed", None), ("refused", "OBJECTION_PENDING"), ("executed", None)]
    assert (await w.post("/payment-approvals", body, SIGNATORY)).json() == r.json()  # replayed, not re-run
    assert (await w.balances())["bank:joint"] == 1_000_00 - 2 * 100_00
    refused = [e["data"] for e in await w.events("funds.evt.command_refused.v1")]
    assert [(x["payment_id"], x["code"]) for x in refused] == [(orders[1][0], "OBJECTION_PENDING")]


async def _held(w: World, award_id: str) -> bool:
    return (await w.get(f"/awards/{award_id}"))["held"]


async def test_concurrent_executions_never_overdraw_the_joint_account(world: World):
    w = world
    orders = [await _ordered_and_led(w, f"race-{n}", 300_00) for n in range(4)]
    await w.post("/programs/xinping-2021/releases", {"amount_yuan": "700.00", "approval_reference": "r"}, FINANCE)
    results = await asyncio.gather(*(w.post(f"/payments/{p}/approvals", {"content_sha256": s}, SIGNATORY)
                                     for p, s in orders))
    codes = sorted(r.json()["code"] if r.status_code >= 400 else r.json()["status"] for r in results)
    assert codes == ["INSUFFICIENT_FUNDS", "INSUFFICIENT_FUNDS", "executed", "executed"], codes
    by = await w.balances()
    assert by["bank:joint"] == 100_00 and by[f"payee:{CC}"] == 600_00

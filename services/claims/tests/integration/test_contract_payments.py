"""One Ruyuan package end to end on real NATS and PostgreSQL: the livestream centre (直播中心)
tendered as a package, its contract with a payment schedule, the advance due on signing, an
instalment due on the studio's acceptance, funds (a fake producer) paying, failing and refusing
tranches, and the balance due on the final acceptance (验收)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.contracts.funds.contract_payment_executed import (
    ContractPaymentExecuted,
    ContractPaymentRefused,
)
from ruralfund_common.contracts.funds.payment_executed import BankInstruction, PaymentApproval
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.contracts.funds.ratio_justification import RatioJustification
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.ids import new_id
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.upstream import Producer, producer, read_events
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

PROGRAM = "ruyuan-2021-p2"
WINNER = with_check_character("91440232MA4W00001")  # a livestream company registered in Ruyuan
LOSER = with_check_character("91440232MA4W00002")
WINNER_USER = bearer(person("Huang Studio", Role.ENTERPRISE, credit_code=WINNER))
DUE = "claims.evt.contract_payment_due.v1"
PDF = b"%PDF-1.4\n% acceptance report of the fixed studio\n%%EOF\n"


def package_body(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "lot-3-livestream",
        "name": "直播中心（1+4+N场景式直播中心）建设运营服务包组",
        "line_code": "public-service-system",
        "item_codes": ["livestream-center"],
        "budget_yuan": "900,000.00",
        "method": "public_tender",
        "winner_credit_code": WINNER,
        "awarded_on": "2023-06-01",
        "tender_ref": "RYCG-2023-017",
        **overrides,
    }


def contract_body(**overrides: Any) -> dict[str, Any]:
    return {
        "item_code": "livestream-center",
        "package_code": "lot-3-livestream",
        "contract_no": "RY-2023-FW-003",
        "provider_credit_code": WINNER,
        "amount_yuan": "900,000.00",
        "signed_on": "2023-06-20",
        "ends_on": "2023-11-30",
        "milestones": [
            {"code": "fixed-studio", "name": "固定式乳源特色直播间建成", "due_on": "2023-08-31"},
            {"code": "shared-studios", "name": "4个场景式共享直播间建成", "due_on": "2023-10-31"},
        ],
        "payment_schedule": [
            {"code": "advance", "kind": "advance", "amount_yuan": "270,000.00"},
            {"code": "studio", "kind": "instalment", "amount_yuan": "360,000.00",
             "milestone_code": "fixed-studio", "spending_category": "hardware"},
            {"code": "balance", "kind": "balance", "amount_yuan": "270,000.00"},
        ],
        **overrides,
    }  # fmt: skip


async def _setup(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_program_file("ruyuan-2021-p2.yaml")
    for code, name in ((WINNER, "乳源瑶乡直播科技有限公司"), (LOSER, "乳源另一家服务公司")):
        await claims.register(code, name=name, kind="service_provider", program_code=PROGRAM)


async def _package(claims, **overrides: Any):  # type: ignore[no-untyped-def]
    return await claims.http.post(
        f"/programs/{PROGRAM}/packages", json=package_body(**overrides), headers=claims.ADMIN
    )


async def _contract(claims, **overrides: Any):  # type: ignore[no-untyped-def]
    return await claims.http.post(
        f"/programs/{PROGRAM}/contracts", json=contract_body(**overrides), headers=claims.ADMIN
    )


async def _due_events(nats_client, namespace: str, count: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    async def enough() -> list[dict[str, Any]]:
        found = await read_events(nats_client, namespace, DUE, timeout=0.2)
        assert len(found) >= count, f"{len(found)} payment-due events, waiting for {count}"
        return found

    return await eventually(enough)


async def _tranche(claims, contract_id: str, code: str, status: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async def reached() -> dict[str, Any]:
        got = (await claims.http.get(f"/contracts/{contract_id}", headers=claims.AUDITOR)).json()
        tranche = next(t for t in got["payment_schedule"] if t["code"] == code)
        assert tranche["status"] == status, f"{code} is {tranche['status']}, waiting for {status}"
        return tranche

    return await eventually(reached)


def _executed(due: dict[str, Any], payment_id: str) -> ContractPaymentExecuted:
    now = datetime.now(UTC)
    approvals = [
        PaymentApproval(person=p, name=p, role=r, content_sha256="ab" * 32, approved_at=now)
        for p, r in (("zhao", "leading_group"), ("qian", "contractor_signatory"))
    ]
    return ContractPaymentExecuted(
        payment_id=payment_id, payment_due_id=due["payment_due_id"],
        contract_id=due["contract_id"], tranche_code=due["tranche_code"],
        program_code=due["program_code"], line_code=due["line_code"], item_code=due["item_code"],
        provider_credit_code=due["provider_credit_code"], provider_name=due["provider_name"],
        amount_fen=due["amount_fen"], spending_category=due["spending_category"],
        content_sha256="ab" * 32, approvals=approvals,
        bank_instruction=BankInstruction(
            from_account="joint", to_account=due["payee_bank_account"],
            to_bank_name=due["payee_bank_name"], to_name=due["provider_name"],
            amount_fen=due["amount_fen"], reference=payment_id,
        ),
        executed_at=now,
    )  # fmt: skip


def _failed(due: dict[str, Any], payment_id: str) -> PaymentFailed:
    return PaymentFailed(
        payment_id=payment_id, award_id=due["payment_due_id"], claim_id=None,
        program_code=due["program_code"], payee_credit_code=due["provider_credit_code"],
        amount_fen=due["amount_fen"], bank_reference="B-77", code="ACCOUNT_CLOSED",
        reason="收款账户已销户", source="statement", failed_at=datetime.now(UTC),
    )  # fmt: skip


async def test_a_ruyuan_package_from_contract_to_balance(
    claims, nats_client, namespace: str, database_url: str, nats_url: str
) -> None:  # type: ignore[no-untyped-def]
    await _setup(claims)
    key = {"Idempotency-Key": "pkg-lot-3"}
    created = await claims.http.post(
        f"/programs/{PROGRAM}/packages", json=package_body(), headers={**claims.ADMIN, **key}
    )
    assert created.status_code == 201, created.text
    replay = await claims.http.post(
        f"/programs/{PROGRAM}/packages", json=package_body(), headers={**claims.ADMIN, **key}
    )
    assert (replay.status_code, replay.json()) == (201, created.json())
    listed = (await claims.http.get(f"/programs/{PROGRAM}/packages", headers=WINNER_USER)).json()
    assert [
        (p["code"], p["budget_yuan"], p["left_yuan"], p["winner_name"]) for p in listed["items"]
    ] == [("lot-3-livestream", "900,000.00", "900,000.00", "乳源瑶乡直播科技有限公司")]

    signed = await _contract(claims)
    assert signed.status_code == 201, signed.text
    contract = signed.json()
    cid = contract["id"]
    assert (contract["package_code"], contract["procurement"]) == ("lot-3-livestream", "公开招标")
    assert [(t["code"], t["status"], t["amount_yuan"]) for t in contract["payment_schedule"]] == [
        ("advance", "due", "270,000.00"),  # 前期资金拨付: due on recording the signed contract
        ("studio", "scheduled", "360,000.00"),
        ("balance", "scheduled", "270,000.00"),
    ]
    assert (contract["paid_yuan"], contract["remaining_yuan"]) == ("0.00", "900,000.00")
    package = (
        await claims.http.get(
            f"/programs/{PROGRAM}/packages/lot-3-livestream", headers=claims.ADMIN
        )
    ).json()
    assert (package["contracted_yuan"], package["left_yuan"]) == ("900,000.00", "0.00")

    (advance,) = [e["data"] for e in await _due_events(nats_client, namespace, 1)]
    assert (advance["tranche_kind"], advance["amount_fen"], advance["line_code"]) == (
        "advance", 27_000_000, "public-service-system",
    )  # fmt: skip
    assert (advance["spending_category"], advance["requires_publicity"], advance["package_code"]) == (
        "livestream", False, "lot-3-livestream",
    )  # fmt: skip
    assert advance["payee_bank_account"] == "6228 4800 0000 0000 017"
    assert advance["payment_due_id"] == contract["payment_schedule"][0]["payment_due_id"]

    upload = await claims.http.post(
        f"/contracts/{cid}/files", params={"filename": "固定直播间验收报告.pdf"}, content=PDF,
        headers={**WINNER_USER, "Content-Type": "application/pdf"},
    )  # fmt: skip
    assert upload.status_code == 201, upload.text
    accepted = await claims.http.post(
        f"/contracts/{cid}/milestones/fixed-studio/acceptance",
        json={"accepted_on": "2023-09-05", "accepted_by": ["县工信局 张工", "第三方专家 李工"],
              "evidence_file_ids": [upload.json()["id"]], "note": "直播间面积25平方米，验收合格"},
        headers=claims.ADMIN,
    )  # fmt: skip
    assert accepted.status_code == 200, accepted.text
    studio_milestone = accepted.json()["milestones"][0]
    assert (studio_milestone["accepted_on"], studio_milestone["acceptors"]) == (
        "2023-09-05", ["县工信局 张工", "第三方专家 李工"],
    )  # fmt: skip
    assert studio_milestone["evidence_file_ids"] == [upload.json()["id"]]
    instalment = (await _due_events(nats_client, namespace, 2))[1]["data"]
    assert (instalment["tranche_code"], instalment["milestone_code"], instalment["amount_fen"]) == (
        "studio", "fixed-studio", 36_000_000,
    )  # fmt: skip
    assert instalment["spending_category"] == "hardware"
    assert instalment["accepted_by"] == ["县工信局 张工", "第三方专家 李工"]

    async with producer("funds", database_url, nats_url, namespace) as funds:
        await _funds_pay_advance_and_instalment(claims, funds, cid, advance, instalment)
        await _final_acceptance_pays_the_balance(claims, funds, nats_client, namespace, cid)


async def _final_acceptance_pays_the_balance(
    claims, funds: Producer, nats_client, namespace: str, cid: str
) -> None:  # type: ignore[no-untyped-def]
    for code, value in (("fixed-studio-area", 25), ("shared-studios", 4)):
        reported = await claims.http.post(
            f"/contracts/{cid}/deliverables/{code}/report",
            json={"actual_value": value},
            headers=WINNER_USER,
        )
        assert reported.status_code == 200, reported.text
    done = await claims.http.post(
        f"/contracts/{cid}/milestones/shared-studios/acceptance", json={}, headers=claims.ADMIN
    )
    assert done.json()["milestones"][1]["acceptors"] == ["Wang Admin"]  # the recorder by default
    assert len(await read_events(nats_client, namespace, DUE, timeout=0.2)) == 2  # no instalment
    passed = await claims.http.post(
        f"/contracts/{cid}/acceptance",
        json={"outcome": "passed", "note": "验收合格"},
        headers=claims.MEMBER,
    )
    assert (passed.status_code, passed.json()["status"]) == (200, "accepted"), passed.text
    balance = (await _due_events(nats_client, namespace, 3))[2]["data"]
    assert (balance["tranche_kind"], balance["amount_fen"], balance["accepted_by"]) == (
        "balance", 27_000_000, ["Zhao Member"],
    )  # fmt: skip
    assert (
        len({e["data"]["payment_due_id"] for e in await _due_events(nats_client, namespace, 3)})
        == 3
    )
    await funds.emit(_executed(balance, new_id()), aggregate_id=balance["payment_due_id"])
    await _tranche(claims, cid, "balance", "paid")
    final = (await claims.http.get(f"/contracts/{cid}", headers=claims.AUDITOR)).json()
    assert [t["status"] for t in final["payment_schedule"]] == ["paid", "paid", "paid"]
    assert (final["paid_yuan"], final["remaining_fen"]) == ("900,000.00", 0)


async def _funds_pay_advance_and_instalment(
    claims, funds: Producer, cid: str, advance: dict, instalment: dict
) -> None:  # type: ignore[no-untyped-def]
    first = new_id()
    await funds.emit(_executed(advance, first), aggregate_id=advance["payment_due_id"])
    paid = await _tranche(claims, cid, "advance", "paid")
    assert (paid["paid_fen"], paid["payment_id"]) == (27_000_000, first)
    view = (await claims.http.get(f"/contracts/{cid}", headers=WINNER_USER)).json()
    assert (view["paid_yuan"], view["remaining_yuan"]) == ("270,000.00", "630,000.00")

    # The bank returned the advance: payable again; a retry pays it; the stale report is ignored.
    await funds.emit(_failed(advance, first), aggregate_id=advance["payment_due_id"])
    again = await _tranche(claims, cid, "advance", "due")
    assert (again["payment_id"], again["failed_payment_ids"]) == (None, [first])
    second = new_id()
    await funds.emit(_executed(advance, second), aggregate_id=advance["payment_due_id"])
    assert (await _tranche(claims, cid, "advance", "paid"))["payment_id"] == second
    await funds.emit(_executed(advance, first), aggregate_id=advance["payment_due_id"])  # late

    await funds.emit(_executed(instalment, new_id()), aggregate_id=instalment["payment_due_id"])
    await _tranche(claims, cid, "studio", "paid")
    # the late report of the failed payment changed nothing
    assert (await _tranche(claims, cid, "advance", "paid"))["payment_id"] == second


async def test_packages_and_schedules_refuse_what_does_not_fit(
    claims, nats_client, namespace: str
) -> None:  # type: ignore[no-untyped-def]
    await _setup(claims)
    too_big = await _package(claims, budget_yuan="900,000.01")
    assert (too_big.status_code, too_big.json()["code"]) == (409, "PACKAGE_EXCEEDS_BUDGET")
    renewal = await _package(claims, method="renewal")
    assert (renewal.status_code, renewal.json()["code"], renewal.json()["field"]) == (
        422, "RENEWAL_NEEDS_PREDECESSOR", "renews",
    )  # fmt: skip
    unregistered = await _package(
        claims, winner_credit_code=with_check_character("91440232MA4W00003")
    )
    assert unregistered.json()["code"] == "ENTERPRISE_NOT_REGISTERED"
    assert (await _package(claims, budget_yuan="600,000.00")).status_code == 201
    again = await _package(claims, budget_yuan="1.00")
    assert (again.status_code, again.json()["code"]) == (409, "PACKAGE_EXISTS")
    # 300,000.00 of the item is left outside the package
    second = await _package(claims, code="lot-3b", budget_yuan="300,000.01")
    assert second.json()["code"] == "PACKAGE_EXCEEDS_BUDGET"
    outside = await _contract(
        claims, package_code=None, contract_no="RY-OUT-1", provider_credit_code=LOSER,
        amount_yuan="300,000.01", payment_schedule=None,
    )  # fmt: skip
    assert outside.json()["code"] == "CONTRACT_EXCEEDS_BUDGET"

    loser = await _contract(claims, provider_credit_code=LOSER)
    assert (loser.status_code, loser.json()["code"]) == (422, "PROVIDER_NOT_WINNER")
    over = await _contract(claims)  # 900,000.00 in a 600,000.00 package
    assert (over.status_code, over.json()["code"]) == (409, "CONTRACT_EXCEEDS_PACKAGE")
    unknown = await _contract(claims, package_code="no-such-lot")
    assert unknown.json()["code"] == "PACKAGE_NOT_FOUND"
    schedule = contract_body()["payment_schedule"]
    mismatch = await _contract(claims, amount_yuan="600,000.00", payment_schedule=schedule)
    assert (mismatch.status_code, mismatch.json()["code"], mismatch.json()["field"]) == (
        422, "SCHEDULE_SUM_MISMATCH", "payment_schedule",
    )  # fmt: skip

    # Without a schedule a contract works as before and nothing becomes payable; a failed
    # acceptance pays nothing either.
    plain = await _contract(claims, amount_yuan="600,000.00", payment_schedule=None)
    assert plain.status_code == 201, plain.text
    assert (plain.json()["payment_schedule"], plain.json()["remaining_yuan"]) == (
        None,
        "600,000.00",
    )
    failed = await claims.http.post(
        f"/contracts/{plain.json()['id']}/acceptance",
        json={"outcome": "failed", "note": "直播间未建成"},
        headers=claims.ADMIN,
    )
    assert failed.json()["status"] == "failed"
    assert await read_events(nats_client, namespace, DUE, timeout=0.2) == []
    bad_day = await claims.http.post(
        f"/contracts/{plain.json()['id']}/milestones/fixed-studio/acceptance",
        json={"accepted_on": "2023-06-01"},
        headers=claims.ADMIN,
    )
    assert bad_day.json()["code"] == "CONTRACT_CLOSED"


async def test_a_refused_tranche_and_an_overdue_milestone(
    claims, nats_client, namespace: str, database_url: str, nats_url: str
) -> None:  # type: ignore[no-untyped-def]
    await _setup(claims)
    assert (await _package(claims)).status_code == 201
    cid = (await _contract(claims)).json()["id"]
    (advance,) = [e["data"] for e in await _due_events(nats_client, namespace, 1)]
    refused = ContractPaymentRefused(
        payment_due_id=advance["payment_due_id"], contract_id=cid, tranche_code="advance",
        program_code=PROGRAM, item_code="livestream-center", amount_fen=27_000_000,
        code="CONTRACTOR_IN_DEFAULT", reason="承办企业违约，资金待追回", refused_at=datetime.now(UTC),
    )  # fmt: skip
    async with producer("funds", database_url, nats_url, namespace) as funds:
        await funds.emit(refused, aggregate_id=advance["payment_due_id"])
        tranche = await _tranche(claims, cid, "advance", "refused")
    assert (tranche["refusal_code"], tranche["refusal_reason"]) == (refused.code, refused.reason)
    wrong_file = await claims.http.post(
        f"/contracts/{cid}/milestones/shared-studios/acceptance",
        json={"evidence_file_ids": [new_id()]},
        headers=claims.ADMIN,
    )
    assert (wrong_file.status_code, wrong_file.json()["code"]) == (422, "EVIDENCE_FILE_NOT_FOUND")
    await claims.http.post(
        "/admin/clock", json={"set_to": "2023-09-02T02:00:00Z"}, headers=claims.ADMIN
    )
    check = await claims.http.post("/admin/milestones/check", headers=claims.ADMIN)
    # the 5 preparation milestones of the program (due by 06-30) and the fixed studio (08-31)
    assert check.json()["announced"] == 6
    again = await claims.http.post("/admin/milestones/check", headers=claims.ADMIN)
    assert again.json()["announced"] == 0
    events = await eventually(lambda: claims.at_least("milestone_overdue", 6))
    (studio,) = [e["data"] for e in events if e["data"].get("contract_id")]
    assert (studio["contract_id"], studio["contract_no"], studio["milestone_code"]) == (
        cid, "RY-2023-FW-003", "fixed-studio",
    )  # fmt: skip
    assert (studio["responsible_unit"], studio["responsible_email"], studio["due_on"]) == (
        "乳源瑶乡直播科技有限公司", "lihua@example.cn", "2023-08-31",
    )  # fmt: skip
    view = (await claims.http.get(f"/contracts/{cid}", headers=claims.ADMIN)).json()
    assert view["milestones"][0]["overdue_notified_at"] is not None


# -- issue 16 (10, 7): a package contract over two items; the leading group's decision -----------
SMART, NETWORK = "smart-logistics-center", "logistics-network-operation"


def _split(smart: str, network: str) -> list[dict[str, str]]:
    return [{"item_code": SMART, "amount_yuan": smart}, {"item_code": NETWORK, "amount_yuan": network}]


def logistics_contract(**overrides: Any) -> dict[str, Any]:
    """A public-tender package on Ruyuan's logistics line covering both its items; the
    2,200,000.00 contract pays 30 % / 40 % / 30 %, each tranche split across the items."""
    return contract_body(
        item_code=SMART, package_code="lot-5-logistics", contract_no="RY-2023-WL-005",
        amount_yuan="2,200,000.00", items=_split("1,500,000.00", "700,000.00"),
        milestones=[{"code": "sorting-line", "name": "统仓共配智能分拣线建成", "due_on": "2023-09-30"}],
        payment_schedule=[
            {"code": "advance", "kind": "advance", "amount_yuan": "660,000.00",
             "items": _split("450,000.00", "210,000.00")},
            {"code": "sorting", "kind": "instalment", "amount_yuan": "880,000.00",
             "milestone_code": "sorting-line", "items": _split("600,000.00", "280,000.00"),
             "hardware_yuan": "500,000.00"},
            {"code": "balance", "kind": "balance", "amount_yuan": "660,000.00",
             "items": _split("450,000.00", "210,000.00")},
        ], **overrides,
    )  # fmt: skip


async def test_a_package_contract_over_two_items_is_split_paid_and_reported(
    claims, nats_client, namespace: str, database_url: str, nats_url: str
) -> None:  # type: ignore[no-untyped-def]
    await _setup(claims)
    package = await _package(
        claims, code="lot-5-logistics", name="智慧物流中心及物流站点运营包组",
        line_code="three-tier-logistics", item_codes=[SMART, NETWORK], budget_yuan="2,200,000.00",
    )  # fmt: skip
    assert package.status_code == 201, package.text
    # a tranche not split while the contract is: refused in Chinese with the figures
    bad = logistics_contract()
    bad["payment_schedule"][0] = {"code": "advance", "kind": "advance", "amount_yuan": "660,000.00"}
    refused = await claims.http.post(f"/programs/{PROGRAM}/contracts", json=bad, headers=claims.ADMIN)
    assert (refused.status_code, refused.json()["code"]) == (422, "TRANCHE_SPLIT_REQUIRED"), refused.text
    assert refused.json()["title_zh"] == "付款须按项目拆分" and "660,000.00" in refused.json()["detail_zh"]
    signed = await claims.http.post(
        f"/programs/{PROGRAM}/contracts", json=logistics_contract(), headers=claims.ADMIN
    )
    assert signed.status_code == 201, signed.text
    contract = signed.json()
    assert [(i["item_code"], i["amount_yuan"]) for i in contract["items"]] == [
        (SMART, "1,500,000.00"), (NETWORK, "700,000.00")]  # fmt: skip
    (advance,) = [e["data"] for e in await _due_events(nats_client, namespace, 1)]
    assert [(p["line_code"], p["item_code"], p["amount_fen"]) for p in advance["parts"]] == [
        ("three-tier-logistics", SMART, 45_000_000),
        ("three-tier-logistics", NETWORK, 21_000_000),
    ]  # fmt: skip
    await claims.http.post(
        f"/contracts/{contract['id']}/milestones/sorting-line/acceptance", json={},
        headers=claims.ADMIN,
    )  # fmt: skip
    due = [e["data"] for e in await _due_events(nats_client, namespace, 2)]
    sorting = next(d for d in due if d["tranche_code"] == "sorting")
    assert sorting["hardware_fen"] == 50_000_000 and len(sorting["parts"]) == 2

    # funds pays both, the instalment with the leading group's decision on the ≤10 % rule
    decision = RatioJustification(
        rule_code="hardware-decoration-max", text="分拣设备为智慧物流中心验收必需，领导小组2023年第3次会议同意",
        recorded_by="u-leader-zhao", recorded_by_name="赵组长", recorded_at=datetime(2023, 9, 5, 2, tzinfo=UTC),
    )  # fmt: skip
    async with producer("funds", database_url, nats_url, namespace) as funds:
        await funds.emit(_executed(advance, new_id()), aggregate_id=advance["payment_due_id"])
        paid = _executed(sorting, new_id()).model_copy(update={"ratio_justifications": [decision]})
        await funds.emit(paid, aggregate_id=sorting["payment_due_id"])
        await _tranche(claims, contract["id"], "advance", "paid")
        tranche = await _tranche(claims, contract["id"], "sorting", "paid")
    assert tranche["ratio_justifications"][0]["recorded_by_name"] == "赵组长"
    assert tranche["hardware_fen"] == 50_000_000

    report = (await claims.http.get(f"/programs/{PROGRAM}/execution-report", headers=claims.AUDITOR)).json()
    items = {i["code"]: i["figures"] for line in report["lines"] for i in line["items"]}
    assert (items[SMART]["committed_fen"], items[SMART]["paid_fen"]) == (150_000_000, 105_000_000)
    assert (items[NETWORK]["committed_fen"], items[NETWORK]["paid_fen"]) == (70_000_000, 49_000_000)
    assert items[SMART]["uncommitted_fen"] == 0 and items[NETWORK]["uncommitted_fen"] == 0
    negative = [(code, k) for code, f in items.items() for k, v in f.items() if k.endswith("_fen") and v < 0]
    assert negative == []
    hardware = next(r for r in report["ratios"] if r["code"] == "hardware-decoration-max")
    assert hardware["paid_this_phase_fen"] == 50_000_000  # the named part, not the 880,000.00
    (shown,) = hardware["decisions"]
    assert (shown["contract_no"], shown["tranche_code"], shown["decided_by"]) == ("RY-2023-WL-005", "sorting", "赵组长")

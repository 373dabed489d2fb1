"""Claims over HTTP and events: submit -> review -> decision -> funds' reservation,
publicity and payment fed through a real funds outbox and JetStream."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ruralfund_common.contracts import (
    AwardReserved,
    BankInstruction,
    PaymentApproval,
    PaymentExecuted,
    PublicityWindowOpened,
    ReservationRefused,
    StationVolumeReported,
)
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.ids import new_id
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration
NOW = datetime(2021, 11, 1, 2, 0, tzinfo=UTC)
# 集电商运营、直播带货、仓储发货、商品销售为一体的示范站点
STATION_FUNCTIONS = {
    "ecommerce_operation": True,
    "livestream_sales": True,
    "warehousing_shipping": True,
    "retail_sales": True,
}


async def test_brand_packaging_claim_from_submission_to_payment(claims, funds) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    submitted = await claims.submit(12_345)
    assert submitted.status_code == 201, submitted.text
    claim = submitted.json()
    assert (claim["status"], claim["amount_fen"], claim["amount_yuan"], claim["period"]) == (
        "submitted",
        246_900,
        "2,469.00",
        "2023Q3",
    )
    # each reason also in Chinese, with its figures (the console shows these)
    assert [r["text_zh"] for r in claim["reasons"]] == [
        "企业注册地（须在方案所在县注册）：530427，要求530427", "使用数量：12,345，要求不低于 10,000",
        "申报的 2023Q3 在方案申报期间 2022年10月23日至项目验收内"]
    (sub_env,) = await eventually(lambda: claims.events("claim_submitted"))
    assert (
        sub_env["data"]["claim_id"],
        sub_env["data"]["amount_fen"],
        sub_env["data"]["eligible"],
    ) == (claim["id"], 246_900, True)

    reviewed = await claims.http.post(
        f"/claims/{claim['id']}/review",
        json={"outcome": "complete", "note": "材料齐全"},
        headers=claims.ADMIN,
    )
    assert reviewed.json()["status"] == "awaiting_decision"

    recused = await claims.http.post(
        f"/claims/{claim['id']}/decision",
        json={"decision": "approve"},
        headers=claims.LINKED_MEMBER,
    )
    assert (recused.status_code, recused.json()["code"]) == (403, "RECUSAL_REQUIRED")
    assert await claims.status_of(claim["id"]) == "awaiting_decision"

    approved = await claims.http.post(
        f"/claims/{claim['id']}/decision", json={"decision": "approve"}, headers=claims.MEMBER
    )
    assert approved.status_code == 200, approved.text
    award_id = approved.json()["award_id"]
    (env,) = await eventually(lambda: claims.events("claim_approved"))
    event = env["data"]
    assert (event["claim_id"], event["amount_fen"], event["award_id"]) == (
        claim["id"],
        246_900,
        award_id,
    )
    assert award_id != claim["id"]
    assert (event["payee_bank_name"], event["payee_bank_account"]) == (
        "中国农业银行新平县支行",
        "6228 4800 0000 0000 017",
    )
    assert (
        event["line_code"],
        event["item_code"],
        event["period"],
        event["requires_publicity"],
    ) == ("brand-promotion", "brand-packaging", "2023Q3", True)
    assert event["rule_version"] == claim["rule_version"]

    await _pay(claims, funds, claim["id"], award_id)
    history = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ENTERPRISE)).json()[
        "history"
    ]
    assert [h["action"] for h in history] == [
        "submit",
        "complete_review",
        "approve",
        "reserve",
        "open_publicity",
        "pay",
    ]
    assert [h["to_status"] for h in history][-1] == "paid"
    assert history[2]["actor_name"] == "Zhao Member"


async def _pay(claims, funds, claim_id: str, award_id: str) -> None:  # type: ignore[no-untyped-def]
    common = {"award_id": award_id, "claim_id": claim_id, "program_code": "xinping-2021"}
    await funds(
        AwardReserved(
            **common,
            item_code="brand-packaging",
            amount_fen=246_900,
            item_available_fen=99_753_100,
            reserved_at=NOW,
        ),
        award_id,
    )
    await eventually(lambda: claims.status_of(claim_id), expect="reserved")
    await funds(
        PublicityWindowOpened(
            **common,
            published_at=NOW,
            starts_on=date(2021, 11, 1),
            ends_on=date(2021, 11, 5),
            payable_from=date(2021, 11, 8),
        ),
        award_id,
    )
    await eventually(lambda: claims.status_of(claim_id), expect="in_publicity")
    await funds(_payment(common, claims.LOCAL), award_id)
    await eventually(lambda: claims.status_of(claim_id), expect="paid")
    paid = (await claims.http.get(f"/claims/{claim_id}", headers=claims.ADMIN)).json()
    assert (paid["publicity_ends_on"], paid["payable_from"], paid["payment_id"]) == (
        "2021-11-05",
        "2021-11-08",
        "pay-1",
    )


def _payment(common: dict, payee: str) -> PaymentExecuted:
    approvals = [
        PaymentApproval(person=p, name=p, role=r, content_sha256="0" * 64, approved_at=NOW)
        for p, r in (("u-zhao", "leading_group"), ("u-sig", "contractor_signatory"))
    ]
    instruction = BankInstruction(
        from_account="0000",
        to_account="6228 4800 0000 0000 017",
        to_bank_name="中国农业银行新平县支行",
        to_name="新平礼好农业有限公司",
        amount_fen=246_900,
        reference="pay-1",
    )
    return PaymentExecuted(
        **common,
        payment_id="pay-1",
        item_code="brand-packaging",
        payee_credit_code=payee,
        payee_name="新平礼好农业有限公司",
        amount_fen=246_900,
        content_sha256="0" * 64,
        approvals=approvals,
        bank_instruction=instruction,
        executed_at=NOW,
    )


async def test_reservation_refused_is_recorded_with_its_code(claims, funds) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    await funds(
        ReservationRefused(
            award_id=claim["award_id"],
            claim_id=claim["id"],
            program_code="xinping-2021",
            item_code="brand-packaging",
            amount_fen=246_900,
            code="ITEM_BUDGET_EXCEEDED",
            reason="only 100.00 left",
            refused_at=NOW,
        ),
        claim["award_id"],
    )
    await eventually(lambda: claims.status_of(claim["id"]), expect="reservation_refused")
    stored = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ADMIN)).json()
    assert (stored["refusal_code"], stored["refusal_reason"]) == (
        "ITEM_BUDGET_EXCEEDED",
        "only 100.00 left",
    )


async def test_payment_reported_before_the_publicity_event_still_ends_paid(claims, funds) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    common = {
        "award_id": claim["award_id"],
        "claim_id": claim["id"],
        "program_code": "xinping-2021",
    }
    await funds(_payment(common, claims.LOCAL), claim["award_id"])
    await eventually(lambda: claims.status_of(claim["id"]), expect="paid")
    await funds(
        PublicityWindowOpened(
            **common,
            published_at=NOW,
            starts_on=date(2021, 11, 1),
            ends_on=date(2021, 11, 5),
            payable_from=date(2021, 11, 8),
        ),
        claim["award_id"],
    )
    await eventually(
        lambda: claims.sql("SELECT publicity_ends_on FROM claims"), expect=date(2021, 11, 5)
    )
    assert await claims.status_of(claim["id"]) == "paid"


async def test_funds_event_for_another_award_is_dead_lettered_and_changes_nothing(
    claims, funds
) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    wrong_award = new_id()
    await funds(
        AwardReserved(
            award_id=wrong_award,
            claim_id=claim["id"],
            program_code="xinping-2021",
            item_code="brand-packaging",
            amount_fen=246_900,
            item_available_fen=0,
            reserved_at=NOW,
        ),
        wrong_award,
    )
    reason = await eventually(
        lambda: claims.sql("SELECT reason FROM inbox WHERE outcome = 'dead_lettered'")
    )
    assert reason.startswith("AWARD_MISMATCH")
    assert await claims.status_of(claim["id"]) == "approved"


async def test_an_enterprise_cannot_read_another_enterprises_claim(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    claim = (await claims.submit()).json()
    other = await claims.http.get(f"/claims/{claim['id']}", headers=claims.OTHER_ENTERPRISE)
    assert (other.status_code, other.json()["code"]) == (404, "CLAIM_NOT_FOUND")
    assert (await claims.http.get("/claims", headers=claims.OTHER_ENTERPRISE)).json()["items"] == []
    own = (
        await claims.http.get(
            "/claims?program=xinping-2021&status=submitted", headers=claims.ENTERPRISE
        )
    ).json()["items"]
    assert [c["id"] for c in own] == [claim["id"]]
    withdraw = await claims.http.post(
        f"/claims/{claim['id']}/withdraw", json={}, headers=claims.OTHER_ENTERPRISE
    )
    assert withdraw.status_code == 404
    assert await claims.status_of(claim["id"]) == "submitted"


async def test_idempotency_key_replay_gives_the_same_claim_and_one_event(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    first = await claims.submit(key="claim-2023Q3-001")
    replay = await claims.submit(key="claim-2023Q3-001")
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    reused = await claims.submit(units=20_000, key="claim-2023Q3-001")
    assert (reused.status_code, reused.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")

    assert await claims.sql("SELECT count(*) FROM claims") == 1
    assert (
        await claims.sql(
            "SELECT count(*) FROM outbox WHERE subject = 'claims.evt.claim_submitted.v1'"
        )
        == 1
    )
    await eventually(
        lambda: claims.sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL"), expect=0
    )
    assert [e["data"]["claim_id"] for e in await claims.events("claim_submitted")] == [
        first.json()["id"]
    ]


async def test_duplicate_and_ineligible_claims_are_refused(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    assert (await claims.submit(12_345)).status_code == 201
    duplicate = await claims.submit(15_000)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "DUPLICATE_CLAIM")
    ineligible = await claims.submit(9_999, quarter="2023Q4")
    assert (ineligible.status_code, ineligible.json()["code"]) == (422, "CLAIM_INELIGIBLE")
    failed = [r for r in ineligible.json()["details"]["reasons"] if not r["passed"]]
    assert [(r["check"], r["required"], r["actual"]) for r in failed] == [
        ("min_units", ">= 10,000", "9,999")
    ]
    assert await claims.sql("SELECT count(*) FROM claims") == 1


async def test_illegal_steps_are_refused_by_code(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    claim = (await claims.submit()).json()
    early = await claims.http.post(
        f"/claims/{claim['id']}/decision", json={"decision": "approve"}, headers=claims.MEMBER
    )
    assert (early.status_code, early.json()["code"]) == (409, "CLAIM_STATE_INVALID")
    await claims.http.post(
        f"/claims/{claim['id']}/review", json={"outcome": "complete"}, headers=claims.ADMIN
    )
    await claims.http.post(
        f"/claims/{claim['id']}/decision", json={"decision": "approve"}, headers=claims.MEMBER
    )
    late = await claims.http.post(
        f"/claims/{claim['id']}/withdraw",
        json={"note": "changed my mind"},
        headers=claims.ENTERPRISE,
    )
    assert (late.status_code, late.json()["code"]) == (409, "CLAIM_STATE_INVALID")
    assert await claims.status_of(claim["id"]) == "approved"


async def test_return_resubmit_and_reject(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    claim = (await claims.submit(12_345)).json()
    no_note = await claims.http.post(
        f"/claims/{claim['id']}/review", json={"outcome": "return"}, headers=claims.ADMIN
    )
    assert no_note.json()["code"] == "NOTE_REQUIRED"
    returned = await claims.http.post(
        f"/claims/{claim['id']}/review",
        json={"outcome": "return", "note": "附上入库单"},
        headers=claims.ADMIN,
    )
    assert returned.json()["status"] == "returned"
    resubmitted = await claims.http.post(
        f"/claims/{claim['id']}/resubmit",
        json={"evidence": {"quarter": "2023Q3", "units": 12_000}},
        headers=claims.ENTERPRISE,
    )
    assert (resubmitted.json()["status"], resubmitted.json()["amount_fen"]) == (
        "submitted",
        240_000,
    )
    await claims.http.post(
        f"/claims/{claim['id']}/review", json={"outcome": "complete"}, headers=claims.ADMIN
    )
    rejected = await claims.http.post(
        f"/claims/{claim['id']}/decision",
        json={"decision": "reject", "reason": "包装未使用公共品牌Logo"},
        headers=claims.MEMBER,
    )
    assert rejected.json()["status"] == "rejected"
    (env,) = await eventually(lambda: claims.events("claim_rejected"))
    assert (env["data"]["claim_id"], env["data"]["reason"]) == (
        claim["id"],
        "包装未使用公共品牌Logo",
    )
    assert len(await eventually(lambda: claims.at_least("claim_submitted", 2))) == 2
    # A rejected claim frees its period: the enterprise may claim the quarter again.
    assert (await claims.submit(12_000)).status_code == 201


async def test_station_claim_is_prefilled_from_the_volume_logistics_reported(
    claims, logistics
) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register(claims.OTHER, name="新平县戛洒镇快递服务站", kind="station_operator")
    await logistics(
        StationVolumeReported(
            station_id="st-gasa",
            station_name="戛洒镇服务站",
            operator_credit_code=claims.OTHER,
            year=2023,
            month=12,
            month_volume_fen=10_000_000,
            month_parcels=900,
            annual_volume_fen=120_000_000,
            annual_parcels=11_000,
        ),
        "st-gasa",
    )
    await eventually(
        lambda: claims.sql("SELECT annual_volume_fen FROM station_volumes"), expect=120_000_000
    )
    body = {
        "program_code": "xinping-2021",
        "item_code": "station-upgrade",
        "evidence": {"year": 2023, "figures": STATION_FUNCTIONS},
    }
    response = await claims.http.post("/claims", json=body, headers=claims.OTHER_ENTERPRISE)
    assert response.status_code == 201, response.text
    claim = response.json()
    assert (claim["amount_fen"], claim["period"]) == (
        5_000_000,
        "2023/station:st-gasa",
    )  # 1,200,000.00 -> the 50,000 tier
    assert claim["evidence"]["annual_volume_yuan"] == "1,200,000.00"
    detail = (
        await claims.http.get(f"/claims/{claim['id']}", headers=claims.OTHER_ENTERPRISE)
    ).json()
    assert detail["history"][0]["data"]["annual_volume_source"] == "logistics"


async def test_service_items_cannot_be_claimed(claims) -> None:  # type: ignore[no-untyped-def]
    await claims.load_xinping()
    await claims.register()
    body = {"program_code": "xinping-2021", "item_code": "trade-fairs", "evidence": {}}
    response = await claims.http.post("/claims", json=body, headers=claims.ENTERPRISE)
    assert (response.status_code, response.json()["code"]) == (422, "ITEM_NOT_CLAIMABLE")


def _failure(common: dict, payee: str, payment_id: str) -> PaymentFailed:
    return PaymentFailed(**common, payment_id=payment_id, payee_credit_code=payee, amount_fen=246_900,
                         bank_reference="RF-1", code="ACCOUNT_CLOSED", reason="收款账户已销户", source="statement",
                         failed_at=NOW)


async def test_failed_payment_makes_the_claim_payable_again_and_a_new_payment_pays_it(claims, funds) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    await _pay(claims, funds, claim["id"], claim["award_id"])
    common = {"award_id": claim["award_id"], "claim_id": claim["id"], "program_code": "xinping-2021"}
    await funds(_failure(common, claims.LOCAL, "pay-1"), claim["award_id"])
    await eventually(lambda: claims.status_of(claim["id"]), expect="in_publicity")
    again = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ADMIN)).json()
    assert again["payment_id"] is None and again["payable_from"] == "2021-11-08"
    second = _payment(common, claims.LOCAL).model_copy(update={"payment_id": "pay-2"})
    await funds(second, claim["award_id"])
    await eventually(lambda: claims.status_of(claim["id"]), expect="paid")
    paid = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ADMIN)).json()
    assert paid["payment_id"] == "pay-2"


async def test_failure_of_an_old_payment_does_not_unpay_a_newer_one(claims, funds) -> None:  # type: ignore[no-untyped-def]
    claim = await claims.approved_claim()
    common = {"award_id": claim["award_id"], "claim_id": claim["id"], "program_code": "xinping-2021"}
    second = _payment(common, claims.LOCAL).model_copy(update={"payment_id": "pay-2"})
    await funds(second, claim["award_id"])  # the retry's success arrives first (another subject)
    await eventually(lambda: claims.status_of(claim["id"]), expect="paid")
    await funds(_failure(common, claims.LOCAL, "pay-1"), claim["award_id"])
    history = await eventually(lambda: _history_actions(claims, claim["id"], "payment_failed"))
    assert history and await claims.status_of(claim["id"]) == "paid"
    late = _payment(common, claims.LOCAL)  # pay-1's own execution report, now stale
    await funds(late, claim["award_id"])
    await eventually(lambda: _history_actions(claims, claim["id"], "late_payment_report"))
    stored = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ADMIN)).json()
    assert (stored["status"], stored["payment_id"]) == ("paid", "pay-2")


async def _history_actions(claims, claim_id: str, action: str):  # type: ignore[no-untyped-def]
    body = (await claims.http.get(f"/claims/{claim_id}", headers=claims.ADMIN)).json()
    return [h for h in body.get("history", []) if h.get("action") == action]


async def test_a_refusal_in_chinese_is_what_the_claim_shows(claims, funds) -> None:  # type: ignore[no-untyped-def]
    # funds gives the refusal's Chinese words with the figures (reason_zh): people read those
    claim = await claims.approved_claim()
    reason_zh = "项目 brand-packaging 可用预算为 100.00 元，本次需要 2,469.00 元，预算不足。"
    await funds(
        ReservationRefused(
            award_id=claim["award_id"], claim_id=claim["id"], program_code="xinping-2021",
            item_code="brand-packaging", amount_fen=246_900, code="ITEM_BUDGET_EXCEEDED",
            reason="only 100.00 left", reason_zh=reason_zh, refused_at=NOW,
        ),
        claim["award_id"],
    )  # fmt: skip
    await eventually(lambda: claims.status_of(claim["id"]), expect="reservation_refused")
    stored = (await claims.http.get(f"/claims/{claim['id']}", headers=claims.ADMIN)).json()
    assert (stored["refusal_code"], stored["refusal_reason"]) == ("ITEM_BUDGET_EXCEEDED", reason_zh)

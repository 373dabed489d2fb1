"""Publicity notices (公示) end to end: approval events in over JetStream, the public page,
PublicityPublished out, the approval mail, and the calendar-unknown path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ruralfund_common.calendar import CalendarStore
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"


async def _public_items(h: Any) -> list[dict[str, Any]]:
    r = await h.client.get("/publicity/notices.json")
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_approved_claim_is_publicised_with_its_window_announced_and_mailed(
    harness, samples
) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.claims.emit(samples.program(), "xinping-2021")
    await eventually(lambda: h.fetchval("SELECT count(*) FROM programs"), expect=1)
    await h.funds.emit(samples.reserved("award-1"), "award-1")

    items = await eventually(lambda: _public_items(h), description="notice on the public JSON list")
    assert len(items) == 1
    notice = items[0]
    assert notice["awardee"] == "新平礼好农业科技有限公司"  # a company: shown in full
    assert notice["program_name"] == "新平县2021年电子商务进农村综合示范项目后续"
    assert notice["item_name"] == "“新平礼好”公共品牌升级打造"
    assert (notice["amount_fen"], notice["amount_yuan"]) == (246_900, "2,469.00")
    assert (notice["starts_on"], notice["ends_on"], notice["phase"]) == (
        "2026-03-02",
        "2026-03-06",
        "open",
    )
    published_at = datetime.fromisoformat(notice["published_at"])
    assert (
        timedelta(0) <= published_at - datetime(2026, 3, 2, 2, 0, tzinfo=UTC) < timedelta(minutes=1)
    )
    url = f"{samples.PUBLIC_BASE_URL}/publicity/notices/{notice['id']}"
    assert notice["url"] == url

    page = await h.client.get("/publicity")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in (
        "新平礼好农业科技有限公司",
        "“新平礼好”公共品牌升级打造",
        "2,469.00",
        "2026年3月2日",
        "2026年3月6日",
        "公示中",
        "异议方式",
        "新平县2021年电子商务进农村综合示范项目后续",
    ):
        assert text in page.text, text
    detail = await h.client.get(f"/publicity/notices/{notice['id']}")
    assert detail.status_code == 200
    assert "2026年3月2日至2026年3月6日" in detail.text and "2,469.00 元" in detail.text

    [event] = await h.published_events(1)
    assert event["type"] == "notify.evt.publicity_published.v1"
    assert event["subject"] == notice["id"]
    data = event["data"]
    assert {
        k: data[k]
        for k in (
            "notice_id",
            "award_id",
            "claim_id",
            "program_code",
            "item_code",
            "starts_on",
            "ends_on",
            "url",
            "notice_no",
        )
    } == {
        "notice_id": notice["id"],
        "award_id": "award-1",
        "claim_id": "claim-of-award-1",
        "program_code": "xinping-2021",
        "item_code": "brand-packaging",
        "starts_on": "2026-03-02",
        "ends_on": "2026-03-06",
        "url": url,
        "notice_no": "XINPING-2021-0001",  # the 公示编号 the portal and letters quote
    }
    assert datetime.fromisoformat(data["published_at"]) == published_at

    await eventually(lambda: len(h.smtp.received), expect=1)
    mail = h.smtp.received[0]
    assert mail.rcpt_tos == ["wang@xinping-lihao.cn"]
    assert "审核通过" in mail.message["Subject"]
    for text in (
        "核定奖补金额 2,469.00 元",
        "公示期：2026年3月2日至2026年3月6日",
        "自2026年3月7日起",
        url,
    ):
        assert text in mail.body, text
    # the server has the mail a moment before the sender marks it sent
    email_id = await eventually(
        lambda: h.fetchval("SELECT id::text FROM emails WHERE status = 'sent'")
    )
    assert mail.message["Message-ID"] == f"<{email_id}@ruralfund.local>"


async def test_individual_awardee_is_masked_for_the_public_and_shown_to_staff(
    harness, samples
) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.funds.emit(
        samples.reserved("award-7", credit_code=samples.INDIVIDUAL_CODE, enterprise_name="张小三"),
        "award-7",
    )
    items = await eventually(lambda: _public_items(h))
    assert items[0]["awardee"] == "张*三"
    page = await h.client.get("/publicity")
    assert "张*三" in page.text and "张小三" not in page.text

    staff = await h.client.get("/notices", headers=samples.AUDITOR)
    assert staff.status_code == 200, staff.text
    assert staff.json()["items"][0]["awardee_name"] == "张小三"


async def test_the_same_approval_delivered_again_makes_one_notice_and_one_mail(
    harness, samples
) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    first = await h.funds.emit(samples.reserved("award-2"), "award-2")
    await eventually(lambda: len(h.smtp.received), expect=1)

    # 1. the very same message again, past JetStream's dedup (a redelivery after a lost ack)
    await h.funds.republish(first["id"])
    # 2. the same reservation under a new message id (funds re-emitted it)
    await h.funds.emit(samples.reserved("award-2"), "award-2")
    await eventually(lambda: h.stream_messages("funds"), expect=3)  # reservation x 3
    await eventually(
        lambda: h.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = 'notify__on_award_reserved'"
        ),
        expect=2,
    )
    await h.settled()

    assert await h.fetchval("SELECT count(*) FROM notices WHERE award_id = 'award-2'") == 1
    assert await h.fetchval("SELECT count(*) FROM emails") == 1
    assert await h.fetchval("SELECT count(*) FROM outbox") == 1  # one PublicityPublished
    assert len(h.smtp.received) == 1
    assert len(await _public_items(h)) == 1


async def test_unknown_calendar_year_keeps_the_notice_waiting_until_an_admin_retries(
    harness, samples
) -> None:
    h = harness
    await h.set_clock("2027-03-01T02:00:00Z")  # a Monday in a year no calendar covers yet
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.funds.emit(samples.reserved("award-3"), "award-3")

    waiting = await eventually(
        lambda: h.fetch("SELECT id::text, status, published_at FROM notices")
    )
    assert [(r["status"], r["published_at"]) for r in waiting] == [("awaiting_calendar", None)]
    notice_id = waiting[0]["id"]
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM outbox") == 0  # nothing emitted, nothing to relay
    assert await h.stream_messages("notify") == 0
    assert await _public_items(h) == []
    assert (await h.client.get(f"/publicity/notices/{notice_id}")).status_code == 404
    assert h.smtp.received == []  # the approval mail waits for the dates

    listed = await h.client.get(
        "/notices", params={"status": "awaiting_calendar"}, headers=samples.ADMIN
    )
    assert [n["id"] for n in listed.json()["items"]] == [notice_id]

    refused = await h.client.post(f"/notices/{notice_id}/publish", headers=samples.ADMIN)
    assert refused.status_code == 422
    assert refused.json()["code"] == "CALENDAR_YEAR_UNKNOWN"

    CalendarStore(h.calendar_dir).load_file(_year_file(h.calendar_dir.parent))
    published = await h.client.post(
        f"/notices/{notice_id}/publish", headers={**samples.ADMIN, "Idempotency-Key": "publish-1"}
    )
    assert published.status_code == 200, published.text
    body = published.json()
    assert (body["status"], body["starts_on"], body["ends_on"]) == (
        "published",
        "2027-03-01",
        "2027-03-05",
    )

    [event] = await h.published_events(1)
    assert (event["data"]["notice_id"], event["data"]["starts_on"]) == (notice_id, "2027-03-01")
    await eventually(lambda: len(h.smtp.received), expect=1)
    assert "公示期：2027年3月1日至2027年3月5日" in h.smtp.received[0].body

    replay = await h.client.post(
        f"/notices/{notice_id}/publish", headers={**samples.ADMIN, "Idempotency-Key": "publish-1"}
    )
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    again = await h.client.post(f"/notices/{notice_id}/publish", headers=samples.ADMIN)
    assert again.status_code == 409 and again.json()["code"] == "NOTICE_ALREADY_PUBLISHED"


def _year_file(directory: Any) -> Any:
    path = directory / "2027.json"
    path.write_text(
        json.dumps(
            {
                "year": 2027,
                "holidays": ["2027-01-01", "2027-10-01"],
                "makeup_working_days": [],
                "source": "test fixture, not the official 2027 schedule",
            }
        )
    )
    return path


async def test_admin_endpoints_check_roles(harness, samples) -> None:
    from ruralfund_common.auth import Role
    from ruralfund_common.testing.services import bearer, person

    h = harness
    assert (await h.client.get("/notices")).status_code == 401
    enterprise_user = bearer(person("Wang", Role.ENTERPRISE, credit_code=samples.COMPANY_CODE))
    assert (await h.client.get("/notices", headers=enterprise_user)).status_code == 403
    some_id = "0195f000-0000-7000-8000-000000000001"
    assert (
        await h.client.post(f"/notices/{some_id}/publish", headers=samples.AUDITOR)
    ).status_code == 403
    missing = await h.client.post(f"/notices/{some_id}/publish", headers=samples.ADMIN)
    assert missing.status_code == 404 and missing.json()["code"] == "NOTICE_NOT_FOUND"


async def test_health_readiness_and_asyncapi_answer(harness) -> None:
    h = harness
    assert (await h.client.get("/healthz")).json() == {"status": "ok"}
    ready = await h.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": "ok", "nats": "ok"}
    spec = (await h.client.get("/asyncapi.json")).json()
    channels = json.dumps(spec["channels"])
    for subject in (
        "notify.evt.publicity_published.v1",
        "claims.evt.claim_approved.v1",
        "claims.evt.claim_rejected.v1",
        "claims.evt.enterprise_registered.v1",
        "funds.evt.payment_executed.v1",
        "funds.evt.award_revoked.v1",
        "claims.evt.claim_submitted.v1",
        "claims.evt.claim_returned.v1",
        "claims.evt.milestone_overdue.v1",
        "logistics.evt.delivery_sla_breached.v1",
        "notify.evt.objection_filed.v1",
        "notify.evt.objection_resolved.v1",
        "funds.evt.award_reserved.v1",  # issue 16: the notice is published from the reservation
        "funds.evt.reservation_refused.v1",
        "funds.evt.contract_payment_refused.v1",
        "claims.evt.enterprise_bank_account_changed.v1",
    ):
        assert subject in channels, subject


async def test_every_contract_schema_an_event_names_as_dataschema_is_served(harness) -> None:
    from ruralfund_common.contracts import ALL_EVENTS

    for subject, model in ALL_EVENTS.items():
        r = await harness.client.get(f"/event-schemas/{subject}.json")
        assert r.status_code == 200, (subject, r.text)
        schema = r.json()
        assert schema["$id"] == f"/event-schemas/{subject}.json"
        assert schema["properties"] == model.model_json_schema()["properties"]
    missing = await harness.client.get("/event-schemas/claims.evt.no_such_event.v1.json")
    assert missing.status_code == 404 and missing.json()["code"] == "CONTRACT_NOT_FOUND"


async def test_broken_calendar_file_keeps_the_notice_waiting_instead_of_dead_lettering(
    harness, samples
) -> None:
    h = harness
    h.calendar_dir.mkdir(parents=True, exist_ok=True)
    (h.calendar_dir / "2026.json").write_text("{not json")  # an admin's half-edited year file
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.funds.emit(samples.reserved("award-4"), "award-4")
    await eventually(lambda: h.fetchval("SELECT status FROM notices"), expect="awaiting_calendar")
    await h.settled()
    assert (
        await h.fetchval("SELECT outcome FROM inbox WHERE consumer = 'notify__on_award_reserved'")
        == "processed"
    )
    notice_id = await h.fetchval("SELECT id::text FROM notices")
    refused = await h.client.post(f"/notices/{notice_id}/publish", headers=samples.ADMIN)
    assert refused.status_code == 503 and refused.json()["code"] == "CALENDAR_FILE_INVALID"


def _tranche(due_id: str, *, requires_publicity: bool) -> ContractPaymentDue:
    return ContractPaymentDue(
        payment_due_id=due_id, contract_id="contract-7", contract_no="XP-2021-FW-07", tranche_code="advance",
        tranche_kind="advance", program_code="xinping-2021", line_code="brand-promotion",
        item_code="brand-packaging", item_name="“新平礼好”公共品牌升级打造",
        provider_credit_code="91530427MA6K5XQ21P", provider_name="新平某品牌策划有限公司",
        payee_bank_account="6228480123456789099", payee_bank_name="中国农业银行新平县支行",
        amount_fen=12_000_000, requires_publicity=requires_publicity,
        became_due_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )  # fmt: skip


async def test_a_contract_tranche_is_publicised_only_when_its_program_says_so(harness, samples) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await eventually(lambda: h.fetchval("SELECT count(*) FROM programs"), expect=1)
    await h.claims.emit(_tranche("due-quiet", requires_publicity=False), "due-quiet")
    await h.claims.emit(_tranche("due-public", requires_publicity=True), "due-public")

    items = await eventually(lambda: _public_items(h), description="the tranche's notice")
    assert [(n["item_name"], n["amount_yuan"], n["awardee"]) for n in items] == [
        ("“新平礼好”公共品牌升级打造（合同XP-2021-FW-07，前期资金拨付）", "120,000.00", "新平某品牌策划有限公司")
    ]
    [event] = await h.published_events(1)
    assert (event["data"]["award_id"], event["data"]["claim_id"]) == ("due-public", "contract-7")
    assert (event["data"]["starts_on"], event["data"]["ends_on"]) == ("2026-03-02", "2026-03-06")
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM notices") == 1  # the quiet one made none

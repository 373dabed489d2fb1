"""Refusals as a county clerk or an enterprise meets them, on the wire: each one names itself
in Chinese (title_zh, never the generic by-status "冲突"/"输入有误") and says why in Chinese
with the figures (detail_zh) — issue 17. A representative set per service: the generic ones
(unknown address, wrong method, no token, wrong role, auditor writing, bad input, unknown
query parameter) and the service's own rules, the three 409s the issue complained of among
them. tests/test_refusals_chinese.py checks every raise site in the source."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.contracts import PublicityPublished
from ruralfund_common.testing.services import person
from ruralfund_common.testing.upstream import producer
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration


async def _each(served: Any, hostile: Any, cases: list[tuple[str, Any, str, str, dict[str, Any]]]) -> None:
    """(expected code, who, method, path, request kwargs): each refused with that code, in Chinese."""
    seen = []
    for code, who, method, path, kwargs in cases:
        r = await served.call(method, path, who, **kwargs)
        assert r.status_code >= 400, f"{method} {path} was accepted: {r.text[:300]}"
        body = hostile.assert_chinese(r)
        assert body["code"] == code, f"{method} {path}: {body}"
        seen.append((code, body["title_zh"], body["detail_zh"]))
    print("\n".join(f"{c}: {t} — {d}" for c, t, d in seen))  # for whoever reads the log


def _generic(hostile: Any, write_path: str, body: dict[str, Any]) -> list[tuple[str, Any, str, str, dict[str, Any]]]:
    people = hostile.PEOPLE
    return [
        ("NOT_FOUND", hostile.ADMIN, "GET", "/no-such-page", {}),
        ("METHOD_NOT_ALLOWED", hostile.ADMIN, "PUT", "/healthz", {}),
        ("AUTH_MISSING", None, "POST", write_path, {"json": body}),
        ("AUTH_INVALID", None, "POST", write_path, {"json": body, "headers": {"Authorization": "Bearer x.y.z"}}),
        ("READ_ONLY", people["auditor"], "POST", write_path, {"json": body}),
        ("INVALID_INPUT", hostile.ADMIN, "POST", write_path, {"json": {"no_such_field": 1}}),
        ("INVALID_INPUT", hostile.ADMIN, "POST", write_path,
         {"content": b"{", "headers": {"Content-Type": "application/json"}}),
        ("UNKNOWN_QUERY_PARAMETER", hostile.ADMIN, "GET", "/healthz", {"params": {"verbose": "1"}}),
    ]  # fmt: skip


async def test_claims_refusals_are_chinese(serve: Any, hostile: Any) -> None:
    claims = await serve("claims")
    people, admin = hostile.PEOPLE, hostile.ADMIN
    claim = {"program_code": "xinping-2021", "item_code": "brand-packaging",
             "evidence": {"quarter": "2023Q3", "units": 12_345}}  # fmt: skip
    yaml = (hostile.PROGRAMS / "xinping-2021.yaml").read_bytes()
    await _each(claims, hostile, [
        *_generic(hostile, "/enterprises", hostile.enterprise_body(hostile.CONTRACTOR, "新平县某公司")),
        ("ROLE_REQUIRED", people["enterprise"], "POST", "/programs",
         {"content": yaml, "headers": {"Content-Type": "application/yaml"}}),
        ("PROGRAM_EXISTS", admin, "POST", "/programs", {"content": yaml, "headers": {"Content-Type": "application/yaml"}}),
        ("UNSUPPORTED_MEDIA_TYPE", admin, "POST", "/programs", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
        ("ENTERPRISE_EXISTS", admin, "POST", "/enterprises", {"json": hostile.enterprise_body()}),
        ("DUPLICATE_CLAIM", people["enterprise"], "POST", "/claims", {"json": claim}),
        ("EVIDENCE_INVALID", people["enterprise"], "POST", "/claims",
         {"json": {**claim, "evidence": {"quarter": "2023Q5", "units": -1}}}),
        ("CLAIM_NOT_FOUND", admin, "GET", "/claims/no-such-claim", {}),
        ("ENTERPRISE_NOT_FOUND", admin, "GET", f"/enterprises/{hostile.CONTRACTOR}", {}),
        ("PROGRAM_NOT_FOUND", admin, "GET", "/programs/no-such-program", {}),
    ])  # fmt: skip


async def test_funds_refusals_are_chinese(
    serve: Any, hostile: Any, nats_url: str, database_url: str, namespace: str
) -> None:
    """Among them the three 409s that all read "冲突" before: the publicity window not over, the
    joint account short of money, a signature over content that has changed since."""
    funds = await serve("funds")
    people, admin = hostile.PEOPLE, hostile.ADMIN
    payment_id = funds.ids["payment_id"]
    payment = (await funds.call("GET", f"/payments/{payment_id}")).json()
    approvals, sign = f"/payments/{payment_id}/approvals", {"content_sha256": payment["content_sha256"]}

    def key() -> dict[str, Any]:
        return {"headers": {"Idempotency-Key": str(uuid.uuid4())}}

    async with producer("notify", database_url, nats_url, namespace) as notify:
        await funds.upstream["claims"].emit(hostile.claim_approved("award-2", publicity=True), "award-2")
        await eventually(lambda: _status(funds, "award-2"), expect="reserved")
        await notify.emit(PublicityPublished(
            notice_id="n-2", award_id="award-2", claim_id="claim-award-2", program_code="xinping-2021",
            item_code="brand-packaging", published_at=hostile_monday(), starts_on="2026-03-02",
            ends_on="2026-03-06", url="https://portal.example.cn/publicity/n-2"), "award-2")  # fmt: skip
        await eventually(lambda: _status(funds, "award-2"), expect="in_publicity")
    ok = await funds.call("POST", approvals, people["contractor_signatory"], json=sign, **key())
    assert ok.status_code == 200, ok.text
    await _each(funds, hostile, [
        *_generic(hostile, "/payments", {"award_id": "award-1"}),
        ("PUBLICITY_NOT_ENDED", admin, "POST", "/payments", {"json": {"award_id": "award-2"}, **key()}),
        ("APPROVAL_CONTENT_CHANGED", people["leading_group"], "POST", approvals,
         {"json": {"content_sha256": "0" * 64}, **key()}),
        ("SAME_PERSON_BOTH_APPROVALS", people["contractor_signatory"], "POST", approvals, {"json": sign, **key()}),
        ("INSUFFICIENT_FUNDS", people["leading_group"], "POST", approvals, {"json": sign, **key()}),
        ("PAYMENT_NOT_FOUND", admin, "GET", f"/payments/{uuid.uuid4()}", {}),
        ("AWARD_NOT_FOUND", admin, "GET", "/awards/no-such-award", {}),
        ("INVALID_AMOUNT", people["finance_bureau"], "POST", "/programs/xinping-2021/releases",
         {"json": {"amount_yuan": "0.00", "approval_reference": "纪要〔2026〕1号"}, **key()}),
        ("NOT_YOUR_DATA", person("Other Enterprise", Role.ENTERPRISE, credit_code=hostile.OTHER), "GET",
         f"/programs/xinping-2021/payees/{hostile.LOCAL}/statement", {}),
    ])  # fmt: skip
    body = (await funds.call("POST", "/payments", admin, json={"award_id": "award-2"}, **key())).json()
    assert "2026年3月6日" in body["detail_zh"] and "2026年3月7日" in body["detail_zh"], body
    short = (await funds.call("POST", approvals, people["leading_group"], json=sign, **key())).json()
    assert "2,469.00 元" in short["detail_zh"] and "预拨" in short["detail_zh"], short


async def _status(served: Any, award_id: str) -> str | None:
    r = await served.call("GET", f"/awards/{award_id}")
    return r.json().get("status") if r.status_code == 200 else None


def hostile_monday() -> datetime:
    return datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def test_logistics_refusals_are_chinese(serve: Any, hostile: Any) -> None:
    lx = await serve("logistics")
    people, admin = hostile.PEOPLE, hostile.ADMIN
    station = lx.ids["station_id"]
    volumes = f"/stations/{station}/volumes"

    def key() -> dict[str, Any]:
        return {"headers": {"Idempotency-Key": str(uuid.uuid4())}}

    month = {"year": 2022, "month": 1, "parcels": 10, "volume": "412,345.60"}
    assert (await lx.call("POST", volumes, admin, json=month, **key())).status_code == 201
    await _each(lx, hostile, [
        *_generic(hostile, "/stations", hostile.center_body()),
        ("STATION_CENTER_EXISTS", admin, "POST", "/stations", {"json": hostile.center_body(), **key()}),
        ("STATION_NOT_FOUND", admin, "GET", f"/stations/{uuid.uuid4()}", {}),
        ("VOLUME_ALREADY_REPORTED", admin, "POST", volumes, {"json": month, **key()}),
        ("VOLUME_MONTH_NOT_ENDED", admin, "POST", volumes, {"json": month | {"year": 2099}, **key()}),
        ("VOLUME_AMOUNT_INVALID", admin, "POST", volumes, {"json": month | {"volume": "1.001"}, **key()}),
        ("NOT_STATION_OPERATOR", people["enterprise"], "POST", volumes, {"json": month | {"month": 2}, **key()}),
    ])  # fmt: skip


async def test_notify_refusals_are_chinese(serve: Any, hostile: Any) -> None:
    notify = await serve("notify")
    admin, notice = hostile.ADMIN, notify.ids["notice_id"]
    json_only = {"headers": {"Accept": "application/json"}}
    subscription = {"url": "https://10.0.0.1/hook", "event_types": ["funds.evt.payment_executed.v1"]}
    public = subscription | {"url": "https://93.184.216.34/hook"}  # an address literal: no DNS asked
    await _each(notify, hostile, [
        *_generic(hostile, "/webhooks/subscriptions", subscription),
        ("NOTICE_NOT_FOUND", None, "GET", "/publicity/notices/no-such-notice", json_only),
        ("WEBHOOK_TARGET_FORBIDDEN", admin, "POST", "/webhooks/subscriptions", {"json": subscription}),
        ("UNKNOWN_EVENT_TYPE", admin, "POST", "/webhooks/subscriptions",
         {"json": public | {"event_types": ["no.such.event"]}}),
        ("INVALID_SECRET", admin, "POST", "/webhooks/subscriptions", {"json": public | {"secret": "hunter2"}}),
        ("SUBSCRIPTION_NOT_FOUND", admin, "GET", f"/webhooks/subscriptions/{uuid.uuid4()}", {}),
        ("OBJECTION_NOT_FOUND", admin, "GET", f"/objections/{uuid.uuid4()}", {}),
        ("FORM_MEDIA_TYPE", None, "POST", f"/publicity/notices/{notice}/objections",
         {"json": {"name": "张三"}, "headers": {"Accept": "application/json", "Sec-Fetch-Site": "same-origin"}}),
    ])  # fmt: skip

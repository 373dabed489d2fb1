"""Objections (异议) on the public page: filed in the window (stored, announced, acknowledged),
refused after it, rate-limited per client, protected by a signed form token; resolved by admins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ruralfund_common.auth import Role
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
LAST_DAY_23_59 = "2026-03-06T15:59:00Z"  # 2026-03-06 23:59 Asia/Shanghai
CLOSED = "2026-03-06T16:00:00Z"  # 2026-03-07 00:00 Asia/Shanghai
FILED = "notify.evt.objection_filed.v1"
RESOLVED = "notify.evt.objection_resolved.v1"
REASON = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


async def _notice(h: Any, samples: Any) -> str:
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.funds.emit(samples.reserved("award-1"), "award-1")

    async def published() -> str | None:
        items = (await h.client.get("/publicity/notices.json")).json()["items"]
        return items[0]["id"] if items else None

    return await eventually(published, description="notice published")


async def _token(h: Any, notice_id: str) -> str:
    page = await h.client.get(f"/publicity/notices/{notice_id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    found = TOKEN.search(page.text)
    assert found, "the notice page offers no objection form"
    return found.group(1)


def _form(token: str, **fields: str) -> dict[str, str]:
    values = {
        "form_token": token,
        "name": "李四",
        "contact": "13987654321",
        "email": "lisi@example.cn",
        "reason": REASON,
    }
    values.update(fields)
    return values


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _post(h: Any, notice_id: str, data: dict[str, str], **headers: str) -> Any:
    """The form posted as a browser does (it asks for a page back)."""
    return await h.client.post(
        f"/publicity/notices/{notice_id}/objections", data=data, headers={**BROWSER, **headers}
    )


async def test_objection_in_the_window_is_stored_announced_and_acknowledged(
    harness, samples
) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    await h.set_clock(LAST_DAY_23_59)  # the last minute still counts
    token = await _token(h, notice_id)

    r = await _post(h, notice_id, _form(token))
    assert r.status_code == 201, r.text
    assert "异议已收到" in r.text and "l***@example.cn" in r.text
    objection_id = re.search(r'id="objection-id">([0-9a-f-]{36})<', r.text).group(1)  # type: ignore[union-attr]
    row = (await h.fetch("SELECT * FROM objections"))[0]
    assert (str(row["id"]), str(row["notice_id"]), row["award_id"], row["status"]) == (
        objection_id,
        notice_id,
        "award-1",
        "pending",
    )
    assert (row["name"], row["contact"], row["email"], row["reason"]) == (
        "李四",
        "13987654321",
        "lisi@example.cn",
        REASON,
    )

    [event] = await h.notify_events(FILED, 1)
    assert event["subject"] == objection_id
    assert {k: event["data"][k] for k in ("objection_id", "notice_id", "award_id", "claim_id")} == {
        "objection_id": objection_id,
        "notice_id": notice_id,
        "award_id": "award-1",
        "claim_id": "claim-of-award-1",
    }
    assert event["data"]["filed_at"].startswith("2026-03-06T15:59")
    assert "李四" not in str(event)  # the objector's identity stays in notify

    mail = await eventually(lambda: _mail_to(h, "lisi@example.cn"))
    assert (
        mail.message["Subject"]
        == f"【电子商务进农村综合示范】异议已受理（受理编号 {objection_id}）"
    )
    # the short number the public page shows (the only notice of this program here), not the id
    for text in ("李四：", "公示编号：XINPING-2021-0001", "奖补金额：2,469.00 元", "暂停拨付"):
        assert text in mail.body, text
    assert notice_id not in mail.body.split("公示网址")[0]

    # the same form again (a reload, a double click): the same objection, nothing new
    again = await _post(h, notice_id, _form(token))
    assert again.status_code == 200 and objection_id in again.text and "此前已经提交" in again.text
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM objections") == 1
    assert await h.notify_event_count(FILED) == 1
    assert len([m for m in h.smtp.received if m.rcpt_tos == ["lisi@example.cn"]]) == 1


def _mail_to(h: Any, address: str) -> Any:
    return next((m for m in h.smtp.received if m.rcpt_tos == [address]), None)


async def test_without_an_email_there_is_no_receipt_mail(harness, samples) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    r = await _post(h, notice_id, _form(await _token(h, notice_id), email=""))
    assert r.status_code == 201 and "受理回执" not in r.text
    await h.settled()
    assert (
        await h.fetchval("SELECT count(*) FROM emails WHERE template = 'objection_received'") == 0
    )


async def test_objection_after_the_window_closed_is_refused_with_a_clear_message(
    harness, samples
) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    token = await _token(h, notice_id)  # the page was opened in time ...
    await h.set_clock(CLOSED)  # ... the form is sent at 00:00 after the last day

    r = await _post(h, notice_id, _form(token))
    assert r.status_code == 409
    assert 'data-code="OBJECTION_WINDOW_CLOSED"' in r.text
    assert "该公示的公示期已于2026年3月6日24时结束，按规定不再受理异议。" in r.text
    page = await h.client.get(f"/publicity/notices/{notice_id}")
    assert TOKEN.search(page.text) is None and 'id="objection-closed"' in page.text
    assert "不再受理异议" in page.text
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM objections") == 0
    assert await h.notify_event_count(FILED) == 0


async def test_posts_are_rate_limited_per_client_with_a_fixed_window(make_harness, samples) -> None:
    # The test client connects from 127.0.0.1; declared a proxy, its X-Forwarded-For names the
    # client, so two clients can be told apart.
    async with make_harness(objection_rate_limit=2, trusted_proxies=["127.0.0.1/32"]) as h:
        notice_id = await _notice(h, samples)
        first = {"X-Forwarded-For": "198.51.100.7"}
        for n in range(2):
            token = await _token(h, notice_id)
            assert (await _post(h, notice_id, _form(token), **first)).status_code == 201, n
        refused = await _post(h, notice_id, _form(await _token(h, notice_id)), **first)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert "提交过于频繁" in refused.text
        # a forged header from an unknown peer cannot pick another bucket: the proxy adds the
        # real client on the right, and that is the one counted
        spoofed = {"X-Forwarded-For": "192.0.2.1, 198.51.100.7"}
        assert (await _post(h, notice_id, _form("x"), **spoofed)).status_code == 429
        other = {"X-Forwarded-For": "203.0.113.9"}
        ok = await _post(h, notice_id, _form(await _token(h, notice_id)), **other)
        assert ok.status_code == 201
        assert await h.fetchval("SELECT count(*) FROM objections") == 3


async def test_the_window_resets(make_harness, samples) -> None:
    async with make_harness(objection_rate_limit=1, objection_rate_window_seconds=1) as h:
        notice_id = await _notice(h, samples)
        statuses: list[int] = []

        async def refused_once_then_accepted() -> bool:
            r = await _post(h, notice_id, _form(await _token(h, notice_id)))
            statuses.append(r.status_code)
            return 429 in statuses and statuses[-1] == 201

        await eventually(refused_once_then_accepted, timeout=10, interval=0.2)


async def test_forged_foreign_or_oversized_posts_are_refused(harness, samples) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    token = await _token(h, notice_id)
    cases = [
        (_form(""), {}, 400, "FORM_TOKEN_INVALID"),
        (_form(token[:-3] + "abc"), {}, 400, "FORM_TOKEN_INVALID"),
        (_form(token), {"Sec-Fetch-Site": "cross-site"}, 403, "CROSS_SITE_FORM"),
        (_form(token, reason="理" * 6000), {}, 413, "FORM_TOO_LARGE"),
    ]
    for data, headers, status, code in cases:
        r = await _post(h, notice_id, data, **headers)
        assert (r.status_code, f'data-code="{code}"' in r.text) == (status, True), (code, r.text)
    # a valid token is for its own notice only (checked before the notice is even looked up)
    other_notice = "0195f000-0000-7000-8000-000000000099"
    assert (await _post(h, other_notice, _form(token))).status_code == 400
    assert (await _post(h, "not-a-notice", _form(token))).status_code == 404
    multipart = await h.client.post(
        f"/publicity/notices/{notice_id}/objections",
        files={"reason": ("a.txt", b"x")},
        data=_form(token),
    )
    assert multipart.status_code == 415
    assert await h.fetchval("SELECT count(*) FROM objections") == 0


async def test_a_form_with_mistakes_comes_back_with_what_to_correct(harness, samples) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    token = await _token(h, notice_id)
    r = await _post(h, notice_id, _form(token, name="", reason="太短了"))
    assert r.status_code == 422
    assert "请修改以下内容后重新提交" in r.text and "不受理匿名异议" in r.text
    assert f'value="{token}"' in r.text  # the same token: it filed nothing yet
    assert "太短了</textarea>" in r.text and 'value="13987654321"' in r.text
    fixed = await _post(h, notice_id, _form(token))
    assert fixed.status_code == 201


async def test_admins_list_and_resolve_once_and_funds_is_told(harness, samples) -> None:
    h = harness
    notice_id = await _notice(h, samples)
    await _post(h, notice_id, _form(await _token(h, notice_id)))
    listed = await h.client.get(
        "/objections", params={"status": "pending"}, headers=samples.AUDITOR
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["name"], item["contact"], item["notice_id"]) == ("李四", "13987654321", notice_id)
    # the notice it is against, so staff see whose award it concerns
    assert item["notice_number"].startswith("XINPING-2021-") and item["awardee_name"]
    assert item["amount_fen"] > 0 and item["notice_ends_on"] and item["recusal_required"] is False
    objection_id = item["id"]
    blank = await h.client.post(f"/objections/{objection_id}/resolve", headers=samples.ADMIN,
                                json={"outcome": "dismissed", "reason": "  "})
    assert blank.status_code == 422 and blank.json()["field"] == "reason", blank.text
    assert "处理异议须写明理由" in blank.json()["detail_zh"]
    by_notice = await h.client.get(
        "/objections", params={"notice_id": notice_id}, headers=samples.ADMIN
    )
    assert [o["id"] for o in by_notice.json()["items"]] == [objection_id]

    body = {"outcome": "upheld", "reason": "经核查，包装箱实际使用量不足1万个，异议成立"}
    path = f"/objections/{objection_id}/resolve"
    assert (await h.client.post(path, json=body, headers=samples.AUDITOR)).status_code == 403
    assert (await h.client.post(path, json=body)).status_code == 401
    key = {**samples.ADMIN, "Idempotency-Key": "resolve-1"}
    r = await h.client.post(path, json=body, headers=key)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolved_by"]) == ("upheld", "u-admin")
    replay = await h.client.post(path, json=body, headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    again = await h.client.post(path, json={**body, "outcome": "dismissed"}, headers=samples.ADMIN)
    assert again.status_code == 409 and again.json()["code"] == "OBJECTION_ALREADY_RESOLVED"

    [event] = await h.notify_events(RESOLVED, 1)
    assert {k: event["data"][k] for k in ("objection_id", "award_id", "outcome", "reason")} == {
        "objection_id": objection_id,
        "award_id": "award-1",
        "outcome": "upheld",
        "reason": body["reason"],
    }
    await h.settled()
    assert await h.notify_event_count(RESOLVED) == 1
    missing = await h.client.post(
        "/objections/0195f000-0000-7000-8000-000000000099/resolve", json=body, headers=samples.ADMIN
    )
    assert missing.status_code == 404 and missing.json()["code"] == "OBJECTION_NOT_FOUND"
    assert "未找到异议" in missing.json()["detail_zh"]
    assert "已处理（异议成立）" in again.json()["detail_zh"]


async def test_clients_that_are_not_browsers_get_problem_json_refusals(harness, samples) -> None:
    """A script, crawler or scanner (no text/html in Accept) gets the refusal every other
    endpoint gives: problem+json with the code and the field; nothing is stored."""
    h = harness
    notice_id = await _notice(h, samples)
    token = await _token(h, notice_id)
    path = f"/publicity/notices/{notice_id}/objections"
    cases = [
        (path, _form(token, name=""), 422, "OBJECTION_INVALID", "name"),
        (path, _form("forged"), 400, "FORM_TOKEN_INVALID", None),
        ("/publicity/notices/not-a-notice/objections", _form(token), 404, "NOTICE_NOT_FOUND", "notice_id"),
    ]  # fmt: skip
    for url, data, status, code, field in cases:
        r = await h.client.post(url, data=data, headers={"Accept": "*/*"})
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers
        body = r.json()
        assert (body["code"], body.get("field"), body["status"]) == (code, field, status)
        assert body["type"] and body["title"] and body["detail"]
    page = await h.client.get("/publicity/notices/0", headers={"Accept": "application/json"})
    assert (page.status_code, page.json()["code"]) == (404, "NOTICE_NOT_FOUND")
    assert await h.fetchval("SELECT count(*) FROM objections") == 0


async def test_a_person_of_the_awardee_cannot_resolve_an_objection_against_it(
    harness, samples
) -> None:
    """Issue 15: dismissing an objection lets the award's payment go out, so the awardee's own
    people (its credit code or a link to it) must recuse - the rule of every service."""
    h = harness
    notice_id = await _notice(h, samples)
    await _post(h, notice_id, _form(await _token(h, notice_id)))
    listed = await h.client.get("/objections", headers=samples.ADMIN)
    [item] = listed.json()["items"]
    path = f"/objections/{item['id']}/resolve"
    body = {"outcome": "dismissed", "reason": "经核查，申报属实，异议不成立"}
    conflicted = (
        person("Own Admin", Role.BUREAU_ADMIN, Role.ENTERPRISE, credit_code=samples.COMPANY_CODE),
        person("Linked Admin", Role.BUREAU_ADMIN, linked=[samples.COMPANY_CODE]),
    )
    assert item["recusal_required"] is False and item["credit_code"] == samples.COMPANY_CODE
    for who in conflicted:
        # told before acting (the console shows 须回避 instead of the buttons) ...
        [seen] = (await h.client.get("/objections", headers=bearer(who))).json()["items"]
        assert seen["recusal_required"] is True
        # ... and refused if they act anyway
        r = await h.client.post(path, json=body, headers=bearer(who))
        assert (r.status_code, r.json()["code"]) == (403, "RECUSAL_REQUIRED"), r.text
        assert samples.COMPANY_CODE in r.json()["detail_zh"] and "回避" in r.json()["title_zh"]
    assert (await h.client.get(f"/objections/{item['id']}", headers=samples.ADMIN)).json()[
        "status"
    ] == "pending"
    await h.settled()
    assert await h.notify_event_count(RESOLVED) == 0
    r = await h.client.post(path, json=body, headers=samples.ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "dismissed", r.text

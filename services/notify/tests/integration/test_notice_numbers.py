"""Issue 17: a citizen quotes a short 公示编号 (XINPING-2021-0001), not a 36-character id. It is
given at publication, per program and in publication order, kept unique by the database, shown
on the list, the notice, the feed and notices.json, and found again by the notice URL, the
lookup box and the objection form."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
REASON = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"


async def _published(h: Any, samples: Any, count: int) -> list[dict[str, Any]]:
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    for i in range(1, count + 1):
        await h.claims.emit(samples.approval(f"award-{i}"), f"claim-of-award-{i}")
        await h.funds.emit(samples.reserved(f"award-{i}"), f"award-{i}")

    async def all_of_them() -> list[dict[str, Any]] | None:
        items = (await h.client.get("/publicity/notices.json")).json()["items"]
        return items if len(items) == count else None

    return await eventually(all_of_them, timeout=20, description=f"{count} notices published")


async def test_each_notice_gets_the_programs_next_short_number(harness, samples) -> None:
    h = harness
    items = await _published(h, samples, 2)
    by_award = dict(await h.fetch("SELECT award_id, notice_seq FROM notices"))
    assert sorted(by_award.values()) == [1, 2]
    numbers = {n["id"]: n["notice_no"] for n in items}
    assert sorted(numbers.values()) == ["XINPING-2021-0001", "XINPING-2021-0002"]
    first_id = next(i for i, no in numbers.items() if no == "XINPING-2021-0001")

    page = (await h.client.get("/publicity")).text
    assert "XINPING-2021-0001" in page and "XINPING-2021-0002" in page
    feed = (await h.client.get("/publicity/feed.atom")).text
    assert "公示编号：XINPING-2021-0001" in feed
    notice = await h.client.get("/publicity/notices/XINPING-2021-0001")
    assert notice.status_code == 200 and 'id="notice-no">XINPING-2021-0001<' in notice.text
    assert first_id not in notice.text.split('id="notice-no">')[1].split("<")[0]  # the number, not the id

    # typed as people type it: lower case, fewer zeros, spaces around
    found = await h.client.get("/publicity/lookup", params={"no": " xinping-2021-1 "}, follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, f"/publicity/notices/{first_id}")
    for unknown in ("XINPING-2021-0099", "NOWHERE-1", "not a number", "XINPING-2021-0000"):
        missing = await h.client.get("/publicity/lookup", params={"no": unknown}, headers={"Accept": "text/html"})
        assert missing.status_code == 404, unknown


async def test_the_objection_form_takes_the_number(harness, samples) -> None:
    h = harness
    await _published(h, samples, 1)
    page = await h.client.get("/publicity/notices/XINPING-2021-0001")
    token = TOKEN.search(page.text)
    assert token, page.text[:300]
    form = {"form_token": token.group(1), "name": "李四", "contact": "13987654321", "email": "", "reason": REASON}
    r = await h.client.post("/publicity/notices/XINPING-2021-0001/objections", data=form,
                            headers={"Accept": "text/html", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 201, r.text[:500]
    assert "您对公示编号 XINPING-2021-0001 提出的异议已收到" in r.text
    assert await h.fetchval("SELECT count(*) FROM objections") == 1


async def test_the_database_refuses_a_second_notice_with_the_same_number(harness, samples) -> None:
    """Even a DB admin's hand edit cannot give two notices one number, nor publish one without."""
    h = harness
    await _published(h, samples, 2)
    with pytest.raises(asyncpg.UniqueViolationError):
        await h.fetchval("UPDATE notices SET notice_seq = 1 WHERE notice_seq = 2")
    with pytest.raises(asyncpg.CheckViolationError):
        await h.fetchval("UPDATE notices SET notice_seq = NULL WHERE notice_seq = 2")

"""The public's other ways in: the Atom feed and JSON carry the page's notices, open data of
paid awards (CSV and JSON, masked), and a revoked award shown withdrawn."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
ATOM = "{http://www.w3.org/2005/Atom}"


async def _public_items(h: Any) -> list[dict[str, Any]]:
    r = await h.client.get("/publicity/notices.json")
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _two_notices(h: Any, samples: Any) -> list[dict[str, Any]]:
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.funds.emit(samples.reserved("award-1"), "award-1")
    await h.funds.emit(
        samples.reserved("award-2", credit_code=samples.INDIVIDUAL_CODE, enterprise_name="张小三"),
        "award-2",
    )
    return await eventually(lambda: _items_when(h, 2), description="two notices published")


async def _items_when(h: Any, count: int) -> list[dict[str, Any]] | None:
    items = await _public_items(h)
    return items if len(items) == count else None


async def test_atom_feed_json_and_page_show_the_same_notices_masked_alike(harness, samples) -> None:
    h = harness
    items = await _two_notices(h, samples)

    r = await h.client.get("/publicity/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == f"{samples.PUBLIC_BASE_URL}/publicity"
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == f"{samples.PUBLIC_BASE_URL}/publicity/feed.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [f"urn:uuid:{n['id']}" for n in items]
    for entry, notice in zip(entries, items, strict=True):
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href") == notice["url"]
        assert notice["awardee"] in (entry.findtext(f"{ATOM}title") or "")
        summary = entry.findtext(f"{ATOM}summary") or ""
        assert (
            "奖补金额：2,469.00 元" in summary and "公示期：2026年3月2日至2026年3月6日" in summary
        )
    assert feed.findtext(f"{ATOM}updated") == max(
        e.findtext(f"{ATOM}updated") or "" for e in entries
    )

    everything = r.text + json.dumps(items, ensure_ascii=False)
    assert "张*三" in everything and "张小三" not in everything
    page = (await h.client.get("/publicity")).text
    assert re.findall(r'href="/publicity/notices/([0-9a-f-]{36})"', page) == [
        n["id"] for n in items
    ]
    assert 'type="application/atom+xml"' in page


async def test_feed_pages_like_the_json(harness, samples) -> None:
    h = harness
    items = await _two_notices(h, samples)
    first = ET.fromstring((await h.client.get("/publicity/feed.atom?limit=1")).content)
    assert [e.findtext(f"{ATOM}id") for e in first.findall(f"{ATOM}entry")] == [
        f"urn:uuid:{items[0]['id']}"
    ]


async def test_empty_feed_is_valid_atom(harness) -> None:
    feed = ET.fromstring((await harness.client.get("/publicity/feed.atom")).content)
    assert feed.findall(f"{ATOM}entry") == [] and feed.findtext(f"{ATOM}updated")


async def test_open_data_lists_every_paid_award_masked_once(harness, samples) -> None:
    h = harness
    await _two_notices(h, samples)
    first = await h.funds.emit(samples.payment("award-1"), "pay-of-award-1")
    await h.funds.emit(
        samples.payment("award-2", credit_code=samples.INDIVIDUAL_CODE, payee_name="张小三"),
        "pay-of-award-2",
    )
    await h.funds.republish(first["id"])  # a redelivered payment is not a second row
    await eventually(lambda: h.stream_messages("funds"), expect=5)  # 2 reservations, 3 payments
    await h.settled()

    r = await h.client.get("/open-data/paid-awards.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert 'filename="paid-awards.json"' in r.headers["content-disposition"]
    data = r.json()
    assert data["count"] == 2 and data["fields"]["awardee"] == "奖补对象"
    company, person = data["records"]
    assert (company["payment_id"], company["awardee"], company["credit_code"]) == (
        "pay-of-award-1",
        "新平礼好农业科技有限公司",
        samples.COMPANY_CODE,
    )
    assert (company["amount_yuan"], company["amount_fen"], company["paid_on"]) == (
        "2,469.00",
        246_900,
        "2026-03-09",
    )
    assert company["program_name"] == "新平县2021年电子商务进农村综合示范项目后续"
    assert company["item_name"] == "“新平礼好”公共品牌升级打造"
    notice_ids = {n["awardee"]: n["url"] for n in await _public_items(h)}
    assert company["notice_url"] == notice_ids["新平礼好农业科技有限公司"]
    notice_nos = {n["awardee"]: n["notice_no"] for n in await _public_items(h)}
    assert company["notice_no"] == notice_nos["新平礼好农业科技有限公司"]  # its 公示编号 (#17)
    assert company["notice_no"].startswith("XINPING-2021-")
    assert (person["awardee"], person["credit_code"]) == ("张*三", "**************4321")
    assert "张小三" not in r.text and "6228480123456789012" not in r.text

    csv_r = await h.client.get("/open-data/paid-awards.csv")
    assert csv_r.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["付款编号", "示范项目代码", "示范项目"]
    assert [r[0] for r in rows[1:]] == ["pay-of-award-1", "pay-of-award-2"]
    assert rows[2][5] == "张*三" and rows[1][7] == "2,469.00"
    assert "张小三" not in csv_r.content.decode("utf-8-sig")


async def test_open_data_before_any_payment_is_empty_but_valid(harness) -> None:
    data = (await harness.client.get("/open-data/paid-awards.json")).json()
    assert (data["records"], data["count"]) == ([], 0)
    text = (await harness.client.get("/open-data/paid-awards.csv")).content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 1  # the header only


async def test_revoked_award_is_shown_withdrawn_on_page_json_and_feed(harness, samples) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.funds.emit(samples.reserved("award-1"), "award-1")
    [notice] = await eventually(lambda: _items_when(h, 1))
    await h.funds.emit(samples.revocation("award-1"), "award-1")

    revoked = await eventually(
        lambda: _phase(h, "revoked"), description="notice shown revoked after AwardRevoked"
    )
    assert revoked["revoked_at"] == "2026-03-05T02:00:00Z"
    assert "异议成立" in revoked["revocation_note"]
    detail = (await h.client.get(f"/publicity/notices/{notice['id']}")).text
    assert "已撤销" in detail and "异议成立" in detail
    assert "经核查属实" not in detail  # staff's free-text reason stays internal
    page = (await h.client.get("/publicity")).text
    assert f'id="notice-{notice["id"]}" class="revoked"' in page
    feed = ET.fromstring((await h.client.get("/publicity/feed.atom")).content)
    [entry] = feed.findall(f"{ATOM}entry")
    assert (entry.findtext(f"{ATOM}title") or "").startswith("【已撤销】")
    assert entry.findtext(f"{ATOM}updated") == "2026-03-05T02:00:00Z"


async def test_revocation_seen_before_the_approval_still_withdraws_the_notice(
    harness, samples
) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.funds.emit(samples.revocation("award-9"), "award-9")
    await eventually(lambda: h.fetchval("SELECT count(*) FROM award_revocations"), expect=1)
    await h.funds.emit(samples.reserved("award-9"), "award-9")
    assert (await eventually(lambda: _phase(h, "revoked")))["phase"] == "revoked"


async def _phase(h: Any, phase: str) -> dict[str, Any] | None:
    items = await _public_items(h)
    return items[0] if items and items[0]["phase"] == phase else None

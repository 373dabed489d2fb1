"""Issue 16 (6, 11): no notice (公示) and no promise for an award funds did not reserve; the
enterprise is told a refusal in Chinese with the figures; a withdrawn or revoked notice says so
in public; an objector who left an address learns the outcome; a notice lasts as many working
days as its program says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ruralfund_common.contracts.funds.contract_payment_executed import ContractPaymentRefused
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

MONDAY_10_SHANGHAI = "2026-03-02T02:00:00Z"
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
REASON = "该企业实际使用带“新平礼好”标识的包装箱不足1万个，申报数量不实，请核查。"


async def _items(h: Any) -> list[dict[str, Any]]:
    return (await h.client.get("/publicity/notices.json")).json()["items"]


def _mails_to(h: Any, address: str) -> list[Any]:
    return [m for m in h.smtp.received if m.rcpt_tos == [address]]


async def test_an_approval_alone_publishes_nothing_until_funds_reserves(harness, samples) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.claims.emit(samples.approval("award-1"), "claim-of-award-1")
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM notices") == 0
    assert await _items(h) == [] and h.smtp.received == []
    assert await h.notify_event_count("notify.evt.publicity_published.v1") == 0

    await h.funds.emit(samples.reserved("award-1"), "award-1")
    [notice] = await eventually(lambda: _items(h), description="notice published on reservation")
    assert (notice["awardee"], notice["amount_yuan"]) == ("新平礼好农业科技有限公司", "2,469.00")
    [mail] = await eventually(lambda: _mails_to(h, "wang@xinping-lihao.cn"))
    assert "审核通过" in mail.message["Subject"] and "2026年3月7日起" in mail.body


async def test_a_refused_award_gets_no_notice_and_a_chinese_refusal_with_the_figures(
    harness, samples
) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.claims.emit(samples.approval("award-8"), "claim-of-award-8")
    await h.funds.emit(samples.refused("award-8"), "award-8")
    [mail] = await eventually(lambda: _mails_to(h, "wang@xinping-lihao.cn"))
    await h.settled()
    assert mail.message["Subject"] == "【电子商务进农村综合示范】奖补资金未能安排：“新平礼好”公共品牌升级打造"
    for text in (
        "新平礼好农业科技有限公司：",
        "申报编号 claim-of-award-8",
        "剩余预算不足",
        "核定奖补金额：100,000.00 元",
        "该项目剩余预算：97,531.00 元",
        "预算缺口：2,469.00 元",
        "2026年3月2日",
        "不予公示",
    ):
        assert text in mail.body, text
    assert "budget:" not in mail.body and "below zero" not in mail.body
    assert "审核通过" not in mail.message["Subject"] and "拨付奖补资金" not in mail.body
    assert await h.fetchval("SELECT count(*) FROM notices") == 0 and await _items(h) == []


async def test_a_publicised_tranche_funds_refuses_is_withdrawn_in_public(harness, samples) -> None:
    from .test_publicity import _tranche

    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.claims.emit(_tranche("due-public", requires_publicity=True), "due-public")
    [notice] = await eventually(lambda: _items(h), description="tranche notice up")
    await h.funds.emit(ContractPaymentRefused(
        payment_due_id="due-public", contract_id="contract-7", tranche_code="advance",
        program_code="xinping-2021", item_code="brand-packaging", amount_fen=10_000_000,
        code="ITEM_BUDGET_EXCEEDED", reason="budget would go below zero",
        refused_at="2026-03-02T03:00:00Z"), "due-public")

    async def withdrawn() -> dict[str, Any] | None:
        items = await _items(h)
        return items[0] if items and items[0]["phase"] == "revoked" else None

    item = await eventually(withdrawn, description="notice withdrawn")
    assert "撤回" in item["revocation_note"] and item["id"] == notice["id"]
    page = (await h.client.get(f"/publicity/notices/{notice['id']}")).text
    assert "已撤销" in page and "撤回" in page and 'name="form_token"' not in page
    feed = (await h.client.get("/publicity/feed.atom")).text
    assert "【已撤销】" in feed


async def test_the_notice_lasts_the_programs_working_days(harness, samples) -> None:
    """公示 7 working days from Monday 2026-03-02: until Tuesday 03-10, payable from 03-11."""
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.funds.emit(samples.reserved("award-7", publicity_working_days=7), "award-7")
    [notice] = await eventually(lambda: _items(h))
    assert (notice["starts_on"], notice["ends_on"], notice["working_days"]) == ("2026-03-02", "2026-03-10", 7)
    page = (await h.client.get(f"/publicity/notices/{notice['id']}")).text
    assert "7 个工作日" in page
    listing = (await h.client.get("/publicity")).text  # the list's intro: the program's count
    assert "公示期为 7 个工作日" in listing and "5 个工作日" not in listing
    [event] = await h.published_events(1)
    assert event["data"]["ends_on"] == "2026-03-10"
    [mail] = await eventually(lambda: _mails_to(h, "wang@xinping-lihao.cn"))
    assert "公示 7 个工作日" in mail.body and "2026年3月11日起" in mail.body


async def test_objectors_are_told_the_outcome_and_the_revocation(harness, samples) -> None:
    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.funds.emit(samples.reserved("award-1"), "award-1")
    [notice] = await eventually(lambda: _items(h))
    ids = {}
    for name, email in (("李四", "lisi@example.cn"), ("王五", "wangwu@example.cn"), ("赵六", "")):
        page = (await h.client.get(f"/publicity/notices/{notice['id']}")).text
        token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
        form = {"form_token": token, "name": name, "contact": "13987654321", "email": email,
                "reason": REASON}
        r = await h.client.post(f"/publicity/notices/{notice['id']}/objections", data=form)
        assert r.status_code == 201, r.text
        ids[name] = await h.fetchval("SELECT id::text FROM objections WHERE name = $1", name)

    async def resolve(name: str, outcome: str, reason: str) -> None:
        r = await h.client.post(f"/objections/{ids[name]}/resolve", headers=samples.ADMIN,
                                json={"outcome": outcome, "reason": reason})
        assert r.status_code == 200, r.text

    await resolve("王五", "dismissed", "经核查，包装箱采购发票与出库单一致，异议不成立")
    await resolve("李四", "upheld", "经核查，包装箱实际使用量不足1万个，异议成立")
    await resolve("赵六", "upheld", "同上")
    await h.funds.emit(samples.revocation("award-1"), "award-1")
    await eventually(lambda: len(_mails_to(h, "lisi@example.cn")), expect=3)  # receipt, outcome, revocation
    await h.settled()

    lisi = {m.message["Subject"]: m.body for m in _mails_to(h, "lisi@example.cn")}
    outcome = lisi[f"【电子商务进农村综合示范】异议处理结果（受理编号 {ids['李四']}）"]
    assert "处理结果：异议成立" in outcome and "异议成立" in outcome and "2,469.00 元" in outcome
    revoked = lisi[f"【电子商务进农村综合示范】异议所涉奖补已撤销（受理编号 {ids['李四']}）"]
    assert "已于2026年3月5日撤销，不予拨付" in revoked and notice["url"] in revoked
    wangwu = {m.message["Subject"]: m.body for m in _mails_to(h, "wangwu@example.cn")}
    dismissed = wangwu[f"【电子商务进农村综合示范】异议处理结果（受理编号 {ids['王五']}）"]
    assert "处理结果：异议不成立" in dismissed and "采购发票与出库单一致" in dismissed
    # the award is revoked: the dismissed objector is told too; the one without an address is not
    assert any("已撤销" in s for s in wangwu)
    assert len(h.smtp.received) == 2 + 2 + 2  # receipts, outcomes, revocations (two addresses)
    [item] = await _items(h)
    assert item["phase"] == "revoked" and "异议成立" in item["revocation_note"]


async def test_a_bank_account_change_is_mailed_to_the_contact_on_record_before_it(
    harness, samples
) -> None:
    """The same request replaced the contact: the mail goes to the one on record before."""
    from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
        EnterpriseBankAccountChanged,
    )

    h = harness
    await h.set_clock(MONDAY_10_SHANGHAI)
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    changed = EnterpriseBankAccountChanged(
        credit_code=samples.COMPANY_CODE, enterprise_name="新平礼好农业科技有限公司",
        bank_name="中国建设银行新平支行", account_no="6217000000000000002",
        previous_bank_name="中国农业银行新平县支行", previous_account_no="6228480123456789012",
        previous_contact_name="王经理", previous_contact_email="wang@xinping-lihao.cn",
        changed_by="u-enterprise", changed_at="2026-03-02T03:00:00Z")
    await h.claims.emit(changed, samples.COMPANY_CODE)
    await h.claims.emit(samples.enterprise(contact_email="new-boss@example.cn"), samples.COMPANY_CODE)
    await eventually(lambda: len(_mails_to(h, "wang@xinping-lihao.cn")), expect=2)
    await h.settled()
    by_subject = {m.message["Subject"]: m for m in _mails_to(h, "wang@xinping-lihao.cn")}
    mail = by_subject["【电子商务进农村综合示范】收款账户变更提醒：新平礼好农业科技有限公司"]
    # the contact's replacement itself is told to the address on record (a two-step attack,
    # contact first and account next, would otherwise warn only the new contact)
    replaced = by_subject["【电子商务进农村综合示范】联系人变更提醒：新平礼好农业科技有限公司"]
    assert "王经理：" in replaced.body and "n***@example.cn" in replaced.body
    for text in ("王经理：", "原收款账号：***************9012", "新收款账号：***************0002",
                 "新收款银行：中国建设银行新平支行", "2026年3月2日 11:00", "并非贵单位申请"):
        assert text in mail.body, text
    assert "6217000000000000002" not in mail.body and "6228480123456789012" not in mail.body
    assert _mails_to(h, "new-boss@example.cn") == []


async def test_the_same_contact_registered_again_mails_nobody(harness, samples) -> None:
    h = harness
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.claims.emit(samples.enterprise(contact_email="WANG@xinping-lihao.cn"), samples.COMPANY_CODE)
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM emails") == 0

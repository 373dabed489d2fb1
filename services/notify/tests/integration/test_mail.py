"""Mail to enterprises over a real SMTP server: exactly once, retried, or failed with a reason."""

from __future__ import annotations

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration


async def test_payment_executed_sends_exactly_one_paid_mail(harness, samples) -> None:
    h = harness
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    first = await h.funds.emit(samples.payment("award-5"), "pay-of-award-5")
    await eventually(lambda: len(h.smtp.received), expect=1)
    await h.funds.republish(first["id"])  # a redelivery must not mail twice
    await eventually(lambda: h.stream_messages("funds"), expect=2)
    await h.settled()

    assert len(h.smtp.received) == 1
    mail = h.smtp.received[0]
    assert mail.rcpt_tos == ["wang@xinping-lihao.cn"]
    assert mail.message["Subject"] == "【电子商务进农村综合示范】奖补资金已拨付 2,469.00 元"
    assert "王经理" in mail.message["To"]
    assert "奖补资金 2,469.00 元，已于2026年3月9日由项目共管账户拨付" in mail.body
    assert "收款账号：***************9012" in mail.body
    assert "6228480123456789012" not in mail.body
    row = (await h.fetch("SELECT status, attempts, sent_at FROM emails"))[0]
    assert (row["status"], row["attempts"]) == ("sent", 1) and row["sent_at"] is not None


async def test_rejection_for_an_unknown_contact_is_recorded_failed_then_sent_when_the_contact_arrives(
    harness,
    samples,
) -> None:
    h = harness
    await h.claims.emit(samples.rejection(), "claim-9")
    failed = await eventually(lambda: h.fetch("SELECT status, error_code, last_error FROM emails"))
    assert (failed[0]["status"], failed[0]["error_code"]) == ("failed", "NO_CONTACT_EMAIL")
    assert (
        f"no contact e-mail is known for enterprise {samples.COMPANY_CODE}"
        in failed[0]["last_error"]
    )
    await h.settled()
    assert h.smtp.received == []

    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await eventually(lambda: len(h.smtp.received), expect=1)
    mail = h.smtp.received[0]
    assert "未通过审核" in mail.message["Subject"]
    assert "未通过原因：包装箱使用量不足1万个" in mail.body
    await eventually(lambda: h.fetchval("SELECT status FROM emails"), expect="sent")


async def test_contact_without_email_leaves_the_mail_failed(harness, samples) -> None:
    h = harness
    await h.claims.emit(samples.enterprise(contact_email=None), samples.COMPANY_CODE)
    await eventually(lambda: h.fetchval("SELECT count(*) FROM contacts"), expect=1)
    await h.claims.emit(samples.rejection(), "claim-9")
    await eventually(lambda: h.fetchval("SELECT error_code FROM emails"), expect="NO_CONTACT_EMAIL")
    await h.settled()
    assert h.smtp.received == []


async def test_transient_smtp_refusals_are_retried_with_backoff_until_sent(
    harness, samples
) -> None:
    h = harness
    h.smtp.refusals.extend(["451 4.3.0 try again later", "451 4.3.0 try again later"])
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.funds.emit(samples.payment(), "pay-of-award-1")
    await eventually(lambda: len(h.smtp.received), expect=1)
    assert h.smtp.refused == 2
    row = await eventually(
        lambda: h.fetch("SELECT status, attempts, last_error FROM emails WHERE status = 'sent'")
    )
    assert row[0]["attempts"] == 3
    assert row[0]["last_error"].startswith("SMTP 451")  # the last failure stays visible


async def test_permanent_refusal_fails_at_once_with_the_servers_answer(harness, samples) -> None:
    h = harness
    h.smtp.refusals.append("550 5.7.1 message refused")
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    await h.funds.emit(samples.payment(), "pay-of-award-1")
    row = await eventually(lambda: h.fetch("SELECT * FROM emails WHERE status = 'failed'"))
    assert (row[0]["error_code"], row[0]["attempts"]) == ("SMTP_REJECTED", 1)
    assert "last error: SMTP 550: 5.7.1 message refused" in row[0]["last_error"]
    assert h.smtp.received == []


async def test_mail_is_failed_after_max_attempts(make_harness, samples) -> None:
    async with make_harness(mail_max_attempts=3) as h:
        h.smtp.refusals.extend(["421 4.3.2 shutting down"] * 5)
        await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
        await h.funds.emit(samples.payment(), "pay-of-award-1")
        row = await eventually(lambda: h.fetch("SELECT * FROM emails WHERE status = 'failed'"))
        assert (row[0]["error_code"], row[0]["attempts"]) == ("MAX_ATTEMPTS", 3)
        assert row[0]["last_error"].startswith(
            "MAX_ATTEMPTS: gave up after 3 attempt(s); last error: SMTP 421:"
        )
        assert h.smtp.refused == 3 and h.smtp.received == []


async def test_sender_wakes_when_mail_is_committed_not_on_its_next_poll(
    make_harness, samples
) -> None:
    async with make_harness(mail_poll_seconds=60) as h:  # a poll would come far too late
        await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
        await h.funds.emit(samples.payment(), "pay-of-award-1")
        await eventually(lambda: len(h.smtp.received), expect=1, timeout=10)


async def test_claim_received_and_returned_mails_go_to_the_enterprise(harness, samples) -> None:
    h = harness
    await h.claims.emit(samples.program(), "xinping-2021")
    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)
    # separate consumers: names are used when known, so let the program arrive first
    await eventually(lambda: h.fetchval("SELECT count(*) FROM program_items"), expect=1)
    await h.claims.emit(samples.submission(), "claim-1")
    received = await eventually(lambda: _with_subject(h, "奖补申报已受理"))
    assert received.rcpt_tos == ["wang@xinping-lihao.cn"]
    assert received.message["Subject"] == (
        "【电子商务进农村综合示范】奖补申报已受理：“新平礼好”公共品牌升级打造"
    )
    assert "奖补金额为 2,469.00 元" in received.body and "申报期 2026Q1" in received.body

    await h.claims.emit(samples.returned(), "claim-1")
    returned = await eventually(lambda: _with_subject(h, "退回补充材料"))
    assert "需补充的材料：请补充2026年第一季度带标识包装箱的采购发票和出库单" in returned.body
    await h.settled()
    assert len(h.smtp.received) == 2


def _with_subject(h, text: str):
    return next((m for m in h.smtp.received if text in m.message["Subject"]), None)


async def test_milestone_overdue_goes_to_the_unit_or_else_to_the_bureau(harness, samples) -> None:
    h = harness
    await h.claims.emit(samples.milestone(), "logistics-center")
    to_unit = await eventually(lambda: _with_subject(h, "实施节点逾期提醒"))
    assert to_unit.rcpt_tos == ["jsb@xinping-logistics.cn"]
    assert "新平县邮政分公司" in to_unit.message["To"]
    assert "应于2026年2月27日前完成，截至2026年3月2日尚未完成验收，已逾期 3 天" in to_unit.body

    await h.claims.emit(samples.milestone(email=None), "logistics-center")
    to_bureau = await eventually(
        lambda: next((m for m in h.smtp.received if m.rcpt_tos == [samples.BUREAU_EMAIL]), None)
    )
    assert "本单位尚未登记电子邮箱" in to_bureau.body


async def test_milestone_without_any_address_is_recorded_failed(make_harness, samples) -> None:
    async with make_harness(bureau_email=None) as h:
        await h.claims.emit(samples.milestone(email=None), "logistics-center")
        row = await eventually(lambda: h.fetch("SELECT * FROM emails WHERE status = 'failed'"))
        assert row[0]["error_code"] == "NO_RECIPIENT_EMAIL" and row[0]["credit_code"] is None
        assert "RURALFUND_NOTIFY_BUREAU_EMAIL" in row[0]["last_error"]
        await h.settled()
        assert h.smtp.received == []


async def test_missed_deliveries_are_summarised_to_the_bureau_once_per_ended_period(
    harness, samples
) -> None:
    from datetime import UTC, datetime

    h = harness
    await h.set_clock("2026-03-02T12:00:00Z")  # 20:00 on 2 March: that day is not over yet
    day_2 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 on 2 March, Shanghai
    day_3 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    first = await h.logistics.emit(samples.breach("p-1", day_2), "p-1")
    await h.logistics.emit(samples.breach("p-2", day_2.replace(hour=3)), "p-2")
    await h.logistics.emit(samples.breach("p-3", day_2, station=None), "p-3")
    await h.logistics.emit(samples.breach("p-4", day_3), "p-4")
    await h.logistics.republish(first["id"])  # redelivered: still one parcel
    await eventually(lambda: h.fetchval("SELECT count(*) FROM sla_breaches"), expect=4)
    await h.settled()
    assert h.smtp.received == []  # no period has ended: nothing to report yet

    await h.set_clock("2026-03-02T16:00:00Z")  # 00:00 on 3 March: the 2 March period ended
    summary = await eventually(lambda: _with_subject(h, "县乡村配送超时汇总"))
    assert summary.rcpt_tos == [samples.BUREAU_EMAIL]
    assert summary.message["Subject"] == (
        "【电子商务进农村综合示范】县乡村配送超时汇总：2026年3月2日 00:00起共 3 件"
    )
    for text in (
        "2026年3月2日 00:00至2026年3月3日 00:00（北京时间）",
        "共 3 件未在 24 小时承诺时限内送达",
        "530427：3 件",
        "st-gasa：2 件",
        "（未指定站点）：1 件",
        "1. 包裹 p-1，目的站点 st-gasa，2026年3月1日 09:00离开县中心，应于2026年3月2日 09:00前送达",
    ):
        assert text in summary.body, text
    assert "p-4" not in summary.body

    await h.set_clock("2026-03-03T16:00:00Z")
    await eventually(lambda: len(h.smtp.received), expect=2)
    assert "包裹 p-4" in h.smtp.received[1].body and "共 1 件" in h.smtp.received[1].body
    await h.settled()
    assert await h.fetchval("SELECT count(*) FROM sla_summaries") == 2
    assert await h.fetchval("SELECT count(*) FROM sla_breaches WHERE summary_id IS NULL") == 0


async def test_a_mail_that_cannot_be_built_fails_for_good_with_the_reason(harness, samples) -> None:
    """A contact name with a line break (from before names were checked at input) cannot go
    into a To header: the mail is failed at once with the reason, never retried; the next mail
    still goes out."""
    h = harness
    broken = samples.enterprise().model_copy(update={"contact_name": "王经理\r\nBcc: x@evil.cn"})
    await h.claims.emit(broken, samples.COMPANY_CODE)
    await h.funds.emit(samples.payment("award-7"), "pay-of-award-7")
    settled = "SELECT status, attempts, error_code, last_error FROM emails WHERE status <> 'pending'"
    row = await eventually(lambda: h.fetch(settled))
    assert (row[0]["status"], row[0]["attempts"], row[0]["error_code"]) == (
        "failed", 1, "MESSAGE_INVALID",
    )  # fmt: skip
    assert "cannot be built" in row[0]["last_error"] and "CR or LF" in row[0]["last_error"]
    await h.settled()
    assert h.smtp.received == []
    assert await h.fetchval("SELECT attempts FROM emails") == 1  # not claimed again

    await h.claims.emit(samples.enterprise(), samples.COMPANY_CODE)  # corrected
    # two subjects have no order between them: the next payment must come after the correction
    await eventually(lambda: h.fetchval("SELECT count(*) FROM contacts WHERE contact_name LIKE "
                                        "'%' || chr(10) || '%'"), expect=0)
    await h.funds.emit(samples.payment("award-8"), "pay-of-award-8")
    await eventually(lambda: len(h.smtp.received), expect=1)

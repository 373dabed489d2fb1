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

"""Queueing a mail for an enterprise's contact, and the sender's retry policy."""

from __future__ import annotations

import pytest
from ruralfund_notify.domain.contacts import Contact
from ruralfund_notify.domain.emails import (
    EmailErrorCode,
    EmailStatus,
    EmailTemplate,
    OutgoingEmail,
    RenderedEmail,
    retry_delay_seconds,
    should_give_up,
)

CODE = "91530427MA6K123456"
MAIL = RenderedEmail(subject="奖补资金已拨付 2,469.00 元", body="正文\n")


def contact(email: str | None) -> Contact:
    return Contact(
        credit_code=CODE,
        name="新平礼好农业科技有限公司",
        kind="enterprise",
        county_code="530427",
        contact_name="王经理",
        contact_email=email,
    )


def queue(c: Contact | None) -> OutgoingEmail:
    return OutgoingEmail.queue(
        id="e-1",
        event_id="evt-1",
        template=EmailTemplate.PAYMENT_EXECUTED,
        credit_code=CODE,
        contact=c,
        mail=MAIL,
    )


def test_mail_to_a_known_contact_is_pending() -> None:
    email = queue(contact("wang@xinping-lihao.cn"))
    assert email.status is EmailStatus.PENDING
    assert (email.to_address, email.to_name) == ("wang@xinping-lihao.cn", "王经理")
    assert email.error_code is None


@pytest.mark.parametrize("c", [None, contact(None), contact("   ")])
def test_mail_without_contact_email_is_failed_with_a_clear_reason(c: Contact | None) -> None:
    email = queue(c)
    assert email.status is EmailStatus.FAILED
    assert email.error_code is EmailErrorCode.NO_CONTACT_EMAIL
    assert email.last_error is not None
    assert email.last_error.startswith(
        "NO_CONTACT_EMAIL: no contact e-mail is known for enterprise " + CODE
    )
    assert email.to_address is None


def test_mail_to_a_malformed_address_is_failed_naming_it() -> None:
    email = queue(contact("wang at xinping"))
    assert email.status is EmailStatus.FAILED
    assert "'wang at xinping' is not valid" in (email.last_error or "")


def test_subject_must_be_one_line() -> None:
    with pytest.raises(ValueError, match="one non-empty line"):
        RenderedEmail(subject="a\nBcc: x@example.com", body="b")


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [retry_delay_seconds(n, 30, 3600) for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay_seconds(10_000, 30, 3600) == 3600  # no overflow for absurd counts


def test_give_up_after_max_attempts_or_at_once_on_permanent_refusal() -> None:
    assert not should_give_up(1, 3, permanent=False)
    assert not should_give_up(2, 3, permanent=False)
    assert should_give_up(3, 3, permanent=False)
    assert should_give_up(1, 3, permanent=True)

"""Outgoing mail: what is queued for whom, and the retry policy of the sender.

A mail is rendered when its event is handled and stored with its text, so a redelivered
event (same message id and template) never queues a second mail and a later template
change never rewrites a mail already queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .contacts import Contact, is_deliverable_address

__all__ = [
    "MAX_ERROR_CHARS",
    "EmailErrorCode",
    "EmailStatus",
    "EmailTemplate",
    "OutgoingEmail",
    "RenderedEmail",
    "retry_delay_seconds",
    "should_give_up",
]

MAX_ERROR_CHARS: Final = 2000


class EmailTemplate(StrEnum):
    CLAIM_RECEIVED = "claim_received"
    CLAIM_RETURNED = "claim_returned"
    CLAIM_APPROVED = "claim_approved"
    CLAIM_REJECTED = "claim_rejected"
    PAYMENT_EXECUTED = "payment_executed"
    OBJECTION_RECEIVED = "objection_received"
    MILESTONE_OVERDUE = "milestone_overdue"
    SLA_BREACH_SUMMARY = "sla_breach_summary"
    RESERVATION_REFUSED = "reservation_refused"
    OBJECTION_RESOLVED = "objection_resolved"
    OBJECTION_AWARD_REVOKED = "objection_award_revoked"
    BANK_ACCOUNT_CHANGED = "bank_account_changed"
    CONTACT_CHANGED = "contact_changed"


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class EmailErrorCode(StrEnum):
    NO_CONTACT_EMAIL = "NO_CONTACT_EMAIL"  # re-queued when the enterprise's contact arrives
    NO_RECIPIENT_EMAIL = "NO_RECIPIENT_EMAIL"  # a unit or office without a (valid) address
    SMTP_REJECTED = "SMTP_REJECTED"  # permanent (5xx): retrying would not help
    MAX_ATTEMPTS = "MAX_ATTEMPTS"
    # The mail cannot be built (a line break in the recipient's name or address): it never
    # could be, so it fails at once with the reason rather than being retried forever.
    MESSAGE_INVALID = "MESSAGE_INVALID"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    body: str

    def __post_init__(self) -> None:
        if not self.subject.strip() or "\n" in self.subject or "\r" in self.subject:
            raise ValueError(f"a mail subject is one non-empty line, got {self.subject!r}")
        if not self.body.strip():
            raise ValueError("a mail body must not be empty")


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    id: str
    event_id: str
    template: EmailTemplate
    credit_code: str | None  # None: not to an enterprise (an objector, a unit, the bureau)
    subject: str
    body: str
    status: EmailStatus
    to_address: str | None = None
    to_name: str | None = None
    error_code: EmailErrorCode | None = None
    last_error: str | None = None

    @classmethod
    def queue(
        cls,
        *,
        id: str,
        event_id: str,
        template: EmailTemplate,
        credit_code: str,
        contact: Contact | None,
        mail: RenderedEmail,
    ) -> OutgoingEmail:
        """Pending for the enterprise's contact, or failed with the reason it cannot go.

        A mail without a usable address is recorded, never dropped: an operator sees who
        was not told, and it is re-queued if the contact's address arrives later.
        """
        address = contact.contact_email if contact else None
        to_name = contact.contact_name if contact else None
        if address is None or not is_deliverable_address(address):
            problem = (
                "no contact e-mail is known"
                if address is None
                else f"the contact e-mail {address!r} is not valid"
            )
            reason = (
                f"{EmailErrorCode.NO_CONTACT_EMAIL.value}: {problem} for enterprise {credit_code}; "
                "the mail goes out when claims registers a valid contact e-mail for it"
            )
            return cls(
                id=id,
                event_id=event_id,
                template=template,
                credit_code=credit_code,
                subject=mail.subject,
                body=mail.body,
                status=EmailStatus.FAILED,
                to_name=to_name,
                error_code=EmailErrorCode.NO_CONTACT_EMAIL,
                last_error=reason,
            )
        return cls(
            id=id,
            event_id=event_id,
            template=template,
            credit_code=credit_code,
            subject=mail.subject,
            body=mail.body,
            status=EmailStatus.PENDING,
            to_address=address,
            to_name=to_name,
        )

    @classmethod
    def queue_to(
        cls,
        *,
        id: str,
        event_id: str,
        template: EmailTemplate,
        address: str | None,
        name: str | None,
        mail: RenderedEmail,
        missing_hint: str,
    ) -> OutgoingEmail:
        """Pending for ``address``, or failed (recorded, not dropped) when there is none.

        ``missing_hint`` tells the operator how the address would become known.
        """
        address = (address or "").strip() or None
        if address is None or not is_deliverable_address(address):
            problem = "no e-mail address" if address is None else f"{address!r} is not valid"
            return cls(
                id=id,
                event_id=event_id,
                template=template,
                credit_code=None,
                subject=mail.subject,
                body=mail.body,
                status=EmailStatus.FAILED,
                to_name=name,
                error_code=EmailErrorCode.NO_RECIPIENT_EMAIL,
                last_error=f"{EmailErrorCode.NO_RECIPIENT_EMAIL.value}: {problem}; {missing_hint}",
            )
        return cls(
            id=id,
            event_id=event_id,
            template=template,
            credit_code=None,
            subject=mail.subject,
            body=mail.body,
            status=EmailStatus.PENDING,
            to_address=address,
            to_name=name,
        )


def retry_delay_seconds(attempts: int, base_seconds: float, max_seconds: float) -> float:
    """Exponential backoff after the ``attempts``-th failed try: base, 2·base, 4·base, … ≤ max."""
    assert attempts >= 1 and base_seconds > 0 and max_seconds >= base_seconds
    # The exponent is capped so a large attempt count cannot overflow the float.
    return min(base_seconds * 2 ** min(attempts - 1, 32), max_seconds)


def should_give_up(attempts: int, max_attempts: int, *, permanent: bool) -> bool:
    """A permanent refusal ends at once; a transient one after ``max_attempts`` tries."""
    assert attempts >= 1 and max_attempts >= 1
    return permanent or attempts >= max_attempts

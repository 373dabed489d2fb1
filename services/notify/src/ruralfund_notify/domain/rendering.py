"""Mail texts in Chinese, rendered from the package's Jinja2 templates.

Pure: the only I/O is reading templates shipped inside the package. Each template
defines two blocks, ``subject`` (one line) and ``body``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Final

import jinja2

from .emails import EmailTemplate, RenderedEmail
from .formatting import cn_date, cn_datetime, inner_quotes, rfc3339, yuan
from .masking import mask_bank_account
from .objections import mask_email
from .sla import SlaSummary

__all__ = [
    "ApprovalMail",
    "BankAccountChangedMail",
    "ClaimReceivedMail",
    "ClaimReturnedMail",
    "ContactChangedMail",
    "MilestoneMail",
    "ObjectionAwardRevokedMail",
    "ObjectionReceivedMail",
    "ObjectionResolvedMail",
    "PaymentMail",
    "PublicityDates",
    "RejectionMail",
    "ReservationRefusedMail",
    "Sender",
    "jinja_environment",
    "render_bank_account_changed",
    "render_claim_approved",
    "render_claim_received",
    "render_claim_rejected",
    "render_claim_returned",
    "render_contact_changed",
    "render_milestone_overdue",
    "render_objection_award_revoked",
    "render_objection_received",
    "render_objection_resolved",
    "render_payment_executed",
    "render_reservation_refused",
    "render_sla_breach_summary",
]


@dataclass(frozen=True, slots=True)
class Sender:
    """Who signs the mails and where notices are published."""

    office: str
    portal_name: str


@dataclass(frozen=True, slots=True)
class PublicityDates:
    starts_on: date
    ends_on: date
    payable_from: date
    url: str
    working_days: int = 5  # the program's publicity_working_days


@dataclass(frozen=True, slots=True)
class ApprovalMail:
    enterprise_name: str
    claim_id: str
    program_name: str
    item_name: str
    amount_fen: int
    publicity: PublicityDates | None  # None: the award needs no publicity


@dataclass(frozen=True, slots=True)
class RejectionMail:
    enterprise_name: str
    claim_id: str
    program_name: str
    item_name: str
    reason: str
    rejected_on: date


@dataclass(frozen=True, slots=True)
class PaymentMail:
    payee_name: str
    payment_id: str
    claim_id: str
    program_name: str
    item_name: str
    amount_fen: int
    paid_on: date
    bank_name: str
    bank_account: str  # shown masked


@dataclass(frozen=True, slots=True)
class ClaimReceivedMail:
    enterprise_name: str
    claim_id: str
    program_name: str
    item_name: str
    period: str
    amount_fen: int  # what the rule computed from the declared figures
    eligible: bool  # whether the declared figures meet the rule
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimReturnedMail:
    enterprise_name: str
    claim_id: str
    program_name: str
    item_name: str
    note: str  # what evidence is missing, in the bureau's words
    returned_at: datetime


@dataclass(frozen=True, slots=True)
class MilestoneMail:
    responsible_unit: str
    program_name: str
    milestone_name: str
    due_on: date
    detected_on: date
    addressed_to_bureau: bool  # the unit has no address: the bureau is asked to pass it on

    @property
    def days_overdue(self) -> int:
        return max((self.detected_on - self.due_on).days, 0)


@dataclass(frozen=True, slots=True)
class ObjectionReceivedMail:
    """To the objector: the receipt, with what they objected to as the public saw it."""

    objector_name: str
    objection_id: str
    notice_no: str  # 公示编号 as the public page shows it (XINPING-2021-0013)
    program_name: str
    item_name: str
    awardee: str  # masked as on the public page
    amount_fen: int
    filed_at: datetime
    url: str
    phone: str | None


# Why funds could not reserve an award, as the enterprise reads it (funds' refusal codes).
REFUSAL_REASON_ZH: Final = {
    "ITEM_BUDGET_EXCEEDED": "该建设内容的剩余预算不足",
    "ITEM_NOT_FOUND": "示范项目中没有该建设内容",
}
DEFAULT_REFUSAL_REASON_ZH: Final = "项目资金暂无法安排"


@dataclass(frozen=True, slots=True)
class ReservationRefusedMail:
    """To the enterprise: its approved award could not be reserved, with the figures."""

    enterprise_name: str
    claim_id: str
    program_name: str
    item_name: str
    amount_fen: int
    available_fen: int | None  # what the item had left (a budget refusal only)
    code: str
    refused_on: date

    @property
    def reason_zh(self) -> str:
        return REFUSAL_REASON_ZH.get(self.code, DEFAULT_REFUSAL_REASON_ZH)

    @property
    def shortfall_fen(self) -> int:
        assert self.available_fen is not None
        return max(self.amount_fen - self.available_fen, 0)


@dataclass(frozen=True, slots=True)
class ObjectionResolvedMail:
    """To the objector: the outcome of their objection."""

    objector_name: str
    objection_id: str
    notice_no: str  # 公示编号 as the public page shows it (XINPING-2021-0013)
    program_name: str
    item_name: str
    awardee: str  # masked as on the public page
    amount_fen: int
    filed_at: datetime
    resolved_at: datetime
    upheld: bool
    reason: str
    url: str


@dataclass(frozen=True, slots=True)
class ObjectionAwardRevokedMail:
    """To the objector: the award they objected to was revoked."""

    objector_name: str
    objection_id: str
    notice_no: str  # 公示编号 as the public page shows it (XINPING-2021-0013)
    program_name: str
    item_name: str
    awardee: str
    amount_fen: int
    revoked_at: datetime
    note: str  # the public note of the revocation
    url: str


@dataclass(frozen=True, slots=True)
class BankAccountChangedMail:
    """To the contact on record BEFORE the change: the registry's bank account changed."""

    enterprise_name: str
    credit_code: str
    contact_name: str
    previous_bank_name: str
    previous_account_no: str  # shown masked
    bank_name: str
    account_no: str  # shown masked
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ContactChangedMail:
    """To the address on record: the enterprise's contact was replaced by another."""

    enterprise_name: str
    credit_code: str
    previous_contact_name: str
    contact_name: str
    contact_email: str | None  # shown masked


@cache
def jinja_environment(autoescape: bool) -> jinja2.Environment:
    """One environment per escaping mode: HTML pages escape, plain-text mails must not."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ruralfund_notify", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        yuan=yuan,
        cn_date=cn_date,
        cn_datetime=cn_datetime,
        inner_quotes=inner_quotes,
        mask_account=mask_bank_account,
        mask_email=mask_email,
        rfc3339=rfc3339,
    )
    return env


def _render(template: EmailTemplate, **values: Any) -> RenderedEmail:
    tpl = jinja_environment(False).get_template(f"email/{template.value}.txt")
    context = tpl.new_context(values)
    subject = "".join(tpl.blocks["subject"](context)).strip()
    body = "".join(tpl.blocks["body"](context)).strip() + "\n"
    return RenderedEmail(subject=subject, body=body)


def render_claim_approved(mail: ApprovalMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.CLAIM_APPROVED, mail=mail, sender=sender)


def render_claim_rejected(mail: RejectionMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.CLAIM_REJECTED, mail=mail, sender=sender)


def render_payment_executed(mail: PaymentMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.PAYMENT_EXECUTED, mail=mail, sender=sender)


def render_objection_received(mail: ObjectionReceivedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.OBJECTION_RECEIVED, mail=mail, sender=sender)


def render_claim_received(mail: ClaimReceivedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.CLAIM_RECEIVED, mail=mail, sender=sender)


def render_claim_returned(mail: ClaimReturnedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.CLAIM_RETURNED, mail=mail, sender=sender)


def render_milestone_overdue(mail: MilestoneMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.MILESTONE_OVERDUE, mail=mail, sender=sender)


def render_sla_breach_summary(summary: SlaSummary, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.SLA_BREACH_SUMMARY, summary=summary, sender=sender)


def render_reservation_refused(mail: ReservationRefusedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.RESERVATION_REFUSED, mail=mail, sender=sender)


def render_objection_resolved(mail: ObjectionResolvedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.OBJECTION_RESOLVED, mail=mail, sender=sender)


def render_objection_award_revoked(mail: ObjectionAwardRevokedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.OBJECTION_AWARD_REVOKED, mail=mail, sender=sender)


def render_bank_account_changed(mail: BankAccountChangedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.BANK_ACCOUNT_CHANGED, mail=mail, sender=sender)


def render_contact_changed(mail: ContactChangedMail, sender: Sender) -> RenderedEmail:
    return _render(EmailTemplate.CONTACT_CHANGED, mail=mail, sender=sender)

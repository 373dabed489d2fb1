"""Mail texts in Chinese, rendered from the package's Jinja2 templates.

Pure: the only I/O is reading templates shipped inside the package. Each template
defines two blocks, ``subject`` (one line) and ``body``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2

from .emails import EmailTemplate, RenderedEmail
from .formatting import cn_date, cn_datetime, rfc3339, yuan
from .masking import mask_bank_account

__all__ = [
    "ApprovalMail",
    "ObjectionReceivedMail",
    "PaymentMail",
    "PublicityDates",
    "RejectionMail",
    "Sender",
    "jinja_environment",
    "render_claim_approved",
    "render_claim_rejected",
    "render_objection_received",
    "render_payment_executed",
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
class ObjectionReceivedMail:
    """To the objector: the receipt, with what they objected to as the public saw it."""

    objector_name: str
    objection_id: str
    notice_id: str
    program_name: str
    item_name: str
    awardee: str  # masked as on the public page
    amount_fen: int
    filed_at: datetime
    url: str
    phone: str | None


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
        mask_account=mask_bank_account,
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

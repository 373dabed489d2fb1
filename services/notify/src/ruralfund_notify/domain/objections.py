"""Objections (异议) to a publicity notice: who may file one, until when, and its outcome.

Anyone may object during publicity, with a name and a way to reach them (anonymous objections
are not accepted, as the notice says). The period ends at 24:00 Asia/Shanghai of the last
publicity day; after that an objection is refused with a message that says so, because an
objection filed late cannot hold a payment that has become due. An admin records the outcome:
``upheld`` (funds revokes the award) or ``dismissed`` (the hold is released), with a reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from ruralfund_common.errors import Conflict, DomainError, InvalidInput
from ruralfund_common.text import UNSAFE_CHARACTERS

from .contacts import is_deliverable_address
from .formatting import cn_date
from .notices import Notice, Revocation

__all__ = [
    "MAX_CONTACT_CHARS",
    "MAX_EMAIL_CHARS",
    "MAX_NAME_CHARS",
    "MAX_REASON_CHARS",
    "MAX_RESOLUTION_CHARS",
    "MIN_REASON_CHARS",
    "NoticeRevoked",
    "Objection",
    "ObjectionAlreadyResolved",
    "ObjectionInput",
    "ObjectionInvalid",
    "ObjectionOutcome",
    "ObjectionStatus",
    "ObjectionWindowClosed",
    "PublicRefusal",
    "check_objection_window",
    "mask_email",
    "parse_objection_form",
]

MAX_NAME_CHARS: Final = 50
MAX_CONTACT_CHARS: Final = 100
MAX_EMAIL_CHARS: Final = 254  # RFC 5321
MIN_REASON_CHARS: Final = 10  # "有异议" alone gives the bureau nothing to check
MAX_REASON_CHARS: Final = 2000
MAX_RESOLUTION_CHARS: Final = 2000
# The reason may have line breaks; every other control character (and bidi override) is
# dropped from it, so a pasted text cannot smuggle terminal escapes into mails and logs. Name,
# contact and e-mail are one line each: a control character there is refused (UNSAFE_CHARACTERS).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTACT: Final = re.compile(r"^[0-9+()\- ]{5,30}$")


class ObjectionStatus(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class ObjectionOutcome(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class PublicRefusal(DomainError):
    """A refusal the public reads: ``message_zh`` goes on the page."""

    def __init__(self, code: str, message: str, message_zh: str, **kwargs: object) -> None:
        super().__init__(code, message, detail_zh=message_zh, **kwargs)  # type: ignore[arg-type]
        self.message_zh = message_zh


class ObjectionWindowClosed(PublicRefusal):
    status = 409

    def __init__(self, notice: Notice, office: str) -> None:
        assert notice.ends_on is not None
        super().__init__(
            "OBJECTION_WINDOW_CLOSED",
            f"the publicity of notice {notice.id} ended on {notice.ends_on} (Asia/Shanghai); "
            "objections are no longer accepted",
            f"该公示的公示期已于{cn_date(notice.ends_on)}24时结束，按规定不再受理异议。"
            f"如有其他问题，请与{office}联系。",
        )


class NoticeRevoked(PublicRefusal):
    status = 409

    def __init__(self, notice: Notice) -> None:
        super().__init__(
            "NOTICE_REVOKED",
            f"the award of notice {notice.id} was revoked; there is nothing left to object to",
            "该项奖补已撤销，不再受理异议。",
        )


class ObjectionInvalid(InvalidInput):
    """The form has mistakes; ``errors_zh`` maps each field to what to correct."""

    def __init__(self, errors_zh: dict[str, str]) -> None:
        assert errors_zh
        first = next(iter(errors_zh))
        super().__init__(
            "OBJECTION_INVALID",
            f"the objection form has mistakes in: {', '.join(errors_zh)}",
            field=first,
            details={"errors_zh": errors_zh},
            detail_zh="异议表单有以下问题：" + "；".join(errors_zh.values()),
        )
        self.errors_zh = errors_zh


class ObjectionAlreadyResolved(Conflict):
    def __init__(self, objection_id: str, status: ObjectionStatus) -> None:
        outcome_zh = {"upheld": "异议成立", "dismissed": "异议不成立"}.get(status.value, status.value)
        super().__init__(
            "OBJECTION_ALREADY_RESOLVED",
            f"objection {objection_id} was already resolved ({status.value})",
            title_zh="该异议已处理",
            detail_zh=f"异议 {objection_id} 已处理（{outcome_zh}），处理结果不能更改。",
        )


@dataclass(frozen=True, slots=True)
class ObjectionInput:
    """A filled-in form, cleaned and within the limits."""

    name: str
    contact: str
    email: str | None
    reason: str


def _clean_line(value: str) -> str:
    """NFC, trimmed; control characters stay in, so that the form refuses them."""
    return unicodedata.normalize("NFC", value).strip()


def _clean_text(value: str) -> str:
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


_ONE_LINE_ZH: Final = "不能包含换行符或其他控制字符，请只填写一行文字。"


def _one_line_error(value: str) -> str | None:
    return _ONE_LINE_ZH if UNSAFE_CHARACTERS.search(value) else None


def _name_error(name: str) -> str | None:
    if not name:
        return "请填写异议人姓名或单位名称（不受理匿名异议）。"
    if len(name) > MAX_NAME_CHARS:
        return f"姓名或单位名称不能超过 {MAX_NAME_CHARS} 个字。"
    return _one_line_error(name)


def _contact_error(contact: str) -> str | None:
    if not contact:
        return "请填写联系电话或电子邮箱，以便告知处理结果。"
    if error := _one_line_error(contact):
        return error
    if len(contact) > MAX_CONTACT_CHARS or not (
        _CONTACT.fullmatch(contact) or is_deliverable_address(contact)
    ):
        return "联系方式应为电话号码或电子邮箱地址。"
    return None


def _email_error(email: str) -> str | None:
    if len(email) > MAX_EMAIL_CHARS or not is_deliverable_address(email):
        return "电子邮箱地址格式不正确。"
    return None


def parse_objection_form(name: str, contact: str, email: str, reason: str) -> ObjectionInput:
    """Clean and check the four fields; raises ObjectionInvalid naming every mistake (in
    Chinese, for the page). ``email`` may be empty; a contact that is an address counts."""
    name, contact, email, reason = (
        _clean_line(name),
        _clean_line(contact),
        _clean_line(email),
        _clean_text(reason),
    )
    errors: dict[str, str] = {}
    if error := _name_error(name):
        errors["name"] = error
    if error := _contact_error(contact):
        errors["contact"] = error
    if email and (error := _one_line_error(email) or _email_error(email)):
        errors["email"] = error
    if len(reason) < MIN_REASON_CHARS:
        errors["reason"] = f"请写明异议事项和理由（至少 {MIN_REASON_CHARS} 个字）。"
    elif len(reason) > MAX_REASON_CHARS:
        errors["reason"] = f"异议理由不能超过 {MAX_REASON_CHARS} 个字，证明材料请另行书面提交。"
    if errors:
        raise ObjectionInvalid(errors)
    if not email and is_deliverable_address(contact):
        email = contact
    return ObjectionInput(name=name, contact=contact, email=email or None, reason=reason)


def check_objection_window(
    notice: Notice, revocation: Revocation | None, now: datetime, office: str
) -> None:
    """Raise unless ``notice`` accepts objections at ``now``.

    Accepted from publication (a notice put up on a Saturday can be objected to before its
    day 1) until 24:00 of its last day in Asia/Shanghai.
    """
    if not notice.is_published:
        raise ValueError(f"notice {notice.id} is not published")
    if revocation is not None:
        raise NoticeRevoked(notice)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if now >= notice.objections_close_at:
        raise ObjectionWindowClosed(notice, office)


@dataclass(frozen=True, slots=True)
class Objection:
    id: str
    notice_id: str
    award_id: str
    claim_id: str
    program_code: str
    name: str
    contact: str
    email: str | None
    reason: str
    client_ip: str
    form_nonce: str
    filed_at: datetime
    status: ObjectionStatus = ObjectionStatus.PENDING
    resolution_reason: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", ObjectionStatus(self.status))
        resolved = (self.resolution_reason, self.resolved_by, self.resolved_at)
        if self.status is ObjectionStatus.PENDING:
            assert all(v is None for v in resolved), "a pending objection has no resolution"
        else:
            assert all(v is not None for v in resolved), "a resolved objection needs its reason"
        if self.filed_at.tzinfo is None:
            raise ValueError("filed_at must be timezone-aware")

    @classmethod
    def file(
        cls,
        *,
        id: str,
        notice: Notice,
        form: ObjectionInput,
        client_ip: str,
        form_nonce: str,
        at: datetime,
    ) -> Objection:
        return cls(
            id=id,
            notice_id=notice.id,
            award_id=notice.award_id,
            claim_id=notice.claim_id,
            program_code=notice.program_code,
            name=form.name,
            contact=form.contact,
            email=form.email,
            reason=form.reason,
            client_ip=client_ip,
            form_nonce=form_nonce,
            filed_at=at,
        )

    def resolve(
        self, outcome: ObjectionOutcome, reason: str, *, by: str, at: datetime
    ) -> Objection:
        """The outcome, once: a recorded decision is never changed (funds may have acted)."""
        if self.status is not ObjectionStatus.PENDING:
            raise ObjectionAlreadyResolved(self.id, self.status)
        reason = _clean_text(reason)
        if not reason or len(reason) > MAX_RESOLUTION_CHARS:
            raise InvalidInput(
                "INVALID_INPUT",
                f"the reason must be 1..{MAX_RESOLUTION_CHARS} characters",
                field="reason",
                title_zh="请写明处理理由",
                detail_zh=f"处理异议须写明理由（1 至 {MAX_RESOLUTION_CHARS} 字，您写了 {len(reason)} 字），"
                "理由将告知异议人。",
            )
        return replace(
            self,
            status=ObjectionStatus(outcome.value),
            resolution_reason=reason,
            resolved_by=by,
            resolved_at=at,
        )


def mask_email(address: str) -> str:
    """wang.xiaoming@example.cn → w***@example.cn: enough for the objector to recognise it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"

"""Payment orders out of the joint account: content hashing and the two-person rule.

Each approval signs the SHA-256 of the canonical payment content; any change to payee, bank
account, amount, award or program changes the hash, and approvals of the old content no
longer count. A payment needs one leading group member and the contractor's signatory, who
must be two different people.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import cached_property

from ruralfund_common.errors import Conflict, Forbidden

__all__ = ["PaymentContent", "Approval", "APPROVER_ROLES", "check_can_approve", "is_fully_approved",
           "valid_approvals", "check_payable", "bank_reference"]

APPROVER_ROLES = ("leading_group", "contractor_signatory")


@dataclass(frozen=True)
class PaymentContent:
    program_code: str
    award_id: str
    payee_credit_code: str
    payee_name: str
    payee_bank_name: str
    payee_bank_account: str
    amount_fen: int

    def canonical(self) -> bytes:
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    @cached_property
    def _digest(self) -> str:
        # computed once per (immutable) content: every approval check compares against it
        return hashlib.sha256(self.canonical()).hexdigest()

    def sha256(self) -> str:
        return self._digest

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Approval:
    person: str
    name: str
    role: str
    content_sha256: str
    approved_at: datetime


def bank_reference(payment_id: str) -> str:
    """The reference the bank echoes on its statement. The whole id: a prefix of a uuid7 is a
    timestamp, so two payments in the same minute would share it."""
    return "RF" + payment_id.replace("-", "").upper()


def valid_approvals(content: PaymentContent, approvals: list[Approval]) -> list[Approval]:
    sha = content.sha256()
    return [a for a in approvals if a.content_sha256 == sha]


def check_can_approve(content: PaymentContent, existing: list[Approval], *, person: str,
                      roles: frozenset[str], signed_sha256: str) -> str:
    """Returns the role this person approves in; refuses with a stable code otherwise. (Who
    must recuse is ruralfund_common.recusal's rule, asked by the use case for every decision.)"""
    if not any(r in roles for r in APPROVER_ROLES):
        raise Forbidden("ROLE_REQUIRED", "payments are approved by a leading group member and the contractor's signatory")
    if signed_sha256 != content.sha256():
        raise Conflict("APPROVAL_CONTENT_CHANGED", "the signed content hash does not match the payment's content",
                       field="content_sha256", details={"expected": content.sha256()})
    valid = valid_approvals(content, existing)
    if any(a.person == person for a in valid):
        raise Conflict("SAME_PERSON_BOTH_APPROVALS", "one person cannot give both approvals of a payment")
    taken = {a.role for a in valid}
    for role in APPROVER_ROLES:
        if role in roles and role not in taken:
            return role
    raise Conflict("APPROVAL_ALREADY_GIVEN", "this side of the payment is already approved")


def is_fully_approved(content: PaymentContent, approvals: list[Approval]) -> bool:
    valid = valid_approvals(content, approvals)
    roles = {a.role for a in valid}
    people = {a.person for a in valid}
    return set(APPROVER_ROLES) <= roles and len(people) >= 2


def check_payable(*, status: str, requires_publicity: bool, payable_from: date | None,
                  today_local: date, objections_open: int = 0, objections_upheld: int = 0,
                  window_error: str | None = None, payee_in_default: bool = False,
                  joint_account_frozen: bool = False) -> None:
    """The disbursement rules that depend on the award's state and the county's date."""
    if status == "paid":
        raise Conflict("ALREADY_PAID", "this award has already been paid")
    if status == "revoked" or objections_upheld:
        raise Conflict("AWARD_REVOKED", "this award was revoked")
    if status not in ("reserved", "in_publicity", "payable"):
        raise Conflict("AWARD_NOT_RESERVED", f"award is {status}, not reserved")
    if payee_in_default:
        raise Conflict("CONTRACTOR_IN_DEFAULT", "领导小组已认定收款单位违约：不再向其付款，已付资金须收回")
    if joint_account_frozen:
        raise Conflict("JOINT_ACCOUNT_FROZEN",
                       "共管账户的承办企业已被领导小组认定违约：共管账户不再对外付款，结余资金已退回县财政局")
    if objections_open:
        raise Conflict("OBJECTION_PENDING", "an objection to this award is pending")
    if requires_publicity:
        if payable_from is None:
            if window_error:
                raise Conflict(window_error, "the publicity window could not be computed: the working-day "
                               "calendar does not cover the publication date; load the year and retry")
            raise Conflict("PUBLICITY_NOT_STARTED", "the award has not been publicised yet")
        if today_local < payable_from:
            raise Conflict("PUBLICITY_NOT_ENDED", f"publicity runs until the day before {payable_from.isoformat()}",
                           details={"payable_from": payable_from.isoformat()})

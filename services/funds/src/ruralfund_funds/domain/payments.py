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
from datetime import date, datetime, timedelta
from functools import cached_property

from ruralfund_common.calendar import date_zh
from ruralfund_common.errors import Conflict, Forbidden

from .wording import AWARD_STATUS_ZH

__all__ = [
    "APPROVER_ROLES",
    "Approval",
    "PaymentContent",
    "bank_reference",
    "check_can_approve",
    "check_payable",
    "is_fully_approved",
    "valid_approvals",
]

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
        raise Forbidden("ROLE_REQUIRED", "payments are approved by a leading group member and the contractor's signatory",
                        title_zh="无权签批付款", detail_zh="付款须由领导小组成员和承办方签字人各签批一次；您不是其中之一。")
    if signed_sha256 != content.sha256():
        raise Conflict("APPROVAL_CONTENT_CHANGED", "the signed content hash does not match the payment's content",
                       field="content_sha256", details={"expected": content.sha256()},
                       title_zh="付款内容已变更，请重新核对",
                       detail_zh=f"您签批的内容摘要为 {signed_sha256[:12]}…，付款单当前内容的摘要为 "
                       f"{content.sha256()[:12]}…（收款账户或金额已更改）。请刷新页面，核对新的收款人、账号和金额后再签批。")
    valid = valid_approvals(content, existing)
    if any(a.person == person for a in valid):
        raise Conflict("SAME_PERSON_BOTH_APPROVALS", "one person cannot give both approvals of a payment",
                       title_zh="您已签批过该付款", detail_zh="同一人不能对同一笔付款签批两次：另一签须由另一人办理。")
    taken = {a.role for a in valid}
    for role in APPROVER_ROLES:
        if role in roles and role not in taken:
            return role
    raise Conflict("APPROVAL_ALREADY_GIVEN", "this side of the payment is already approved",
                   title_zh="该付款的这一签已完成",
                   detail_zh=f"{'、'.join(_ROLE_ZH.get(r, r) for r in sorted(taken & roles))}一方已签批该付款，无须再签。")


def is_fully_approved(content: PaymentContent, approvals: list[Approval]) -> bool:
    valid = valid_approvals(content, approvals)
    roles = {a.role for a in valid}
    people = {a.person for a in valid}
    return set(APPROVER_ROLES) <= roles and len(people) >= 2


_ROLE_ZH = {"leading_group": "领导小组", "contractor_signatory": "承办方签字人"}


def check_payable(*, status: str, requires_publicity: bool, payable_from: date | None,
                  today_local: date, objections_open: int = 0, objections_upheld: int = 0,
                  window_error: str | None = None, payee_in_default: bool = False,
                  joint_account_frozen: bool = False) -> None:
    """The disbursement rules that depend on the award's state and the county's date."""
    if status == "paid":
        raise Conflict("ALREADY_PAID", "this award has already been paid", title_zh="该奖补已拨付",
                       detail_zh="该奖补已经拨付，不能再次付款。")
    if status == "revoked" or objections_upheld:
        raise Conflict("AWARD_REVOKED", "this award was revoked", title_zh="该奖补已撤销",
                       detail_zh="该奖补已撤销（如公示异议成立），不再付款。")
    if status not in ("reserved", "in_publicity", "payable"):
        raise Conflict("AWARD_NOT_RESERVED", f"award is {status}, not reserved", title_zh="该奖补尚未预留资金",
                       detail_zh=f"该奖补当前为“{AWARD_STATUS_ZH.get(status, status)}”，资金预留后才能付款。")
    if payee_in_default:
        raise Conflict("CONTRACTOR_IN_DEFAULT", "领导小组已认定收款单位违约：不再向其付款，已付资金须收回",
            detail_zh="领导小组已认定收款单位违约：不再向其付款，已付资金须收回。")
    if joint_account_frozen:
        raise Conflict("JOINT_ACCOUNT_FROZEN",
                       "共管账户的承办企业已被领导小组认定违约：共管账户不再对外付款，结余资金已退回县财政局",
                           detail_zh="共管账户的承办企业已被领导小组认定违约：共管账户不再对外付款，结余资金已退回县财政局。",
                       )
    if objections_open:
        raise Conflict("OBJECTION_PENDING", "an objection to this award is pending", title_zh="公示异议尚未处理",
                       detail_zh=f"该奖补的公示有 {objections_open} 件异议尚未处理，处理完毕前不能付款。")
    if requires_publicity:
        if payable_from is None:
            if window_error:
                raise Conflict(window_error, "the publicity window could not be computed: the working-day "
                               "calendar does not cover the publication date; load the year and retry",
                                   title_zh="公示期无法计算", detail_zh="工作日历未覆盖公示发布日期，无法计算公示期；请由管理员载入该年度节假日安排后重试。",
                               )
            raise Conflict("PUBLICITY_NOT_STARTED", "the award has not been publicised yet", title_zh="尚未公示",
                           detail_zh="该奖补须先公示，公示期满后才能付款。")
        if today_local < payable_from:
            last_day = payable_from - timedelta(days=1)
            raise Conflict("PUBLICITY_NOT_ENDED", f"publicity runs until the day before {payable_from.isoformat()}",
                           details={"payable_from": payable_from.isoformat()}, title_zh="公示期未满",
                           detail_zh=f"公示期至 {date_zh(last_day)}，{date_zh(payable_from)}起才能付款"
                           f"（今天是 {date_zh(today_local)}）。")

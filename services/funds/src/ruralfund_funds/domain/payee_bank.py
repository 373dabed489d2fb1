"""The payee's bank account has one home: the enterprise registry in claims.

When the registry's account changes (``claims.evt.enterprise_bank_account_changed.v1``),
every award of that enterprise not yet paid moves to the new account. A payment order
awaiting approval then carries different content: the approvals already given signed the
old content's hash and no longer count (two people must sign again, over the new account).
Paid, revoked and refused awards keep the account they had: a payment made is history.

So funds may not give such an award an account of its own (``PUT /awards/{id}/payee-bank``
would be a second home: the next registry change would silently overwrite it, and a bureau
admin could send one award's money to an account the enterprise never registered). Funds
is the only home of a payee's account only for a pre-allocation (预拨) whose provider the
registry has never spoken for: the leading group typed its account into funds itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ruralfund_common.errors import Conflict

from .awards import Award, AwardStatus

__all__ = [
    "REGISTRY_KINDS", "UNPAID_STATUSES", "BankChange", "RegistryAccount", "apply_registry_account",
    "require_funds_is_home",
]

# Award kinds whose payee comes from claims' enterprise registry (a claim's enterprise, a
# contract's provider: both must be registered there, and the events carry its account).
REGISTRY_KINDS = frozenset({"award", "contract_payment"})

UNPAID_STATUSES = frozenset({AwardStatus.RESERVED, AwardStatus.IN_PUBLICITY, AwardStatus.PAYABLE})


@dataclass(frozen=True)
class RegistryAccount:
    """The registry's account for an enterprise, as of ``changed_at`` (claims' clock)."""

    credit_code: str
    bank_name: str
    account_no: str
    changed_at: datetime

    def supersedes(self, as_of: datetime) -> bool:
        """True when this account was registered after ``as_of`` (e.g. the approval that
        carried an account): the approval's account is then stale."""
        return self.changed_at > as_of


@dataclass(frozen=True)
class BankChange:
    award_id: str
    previous_bank_name: str
    previous_account_no: str
    approvals_lapsed: int  # approvals of an open payment order that no longer count


def apply_registry_account(awards: Iterable[Award], account: RegistryAccount) -> list[BankChange]:
    """Move every unpaid award of the enterprise to the registry's account; returns what changed."""
    changes = []
    for award in awards:
        payee = award.payee
        if award.status not in UNPAID_STATUSES or payee.credit_code != account.credit_code:
            continue
        if (payee.bank_name, payee.bank_account) == (account.bank_name, account.account_no):
            continue
        valid_before = len(award.payment.executed_approvals()) if award.payment else 0
        award.change_payee_bank(account.bank_name, account.account_no)
        valid_after = len(award.payment.executed_approvals()) if award.payment else 0
        changes.append(BankChange(award.award_id, payee.bank_name, payee.bank_account, valid_before - valid_after))
    return changes


def require_funds_is_home(award: Award, *, registry_has_account: bool) -> None:
    """Refuse a bank account change made in funds for a payee whose account lives in the
    registry (``registry_has_account``: the registry already sent a change for this payee)."""
    if award.kind not in REGISTRY_KINDS and not registry_has_account:
        return
    code = award.payee.credit_code
    raise Conflict(
        "BANK_ACCOUNT_LIVES_IN_REGISTRY",
        f"the payee {code}'s bank account lives in the enterprise registry (claims): change it "
        f"there with PATCH /enterprises/{code}; every unpaid award follows",
        field="bank_account",
        title_zh="收款账户以企业登记为准，不能在资金服务中单独更改",
        detail_zh=(f"奖补 {award.award_id} 的收款人 {award.payee.name}（{code}）的银行账户只登记在企业名录中："
                   f"请在申报服务的企业登记中更改（PATCH /enterprises/{code}），"
                   "更改会通知企业原联系人，并适用于该企业所有未拨付的奖补（已有审批随之失效）。"),
        details={"credit_code": code, "award_kind": award.kind,
                 "change_at": f"claims: PATCH /enterprises/{code}"},
    )

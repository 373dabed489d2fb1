"""The payee's bank account has one home: the enterprise registry in claims.

When the registry's account changes (``claims.evt.enterprise_bank_account_changed.v1``),
every award of that enterprise not yet paid moves to the new account. A payment order
awaiting approval then carries different content: the approvals already given signed the
old content's hash and no longer count (two people must sign again, over the new account).
Paid, revoked and refused awards keep the account they had: a payment made is history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .awards import Award, AwardStatus

__all__ = ["UNPAID_STATUSES", "BankChange", "RegistryAccount", "apply_registry_account"]

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

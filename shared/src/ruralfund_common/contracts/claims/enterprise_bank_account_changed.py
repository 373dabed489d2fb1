from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import CreditCode


class EnterpriseBankAccountChanged(Event):
    """An enterprise's bank account in the registry changed (issue 16, 9).

    The registry is the one source of truth for where an enterprise is paid: funds moves every
    unpaid award and contract tranche of ``credit_code`` to the new account (approvals signed
    for the old payment content lapse), and notify mails the contact on record *before* the
    change (``previous_contact_*``, even when the same request changed the contact too): the
    usual defence against account-change fraud."""

    SUBJECT = "claims.evt.enterprise_bank_account_changed.v1"
    credit_code: CreditCode
    enterprise_name: str
    bank_name: str
    account_no: str
    previous_bank_name: str
    previous_account_no: str
    previous_contact_name: str
    previous_contact_email: str | None = None
    previous_contact_phone: str | None = None
    changed_by: str
    changed_at: datetime

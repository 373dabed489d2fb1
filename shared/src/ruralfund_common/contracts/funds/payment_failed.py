from __future__ import annotations

from datetime import datetime
from typing import Literal

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen


class PaymentFailed(Event):
    """The bank failed or returned an executed payment. Funds reversed it with compensating
    postings (cash back in the joint account); the award is payable again (a new payment order,
    with fresh approvals, pays it)."""

    SUBJECT = "funds.evt.payment_failed.v1"
    payment_id: str
    award_id: str
    claim_id: str | None = None
    program_code: Code
    payee_credit_code: CreditCode
    amount_fen: PositiveFen
    bank_reference: str
    code: str
    reason: str
    source: Literal["api", "statement"]
    failed_at: datetime

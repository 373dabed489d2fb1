from __future__ import annotations

from datetime import datetime
from typing import Literal

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen


class PaymentSettled(Event):
    """The bank confirmed an executed payment out of the joint account (by API or on an
    imported bank statement): the money reached the payee."""

    SUBJECT = "funds.evt.payment_settled.v1"
    payment_id: str
    award_id: str
    claim_id: str | None = None  # None for a service pre-allocation
    program_code: Code
    payee_credit_code: CreditCode
    amount_fen: PositiveFen
    bank_reference: str
    bank_txn_id: str
    source: Literal["api", "statement"]
    settled_at: datetime

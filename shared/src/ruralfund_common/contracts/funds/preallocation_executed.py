from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen
from .payment_executed import BankInstruction, PaymentApproval
from .ratio_justification import RatioJustification


class PreallocationExecuted(Event):
    """Part of a purchase-of-service item was pre-allocated (预拨) and paid out of the joint
    account to its contracted provider after two approvals by two people (no claim involved)."""

    SUBJECT = "funds.evt.preallocation_executed.v1"
    payment_id: str
    preallocation_id: str
    program_code: Code
    item_code: Code
    provider_credit_code: CreditCode
    provider_name: str
    amount_fen: PositiveFen
    contract_reference: str
    content_sha256: str
    approvals: list[PaymentApproval]
    bank_instruction: BankInstruction
    executed_at: datetime
    # The "in principle" share rules this payment departs from, and why (added; empty when none).
    ratio_justifications: list[RatioJustification] = []

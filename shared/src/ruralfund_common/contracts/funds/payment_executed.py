from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen
from .ratio_justification import RatioJustification


class PaymentApproval(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    person: str
    name: str
    role: str
    content_sha256: str
    approved_at: datetime


class BankInstruction(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    from_account: str
    to_account: str
    to_bank_name: str
    to_name: str
    amount_fen: PositiveFen
    reference: str


class PaymentExecuted(Event):
    """A payment out of the joint account was posted after two approvals by two people;
    the bank instruction is what the bank integration sends."""

    SUBJECT = "funds.evt.payment_executed.v1"
    payment_id: str
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    payee_credit_code: CreditCode
    payee_name: str
    amount_fen: PositiveFen
    content_sha256: str
    approvals: list[PaymentApproval]
    bank_instruction: BankInstruction
    executed_at: datetime
    # The "in principle" share rules this payment departs from, and why (added; empty when none).
    ratio_justifications: list[RatioJustification] = []

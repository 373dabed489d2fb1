from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen
from .payment_executed import BankInstruction, PaymentApproval
from .ratio_justification import RatioJustification

__all__ = ["ContractPaymentExecuted", "ContractPaymentRefused", "RatioJustification"]


class ContractPaymentExecuted(Event):
    """A tranche of a service contract was paid out of the joint account after two approvals by
    two people. ``ratio_justifications`` name the "in principle" share rules the payment departs
    from and why (a hard limit is never departed from: such a payment is refused)."""

    SUBJECT = "funds.evt.contract_payment_executed.v1"
    payment_id: str
    payment_due_id: str
    contract_id: str
    tranche_code: Code
    program_code: Code
    line_code: Code
    item_code: Code
    provider_credit_code: CreditCode
    provider_name: str
    amount_fen: PositiveFen
    spending_category: Code | None = None
    content_sha256: str
    approvals: list[PaymentApproval]
    ratio_justifications: list[RatioJustification] = []
    bank_instruction: BankInstruction
    executed_at: datetime


class ContractPaymentRefused(Event):
    """A due contract tranche could not be reserved (e.g. ``ITEM_BUDGET_EXCEEDED``,
    ``CONTRACTOR_IN_DEFAULT``); nothing was posted. Claims shows the tranche as refused."""

    SUBJECT = "funds.evt.contract_payment_refused.v1"
    payment_due_id: str
    contract_id: str
    tranche_code: Code
    program_code: Code
    item_code: Code
    amount_fen: PositiveFen
    code: str
    reason: str
    refused_at: datetime

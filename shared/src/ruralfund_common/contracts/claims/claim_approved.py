from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen


class ClaimApproved(Event):
    """The leading group approved a claim: an award. Funds reserves it on the item's budget;
    notify publicises it (公示) when ``requires_publicity``."""

    SUBJECT = "claims.evt.claim_approved.v1"
    claim_id: str
    award_id: str
    program_code: Code
    line_code: Code
    item_code: Code
    item_name: str
    credit_code: CreditCode
    enterprise_name: str
    payee_bank_account: str
    payee_bank_name: str
    amount_fen: PositiveFen
    rule_version: str
    period: str
    approved_by: str
    approved_at: datetime
    requires_publicity: bool = True

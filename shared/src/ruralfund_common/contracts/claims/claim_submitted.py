from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen


class ClaimSubmitted(Event):
    """An enterprise submitted a claim under a reward item; the amount is the rule's result."""

    SUBJECT = "claims.evt.claim_submitted.v1"
    claim_id: str
    program_code: Code
    item_code: Code
    credit_code: CreditCode
    enterprise_name: str
    period: str
    amount_fen: Fen
    eligible: bool
    rule_version: str
    submitted_at: datetime

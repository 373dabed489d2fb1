from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode


class ClaimRejected(Event):
    """The leading group rejected a claim, with its reason."""

    SUBJECT = "claims.evt.claim_rejected.v1"
    claim_id: str
    program_code: Code
    item_code: Code
    credit_code: CreditCode
    enterprise_name: str
    reason: str
    rejected_by: str
    rejected_at: datetime

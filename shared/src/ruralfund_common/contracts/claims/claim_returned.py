from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode


class ClaimReturned(Event):
    """The bureau returned a claim to the enterprise for more evidence, with a note."""

    SUBJECT = "claims.evt.claim_returned.v1"
    claim_id: str
    program_code: Code
    item_code: Code
    credit_code: CreditCode
    enterprise_name: str
    note: str
    returned_by: str
    returned_at: datetime

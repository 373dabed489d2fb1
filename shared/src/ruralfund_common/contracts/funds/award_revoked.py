from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, PositiveFen


class AwardRevoked(Event):
    """An award's reservation was voided (e.g. ``OBJECTION_UPHELD``): its amount is back on the
    item budget and it will not be paid."""

    SUBJECT = "funds.evt.award_revoked.v1"
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    amount_fen: PositiveFen
    code: str
    reason: str
    revoked_at: datetime

from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, Fen, PositiveFen


class AwardReserved(Event):
    """An approved award's amount is reserved (pending) on its item budget."""

    SUBJECT = "funds.evt.award_reserved.v1"
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    amount_fen: PositiveFen
    item_available_fen: Fen
    reserved_at: datetime

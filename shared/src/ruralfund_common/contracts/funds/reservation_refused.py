from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, Fen


class ReservationRefused(Event):
    """An approved award could not be reserved (e.g. ``ITEM_BUDGET_EXCEEDED``)."""

    SUBJECT = "funds.evt.reservation_refused.v1"
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    amount_fen: Fen
    code: str
    reason: str
    refused_at: datetime

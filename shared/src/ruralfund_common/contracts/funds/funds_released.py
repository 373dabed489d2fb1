from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, Fen, PositiveFen


class FundsReleased(Event):
    """The finance bureau released (预拨) part of the central fund into the joint account."""

    SUBJECT = "funds.evt.funds_released.v1"
    release_id: str
    program_code: Code
    amount_fen: PositiveFen
    released_total_fen: Fen
    approval_reference: str
    released_by: str
    released_at: datetime

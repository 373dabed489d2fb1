from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen, PositiveFen


class AwardReserved(Event):
    """An approved award's amount is reserved (pending) on its item budget.

    Only now does the award exist for the public: notify publishes its notice (公示) from this
    event, never from the approval, so no notice exists for an award funds refused. The optional
    fields carry what the notice and the enterprise's mail need (added in issue 16; a message
    without them comes from an older funds)."""

    SUBJECT = "funds.evt.award_reserved.v1"
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    amount_fen: PositiveFen
    item_available_fen: Fen
    reserved_at: datetime
    line_code: Code | None = None
    item_name: str | None = None
    credit_code: CreditCode | None = None
    enterprise_name: str | None = None
    requires_publicity: bool | None = None
    # the program's 公示 length, as funds will enforce it when the window opens
    publicity_working_days: int | None = Field(default=None, ge=1, le=30)

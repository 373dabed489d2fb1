from __future__ import annotations

from datetime import date, datetime

from ...messaging.envelope import Event
from .._types import Code, PositiveFen


class BudgetAdjusted(Event):
    """Budget moved from one item to another under a leading group resolution. ``override`` is
    true when a purchase-of-service item was adjusted (in principle not allowed): reports flag it."""

    SUBJECT = "funds.evt.budget_adjusted.v1"
    adjustment_id: str
    program_code: Code
    from_item: Code
    to_item: Code
    amount_fen: PositiveFen
    resolution_no: str
    resolution_date: date
    override: bool
    adjusted_by: str
    adjusted_at: datetime

from __future__ import annotations

from datetime import date, datetime

from ...messaging.envelope import Event
from .._types import Code


class PublicityWindowOpened(Event):
    """Funds opened the award's 5-working-day publicity window from notify's publication."""

    SUBJECT = "funds.evt.publicity_window_opened.v1"
    award_id: str
    claim_id: str
    program_code: Code
    published_at: datetime
    starts_on: date
    ends_on: date
    payable_from: date

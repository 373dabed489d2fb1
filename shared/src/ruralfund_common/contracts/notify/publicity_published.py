from __future__ import annotations

from datetime import date, datetime

from ...messaging.envelope import Event
from .._types import Code


class PublicityPublished(Event):
    """A publicity notice (公示) for an award went up on the public page at ``published_at``;
    funds opens the 5-working-day window from it."""

    SUBJECT = "notify.evt.publicity_published.v1"
    notice_id: str
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    published_at: datetime
    starts_on: date
    ends_on: date
    url: str
    # 公示编号 of the notice (XINPING-2021-0013): what citizens, the portal and letters quote.
    # Added after v1 shipped, so optional: events published before it carry none.
    notice_no: str | None = None

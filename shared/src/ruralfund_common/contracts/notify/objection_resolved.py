from __future__ import annotations

from datetime import datetime
from typing import Literal

from ...messaging.envelope import Event
from .._types import Code


class ObjectionResolved(Event):
    """An admin recorded an objection's outcome: ``upheld`` revokes the award, ``dismissed``
    releases the hold."""

    SUBJECT = "notify.evt.objection_resolved.v1"
    objection_id: str
    notice_id: str
    award_id: str
    claim_id: str
    program_code: Code
    outcome: Literal["upheld", "dismissed"]
    reason: str
    resolved_by: str
    resolved_at: datetime

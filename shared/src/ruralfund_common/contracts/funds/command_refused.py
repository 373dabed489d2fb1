from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ...messaging.envelope import Event


class CommandRefused(Event):
    """Funds refused a command (HTTP or from an event) with a stable code, e.g.
    ``PUBLICITY_NOT_ENDED``, ``OBJECTION_PENDING``, ``SAME_PERSON_BOTH_APPROVALS``,
    ``APPROVAL_CONTENT_CHANGED``, ``INSUFFICIENT_FUNDS``, ``ALREADY_PAID``,
    ``CALENDAR_YEAR_UNKNOWN``. Nothing changed; the refusal is kept as the command's outcome."""

    SUBJECT = "funds.evt.command_refused.v1"
    command_id: str | None = None
    command: str
    code: str
    reason: str
    program_code: str | None = None
    award_id: str | None = None
    payment_id: str | None = None
    requested_by: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    refused_at: datetime

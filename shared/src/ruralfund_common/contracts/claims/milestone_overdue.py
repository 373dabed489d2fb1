from __future__ import annotations

from datetime import date, datetime

from ...messaging.envelope import Event
from .._types import Code


class MilestoneOverdue(Event):
    """A program milestone (实施计划 / 时间节点) passed its due date without acceptance; notify
    writes to the responsible unit. For a service contract's milestone, ``contract_id`` and
    ``contract_no`` name the contract and the responsible unit is its provider."""

    SUBJECT = "claims.evt.milestone_overdue.v1"
    program_code: Code
    milestone_code: Code
    name: str
    due_on: date
    responsible_unit: str
    responsible_email: str | None = None
    detected_at: datetime
    contract_id: str | None = None
    contract_no: str | None = None

from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code


class ObjectionFiled(Event):
    """Someone filed an objection (异议) to a publicity notice during its window. The award is
    held (no payment) until the objection is resolved. The objector's identity and contact stay
    in notify; only the fact and the reason category travel."""

    SUBJECT = "notify.evt.objection_filed.v1"
    objection_id: str
    notice_id: str
    award_id: str
    claim_id: str
    program_code: Code
    filed_at: datetime

from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen, PositiveFen


class ClawbackRepaid(Event):
    """A defaulted contractor repaid part of its clawback receivable. ``paid_to`` (added later):
    the finance bureau; events from before it said nothing (they meant the joint account)."""

    SUBJECT = "funds.evt.clawback_repaid.v1"
    repayment_id: str
    program_code: Code
    credit_code: CreditCode
    amount_fen: PositiveFen
    outstanding_fen: Fen
    recorded_at: datetime
    paid_to: str | None = None

from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen


class ReservationRefused(Event):
    """An approved award could not be reserved (e.g. ``ITEM_BUDGET_EXCEEDED``).

    The optional fields (issue 16) let notify tell the enterprise in Chinese with the figures
    that decided it: the amount asked for (``amount_fen``) against what the item had left
    (``item_available_fen``, when the refusal is about the budget). ``reason_zh``: the same
    refusal as people read it, with its figures (the claim's pages show it; optional: older
    events carry only ``reason``)."""

    SUBJECT = "funds.evt.reservation_refused.v1"
    award_id: str
    claim_id: str
    program_code: Code
    item_code: Code
    amount_fen: Fen
    code: str
    reason: str
    refused_at: datetime
    line_code: Code | None = None
    item_name: str | None = None
    credit_code: CreditCode | None = None
    enterprise_name: str | None = None
    item_available_fen: Fen | None = None
    reason_zh: str | None = None

from __future__ import annotations

from datetime import date, datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen


class ContractorDefaulted(Event):
    """The leading group declared a contractor in default (不能按期完成并影响验收): everything
    paid to it from the program became a clawback receivable; no further payments to it."""

    SUBJECT = "funds.evt.contractor_defaulted.v1"
    program_code: Code
    credit_code: CreditCode
    receivable_fen: Fen
    resolution_no: str
    resolution_date: date
    declared_by: str
    declared_at: datetime

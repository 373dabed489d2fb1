from __future__ import annotations

from datetime import date, datetime

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen


class ContractorDefaulted(Event):
    """The leading group declared a contractor in default (不能按期完成并影响验收): everything
    paid to it from the program became a clawback receivable; no further payments to it.
    ``returned_fen`` (added later): the joint account's unspent money returned to the finance
    bureau, when the defaulter holds the joint account (``joint_account_frozen``: no payment
    leaves it any more)."""

    SUBJECT = "funds.evt.contractor_defaulted.v1"
    program_code: Code
    credit_code: CreditCode
    receivable_fen: Fen
    resolution_no: str
    resolution_date: date
    declared_by: str
    declared_at: datetime
    returned_fen: Fen = 0
    joint_account_frozen: bool = False

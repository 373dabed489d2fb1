from __future__ import annotations

from datetime import datetime
from typing import Literal

from ...messaging.envelope import Event
from .._types import Code, CreditCode, PositiveFen

TrancheKind = Literal["advance", "instalment", "balance"]


class ContractPaymentDue(Event):
    """A tranche of a service contract's payment schedule became payable: the advance on
    signing (前期资金拨付), an instalment when its milestone was accepted, the balance on the
    final acceptance (验收). Funds reserves it on the item's budget and pays it through the
    same two-approval payment order as an award; no publicity unless ``requires_publicity``.

    ``payment_due_id`` is stable per tranche (funds uses it as the award id), so a re-sent
    event changes nothing. ``spending_category`` (e.g. ``hardware``) classifies the money for
    the program's share rules on actual spend, beside the item's line."""

    SUBJECT = "claims.evt.contract_payment_due.v1"
    payment_due_id: str
    contract_id: str
    contract_no: str
    package_code: Code | None = None
    tranche_code: Code
    tranche_kind: TrancheKind
    milestone_code: Code | None = None
    program_code: Code
    line_code: Code
    item_code: Code
    item_name: str
    provider_credit_code: CreditCode
    provider_name: str
    payee_bank_account: str
    payee_bank_name: str
    amount_fen: PositiveFen
    spending_category: Code | None = None
    requires_publicity: bool = False
    accepted_by: list[str] = []
    became_due_at: datetime

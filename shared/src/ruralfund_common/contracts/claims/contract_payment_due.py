from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ...messaging.envelope import Event
from .._types import Code, CreditCode, Fen, PositiveFen

TrancheKind = Literal["advance", "instalment", "balance"]


class TranchePart(BaseModel):
    """The share of a tranche on one item of its package (a package may cover several items)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    line_code: Code
    item_code: Code
    amount_fen: PositiveFen


class ContractPaymentDue(Event):
    """A tranche of a service contract's payment schedule became payable: the advance on
    signing (前期资金拨付), an instalment when its milestone was accepted, the balance on the
    final acceptance (验收). Funds reserves it on the item's budget and pays it through the
    same two-approval payment order as an award; no publicity unless ``requires_publicity``.

    ``payment_due_id`` is stable per tranche (funds uses it as the award id), so a re-sent
    event changes nothing. ``spending_category`` (e.g. ``hardware``) classifies the money for
    the program's share rules on actual spend, beside the item's line.

    Added later (optional, old events stay valid): ``parts`` splits the tranche across the
    items of its package (adding up to ``amount_fen`` to the fen; empty: all on ``item_code``),
    and ``hardware_fen`` is the part of the tranche that buys hardware and decoration (the
    measure of Ruyuan's ≤10 % rule; absent: the whole tranche when ``spending_category`` is
    ``hardware``, else none)."""

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
    parts: list[TranchePart] = []
    hardware_fen: Fen | None = None

    @model_validator(mode="after")
    def _parts_add_up(self) -> ContractPaymentDue:
        if self.parts:
            if sum(p.amount_fen for p in self.parts) != self.amount_fen:
                raise ValueError("the parts of a tranche add up to its amount_fen")
            if len({p.item_code for p in self.parts}) != len(self.parts):
                raise ValueError("a tranche has one part per item")
        if self.hardware_fen is not None and self.hardware_fen > self.amount_fen:
            raise ValueError("hardware_fen is part of the tranche's amount_fen")
        return self

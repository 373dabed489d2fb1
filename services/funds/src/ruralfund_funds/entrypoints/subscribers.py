"""Events in: each handler translates one message into one use case (one transaction)."""

from __future__ import annotations

from ruralfund_common.contracts import (
    AwardReserved, ClaimApproved, FundsReleased, PaymentExecuted, ProgramActivated, PublicityPublished,
    PublicityWindowOpened, ReservationRefused,
)
from ruralfund_common.messaging import Envelope, EventRouter, Tx

from .. import service

events = EventRouter()
events.emits(AwardReserved, ReservationRefused, PublicityWindowOpened, PaymentExecuted, FundsReleased)


@events.subscribe(ProgramActivated)
async def open_program_accounts(tx: Tx, env: Envelope[ProgramActivated]) -> None:
    """Open the program's ledger: allocation receivable and one budget account per item."""
    await service.open_program(tx, env.data)


@events.subscribe(ClaimApproved)
async def reserve_approved_award(tx: Tx, env: Envelope[ClaimApproved]) -> None:
    """Reserve the award on its item budget, or refuse it (ITEM_BUDGET_EXCEEDED)."""
    await service.reserve_award(tx, env.data)


@events.subscribe(PublicityPublished)
async def open_publicity_window(tx: Tx, env: Envelope[PublicityPublished]) -> None:
    """Open the 5-working-day publicity window from the notice's publication time."""
    await service.record_publication(tx, env.data)

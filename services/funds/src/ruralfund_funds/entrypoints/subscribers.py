"""Events in: each handler translates one message into one use case (one transaction); every
handler is wrapped to seal the rows it changed into the ledger's Merkle tree last (service.seal)."""

from __future__ import annotations

from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    FundsReleased,
    PaymentExecuted,
    ProgramActivated,
    PublicityPublished,
    PublicityWindowOpened,
    ReservationRefused,
)
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.budget_adjusted import BudgetAdjusted
from ruralfund_common.contracts.funds.clawback_repaid import ClawbackRepaid
from ruralfund_common.contracts.funds.command_refused import CommandRefused
from ruralfund_common.contracts.funds.contract_payment_executed import (
    ContractPaymentExecuted,
    ContractPaymentRefused,
)
from ruralfund_common.contracts.funds.contractor_defaulted import ContractorDefaulted
from ruralfund_common.contracts.funds.ledger_checkpoint import LedgerCheckpoint
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.contracts.funds.payment_settled import PaymentSettled
from ruralfund_common.contracts.funds.preallocation_executed import PreallocationExecuted
from ruralfund_common.contracts.notify.objection_filed import ObjectionFiled
from ruralfund_common.contracts.notify.objection_resolved import ObjectionResolved
from ruralfund_common.messaging import Envelope, EventRouter, Tx

from .. import service

events = EventRouter()
events.emits(AwardReserved, ReservationRefused, PublicityWindowOpened, PaymentExecuted, FundsReleased, AwardRevoked,
             PaymentSettled, PaymentFailed, CommandRefused, BudgetAdjusted, ContractorDefaulted, ClawbackRepaid,
             PreallocationExecuted, ContractPaymentExecuted, ContractPaymentRefused, LedgerCheckpoint)


@events.subscribe(ProgramActivated)
async def open_program_accounts(tx: Tx, env: Envelope[ProgramActivated]) -> None:
    """Open the program's ledger: allocation receivable and one budget account per item."""
    await service.open_program(tx, env.data)


@events.subscribe(ClaimApproved)
async def reserve_approved_award(tx: Tx, env: Envelope[ClaimApproved]) -> None:
    """Reserve the award on its item budget, or refuse it (ITEM_BUDGET_EXCEEDED, ITEM_NOT_FOUND)."""
    await service.reserve_award(tx, env.data)


@events.subscribe(ContractPaymentDue)
async def reserve_contract_tranche(tx: Tx, env: Envelope[ContractPaymentDue]) -> None:
    """Reserve a due contract tranche on its item budget (payable with two approvals), or refuse
    it (contract_payment_refused: ITEM_BUDGET_EXCEEDED, CONTRACTOR_IN_DEFAULT, ...)."""
    await service.reserve_contract_payment(tx, env.data)


@events.subscribe(EnterpriseBankAccountChanged)
async def move_unpaid_awards_to_registry_account(tx: Tx, env: Envelope[EnterpriseBankAccountChanged]) -> None:
    """The registry is the one home of the bank account: every unpaid award of the enterprise
    moves to the new account; approvals of an open payment order (signed for the old) lapse."""
    await service.apply_bank_account_change(tx, env.data)


@events.subscribe(PublicityPublished)
async def open_publicity_window(tx: Tx, env: Envelope[PublicityPublished]) -> None:
    """Open the 5-working-day publicity window from the notice's publication time."""
    await service.record_publication(tx, env.data)


@events.subscribe(ObjectionFiled)
async def hold_award_on_objection(tx: Tx, env: Envelope[ObjectionFiled]) -> None:
    """An objection during publicity holds the award: no payment until it is resolved."""
    await service.objection_filed(tx, env.data)


@events.subscribe(ObjectionResolved)
async def apply_objection_outcome(tx: Tx, env: Envelope[ObjectionResolved]) -> None:
    """Upheld: void the reservation and tell claims (award_revoked). Dismissed: release the hold."""
    await service.objection_resolved(tx, env.data)


def _sealed(handler):
    async def handle(tx: Tx, env: Envelope) -> None:
        await handler(tx, env)
        await service.seal(tx)  # last in the transaction: the changed rows become leaves

    handle.__name__, handle.__doc__ = handler.__name__, handler.__doc__
    handle.sealed = True  # type: ignore[attr-defined]
    return handle


# Every handler above seals, whoever adds one: a handler that did not would leave its rows
# unsealed, which `ruralfund ledger verify --checkpoint` reports as changed around the service.
events.subscriptions[:] = [(model, _sealed(handler), name) for model, handler, name in events.subscriptions]

"""Events in: each handler only hands the event to its use case (in the handler's
transaction; the framework owns dedup, ordering, retries and dead letters). Every consumed
event is also offered to webhook subscribers, in the same transaction (``consumes``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    EnterpriseRegistered,
    PaymentExecuted,
    ProgramActivated,
    PublicityPublished,
    ReservationRefused,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.contract_payment_executed import ContractPaymentRefused
from ruralfund_common.contracts.funds.ledger_checkpoint import LedgerCheckpoint
from ruralfund_common.contracts.logistics.delivery_sla_breached import DeliverySlaBreached
from ruralfund_common.contracts.notify.objection_filed import ObjectionFiled
from ruralfund_common.contracts.notify.objection_resolved import ObjectionResolved
from ruralfund_common.messaging import Envelope, Event, EventRouter, Tx

from ..service import notify_service
from ..service.checkpoints import record_checkpoint

__all__ = ["events", "webhook_event_types"]

events = EventRouter()
events.emits(PublicityPublished, ObjectionFiled, ObjectionResolved)

Handler = Callable[[Tx, Envelope[Any]], Awaitable[None]]


def consumes(model: type[Event]) -> Callable[[Handler], Handler]:
    """Subscribe ``handler`` (durable consumer ``notify__<handler name>``) and, after it, write
    the event's webhook deliveries: same transaction, so exactly once per message."""

    def register(handler: Handler) -> Handler:
        async def handle(tx: Tx, env: Envelope[Any]) -> None:
            await handler(tx, env)
            await notify_service(tx.ctx).webhooks.fanout(tx, env.model_dump(mode="json"))

        handle.__doc__ = handler.__doc__
        events.subscribe(model, name=handler.__name__)(handle)
        return handler

    return register


def webhook_event_types() -> frozenset[str]:
    """What other systems may subscribe to: every event notify consumes or emits."""
    consumed = {model.SUBJECT for model, _, _ in events.subscriptions}
    return frozenset(consumed | {model.SUBJECT for model in events.emitted})


@consumes(EnterpriseRegistered)
async def on_enterprise_registered(tx: Tx, env: Envelope[EnterpriseRegistered]) -> None:
    """Keep the enterprise's contact; send mails that were waiting for its address; tell the
    address on record when another contact replaces it."""
    await notify_service(tx.ctx).register_contact(tx, env.data, env.id)


@consumes(EnterpriseBankAccountChanged)
async def on_enterprise_bank_account_changed(
    tx: Tx, env: Envelope[EnterpriseBankAccountChanged]
) -> None:
    """Mail the contact on record before the change that the bank account changed."""
    await notify_service(tx.ctx).bank_account_changed(tx, env.id, env.data)


@consumes(ProgramActivated)
async def on_program_activated(tx: Tx, env: Envelope[ProgramActivated]) -> None:
    """Keep program and item names for the public page and the mails."""
    await notify_service(tx.ctx).register_program(tx, env.data)


@consumes(ClaimApproved)
async def on_claim_approved(tx: Tx, env: Envelope[ClaimApproved]) -> None:
    """Offered to webhooks only: the notice waits until funds has reserved the award."""
    await notify_service(tx.ctx).claim_approved(tx, env.id, env.data)


@consumes(AwardReserved)
async def on_award_reserved(tx: Tx, env: Envelope[AwardReserved]) -> None:
    """Publish the reserved award's publicity notice (公示) and mail the enterprise the dates."""
    await notify_service(tx.ctx).award_reserved(tx, env.id, env.data)


@consumes(ReservationRefused)
async def on_reservation_refused(tx: Tx, env: Envelope[ReservationRefused]) -> None:
    """No notice for an award funds refused; mail the enterprise why, with the figures."""
    await notify_service(tx.ctx).reservation_refused(tx, env.id, env.data)


@consumes(ContractPaymentRefused)
async def on_contract_payment_refused(tx: Tx, env: Envelope[ContractPaymentRefused]) -> None:
    """Withdraw (撤回) the notice of a publicised contract tranche funds could not reserve."""
    await notify_service(tx.ctx).contract_payment_refused(tx, env.id, env.data)


@consumes(ContractPaymentDue)
async def on_contract_payment_due(tx: Tx, env: Envelope[ContractPaymentDue]) -> None:
    """Publish a contract tranche's notice (公示) when its program publicises contract payments."""
    await notify_service(tx.ctx).contract_payment_due(tx, env.id, env.data)


@consumes(ClaimRejected)
async def on_claim_rejected(tx: Tx, env: Envelope[ClaimRejected]) -> None:
    """Mail the enterprise the rejection and its reason."""
    await notify_service(tx.ctx).claim_rejected(tx, env.id, env.data)


@consumes(PaymentExecuted)
async def on_payment_executed(tx: Tx, env: Envelope[PaymentExecuted]) -> None:
    """Record the paid award for open data and mail the payee."""
    await notify_service(tx.ctx).payment_executed(tx, env.id, env.data)


@consumes(AwardRevoked)
async def on_award_revoked(tx: Tx, env: Envelope[AwardRevoked]) -> None:
    """Show the award's notice as withdrawn (已撤销) on the public page."""
    await notify_service(tx.ctx).award_revoked(tx, env.id, env.data)


@consumes(ClaimSubmitted)
async def on_claim_submitted(tx: Tx, env: Envelope[ClaimSubmitted]) -> None:
    """Mail the enterprise that its claim was received, with the computed amount."""
    await notify_service(tx.ctx).claim_submitted(tx, env.id, env.data)


@consumes(ClaimReturned)
async def on_claim_returned(tx: Tx, env: Envelope[ClaimReturned]) -> None:
    """Mail the enterprise which evidence it must add."""
    await notify_service(tx.ctx).claim_returned(tx, env.id, env.data)


@consumes(MilestoneOverdue)
async def on_milestone_overdue(tx: Tx, env: Envelope[MilestoneOverdue]) -> None:
    """Remind the responsible unit of an overdue milestone."""
    await notify_service(tx.ctx).reports.milestone_overdue(tx, env.id, env.data)


@consumes(DeliverySlaBreached)
async def on_delivery_sla_breached(tx: Tx, env: Envelope[DeliverySlaBreached]) -> None:
    """Keep the missed deadline for the bureau's periodic summary."""
    await notify_service(tx.ctx).reports.delivery_sla_breached(tx, env.id, env.data)


@consumes(LedgerCheckpoint)
async def on_ledger_checkpoint(tx: Tx, env: Envelope[LedgerCheckpoint]) -> None:
    """Keep funds' signed ledger checkpoint for the public page and open data (公开)."""
    await record_checkpoint(tx, env.data)

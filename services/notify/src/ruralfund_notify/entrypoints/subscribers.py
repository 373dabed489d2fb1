"""Events in: each handler only hands the event to its use case (in the handler's
transaction; the framework owns dedup, ordering, retries and dead letters)."""

from __future__ import annotations

from ruralfund_common.contracts import (
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    EnterpriseRegistered,
    PaymentExecuted,
    ProgramActivated,
    PublicityPublished,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.logistics.delivery_sla_breached import DeliverySlaBreached
from ruralfund_common.messaging import Envelope, EventRouter, Tx

from ..service import notify_service

__all__ = ["events"]

events = EventRouter()
events.emits(PublicityPublished)


@events.subscribe(EnterpriseRegistered)
async def on_enterprise_registered(tx: Tx, env: Envelope[EnterpriseRegistered]) -> None:
    """Keep the enterprise's contact; send mails that were waiting for its address."""
    await notify_service(tx.ctx).register_contact(tx, env.data)


@events.subscribe(ProgramActivated)
async def on_program_activated(tx: Tx, env: Envelope[ProgramActivated]) -> None:
    """Keep program and item names for the public page and the mails."""
    await notify_service(tx.ctx).register_program(tx, env.data)


@events.subscribe(ClaimApproved)
async def on_claim_approved(tx: Tx, env: Envelope[ClaimApproved]) -> None:
    """Publish the award's publicity notice (公示) and mail the enterprise the dates."""
    await notify_service(tx.ctx).claim_approved(tx, env.id, env.data)


@events.subscribe(ClaimRejected)
async def on_claim_rejected(tx: Tx, env: Envelope[ClaimRejected]) -> None:
    """Mail the enterprise the rejection and its reason."""
    await notify_service(tx.ctx).claim_rejected(tx, env.id, env.data)


@events.subscribe(PaymentExecuted)
async def on_payment_executed(tx: Tx, env: Envelope[PaymentExecuted]) -> None:
    """Record the paid award for open data and mail the payee."""
    await notify_service(tx.ctx).payment_executed(tx, env.id, env.data)


@events.subscribe(AwardRevoked)
async def on_award_revoked(tx: Tx, env: Envelope[AwardRevoked]) -> None:
    """Show the award's notice as withdrawn (已撤销) on the public page."""
    await notify_service(tx.ctx).award_revoked(tx, env.id, env.data)


@events.subscribe(ClaimSubmitted)
async def on_claim_submitted(tx: Tx, env: Envelope[ClaimSubmitted]) -> None:
    """Mail the enterprise that its claim was received, with the computed amount."""
    await notify_service(tx.ctx).claim_submitted(tx, env.id, env.data)


@events.subscribe(ClaimReturned)
async def on_claim_returned(tx: Tx, env: Envelope[ClaimReturned]) -> None:
    """Mail the enterprise which evidence it must add."""
    await notify_service(tx.ctx).claim_returned(tx, env.id, env.data)


@events.subscribe(MilestoneOverdue)
async def on_milestone_overdue(tx: Tx, env: Envelope[MilestoneOverdue]) -> None:
    """Remind the responsible unit of an overdue milestone."""
    await notify_service(tx.ctx).reports.milestone_overdue(tx, env.id, env.data)


@events.subscribe(DeliverySlaBreached)
async def on_delivery_sla_breached(tx: Tx, env: Envelope[DeliverySlaBreached]) -> None:
    """Keep the missed deadline for the bureau's periodic summary."""
    await notify_service(tx.ctx).reports.delivery_sla_breached(tx, env.id, env.data)

"""Events in: what claims consumes (funds' progress on awards, logistics' station volumes)
and declares it emits. Handlers only translate to the service's use cases."""

from __future__ import annotations

from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    EnterpriseRegistered,
    PaymentExecuted,
    ProgramActivated,
    PublicityWindowOpened,
    ReservationRefused,
    StationRegistered,
    StationVolumeReported,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.clawback_repaid import ClawbackRepaid
from ruralfund_common.contracts.funds.contract_payment_executed import (
    ContractPaymentExecuted,
    ContractPaymentRefused,
)
from ruralfund_common.contracts.funds.contractor_defaulted import ContractorDefaulted
from ruralfund_common.contracts.funds.payment_failed import PaymentFailed
from ruralfund_common.messaging import Envelope, EventRouter, Tx

from .. import service

__all__ = ["events"]

events = EventRouter()
events.emits(
    ProgramActivated,
    EnterpriseRegistered,
    ClaimSubmitted,
    ClaimApproved,
    ClaimRejected,
    ClaimReturned,
    MilestoneOverdue,
    ContractPaymentDue,
    EnterpriseBankAccountChanged,
)


@events.subscribe(AwardReserved)
async def on_award_reserved(tx: Tx, env: Envelope[AwardReserved]) -> None:
    """Funds reserved an approved award on its item budget: the claim is reserved."""
    await service.apply_funds_event(tx, env)


@events.subscribe(ReservationRefused)
async def on_reservation_refused(tx: Tx, env: Envelope[ReservationRefused]) -> None:
    """Funds could not reserve the award (e.g. item budget exceeded): reservation_refused."""
    await service.apply_funds_event(tx, env)


@events.subscribe(PublicityWindowOpened)
async def on_publicity_window_opened(tx: Tx, env: Envelope[PublicityWindowOpened]) -> None:
    """The award's 5-working-day publicity window opened: the claim is in_publicity."""
    await service.apply_funds_event(tx, env)


@events.subscribe(PaymentExecuted)
async def on_payment_executed(tx: Tx, env: Envelope[PaymentExecuted]) -> None:
    """The award was paid out of the joint account: the claim is paid."""
    await service.apply_funds_event(tx, env)


@events.subscribe(AwardRevoked)
async def on_award_revoked(tx: Tx, env: Envelope[AwardRevoked]) -> None:
    """An upheld objection revoked the award (funds voided its reservation): revoked."""
    await service.apply_funds_event(tx, env)


@events.subscribe(PaymentFailed)
async def on_payment_failed(tx: Tx, env: Envelope[PaymentFailed]) -> None:
    """The bank failed or returned the payment: the claim, or the contract tranche (no claim;
    award_id is the tranche's payment_due_id), is payable again."""
    if env.data.claim_id is None:
        await service.apply_tranche_payment_failed(tx, env.data)
    else:
        await service.apply_payment_failed(tx, env)


@events.subscribe(ContractPaymentExecuted)
async def on_contract_payment_executed(tx: Tx, env: Envelope[ContractPaymentExecuted]) -> None:
    """Funds paid a contract tranche out of the joint account: the tranche is paid."""
    await service.apply_contract_payment_executed(tx, env)


@events.subscribe(ContractPaymentRefused)
async def on_contract_payment_refused(tx: Tx, env: Envelope[ContractPaymentRefused]) -> None:
    """Funds could not reserve a due tranche: the tranche is refused, with funds' code."""
    await service.apply_contract_payment_refused(tx, env)


@events.subscribe(ContractorDefaulted)
async def on_contractor_defaulted(tx: Tx, env: Envelope[ContractorDefaulted]) -> None:
    """A contractor declared in default (Xinping §六): the report shows what went back to the
    finance bureau and what is receivable from it."""
    await service.record_contractor_defaulted(tx, env)


@events.subscribe(ClawbackRepaid)
async def on_clawback_repaid(tx: Tx, env: Envelope[ClawbackRepaid]) -> None:
    """A defaulter repaid part of its clawback (to the finance bureau): shown in the report."""
    await service.record_clawback_repaid(tx, env)


@events.subscribe(StationVolumeReported)
async def on_station_volume_reported(tx: Tx, env: Envelope[StationVolumeReported]) -> None:
    """Keep the station's annual volume to pre-fill its station-upgrade claim."""
    await service.record_station_volume(tx, env.data)


@events.subscribe(StationRegistered)
async def on_station_registered(tx: Tx, env: Envelope[StationRegistered]) -> None:
    """Keep the station's county, so a program's targets count its own county's stations."""
    await service.record_station(tx, env.data)

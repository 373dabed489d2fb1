"""Event contracts, by owning service. Every published event has a pydantic model here;
``ALL_EVENTS`` maps each subject to its model (the schema snapshot test walks it)."""

from __future__ import annotations

from ..messaging.envelope import Event
from .claims.claim_approved import ClaimApproved
from .claims.claim_rejected import ClaimRejected
from .claims.claim_submitted import ClaimSubmitted
from .claims.enterprise_registered import EnterpriseRegistered
from .claims.program_activated import ItemBudget, LineBudget, ProgramActivated
from .funds.award_reserved import AwardReserved
from .funds.funds_released import FundsReleased
from .funds.payment_executed import BankInstruction, PaymentApproval, PaymentExecuted
from .funds.publicity_window_opened import PublicityWindowOpened
from .funds.reservation_refused import ReservationRefused
from .logistics.station_registered import StationRegistered
from .logistics.station_volume_reported import StationVolumeReported
from .notify.publicity_published import PublicityPublished

ALL_EVENTS: dict[str, type[Event]] = {
    m.SUBJECT: m
    for m in (
        ProgramActivated, EnterpriseRegistered, ClaimSubmitted, ClaimApproved, ClaimRejected,
        AwardReserved, ReservationRefused, PublicityWindowOpened, PaymentExecuted, FundsReleased,
        PublicityPublished, StationRegistered, StationVolumeReported,
    )
}

__all__ = [
    "ALL_EVENTS", "ProgramActivated", "ItemBudget", "LineBudget", "EnterpriseRegistered",
    "ClaimSubmitted", "ClaimApproved", "ClaimRejected", "AwardReserved", "ReservationRefused",
    "PublicityWindowOpened", "PaymentExecuted", "PaymentApproval", "BankInstruction",
    "FundsReleased", "PublicityPublished", "StationRegistered", "StationVolumeReported",
]

"""Event contracts, by owning service. Every published event has a pydantic model here;
``ALL_EVENTS`` maps each subject to its model (the schema snapshot test walks it)."""

from __future__ import annotations

from ..messaging.envelope import Event
from .claims.claim_approved import ClaimApproved
from .claims.claim_rejected import ClaimRejected
from .claims.claim_returned import ClaimReturned
from .claims.claim_submitted import ClaimSubmitted
from .claims.enterprise_registered import EnterpriseRegistered
from .claims.milestone_overdue import MilestoneOverdue
from .claims.program_activated import ItemBudget, LineBudget, ProgramActivated
from .funds.award_reserved import AwardReserved
from .funds.award_revoked import AwardRevoked
from .funds.funds_released import FundsReleased
from .funds.payment_executed import BankInstruction, PaymentApproval, PaymentExecuted
from .funds.publicity_window_opened import PublicityWindowOpened
from .funds.reservation_refused import ReservationRefused
from .logistics.delivery_sla_breached import DeliverySlaBreached
from .logistics.station_registered import StationRegistered
from .logistics.station_volume_reported import StationVolumeReported
from .notify.objection_filed import ObjectionFiled
from .notify.objection_resolved import ObjectionResolved
from .notify.publicity_published import PublicityPublished


def _discover() -> dict[str, type[Event]]:
    """Every Event subclass defined under contracts/<owner>/, so adding a contract file is
    enough to put it under the schema snapshot test (no shared list to edit)."""
    import importlib
    import pkgutil

    found: dict[str, type[Event]] = {}
    for owner in ("claims", "funds", "logistics", "notify"):
        package = importlib.import_module(f"{__name__}.{owner}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Event) and value is not Event and value.__module__ == module.__name__:
                    assert value.SUBJECT.startswith(owner + "."), f"{value.__name__} is filed under {owner}"
                    assert value.SUBJECT not in found, f"two contracts for {value.SUBJECT}"
                    found[value.SUBJECT] = value
    return found


ALL_EVENTS: dict[str, type[Event]] = _discover()

__all__ = [
    "ALL_EVENTS",
    "AwardReserved",
    "AwardRevoked",
    "BankInstruction",
    "ClaimApproved",
    "ClaimRejected",
    "ClaimReturned",
    "ClaimSubmitted",
    "DeliverySlaBreached",
    "EnterpriseRegistered",
    "FundsReleased",
    "ItemBudget",
    "LineBudget",
    "MilestoneOverdue",
    "ObjectionFiled",
    "ObjectionResolved",
    "PaymentApproval",
    "PaymentExecuted",
    "ProgramActivated",
    "PublicityPublished",
    "PublicityWindowOpened",
    "ReservationRefused",
    "StationRegistered",
    "StationVolumeReported",
]

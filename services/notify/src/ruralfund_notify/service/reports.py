"""Mail about the program rather than one claim: overdue milestones to the responsible unit,
and the periodic summary of missed delivery deadlines to the bureau."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ruralfund_common.calendar import local_date
from ruralfund_common.contracts.claims.milestone_overdue import MilestoneOverdue
from ruralfund_common.contracts.logistics.delivery_sla_breached import DeliverySlaBreached
from ruralfund_common.ids import new_id
from ruralfund_common.logging import get_logger
from ruralfund_common.messaging import Tx

from ..adapters import reports_repo
from ..adapters import repository as repo
from ..domain.contacts import is_deliverable_address
from ..domain.emails import EmailTemplate
from ..domain.rendering import MilestoneMail, render_milestone_overdue, render_sla_breach_summary
from ..domain.sla import SlaBreach, period_of, summarise

if TYPE_CHECKING:
    from .core import NotifyService

__all__ = ["MAX_BREACHES_PER_SUMMARY", "ReportDesk"]

# One summary covers at most this many parcels; more wait for the next run (seconds later).
MAX_BREACHES_PER_SUMMARY: Final = 5000
BUREAU_HINT: Final = "set RURALFUND_NOTIFY_BUREAU_EMAIL to the competent bureau's mailbox"
log = get_logger("ruralfund.notify.reports")


@dataclass(frozen=True)
class ReportDesk:
    core: NotifyService

    async def milestone_overdue(self, tx: Tx, event_id: str, e: MilestoneOverdue) -> None:
        """Remind the responsible unit; without its address, the bureau passes it on."""
        unit_email = e.responsible_email if e.responsible_email else None
        to_bureau = unit_email is None or not is_deliverable_address(unit_email)
        program_name, _ = await repo.names_for(tx.conn, e.program_code, "")
        mail = MilestoneMail(
            responsible_unit=e.responsible_unit,
            program_name=program_name or e.program_code,
            milestone_name=e.name,
            due_on=e.due_on,
            detected_on=local_date(e.detected_at),
            addressed_to_bureau=to_bureau,
        )
        address = self.core.settings.bureau_email if to_bureau else unit_email
        await self.core.queue_to(
            tx,
            event_id,
            EmailTemplate.MILESTONE_OVERDUE,
            (address, e.responsible_unit),
            render_milestone_overdue(mail, self.core.sender),
            missing_hint=f"the unit {e.responsible_unit!r} has no address; {BUREAU_HINT}",
        )

    async def delivery_sla_breached(self, tx: Tx, event_id: str, e: DeliverySlaBreached) -> None:
        """Keep the breach for the next summary (never one mail per parcel)."""
        breach = SlaBreach(
            parcel_id=e.parcel_id,
            county_code=e.county_code,
            destination_station_id=e.destination_station_id,
            town_station_id=e.town_station_id,
            left_center_at=e.left_center_at,
            deadline_at=e.deadline_at,
            detected_at=e.detected_at,
            last_scan_kind=e.last_scan_kind,
        )
        _, period_end = period_of(breach.deadline_at, self.core.settings.sla_summary_hours)
        await reports_repo.insert_breach(tx.conn, breach, period_end=period_end, event_id=event_id)

    async def summarise_due_breaches(self, tx: Tx) -> bool:
        """Mail one summary of every unreported breach whose period ended by the injected
        clock; True if one was made. Rows, summary and mail commit together."""
        due = await reports_repo.due_breaches(
            tx.conn, now=tx.clock.now(), limit=MAX_BREACHES_PER_SUMMARY
        )
        if not due:
            return False
        summary = summarise(due, self.core.settings.sla_summary_hours)
        summary_id = new_id()
        await reports_repo.insert_summary(
            tx.conn,
            summary_id,
            period_from=summary.period_from,
            period_to=summary.period_to,
            parcel_ids=[b.parcel_id for b in due],
        )
        await self.core.queue_to(
            tx,
            summary_id,  # the summary is the "event": one mail per summary
            EmailTemplate.SLA_BREACH_SUMMARY,
            (self.core.settings.bureau_email, self.core.settings.objection_office),
            render_sla_breach_summary(summary, self.core.sender),
            missing_hint=BUREAU_HINT,
        )
        log.info("sla_summary_queued", summary_id=summary_id, breaches=summary.total)
        return True

"""Network and volume use cases: load -> domain decision -> save + outbox, in the caller's
transaction.

Write use cases take the ``Tx`` that :func:`ruralfund_common.bootstrap.idempotent` opened, so
the state change, the outbox row and the stored Idempotency-Key answer commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.calendar import local_date
from ruralfund_common.contracts import StationRegistered, StationVolumeReported
from ruralfund_common.errors import NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx
from ruralfund_common.recusal import Stakes

from .. import domain
from ..adapters.repository import Lock, Repository, StationFilter
from ..domain import (
    Actor,
    AnnualTotal,
    CarrierKind,
    CenterCarrier,
    CoverageReport,
    ReportMonth,
    RetailPartnership,
    Station,
    StationDraft,
    VolumeReport,
    VolumeSubmission,
)

__all__ = [
    "NETWORK_ADMIN_ROLES",
    "NETWORK_READER_ROLES",
    "VOLUME_REPORTER_ROLES",
    "Coverage",
    "StationVolumes",
    "VolumeInput",
    "actor_of",
    "carrier_leaves",
    "close_station",
    "end_partnership",
    "get_station",
    "list_stations",
    "network_coverage",
    "register_station",
    "report_volume",
    "settle_carrier",
    "start_partnership",
    "station_volumes",
]

NETWORK_ADMIN_ROLES: Final = frozenset({Role.BUREAU_ADMIN, Role.SYSTEM})
# Staff who may read the whole network with contacts and volumes (auditors read everything).
NETWORK_READER_ROLES: Final = frozenset(
    {Role.BUREAU_ADMIN, Role.SYSTEM, Role.AUDITOR, Role.LEADING_GROUP, Role.FINANCE_BUREAU}
)
# Enterprises pass the role gate, then the domain keeps them to the stations they operate.
VOLUME_REPORTER_ROLES: Final = NETWORK_ADMIN_ROLES | {Role.ENTERPRISE}


def actor_of(principal: Principal) -> Actor:
    return Actor(
        subject=principal.subject,
        manages_network=bool(principal.roles & NETWORK_ADMIN_ROLES),
        reads_network=bool(principal.roles & NETWORK_READER_ROLES),
        credit_code=principal.credit_code if principal.has(Role.ENTERPRISE) else None,
        stakes=Stakes.of(principal),
    )


def _today(tx: Tx) -> date:
    """The county's calendar day (Asia/Shanghai) by the injected clock."""
    return local_date(tx.clock.now())


async def _station_or_404(repo: Repository, station_id: str, *, lock: Lock = None) -> Station:
    station = await repo.station(station_id, lock=lock)
    if station is None:
        raise NotFound("STATION_NOT_FOUND", f"no station {station_id}",
            detail_zh=f"没有编号为 {station_id} 的站点。")
    return station


# -- the station network -------------------------------------------------------------------


async def register_station(tx: Tx, actor: Actor, draft: StationDraft) -> Station:
    repo = Repository(tx.conn)
    # FOR SHARE: the parent cannot be closed while a child is being added under it.
    parent = await repo.station(draft.parent_id, lock="share") if draft.parent_id else None
    center = (
        await repo.active_center(draft.county_code)
        if draft.tier is domain.Tier.COUNTY_CENTER
        else None
    )
    siblings = await repo.active_child_names(draft.parent_id) if draft.parent_id else []
    station = domain.register_station(
        draft, station_id=new_id(), parent=parent, active_center=center, sibling_names=siblings
    )
    await repo.add_station(station, created_at=tx.clock.now(), created_by=actor.subject)
    await tx.emit(
        StationRegistered(
            station_id=station.id,
            name=station.name,
            tier=station.tier.value,
            parent_id=station.parent_id,
            county_code=station.county_code,
            operator_credit_code=station.operator_credit_code,
            opened_on=station.opened_on,
        ),
        aggregate_id=station.id,
    )
    return station


async def close_station(
    tx: Tx, actor: Actor, station_id: str, *, closed_on: date, reason: str
) -> Station:
    assert actor.manages_network, "the edge lets only network admins close stations"
    repo = Repository(tx.conn)
    station = await _station_or_404(repo, station_id, lock="update")
    children = await repo.active_child_names(station.id)
    closed = domain.close_station(
        station, closed_on=closed_on, reason=reason, active_children=len(children), today=_today(tx)
    )
    await repo.save_closure(closed)
    return closed


async def get_station(conn: asyncpg.Connection, actor: Actor, station_id: str) -> Station:
    station = await _station_or_404(Repository(conn), station_id)
    domain.check_may_read_station(actor, station)
    return station


async def list_stations(
    conn: asyncpg.Connection, f: StationFilter, *, after_id: str | None, limit: int
) -> list[Station]:
    return await Repository(conn).stations(f, after_id=after_id, limit=limit)


# -- volumes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeInput:
    year: int
    month: int
    parcels: int
    volume: str | None = None
    volume_fen: int | None = None
    correction_reason: str | None = None


async def report_volume(
    tx: Tx, actor: Actor, station_id: str, given: VolumeInput
) -> tuple[VolumeReport, AnnualTotal]:
    repo = Repository(tx.conn)
    # FOR UPDATE serialises a station's reports, so each event's annual total includes every
    # month committed before it and the last event always carries the true total.
    station = await _station_or_404(repo, station_id, lock="update")
    domain.check_may_report_volume(actor, station)
    submission = VolumeSubmission(
        period=ReportMonth(given.year, given.month),
        volume_fen=domain.parse_volume_fen(given.volume, given.volume_fen),
        parcels=given.parcels,
        correction_reason=given.correction_reason,
    )
    report = domain.accept_report(
        station,
        submission,
        current=await repo.latest_report(station.id, submission.period),
        today=_today(tx),
        report_id=new_id(),
        reported_by=actor.subject,
        reported_at=tx.clock.now(),
    )
    await repo.add_report(report)
    total = domain.annual_total(given.year, await repo.reports_of_year(station.id, given.year))
    await tx.emit(
        StationVolumeReported(
            station_id=station.id,
            station_name=station.name,
            operator_credit_code=station.operator_credit_code,
            year=report.period.year,
            month=report.period.month,
            month_volume_fen=report.volume_fen,
            month_parcels=report.parcels,
            annual_volume_fen=total.volume_fen,
            annual_parcels=total.parcels,
            correction_reason=report.correction_reason,
        ),
        aggregate_id=station.id,
    )
    return report, total


@dataclass(frozen=True)
class StationVolumes:
    station: Station
    latest_by_month: list[VolumeReport]
    total: AnnualTotal


async def station_volumes(
    conn: asyncpg.Connection, actor: Actor, station_id: str, year: int
) -> StationVolumes:
    repo = Repository(conn)
    station = await _station_or_404(repo, station_id)
    domain.check_may_read_station(actor, station)
    ReportMonth(year, 1)  # validates the year with the same refusal as a report
    reports = await repo.reports_of_year(station.id, year)
    latest = {r.period.month: r for r in reports}  # ordered by revision: the last one wins
    return StationVolumes(
        station, [latest[m] for m in sorted(latest)], domain.annual_total(year, reports)
    )


# -- the county center's carriers and partnerships -------------------------------------------


async def settle_carrier(
    tx: Tx,
    actor: Actor,
    center_id: str,
    *,
    kind: CarrierKind,
    name: str,
    credit_code: str | None,
    settled_on: date,
) -> CenterCarrier:
    repo = Repository(tx.conn)
    center = await _station_or_404(repo, center_id, lock="share")
    carrier = domain.settle_carrier(
        center,
        carrier_id=new_id(),
        kind=kind,
        name=name,
        credit_code=credit_code,
        settled_on=settled_on,
        present=await repo.carriers(center.id),
        today=_today(tx),
    )
    await repo.add_carrier(carrier, created_at=tx.clock.now(), created_by=actor.subject)
    return carrier


async def carrier_leaves(
    tx: Tx, actor: Actor, center_id: str, carrier_id: str, *, left_on: date
) -> CenterCarrier:
    repo = Repository(tx.conn)
    carrier = await repo.carrier(carrier_id, lock="update")
    if carrier is None or carrier.center_id != center_id:
        raise NotFound("CARRIER_NOT_FOUND", f"no carrier {carrier_id} at station {center_id}",
            detail_zh=f"站点 {center_id} 没有编号为 {carrier_id} 的快递企业。")
    gone = domain.carrier_leaves(carrier, left_on=left_on, today=_today(tx))
    await repo.save_carrier_departure(gone)
    return gone


async def start_partnership(
    tx: Tx,
    actor: Actor,
    center_id: str,
    *,
    partner_name: str,
    partner_credit_code: str | None,
    started_on: date,
) -> RetailPartnership:
    repo = Repository(tx.conn)
    center = await _station_or_404(repo, center_id, lock="share")
    partnership = domain.start_partnership(
        center,
        partnership_id=new_id(),
        partner_name=partner_name,
        partner_credit_code=partner_credit_code,
        started_on=started_on,
        active=await repo.partnerships(center.id),
        today=_today(tx),
    )
    await repo.add_partnership(partnership, created_at=tx.clock.now(), created_by=actor.subject)
    return partnership


async def end_partnership(
    tx: Tx, actor: Actor, center_id: str, partnership_id: str, *, ended_on: date
) -> RetailPartnership:
    repo = Repository(tx.conn)
    partnership = await repo.partnership(partnership_id, lock="update")
    if partnership is None or partnership.center_id != center_id:
        raise NotFound(
            "PARTNERSHIP_NOT_FOUND", f"no partnership {partnership_id} at station {center_id}",
            detail_zh=f"站点 {center_id} 没有编号为 {partnership_id} 的合作。",
        )
    ended = domain.end_partnership(partnership, ended_on=ended_on, today=_today(tx))
    await repo.save_partnership_end(ended)
    return ended


@dataclass(frozen=True)
class Coverage:
    center: Station
    report: CoverageReport
    carriers: list[CenterCarrier]
    partnerships: list[RetailPartnership]


async def network_coverage(conn: asyncpg.Connection, county_code: str, *, as_of: date) -> Coverage:
    repo = Repository(conn)
    center = await repo.active_center(county_code)
    if center is None:
        raise NotFound(
            "COUNTY_CENTER_NOT_FOUND", f"county {county_code} has no active logistics center",
            detail_zh=f"县 {county_code} 尚无在用的县级物流配送中心。",
        )
    carriers = await repo.carriers(center.id)
    partnerships = await repo.partnerships(center.id)
    report = domain.coverage(carriers, partnerships, as_of=as_of)
    return Coverage(
        center,
        report,
        [c for c in carriers if c.present_on(as_of)],
        [p for p in partnerships if p.active_on(as_of)],
    )

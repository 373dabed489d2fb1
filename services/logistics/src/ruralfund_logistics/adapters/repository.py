"""asyncpg SQL for the logistics schema: rows in, domain objects out.

Every method runs on the caller's connection (inside the use case's transaction for writes).
A unique-constraint race that the domain check could not see is turned into the same
refusal the domain gives, so the client never sees a 500 for a double submission.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg
from ruralfund_common.errors import Conflict

from ..domain import (
    CarrierKind,
    CenterCarrier,
    GeoPoint,
    ReportMonth,
    RetailPartnership,
    Station,
    StationStatus,
    Tier,
    VolumeReport,
)
from ..domain.refusals import DUPLICATE_ZH, TITLES_ZH

__all__ = ["Lock", "Repository", "StationFilter"]

Lock = Literal["update", "share"] | None

# constraint -> the refusal it stands for, when a concurrent request won the race
_UNIQUE_REFUSALS: Final[dict[str, tuple[str, str, str]]] = {
    "stations_one_active_center_per_county": (
        "STATION_CENTER_EXISTS",
        "the county already has an active center",
        "tier",
    ),
    "stations_active_name_under_parent": (
        "STATION_NAME_TAKEN",
        "the parent already has a station of that name",
        "name",
    ),
    "station_volume_reports_station_id_year_month_revision_key": (
        "VOLUME_ALREADY_REPORTED",
        "this month was reported concurrently; reload and correct it",
        "correction_reason",
    ),
    "center_carriers_present_once": (
        "CARRIER_ALREADY_SETTLED",
        "this carrier is already settled",
        "name",
    ),
    "retail_partnerships_running_once": (
        "PARTNERSHIP_EXISTS",
        "this partnership is already running",
        "partner_name",
    ),
}


@dataclass(frozen=True)
class StationFilter:
    county_code: str | None = None
    tier: Tier | None = None
    parent_id: str | None = None
    status: StationStatus | None = None


def _lock_clause(lock: Lock) -> str:
    return {"update": " FOR UPDATE", "share": " FOR SHARE", None: ""}[lock]


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _station(r: Mapping[str, Any]) -> Station:
    geo = GeoPoint(r["geo_lat"], r["geo_lon"]) if r["geo_lat"] is not None else None
    return Station(
        id=str(r["id"]),
        county_code=r["county_code"],
        tier=Tier(r["tier"]),
        name=r["name"],
        address=r["address"],
        opened_on=r["opened_on"],
        parent_id=str(r["parent_id"]) if r["parent_id"] else None,
        geo=geo,
        operator_credit_code=r["operator_credit_code"],
        contact_name=r["contact_name"],
        contact_phone=r["contact_phone"],
        status=StationStatus(r["status"]),
        closed_on=r["closed_on"],
        close_reason=r["close_reason"],
    )


def _report(r: Mapping[str, Any]) -> VolumeReport:
    return VolumeReport(
        id=str(r["id"]),
        station_id=str(r["station_id"]),
        period=ReportMonth(r["year"], r["month"]),
        revision=r["revision"],
        volume_fen=r["volume_fen"],
        parcels=r["parcels"],
        correction_reason=r["correction_reason"],
        reported_by=r["reported_by"],
        reported_at=r["reported_at"],
    )


def _carrier(r: Mapping[str, Any]) -> CenterCarrier:
    return CenterCarrier(
        id=str(r["id"]),
        center_id=str(r["center_id"]),
        kind=CarrierKind(r["kind"]),
        name=r["name"],
        credit_code=r["credit_code"],
        settled_on=r["settled_on"],
        left_on=r["left_on"],
    )


def _partnership(r: Mapping[str, Any]) -> RetailPartnership:
    return RetailPartnership(
        id=str(r["id"]),
        center_id=str(r["center_id"]),
        partner_name=r["partner_name"],
        partner_credit_code=r["partner_credit_code"],
        started_on=r["started_on"],
        ended_on=r["ended_on"],
    )


async def execute_refusing_duplicates(
    conn: asyncpg.Connection, refusals: Mapping[str, tuple[str, ...]], sql: str, *args: Any
) -> None:
    """Run ``sql``; a unique violation of a constraint named in ``refusals`` becomes a 409 with
    its (code, message[, field]); any other violation is a bug and propagates."""
    try:
        await conn.execute(sql, *args)
    except asyncpg.UniqueViolationError as exc:
        refusal = refusals.get(exc.constraint_name or "")
        if refusal is None:
            raise
        code, message, *field = refusal
        raise Conflict(code, message, field=field[0] if field else None,
            title_zh=TITLES_ZH.get(code), detail_zh=DUPLICATE_ZH.get(code, "与已有数据重复（可能有人同时提交），未作任何更改。")) from exc


class Repository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def _insert(self, sql: str, *args: Any) -> None:
        await execute_refusing_duplicates(self.conn, _UNIQUE_REFUSALS, sql, *args)

    # -- stations --------------------------------------------------------------------------
    async def station(self, station_id: str, *, lock: Lock = None) -> Station | None:
        row = await self.conn.fetchrow(
            f"SELECT * FROM stations WHERE id = $1{_lock_clause(lock)}", _uuid(station_id)
        )
        return _station(row) if row else None

    async def stations_by_id(self, station_ids: set[str]) -> dict[str, Station]:
        """The stations among ``station_ids`` that exist (one query for a whole batch)."""
        if not station_ids:
            return {}
        rows = await self.conn.fetch(
            "SELECT * FROM stations WHERE id = ANY($1::uuid[])", [_uuid(i) for i in station_ids]
        )
        return {str(r["id"]): _station(r) for r in rows}

    async def active_center(self, county_code: str) -> Station | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM stations WHERE county_code = $1 AND tier = 'county_center' AND status = 'active'",
            county_code,
        )
        return _station(row) if row else None

    async def active_child_names(self, parent_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT name FROM stations WHERE parent_id = $1 AND status = 'active'", _uuid(parent_id)
        )
        return [r["name"] for r in rows]

    async def add_station(self, s: Station, *, created_at: datetime, created_by: str) -> None:
        await self._insert(
            "INSERT INTO stations (id, county_code, tier, parent_id, name, address, geo_lat, geo_lon, "
            "operator_credit_code, contact_name, contact_phone, opened_on, status, created_at, created_by) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
            _uuid(s.id),
            s.county_code,
            str(s.tier),
            _uuid(s.parent_id) if s.parent_id else None,
            s.name,
            s.address,
            s.geo.lat if s.geo else None,
            s.geo.lon if s.geo else None,
            s.operator_credit_code,
            s.contact_name,
            s.contact_phone,
            s.opened_on,
            str(s.status),
            created_at,
            created_by,
        )

    async def save_closure(self, s: Station) -> None:
        await self.conn.execute(
            "UPDATE stations SET status = $2, closed_on = $3, close_reason = $4 WHERE id = $1",
            _uuid(s.id),
            str(s.status),
            s.closed_on,
            s.close_reason,
        )

    async def stations(
        self, f: StationFilter, *, after_id: str | None, limit: int
    ) -> list[Station]:
        rows = await self.conn.fetch(
            "SELECT * FROM stations WHERE ($1::text IS NULL OR county_code = $1) AND ($2::text IS NULL OR tier = $2) "
            "AND ($3::uuid IS NULL OR parent_id = $3) AND ($4::text IS NULL OR status = $4) "
            "AND ($5::uuid IS NULL OR id > $5) ORDER BY id LIMIT $6",
            f.county_code,
            str(f.tier) if f.tier else None,
            _uuid(f.parent_id) if f.parent_id else None,
            str(f.status) if f.status else None,
            _uuid(after_id) if after_id else None,
            limit,
        )
        return [_station(r) for r in rows]

    # -- volumes ---------------------------------------------------------------------------
    async def latest_report(self, station_id: str, period: ReportMonth) -> VolumeReport | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM station_volume_reports WHERE station_id = $1 AND year = $2 AND month = $3 "
            "ORDER BY revision DESC LIMIT 1",
            _uuid(station_id),
            period.year,
            period.month,
        )
        return _report(row) if row else None

    async def reports_of_year(self, station_id: str, year: int) -> list[VolumeReport]:
        rows = await self.conn.fetch(
            "SELECT * FROM station_volume_reports WHERE station_id = $1 AND year = $2 ORDER BY month, revision",
            _uuid(station_id),
            year,
        )
        return [_report(r) for r in rows]

    async def add_report(self, r: VolumeReport) -> None:
        await self._insert(
            "INSERT INTO station_volume_reports (id, station_id, year, month, revision, volume_fen, parcels, "
            "correction_reason, reported_by, reported_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            _uuid(r.id),
            _uuid(r.station_id),
            r.period.year,
            r.period.month,
            r.revision,
            r.volume_fen,
            r.parcels,
            r.correction_reason,
            r.reported_by,
            r.reported_at,
        )

    # -- center carriers and partnerships ----------------------------------------------------
    async def carriers(self, center_id: str) -> list[CenterCarrier]:
        rows = await self.conn.fetch(
            "SELECT * FROM center_carriers WHERE center_id = $1 ORDER BY kind, settled_on, id",
            _uuid(center_id),
        )
        return [_carrier(r) for r in rows]

    async def carrier(self, carrier_id: str, *, lock: Lock = None) -> CenterCarrier | None:
        row = await self.conn.fetchrow(
            f"SELECT * FROM center_carriers WHERE id = $1{_lock_clause(lock)}", _uuid(carrier_id)
        )
        return _carrier(row) if row else None

    async def add_carrier(self, c: CenterCarrier, *, created_at: datetime, created_by: str) -> None:
        await self._insert(
            "INSERT INTO center_carriers (id, center_id, kind, name, credit_code, settled_on, left_on, created_at, "
            "created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            _uuid(c.id),
            _uuid(c.center_id),
            str(c.kind),
            c.name,
            c.credit_code,
            c.settled_on,
            c.left_on,
            created_at,
            created_by,
        )

    async def save_carrier_departure(self, c: CenterCarrier) -> None:
        await self.conn.execute(
            "UPDATE center_carriers SET left_on = $2 WHERE id = $1", _uuid(c.id), c.left_on
        )

    async def partnerships(self, center_id: str) -> list[RetailPartnership]:
        rows = await self.conn.fetch(
            "SELECT * FROM retail_partnerships WHERE center_id = $1 ORDER BY started_on, id",
            _uuid(center_id),
        )
        return [_partnership(r) for r in rows]

    async def partnership(
        self, partnership_id: str, *, lock: Lock = None
    ) -> RetailPartnership | None:
        row = await self.conn.fetchrow(
            f"SELECT * FROM retail_partnerships WHERE id = $1{_lock_clause(lock)}",
            _uuid(partnership_id),
        )
        return _partnership(row) if row else None

    async def add_partnership(
        self, p: RetailPartnership, *, created_at: datetime, created_by: str
    ) -> None:
        await self._insert(
            "INSERT INTO retail_partnerships (id, center_id, partner_name, partner_credit_code, started_on, ended_on, "
            "created_at, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            _uuid(p.id),
            _uuid(p.center_id),
            p.partner_name,
            p.partner_credit_code,
            p.started_on,
            p.ended_on,
            created_at,
            created_by,
        )

    async def save_partnership_end(self, p: RetailPartnership) -> None:
        await self.conn.execute(
            "UPDATE retail_partnerships SET ended_on = $2 WHERE id = $1", _uuid(p.id), p.ended_on
        )

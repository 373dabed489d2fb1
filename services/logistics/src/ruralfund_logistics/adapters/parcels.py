"""asyncpg SQL for scans, parcel tracks, refused scans and the breach sweep.

Batches go in with one statement per table (``unnest`` of column arrays), so a command of a
thousand scans costs a handful of round trips, not a thousand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import asyncpg
from ruralfund_common.calendar import COUNTY_TZ

from ..domain import (
    Declared,
    LastScan,
    Mark,
    ParcelTrack,
    Scan,
    ScanKind,
    ScanRejection,
    SlaOutcome,
    sla_view,
)

__all__ = [
    "DueBreach",
    "OnTimeGroupCount",
    "ParcelStore",
    "RejectedScanRow",
    "StoredParcel",
]

# kind -> (time column, station column) of the first scan of that kind
_MARK_COLUMNS: Final[dict[ScanKind, tuple[str, str]]] = {
    ScanKind.RECEIVED_AT_CENTER: ("received_at", "received_station_id"),
    ScanKind.LEFT_CENTER: ("left_center_at", "center_station_id"),
    ScanKind.ARRIVED_AT_TOWN: ("town_arrived_at", "town_station_id"),
    ScanKind.ARRIVED_AT_VILLAGE: ("village_arrived_at", "village_station_id"),
    ScanKind.DELIVERED: ("delivered_at", "delivered_station_id"),
    ScanKind.RETURNED: ("returned_at", "returned_station_id"),
}
# (column, SQL type) of a parcel row, in the order the values are built
_TRACK_COLUMNS: Final[list[tuple[str, str]]] = [
    ("parcel_id", "text"),
    ("county_code", "text"),
    *[(c, t) for at, st in _MARK_COLUMNS.values() for c, t in ((at, "timestamptz"), (st, "uuid"))],
    ("declared_destination_id", "uuid"),
    ("declared_at", "timestamptz"),
    ("declared_scan_id", "text"),
    ("last_scan_at", "timestamptz"),
    ("last_scan_kind", "text"),
    ("last_scan_id", "text"),
    ("last_station_id", "uuid"),
    ("destination_station_id", "uuid"),
    ("scan_count", "int"),
    ("deadline_at", "timestamptz"),
    ("sla_outcome", "text"),
    ("updated_at", "timestamptz"),
]
_NAMES: Final = ", ".join(c for c, _ in _TRACK_COLUMNS)
_UNNEST: Final = ", ".join(f"${n}::{t}[]" for n, (_, t) in enumerate(_TRACK_COLUMNS, start=1))
# One statement for new and stored parcels, so every writer locks rows in parcel order (no
# deadlock between two batches). Optimistic: a stored row is overwritten only if its scan
# count is still the one the merge started from (carried in merged_from_count); every merge
# adds scans, so an unchanged count means nobody merged in between. New parcels start at 0.
_UPSERT_TRACKS: Final = (
    f"INSERT INTO parcels AS p ({_NAMES}, merged_from_count) "
    f"SELECT * FROM unnest({_UNNEST}, ${len(_TRACK_COLUMNS) + 1}::int[]) "
    "ON CONFLICT (parcel_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c, _ in _TRACK_COLUMNS[1:])
    + ", merged_from_count = excluded.merged_from_count"
    " WHERE p.scan_count = excluded.merged_from_count RETURNING p.parcel_id"
)
_INSERT_SCANS: Final = (
    "INSERT INTO scans (scan_id, parcel_id, station_id, kind, scanned_at, destination_station_id, "
    "batch_id, recorded_at) SELECT u.*, $7, $8 FROM unnest($1::text[], $2::text[], $3::uuid[], "
    "$4::text[], $5::timestamptz[], $6::uuid[]) AS u ON CONFLICT (scan_id) DO NOTHING RETURNING scan_id"
)
# The town a parcel counts in: its destination's parent when that is a village, the
# destination itself when it is a town, else the town station it was scanned at.
_TOWN_OF: Final = (
    "COALESCE(CASE d.tier WHEN 'village' THEN d.parent_id WHEN 'town' THEN d.id END, "
    "p.town_station_id)"
)


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _row_values(t: ParcelTrack, now: datetime) -> list[Any]:
    deadline, outcome = sla_view(t)
    values: list[Any] = [t.parcel_id, t.county_code]
    for kind in _MARK_COLUMNS:
        mark = t.first.get(kind)
        values += [mark.at, mark.station_id] if mark else [None, None]
    d = t.declared
    values += [d.station_id, d.at, d.scan_id] if d else [None, None, None]
    values += [t.last.at, t.last.kind.value, t.last.scan_id, t.last.station_id]
    values += [t.destination_station_id, t.scan_count, deadline]
    values += [outcome.value if outcome else None, now]
    return values


def _columns(tracks: Sequence[ParcelTrack], now: datetime) -> list[list[Any]]:
    rows = [_row_values(t, now) for t in tracks]
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in _TRACK_COLUMNS]


# The columns a track is built from, uuids as text: reading a thousand tracks back for a
# batch is hot, and text needs no conversion on either side.
_TRACK_SELECT: Final = ", ".join(
    f"p.{c}::text AS {c}" if t == "uuid" else f"p.{c}"
    for c, t in _TRACK_COLUMNS
    if c not in ("destination_station_id", "deadline_at", "sla_outcome", "updated_at")
)
_KINDS: Final = {k.value: k for k in ScanKind}


def _track(r: Mapping[str, Any]) -> ParcelTrack:
    """A track from a row whose uuid columns are text (see _TRACK_SELECT)."""
    first = {
        kind: Mark(r[at], r[st]) for kind, (at, st) in _MARK_COLUMNS.items() if r[at] is not None
    }
    dest = r["declared_destination_id"]
    last = LastScan(
        r["last_scan_at"], _KINDS[r["last_scan_kind"]], r["last_scan_id"], r["last_station_id"]
    )
    return ParcelTrack(
        parcel_id=r["parcel_id"],
        county_code=r["county_code"],
        last=last,
        first=first,
        declared=Declared(r["declared_at"], r["declared_scan_id"], dest) if dest else None,
        scan_count=r["scan_count"],
    )


def _scan(r: Mapping[str, Any]) -> Scan:
    return Scan(
        scan_id=r["scan_id"],
        parcel_id=r["parcel_id"],
        station_id=str(r["station_id"]),
        kind=ScanKind(r["kind"]),
        scanned_at=r["scanned_at"],
        destination_station_id=_text(r["destination_station_id"]),
    )


@dataclass(frozen=True)
class StoredParcel:
    track: ParcelTrack
    town_station_id: str | None
    breach_emitted_at: datetime | None


@dataclass(frozen=True)
class DueBreach:
    parcel_id: str
    county_code: str
    left_center_at: datetime
    deadline_at: datetime
    outcome: SlaOutcome
    destination_station_id: str | None
    town_station_id: str | None
    last_scan_kind: str


@dataclass(frozen=True)
class OnTimeGroupCount:
    period_start: date
    group_id: str | None  # a station or town id; None when the destination is unknown
    outcome: SlaOutcome
    overdue: bool
    count: int


@dataclass(frozen=True)
class RejectedScanRow:
    batch_id: str
    position: int
    source: str
    rejection: ScanRejection
    scan: dict[str, Any]
    rejected_at: datetime


class ParcelStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # -- scans -----------------------------------------------------------------------------
    async def insert_scans(
        self, scans: Sequence[Scan], *, batch_id: str, recorded_at: datetime
    ) -> set[str]:
        """Store the scans not stored yet; returns the ids this call inserted."""
        if not scans:
            return set()
        scans = sorted(scans, key=lambda s: s.scan_id)  # one lock order for all writers
        rows = await self.conn.fetch(
            _INSERT_SCANS,
            [s.scan_id for s in scans],
            [s.parcel_id for s in scans],
            [s.station_id for s in scans],
            [s.kind.value for s in scans],
            [s.scanned_at for s in scans],
            [s.destination_station_id for s in scans],
            batch_id,
            recorded_at,
        )
        return {r["scan_id"] for r in rows}

    async def scans_by_id(self, scan_ids: Iterable[str]) -> dict[str, Scan]:
        rows = await self.conn.fetch(
            "SELECT * FROM scans WHERE scan_id = ANY($1::text[])", list(scan_ids)
        )
        return {r["scan_id"]: _scan(r) for r in rows}

    async def scans_of_parcel(self, parcel_id: str) -> list[Scan]:
        rows = await self.conn.fetch(
            "SELECT * FROM scans WHERE parcel_id = $1 ORDER BY scanned_at, scan_id", parcel_id
        )
        return sorted((_scan(r) for r in rows), key=lambda s: s.order_key)

    # -- tracks ----------------------------------------------------------------------------
    async def tracks(self, parcel_ids: Iterable[str]) -> dict[str, ParcelTrack]:
        """The stored tracks among ``parcel_ids``, read without locks (see upsert_tracks)."""
        rows = await self.conn.fetch(
            f"SELECT {_TRACK_SELECT} FROM parcels p WHERE p.parcel_id = ANY($1::text[])",
            list(parcel_ids),
        )
        return {r["parcel_id"]: _track(r) for r in rows}

    async def upsert_tracks(
        self, tracks: Sequence[ParcelTrack], read_counts: Mapping[str, int], now: datetime
    ) -> set[str]:
        """Write tracks merged from stored ones whose scan count was ``read_counts`` (0: not
        stored); returns the ids written. The others changed meanwhile: re-read and merge
        again. Sets only what the scans decide: breach_emitted_at belongs to the sweep."""
        if not tracks:
            return set()
        ordered = sorted(tracks, key=lambda t: t.parcel_id)
        counts = [read_counts.get(t.parcel_id, 0) for t in ordered]
        rows = await self.conn.fetch(_UPSERT_TRACKS, *_columns(ordered, now), counts)
        return {r["parcel_id"] for r in rows}

    async def parcel(self, parcel_id: str) -> StoredParcel | None:
        row = await self.conn.fetchrow(
            f"SELECT {_TRACK_SELECT}, p.breach_emitted_at, {_TOWN_OF}::text AS town_id "
            "FROM parcels p LEFT JOIN stations d ON d.id = p.destination_station_id "
            "WHERE p.parcel_id = $1",
            parcel_id,
        )
        if row is None:
            return None
        return StoredParcel(_track(row), _text(row["town_id"]), row["breach_emitted_at"])

    # -- refused scans ---------------------------------------------------------------------
    async def add_rejections(self, rows: Sequence[RejectedScanRow]) -> None:
        if not rows:
            return
        await self.conn.executemany(
            "INSERT INTO rejected_scans (batch_id, position, source, scan_id, code, field, reason, scan, "
            "rejected_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
            [
                (
                    r.batch_id,
                    r.position,
                    r.source,
                    r.rejection.scan_id,
                    r.rejection.code,
                    r.rejection.field,
                    r.rejection.message,
                    r.scan,
                    r.rejected_at,
                )
                for r in rows
            ],
        )

    async def rejections(
        self, *, after: tuple[datetime, str, int] | None, limit: int
    ) -> list[RejectedScanRow]:
        rows = await self.conn.fetch(
            "SELECT * FROM rejected_scans WHERE $1::timestamptz IS NULL "
            "OR (rejected_at, batch_id, position) > ($1, $2, $3) "
            "ORDER BY rejected_at, batch_id, position LIMIT $4",
            after[0] if after else None,
            after[1] if after else None,
            after[2] if after else None,
            limit,
        )
        return [
            RejectedScanRow(
                r["batch_id"],
                r["position"],
                r["source"],
                ScanRejection(r["position"], r["scan_id"], r["code"], r["field"], r["reason"]),
                r["scan"],
                r["rejected_at"],
            )
            for r in rows
        ]

    # -- the breach sweep ------------------------------------------------------------------
    async def lock_due_breaches(self, now: datetime, limit: int) -> list[DueBreach]:
        """Parcels past their deadline whose breach was not reported, oldest first. SKIP
        LOCKED lets several sweepers (replicas) share the work without reporting one twice."""
        rows = await self.conn.fetch(
            f"SELECT p.*, {_TOWN_OF} AS town_id FROM parcels p "
            "LEFT JOIN stations d ON d.id = p.destination_station_id "
            "WHERE p.sla_outcome IN ('open', 'late') AND p.breach_emitted_at IS NULL "
            "AND p.deadline_at < $1 ORDER BY p.deadline_at, p.parcel_id LIMIT $2 "
            "FOR UPDATE OF p SKIP LOCKED",
            now,
            limit,
        )
        return [
            DueBreach(
                parcel_id=r["parcel_id"],
                county_code=r["county_code"],
                left_center_at=r["left_center_at"],
                deadline_at=r["deadline_at"],
                outcome=SlaOutcome(r["sla_outcome"]),
                destination_station_id=_text(r["destination_station_id"]),
                town_station_id=_text(r["town_id"]),
                last_scan_kind=r["last_scan_kind"],
            )
            for r in rows
        ]

    async def mark_breached(self, parcel_ids: Sequence[str], at: datetime) -> None:
        status = await self.conn.execute(
            "UPDATE parcels SET breach_emitted_at = $2 WHERE parcel_id = ANY($1::text[]) "
            "AND breach_emitted_at IS NULL",
            list(parcel_ids),
            at,
        )
        assert int(status.split()[-1]) == len(parcel_ids), "a locked due breach changed under us"

    # -- on-time rates ---------------------------------------------------------------------
    async def on_time_counts(
        self,
        county_code: str,
        *,
        start: datetime,
        end: datetime,
        by_town: bool,
        monthly: bool,
        now: datetime,
    ) -> list[OnTimeGroupCount]:
        """Parcels that left the county's center in [start, end), counted per local day (or
        month) of departure, destination station (or town), outcome and whether overdue."""
        group = _TOWN_OF if by_town else "p.destination_station_id"
        unit = "month" if monthly else "day"
        rows = await self.conn.fetch(
            f"SELECT date_trunc('{unit}', p.left_center_at AT TIME ZONE $4)::date AS period_start, "
            f"{group} AS group_id, p.sla_outcome, p.deadline_at < $5 AS overdue, count(*) AS n "
            "FROM parcels p LEFT JOIN stations d ON d.id = p.destination_station_id "
            "WHERE p.county_code = $1 AND p.left_center_at >= $2 AND p.left_center_at < $3 "
            "GROUP BY 1, 2, 3, 4",
            county_code,
            start,
            end,
            COUNTY_TZ.key,
            now,
        )
        return [
            OnTimeGroupCount(
                r["period_start"],
                _text(r["group_id"]),
                SlaOutcome(r["sla_outcome"]),
                r["overdue"],
                r["n"],
            )
            for r in rows
        ]

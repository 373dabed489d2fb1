"""asyncpg SQL for scans, parcel tracks, refused scans and the breach sweep.

A batch of scans goes in with ONE statement (:data:`_RECORD_BATCH`): the scans are inserted
(``unnest`` of column arrays, duplicates skipped), the new ones folded per parcel and joined
into the stored tracks by ``INSERT .. ON CONFLICT DO UPDATE``, all inside PostgreSQL. The fold
and the join are the domain's (domain/parcels.py: first time and station per kind, the latest
scan, the latest declared destination, scan count; domain/sla.py: deadline and outcome)
written as SQL, because reading a thousand tracks back, merging them in Python and sending them
again cost most of a batch (benchmarks/README.md). The domain functions stay the reference:
tests/integration/test_scans.py checks every stored track against ``track_of`` of its scans.
Being a join (commutative, idempotent), the upsert needs no read and no optimistic retry: a
concurrent batch on the same parcel waits for the row lock, then joins into the newer row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import asyncpg
from ruralfund_common.calendar import COUNTY_TZ

from ..domain import (
    DELIVERY_PROMISE,
    Declared,
    LastScan,
    Mark,
    ParcelTrack,
    Scan,
    ScanKind,
    ScanRejection,
    SlaOutcome,
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
_KIND_ORDER: Final = "ARRAY[" + ", ".join(f"'{k.value}'" for k in ScanKind) + "]::text[]"


def _rank(kind_sql: str) -> str:
    """ScanKind.rank in SQL: the position of the kind in the enum's order."""
    return f"array_position({_KIND_ORDER}, {kind_sql})"


# The fold of a batch's new scans per parcel (domain.track_of), with one sort per part rather
# than an ordered aggregate per column and parcel: the first scan of each kind (smallest time,
# then station, as Mark orders), the latest scan (time, rank, scan id, as LastScan.key), the
# latest declaration (time, scan id, station, as Declared); DISTINCT ON keeps one row each.
_FIRSTS: Final = (
    "SELECT DISTINCT ON (parcel_id, kind) parcel_id, kind, scanned_at, station_id FROM batch "
    "ORDER BY parcel_id, kind, scanned_at, station_id"
)
_MARKS: Final = (
    "SELECT parcel_id, "
    + ", ".join(
        f"max(scanned_at) FILTER (WHERE kind = '{kind.value}') AS {at}, "
        f"(array_agg(station_id) FILTER (WHERE kind = '{kind.value}'))[1] AS {st}"
        for kind, (at, st) in _MARK_COLUMNS.items()
    )
    + " FROM firsts GROUP BY parcel_id"
)
_LASTS: Final = (
    "SELECT DISTINCT ON (parcel_id) parcel_id, scanned_at, kind, scan_id, station_id FROM batch "
    'ORDER BY parcel_id, scanned_at DESC, rank DESC, scan_id COLLATE "C" DESC'
)
_DECLARED: Final = (
    "SELECT DISTINCT ON (parcel_id) parcel_id, scanned_at, scan_id, destination_station_id "
    "FROM batch WHERE destination_station_id IS NOT NULL "
    'ORDER BY parcel_id, scanned_at DESC, scan_id COLLATE "C" DESC, destination_station_id DESC'
)
_COUNTS: Final = (
    'SELECT parcel_id, min(county_code COLLATE "C") AS county_code, count(*)::int AS scan_count '
    "FROM batch GROUP BY parcel_id"
)
# one row per parcel, columns in _FOLDED_COLUMNS order
_FOLD: Final = (
    "SELECT c.parcel_id, c.county_code, "
    + ", ".join(f"m.{at}, m.{st}" for at, st in _MARK_COLUMNS.values())
    + ", d.destination_station_id AS declared_destination_id, d.scanned_at AS declared_at, "
    "d.scan_id AS declared_scan_id, l.scanned_at AS last_scan_at, l.kind AS last_scan_kind, "
    "l.scan_id AS last_scan_id, l.station_id AS last_station_id, c.scan_count "
    "FROM counts c JOIN marks m USING (parcel_id) JOIN lasts l USING (parcel_id) "
    "LEFT JOIN declared d USING (parcel_id)"
)


def _joined(col: str) -> str:
    """The stored row ``p`` joined with the batch's fold ``excluded`` (domain.merge)."""
    e, p = f"excluded.{col}", f"p.{col}"
    for at, st in _MARK_COLUMNS.values():
        if col in (at, st):  # the smaller (time, station) pair wins, both columns from it
            return (
                f"CASE WHEN p.{at} IS NULL OR (excluded.{at}, excluded.{st}) < (p.{at}, p.{st}) "
                f"THEN {e} ELSE {p} END"
            )
    if col.startswith("declared_"):
        newer = (
            "excluded.declared_at IS NOT NULL AND (p.declared_at IS NULL OR "
            '(excluded.declared_at, excluded.declared_scan_id COLLATE "C", '
            "excluded.declared_destination_id) > "
            "(p.declared_at, p.declared_scan_id, p.declared_destination_id))"
        )
        return f"CASE WHEN {newer} THEN {e} ELSE {p} END"
    if col.startswith("last_"):
        later = (
            f"(excluded.last_scan_at, {_rank('excluded.last_scan_kind')}, "
            'excluded.last_scan_id COLLATE "C") > '
            f"(p.last_scan_at, {_rank('p.last_scan_kind')}, p.last_scan_id)"
        )
        return f"CASE WHEN {later} THEN {e} ELSE {p} END"
    if col == "county_code":
        return f'LEAST({p} COLLATE "C", {e})'
    assert col == "scan_count", col
    return f"{p} + {e}"


def _derived(v: Callable[[str], str]) -> dict[str, str]:
    """Columns computed from the track (``v(column)`` is its SQL): ParcelTrack's destination
    and domain.sla_view's deadline and outcome."""
    left, delivered, returned = v("left_center_at"), v("delivered_at"), v("returned_at")
    deadline = f"({left} + interval '{int(DELIVERY_PROMISE.total_seconds())} seconds')"
    outcome = (
        f"CASE WHEN {left} IS NULL THEN NULL "
        f"WHEN {delivered} IS NOT NULL THEN CASE WHEN {delivered} <= {deadline} "
        f"THEN '{SlaOutcome.ON_TIME.value}' ELSE '{SlaOutcome.LATE.value}' END "
        f"WHEN {returned} IS NOT NULL AND {returned} <= {deadline} "
        f"THEN '{SlaOutcome.RETURNED.value}' ELSE '{SlaOutcome.OPEN.value}' END"
    )
    destination = (
        f"COALESCE({v('delivered_station_id')}, {v('village_station_id')}, "
        f"{v('declared_destination_id')})"
    )
    return {
        "destination_station_id": destination,
        "deadline_at": f"CASE WHEN {left} IS NULL THEN NULL ELSE {deadline} END",
        "sla_outcome": outcome,
    }


_DERIVED_COLUMNS: Final = ("destination_station_id", "deadline_at", "sla_outcome", "updated_at")
# what the fold computes, in _FOLD's order
_FOLDED_COLUMNS: Final = [c for c, _ in _TRACK_COLUMNS if c not in _DERIVED_COLUMNS]
_INSERTED: Final = _derived(lambda c: f"f.{c}")
_JOINED: Final = {c: _joined(c) for c in _FOLDED_COLUMNS[1:]}
_JOINED_DERIVED: Final = _derived(lambda c: f"({_JOINED[c]})" if c in _JOINED else f"p.{c}")
# One statement per batch: store the new scans, fold them per parcel, join into the tracks.
# Parcels are written in parcel order, so two batches lock rows in the same order (no deadlock).
# Returns the ids of the scans stored now (a duplicate id is skipped and not folded).
_RECORD_BATCH: Final = f"""
WITH ins AS (
  INSERT INTO scans (scan_id, parcel_id, station_id, kind, scanned_at, destination_station_id,
                     batch_id, recorded_at)
  SELECT u.*, $7, $8 FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[],
                                 $5::timestamptz[], $6::uuid[]) AS u
  ON CONFLICT (scan_id) DO NOTHING
  RETURNING scan_id, parcel_id, station_id, kind, scanned_at, destination_station_id
), batch AS (
  SELECT ins.*, s.county_code, {_rank("ins.kind")} AS rank
  FROM ins LEFT JOIN stations s ON s.id = ins.station_id
), firsts AS ({_FIRSTS}
), marks AS ({_MARKS}
), lasts AS ({_LASTS}
), declared AS ({_DECLARED}
), counts AS ({_COUNTS}
), folded AS ({_FOLD}
), written AS (
  INSERT INTO parcels AS p ({", ".join(_FOLDED_COLUMNS)}, {", ".join(_INSERTED)}, updated_at)
  SELECT f.*, {", ".join(_INSERTED.values())}, $8 FROM folded f ORDER BY f.parcel_id
  ON CONFLICT (parcel_id) DO UPDATE SET
    {", ".join(f"{c} = {x}" for c, x in _JOINED.items())},
    {", ".join(f"{c} = {x}" for c, x in _JOINED_DERIVED.items())},
    updated_at = excluded.updated_at
)
SELECT scan_id FROM ins
"""
# The town a parcel counts in: its destination's parent when that is a village, the
# destination itself when it is a town, else the town station it was scanned at.
_TOWN_OF: Final = (
    "COALESCE(CASE d.tier WHEN 'village' THEN d.parent_id WHEN 'town' THEN d.id END, "
    "p.town_station_id)"
)


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


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
    async def record_batch(
        self, scans: Sequence[Scan], *, batch_id: str, recorded_at: datetime
    ) -> set[str]:
        """Store the scans not stored yet and join them into their parcels' tracks, in one
        statement (see _RECORD_BATCH); returns the ids this call stored."""
        if not scans:
            return set()
        scans = sorted(scans, key=lambda s: s.scan_id)  # one lock order for all writers
        rows = await self.conn.fetch(
            _RECORD_BATCH,
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

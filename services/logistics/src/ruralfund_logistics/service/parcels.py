"""Parcel use cases: record a batch of scans, report due breaches of the 24-hour promise,
show a parcel's track, and the on-time rates per station or town by day or month.

A batch is one transaction: the scans, the merged tracks, the refused scans (NATS) and the
inbox row of the command commit together, so a redelivered command changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Final, Literal

import asyncpg
from ruralfund_common.calendar import date_zh
from ruralfund_common.contracts.logistics.delivery_sla_breached import DeliverySlaBreached
from ruralfund_common.errors import InvalidInput, NotFound
from ruralfund_common.messaging import Tx

from .. import domain
from ..adapters.parcels import DueBreach, ParcelStore, RejectedScanRow, StoredParcel
from ..adapters.repository import Repository
from ..domain import (
    OnTimeTally,
    ParcelStatus,
    ParcelTrack,
    RateClass,
    RawScan,
    Scan,
    ScanRejection,
    SlaOutcome,
)
from .network import NETWORK_ADMIN_ROLES, NETWORK_READER_ROLES

__all__ = [
    "MAX_RATE_DAYS",
    "MAX_RATE_MONTHS",
    "SCAN_READER_ROLES",
    "SCAN_WRITER_ROLES",
    "OnTimeReport",
    "OnTimeRow",
    "ParcelView",
    "ScanBatchResult",
    "emit_due_breaches",
    "on_time_rates",
    "parcel_view",
    "record_scans",
    "rejected_scans",
]

# Sorting lines and carriers' systems post scans as automation; the bureau may replay a file.
SCAN_WRITER_ROLES: Final = NETWORK_ADMIN_ROLES
SCAN_READER_ROLES: Final = NETWORK_READER_ROLES
MAX_RATE_DAYS: Final = 366
MAX_RATE_MONTHS: Final = 120


@dataclass(frozen=True)
class ScanBatchResult:
    batch_id: str
    received: int
    recorded: int  # new scans stored now
    duplicates: int  # already stored (or repeated in the batch): nothing changed
    rejected: list[ScanRejection]
    parcels: int  # parcels whose track changed


async def record_scans(
    tx: Tx, raws: Sequence[RawScan], *, batch_id: str, source: str, keep_rejections: bool
) -> ScanBatchResult:
    """Apply a batch: every acceptable scan once, each parcel's track merged with it.

    ``keep_rejections``: store the refused scans with their reasons (for a NATS command, whose
    sender gets no answer); an HTTP caller reads them in its response instead.
    """
    now = tx.clock.now()
    stations = await Repository(tx.conn).stations_by_id(domain.station_ids_of(raws))
    check = domain.check_batch(raws, stations=stations, now=now)
    store = ParcelStore(tx.conn)
    inserted = await store.record_batch(check.accepted, batch_id=batch_id, recorded_at=now)
    new = [s for s in check.accepted if s.scan_id in inserted]
    reused = await _reused_ids(store, [s for s in check.accepted if s.scan_id not in inserted])
    rejected = sorted(
        [*check.rejected, *(domain.reused_rejection(check.positions[i], i) for i in reused)],
        key=lambda r: r.index,
    )
    if keep_rejections:
        await store.add_rejections(
            [
                RejectedScanRow(batch_id, r.index, source, r, asdict(raws[r.index]), now)
                for r in rejected
            ]
        )
    duplicates = len(check.accepted) - len(new) - len(reused) + check.repeats
    parcels = len({s.parcel_id for s in new})
    return ScanBatchResult(batch_id, len(raws), len(new), duplicates, rejected, parcels)


async def _reused_ids(store: ParcelStore, not_inserted: list[Scan]) -> list[str]:
    """Of the scans already stored, those whose id was stored with other content: the first
    one stored stays (scan ids are the sender's promise of uniqueness)."""
    if not not_inserted:
        return []
    stored = await store.scans_by_id(s.scan_id for s in not_inserted)
    return [s.scan_id for s in not_inserted if stored[s.scan_id] != s]


# -- the 24-hour promise -------------------------------------------------------------------


async def emit_due_breaches(tx: Tx, *, limit: int) -> int:
    """Report up to ``limit`` parcels whose deadline passed without a delivery, each once:
    the parcel is marked in the same transaction as the outbox row of its event."""
    now = tx.clock.now()
    store = ParcelStore(tx.conn)
    locked = await store.lock_due_breaches(now, limit)
    due = [
        b
        for b in locked
        if domain.breach_due(b.outcome, b.deadline_at, already_emitted=False, now=now)
    ]
    assert len(due) == len(locked), "the SQL and the domain disagree on a due breach"
    if not due:
        return 0
    await store.mark_breached([b.parcel_id for b in due], now)
    for b in due:
        await tx.emit(_breach_event(b, now), aggregate_id=b.parcel_id)
    return len(due)


def _breach_event(b: DueBreach, detected_at: datetime) -> DeliverySlaBreached:
    return DeliverySlaBreached(
        parcel_id=b.parcel_id,
        county_code=b.county_code,
        destination_station_id=b.destination_station_id,
        town_station_id=b.town_station_id,
        left_center_at=b.left_center_at,
        deadline_at=b.deadline_at,
        detected_at=detected_at,
        last_scan_kind=b.last_scan_kind,
    )


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelView:
    track: ParcelTrack
    status: ParcelStatus
    deadline_at: datetime | None
    outcome: SlaOutcome | None
    rate_class: RateClass | None
    town_station_id: str | None
    breach_emitted_at: datetime | None
    scans: list[Scan]


async def parcel_view(conn: asyncpg.Connection, parcel_id: str, *, now: datetime) -> ParcelView:
    store = ParcelStore(conn)
    found: StoredParcel | None = await store.parcel(parcel_id)
    if found is None:
        raise NotFound("PARCEL_NOT_FOUND", f"no scans of parcel {parcel_id}",
            detail_zh=f"没有包裹 {parcel_id} 的扫描记录。")
    deadline, outcome = domain.sla_view(found.track)
    overdue = deadline is not None and now > deadline
    return ParcelView(
        track=found.track,
        status=domain.status_of(found.track),
        deadline_at=deadline,
        outcome=outcome,
        rate_class=domain.rate_class(outcome, overdue=overdue) if outcome else None,
        town_station_id=found.town_station_id,
        breach_emitted_at=found.breach_emitted_at,
        scans=await store.scans_of_parcel(parcel_id),
    )


async def rejected_scans(
    conn: asyncpg.Connection, *, after: tuple[datetime, str, int] | None, limit: int
) -> list[RejectedScanRow]:
    return await ParcelStore(conn).rejections(after=after, limit=limit)


@dataclass(frozen=True)
class OnTimeRow:
    period_start: date
    group_id: str | None
    group_name: str | None
    tally: OnTimeTally


@dataclass(frozen=True)
class OnTimeReport:
    county_code: str
    by: Literal["station", "town"]
    granularity: Literal["day", "month"]
    start: date
    end: date
    as_of: datetime
    rows: list[OnTimeRow]
    total: OnTimeTally


def _checked_range(granularity: str, start: date, end: date) -> tuple[date, date]:
    """The first and the last day covered, whole months for a monthly report."""
    if granularity == "month":
        start, end = start.replace(day=1), domain.month_end(end)
    if end < start:
        raise InvalidInput("RATE_RANGE_INVALID", "to is before from", field="to",
            detail_zh=f"截止日期 {date_zh(end)} 早于起始日期 {date_zh(start)}。")
    days = (end - start).days + 1
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if granularity == "day" and days > MAX_RATE_DAYS:
        raise InvalidInput("RATE_RANGE_INVALID", f"at most {MAX_RATE_DAYS} days", field="to",
            detail_zh=f"按日统计最多 {MAX_RATE_DAYS} 天，所选区间为 {days} 天。")
    if granularity == "month" and months > MAX_RATE_MONTHS:
        raise InvalidInput("RATE_RANGE_INVALID", f"at most {MAX_RATE_MONTHS} months", field="to",
            detail_zh=f"按月统计最多 {MAX_RATE_MONTHS} 个月，所选区间为 {months} 个月。")
    return start, end


async def on_time_rates(
    conn: asyncpg.Connection,
    county_code: str,
    *,
    by: Literal["station", "town"],
    granularity: Literal["day", "month"],
    start: date,
    end: date,
    now: datetime,
) -> OnTimeReport:
    """Parcels that left the county center on local days ``start``..``end`` (inclusive),
    tallied per departure day or month and destination station or town."""
    start, end = _checked_range(granularity, start, end)
    counts = await ParcelStore(conn).on_time_counts(
        county_code,
        start=domain.local_day_start(start),
        end=domain.local_day_start(end) + domain.ONE_DAY,
        by_town=by == "town",
        monthly=granularity == "month",
        now=now,
    )
    tallies: dict[tuple[date, str | None], OnTimeTally] = {}
    total = OnTimeTally()
    for c in counts:
        cls = domain.rate_class(c.outcome, overdue=c.overdue)
        key = (c.period_start, c.group_id)
        tallies[key] = tallies.get(key, OnTimeTally()).add(cls, c.count)
        total = total.add(cls, c.count)
    names = await Repository(conn).stations_by_id({g for _, g in tallies if g is not None})
    rows = [
        OnTimeRow(day, gid, names[gid].name if gid in names else None, tally)
        for (day, gid), tally in sorted(tallies.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return OnTimeReport(county_code, by, granularity, start, end, now, rows, total)

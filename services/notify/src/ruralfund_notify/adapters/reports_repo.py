"""Missed delivery deadlines waiting for the bureau's summary (asyncpg, caller's connection)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..domain.sla import SlaBreach

__all__ = ["due_breaches", "insert_breach", "insert_summary"]

_BREACH_COLUMNS = (
    "parcel_id, county_code, destination_station_id, town_station_id, left_center_at, "
    "deadline_at, detected_at, last_scan_kind"
)


async def insert_breach(
    conn: asyncpg.Connection, b: SlaBreach, *, period_end: datetime, event_id: str
) -> bool:
    """False for a parcel already recorded (logistics emits once per parcel; a re-send)."""
    inserted = await conn.fetchval(
        f"""INSERT INTO sla_breaches ({_BREACH_COLUMNS}, period_end, event_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (parcel_id) DO NOTHING RETURNING 1""",
        b.parcel_id,
        b.county_code,
        b.destination_station_id,
        b.town_station_id,
        b.left_center_at,
        b.deadline_at,
        b.detected_at,
        b.last_scan_kind,
        period_end,
        event_id,
    )
    return inserted is not None


async def due_breaches(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[SlaBreach]:
    """Unreported breaches whose period has ended, locked for this transaction; another
    replica summarising at the same moment skips them."""
    rows = await conn.fetch(
        f"""SELECT {_BREACH_COLUMNS} FROM sla_breaches
            WHERE summary_id IS NULL AND period_end <= $1
            ORDER BY deadline_at, parcel_id LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [SlaBreach(**dict(r)) for r in rows]


async def insert_summary(
    conn: asyncpg.Connection,
    summary_id: str,
    *,
    period_from: datetime,
    period_to: datetime,
    parcel_ids: list[str],
) -> None:
    await conn.execute(
        "INSERT INTO sla_summaries (id, period_from, period_to, breaches) VALUES ($1, $2, $3, $4)",
        summary_id,
        period_from,
        period_to,
        len(parcel_ids),
    )
    status = await conn.execute(
        "UPDATE sla_breaches SET summary_id = $1 WHERE parcel_id = ANY($2::text[]) "
        "AND summary_id IS NULL",
        summary_id,
        parcel_ids,
    )
    # The rows are locked by this transaction since due_breaches: all must be ours.
    assert status == f"UPDATE {len(parcel_ids)}", status

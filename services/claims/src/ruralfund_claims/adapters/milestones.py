"""SQL for program milestones (asyncpg, caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from ..domain.milestones import Milestone

__all__ = [
    "accept_milestone",
    "claim_overdue",
    "get_milestone",
    "insert_milestones",
    "list_milestones",
    "mark_notified",
]

Conn = asyncpg.Connection


async def insert_milestones(
    conn: Conn, program_code: str, milestones: tuple[Milestone, ...]
) -> None:
    await conn.executemany(
        """INSERT INTO program_milestones (program_code, code, position, name, stage, due_on,
               responsible, lead_email, status) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'pending')""",
        [
            (program_code, m.code, i, m.name, m.stage, m.due_on, list(m.responsible), m.lead_email)
            for i, m in enumerate(milestones)
        ],
    )


async def list_milestones(conn: Conn, program_code: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM program_milestones WHERE program_code = $1 ORDER BY position", program_code
    )


async def get_milestone(
    conn: Conn, program_code: str, code: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM program_milestones WHERE program_code = $1 AND code = $2{lock}",
        program_code,
        code,
    )


async def accept_milestone(
    conn: Conn, program_code: str, code: str, by: str, at: datetime, note: str | None
) -> None:
    await conn.execute(
        """UPDATE program_milestones SET status='accepted', accepted_by=$3, accepted_at=$4,
               acceptance_note=$5 WHERE program_code=$1 AND code=$2""",
        program_code,
        code,
        by,
        at,
        note,
    )


async def claim_overdue(conn: Conn, today: date, limit: int) -> list[asyncpg.Record]:
    """Pending milestones due before ``today`` and not yet notified, locked for this
    transaction; SKIP LOCKED lets replicas check at once without notifying twice."""
    return await conn.fetch(
        """SELECT * FROM program_milestones
           WHERE status = 'pending' AND overdue_notified_at IS NULL AND due_on < $1
           ORDER BY due_on, program_code, position LIMIT $2 FOR UPDATE SKIP LOCKED""",
        today,
        limit,
    )


async def mark_notified(conn: Conn, program_code: str, code: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE program_milestones SET overdue_notified_at = $3 WHERE program_code=$1 AND code=$2",
        program_code,
        code,
        at,
    )

"""Objections and the public form's rate-limit counters (asyncpg, the caller's connection)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import asyncpg

from ..domain.objections import Objection, ObjectionStatus

__all__ = [
    "count_hit",
    "get_objection",
    "insert_objection",
    "list_objections",
    "objection_by_nonce",
    "objections_for_award",
    "save_resolution",
]

_COLUMNS: Final = (
    "id::text, notice_id::text, award_id, claim_id, program_code, name, contact, email, reason, "
    "client_ip, form_nonce, filed_at, status, resolution_reason, resolved_by, resolved_at"
)
# Counters older than this many windows are deleted as new windows start.
KEEP_WINDOWS: Final = 2


def _objection(row: asyncpg.Record) -> Objection:
    return Objection(**dict(row))


async def insert_objection(conn: asyncpg.Connection, o: Objection) -> bool:
    """False when the form's nonce already filed an objection (a re-sent form)."""
    inserted = await conn.fetchval(
        """INSERT INTO objections (id, notice_id, award_id, claim_id, program_code, name, contact,
               email, reason, client_ip, form_nonce, filed_at, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (form_nonce) DO NOTHING RETURNING 1""",
        o.id,
        o.notice_id,
        o.award_id,
        o.claim_id,
        o.program_code,
        o.name,
        o.contact,
        o.email,
        o.reason,
        o.client_ip,
        o.form_nonce,
        o.filed_at,
        o.status.value,
    )
    return inserted is not None


async def objections_for_award(conn: asyncpg.Connection, award_id: str) -> list[Objection]:
    """Every objection to an award's notice, oldest first (to tell each objector its fate)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM objections WHERE award_id = $1 ORDER BY filed_at, id", award_id
    )
    return [_objection(r) for r in rows]


async def objection_by_nonce(conn: asyncpg.Connection, nonce: str) -> Objection | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM objections WHERE form_nonce = $1", nonce)
    return _objection(row) if row else None


async def get_objection(
    conn: asyncpg.Connection, objection_id: str, *, for_update: bool = False
) -> Objection | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM objections WHERE id = $1{lock}", objection_id
    )
    return _objection(row) if row else None


async def save_resolution(conn: asyncpg.Connection, o: Objection) -> None:
    assert o.status is not ObjectionStatus.PENDING
    status = await conn.execute(
        """UPDATE objections SET status = $2, resolution_reason = $3, resolved_by = $4,
               resolved_at = $5 WHERE id = $1 AND status = 'pending'""",
        o.id,
        o.status.value,
        o.resolution_reason,
        o.resolved_by,
        o.resolved_at,
    )
    # The caller locked the pending row in this transaction: anything else is a bug.
    assert status == "UPDATE 1", f"objection {o.id} was not pending: {status}"


async def list_objections(
    conn: asyncpg.Connection,
    *,
    limit: int,
    before_id: str | None = None,
    status: ObjectionStatus | None = None,
    notice_id: str | None = None,
) -> list[Objection]:
    """Newest first (ids are time-ordered UUIDv7)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM objections
            WHERE ($2::uuid IS NULL OR id < $2) AND ($3::text IS NULL OR status = $3)
              AND ($4::uuid IS NULL OR notice_id = $4)
            ORDER BY id DESC LIMIT $1""",
        limit,
        before_id,
        status.value if status else None,
        notice_id,
    )
    return [_objection(r) for r in rows]


async def count_hit(
    conn: asyncpg.Connection, bucket: str, window_start_s: int, window_seconds: int
) -> int:
    """Count one request of ``bucket`` in the window starting at ``window_start_s``; returns
    the window's count including it. Committed on its own: refused posts count too."""
    start = datetime.fromtimestamp(window_start_s, UTC)
    hits: int = await conn.fetchval(
        """INSERT INTO rate_limit_hits AS r (bucket, window_start, hits) VALUES ($1, $2, 1)
           ON CONFLICT (bucket, window_start) DO UPDATE SET hits = r.hits + 1
           RETURNING hits""",
        bucket,
        start,
    )
    if hits == 1:  # a new window for this client: a cheap moment to forget old ones
        horizon = datetime.fromtimestamp(window_start_s - KEEP_WINDOWS * window_seconds, UTC)
        await conn.execute("DELETE FROM rate_limit_hits WHERE window_start < $1", horizon)
    return hits

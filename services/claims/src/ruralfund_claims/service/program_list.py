"""The list of programs (#17: the console's home pages and a new user's first question)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel
from ruralfund_common.money import format_yuan

__all__ = ["ProgramSummary", "list_programs"]


class ProgramSummary(BaseModel):
    code: str
    name: str
    county_code: str
    county_name: str
    year: int
    phase: str
    status: str
    total_fen: int
    total_yuan: str
    activated_at: datetime


async def list_programs(
    conn: asyncpg.Connection, *, after_code: str | None, limit: int
) -> list[ProgramSummary]:
    """Programs by code, ``limit`` of them after ``after_code`` (keyset paging)."""
    rows = await conn.fetch(
        "SELECT code, name, county_code, county_name, year, phase, status, total_fen, activated_at "
        "FROM programs WHERE $1::text IS NULL OR code > $1 ORDER BY code LIMIT $2",
        after_code, limit,
    )
    return [ProgramSummary(**dict(r), total_yuan=format_yuan(r["total_fen"])) for r in rows]

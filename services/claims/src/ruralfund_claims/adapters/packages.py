"""SQL for procurement packages (包组) and what is committed on items (asyncpg, caller's
transaction)."""

from __future__ import annotations

from typing import Any

import asyncpg

__all__ = [
    "committed_on_items",
    "contracted_in_package",
    "get_package",
    "insert_package",
    "list_packages",
]

Conn = asyncpg.Connection


async def insert_package(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO procurement_packages (program_code, code, name, line_code, item_codes,
               budget_fen, method, renews, winner_credit_code, winner_name, awarded_on, tender_ref,
               created_by, created_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)""",
        *(row[k] for k in ("program_code", "code", "name", "line_code", "item_codes")),
        *(row[k] for k in ("budget_fen", "method", "renews", "winner_credit_code", "winner_name")),
        *(row[k] for k in ("awarded_on", "tender_ref", "created_by", "created_at")),
    )


_WITH_CONTRACTED = """SELECT p.*, coalesce((SELECT sum(c.amount_fen) FROM service_contracts c
        WHERE c.program_code = p.program_code AND c.package_code = p.code), 0)::bigint AS contracted_fen
    FROM procurement_packages p"""


async def get_package(
    conn: Conn, program_code: str, code: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    if for_update:  # the package row only: FOR UPDATE cannot lock an aggregate
        await conn.execute(
            "SELECT 1 FROM procurement_packages WHERE program_code=$1 AND code=$2 FOR UPDATE",
            program_code, code,
        )  # fmt: skip
    return await conn.fetchrow(
        f"{_WITH_CONTRACTED} WHERE p.program_code = $1 AND p.code = $2", program_code, code
    )


async def list_packages(
    conn: Conn, program_code: str, *, after: str | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""{_WITH_CONTRACTED} WHERE p.program_code = $1 AND ($2::text IS NULL OR p.code > $2)
            ORDER BY p.code LIMIT $3""",
        program_code, after, limit,
    )  # fmt: skip


async def contracted_in_package(conn: Conn, program_code: str, code: str) -> int:
    return await conn.fetchval(
        "SELECT coalesce(sum(amount_fen), 0)::bigint FROM service_contracts WHERE program_code=$1 AND package_code=$2",
        program_code, code,
    )  # fmt: skip


async def committed_on_items(conn: Conn, program_code: str, item_codes: list[str]) -> int:
    """What is committed on any of the items: every package covering one of them (its whole
    budget) and every contract on one of them signed outside a package (failed ones too: their
    money is to be recovered, not re-spent before it is)."""
    return await conn.fetchval(
        """SELECT ((SELECT coalesce(sum(budget_fen), 0) FROM procurement_packages
                    WHERE program_code = $1 AND item_codes && $2::text[])
                + (SELECT coalesce(sum(amount_fen), 0) FROM service_contracts
                    WHERE program_code = $1 AND item_code = ANY($2::text[]) AND package_code IS NULL))::bigint""",
        program_code, item_codes,
    )  # fmt: skip

"""SQL for service contracts, their deliverables and milestones (asyncpg, caller's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

from ..domain.targets import Deliverable

__all__ = [
    "MAX_CONTRACTS_LISTED",
    "accept_contract_milestone",
    "contracted_fen",
    "get_contract",
    "insert_contract",
    "list_contracts",
    "list_deliverables",
    "list_milestones",
    "record_acceptance",
    "report_deliverable",
]

MAX_CONTRACTS_LISTED: Final = 200
Conn = asyncpg.Connection


async def contracted_fen(conn: Conn, program_code: str, item_code: str) -> int:
    """What the item's contracts already commit; failed contracts count too (their money is
    to be recovered, not re-spent before it is)."""
    return await conn.fetchval(
        "SELECT coalesce(sum(amount_fen), 0)::bigint FROM service_contracts WHERE program_code=$1 AND item_code=$2",
        program_code,
        item_code,
    )


async def insert_contract(
    conn: Conn,
    row: dict[str, Any],
    deliverables: list[Deliverable],
    milestones: list[dict[str, Any]],
) -> None:
    await conn.execute(
        """INSERT INTO service_contracts (id, program_code, item_code, item_name, contract_no,
               provider_credit_code, provider_name, amount_fen, signed_on, ends_on, procurement,
               status, created_by, created_at, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'active',$12,$13,$13)""",
        *(row[k] for k in ("id", "program_code", "item_code", "item_name", "contract_no")),
        *(row[k] for k in ("provider_credit_code", "provider_name", "amount_fen", "signed_on")),
        *(row[k] for k in ("ends_on", "procurement", "created_by", "created_at")),
    )
    await conn.executemany(
        """INSERT INTO contract_deliverables (contract_id, code, position, name, unit, comparison,
               target_value, money, alternative_to) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)""",
        [
            (
                row["id"],
                d.code,
                i,
                d.name,
                d.unit,
                d.bound.comparison,
                d.bound.value,
                d.bound.money,
                d.alternative_to,
            )
            for i, d in enumerate(deliverables)
        ],
    )
    await conn.executemany(
        """INSERT INTO contract_milestones (contract_id, code, position, name, due_on, status)
           VALUES ($1,$2,$3,$4,$5,'pending')""",
        [(row["id"], m["code"], i, m["name"], m["due_on"]) for i, m in enumerate(milestones)],
    )


async def get_contract(
    conn: Conn, contract_id: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM service_contracts WHERE id = $1::uuid{lock}", contract_id
    )


async def list_contracts(
    conn: Conn, program_code: str, provider_credit_code: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM service_contracts WHERE program_code = $1
             AND ($2::text IS NULL OR provider_credit_code = $2) ORDER BY signed_on, id LIMIT $3""",
        program_code,
        provider_credit_code,
        MAX_CONTRACTS_LISTED,
    )


async def list_deliverables(conn: Conn, contract_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM contract_deliverables WHERE contract_id = $1::uuid ORDER BY position",
        contract_id,
    )


async def list_milestones(conn: Conn, contract_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM contract_milestones WHERE contract_id = $1::uuid ORDER BY position",
        contract_id,
    )


async def report_deliverable(
    conn: Conn, contract_id: str, code: str, actual: int, by: str, at: datetime, note: str | None
) -> bool:
    status = await conn.execute(
        """UPDATE contract_deliverables SET actual_value=$3, reported_by=$4, reported_at=$5, report_note=$6
           WHERE contract_id=$1::uuid AND code=$2""",
        contract_id,
        code,
        actual,
        by,
        at,
        note,
    )
    await _touch(conn, contract_id, at)
    return status.endswith(" 1")


async def accept_contract_milestone(
    conn: Conn, contract_id: str, code: str, by: str, at: datetime, note: str | None
) -> str | None:
    """The milestone's status before; None when the contract has no such milestone."""
    before = await conn.fetchval(
        "SELECT status FROM contract_milestones WHERE contract_id=$1::uuid AND code=$2 FOR UPDATE",
        contract_id,
        code,
    )
    if before == "pending":
        await conn.execute(
            """UPDATE contract_milestones SET status='accepted', accepted_by=$3, accepted_at=$4, note=$5
               WHERE contract_id=$1::uuid AND code=$2""",
            contract_id,
            code,
            by,
            at,
            note,
        )
        await _touch(conn, contract_id, at)
    return before


async def record_acceptance(
    conn: Conn, contract_id: str, status: str, note: str | None, by: str, at: datetime
) -> None:
    await conn.execute(
        """UPDATE service_contracts SET status=$2, acceptance_note=$3, accepted_by=$4, accepted_at=$5,
               updated_at=$5, version = version + 1 WHERE id=$1::uuid""",
        contract_id,
        status,
        note,
        by,
        at,
    )


async def _touch(conn: Conn, contract_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE service_contracts SET updated_at=$2, version = version + 1 WHERE id=$1::uuid",
        contract_id,
        at,
    )

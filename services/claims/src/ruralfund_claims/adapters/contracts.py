"""SQL for service contracts, their deliverables and milestones (asyncpg, caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import asyncpg

from ..domain.schedule import Tranche
from ..domain.targets import Deliverable

__all__ = [
    "MAX_CONTRACTS_LISTED",
    "MilestoneAcceptance",
    "accept_contract_milestone",
    "claim_overdue_milestones",
    "get_contract",
    "insert_contract",
    "insert_tranches",
    "list_contracts",
    "list_deliverables",
    "list_milestones",
    "list_tranches",
    "mark_milestone_notified",
    "record_acceptance",
    "report_deliverable",
    "set_tranche",
    "tranche_by_due_id",
    "tranches_becoming_due",
]

MAX_CONTRACTS_LISTED: Final = 200
Conn = asyncpg.Connection


@dataclass(frozen=True)
class MilestoneAcceptance:
    accepted_on: date
    acceptors: tuple[str, ...]
    evidence_file_ids: tuple[str, ...] = ()


async def insert_contract(
    conn: Conn,
    row: dict[str, Any],
    deliverables: list[Deliverable],
    milestones: list[dict[str, Any]],
) -> None:
    await conn.execute(
        """INSERT INTO service_contracts (id, program_code, item_code, item_name, contract_no,
               provider_credit_code, provider_name, amount_fen, signed_on, ends_on, procurement,
               status, created_by, created_at, updated_at, package_code, items)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'active',$12,$13,$13,$14,$15)""",
        *(row[k] for k in ("id", "program_code", "item_code", "item_name", "contract_no")),
        *(row[k] for k in ("provider_credit_code", "provider_name", "amount_fen", "signed_on")),
        *(row[k] for k in ("ends_on", "procurement", "created_by", "created_at")),
        row.get("package_code"), row.get("items", []),
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
    conn: Conn,
    contract_id: str,
    code: str,
    by: str,
    at: datetime,
    note: str | None,
    record: MilestoneAcceptance,
) -> str | None:
    """The milestone's status before; None when the contract has no such milestone."""
    before = await conn.fetchval(
        "SELECT status FROM contract_milestones WHERE contract_id=$1::uuid AND code=$2 FOR UPDATE",
        contract_id,
        code,
    )
    if before == "pending":
        await conn.execute(
            """UPDATE contract_milestones SET status='accepted', accepted_by=$3, accepted_at=$4, note=$5,
                   accepted_on=$6, acceptors=$7, evidence_file_ids=$8::uuid[]
               WHERE contract_id=$1::uuid AND code=$2""",
            contract_id,
            code,
            by,
            at,
            note,
            record.accepted_on,
            list(record.acceptors),
            list(record.evidence_file_ids),
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


# --------------------------------------------------------------------------- payment schedule


async def insert_tranches(
    conn: Conn, contract_id: str, tranches: list[tuple[Tranche, str]], at: datetime
) -> None:
    """The schedule's tranches, each with its stable payment-due id, all scheduled."""
    await conn.executemany(
        """INSERT INTO contract_tranches (contract_id, code, position, kind, amount_fen,
               milestone_code, spending_category, payment_due_id, status, updated_at, parts,
               hardware_fen)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8::uuid,'scheduled',$9,$10,$11)""",
        [
            (
                contract_id,
                t.code,
                i,
                t.kind,
                t.amount_fen,
                t.milestone_code,
                t.spending_category,
                due_id,
                at,
                [{"item_code": code, "amount_fen": fen} for code, fen in t.parts],
                t.hardware_fen,
            )
            for i, (t, due_id) in enumerate(tranches)
        ],
    )


async def list_tranches(conn: Conn, contract_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM contract_tranches WHERE contract_id = $1::uuid ORDER BY position",
        contract_id,
    )


async def tranches_becoming_due(
    conn: Conn, contract_id: str, *, kind: str, milestone_code: str | None = None
) -> list[asyncpg.Record]:
    """Scheduled tranches of this kind (of this milestone), locked."""
    return await conn.fetch(
        """SELECT * FROM contract_tranches WHERE contract_id = $1::uuid AND kind = $2
             AND status = 'scheduled' AND ($3::text IS NULL OR milestone_code = $3)
           ORDER BY position FOR UPDATE""",
        contract_id, kind, milestone_code,
    )  # fmt: skip


async def tranche_by_due_id(conn: Conn, payment_due_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM contract_tranches WHERE payment_due_id = $1::uuid FOR UPDATE", payment_due_id
    )


# Columns a tranche's change may set, so callers cannot write arbitrary SQL identifiers.
_TRANCHE_SETTABLE: Final = frozenset(
    {"status", "due_at", "paid_fen", "payment_id", "paid_at", "refusal_code", "refusal_reason",
     "refused_at", "failed_payment_ids", "ratio_justifications"}
)  # fmt: skip


async def set_tranche(
    conn: Conn, contract_id: str, code: str, at: datetime, **columns: Any
) -> None:
    unknown = set(columns) - _TRANCHE_SETTABLE
    assert not unknown, f"not settable: {unknown}"
    names = sorted(columns)
    assignments = "".join(f", {name} = ${i + 4}" for i, name in enumerate(names))
    await conn.execute(
        f"UPDATE contract_tranches SET updated_at = $3{assignments} WHERE contract_id = $1::uuid AND code = $2",
        contract_id, code, at, *[columns[n] for n in names],
    )  # fmt: skip
    await _touch(conn, contract_id, at)


# --------------------------------------------------------------------------- overdue milestones


async def claim_overdue_milestones(conn: Conn, today: date, limit: int) -> list[asyncpg.Record]:
    """Pending milestones of active contracts due before ``today`` and not yet notified, with
    the contract and its provider's contact; locked, SKIP LOCKED for concurrent checkers."""
    return await conn.fetch(
        """SELECT m.contract_id, m.code, m.name, m.due_on, c.program_code, c.contract_no,
                  c.provider_name, e.contact->>'email' AS provider_email
           FROM contract_milestones m
           JOIN service_contracts c ON c.id = m.contract_id
           LEFT JOIN enterprises e ON e.credit_code = c.provider_credit_code
           WHERE m.status = 'pending' AND m.overdue_notified_at IS NULL AND m.due_on < $1
             AND c.status = 'active'
           ORDER BY m.due_on, m.contract_id, m.position LIMIT $2 FOR UPDATE OF m SKIP LOCKED""",
        today, limit,
    )  # fmt: skip


async def mark_milestone_notified(conn: Conn, contract_id: str, code: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE contract_milestones SET overdue_notified_at = $3 WHERE contract_id = $1::uuid AND code = $2",
        contract_id, code, at,
    )  # fmt: skip

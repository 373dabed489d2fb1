"""SQL for the claims schema (asyncpg). Every function takes the connection of the caller's
transaction, so a use case's reads, writes and outbox rows commit together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

__all__ = [
    "MAX_HISTORY_ROWS",
    "ClaimFilter",
    "HistoryEntry",
    "add_history",
    "find_station_volumes",
    "get_claim",
    "get_enterprise",
    "get_enterprise_only",
    "get_program",
    "insert_claim_with_history",
    "insert_enterprise",
    "insert_program",
    "link_enterprise_program",
    "list_claim_history",
    "list_claims",
    "list_enterprises",
    "program_sha256",
    "program_sha256_and_enterprise",
    "record_funds_fact",
    "set_claim_status",
    "update_claim_assessment",
    "update_enterprise",
    "upsert_station_volume",
]

MAX_HISTORY_ROWS: Final = 500
Conn = asyncpg.Connection


# --------------------------------------------------------------------------- programs


async def insert_program(conn: Conn, row: dict[str, Any], items: list[dict[str, Any]]) -> None:
    await conn.execute(
        """INSERT INTO programs (code, name, county_code, county_name, year, phase, total_fen,
               publicity_working_days, status, document, document_sha256, warnings,
               contractor_credit_code, contractor_name, joint_account_bank, joint_account_no,
               activated_by, activated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'active',$9,$10,$11,$12,$13,$14,$15,$16,$17)""",
        row["code"],
        row["name"],
        row["county_code"],
        row["county_name"],
        row["year"],
        row["phase"],
        row["total_fen"],
        row["publicity_working_days"],
        row["document"],
        row["document_sha256"],
        row["warnings"],
        row["contractor_credit_code"],
        row["contractor_name"],
        row["joint_account_bank"],
        row["joint_account_no"],
        row["activated_by"],
        row["activated_at"],
    )
    await conn.executemany(
        """INSERT INTO program_items (program_code, item_code, line_code, line_name, item_name,
               budget_fen, mode, rule_version, position) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)""",
        [
            (
                row["code"],
                i["item_code"],
                i["line_code"],
                i["line_name"],
                i["item_name"],
                i["budget_fen"],
                i["mode"],
                i["rule_version"],
                i["position"],
            )
            for i in items
        ],
    )


async def get_program(conn: Conn, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM programs WHERE code = $1", code)


async def program_sha256(conn: Conn, code: str) -> str | None:
    """The stored document's hash: enough to find an already checked program (documents are
    immutable, see migration 0007)."""
    return await conn.fetchval("SELECT document_sha256 FROM programs WHERE code = $1", code)


# --------------------------------------------------------------------------- enterprises


async def insert_enterprise(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO enterprises (credit_code, name, kind, county_code, contact, bank_name,
               bank_account_no, registered_by, registered_at, updated_by, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$8,$9)""",
        row["credit_code"],
        row["name"],
        row["kind"],
        row["county_code"],
        row["contact"],
        row["bank_name"],
        row["bank_account_no"],
        row["by"],
        row["at"],
    )


async def program_sha256_and_enterprise(
    conn: Conn, program_code: str, credit_code: str
) -> tuple[str | None, dict[str, Any] | None]:
    """The program's document hash and the enterprise row, in one round trip."""
    row = await conn.fetchrow(
        """SELECT (SELECT document_sha256 FROM programs WHERE code = $1) AS program_sha256,
                  (SELECT to_jsonb(e.*) FROM enterprises e WHERE e.credit_code = $2) AS enterprise""",
        program_code,
        credit_code,
    )
    assert row is not None  # a SELECT without FROM yields one row
    return row["program_sha256"], row["enterprise"]


async def get_enterprise_only(conn: Conn, credit_code: str) -> asyncpg.Record | None:
    """The enterprise without its program list (the hot path of a claim does not need it)."""
    return await conn.fetchrow("SELECT * FROM enterprises WHERE credit_code = $1", credit_code)


async def update_enterprise(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        """UPDATE enterprises SET name=$2, contact=$3, bank_name=$4, bank_account_no=$5,
               updated_by=$6, updated_at=$7, version = version + 1 WHERE credit_code = $1""",
        row["credit_code"],
        row["name"],
        row["contact"],
        row["bank_name"],
        row["bank_account_no"],
        row["by"],
        row["at"],
    )


async def get_enterprise(
    conn: Conn, credit_code: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        "SELECT e.*, coalesce((SELECT array_agg(program_code ORDER BY program_code) FROM enterprise_programs p "
        f"WHERE p.credit_code = e.credit_code), '{{}}') AS programs FROM enterprises e WHERE credit_code = $1{lock}",
        credit_code,
    )


def _like_fragment(text: str | None) -> str | None:
    """``text`` as an ILIKE pattern matching it anywhere, its own % and _ taken literally."""
    if text is None:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_enterprises(
    conn: Conn, *, after: str | None, limit: int, credit_code: str | None, search: str | None = None
) -> list[asyncpg.Record]:
    """``search``: a fragment of the name or of the credit code (the bureau's registry search)."""
    return await conn.fetch(
        """SELECT e.*, coalesce((SELECT array_agg(program_code ORDER BY program_code) FROM enterprise_programs p
               WHERE p.credit_code = e.credit_code), '{}') AS programs FROM enterprises e
           WHERE ($1::text IS NULL OR credit_code > $1) AND ($2::text IS NULL OR credit_code = $2)
             AND ($4::text IS NULL OR name ILIKE $4 OR credit_code ILIKE $4)
           ORDER BY credit_code LIMIT $3""",
        after,
        credit_code,
        limit,
        _like_fragment(search),
    )


async def link_enterprise_program(
    conn: Conn, credit_code: str, program_code: str, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO enterprise_programs (credit_code, program_code, registered_at) VALUES ($1,$2,$3) "
        "ON CONFLICT DO NOTHING",
        credit_code,
        program_code,
        at,
    )


# --------------------------------------------------------------------------- claims


async def insert_claim_with_history(
    conn: Conn, row: dict[str, Any], e: HistoryEntry
) -> asyncpg.Record | None:
    """The stored claim with its first history row written in the same statement, or None
    (and nothing written) when a live claim holds the same period (claims_one_per_period)."""
    return await conn.fetchrow(
        """WITH c AS (
               INSERT INTO claims (id, program_code, line_code, item_code, item_name, credit_code,
                   enterprise_name, period, evidence, amount_fen, rule_version, reasons, calculation,
                   status, submitted_by, submitted_at, updated_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,'submitted',$14,$15,$15)
               ON CONFLICT (program_code, item_code, credit_code, period)
                   WHERE status NOT IN ('withdrawn', 'rejected') DO NOTHING
               RETURNING *
           ), h AS (
               INSERT INTO claim_history (claim_id, at, actor, actor_name, action, from_status,
                   to_status, note, data)
               SELECT id, $15, $16, $17, $18, NULL, status, $19, $20 FROM c
           )
           SELECT * FROM c""",
        *(row[k] for k in ("id", "program_code", "line_code", "item_code", "item_name")),
        *(row[k] for k in ("credit_code", "enterprise_name", "period", "evidence", "amount_fen")),
        *(row[k] for k in ("rule_version", "reasons", "calculation", "submitted_by")),
        row["submitted_at"],
        e.actor,
        e.actor_name,
        e.action,
        e.note,
        e.data or {},
    )


async def get_claim(
    conn: Conn, claim_id: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM claims WHERE id = $1::uuid{lock}", claim_id)


async def update_claim_assessment(conn: Conn, claim_id: str, row: dict[str, Any]) -> None:
    """A returned claim resubmitted with new evidence: the rule's new result replaces the old."""
    await conn.execute(
        """UPDATE claims SET period=$2, evidence=$3, amount_fen=$4, rule_version=$5, reasons=$6, calculation=$7,
               enterprise_name=$8, status='submitted', updated_at=$9, version = version + 1 WHERE id = $1::uuid""",
        claim_id,
        row["period"],
        row["evidence"],
        row["amount_fen"],
        row["rule_version"],
        row["reasons"],
        row["calculation"],
        row["enterprise_name"],
        row["at"],
    )


# Columns a status change may set, so callers cannot write arbitrary SQL identifiers.
_SETTABLE: Final = frozenset(
    {
        "review_note",
        "reviewed_by",
        "reviewed_at",
        "decision_reason",
        "decided_by",
        "decided_at",
        "award_id",
    }
)


async def set_claim_status(
    conn: Conn, claim_id: str, status: str, at: datetime, **columns: Any
) -> None:
    unknown = set(columns) - _SETTABLE
    assert not unknown, f"not settable: {unknown}"
    names = sorted(columns)
    assignments = "".join(f", {name} = ${i + 4}" for i, name in enumerate(names))
    await conn.execute(
        f"UPDATE claims SET status = $2, updated_at = $3, version = version + 1{assignments} WHERE id = $1::uuid",
        claim_id,
        status,
        at,
        *[columns[n] for n in names],
    )


async def record_funds_fact(
    conn: Conn, claim_id: str, status: str, at: datetime, facts: dict[str, Any]
) -> None:
    """Store what funds reported; a fact reported earlier is kept (coalesce), never erased."""
    await conn.execute(
        """UPDATE claims SET status = $2, updated_at = $3, version = version + 1,
               reserved_at = coalesce(reserved_at, $4), item_available_fen = coalesce($5, item_available_fen),
               refusal_code = coalesce(refusal_code, $6), refusal_reason = coalesce(refusal_reason, $7),
               publicity_starts_on = coalesce(publicity_starts_on, $8), publicity_ends_on = coalesce(publicity_ends_on, $9),
               payable_from = coalesce(payable_from, $10), payment_id = coalesce(payment_id, $11),
               paid_at = coalesce(paid_at, $12), revoked_at = coalesce(revoked_at, $13),
               revocation_code = coalesce(revocation_code, $14),
               revocation_reason = coalesce(revocation_reason, $15)
           WHERE id = $1::uuid""",
        claim_id,
        status,
        at,
        facts.get("reserved_at"),
        facts.get("item_available_fen"),
        facts.get("refusal_code"),
        facts.get("refusal_reason"),
        facts.get("publicity_starts_on"),
        facts.get("publicity_ends_on"),
        facts.get("payable_from"),
        facts.get("payment_id"),
        facts.get("paid_at"),
        facts.get("revoked_at"),
        facts.get("revocation_code"),
        facts.get("revocation_reason"),
    )


@dataclass(frozen=True)
class ClaimFilter:
    status: str | None = None
    program_code: str | None = None
    item_code: str | None = None
    credit_code: str | None = None  # set for enterprise principals: their own claims only
    # the bureau's search (#17): one enterprise by its code, a name fragment, one period
    enterprise_credit_code: str | None = None
    enterprise_name_contains: str | None = None
    period: str | None = None


async def list_claims(
    conn: Conn, f: ClaimFilter, *, after_id: str | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM claims
           WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR program_code = $2)
             AND ($3::text IS NULL OR item_code = $3) AND ($4::text IS NULL OR credit_code = $4)
             AND ($5::uuid IS NULL OR id > $5::uuid)
             AND ($7::text IS NULL OR credit_code = $7)
             AND ($8::text IS NULL OR enterprise_name ILIKE $8)
             AND ($9::text IS NULL OR period = $9)
           ORDER BY id LIMIT $6""",
        f.status,
        f.program_code,
        f.item_code,
        f.credit_code,
        after_id,
        limit,
        f.enterprise_credit_code,
        _like_fragment(f.enterprise_name_contains),
        f.period,
    )


@dataclass(frozen=True)
class HistoryEntry:
    claim_id: str
    at: datetime
    actor: str
    actor_name: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None = None
    data: dict[str, Any] | None = None


async def add_history(conn: Conn, e: HistoryEntry) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO claim_history (claim_id, at, actor, actor_name, action, from_status, to_status, note, data)
           VALUES ($1::uuid,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING *""",
        e.claim_id,
        e.at,
        e.actor,
        e.actor_name,
        e.action,
        e.from_status,
        e.to_status,
        e.note,
        e.data or {},
    )


async def list_claim_history(conn: Conn, claim_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM claim_history WHERE claim_id = $1::uuid ORDER BY id LIMIT $2",
        claim_id,
        MAX_HISTORY_ROWS,
    )


# --------------------------------------------------------------------------- station volumes


async def upsert_station_volume(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO station_volumes (station_id, year, station_name, operator_credit_code,
               annual_volume_fen, annual_parcels, last_month, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
           ON CONFLICT (station_id, year) DO UPDATE SET station_name = excluded.station_name,
               operator_credit_code = excluded.operator_credit_code, annual_volume_fen = excluded.annual_volume_fen,
               annual_parcels = excluded.annual_parcels,
               last_month = GREATEST(station_volumes.last_month, excluded.last_month), updated_at = excluded.updated_at""",
        row["station_id"],
        row["year"],
        row["station_name"],
        row["operator_credit_code"],
        row["annual_volume_fen"],
        row["annual_parcels"],
        row["last_month"],
        row["updated_at"],
    )


async def find_station_volumes(
    conn: Conn, operator_credit_code: str, year: int, station_id: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM station_volumes WHERE operator_credit_code = $1 AND year = $2
             AND ($3::text IS NULL OR station_id = $3) ORDER BY station_id LIMIT 50""",
        operator_credit_code,
        year,
        station_id,
    )

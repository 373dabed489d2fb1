"""SQL behind the performance targets' actual values (asyncpg, read-only)."""

from __future__ import annotations

from typing import Final

import asyncpg

__all__ = [
    "APPROVED_STATUSES",
    "approved_claim_enterprises",
    "approved_claim_identities",
    "approved_claim_units",
    "approved_claims",
    "contract_deliverable_total",
    "stations_in_band",
    "upsert_station",
]

# An approved award counts from approval on; one refused for lack of budget or revoked after
# an upheld objection does not.
APPROVED_STATUSES: Final = ["approved", "reserved", "in_publicity", "paid"]
Conn = asyncpg.Connection


async def approved_claims(conn: Conn, program_code: str, items: list[str]) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM claims WHERE program_code=$1 AND item_code = ANY($2) AND status = ANY($3)",
        program_code,
        items,
        APPROVED_STATUSES,
    )


async def approved_claim_units(conn: Conn, program_code: str, items: list[str]) -> int:
    # per_unit evidence is validated ({quarter, units: int}) before a claim is stored.
    return await conn.fetchval(
        """SELECT coalesce(sum((evidence->>'units')::bigint), 0)::bigint FROM claims
           WHERE program_code=$1 AND item_code = ANY($2) AND status = ANY($3)""",
        program_code,
        items,
        APPROVED_STATUSES,
    )


async def approved_claim_enterprises(conn: Conn, program_code: str, items: list[str]) -> int:
    return await conn.fetchval(
        """SELECT count(DISTINCT credit_code) FROM claims
           WHERE program_code=$1 AND item_code = ANY($2) AND status = ANY($3)""",
        program_code,
        items,
        APPROVED_STATUSES,
    )


async def approved_claim_identities(conn: Conn, program_code: str, items: list[str]) -> int:
    """Distinct things approved (livestream bases), and no more than the distinct enterprises
    approved: one base approved twice, or one enterprise for two bases, counts once."""
    return await conn.fetchval(
        """SELECT least(count(DISTINCT k.once_key), count(DISTINCT c.credit_code)) FROM claims c
           JOIN claim_once_keys k ON k.claim_id = c.id AND k.once_key LIKE 'identity:%'
           WHERE c.program_code=$1 AND c.item_code = ANY($2) AND c.status = ANY($3)""",
        program_code,
        items,
        APPROVED_STATUSES,
    )


async def stations_in_band(
    conn: Conn, county_code: str, min_fen: int, below_fen: int | None
) -> int:
    """Stations of the county whose best reported annual volume lies in [min, below).

    The county is the one logistics registered the station in; a station whose registration
    has not arrived is placed by its operator's registration division.
    """
    return await conn.fetchval(
        """SELECT count(*) FROM (
               SELECT v.station_id, max(v.annual_volume_fen) AS best
               FROM station_volumes v LEFT JOIN stations s ON s.station_id = v.station_id
               WHERE coalesce(s.county_code, substr(v.operator_credit_code, 3, 6)) = $1
               GROUP BY v.station_id) b
           WHERE best >= $2 AND ($3::bigint IS NULL OR best < $3)""",
        county_code,
        min_fen,
        below_fen,
    )


async def contract_deliverable_total(
    conn: Conn, program_code: str, items: list[str], codes: list[str], *, worst_of: bool
) -> int | None:
    """Reported actuals of the deliverables across the items' contracts (a failed contract's
    do not count): their sum, or for an upper bound (24 hours) the largest. None when nothing
    was reported."""
    aggregate = "max" if worst_of else "sum"
    return await conn.fetchval(
        f"""SELECT {aggregate}(d.actual_value)::bigint FROM contract_deliverables d
            JOIN service_contracts c ON c.id = d.contract_id
            WHERE c.program_code=$1 AND c.item_code = ANY($2) AND d.code = ANY($3)
              AND c.status <> 'failed' AND d.actual_value IS NOT NULL""",
        program_code,
        items,
        codes,
    )


async def upsert_station(conn: Conn, row: dict) -> None:
    await conn.execute(
        """INSERT INTO stations (station_id, name, tier, county_code, operator_credit_code, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (station_id) DO UPDATE SET name=excluded.name, tier=excluded.tier,
               county_code=excluded.county_code, operator_credit_code=excluded.operator_credit_code,
               updated_at=excluded.updated_at""",
        row["station_id"],
        row["name"],
        row["tier"],
        row["county_code"],
        row["operator_credit_code"],
        row["updated_at"],
    )

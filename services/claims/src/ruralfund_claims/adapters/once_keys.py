"""SQL for what an item pays once (claim_once_keys, migration 0010) and a claim's flags."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ..domain.rules import OnceKey

__all__ = ["free_once_keys", "hold_once_keys", "once_key_holders", "set_claim_flags"]

Conn = asyncpg.Connection


async def hold_once_keys(
    conn: Conn, program_code: str, item_code: str, claim_id: str, credit_code: str,
    keys: Sequence[OnceKey],
) -> set[str]:  # fmt: skip
    """Take the keys for the claim; returns those another live claim already holds (nothing
    is taken for them). Concurrent claims wait on the primary key, so one of them wins."""
    if not keys:
        return set()
    taken = await conn.fetch(
        """INSERT INTO claim_once_keys (program_code, item_code, once_key, claim_id, credit_code, label_zh)
           SELECT $1, $2, k, $3::uuid, $4, l FROM unnest($5::text[], $6::text[]) AS u(k, l)
           ON CONFLICT DO NOTHING RETURNING once_key""",
        program_code, item_code, claim_id, credit_code,
        [k.key for k in keys], [k.label_zh for k in keys],
    )  # fmt: skip
    return {k.key for k in keys} - {r["once_key"] for r in taken}


async def once_key_holders(
    conn: Conn, program_code: str, item_code: str, keys: Sequence[str]
) -> list[asyncpg.Record]:
    """The live claims holding these keys, with their period and status, oldest key first."""
    return await conn.fetch(
        """SELECT k.once_key, k.label_zh, k.claim_id, k.credit_code, c.period, c.status, c.submitted_at
           FROM claim_once_keys k JOIN claims c ON c.id = k.claim_id
           WHERE k.program_code=$1 AND k.item_code=$2 AND k.once_key = ANY($3::text[])
           ORDER BY k.once_key""",
        program_code,
        item_code,
        list(keys),
    )


async def free_once_keys(conn: Conn, claim_id: str) -> None:
    await conn.execute("DELETE FROM claim_once_keys WHERE claim_id = $1::uuid", claim_id)


async def set_claim_flags(conn: Conn, claim_id: str, flags: list[str]) -> None:
    await conn.execute(
        "UPDATE claims SET flags = $2 WHERE id = $1::uuid", claim_id, flags
    )

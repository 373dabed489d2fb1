"""SQL of funds' ledger checkpoints as notify keeps them for the public (migration 0006)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

__all__ = ["insert_checkpoint", "latest_checkpoints"]


async def insert_checkpoint(
    conn: asyncpg.Connection, data: dict[str, Any], received_at: datetime
) -> None:
    """Once per checkpoint id: a redelivery changes nothing."""
    await conn.execute(
        "INSERT INTO ledger_checkpoints (checkpoint_id, origin, tree_size, root_hash, signed_at, county_day, "
        "reason, key_id, signature, received_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
        "ON CONFLICT (checkpoint_id) DO NOTHING",
        data["checkpoint_id"],
        data["origin"],
        data["tree_size"],
        data["root_hash"],
        data["signed_at"],
        data["county_day"],
        data["reason"],
        data["key_id"],
        data["signature"],
        received_at,
    )


async def latest_checkpoints(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM ledger_checkpoints ORDER BY checkpoint_id DESC LIMIT $1", limit
    )

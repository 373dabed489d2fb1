"""funds' signed ledger checkpoints, kept for the public page and open data (公开): the
copies anyone can keep and later check the ledger against (``ruralfund ledger verify
--checkpoint URL``). Kept exactly as signed: the page shows what the signature covers."""

from __future__ import annotations

from typing import Any, Final

import asyncpg
from ruralfund_common.contracts.funds.ledger_checkpoint import LedgerCheckpoint
from ruralfund_common.messaging import Tx

from ..adapters import checkpoints_repo
from ..domain.formatting import cn_datetime

__all__ = ["MAX_PUBLIC_CHECKPOINTS", "PAGE_CHECKPOINTS", "public_checkpoints", "record_checkpoint"]

#: How many checkpoints open data lists (a year of daily ones and then some).
MAX_PUBLIC_CHECKPOINTS: Final = 400
#: How many the publicity page shows.
PAGE_CHECKPOINTS: Final = 5


async def record_checkpoint(tx: Tx, checkpoint: LedgerCheckpoint) -> None:
    await checkpoints_repo.insert_checkpoint(tx.conn, checkpoint.model_dump(), tx.clock.now())


def _public(r: asyncpg.Record) -> dict[str, Any]:
    # signed_at exactly as funds formatted it when signing (isoformat): the signature covers it
    return {
        "checkpoint_id": r["checkpoint_id"],
        "origin": r["origin"],
        "tree_size": r["tree_size"],
        "root_hash": r["root_hash"],
        "signed_at": r["signed_at"].isoformat(),
        "county_day": r["county_day"].isoformat(),
        "reason": r["reason"],
        "key_id": r["key_id"],
        "signature": r["signature"],
        "signed_at_zh": cn_datetime(r["signed_at"]),
    }


async def public_checkpoints(
    pool: asyncpg.Pool, limit: int = MAX_PUBLIC_CHECKPOINTS
) -> list[dict[str, Any]]:
    """Newest first."""
    async with pool.acquire() as conn:
        return [_public(r) for r in await checkpoints_repo.latest_checkpoints(conn, limit)]

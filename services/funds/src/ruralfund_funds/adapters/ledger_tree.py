"""SQL of the ledger's Merkle tree: the captured rows of this transaction, the signed head with
its frontier, leaves, perfect subtree nodes and checkpoints (migration 0006)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

__all__ = [
    "MIGRATION_TXID",
    "Head",
    "append",
    "capture_snapshot",
    "checkpoint_rows",
    "current_shapes",
    "daily_checkpoint_exists",
    "insert_checkpoint",
    "latest_leaf_of",
    "lock_head",
    "move_pending_to_leaves",
    "perfect_hashes",
    "read_head",
    "recorded_shapes",
    "save_shape",
]

#: ledger_pending rows the migration wrote from an existing database's rows.
MIGRATION_TXID = 0


@dataclass(frozen=True)
class Head:
    tree_size: int
    root_hash: bytes
    frontier: list[bytes]


async def move_pending_to_leaves(
    conn: asyncpg.Connection, txid: int | None = None
) -> tuple[Head, list[bytes]] | None:
    """This transaction's captured rows, in the order written, become the next leaves, hashed
    here (SHA-256(0x00 || leaf), RFC 9162) so the rows never travel to the service and back.
    Returns the head as it was (row-locked to commit: appends are serialised, leaf order is
    commit order) and the new leaves' hashes; None, taking no lock, when nothing was captured.
    One round trip: every transaction of the service pays it. ``txid_current_if_assigned`` is
    null in a transaction that wrote nothing (no xid is spent)."""
    row = await conn.fetchrow(
        "WITH h AS (SELECT tree_size, frontier FROM ledger_head WHERE EXISTS ("
        "  SELECT 1 FROM ledger_pending WHERE txid = coalesce($1, txid_current_if_assigned())) FOR UPDATE), "
        "d AS (DELETE FROM ledger_pending WHERE txid = coalesce($1, txid_current_if_assigned()) "
        "  AND EXISTS (SELECT 1 FROM h) RETURNING pending_id, leaf), "
        "l AS (INSERT INTO ledger_leaves (leaf_index, leaf, leaf_hash) "
        "  SELECT (SELECT tree_size FROM h) + row_number() OVER (ORDER BY pending_id) - 1, leaf, "
        "  sha256('\\x00'::bytea || convert_to(leaf, 'UTF8')) FROM d RETURNING leaf_index, leaf_hash) "
        "SELECT h.tree_size, h.frontier, (SELECT array_agg(leaf_hash ORDER BY leaf_index) FROM l) AS hashes FROM h",
        txid,
    )
    if row is None:
        return None
    head = Head(row["tree_size"], b"", [bytes(h) for h in row["frontier"]])
    return head, [bytes(h) for h in row["hashes"] or []]


async def lock_head(conn: asyncpg.Connection) -> Head:
    """The head, row-locked to commit: appends are serialised and leaf order is commit order.
    Taken last in a transaction (after every other lock), so it cannot close a deadlock."""
    r = await conn.fetchrow("SELECT tree_size, root_hash, frontier FROM ledger_head FOR UPDATE")
    return Head(r["tree_size"], bytes(r["root_hash"]), [bytes(h) for h in r["frontier"]])


async def read_head(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow("SELECT * FROM ledger_head")


async def append(
    conn: asyncpg.Connection,
    nodes: list[tuple[int, int, bytes]],
    head: Head,
    signed_at: datetime,
    key_id: str,
    signature: str,
) -> None:
    """The subtrees the new leaves complete and the new signed head, in one round trip."""
    await conn.execute(
        "WITH nd AS (INSERT INTO ledger_nodes (level, node_index, hash) "
        "  SELECT lv, i, h FROM unnest($1::smallint[], $2::bigint[], $3::bytea[]) AS y(lv, i, h)) "
        "UPDATE ledger_head SET tree_size=$4, root_hash=$5, frontier=$6, signed_at=$7, key_id=$8, signature=$9",
        [n[0] for n in nodes],
        [n[1] for n in nodes],
        [n[2] for n in nodes],
        head.tree_size,
        head.root_hash,
        head.frontier,
        signed_at,
        key_id,
        signature,
    )


async def perfect_hashes(
    conn: asyncpg.Connection, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Stored hashes of perfect subtrees (level 0: the leaves' hashes)."""
    wanted = set(wanted)
    leaves = [i for lv, i in wanted if lv == 0]
    levels, indexes = (
        zip(*[(lv, i) for lv, i in wanted if lv > 0], strict=True)
        if any(lv > 0 for lv, _ in wanted)
        else ((), ())
    )
    out: dict[tuple[int, int], bytes] = {}
    if leaves:
        for r in await conn.fetch(
            "SELECT leaf_index, leaf_hash FROM ledger_leaves WHERE leaf_index = ANY($1::bigint[])",
            leaves,
        ):
            out[(0, r["leaf_index"])] = bytes(r["leaf_hash"])
    if levels:
        for r in await conn.fetch(
            "SELECT n.level, n.node_index, n.hash FROM ledger_nodes n "
            "JOIN unnest($1::smallint[], $2::bigint[]) AS w(lv, i) ON n.level = w.lv AND n.node_index = w.i",
            list(levels),
            list(indexes),
        ):
            out[(r["level"], r["node_index"])] = bytes(r["hash"])
    return out


async def insert_checkpoint(
    conn: asyncpg.Connection, cp: dict[str, Any], county_day: date, reason: str, requested_by: str
) -> int:
    return await conn.fetchval(
        "INSERT INTO ledger_checkpoints (origin, tree_size, root_hash, signed_at, county_day, reason, requested_by, "
        "key_id, signature) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING checkpoint_id",
        cp["origin"],
        cp["tree_size"],
        cp["root_hash"],
        cp["signed_at"],
        county_day,
        reason,
        requested_by,
        cp["key_id"],
        cp["signature"],
    )


async def daily_checkpoint_exists(conn: asyncpg.Connection, county_day: date) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM ledger_checkpoints WHERE county_day=$1 AND reason='daily'", county_day
        )
    )


async def checkpoint_rows(
    conn: asyncpg.Connection, *, tree_size: int | None = None, limit: int = 1
) -> list[asyncpg.Record]:
    """The latest checkpoints (of one size, if given), newest first."""
    if tree_size is None:
        return await conn.fetch(
            "SELECT * FROM ledger_checkpoints ORDER BY checkpoint_id DESC LIMIT $1", limit
        )
    return await conn.fetch(
        "SELECT * FROM ledger_checkpoints WHERE tree_size=$1 ORDER BY checkpoint_id DESC LIMIT $2",
        tree_size,
        limit,
    )


# -- schema changes: a migration alters every row of a table without firing its triggers -------
async def current_shapes(conn: asyncpg.Connection, tables: Iterable[str]) -> dict[str, list[str]]:
    """Each table's columns now, as sorted "name:type"."""
    rows = await conn.fetch(
        "SELECT c.relname AS t, array_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) "
        "ORDER BY a.attname) AS cols FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[]) "
        "AND a.attnum > 0 AND NOT a.attisdropped GROUP BY c.relname",
        list(tables),
    )
    return {r["t"]: list(r["cols"]) for r in rows}


async def recorded_shapes(conn: asyncpg.Connection) -> dict[str, list[str]]:
    return {
        r["table_name"]: list(r["columns"]) for r in await conn.fetch("SELECT * FROM ledger_shapes")
    }


async def latest_leaf_of(conn: asyncpg.Connection, table: str) -> str | None:
    """The newest leaf of ``table`` (jsonb text ends with its "table" key: shortest keys first)."""
    return await conn.fetchval(
        "SELECT leaf FROM ledger_leaves WHERE leaf LIKE '%\"table\": ' || to_jsonb($1::text)::text || '}' "
        "ORDER BY leaf_index DESC LIMIT 1",
        table,
    )


async def save_shape(conn: asyncpg.Connection, table: str, columns: list[str]) -> None:
    await conn.execute(
        "INSERT INTO ledger_shapes (table_name, columns) VALUES ($1, $2) "
        "ON CONFLICT (table_name) DO UPDATE SET columns = excluded.columns",
        table,
        columns,
    )


async def capture_snapshot(conn: asyncpg.Connection, table: str, op: str = "migrate") -> int:
    """Every row of ``table`` as a leaf of this transaction (sealed by the caller): "migrate"
    after a schema change, "insert" when the table is first covered."""
    assert op in ("migrate", "insert")
    await conn.execute("SET LOCAL timezone = 'UTC'")
    status = await conn.execute(
        f"INSERT INTO ledger_pending (leaf) SELECT jsonb_build_object('table', $1::text, 'op', $2::text, "
        f"'row', to_jsonb(x))::text FROM \"{table}\" x",
        table,
        op,
    )
    return int(status.split()[-1])

"""The ledger's Merkle tree: seal each transaction's changed rows into it (with a signed head),
sign checkpoints daily and on demand (published as funds.evt.ledger_checkpoint.v1), answer
inclusion and consistency proofs from the stored perfect subtrees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from ruralfund_common.calendar import local_date
from ruralfund_common.contracts.funds.ledger_checkpoint import LedgerCheckpoint
from ruralfund_common.errors import InvalidInput, NotFound
from ruralfund_common.messaging import Tx
from ruralfund_common.messaging.signing import (
    HEADER_KEY_ID,
    HEADER_MSG_ID,
    HEADER_SIGNATURE,
    SigningKey,
)

from ..adapters import ledger_tree as store
from ..domain.checkpoint import ORIGIN, SIGNING_SUBJECT, Checkpoint
from ..domain.leaves import COVERED_TABLES, parse_leaf
from ..domain.merkle import Frontier, consistency_proof, inclusion_proof

__all__ = [
    "checkpoint_view",
    "daily_checkpoint",
    "make_checkpoint",
    "prove_consistency",
    "prove_inclusion",
    "seal",
    "seal_migrated_rows",
    "seal_schema_changes",
    "sign_checkpoint",
]


def sign_checkpoint(key: SigningKey, tree_size: int, root: bytes, at: datetime) -> Checkpoint:
    unsigned = Checkpoint(ORIGIN, tree_size, root.hex(), at)
    headers = key.sign(SIGNING_SUBJECT, unsigned.signed_data(), {HEADER_MSG_ID: unsigned.msg_id})
    return Checkpoint(
        ORIGIN, tree_size, root.hex(), at, headers[HEADER_KEY_ID], headers[HEADER_SIGNATURE]
    )


def _key(tx: Tx) -> SigningKey:
    return tx.ctx.messaging.keys.signing


async def seal(tx: Tx, *, txid: int | None = None) -> int:
    """Append the rows this transaction changed as leaves and sign the new head. Call last in
    every use case that may write covered rows (it takes the head's lock). Returns the count."""
    moved = await store.move_pending_to_leaves(tx.conn, txid)
    if moved is None:
        return 0
    head, hashes = moved
    frontier = Frontier(head.tree_size, head.frontier)
    nodes = [node for h in hashes for node in frontier.append(h)]
    root, now = frontier.root(), tx.clock.now()
    signed = sign_checkpoint(_key(tx), frontier.size, root, now)
    new_head = store.Head(frontier.size, root, frontier.hashes)
    await store.append(tx.conn, nodes, new_head, now, signed.key_id, signed.signature)
    return len(hashes)


async def seal_migrated_rows(tx: Tx) -> int:
    """An existing database's rows (captured by the migration) become the first leaves, once:
    only while the tree is still empty, so rows slipped in later under that id are never sealed."""
    if (await store.read_head(tx.conn))["tree_size"] != 0:
        return 0
    return await seal(tx, txid=store.MIGRATION_TXID)


def checkpoint_view(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "origin": r["origin"],
        "tree_size": r["tree_size"],
        "root_hash": r["root_hash"],
        "signed_at": r["signed_at"].isoformat(),
        "key_id": r["key_id"],
        "signature": r["signature"],
        "county_day": r["county_day"].isoformat(),
        "reason": r["reason"],
    }


async def make_checkpoint(tx: Tx, reason: str, requested_by: str) -> dict[str, Any]:
    """Sign the current tree head and publish it (funds.evt.ledger_checkpoint.v1)."""
    await seal(tx)
    head = await store.lock_head(tx.conn)
    now = tx.clock.now()
    cp = sign_checkpoint(_key(tx), head.tree_size, head.root_hash, now)
    day = local_date(now)
    data = cp.as_dict() | {"signed_at": now}
    checkpoint_id = await store.insert_checkpoint(tx.conn, data, day, reason, requested_by)
    await tx.emit(
        LedgerCheckpoint(**data, county_day=day, reason=reason, checkpoint_id=checkpoint_id),
        aggregate_id=f"ledger-checkpoint-{checkpoint_id}",
    )
    return cp.as_dict() | {"county_day": day.isoformat(), "reason": reason}


async def daily_checkpoint(tx: Tx, limit: int) -> int:
    """One signed checkpoint per county day (Asia/Shanghai, the injected clock): a sweep step."""
    await store.lock_head(tx.conn)  # replicas racing for the day: the second sees the first's row
    if await store.daily_checkpoint_exists(tx.conn, local_date(tx.clock.now())):
        return 0
    await make_checkpoint(tx, "daily", "system")
    return 0  # one a day: never ask the sweep to run again at once


async def _prove(conn: asyncpg.Connection, build) -> list[bytes]:
    """Run a proof twice: once to learn which stored subtrees it needs, once with them (one query)."""
    wanted: list[tuple[int, int]] = []
    build(lambda level, index: wanted.append((level, index)) or b"")
    found = await store.perfect_hashes(conn, wanted)
    return build(lambda level, index: found[(level, index)])


async def _size(conn: asyncpg.Connection) -> int:
    return (await store.read_head(conn))["tree_size"]


async def prove_consistency(conn: asyncpg.Connection, first: int, second: int) -> dict[str, Any]:
    size = await _size(conn)
    if not 0 <= first <= second:
        raise InvalidInput("INVALID_TREE_SIZE", "from must be between 0 and to", field="from",
            detail_zh=f"“from”须在 0 与“to”之间（现为 {first} 和 {second}）。")
    if second > size:
        raise NotFound("TREE_SIZE_UNKNOWN", f"the tree has {size} leaves, not {second}", field="to",
            detail_zh=f"账本树目前有 {size} 个叶子，没有大小为 {second} 的树。")
    proof = await _prove(conn, lambda perfect: consistency_proof(first, second, perfect))
    return {"from_size": first, "to_size": second, "proof": [h.hex() for h in proof]}


async def prove_inclusion(
    conn: asyncpg.Connection, leaf_index: int, tree_size: int
) -> dict[str, Any]:
    size = await _size(conn)
    if tree_size > size:
        raise NotFound(
            "TREE_SIZE_UNKNOWN", f"the tree has {size} leaves, not {tree_size}", field="tree_size",
            detail_zh=f"账本树目前有 {size} 个叶子，没有大小为 {tree_size} 的树。",
        )
    if not 0 <= leaf_index < tree_size:
        raise InvalidInput(
            "INVALID_LEAF_INDEX",
            f"a leaf of a tree of {tree_size} is 0..{tree_size - 1}",
            field="leaf_index",
            detail_zh=f"大小为 {tree_size} 的树，叶子序号须在 0 至 {tree_size - 1} 之间。",
        )
    proof = await _prove(conn, lambda perfect: inclusion_proof(leaf_index, tree_size, perfect))
    leaf = (await store.perfect_hashes(conn, [(0, leaf_index)]))[(0, leaf_index)]
    return {
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "leaf_hash": leaf.hex(),
        "proof": [h.hex() for h in proof],
    }


async def seal_schema_changes(tx: Tx) -> list[str]:
    """A migration that changed a covered table's columns changed every row's jsonb without a
    trigger: seal a snapshot of each such table (verify checks it changes no kept value), so
    the rows match their leaves again. Returns the tables snapshotted."""
    await store.lock_head(tx.conn)  # one replica at a time
    now = await store.current_shapes(tx.conn, COVERED_TABLES)
    recorded = await store.recorded_shapes(tx.conn)
    changed, started = [], []
    for table, columns in sorted(now.items()):
        before = recorded.get(table)
        if before is None:  # first start with shapes: the columns the table's last leaf has
            leaf = await store.latest_leaf_of(tx.conn, table)
            names = {c.split(":", 1)[0] for c in columns}
            if leaf is None:  # newly covered (a table added to the list): its rows as they are
                started.append(table)
            elif set(parse_leaf(leaf)[2]) != names:
                changed.append(table)
        elif before != columns:
            changed.append(table)
        if before != columns:
            await store.save_shape(tx.conn, table, columns)
    for table in changed:
        await store.capture_snapshot(tx.conn, table)
    for table in started:
        await store.capture_snapshot(tx.conn, table, "insert")
    await seal(tx)
    return changed + started

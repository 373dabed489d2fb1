"""SQL for the funds schema (asyncpg). Called only from service.py inside one transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from ruralfund_common.ids import new_id

from ..domain.ledger import Balance, Entry, normal_side

__all__ = ["lock_balances", "write_entry", "append_audit", "GENESIS_HASH"]

GENESIS_HASH = "0" * 64


async def lock_balances(conn: asyncpg.Connection, program_code: str, accounts: Iterable[str]) -> dict[str, int]:
    """Current balances of ``accounts``, row-locked until commit so checks cannot race.

    Locked in account order, so two transactions touching the same accounts cannot deadlock."""
    names = sorted(set(accounts))
    await conn.execute(
        "INSERT INTO balances (program_code, account, normal_side) SELECT $1, a, s FROM unnest($2::text[], $3::text[]) AS t(a, s) "
        "ON CONFLICT DO NOTHING",
        program_code, names, [normal_side(a).value for a in names],
    )
    rows = await conn.fetch(
        "SELECT account, debits_fen, credits_fen FROM balances WHERE program_code=$1 AND account = ANY($2::text[]) "
        "ORDER BY account FOR UPDATE",
        program_code, names,
    )
    return {r["account"]: Balance(r["account"], r["debits_fen"], r["credits_fen"]).balance_fen for r in rows}


async def write_entry(conn: asyncpg.Connection, program_code: str, entry: Entry, *, reference: str,
                      posted_at: datetime) -> str:
    entry_id = new_id()
    await conn.execute(
        "INSERT INTO entries (entry_id, program_code, kind, reference, memo, posted_at) VALUES ($1,$2,$3,$4,$5,$6)",
        entry_id, program_code, entry.kind, reference, entry.memo, posted_at,
    )
    await conn.executemany(
        "INSERT INTO postings (entry_id, program_code, account, debit_fen, credit_fen) VALUES ($1,$2,$3,$4,$5)",
        [(entry_id, program_code, l.account, l.debit_fen, l.credit_fen) for l in entry.lines],
    )
    await conn.executemany(
        "UPDATE balances SET debits_fen = debits_fen + $3, credits_fen = credits_fen + $4 "
        "WHERE program_code=$1 AND account=$2",
        [(program_code, l.account, l.debit_fen, l.credit_fen) for l in entry.lines],
    )
    await append_audit(conn, "entry", {
        "entry_id": entry_id, "program_code": program_code, "kind": entry.kind, "reference": reference,
        "posted_at": posted_at.isoformat(),
        "lines": [[l.account, l.debit_fen, l.credit_fen] for l in entry.lines],
    }, posted_at)
    return entry_id


def audit_hash(prev_hash: str, kind: str, payload: dict[str, Any]) -> str:
    body = json.dumps({"kind": kind, "payload": payload}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def append_audit(conn: asyncpg.Connection, kind: str, payload: dict[str, Any], at: datetime) -> None:
    # One writer at a time extends the chain; the lock is released at commit.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ruralfund.funds.audit'))")
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1") or GENESIS_HASH
    await conn.execute(
        "INSERT INTO audit_log (kind, payload, prev_hash, hash, recorded_at) VALUES ($1,$2,$3,$4,$5)",
        kind, payload, prev, audit_hash(prev, kind, payload), at,
    )

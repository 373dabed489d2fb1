"""Reads the funds schema for ``ruralfund ledger verify``: recompute the audit hash chain, each
program's trial balance, and every kept balance against the postings.

Reads directly (never through the service's pool or rules), so it sees exactly what is stored;
all checks are the pure functions of ``domain.audit``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ..domain.audit import Problem, verify_chain, verify_entries_against_audit, verify_postings

__all__ = ["VerifyReport", "verify_ledger"]


@dataclass
class VerifyReport:
    audit_records: int = 0
    entries: int = 0
    postings: int = 0
    programs: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "audit_records": self.audit_records, "entries": self.entries,
                "postings": self.postings, "programs": self.programs,
                "problems": [p.__dict__ for p in self.problems]}


async def verify_ledger(conn: asyncpg.Connection) -> VerifyReport:
    report = VerifyReport()
    async with conn.transaction(isolation="repeatable_read", readonly=True):  # one consistent snapshot
        audit = await conn.fetch("SELECT seq, kind, payload, prev_hash, hash FROM audit_log ORDER BY seq")
        postings = await conn.fetch("SELECT program_code, entry_id::text AS e, account, debit_fen, credit_fen "
                                    "FROM postings ORDER BY posting_id")
        kept = await conn.fetch("SELECT program_code, account, debits_fen, credits_fen FROM balances")
        report.entries = await conn.fetchval("SELECT count(*) FROM entries")
    report.audit_records, chain = verify_chain(
        (r["seq"], r["kind"], _json(r["payload"]), r["prev_hash"], r["hash"]) for r in audit)
    report.problems += chain
    report.postings = len(postings)
    report.problems += verify_postings(
        ((r["program_code"], r["e"], r["account"], r["debit_fen"], r["credit_fen"]) for r in postings),
        ((r["program_code"], r["account"], r["debits_fen"], r["credits_fen"]) for r in kept))
    journal: dict[str, list[list[Any]]] = {}
    for r in postings:
        journal.setdefault(r["e"], []).append([r["account"], r["debit_fen"], r["credit_fen"]])
        tb = report.programs.setdefault(r["program_code"], {"debits_fen": 0, "credits_fen": 0})
        tb["debits_fen"] += r["debit_fen"]
        tb["credits_fen"] += r["credit_fen"]
    audited = {p["entry_id"]: p["lines"] for p in (_json(r["payload"]) for r in audit if r["kind"] == "entry")}
    report.problems += verify_entries_against_audit(journal, audited)
    return report


def _json(value: Any) -> Any:
    # a bare connection may not have the service's jsonb codec
    import json

    return json.loads(value) if isinstance(value, str) else value

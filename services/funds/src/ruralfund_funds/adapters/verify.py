"""Reads the funds schema for ``ruralfund ledger verify``: recompute the audit hash chain, each
program's trial balance, and every kept balance against the postings; with kept checkpoints,
the Merkle tree (consistency to each, the signed head) and every covered row against its leaves.

Reads directly (never through the service's pool or rules), so it sees exactly what is stored;
all checks are the pure functions of ``domain.audit``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ..domain.audit import Problem, verify_chain, verify_entries_against_audit, verify_postings
from ..domain.checkpoint import ORIGIN, Checkpoint
from ..domain.leaves import COVERED_TABLES, compare, fold, parse_leaf
from ..domain.merkle import LeafHashes, consistency_proof, leaf_hash, verify_consistency

__all__ = ["TreeReport", "TreeState", "VerifyReport", "check_tree", "read_tree_state", "verify_ledger"]


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


# -- the Merkle tree against a kept checkpoint (issue 15) ---------------------------------------
_COVERED_SQL = ("SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                "JOIN pg_proc p ON p.oid = g.tgfoid WHERE p.proname = 'ledger_capture' "
                "AND c.relnamespace = current_schema()::regnamespace")
_PK_SQL = ("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
           "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary "
           "ORDER BY array_position(i.indkey::int2[], a.attnum)")


@dataclass
class TreeState:
    """Everything the tree check reads, from one snapshot."""

    leaves: list[tuple[int, str, bytes]]
    head: dict[str, Any]
    pending: list[str]
    rows: dict[str, list[dict[str, Any]]]
    keys: dict[str, list[str]]
    stored_checkpoints: list[dict[str, Any]]


async def read_tree_state(conn: asyncpg.Connection) -> TreeState:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL timezone = 'UTC'")  # rows as jsonb exactly as the trigger wrote them
        leaves = [(r["leaf_index"], r["leaf"], bytes(r["leaf_hash"])) for r in await conn.fetch(
            "SELECT leaf_index, leaf, leaf_hash FROM ledger_leaves ORDER BY leaf_index")]
        head = dict(await conn.fetchrow("SELECT * FROM ledger_head"))
        pending = [r["leaf"] for r in await conn.fetch("SELECT leaf FROM ledger_pending ORDER BY pending_id")]
        tables = sorted(set(COVERED_TABLES) | {r["relname"] for r in await conn.fetch(_COVERED_SQL)})
        rows, keys = {}, {}
        for t in tables:
            keys[t] = [r["attname"] for r in await conn.fetch(_PK_SQL, t)]
            rows[t] = [_json(r["j"]) for r in await conn.fetch(f'SELECT to_jsonb(t)::text AS j FROM "{t}" t')]
        stored = [dict(r) for r in await conn.fetch("SELECT * FROM ledger_checkpoints ORDER BY tree_size")]
    return TreeState(leaves, head, pending, rows, keys, stored)


SignatureCheck = Callable[[Checkpoint], str | None]  # None when good, else why not


@dataclass
class TreeReport:
    tree_size: int = 0
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "checkpoints": self.checkpoints}


def check_tree(state: TreeState, kept: list[Checkpoint], signature_problem: SignatureCheck) -> TreeReport:
    """The current log against kept checkpoints: each one signed by funds, the first tree_size
    leaves still hashing to its root (consistency proof to now), the head signed over exactly
    the leaves there are, no change left unsealed, and every covered row as its leaves say."""
    report = TreeReport(tree_size=len(state.leaves))
    problems = report.problems
    hashes = _leaf_hashes(state.leaves, problems)
    tree = LeafHashes(hashes)
    root = tree.root()
    for cp in kept:
        problems += _against_checkpoint(cp, tree, root, state, signature_problem)
        report.checkpoints.append(cp.as_dict())
    problems += _head_problems(state.head, tree, root, signature_problem)
    if state.pending:
        problems.append(Problem("unsealed_change", "ledger_pending", f"{len(state.pending)} row change(s) were never "
                                f"sealed into the tree (made around the service): {_describe(state.pending[:5])}"))
    folded, rule_findings = fold(((i, text) for i, text, _ in state.leaves), state.keys)
    findings = rule_findings + compare(folded, state.rows, state.keys)
    problems += [Problem(f.check, f.where, f.detail) for f in findings]
    return report


def _leaf_hashes(leaves: list[tuple[int, str, bytes]], problems: list[Problem]) -> list[bytes]:
    out = []
    for expected, (index, text, stored) in enumerate(leaves):
        if index != expected:
            problems.append(Problem("tree_leaf", f"leaf #{expected}", f"missing: the next stored leaf is #{index}"))
        h = leaf_hash(text.encode())
        if h != stored:
            problems.append(Problem("tree_leaf", f"leaf #{index}", "its content no longer matches the hash stored with "
                                                                 f"it: rewritten ({_describe([text])})"))
        out.append(h)
    return out


def _against_checkpoint(cp: Checkpoint, tree: LeafHashes, root: bytes, state: TreeState,
                        signature_problem: SignatureCheck) -> list[Problem]:
    at = f"checkpoint tree_size={cp.tree_size} root={cp.root_hash[:16]}…"
    why = signature_problem(cp)
    if why is not None:
        return [Problem("checkpoint_signature", at, why)]
    if cp.tree_size > tree.size:
        return [Problem("tree_truncated", at, f"the log has {tree.size} leaves, fewer than the checkpoint's "
                                              f"{cp.tree_size}: leaves #{tree.size}..#{cp.tree_size - 1} were removed")]
    proof = consistency_proof(cp.tree_size, tree.size, tree.perfect)
    if verify_consistency(cp.tree_size, tree.size, bytes.fromhex(cp.root_hash), root, proof):
        return []
    return [Problem("tree_rewritten", at, f"the first {cp.tree_size} leaves no longer hash to the checkpoint's root "
                                          "(the consistency proof to now fails): history before the checkpoint was "
                                          f"rewritten{_narrow(cp, tree, state)}")]


def _narrow(cp: Checkpoint, tree: LeafHashes, state: TreeState) -> str:
    """Between which leaves, from the signed checkpoints the database keeps (their signatures are
    checked by the same key; the attacker cannot make new ones)."""
    good, bad = 0, cp.tree_size
    for r in state.stored_checkpoints:
        size = r["tree_size"]
        if size > cp.tree_size or size > tree.size:
            continue
        if tree.root(size).hex() == r["root_hash"]:
            good = max(good, size)
        else:
            bad = min(bad, size)
    return f" (a leaf in #{good}..#{bad - 1} changed)" if (good, bad) != (0, cp.tree_size) else ""


def _head_problems(head: dict[str, Any], tree: LeafHashes, root: bytes, signature_problem: SignatureCheck) -> list[Problem]:
    size = head["tree_size"]
    if not head.get("signature"):
        return [] if tree.size == 0 and size == 0 else [Problem("tree_head", "ledger_head", "the head is not signed")]
    signed = Checkpoint(ORIGIN, size, bytes(head["root_hash"]).hex(), head["signed_at"], head["key_id"],
                        head["signature"])
    why = signature_problem(signed)
    if why is not None:
        return [Problem("tree_head", "ledger_head", f"the head's signature: {why}")]
    if size < tree.size:
        return [Problem("tree_forged_append", f"leaves #{size}..#{tree.size - 1}",
                        f"beyond the last head funds signed (size {size}): appended without funds' key")]
    if size > tree.size:
        return [Problem("tree_truncated", "ledger_leaves", f"funds signed a head of {size} leaves, "
                                                           f"the log has {tree.size}")]
    if tree.root(size) != bytes(head["root_hash"]):
        return [Problem("tree_rewritten", "ledger_head", "the leaves no longer hash to the root funds signed last")]
    return []


def _describe(leaves: list[str]) -> str:
    out = []
    for text in leaves:
        try:
            table, op, row = parse_leaf(text)
        except (ValueError, KeyError, TypeError):
            out.append("unreadable")
            continue
        ident = next((f"{k}={row[k]}" for k in ("entry_id", "payment_id", "award_id", "seq", "posting_id") if k in row),
                     "")
        out.append(f"{op} {table} {ident}".strip())
    return ", ".join(out)

"""The audit log's hash chain and the checks that recompute it and the books.

Each record's hash is SHA-256(previous hash + canonical JSON of kind and payload); changing,
removing or reordering any record breaks every later link. Pure functions over rows the
caller reads, so the CLI, the tests and any future auditor tool agree on one definition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .ledger import Side, family_of, normal_side

__all__ = [
    "GENESIS_HASH",
    "Problem",
    "audit_hash",
    "canonical",
    "verify_chain",
    "verify_entries_against_audit",
    "verify_postings",
]

GENESIS_HASH = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def audit_hash(prev_hash: str, kind: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical({"kind": kind, "payload": payload})).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    check: str  # audit_chain | trial_balance | entry_balance | kept_balance | negative_balance | journal_vs_audit
    where: str
    detail: str


def verify_chain(rows: Iterable[tuple[int, str, Mapping[str, Any], str, str]]) -> tuple[int, list[Problem]]:
    """``rows``: (seq, kind, payload, prev_hash, hash) in seq order. Returns (count, problems).

    Gaps in ``seq`` are not breaks: a rolled-back transaction consumes sequence numbers. A
    removed or reordered record breaks the next record's ``prev_hash`` link instead."""
    problems: list[Problem] = []
    prev, n = GENESIS_HASH, 0
    for seq, kind, payload, prev_hash, stored in rows:
        n += 1
        if prev_hash != prev:
            problems.append(Problem("audit_chain", f"seq {seq}", "prev_hash does not link to the previous record"))
        if audit_hash(prev_hash, kind, payload) != stored:
            problems.append(Problem("audit_chain", f"seq {seq}", "hash does not match the record's content"))
        prev = stored
    return n, problems


def verify_postings(postings: Iterable[tuple[str, str, str, int, int]],
                    kept: Iterable[tuple[str, str, int, int]]) -> list[Problem]:
    """``postings``: (program, entry_id, account, debit, credit); ``kept``: (program, account,
    debits, credits) from the kept balance table. Checks per entry and per program that debits
    equal credits, that no account is below zero on its normal side, and that every kept
    balance equals the sum of its postings."""
    problems: list[Problem] = []
    per_entry: dict[str, int] = {}
    per_program: dict[str, list[int]] = {}
    sums: dict[tuple[str, str], list[int]] = {}
    for program, entry_id, account, debit, credit in postings:
        per_entry[entry_id] = per_entry.get(entry_id, 0) + debit - credit
        tb = per_program.setdefault(program, [0, 0])
        tb[0] += debit
        tb[1] += credit
        s = sums.setdefault((program, account), [0, 0])
        s[0] += debit
        s[1] += credit
    problems += [Problem("entry_balance", f"entry {e}", f"debits - credits = {d}") for e, d in per_entry.items() if d]
    problems += [Problem("trial_balance", f"program {p}", f"debits {d} != credits {c}")
                 for p, (d, c) in per_program.items() if d != c]
    for (program, account), (d, c) in sums.items():
        if family_of(account) is None:  # no normal side to judge it on: never a silent debit
            problems.append(Problem("unknown_account", f"{program} {account}", "not an account family of the books"))
            continue
        bal = d - c if normal_side(account) is Side.DEBIT else c - d
        if bal < 0:
            problems.append(Problem("negative_balance", f"{program} {account}", f"balance {bal} below zero"))
    kept_map = {(p, a): (d, c) for p, a, d, c in kept}
    for key in set(kept_map) | set(sums):
        want = tuple(sums.get(key, (0, 0)))
        have = kept_map.get(key, (0, 0))
        if tuple(have) != want:
            problems.append(Problem("kept_balance", f"{key[0]} {key[1]}",
                                    f"kept debits/credits {have} != postings {want}"))
    return problems


def verify_entries_against_audit(journal: Mapping[str, list[list[Any]]],
                                  audited: Mapping[str, list[list[Any]]]) -> list[Problem]:
    """Every entry's postings must be exactly the lines its audit record signed."""
    problems: list[Problem] = []
    for entry_id, lines in journal.items():
        signed = audited.get(entry_id)
        if signed is None:
            problems.append(Problem("journal_vs_audit", f"entry {entry_id}", "entry has no audit record"))
        elif sorted(map(tuple, signed)) != sorted(map(tuple, lines)):
            problems.append(Problem("journal_vs_audit", f"entry {entry_id}", "postings differ from the audited lines"))
    for entry_id in set(audited) - set(journal):
        problems.append(Problem("journal_vs_audit", f"entry {entry_id}", "audited entry missing from the journal"))
    return problems

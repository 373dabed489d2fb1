"""What the ledger's leaves say about the tables, and what a verifier concludes from them.

A leaf is one change to a covered row, as the database wrote it: ``{"table", "op", "row"}``
(``op`` insert, update or delete; ``row`` the whole row). Folding the leaves in order gives the
state every covered row must have now; :func:`compare` names each row that differs, has no leaf
(written around the service) or is gone. :func:`fold` also applies the rules no legitimate
change breaks: journal rows are never changed, no covered row is deleted, an executed
payment's content and a paid award's bank account never change. Generic over tables and
columns: a new entry kind or column is covered without code here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APPEND_ONLY",
    "COVERED_TABLES",
    "Finding",
    "RowState",
    "compare",
    "fold",
    "parse_leaf",
    "row_key",
]

#: Tables whose every change becomes a leaf (the row triggers of migration 0007).
COVERED_TABLES = (
    "programs",
    "items",
    "releases",
    "awards",
    "payments",
    "approvals",
    "entries",
    "postings",
    "objections",
    "adjustments",
    "defaults",
    "repayments",
    "contract_tranches",
    "history_imports",
    "audit_log",
    "registry_bank_accounts",  # the enterprise registry's account: the one unpaid awards are paid to
)
#: Tables whose rows are written once: an update leaf of one is itself a finding.
APPEND_ONLY = frozenset(
    {
        "entries",
        "postings",
        "approvals",
        "audit_log",
        "releases",
        "adjustments",
        "repayments",
        "history_imports",
    }
)
_EXECUTED = frozenset({"executed", "settled", "failed"})
_PAYEE_BANK = ("payee_bank_name", "payee_bank_account")
MAX_VALUE_CHARS = 120

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Finding:
    check: str  # leaf_rule | row_differs | row_without_leaf | row_missing | unsealed_change
    where: str  # e.g. "payments payment_id=…"
    detail: str


@dataclass
class RowState:
    leaf_index: int
    row: dict[str, Any]


def parse_leaf(text: str) -> tuple[str, str, dict[str, Any]]:
    leaf = json.loads(text)
    return leaf["table"], leaf["op"], leaf["row"]


def row_key(table: str, row: Mapping[str, Any], keys: Mapping[str, Sequence[str]]) -> Key:
    cols = keys.get(table)
    if not cols:  # a table without a primary key: the row is its own key
        return (json.dumps(row, sort_keys=True),)
    return tuple(row.get(c) for c in cols)


def where(table: str, key: Key, keys: Mapping[str, Sequence[str]]) -> str:
    cols = keys.get(table) or ("row",)
    return f"{table} " + " ".join(f"{c}={v}" for c, v in zip(cols, key, strict=False))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Which columns changed and how (nested objects: which of their fields)."""
    parts = []
    for col in sorted(set(before) | set(after)):
        a, b = before.get(col), after.get(col)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            parts += [
                f"{col}.{k}: {_short(a.get(k))} → {_short(b.get(k))}"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        else:
            parts.append(f"{col}: {_short(a)} → {_short(b)}")
    return "; ".join(parts)


def fold(
    leaves: Iterable[tuple[int, str]], keys: Mapping[str, Sequence[str]]
) -> tuple[dict[tuple[str, Key], RowState], list[Finding]]:
    """The state of every covered row after the leaves, and the leaves no legitimate change makes."""
    state: dict[tuple[str, Key], RowState] = {}
    found: list[Finding] = []
    for index, text in leaves:
        try:
            table, op, row = parse_leaf(text)
        except (ValueError, KeyError, TypeError):
            found.append(Finding("leaf_rule", f"leaf #{index}", "not a leaf (unreadable JSON)"))
            continue
        key = row_key(table, row, keys)
        at, before = where(table, key, keys), state.get((table, key))
        if op == "delete":
            found.append(
                Finding(
                    "leaf_rule",
                    at,
                    f"leaf #{index} deletes the row: covered rows are never deleted",
                )
            )
            state.pop((table, key), None)
            continue
        if op == "insert" and before is not None:
            found.append(
                Finding(
                    "leaf_rule",
                    at,
                    f"leaf #{index} inserts the row again (first: leaf #{before.leaf_index})",
                )
            )
        if op == "migrate":
            found += _migration_rules(at, index, before, row)
        elif op == "update":
            if before is None:
                found.append(
                    Finding("leaf_rule", at, f"leaf #{index} updates a row that no leaf inserted")
                )
            elif table in APPEND_ONLY:
                found.append(
                    Finding(
                        "leaf_rule",
                        at,
                        f"leaf #{index} changes a {table} row, which is written once: "
                        + diff(before.row, row),
                    )
                )
            else:
                found += _domain_rules(table, at, index, before, row)
        state[(table, key)] = RowState(index, row)
    return state, found


def _migration_rules(
    at: str, index: int, before: RowState | None, row: Mapping[str, Any]
) -> list[Finding]:
    """A snapshot after a schema change may add or drop columns, never change a kept one."""
    if before is None:
        return [
            Finding(
                "leaf_rule",
                at,
                f"leaf #{index} (a schema migration's snapshot) shows a row that no leaf inserted",
            )
        ]
    kept = set(before.row) & set(row)
    changed = {c for c in kept if before.row[c] != row[c]}
    if not changed:
        return []
    return [
        Finding(
            "leaf_rule",
            at,
            f"leaf #{index} (a schema migration's snapshot) changes "
            + diff({c: before.row[c] for c in changed}, {c: row[c] for c in changed}),
        )
    ]


def _domain_rules(
    table: str, at: str, index: int, before: RowState, row: Mapping[str, Any]
) -> list[Finding]:
    old = before.row
    if table == "payments" and old.get("status") in _EXECUTED:
        for col in ("content", "content_sha256", "award_id"):
            if old.get(col) != row.get(col):
                return [
                    Finding(
                        "leaf_rule",
                        at,
                        f"leaf #{index} changes an executed payment's {col}: "
                        + diff({col: old.get(col)}, {col: row.get(col)}),
                    )
                ]
    if table == "awards" and old.get("status") == "paid":
        changed = {c: row.get(c) for c in _PAYEE_BANK if old.get(c) != row.get(c)}
        if changed:
            return [
                Finding(
                    "leaf_rule",
                    at,
                    f"leaf #{index} changes a paid award's payee bank account: "
                    + diff({c: old.get(c) for c in changed}, changed),
                )
            ]
    return []


def compare(
    state: Mapping[tuple[str, Key], RowState],
    current: Mapping[str, Iterable[dict[str, Any]]],
    keys: Mapping[str, Sequence[str]],
) -> list[Finding]:
    """Every covered row now against the state its leaves give it."""
    found: list[Finding] = []
    seen: set[tuple[str, Key]] = set()
    for table, rows in current.items():
        for row in rows:
            key = row_key(table, row, keys)
            seen.add((table, key))
            expected = state.get((table, key))
            if expected is None:
                found.append(
                    Finding(
                        "row_without_leaf",
                        where(table, key, keys),
                        "the row has no leaf: written around the service (or its leaf removed)",
                    )
                )
            elif expected.row != row:
                found.append(
                    Finding(
                        "row_differs",
                        where(table, key, keys),
                        f"differs from its leaf #{expected.leaf_index}: {diff(expected.row, row)}",
                    )
                )
    for (table, key), expected in state.items():
        if table in current and (table, key) not in seen:
            found.append(
                Finding(
                    "row_missing",
                    where(table, key, keys),
                    f"the row is gone (its last leaf is #{expected.leaf_index})",
                )
            )
    return found

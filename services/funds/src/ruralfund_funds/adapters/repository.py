"""SQL for the funds schema (asyncpg). Called only from the service layer inside one transaction.

Writes are set-based (unnest arrays) so a batch of payments costs a handful of round trips,
not a handful per payment: the ledger benchmark depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg
from ruralfund_common.ids import new_id

from ..domain.audit import GENESIS_HASH, audit_hash, canonical
from ..domain.awards import (
    Award,
    AwardStatus,
    ItemInfo,
    Objection,
    Payee,
    PaymentOrder,
    PaymentStatus,
    ProgramView,
    Tranche,
    Window,
)
from ..domain.ledger import Balance, Entry, Part, normal_side
from ..domain.payments import Approval, PaymentContent
from ..domain.ratios import Justification, Money, Phase, Rule, ShareBook, Spend

__all__ = [
    "GENESIS_HASH",
    "append_audit",
    "file_unknown_objection",
    "insert_awards",
    "load_awards",
    "load_objections_for",
    "load_program",
    "load_shares",
    "load_spend",
    "lock_award_key",
    "lock_balances",
    "phase_of",
    "rule_of",
    "save_awards",
    "save_objections",
    "write_entries",
]

AUDIT_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('ruralfund.funds.audit'))"


# -- balances and journal ----------------------------------------------------------------------
async def lock_balances(conn: asyncpg.Connection, program_code: str, accounts: Iterable[str]) -> dict[str, int]:
    """Current balances of ``accounts``, row-locked until commit so checks cannot race.

    Locked in account order, so two transactions touching the same accounts cannot deadlock."""
    names = sorted(set(accounts))
    await conn.execute(
        "INSERT INTO balances (program_code, account, normal_side) "
        "SELECT $1, a, s FROM unnest($2::text[], $3::text[]) AS t(a, s) ORDER BY a ON CONFLICT DO NOTHING",
        program_code, names, [normal_side(a).value for a in names],
    )
    rows = await conn.fetch(
        "SELECT account, debits_fen, credits_fen FROM balances WHERE program_code=$1 AND account = ANY($2::text[]) "
        "ORDER BY account FOR UPDATE",
        program_code, names,
    )
    return {r["account"]: Balance(r["account"], r["debits_fen"], r["credits_fen"]).balance_fen for r in rows}


AuditRecords = list[tuple[str, dict[str, Any]]]


async def write_entries(conn: asyncpg.Connection, program_code: str, entries: list[Entry], posted_at: datetime,
                        audit: AuditRecords | None = None) -> None:
    """Journal entries + postings + kept balances + audit records, in the caller's transaction.
    With ``audit`` the audit records are collected there for one ``append_audit`` at the end
    (one chain extension per transaction instead of one per step)."""
    if not entries:
        return
    ids = [new_id() for _ in entries]
    await conn.execute(
        "INSERT INTO entries (entry_id, program_code, kind, reference, memo, posted_at) "
        "SELECT i, $1, k, r, m, $6 FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS t(i, k, r, m)",
        program_code, ids, [e.kind for e in entries], [e.reference for e in entries], [e.memo for e in entries],
        posted_at,
    )
    lines = [(eid, ln) for eid, e in zip(ids, entries, strict=True) for ln in e.lines]
    await conn.execute(
        "INSERT INTO postings (entry_id, program_code, account, debit_fen, credit_fen) "
        "SELECT i, $1, a, d, c FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::bigint[]) AS t(i, a, d, c)",
        program_code, [eid for eid, _ in lines], [ln.account for _, ln in lines],
        [ln.debit_fen for _, ln in lines], [ln.credit_fen for _, ln in lines],
    )
    sums: dict[str, list[int]] = {}
    for _, ln in lines:
        s = sums.setdefault(ln.account, [0, 0])
        s[0] += ln.debit_fen
        s[1] += ln.credit_fen
    accounts = sorted(sums)
    await conn.execute(
        "UPDATE balances b SET debits_fen = b.debits_fen + t.d, credits_fen = b.credits_fen + t.c "
        "FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS t(a, d, c) WHERE b.program_code=$1 AND b.account=t.a",
        program_code, accounts, [sums[a][0] for a in accounts], [sums[a][1] for a in accounts],
    )
    records = [("entry", entry_audit_payload(eid, program_code, e, posted_at)) for eid, e in zip(ids, entries, strict=True)]
    if audit is not None:
        audit.extend(records)
    else:
        await append_audit(conn, records, posted_at)


def entry_audit_payload(entry_id: str, program_code: str, e: Entry, posted_at: datetime) -> dict[str, Any]:
    return {"entry_id": str(entry_id), "program_code": program_code, "kind": e.kind, "reference": e.reference,
            "posted_at": posted_at.isoformat(), "lines": [[ln.account, ln.debit_fen, ln.credit_fen] for ln in e.lines]}


async def append_audit(conn: asyncpg.Connection, records: list[tuple[str, dict[str, Any]]], at: datetime) -> None:
    """Extend the hash chain. One writer at a time (advisory lock held to commit), so the chain
    order is the commit order and ``seq`` order."""
    if not records:
        return
    await conn.execute(AUDIT_LOCK_SQL)
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1") or GENESIS_HASH
    kinds, payloads, prevs, hashes = [], [], [], []
    for kind, payload in records:
        h = audit_hash(prev, kind, payload)
        kinds.append(kind)
        payloads.append(canonical(payload))
        prevs.append(prev)
        hashes.append(h)
        prev = h
    await conn.execute(
        "INSERT INTO audit_log (kind, payload, prev_hash, hash, recorded_at) "
        "SELECT k, p::jsonb, ph, h, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
        "WITH ORDINALITY AS t(k, p, ph, h, n) ORDER BY n",
        kinds, payloads, prevs, hashes, at,
    )


async def lock_award_key(conn: asyncpg.Connection, award_id: str) -> None:
    """Serialise everything that concerns one award id, including facts that arrive before the
    award exists (publication, objections): without it an objection committed while the
    approval is being reserved would be missed by both."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ruralfund.funds.award'), hashtext($1))", award_id)


async def file_unknown_objection(conn: asyncpg.Connection, objection: Objection, notice_id: str | None) -> None:
    """An objection for an award we do not know yet; never reopens one already resolved."""
    await conn.execute(
        "INSERT INTO objections (objection_id, award_id, notice_id, status, filed_at) VALUES ($1,$2,$3,'open',$4) "
        "ON CONFLICT (objection_id) DO UPDATE SET filed_at = coalesce(objections.filed_at, excluded.filed_at)",
        objection.objection_id, objection.award_id, notice_id, objection.filed_at)


# -- program -----------------------------------------------------------------------------------
async def load_program(conn: asyncpg.Connection, program_code: str) -> tuple[asyncpg.Record, ProgramView] | None:
    """The program with its items and defaulted contractors, in one round trip."""
    row = await conn.fetchrow(
        "SELECT p.*, (SELECT coalesce(array_agg(i.line_code || '/' || i.item_code || '/' || i.mode || '/' || "
        "coalesce(i.spending_category, '')), '{}') "
        "FROM items i WHERE i.program_code = p.program_code) AS item_list, "
        "(SELECT coalesce(array_agg(d.credit_code), '{}') FROM defaults d WHERE d.program_code = p.program_code) "
        "AS defaulted, (SELECT coalesce(jsonb_object_agg(i.item_code, i.item_name), '{}') FROM items i "
        "WHERE i.program_code = p.program_code) AS item_names FROM programs p WHERE p.program_code=$1", program_code)
    if row is None:
        return None
    items = [entry.split("/") for entry in row["item_list"]]  # codes never contain "/" (contract pattern)
    view = ProgramView(program_code, {item: ItemInfo(line, item, mode, cat or None) for line, item, mode, cat in items},
                       set(row["defaulted"]), row["joint_account_no"] or "", row["publicity_working_days"],
                       dict(row["item_names"]), row["contractor_credit_code"] or None)
    return row, view


# -- awards ------------------------------------------------------------------------------------
def rule_of(spec: dict[str, Any]) -> Rule:
    """A stored RatioRuleSpec (as the activation carried it) as a domain rule."""
    return Rule.of(spec["code"], spec["name"], spec["bound"], spec["limit_percent"], spec["on_breach"],
                   spec.get("lines"), spec.get("measure"))


def phase_of(r: asyncpg.Record) -> Phase:
    """An earlier phase: imported final-account figures replace the plan's, figure by figure."""
    return Phase(r["phase"], r["label"], r["total_fen"], {**r["plan_lines"], **r["actual_lines"]},
                 {**r["plan_measures"], **r["actual_measures"]})


async def load_spend(conn: asyncpg.Connection, program_code: str) -> Spend:
    """This program's executed (not failed, not reversed) payments: awards whose live payment
    was executed are ``paid``; a failed one is ``payable`` again."""
    spend = Spend()
    for r in await conn.fetch("SELECT line_code, spending_category, parts, measures, sum(amount_fen)::bigint AS s, "
                              "count(*)::bigint AS n FROM awards WHERE program_code=$1 AND status='paid' "
                              "GROUP BY 1, 2, 3, 4", program_code):
        if not r["parts"] and not r["measures"]:  # one item, no measured part: the fast common case
            spend.add(r["line_code"], r["spending_category"], r["s"])
            continue
        by_line: dict[str, int] = {} if r["parts"] else {r["line_code"]: r["s"]}
        for part in r["parts"]:  # the same parts on every row of the group: n times each
            by_line[part["line_code"]] = by_line.get(part["line_code"], 0) + part["amount_fen"] * r["n"]
        measures = {k: v * r["n"] for k, v in r["measures"].items()}
        spend.add(Money(by_line, r["spending_category"], measures))
    return spend


async def load_shares(conn: asyncpg.Connection, program_code: str,
                      program_row: asyncpg.Record | None = None) -> ShareBook | None:
    """The program's share rules with its history and spend, or None when it has no rules
    (then nothing more is read: programs without rules pay as fast as before).
    Callers deciding a payment hold the joint account's balance row (every execution and
    reversal locks it), so the spend read here is the spend at commit."""
    row = program_row or await conn.fetchrow("SELECT total_fen, ratio_rules FROM programs WHERE program_code=$1",
                                             program_code)
    if row is None or not row["ratio_rules"]:
        return None
    history = [phase_of(r) for r in await conn.fetch(
        "SELECT * FROM program_history WHERE program_code=$1 ORDER BY position", program_code)]
    return ShareBook([rule_of(s) for s in row["ratio_rules"]], history, row["total_fen"],
                     await load_spend(conn, program_code))


def _award(r: asyncpg.Record, tranche: Tranche | None = None) -> Award:
    window = Window(r["starts_on"], r["ends_on"], r["payable_from"]) if r["payable_from"] else None
    return Award(
        r["award_id"], r["claim_id"], r["program_code"], r["line_code"], r["item_code"],
        Payee(r["payee_credit_code"], r["payee_name"], r["payee_bank_name"], r["payee_bank_account"]),
        r["amount_fen"], r["reserved_at"], kind=r["kind"], requires_publicity=r["requires_publicity"],
        status=AwardStatus(r["status"]), refusal_code=r["refusal_code"], published_at=r["published_at"],
        window=window, window_error=r["window_error"], contract_reference=r["contract_reference"],
        spending_category=r["spending_category"], tranche=tranche,
        parts=tuple(Part(p["line_code"], p["item_code"], p["amount_fen"]) for p in r["parts"]),
        measures=dict(r["measures"]),
    )


def _tranche(r: asyncpg.Record) -> Tranche:
    return Tranche(r["contract_id"], r["contract_no"], r["tranche_code"], r["tranche_kind"], r["package_code"],
                   r["milestone_code"])


def _objection(r: asyncpg.Record) -> Objection:
    return Objection(r["objection_id"], r["award_id"], r["status"], r["filed_at"], r["resolved_at"], r["reason"],
                     r["after_payment"])


def _order(r: asyncpg.Record, approvals: list[Approval]) -> PaymentOrder:
    c = r["content"]
    justifications = [Justification(j["rule_code"], j["text"], j["recorded_by"], datetime.fromisoformat(j["recorded_at"]),
                                    j.get("recorded_by_name", "")) for j in r["ratio_justifications"]]
    return PaymentOrder(
        str(r["payment_id"]), r["award_id"], PaymentContent(**c), r["requested_by"], r["requested_at"],
        PaymentStatus(r["status"]), approvals, r["executed_at"], r["executed_on"], r["from_payable"],
        r["settled_at"], r["failed_at"], r["outcome_code"], r["bank_txn_id"],
        justifications=justifications, ratio_checks=list(r["ratio_checks"]),
    )


async def load_awards(conn: asyncpg.Connection, award_ids: list[str], *, for_update: bool = True) -> dict[str, Award]:
    """Awards with their objections and payment orders, locked in id order (no deadlocks)."""
    ids = sorted(set(award_ids))
    lock = " FOR UPDATE" if for_update else ""
    rows = await conn.fetch(f"SELECT * FROM awards WHERE award_id = ANY($1::text[]) ORDER BY award_id{lock}", ids)
    tranches: dict[str, Tranche] = {}
    if any(r["kind"] == "contract_payment" for r in rows):
        tranches = {t["award_id"]: _tranche(t) for t in await conn.fetch(
            "SELECT * FROM contract_tranches WHERE award_id = ANY($1::text[])", ids)}
    awards = {r["award_id"]: _award(r, tranches.get(r["award_id"])) for r in rows}
    if not awards:
        return awards
    for r in await conn.fetch("SELECT * FROM objections WHERE award_id = ANY($1::text[])", list(awards)):
        awards[r["award_id"]].objections[r["objection_id"]] = _objection(r)
    pays = await conn.fetch("SELECT * FROM payments WHERE award_id = ANY($1::text[]) ORDER BY requested_at", list(awards))
    approvals: dict[str, list[Approval]] = {}
    if pays:
        for r in await conn.fetch("SELECT * FROM approvals WHERE payment_id = ANY($1::uuid[]) ORDER BY approved_at",
                                  [p["payment_id"] for p in pays]):
            approvals.setdefault(str(r["payment_id"]), []).append(
                Approval(r["person"], r["name"], r["role"], r["content_sha256"], r["approved_at"]))
    for p in pays:
        order = _order(p, approvals.get(str(p["payment_id"]), []))
        award = awards[p["award_id"]]
        if order.status in (PaymentStatus.AWAITING_APPROVAL, PaymentStatus.EXECUTED, PaymentStatus.SETTLED):
            award.payment = order
        else:
            award.closed_payments.append(order)
    return awards


_AWARD_COLUMNS = ("award_id", "claim_id", "program_code", "line_code", "item_code", "payee_credit_code", "payee_name",
                  "payee_bank_name", "payee_bank_account", "amount_fen", "requires_publicity", "status",
                  "refusal_code", "reserved_at", "kind", "contract_reference", "spending_category", "parts",
                  "measures")


def _parts(a: Award) -> list[dict[str, Any]]:
    """Stored only when the award is split: one part on its own item is the row itself."""
    if len(a.parts) == 1:
        return []
    return [{"line_code": p.line_code, "item_code": p.item_code, "amount_fen": p.amount_fen} for p in a.parts]


async def insert_awards(conn: asyncpg.Connection, awards: list[Award]) -> None:
    await conn.executemany(
        f"INSERT INTO awards ({', '.join(_AWARD_COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(_AWARD_COLUMNS)))})",
        [(a.award_id, a.claim_id, a.program_code, a.line_code, a.item_code, a.payee.credit_code, a.payee.name,
          a.payee.bank_name, a.payee.bank_account, a.amount_fen, a.requires_publicity, a.status.value, a.refusal_code,
          a.reserved_at, a.kind, a.contract_reference, a.spending_category, _parts(a), a.measures) for a in awards],
    )
    await save_awards(conn, awards)


async def save_awards(conn: asyncpg.Connection, awards: list[Award], audit: AuditRecords | None = None) -> None:
    """Write back what an operation may have changed: award state, orders, new approvals, objections."""
    if not awards:
        return
    await conn.executemany(
        "UPDATE awards SET status=$2, refusal_code=$3, published_at=$4, starts_on=$5, ends_on=$6, payable_from=$7, "
        "window_error=$8, payee_bank_name=$9, payee_bank_account=$10 WHERE award_id=$1",
        [(a.award_id, a.status.value, a.refusal_code, a.published_at, a.window and a.window.starts_on,
          a.window and a.window.ends_on, a.window and a.window.payable_from, a.window_error, a.payee.bank_name,
          a.payee.bank_account) for a in awards],
    )
    orders = [o for a in awards for o in ([a.payment] if a.payment else []) + a.closed_payments]
    if orders:
        await conn.executemany(
            "INSERT INTO payments (payment_id, award_id, content, content_sha256, status, requested_by, requested_at, "
            "executed_at, executed_on, from_payable, settled_at, failed_at, outcome_code, bank_txn_id, bank_reference, "
            "ratio_justifications, ratio_checks) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) ON CONFLICT (payment_id) DO UPDATE SET "
            "content=$3, content_sha256=$4, status=$5, executed_at=$8, executed_on=$9, settled_at=$11, failed_at=$12, "
            "outcome_code=$13, bank_txn_id=$14, ratio_justifications=$16, ratio_checks=$17",
            [(o.payment_id, o.award_id, o.content.as_dict(), o.content_sha256, o.status.value, o.requested_by,
              o.requested_at, o.executed_at, o.executed_on, o.from_payable, o.settled_at, o.failed_at, o.outcome_code,
              o.bank_txn_id, o.bank_reference, [j.as_dict() for j in o.justifications], o.ratio_checks)
             for o in orders],
        )
    new = [(o.payment_id, a) for o in orders for a in o.new_approvals]
    if new:
        await conn.executemany(
            "INSERT INTO approvals (payment_id, person, name, role, content_sha256, approved_at) VALUES ($1,$2,$3,$4,$5,$6)",
            [(pid, a.person, a.name, a.role, a.content_sha256, a.approved_at) for pid, a in new],
        )
        records = [("approval", {"payment_id": pid, "person": a.person, "role": a.role,
                                 "content_sha256": a.content_sha256, "at": a.approved_at.isoformat()}) for pid, a in new]
        if audit is not None:
            audit.extend(records)
        else:
            await append_audit(conn, records, new[-1][1].approved_at)
        for o in orders:
            o.new_approvals.clear()
    await save_objections(conn, [o for a in awards for o in a.objections.values()])


async def save_objections(conn: asyncpg.Connection, objections: list[Objection], notice_id: str | None = None) -> None:
    if not objections:
        return
    await conn.executemany(
        "INSERT INTO objections (objection_id, award_id, notice_id, status, filed_at, resolved_at, reason, after_payment) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (objection_id) DO UPDATE SET status=$4, "
        "filed_at=coalesce(objections.filed_at, $5), resolved_at=$6, reason=$7, after_payment=$8, "
        "notice_id=coalesce(objections.notice_id, $3)",
        [(o.objection_id, o.award_id, notice_id, o.status, o.filed_at, o.resolved_at, o.reason, o.after_payment)
         for o in objections],
    )


async def load_objections_for(conn: asyncpg.Connection, award_id: str) -> dict[str, Objection]:
    rows = await conn.fetch("SELECT * FROM objections WHERE award_id=$1 FOR UPDATE", award_id)
    return {r["objection_id"]: _objection(r) for r in rows}


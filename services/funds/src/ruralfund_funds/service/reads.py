"""Read models: award and payment views, balances per program/line/item/payee, trial balance,
payee statement, postings export, adjustments report, three-way reconciliation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
from ruralfund_common.errors import NotFound
from ruralfund_common.money import format_yuan

from ..domain import ledger as L
from ..domain.journal import chart_account
from ..domain.reconcile import AwardRow, PaymentRow, StatementRow, reconcile
from .journal import account_names

__all__ = [
    "adjustments_report",
    "award_view",
    "balances",
    "payee_statement",
    "payment_view",
    "postings",
    "reconciliation",
]


def _plain(row: asyncpg.Record | dict) -> dict[str, Any]:
    """JSON-ready values: dates and instants as ISO text, uuids as text."""
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else str(v) if isinstance(v, UUID) else v
            for k, v in dict(row).items()}


async def award_view(conn: asyncpg.Connection, award_id: str) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM awards WHERE award_id=$1", award_id)
    if row is None:
        raise NotFound("AWARD_NOT_FOUND", f"no award {award_id}",
            detail_zh=f"没有编号为 {award_id} 的奖补。")
    out = _plain(row)
    out["amount_yuan"] = format_yuan(row["amount_fen"])
    # its share on each item (one part when it is wholly on its own item)
    out["parts"] = row["parts"] or [{"line_code": row["line_code"], "item_code": row["item_code"],
                                     "amount_fen": row["amount_fen"]}]
    out["objections"] = [_plain(r) for r in await conn.fetch(
        "SELECT objection_id, status, filed_at, resolved_at, after_payment FROM objections WHERE award_id=$1 "
        "ORDER BY objection_id", award_id)]
    out["held"] = any(o["status"] == "open" and not o["after_payment"] for o in out["objections"])
    tranche = await conn.fetchrow("SELECT contract_id, contract_no, package_code, tranche_code, tranche_kind, "
                                  "milestone_code, accepted_by, became_due_at FROM contract_tranches WHERE award_id=$1",
                                  award_id) if row["kind"] == "contract_payment" else None
    out["tranche"] = _plain(tranche) if tranche else None
    out["payments"] = [_plain(r) for r in await conn.fetch(
        "SELECT payment_id, status, bank_reference, requested_at, executed_at, settled_at, failed_at, outcome_code "
        "FROM payments WHERE award_id=$1 ORDER BY requested_at", award_id)]
    return out


async def payment_view(conn: asyncpg.Connection, payment_id: str) -> dict[str, Any]:
    pay = await conn.fetchrow("SELECT * FROM payments WHERE payment_id::text=$1", str(payment_id))
    if pay is None:
        raise NotFound("PAYMENT_NOT_FOUND", f"no payment {payment_id}",
            detail_zh=f"没有编号为 {payment_id} 的付款指令。")
    approvals = await conn.fetch("SELECT person, name, role, content_sha256, approved_at FROM approvals "
                                 "WHERE payment_id=$1 ORDER BY approved_at", pay["payment_id"])
    iso = lambda v: v.isoformat() if v else None
    return {
        "payment_id": str(pay["payment_id"]), "award_id": pay["award_id"], "status": pay["status"],
        "amount_fen": pay["content"]["amount_fen"], "content": pay["content"], "content_sha256": pay["content_sha256"],
        "bank_reference": pay["bank_reference"],
        "approvals": [{**dict(a), "approved_at": a["approved_at"].isoformat(),
                       "valid": a["content_sha256"] == pay["content_sha256"]} for a in approvals],
        "executed_at": iso(pay["executed_at"]), "settled_at": iso(pay["settled_at"]), "failed_at": iso(pay["failed_at"]),
        "outcome_code": pay["outcome_code"],
        # share rules: reasons recorded for departing from "in principle" rules, and the last verdict
        "ratio_justifications": pay["ratio_justifications"], "ratio_checks": pay["ratio_checks"],
    }


def _fen(n: int) -> dict[str, Any]:
    return {"fen": n, "yuan": format_yuan(n)}


async def _accounts(conn: asyncpg.Connection, program_code: str) -> dict[str, int]:
    rows = await conn.fetch("SELECT account, debits_fen, credits_fen FROM balances WHERE program_code=$1", program_code)
    if not rows:
        raise NotFound("PROGRAM_NOT_FOUND", f"no ledger for program {program_code}",
            detail_zh=f"没有方案 {program_code} 的账本。")
    return {r["account"]: L.Balance(r["account"], r["debits_fen"], r["credits_fen"]).balance_fen for r in rows}


async def balances(conn: asyncpg.Connection, program_code: str) -> dict[str, Any]:
    """Every account, rolled up per item, line and payee, with the trial balance from postings."""
    rows = await conn.fetch("SELECT account, normal_side, debits_fen, credits_fen FROM balances "
                            "WHERE program_code=$1 ORDER BY account", program_code)
    if not rows:
        raise NotFound("PROGRAM_NOT_FOUND", f"no ledger for program {program_code}",
            detail_zh=f"没有方案 {program_code} 的账本。")
    totals = await conn.fetchrow("SELECT coalesce(sum(debit_fen),0)::bigint AS d, coalesce(sum(credit_fen),0)::bigint AS c "
                                 "FROM postings WHERE program_code=$1", program_code)
    # the journal's Chinese account names (its chart of accounts), with the program's item and payee names
    program = await conn.fetchrow("SELECT * FROM programs WHERE program_code=$1", program_code)
    names = await account_names(conn, program_code, program) if program is not None else None
    accounts, items, lines, payees = [], {}, {}, {}
    for r in rows:
        bal = L.Balance(r["account"], r["debits_fen"], r["credits_fen"]).balance_fen
        accounts.append({"account": r["account"], "normal_side": r["normal_side"], "debits_fen": r["debits_fen"],
                         "credits_fen": r["credits_fen"], "balance_fen": bal, "balance_yuan": format_yuan(bal),
                         "name_zh": chart_account(r["account"], names).name_zh})
        family = r["account"].split(":", 1)[0]
        if (item := L.item_of(r["account"])) is not None:
            it = items.setdefault("/".join(item), {"line": item[0], "item": item[1]})
            it[f"{family}_fen"] = it.get(f"{family}_fen", 0) + bal
            ln = lines.setdefault(item[0], {"line": item[0]})
            ln[f"{family}_fen"] = ln.get(f"{family}_fen", 0) + bal
        if (payee := L.payee_of(r["account"])) is not None:
            p = payees.setdefault(payee, {"credit_code": payee})
            p[f"{family}_fen"] = p.get(f"{family}_fen", 0) + bal
    for roll in (*items.values(), *lines.values()):
        roll["total_fen"] = sum(roll.get(f"{f}_fen", 0) for f in ("budget", "reserved", "payable", "spent"))
    return {"program_code": program_code, "accounts": accounts, "items": list(items.values()),
            "lines": list(lines.values()), "payees": list(payees.values()),
            "trial_balance": {"debits_fen": totals["d"], "credits_fen": totals["c"], "balanced": totals["d"] == totals["c"]}}


async def payee_statement(conn: asyncpg.Connection, program_code: str, credit_code: str) -> dict[str, Any]:
    """Every posting on the payee's accounts (paid, owed, clawback), oldest first, with running balances."""
    rows = await conn.fetch(
        "SELECT p.posting_id, e.posted_at, e.kind, e.reference, p.account, p.debit_fen, p.credit_fen "
        "FROM postings p JOIN entries e USING (entry_id) WHERE p.program_code=$1 AND "
        "(p.account = ANY($2::text[]) OR (p.account LIKE 'payable:%' AND p.account LIKE $3)) ORDER BY p.posting_id",
        program_code, [L.account_payee(credit_code), L.account_clawback(credit_code)], f"%/{credit_code}")
    running: dict[str, int] = {}
    lines = []
    for r in rows:
        family = r["account"].split(":", 1)[0]
        delta = L.Line(r["account"], r["debit_fen"], r["credit_fen"]).effect_on(L.normal_side(r["account"]))
        running[family] = running.get(family, 0) + delta
        lines.append({"posting_id": r["posting_id"], "posted_at": r["posted_at"].isoformat(), "kind": r["kind"],
                      "reference": r["reference"], "account": r["account"], "debit_fen": r["debit_fen"],
                      "credit_fen": r["credit_fen"], f"{family}_balance_fen": running[family]})
    awards = await conn.fetch("SELECT award_id, kind, item_code, amount_fen, status FROM awards "
                              "WHERE program_code=$1 AND payee_credit_code=$2 ORDER BY reserved_at", program_code, credit_code)
    default = await conn.fetchrow("SELECT * FROM defaults WHERE program_code=$1 AND credit_code=$2", program_code, credit_code)
    return {"program_code": program_code, "credit_code": credit_code, "lines": lines,
            "paid_fen": running.get("payee", 0), "payable_fen": running.get("payable", 0),
            "clawback_receivable_fen": running.get("clawback", 0), "in_default": default is not None,
            "awards": [dict(a) for a in awards]}


async def postings(conn: asyncpg.Connection, program_code: str) -> list[asyncpg.Record]:
    if not await conn.fetchval("SELECT 1 FROM programs WHERE program_code=$1", program_code):
        raise NotFound("PROGRAM_NOT_FOUND", f"no ledger for program {program_code}",
            detail_zh=f"没有方案 {program_code} 的账本。")
    return await conn.fetch(
        "SELECT p.posting_id, e.posted_at, e.kind, e.reference, p.account, p.debit_fen, p.credit_fen "
        "FROM postings p JOIN entries e USING (entry_id) WHERE p.program_code=$1 ORDER BY p.posting_id", program_code)


async def adjustments_report(conn: asyncpg.Connection, program_code: str) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM adjustments WHERE program_code=$1 ORDER BY adjusted_at", program_code)
    items = [_plain(r) for r in rows]
    return {"program_code": program_code, "adjustments": items,
            "overrides": [i for i in items if i["override"]],  # service items adjusted by explicit override
            "preallocations": [_plain(r) for r in await conn.fetch(
                "SELECT award_id AS preallocation_id, item_code, payee_credit_code, amount_fen, status, "
                "contract_reference FROM awards WHERE program_code=$1 AND kind='preallocation'", program_code)]}


async def reconciliation(conn: asyncpg.Connection, program_code: str, today: date,
                         extra_statement: list[StatementRow] | None = None) -> dict[str, Any]:
    accounts = await _accounts(conn, program_code)
    statement = [StatementRow(r["bank_txn_id"], r["direction"], r["status"], r["amount_fen"], r["reference"],
                              str(r["payment_id"]) if r["payment_id"] else None)
                 for r in await conn.fetch("SELECT * FROM bank_statement_lines WHERE program_code=$1", program_code)]
    statement += extra_statement or []
    pay_rows = await conn.fetch(
        "SELECT p.payment_id::text AS payment_id, p.award_id, p.status, (p.content->>'amount_fen')::bigint AS amount, "
        "count(DISTINCT ap.person) FILTER (WHERE ap.content_sha256 = p.content_sha256) AS people, "
        "count(DISTINCT ap.role) FILTER (WHERE ap.content_sha256 = p.content_sha256) AS roles "
        "FROM payments p JOIN awards a USING (award_id) LEFT JOIN approvals ap ON ap.payment_id = p.payment_id "
        "WHERE a.program_code=$1 GROUP BY p.payment_id", program_code)
    payments = [PaymentRow(r["payment_id"], r["award_id"], r["status"], r["amount"], r["people"], r["roles"])
                for r in pay_rows]
    award_rows = await conn.fetch(
        "SELECT a.*, EXISTS (SELECT 1 FROM objections o WHERE o.award_id=a.award_id AND o.status='open' "
        "AND NOT o.after_payment) AS held, EXISTS (SELECT 1 FROM objections o WHERE o.award_id=a.award_id "
        "AND o.status='upheld' AND o.after_payment) AS late FROM awards a WHERE a.program_code=$1", program_code)
    awards = [AwardRow(r["award_id"], r["status"], r["amount_fen"], r["payee_credit_code"], r["requires_publicity"],
                       r["payable_from"], r["held"], r["late"]) for r in award_rows]
    repaid = {r["credit_code"]: r["s"] for r in await conn.fetch(
        "SELECT credit_code, sum(amount_fen)::bigint AS s FROM repayments WHERE program_code=$1 GROUP BY credit_code",
        program_code)}
    ledger_paid: dict[str, int] = {}
    for account, bal in accounts.items():
        if account.startswith(("payee:", "clawback:")):
            cc = L.payee_of(account) or ""
            ledger_paid[cc] = ledger_paid.get(cc, 0) + bal
    for cc, s in repaid.items():
        ledger_paid[cc] = ledger_paid.get(cc, 0) + s
    mismatches = reconcile(statement, payments, awards, {k: v for k, v in ledger_paid.items() if v}, today)
    return {"program_code": program_code, "as_of": today.isoformat(), "statement_lines": len(statement),
            "payments": len(payments), "awards": len(awards), "mismatches": [m.as_dict() for m in mismatches],
            "clean": not any(m.kind != "EXECUTED_NOT_ON_STATEMENT" for m in mismatches)}

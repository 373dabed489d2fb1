"""Share rules on actual spend: earlier phases' final accounts (决算) imported as history, and
the program's spending by line, by category and each rule's status."""

from __future__ import annotations

from typing import Any

import asyncpg
from ruralfund_common.auth import Principal
from ruralfund_common.errors import NotFound
from ruralfund_common.messaging import Tx
from ruralfund_common.money import format_yuan

from ..adapters import repository as repo
from ..domain import ledger as L
from ..domain.ratios import ShareBook, Spend, percent
from ._base import lock_books, program_or_404

__all__ = ["import_history", "spending"]


async def import_history(tx: Tx, program_code: str, import_id: str, phase: str, document: str,
                         lines: dict[str, int], measures: dict[str, int], by: Principal) -> dict[str, Any]:
    """Record an earlier phase's actual spend by line and by measure from its final accounts;
    the figures given replace the plan's (the others stay as they were)."""
    await program_or_404(tx, program_code)
    # the spend payments are judged on: taken under the joint account's lock, as they take it
    await lock_books(tx, program_code, [L.BANK_JOINT])
    row = await tx.conn.fetchrow("SELECT * FROM program_history WHERE program_code=$1 AND phase=$2 FOR UPDATE",
                                 program_code, phase)
    if row is None:
        raise NotFound("PHASE_NOT_FOUND", f"{program_code} has no earlier phase {phase}", field="phase",
            detail_zh=f"方案 {program_code} 没有第 {phase} 期的历史数据。")
    updated = repo.phase_of(row).with_final_accounts(lines, measures)  # refuses before anything changes
    now = tx.clock.now()
    await tx.conn.execute(
        "UPDATE program_history SET actual_lines = actual_lines || $3::jsonb, "
        "actual_measures = actual_measures || $4::jsonb WHERE program_code=$1 AND phase=$2",
        program_code, phase, lines, measures)
    await tx.conn.execute(
        "INSERT INTO history_imports (import_id, program_code, phase, document, lines, measures, imported_by, "
        "imported_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)", import_id, program_code, phase, document, lines, measures,
        by.subject, now)
    await repo.append_audit(tx.conn, [("history_imported", {
        "import_id": import_id, "program_code": program_code, "phase": phase, "document": document, "lines": lines,
        "measures": measures, "by": by.subject, "at": now.isoformat()})], now)
    return {"import_id": import_id, "program_code": program_code, "phase": phase,
            "lines": dict(updated.lines), "measures": dict(updated.measures)}


def _money(fen: int) -> dict[str, Any]:
    return {"fen": fen, "yuan": format_yuan(fen)}


async def spending(conn: asyncpg.Connection, program_code: str) -> dict[str, Any]:
    """Actual spend by line and by category (this program and earlier phases), and every share
    rule's status on it (met / breached / unverified / at_risk) beside its plan figure."""
    program = await conn.fetchrow("SELECT program_code, total_fen, ratio_rules FROM programs WHERE program_code=$1",
                                  program_code)
    if program is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {program_code}",
            detail_zh=f"没有编码为 {program_code} 的方案。")
    history_rows = await conn.fetch("SELECT * FROM program_history WHERE program_code=$1 ORDER BY position",
                                    program_code)
    history = [repo.phase_of(r) for r in history_rows]
    spend: Spend = await repo.load_spend(conn, program_code)
    book = ShareBook([repo.rule_of(s) for s in program["ratio_rules"]], history, program["total_fen"], spend)
    items = await conn.fetch("SELECT line_code, line_name, item_code, budget_fen, spending_category FROM items "
                             "WHERE program_code=$1 ORDER BY line_code, item_code", program_code)
    budget_by_line: dict[str, int] = {}
    line_names: dict[str, str] = {}
    budget_by_category: dict[str, int] = {}
    for it in items:
        budget_by_line[it["line_code"]] = budget_by_line.get(it["line_code"], 0) + it["budget_fen"]
        line_names[it["line_code"]] = it["line_name"]
        if it["spending_category"]:
            cat = it["spending_category"]
            budget_by_category[cat] = budget_by_category.get(cat, 0) + it["budget_fen"]
    d = book.denominator_fen
    line_codes = sorted(set(budget_by_line) | {code for h in history for code in h.lines})
    lines = []
    for code in line_codes:
        earlier = sum(h.lines.get(code, 0) for h in history)
        mine = spend.by_line.get(code, 0)
        lines.append({"code": code, "name": line_names.get(code), "budget": _money(budget_by_line.get(code, 0)),
                      "spent": _money(mine), "history": _money(earlier), "cumulative": _money(earlier + mine),
                      "share": str(percent(earlier + mine, d))})
    categories = []
    for cat in sorted(set(spend.by_measure) | {m for h in history for m in h.measures}
                      | {r.measure for r in book.rules if r.measure}):
        known = [h.measures.get(cat) for h in history]
        earlier = sum(k for k in known if k is not None)
        mine = spend.by_measure.get(cat, 0)  # a category's amount, or the part a payment named
        categories.append({"code": cat, "spent": _money(mine), "history": _money(earlier),
                           "cumulative": _money(earlier + mine), "share": str(percent(earlier + mine, d)),
                           "unknown_in_phases": [h.phase for h, k in zip(history, known, strict=True) if k is None]})
    phases = [{"phase": r["phase"], "label": r["label"], "total": _money(r["total_fen"]),
               "lines": {k: {"fen": v, "source": "final_accounts" if k in r["actual_lines"] else "plan"}
                         for k, v in {**r["plan_lines"], **r["actual_lines"]}.items()},
               "measures": {k: {"fen": v, "source": "final_accounts" if k in r["actual_measures"] else "plan"}
                            for k, v in {**r["plan_measures"], **r["actual_measures"]}.items()}}
              for r in history_rows]
    return {"program_code": program_code, "total": _money(program["total_fen"]), "cumulative_fund": _money(d),
            "spent": _money(spend.total_fen), "history": phases, "lines": lines, "categories": categories,
            "rules": book.report(budget_by_line, budget_by_category)}

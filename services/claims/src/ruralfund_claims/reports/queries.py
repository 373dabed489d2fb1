"""Read a program's report inputs from the claims schema and build the report (asyncpg,
read-only, one connection; the caller opens a REPEATABLE READ transaction so every figure is
from the same moment).

What claims does not know is said in the report's notes instead of being guessed: money
pre-allocated (预拨) to providers is only in funds' ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from ruralfund_common.calendar import local_date
from ruralfund_common.clock import Clock
from ruralfund_common.errors import NotFound

from ..adapters.contracts import MAX_CONTRACTS_LISTED
from ..adapters.milestones import list_milestones
from ..adapters.targets import APPROVED_STATUSES
from ..domain.program import Program, check_program
from ..domain.targets import TargetValue
from ..service.targets import program_targets
from .model import (
    ContractFacts,
    DeliverableFacts,
    ExecutionReport,
    ItemSpend,
    MilestoneFacts,
    build_report,
)

__all__ = ["execution_report"]

Conn = asyncpg.Connection


async def execution_report(
    conn: Conn, code: str, *, clock: Clock, generated_by: str
) -> ExecutionReport:
    """The program's execution report as of the clock's county day."""
    row = await conn.fetchrow("SELECT document FROM programs WHERE code = $1", code)
    if row is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {code!r}", field="code")
    check = check_program(row["document"])
    program = check.program
    # A stored program passed this check when it was activated (see service.load_program).
    assert program is not None and check.can_activate, f"stored program {code} no longer checks"
    paid = await _tranches_paid(conn, code)
    contracts = await _contracts(conn, program, paid)
    targets = await program_targets(conn, code, clock)
    return build_report(
        program,
        plan_ratios=check.ratios,
        spend=await _spend(conn, program, paid),
        contracts=contracts,
        milestones=await _milestones(conn, code),
        target_actuals={t.code: t.actual_value for t in targets.targets},
        as_of=local_date(clock.now()),
        generated_by=generated_by,
        document=_document_title(row["document"]),
    )


@dataclass(frozen=True)
class _Paid:
    """Paid tranche money of one contract under one spending category."""

    contract_id: Any
    item_code: str
    category: str | None
    fen: int


async def _tranches_paid(conn: Conn, code: str) -> list[_Paid]:
    rows = await conn.fetch(
        """SELECT t.contract_id, c.item_code, t.spending_category,
                  sum(coalesce(t.paid_fen, t.amount_fen))::bigint AS fen
           FROM contract_tranches t JOIN service_contracts c ON c.id = t.contract_id
           WHERE c.program_code = $1 AND t.status = 'paid'
           GROUP BY t.contract_id, c.item_code, t.spending_category""",
        code,
    )
    return [_Paid(r["contract_id"], r["item_code"], r["spending_category"], r["fen"]) for r in rows]


def _document_title(document: Any) -> str | None:
    source = document.get("source") if isinstance(document, Mapping) else None
    title = source.get("document") if isinstance(source, Mapping) else None
    return title if isinstance(title, str) else None


async def _spend(conn: Conn, program: Program, paid: list[_Paid]) -> dict[str, ItemSpend]:
    awards = await conn.fetch(
        """SELECT item_code,
                  coalesce(sum(amount_fen) FILTER (WHERE status = ANY($2)), 0)::bigint AS approved_fen,
                  coalesce(sum(amount_fen) FILTER (WHERE status = 'paid'), 0)::bigint AS paid_fen
           FROM claims WHERE program_code = $1 GROUP BY item_code""",
        program.code,
        APPROVED_STATUSES,
    )
    # Every contract commits money, a failed one too (its money is to be recovered, not
    # re-spent before it is: the same rule as adapters.contracts.contracted_fen).
    contracted = await conn.fetch(
        """SELECT item_code, sum(amount_fen)::bigint AS fen FROM service_contracts
           WHERE program_code = $1 GROUP BY item_code""",
        program.code,
    )
    items = {item.code: item for item in program.items()}
    figures: dict[str, dict[str, Any]] = {code: {} for code in items}
    for r in awards:
        figures[r["item_code"]] |= {
            "awards_approved_fen": r["approved_fen"],
            "awards_paid_fen": r["paid_fen"],
        }
    for r in contracted:
        figures[r["item_code"]]["contracts_fen"] = r["fen"]
    for p in paid:
        f = figures[p.item_code]
        f["tranches_paid_fen"] = f.get("tranches_paid_fen", 0) + p.fen
        if p.category is not None and p.category != items[p.item_code].spending_category:
            elsewhere = f.setdefault("tranches_paid_by_category", {})
            elsewhere[p.category] = elsewhere.get(p.category, 0) + p.fen
    return {code: ItemSpend(**f) for code, f in figures.items() if f}


async def _contracts(conn: Conn, program: Program, paid: list[_Paid]) -> list[ContractFacts]:
    rows = await conn.fetch(
        """SELECT * FROM service_contracts WHERE program_code = $1
           ORDER BY signed_on, contract_no LIMIT $2""",
        program.code,
        MAX_CONTRACTS_LISTED,
    )
    ids = [r["id"] for r in rows]
    deliverables: dict[Any, list[DeliverableFacts]] = {i: [] for i in ids}
    for d in await conn.fetch(
        "SELECT * FROM contract_deliverables WHERE contract_id = ANY($1) ORDER BY contract_id, position",
        ids,
    ):
        bound = TargetValue(d["comparison"], d["target_value"], d["money"])
        deliverables[d["contract_id"]].append(
            DeliverableFacts(
                d["code"], d["name"], d["unit"], bound, d["actual_value"], d["alternative_to"]
            )
        )
    milestones: dict[Any, list[MilestoneFacts]] = {i: [] for i in ids}
    for m in await conn.fetch(
        "SELECT * FROM contract_milestones WHERE contract_id = ANY($1) ORDER BY contract_id, position",
        ids,
    ):
        milestones[m["contract_id"]].append(
            # The acceptance day as recorded (0009); for older rows the day it was recorded.
            MilestoneFacts(
                m["code"], m["name"], m["due_on"], m["accepted_on"] or _day(m["accepted_at"])
            )
        )
    return [
        ContractFacts(
            contract_no=r["contract_no"],
            item_code=r["item_code"],
            provider_name=r["provider_name"],
            provider_credit_code=r["provider_credit_code"],
            amount_fen=r["amount_fen"],
            signed_on=r["signed_on"],
            ends_on=r["ends_on"],
            procurement=r["procurement"],
            status=r["status"],
            paid_fen=sum(p.fen for p in paid if p.contract_id == r["id"]),
            deliverables=tuple(deliverables[r["id"]]),
            milestones=tuple(milestones[r["id"]]),
            package_code=r["package_code"],
        )
        for r in rows
    ]


def _day(instant: Any) -> date | None:
    return local_date(instant) if instant is not None else None


async def _milestones(conn: Conn, code: str) -> list[MilestoneFacts]:
    return [
        MilestoneFacts(
            code=r["code"],
            name=r["name"],
            due_on=r["due_on"],
            accepted_on=_day(r["accepted_at"]),
            responsible="、".join(r["responsible"]),
            stage=r["stage"],
        )
        for r in await list_milestones(conn, code)
    ]

"""Read a program's report inputs from the claims schema and build the report (asyncpg,
read-only, one connection; the caller opens a REPEATABLE READ transaction so every figure is
from the same moment).

What claims does not know is said in the report's notes instead of being guessed: money
pre-allocated (预拨) to providers is only in funds' ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, TypeVar

import asyncpg
from ruralfund_common.calendar import local_date
from ruralfund_common.clock import Clock
from ruralfund_common.errors import NotFound

from ..adapters.contracts import MAX_CONTRACTS_LISTED
from ..adapters.milestones import list_milestones
from ..adapters.packages import list_packages
from ..adapters.targets import APPROVED_STATUSES
from ..domain.program import Program, check_program
from ..domain.targets import TargetValue
from ..service.targets import program_targets
from .model import (
    ClawbackFacts,
    ContractFacts,
    DeliverableFacts,
    ExecutionReport,
    ItemSpend,
    MilestoneFacts,
    PackageFacts,
    RatioDecision,
    TrancheFacts,
    build_report,
)

__all__ = ["execution_report"]

Conn = asyncpg.Connection
T = TypeVar("T")
MAX_PACKAGES_LISTED: Final = 200


async def execution_report(
    conn: Conn, code: str, *, clock: Clock, generated_by: str
) -> ExecutionReport:
    """The program's execution report as of the clock's county day."""
    row = await conn.fetchrow("SELECT document FROM programs WHERE code = $1", code)
    if row is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {code!r}", field="code",
            detail_zh=f"没有编码为 {code} 的方案。")
    check = check_program(row["document"])
    program = check.program
    # A stored program passed this check when it was activated (see service.load_program).
    assert program is not None and check.can_activate, f"stored program {code} no longer checks"
    paid = await _tranches_paid(conn, code)
    contracts = await _contracts(conn, program, paid)
    packages = await list_packages(conn, code, after=None, limit=MAX_PACKAGES_LISTED)
    targets = await program_targets(conn, code, clock)
    return build_report(
        program,
        plan_ratios=check.ratios,
        spend=await _spend(conn, program, paid),
        contracts=contracts,
        packages=[_package(p) for p in packages],
        milestones=await _milestones(conn, code),
        target_actuals={t.code: t.actual_value for t in targets.targets},
        as_of=local_date(clock.now()),
        generated_by=generated_by,
        document=_document_title(row["document"]),
        notes=_listing_notes(len(contracts), len(packages)),
        ratio_decisions=await _ratio_decisions(conn, code),
        clawbacks=await _clawbacks(conn, code),
    )


async def _clawbacks(conn: Conn, code: str) -> list[ClawbackFacts]:
    """Each default funds declared on the program, with the repayments it recorded since; the
    defaulter's name from the registry (a provider is always registered)."""
    rows = await conn.fetch(
        """SELECT d.credit_code, coalesce(e.name, d.credit_code) AS name, d.resolution_no,
                  d.resolution_date, d.returned_fen, d.receivable_fen,
                  coalesce(sum(r.amount_fen), 0)::bigint AS repaid_fen, count(r.*) AS repayments
           FROM contractor_defaults d
           LEFT JOIN enterprises e ON e.credit_code = d.credit_code
           LEFT JOIN clawback_repayments r
                  ON r.program_code = d.program_code AND r.credit_code = d.credit_code
           WHERE d.program_code = $1
           GROUP BY d.credit_code, e.name, d.resolution_no, d.resolution_date, d.returned_fen,
                    d.receivable_fen, d.declared_at
           ORDER BY d.declared_at, d.credit_code""",
        code,
    )
    return [ClawbackFacts(r["credit_code"], r["name"], r["resolution_no"], r["resolution_date"],
                          r["returned_fen"], r["receivable_fen"], r["repaid_fen"], r["repayments"])
            for r in rows]  # fmt: skip


def _listing_notes(contracts: int, packages: int) -> list[str]:
    """Money is summed over every contract; only the listing of rows is bounded."""
    notes = []
    if contracts >= MAX_CONTRACTS_LISTED:
        notes.append(
            f"合同明细只列出按签订日期排列的前 {MAX_CONTRACTS_LISTED} 份；金额合计包含全部合同。"
        )
    if packages >= MAX_PACKAGES_LISTED:
        notes.append(f"采购包组只列出前 {MAX_PACKAGES_LISTED} 个。")
    return notes


@dataclass(frozen=True)
class _Paid:
    """Paid tranche money of one contract on one item under one spending category."""

    contract_id: Any
    item_code: str
    category: str | None
    fen: int
    hardware_fen: int = 0  # the part the contract named as hardware and decoration


async def _tranches_paid(conn: Conn, code: str) -> list[_Paid]:
    """Each paid tranche on each item it is split across (a package contract over several
    items); a tranche's named hardware part counts on the contract's item."""
    rows = await conn.fetch(
        """SELECT t.contract_id, c.item_code, t.spending_category, t.parts, t.hardware_fen,
                  coalesce(t.paid_fen, t.amount_fen) AS fen
           FROM contract_tranches t JOIN service_contracts c ON c.id = t.contract_id
           WHERE c.program_code = $1 AND t.status = 'paid'""",
        code,
    )
    out = []
    for r in rows:
        # a named hardware part replaces "the whole tranche is hardware" (as funds counts it)
        category = r["spending_category"]
        if r["hardware_fen"] is not None and category == HARDWARE:
            category = None
        parts = [(p["item_code"], p["amount_fen"]) for p in r["parts"]] or [(r["item_code"], r["fen"])]
        for i, (item_code, fen) in enumerate(parts):
            hardware = (r["hardware_fen"] or 0) if i == 0 else 0
            out.append(_Paid(r["contract_id"], item_code, category, fen, hardware))
    return out


HARDWARE: Final = "hardware"  # the measure a tranche's hardware amount feeds


async def _ratio_decisions(conn: Conn, code: str) -> list[RatioDecision]:
    """The leading group's decisions funds recorded on paid tranches."""
    rows = await conn.fetch(
        """SELECT c.contract_no, t.code, coalesce(t.paid_fen, t.amount_fen) AS fen,
                  t.ratio_justifications
           FROM contract_tranches t JOIN service_contracts c ON c.id = t.contract_id
           WHERE c.program_code = $1 AND t.status = 'paid' AND t.ratio_justifications <> '[]'
           ORDER BY t.paid_at, c.contract_no, t.code""",
        code,
    )
    return [
        RatioDecision(j["rule_code"], r["contract_no"], r["code"], r["fen"], j["text"],
                      j.get("recorded_by_name") or j["recorded_by"],
                      local_date(datetime.fromisoformat(j["recorded_at"])))
        for r in rows for j in r["ratio_justifications"]
    ]  # fmt: skip


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
        """SELECT item_code, amount_fen, items FROM service_contracts WHERE program_code = $1""",
        program.code,
    )
    items = {item.code: item for item in program.items()}
    figures: dict[str, dict[str, Any]] = {code: {} for code in items}
    for r in awards:
        figures[r["item_code"]] |= {
            "awards_approved_fen": r["approved_fen"],
            "awards_paid_fen": r["paid_fen"],
        }
    for r in contracted:  # a package contract split across items commits on each of them
        for p in r["items"] or [{"item_code": r["item_code"], "amount_fen": r["amount_fen"]}]:
            f = figures[p["item_code"]]
            f["contracts_fen"] = f.get("contracts_fen", 0) + p["amount_fen"]
    for p in paid:
        f = figures[p.item_code]
        f["tranches_paid_fen"] = f.get("tranches_paid_fen", 0) + p.fen
        if p.hardware_fen:
            measures = f.setdefault("tranches_paid_measures", {})
            measures[HARDWARE] = measures.get(HARDWARE, 0) + p.hardware_fen
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
    deliverables = await _by_contract(conn, "contract_deliverables", ids, _deliverable)
    milestones = await _by_contract(conn, "contract_milestones", ids, _contract_milestone)
    tranches = await _by_contract(conn, "contract_tranches", ids, _tranche)
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
            deliverables=tuple(deliverables.get(r["id"], [])),
            milestones=tuple(milestones.get(r["id"], [])),
            package_code=r["package_code"],
            tranches=tuple(tranches.get(r["id"], [])),
        )
        for r in rows
    ]


_CONTRACT_PARTS: Final = frozenset(
    {"contract_deliverables", "contract_milestones", "contract_tranches"}
)


async def _by_contract(
    conn: Conn, table: str, ids: list[Any], make: Callable[[asyncpg.Record], T]
) -> dict[Any, list[T]]:
    """The rows of one of a contract's part tables, made into facts, by contract, in order."""
    assert table in _CONTRACT_PARTS  # a fixed name, never input: it is part of the SQL text
    found: dict[Any, list[T]] = {}
    for r in await conn.fetch(
        f"SELECT * FROM {table} WHERE contract_id = ANY($1) ORDER BY contract_id, position", ids
    ):
        found.setdefault(r["contract_id"], []).append(make(r))
    return found


def _deliverable(d: asyncpg.Record) -> DeliverableFacts:
    bound = TargetValue(d["comparison"], d["target_value"], d["money"])
    return DeliverableFacts(
        d["code"], d["name"], d["unit"], bound, d["actual_value"], d["alternative_to"]
    )


def _contract_milestone(m: asyncpg.Record) -> MilestoneFacts:
    # The acceptance day as recorded (0009); for older rows the day it was recorded.
    return MilestoneFacts(
        m["code"], m["name"], m["due_on"], m["accepted_on"] or _day(m["accepted_at"])
    )


def _package(p: asyncpg.Record) -> PackageFacts:
    return PackageFacts(
        code=p["code"],
        name=p["name"],
        line_code=p["line_code"],
        item_codes=tuple(p["item_codes"]),
        budget_fen=p["budget_fen"],
        method=p["method"],
        winner_name=p["winner_name"],
        awarded_on=p["awarded_on"],
        contracted_fen=p["contracted_fen"],
        tender_ref=p["tender_ref"],
        renews=p["renews"],
    )


def _tranche(t: asyncpg.Record) -> TrancheFacts:
    return TrancheFacts(
        code=t["code"],
        kind=t["kind"],
        amount_fen=t["amount_fen"],
        status=t["status"],
        milestone_code=t["milestone_code"],
        spending_category=t["spending_category"],
        paid_fen=t["paid_fen"],
        paid_on=_day(t["paid_at"]),
        refusal_code=t["refusal_code"],
    )


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

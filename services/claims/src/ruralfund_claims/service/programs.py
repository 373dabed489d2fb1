"""Programs (示范项目): activate a checked document, load it back (cached by its hash), read it,
describe an item's claim form, re-check it."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any, Final, Literal

import asyncpg
from ruralfund_common.auth import Principal
from ruralfund_common.contracts import (
    ItemBudget,
    LineBudget,
    ProgramActivated,
)
from ruralfund_common.contracts.claims.program_activated import HistoryPhaseSpec, RatioRuleSpec
from ruralfund_common.errors import Conflict, NotFound
from ruralfund_common.messaging import Tx

from ..adapters import milestones as milestones_repo
from ..adapters import repository as repo
from ..domain.claim_form import describe_item
from ..domain.program import Program, ProgramCheck, check_program, require_activatable
from ..domain.ratios import RatioRuleDoc
from ..views import ProgramOut, program_out
from .common import conflict_on_duplicate

__all__ = [
    "MAX_CACHED_PROGRAMS",
    "activate_program",
    "check_stored_program",
    "describe_program_item",
    "get_program",
    "load_program",
]


def _document_sha256(document: Any) -> str:
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


async def activate_program(tx: Tx, principal: Principal, document: Any) -> ProgramOut:
    """Check, store and activate a program; emits ProgramActivated. 422 if it has errors."""
    check = check_program(document)
    program = require_activatable(check)
    if await repo.get_program(tx.conn, program.code) is not None:
        raise Conflict(
            "PROGRAM_EXISTS",
            f"program {program.code} is already active; amendments are not supported yet",
            field="code",
            detail_zh=f"方案 {program.code} 已启用；目前不支持修订已启用的方案。",
        )
    now = tx.clock.now()
    async with conflict_on_duplicate(
        "PROGRAM_EXISTS", f"program {program.code} is already active", f"方案 {program.code} 已启用，不能重复启用。"
    ):
        row = _program_row(program, document, check, principal, now)
        await repo.insert_program(tx.conn, row, _item_rows(program))
    await milestones_repo.insert_milestones(tx.conn, program.code, program.milestones)
    await tx.emit(_program_activated(program, now), aggregate_id=program.code)
    return await get_program(tx.conn, program.code, with_document=False)


def _program_row(
    program: Program, document: Any, check: ProgramCheck, principal: Principal, now: Any
) -> dict[str, Any]:
    return {
        "code": program.code,
        "name": program.name,
        "county_code": program.county_code,
        "county_name": program.county_name,
        "year": program.year,
        "phase": program.phase,
        "total_fen": program.total_fen,
        "publicity_working_days": program.publicity_working_days,
        "document": document,
        "document_sha256": _document_sha256(document),
        "warnings": [w.to_dict() for w in check.warnings],
        "contractor_credit_code": program.contractor_credit_code,
        "contractor_name": program.contractor_name,
        "joint_account_bank": program.joint_account_bank,
        "joint_account_no": program.joint_account_no,
        "activated_by": principal.subject,
        "activated_at": now,
    }


def _item_rows(program: Program) -> list[dict[str, Any]]:
    lines = {line.code: line for line in program.lines}
    return [
        {
            "item_code": item.code,
            "line_code": item.line_code,
            "line_name": lines[item.line_code].name,
            "item_name": item.name,
            "budget_fen": item.budget_fen,
            "mode": item.mode,
            "rule_version": item.rule.version if item.rule else None,
            "position": position,
        }
        for position, item in enumerate(program.items())
    ]


def _program_activated(program: Program, now: Any) -> ProgramActivated:
    return ProgramActivated(
        program_code=program.code,
        name=program.name,
        county_code=program.county_code,
        county_name=program.county_name,
        year=program.year,
        phase=program.phase,
        total_fen=program.total_fen,
        lines=[
            LineBudget(
                code=line.code,
                name=line.name,
                budget_fen=line.budget_fen,
                items=[
                    ItemBudget(
                        code=i.code,
                        name=i.name,
                        budget_fen=i.budget_fen,
                        mode=i.mode,
                        spending_category=i.spending_category,
                    )
                    for i in line.items
                ],
            )
            for line in program.lines
        ],
        contractor_credit_code=program.contractor_credit_code,
        contractor_name=program.contractor_name,
        joint_account_bank=program.joint_account_bank,
        joint_account_no=program.joint_account_no,
        publicity_working_days=program.publicity_working_days,
        activated_at=now,
        ratio_rules=[_ratio_rule_spec(r) for r in program.ratio_rules],
        history=[
            HistoryPhaseSpec(
                phase=h.phase,
                label=h.label,
                total_fen=h.total_fen,
                lines=dict(h.lines),
                measures=dict(h.measures),
            )
            for h in program.history
        ],
        contract_payments_require_publicity=program.contract_payments_require_publicity,
    )


def _ratio_rule_spec(rule: RatioRuleDoc) -> RatioRuleSpec:
    bound: Literal["min", "max"] = "max" if rule.max_percent is not None else "min"
    limit = rule.max_percent if rule.max_percent is not None else rule.min_percent
    assert limit is not None  # the document model requires exactly one
    return RatioRuleSpec(
        code=rule.code,
        name=rule.name,
        bound=bound,
        limit_percent=limit,
        on_breach=rule.on_breach,
        lines=list(rule.lines) if rule.lines is not None else None,
        measure=rule.measure,
    )


async def _program_row_or_404(conn: asyncpg.Connection, code: str) -> asyncpg.Record:
    row = await repo.get_program(conn, code)
    if row is None:
        raise NotFound("PROGRAM_NOT_FOUND", f"no program {code!r}", field="program_code",
                       title_zh="未找到该方案", detail_zh=f"未找到方案 {code}。")  # fmt: skip
    return row


# Checked programs by document hash. A stored document never changes (migration 0007 refuses
# it), so its check never changes either; re-checking it on every claim cost more than the
# claim itself. Bounded, oldest out first.
MAX_CACHED_PROGRAMS: Final = 64
_checked_programs: dict[str, Program] = {}


async def load_program(
    conn: asyncpg.Connection, code: str, *, sha256: str | None = None
) -> Program:
    """The active program, rebuilt from its stored document (the document is the truth).
    ``sha256``: the stored document's hash when the caller already fetched it."""
    sha256 = sha256 or await repo.program_sha256(conn, code)
    cached = _checked_programs.get(sha256) if sha256 else None
    if cached is not None and cached.code == code:
        return cached
    row = await _program_row_or_404(conn, code)
    check = check_program(row["document"])
    # A stored program passed this check when it was activated; failing now means the
    # checker changed under it, which must be fixed, not papered over.
    assert check.program is not None and check.can_activate, (
        f"stored program {code} no longer checks"
    )
    if len(_checked_programs) >= MAX_CACHED_PROGRAMS:
        _checked_programs.pop(next(iter(_checked_programs)))
    _checked_programs[row["document_sha256"]] = check.program
    return check.program


async def get_program(conn: asyncpg.Connection, code: str, *, with_document: bool) -> ProgramOut:
    row = await _program_row_or_404(conn, code)
    program = await load_program(conn, code)
    items = [
        {
            "code": i.code,
            "name": i.name,
            "line_code": i.line_code,
            "budget_fen": i.budget_fen,
            "mode": i.mode,
            "rule_version": i.rule.version if i.rule else None,
        }
        for i in program.items()
    ]
    return program_out(row, items, with_document=with_document)


async def describe_program_item(
    conn: asyncpg.Connection, code: str, item_code: str, today: date | None = None
) -> dict[str, Any]:
    program = await load_program(conn, code)
    return describe_item(program, program.item(item_code), today)


async def check_stored_program(conn: asyncpg.Connection, code: str) -> dict[str, Any]:
    row = await _program_row_or_404(conn, code)
    return check_program(row["document"]).to_dict()

"""Use cases of procurement packages (包组): record what the tender awarded, list, read."""

from __future__ import annotations

import asyncpg
from ruralfund_common.auth import Principal
from ruralfund_common.errors import Conflict, InvalidInput, NotFound
from ruralfund_common.messaging import Tx
from ruralfund_common.money import parse_yuan
from ruralfund_common.recusal import require_no_conflict_of_interest

from ..adapters import packages as repo
from ..domain.packages import (
    PackageIn,
    checked_package_items,
    require_package_within_items,
    require_renewal_consistent,
)
from ..views import PackageOut, package_out
from .contracts import registered_enterprise
from .programs import load_program

__all__ = ["create_package", "get_package", "list_packages"]


async def create_package(
    tx: Tx, principal: Principal, program_code: str, body: PackageIn
) -> PackageOut:
    """Record an awarded package; its budget fits what its items have not committed yet."""
    require_no_conflict_of_interest(
        principal, body.winner_credit_code, decision_zh="登记该企业中标的采购包"
    )
    program = await load_program(tx.conn, program_code)
    items = checked_package_items(program, body.line_code, list(body.item_codes))
    require_renewal_consistent(body.method, body.renews)
    winner = await registered_enterprise(tx.conn, body.winner_credit_code, "winner_credit_code")
    try:
        budget_fen = parse_yuan(body.budget_yuan)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(
            "AMOUNT_INVALID",
            str(exc),
            field="budget_yuan",
            detail_zh="“budget_yuan”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。",
        ) from None
    if await repo.get_package(tx.conn, program.code, body.code) is not None:
        raise Conflict(
            "PACKAGE_EXISTS",
            f"package {body.code} is already recorded",
            field="code",
            detail_zh=f"采购包 {body.code} 已登记，不能重复登记。",
        )
    codes = sorted(item.code for item in items)
    # Serialise commitments on these items (contracts outside packages lock the same rows).
    await tx.conn.execute(
        "SELECT 1 FROM program_items WHERE program_code=$1 AND item_code = ANY($2::text[]) "
        "ORDER BY item_code FOR UPDATE",
        program.code,
        codes,
    )
    committed = await repo.committed_on_items(tx.conn, program.code, codes)
    require_package_within_items(items, committed, budget_fen)
    row = {
        "program_code": program.code, "code": body.code, "name": body.name,
        "line_code": body.line_code, "item_codes": list(body.item_codes), "budget_fen": budget_fen,
        "method": body.method.value, "renews": body.renews,
        "winner_credit_code": winner["credit_code"], "winner_name": winner["name"],
        "awarded_on": body.awarded_on, "tender_ref": body.tender_ref,
        "created_by": principal.subject, "created_at": tx.clock.now(),
    }  # fmt: skip
    try:
        await repo.insert_package(tx.conn, row)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            "PACKAGE_EXISTS",
            f"package {body.code} is already recorded",
            detail_zh=f"采购包 {body.code} 已登记，不能重复登记。",
        ) from exc
    return await get_package(tx.conn, program.code, body.code)


async def get_package(conn: asyncpg.Connection, program_code: str, code: str) -> PackageOut:
    await load_program(conn, program_code)  # 404 for an unknown program
    row = await repo.get_package(conn, program_code, code)
    if row is None:
        raise NotFound(
            "PACKAGE_NOT_FOUND",
            f"program {program_code} has no package {code!r}",
            detail_zh=f"方案 {program_code} 中没有采购包 {code}。",
        )
    return package_out(row)


async def list_packages(
    conn: asyncpg.Connection, program_code: str, *, after: str | None, limit: int
) -> list[PackageOut]:
    await load_program(conn, program_code)
    rows = await repo.list_packages(conn, program_code, after=after, limit=limit)
    return [package_out(r) for r in rows]

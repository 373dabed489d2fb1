"""GET /payments and GET /awards: lists by status, and the payment orders awaiting the caller's
signature; GET /programs/{code}/releases: the money released into the joint account (#17). Its
own router, beside api.py's single-item reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from ruralfund_common.auth import Principal, Role, require_roles
from ruralfund_common.bootstrap import CtxDep
from ruralfund_common.http import (
    CursorPosition,
    CursorText,
    IdPosition,
    Page,
    PageParams,
    cursor_position,
    encode_cursor,
)

from ..service.lists import (
    AwardStatus,
    AwardSummary,
    PaymentStatus,
    PaymentSummary,
    ReleaseSummary,
    list_awards,
    list_payments,
    list_releases,
)

__all__ = ["lists_router"]

lists_router = APIRouter()
READERS = (Role.BUREAU_ADMIN, Role.LEADING_GROUP, Role.CONTRACTOR_SIGNATORY, Role.FINANCE_BUREAU, Role.AUDITOR)
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Paging = Annotated[PageParams, Depends()]


class _AfterAward(CursorPosition):
    id: CursorText


class _AfterRelease(CursorPosition):
    at: datetime
    id: CursorText


@lists_router.get(
    "/payments", tags=["payments"], response_model=Page[PaymentSummary],
    summary="Payment orders, oldest first; awaiting_my_approval=true: those waiting for your signature")
async def get_payments(
    ctx: CtxDep, who: Reader, page: Paging, status: PaymentStatus | None = None,
    awaiting_my_approval: Annotated[bool, Query(
        description="only open orders you have not signed whose side (leading group or contractor "
                    "signatory) is still open")] = False,
    program: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$",
                                         description="only this program's orders")] = None,
) -> Page[PaymentSummary]:
    after = cursor_position(page.cursor, IdPosition)
    async with ctx.db.acquire() as conn:
        rows = await list_payments(
            conn, status=status, awaiting_person=who.subject if awaiting_my_approval else None,
            awaiting_roles=frozenset(str(r) for r in who.roles), after_id=after.id if after else None,
            limit=page.limit + 1, reader=who, program_code=program)
    items, more = rows[: page.limit], len(rows) > page.limit
    return Page(items=items, limit=page.limit,
                next_cursor=encode_cursor({"id": items[-1].payment_id}) if more else None)


@lists_router.get("/awards", tags=["awards"], response_model=Page[AwardSummary],
                  summary="Awards (reserved, in publicity, paid, ...) by id")
async def get_awards(
    ctx: CtxDep, who: Reader, page: Paging, status: AwardStatus | None = None,
    program: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")] = None,
) -> Page[AwardSummary]:
    after = cursor_position(page.cursor, _AfterAward)
    async with ctx.db.acquire() as conn:
        rows = await list_awards(conn, status=status, program_code=program,
                                 after_id=after.id if after else None, limit=page.limit + 1)
    items, more = rows[: page.limit], len(rows) > page.limit
    return Page(items=items, limit=page.limit,
                next_cursor=encode_cursor({"id": items[-1].award_id}) if more else None)


@lists_router.get("/programs/{program_code}/releases", tags=["ledger"], response_model=Page[ReleaseSummary],
                  summary="The program's releases (下达) into the joint account, oldest first, with the running total")
async def get_releases(
    ctx: CtxDep, who: Reader, page: Paging,
    program_code: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")],
) -> Page[ReleaseSummary]:
    after = cursor_position(page.cursor, _AfterRelease)
    async with ctx.db.acquire() as conn:
        rows = await list_releases(conn, program_code=program_code, after=(after.at, after.id) if after else None,
                                   limit=page.limit + 1)
    items, more = rows[: page.limit], len(rows) > page.limit
    return Page(items=items, limit=page.limit, next_cursor=encode_cursor(
        {"at": items[-1].released_at, "id": items[-1].release_id}) if more else None)

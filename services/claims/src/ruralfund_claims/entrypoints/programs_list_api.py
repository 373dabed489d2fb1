"""GET /programs: every program, paged (its own router: #17's console reads it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from ruralfund_common.auth import Principal, Role, require_roles
from ruralfund_common.bootstrap import CtxDep
from ruralfund_common.http import (
    CursorPosition,
    CursorText,
    Page,
    PageParams,
    cursor_position,
    encode_cursor,
)

from ..service.program_list import ProgramSummary, list_programs

__all__ = ["router"]

router = APIRouter()
Reader = Annotated[Principal, Depends(require_roles(*Role))]


class _After(CursorPosition):
    code: CursorText


@router.get("/programs", tags=["programs"], response_model=Page[ProgramSummary],
            summary="Programs (示范项目) by code, with status and total budget")
async def get_programs(ctx: CtxDep, principal: Reader,
                       page: Annotated[PageParams, Depends()]) -> Page[ProgramSummary]:
    after = cursor_position(page.cursor, _After)
    async with ctx.db.acquire() as conn:
        rows = await list_programs(conn, after_code=after.code if after else None, limit=page.limit + 1)
    items = rows[: page.limit]
    more = len(rows) > page.limit
    return Page(items=items, limit=page.limit,
                next_cursor=encode_cursor({"code": items[-1].code}) if more else None)

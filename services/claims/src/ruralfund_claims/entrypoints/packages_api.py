"""HTTP in: procurement packages (包组) of a program — record what the tender awarded, list,
read. Endpoints only translate: authenticate, parse, call one use case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent
from ruralfund_common.http import (
    CursorPosition,
    CursorText,
    Page,
    PageParams,
    cursor_position,
    encode_cursor,
)

from .. import service
from ..domain.packages import PackageIn
from ..views import PackageOut

__all__ = ["router"]

router = APIRouter(tags=["procurement packages"])
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(*Role))]
BureauAdmin = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]
CodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


@router.post(
    "/programs/{code}/packages",
    status_code=201,
    responses={201: {"model": PackageOut}},
    summary="Record a procurement package (包组): line, items, budget, method, winner",
)
async def create_package(
    code: CodePath, body: PackageIn, request: Request, principal: BureauAdmin
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, PackageOut]:
        return 201, await service.create_package(tx, principal, code, body)

    return await idempotent(request, principal, body, use_case)


class _AfterCode(CursorPosition):
    after: CursorText


@router.get(
    "/programs/{code}/packages",
    response_model=Page[PackageOut],
    summary="The program's procurement packages, by code",
)
async def list_packages(
    code: CodePath, ctx: Ctx, principal: Reader, page: Annotated[PageParams, Depends()]
) -> Page[PackageOut]:
    position = cursor_position(page.cursor, _AfterCode)
    after = position.after if position else None
    async with ctx.db.acquire() as conn:
        found = await service.list_packages(conn, code, after=after, limit=page.limit + 1)
    items = found[: page.limit]
    more = len(found) > page.limit
    next_cursor = encode_cursor({"after": items[-1].code}) if more else None
    return Page(items=items, next_cursor=next_cursor, limit=page.limit)


@router.get(
    "/programs/{code}/packages/{package}",
    response_model=PackageOut,
    summary="A procurement package with what its contracts commit and what is left",
)
async def get_package(code: CodePath, package: CodePath, ctx: Ctx, principal: Reader) -> PackageOut:
    async with ctx.db.acquire() as conn:
        return await service.get_package(conn, code, package)

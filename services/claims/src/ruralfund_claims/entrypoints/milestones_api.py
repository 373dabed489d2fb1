"""HTTP in: a program's milestones (实施计划), their acceptance, and running the overdue check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent

from .. import service
from ..domain.claim import MAX_NOTE_CHARS
from ..views import MilestoneOut
from .milestone_checker import CHECKER_KEY, MilestoneChecker

__all__ = ["router"]

router = APIRouter(tags=["milestones"])
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(*Role))]
BureauAdmin = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]
Operator = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN, Role.SYSTEM))]
CodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class AcceptanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=MAX_NOTE_CHARS)] | None = None


class CheckOut(BaseModel):
    announced: int


@router.get(
    "/programs/{code}/milestones",
    response_model=list[MilestoneOut],
    summary="The program's milestones with responsible units, due dates and whether overdue",
)
async def list_milestones(code: CodePath, ctx: Ctx, principal: Reader) -> list[MilestoneOut]:
    async with ctx.db.acquire() as conn:
        return await service.list_program_milestones(conn, code, ctx.clock)


@router.post(
    "/programs/{code}/milestones/{milestone}/acceptance",
    responses={200: {"model": MilestoneOut}},
    summary="The bureau records a milestone as done (验收)",
)
async def accept_milestone(
    code: CodePath,
    milestone: CodePath,
    request: Request,
    principal: BureauAdmin,
    body: AcceptanceIn | None = None,
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, MilestoneOut]:
        return 200, await service.accept_program_milestone(
            tx, principal, code, milestone, note=body.note if body else None
        )

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/admin/milestones/check",
    response_model=CheckOut,
    summary="Announce every overdue milestone now (the background check does this periodically)",
)
async def check_now(request: Request, principal: Operator) -> CheckOut:
    # No Idempotency-Key: the check is idempotent by itself (a milestone is announced once).
    checker: MilestoneChecker = request.app.state.ctx.extras[CHECKER_KEY]
    return CheckOut(announced=await checker.check())

"""HTTP in: service contracts (购买服务) — record, report deliverables, accept milestones and
the contract. Endpoints only translate: authenticate, parse, call one use case."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent
from ruralfund_common.errors import InvalidInput
from ruralfund_common.money import parse_yuan

from .. import service
from ..domain.claim import MAX_NOTE_CHARS
from ..domain.contracts import ContractIn, MilestoneAcceptanceIn
from ..views import ContractOut

__all__ = ["router"]

router = APIRouter(tags=["contracts"])
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(*Role))]
BureauAdmin = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]
Acceptor = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN, Role.LEADING_GROUP))]
Reporter = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN, Role.ENTERPRISE))]
CodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
IdPath = Annotated[str, Path(min_length=1, max_length=64)]
Note = Annotated[str, Field(max_length=MAX_NOTE_CHARS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContractCreateIn(ContractIn):
    item_code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class ReportIn(_In):
    actual_value: int | None = Field(default=None, ge=0, le=2**63 - 1, description="a count")
    actual_yuan: str | None = Field(default=None, max_length=40, description="for money")
    note: Note | None = None

    def actual(self) -> int:
        if (self.actual_value is None) == (self.actual_yuan is None):
            raise InvalidInput(
                "VALUE_INVALID",
                "give actual_value or actual_yuan",
                field="actual_value",
                title_zh="实际完成值填写有误",
                detail_zh="请填写实际完成值：数量（actual_value）或金额（actual_yuan）中的一项，且只填一项。",
            )
        if self.actual_yuan is None:
            assert self.actual_value is not None
            return self.actual_value
        try:
            return parse_yuan(self.actual_yuan)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(
                "AMOUNT_INVALID",
                str(exc),
                field="actual_yuan",
                title_zh="金额格式不正确",
                detail_zh=f"实际金额“{self.actual_yuan}”不是有效的元金额（如 2469 或 2,469.00，最多两位小数）。",
            ) from None


class ContractAcceptanceIn(_In):
    outcome: Literal["passed", "failed"]
    note: Note | None = None


def _ok(status: int, out: ContractOut) -> tuple[int, ContractOut]:
    return status, out


@router.post(
    "/programs/{code}/contracts",
    status_code=201,
    responses={201: {"model": ContractOut}},
    summary="Record a signed service contract for a purchase-of-service item (optionally under "
    "a procurement package, with a payment schedule; the advance becomes payable at once)",
)
async def create_contract(
    code: CodePath, body: ContractCreateIn, request: Request, principal: BureauAdmin
) -> JSONResponse:
    contract = ContractIn.model_validate(body.model_dump(exclude={"item_code"}))

    async def use_case(tx: Any) -> tuple[int, ContractOut]:
        return _ok(
            201, await service.create_contract(tx, principal, code, body.item_code, contract)
        )

    return await idempotent(request, principal, body, use_case)


@router.get(
    "/programs/{code}/contracts",
    response_model=list[ContractOut],
    summary="The program's service contracts (a provider sees its own)",
)
async def list_contracts(code: CodePath, ctx: Ctx, principal: Reader) -> list[ContractOut]:
    async with ctx.db.acquire() as conn:
        return await service.list_contracts(conn, principal, code)


@router.get("/contracts/{contract_id}", response_model=ContractOut, summary="A service contract")
async def get_contract(contract_id: IdPath, ctx: Ctx, principal: Reader) -> ContractOut:
    async with ctx.db.acquire() as conn:
        return await service.get_contract(conn, principal, contract_id)


@router.post(
    "/contracts/{contract_id}/deliverables/{deliverable}/report",
    responses={200: {"model": ContractOut}},
    summary="The provider (or the bureau) reports a deliverable's actual figure",
)
async def report_deliverable(
    contract_id: IdPath,
    deliverable: CodePath,
    body: ReportIn,
    request: Request,
    principal: Reporter,
) -> JSONResponse:
    actual = body.actual()

    async def use_case(tx: Any) -> tuple[int, ContractOut]:
        return _ok(200, await service.report_deliverable(
            tx, principal, contract_id, deliverable, actual=actual, note=body.note
        ))  # fmt: skip

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/contracts/{contract_id}/milestones/{milestone}/acceptance",
    responses={200: {"model": ContractOut}},
    summary="The bureau accepts a contract milestone (验收: day, accepting people, evidence); "
    "its instalment becomes payable",
)
async def accept_contract_milestone(
    contract_id: IdPath,
    milestone: CodePath,
    request: Request,
    principal: BureauAdmin,
    body: MilestoneAcceptanceIn | None = None,
) -> JSONResponse:
    acceptance = body or MilestoneAcceptanceIn()

    async def use_case(tx: Any) -> tuple[int, ContractOut]:
        return _ok(200, await service.accept_contract_milestone(
            tx, principal, contract_id, milestone, acceptance
        ))  # fmt: skip

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/contracts/{contract_id}/acceptance",
    responses={200: {"model": ContractOut}},
    summary="验收: pass (every deliverable met, every milestone accepted) or fail with the reason",
)
async def accept_contract(
    contract_id: IdPath, body: ContractAcceptanceIn, request: Request, principal: Acceptor
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, ContractOut]:
        return _ok(200, await service.accept_contract(
            tx, principal, contract_id, outcome=body.outcome, note=body.note
        ))  # fmt: skip

    return await idempotent(request, principal, body, use_case)

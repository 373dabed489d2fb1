"""HTTP in: programs, enterprises and claims. Endpoints only translate: authenticate,
parse, call one use case (writes through ``idempotent`` so an Idempotency-Key replays)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent
from ruralfund_common.calendar import local_date
from ruralfund_common.credit_code import validate_credit_code
from ruralfund_common.errors import DomainError, InvalidInput
from ruralfund_common.http import (
    CursorPosition,
    CursorText,
    DocumentTooDeep,
    Page,
    PageParams,
    check_json_depth,
    cursor_position,
    encode_cursor,
)
from ruralfund_common.text import SingleLine

from .. import service
from ..domain.claim import MAX_NOTE_CHARS, ClaimStatus
from ..domain.enterprise import BankAccount, Contact, Enterprise, EnterpriseChange, EnterpriseKind
from ..domain.evidence_files import ACCEPTED_TYPES, ACCEPTED_ZH
from ..domain.program import (
    MAX_PROGRAM_DOCUMENT_BYTES,
    YAML_MEDIA_TYPES,
    check_program,
    decode_program_document,
)
from ..settings import SETTINGS_KEY, ClaimsSettings
from ..views import ClaimOut, EnterpriseOut, ProgramItemOut, ProgramOut, ProgramTargetsOut

__all__ = ["router"]

router = APIRouter()
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(*Role))]
BureauAdmin = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]
LeadingGroup = Annotated[Principal, Depends(require_write(Role.LEADING_GROUP))]
EnterpriseUser = Annotated[Principal, Depends(require_write(Role.ENTERPRISE))]
EnterpriseOrBureau = Annotated[
    Principal, Depends(require_write(Role.ENTERPRISE, Role.BUREAU_ADMIN))
]
CodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
CreditCodePath = Annotated[str, Path(min_length=18, max_length=18)]
ClaimIdPath = Annotated[str, Path(min_length=1, max_length=64)]
Note = Annotated[str, Field(max_length=MAX_NOTE_CHARS)]
MAX_PERIOD_CHARS: Final = 200
JSON_MEDIA_TYPES: Final = frozenset({"application/json", ""})
_PROGRAM_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {
                "schema": {"type": "object"},
                # An example is the parsed value, so an object (a string failed the schema):
                # the head of programs/xinping-2021.yaml, which is the full example.
                "example": {
                    "format": "ruralfund.program/v1",
                    "code": "xinping-2021",
                    "name": "新平县2021年电子商务进农村综合示范项目后续实施方案",
                    "year": 2021,
                    "total_yuan": "5,000,000.00",
                    "publicity_working_days": 5,
                },
            },
        },
    }
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- programs


async def _program_document(request: Request) -> Any:
    """The posted program as data, from JSON or YAML, read with a size limit."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES | YAML_MEDIA_TYPES:
        raise DomainError(
            "UNSUPPORTED_MEDIA_TYPE",
            f"send application/json or application/yaml, not {media_type!r}",
            status=415,
            detail_zh=f"方案文件请以 application/json 或 application/yaml 提交，不接受 {media_type or '（未注明）'}。",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_PROGRAM_DOCUMENT_BYTES:
        raise InvalidInput(
            "PROGRAM_DOCUMENT_TOO_LARGE",
            f"a program document may have at most {MAX_PROGRAM_DOCUMENT_BYTES} bytes",
            status=413,
            detail_zh=f"方案文件最多 {MAX_PROGRAM_DOCUMENT_BYTES:,} 字节，本次提交为 {int(declared):,} 字节。",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PROGRAM_DOCUMENT_BYTES:
            break  # decode_program_document refuses it; stop reading more
    try:
        document = decode_program_document(bytes(body), media_type)
    except RecursionError:  # "[[[[…" 10,000 deep: the JSON and YAML parsers recurse
        raise DocumentTooDeep() from None
    return check_json_depth(document)


@router.post(
    "/programs",
    status_code=201,
    tags=["programs"],
    openapi_extra=_PROGRAM_BODY,
    responses={201: {"model": ProgramOut}},
    summary="Check, store and activate a program (emits ProgramActivated)",
)
async def activate_program(request: Request, principal: BureauAdmin) -> JSONResponse:
    document = await _program_document(request)

    async def use_case(tx: Any) -> tuple[int, ProgramOut]:
        return 201, await service.activate_program(tx, principal, document)

    return await idempotent(request, principal, document, use_case)


@router.post(
    "/programs/check",
    tags=["programs"],
    openapi_extra=_PROGRAM_BODY,
    summary="Check a program document without storing it: every error and warning",
)
async def check_program_document(
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(Role.BUREAU_ADMIN, Role.AUDITOR))],
) -> dict[str, Any]:
    return check_program(await _program_document(request)).to_dict()


@router.get(
    "/programs/{code}", tags=["programs"], response_model=ProgramOut, summary="An active program"
)
async def get_program(
    code: CodePath, ctx: Ctx, principal: Reader, document: bool = False
) -> ProgramOut:
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        return await service.get_program(conn, code, with_document=document)


@router.get(
    "/programs/{code}/check",
    tags=["programs"],
    summary="The stored program's check report (its warnings)",
)
async def check_stored_program(code: CodePath, ctx: Ctx, principal: Reader) -> dict[str, Any]:
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        return await service.check_stored_program(conn, code)


@router.get(
    "/programs/{code}/items/{item_code}",
    tags=["programs"],
    summary="What a claim under the item needs: evidence JSON Schema, thresholds, the period "
    "claims may cover, what is paid only once (build claim forms from it)",
)
async def program_item(
    code: CodePath, item_code: CodePath, ctx: Ctx, principal: Reader
) -> ProgramItemOut:
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        today = local_date(ctx.clock.now())  # the latest period the form offers
        item = await service.describe_program_item(conn, code, item_code, today)
    limits = ctx.extras.get(SETTINGS_KEY) or ClaimsSettings()
    # what the upload takes, so a form can say so before anyone waits for a refusal
    return ProgramItemOut.model_validate(item | {"evidence_files": {
        "max_bytes": limits.evidence_max_file_bytes, "max_files": limits.evidence_max_files_per_claim,
        "types": list(ACCEPTED_TYPES), "types_zh": ACCEPTED_ZH}})  # fmt: skip


@router.get(
    "/programs/{code}/targets",
    tags=["programs"],
    response_model=ProgramTargetsOut,
    summary="Each performance target (绩效目标) with its actual value: approved claims, "
    "logistics' station volumes, service contracts' reported deliverables",
)
async def program_targets(code: CodePath, ctx: Ctx, principal: Reader) -> ProgramTargetsOut:
    async with ctx.db.acquire() as conn:
        return await service.program_targets(conn, code, ctx.clock)


# --------------------------------------------------------------------------- enterprises


class EnterpriseIn(_In):
    credit_code: Annotated[
        str, Field(min_length=18, max_length=18, description="统一社会信用代码 (GB 32100)")
    ]
    name: Annotated[SingleLine, Field(min_length=1, max_length=200)]
    kind: EnterpriseKind
    contact: Contact
    bank_account: BankAccount
    program_code: str | None = Field(
        default=None, description="register for this program: the county must match"
    )


class EnterpriseChangeIn(EnterpriseChange):
    program_code: str | None = None


@router.post(
    "/enterprises",
    status_code=201,
    tags=["enterprises"],
    responses={201: {"model": EnterpriseOut}},
    summary="Register an enterprise (emits EnterpriseRegistered); an enterprise registers itself "
    "(its own credit code, as an enterprise or a station operator)",
)
async def register_enterprise(
    body: EnterpriseIn, request: Request, principal: EnterpriseOrBureau
) -> JSONResponse:
    enterprise = Enterprise(
        credit_code=validate_credit_code(body.credit_code),
        name=body.name,
        kind=body.kind,
        contact=body.contact,
        bank_account=body.bank_account,
    )

    async def use_case(tx: Any) -> tuple[int, EnterpriseOut]:
        return 201, await service.register_enterprise(tx, principal, enterprise, body.program_code)

    return await idempotent(request, principal, body, use_case)


@router.patch(
    "/enterprises/{credit_code}",
    tags=["enterprises"],
    responses={200: {"model": EnterpriseOut}},
    summary="Change an enterprise's name, contact or bank account, or register it for a program",
)
async def change_enterprise(
    credit_code: CreditCodePath,
    body: EnterpriseChangeIn,
    request: Request,
    principal: EnterpriseOrBureau,
) -> JSONResponse:
    change = EnterpriseChange(name=body.name, contact=body.contact, bank_account=body.bank_account)

    async def use_case(tx: Any) -> tuple[int, EnterpriseOut]:
        return 200, await service.change_enterprise(
            tx, principal, credit_code.upper(), change, body.program_code
        )

    return await idempotent(request, principal, body, use_case)


@router.get("/enterprises/{credit_code}", tags=["enterprises"], response_model=EnterpriseOut)
async def get_enterprise(credit_code: CreditCodePath, ctx: Ctx, principal: Reader) -> EnterpriseOut:
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        return await service.get_enterprise(conn, principal, credit_code.upper())


@router.get(
    "/enterprises",
    tags=["enterprises"],
    response_model=Page[EnterpriseOut],
    summary="Enterprises by credit code, optionally searched (an enterprise sees itself)",
)
async def list_enterprises(
    ctx: Ctx,
    principal: Reader,
    page: Annotated[PageParams, Depends()],
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="part of the name or the credit code"),
    ] = None,
) -> Page[EnterpriseOut]:
    after = _cursor_value(page.cursor)
    search = (q.strip() or None) if q else None
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        found = await service.list_enterprises(
            conn, principal, after=after, limit=page.limit + 1, search=search
        )
    return _page(found, page.limit, lambda e: e.credit_code)


class _After(CursorPosition):
    after: CursorText


def _cursor_value(cursor: str | None) -> str | None:
    position = cursor_position(cursor, _After)
    return position.after if position else None


def _page(found: list[Any], limit: int, key: Any) -> Page[Any]:
    # One row more than the page was fetched: its presence says there is a next page.
    items = found[:limit]
    next_cursor = encode_cursor({"after": key(items[-1])}) if len(found) > limit else None
    return Page(items=items, next_cursor=next_cursor, limit=limit)


# --------------------------------------------------------------------------- claims


class ClaimIn(_In):
    program_code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    item_code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    period: Annotated[str, Field(max_length=MAX_PERIOD_CHARS)] | None = Field(
        default=None,
        description="optional: derived from the evidence (e.g. 2021Q3); if given it must match",
    )
    evidence: dict[str, Any] = Field(
        description="figures for the item's rule kind, e.g. {quarter: 2021Q3, units: 12345}"
    )


class ResubmitIn(_In):
    period: Annotated[str, Field(max_length=MAX_PERIOD_CHARS)] | None = None
    evidence: dict[str, Any]


class ReviewIn(_In):
    outcome: Literal["complete", "return"]
    note: Note | None = None


class DecisionIn(_In):
    decision: Literal["approve", "reject"]
    reason: Note | None = None


class WithdrawIn(_In):
    note: Note | None = None


@router.post(
    "/claims",
    status_code=201,
    tags=["claims"],
    responses={201: {"model": ClaimOut}},
    summary="Claim an award under a reward item (emits ClaimSubmitted)",
)
async def submit_claim(body: ClaimIn, request: Request, principal: EnterpriseUser) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, ClaimOut]:
        return 201, await service.submit_claim(
            tx,
            principal,
            program_code=body.program_code,
            item_code=body.item_code,
            period=body.period,
            evidence=body.evidence,
        )

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/claims/{claim_id}/resubmit",
    tags=["claims"],
    responses={200: {"model": ClaimOut}},
    summary="Resubmit a returned claim with corrected evidence",
)
async def resubmit_claim(
    claim_id: ClaimIdPath, body: ResubmitIn, request: Request, principal: EnterpriseUser
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, ClaimOut]:
        return 200, await service.resubmit_claim(
            tx, principal, claim_id, period=body.period, evidence=body.evidence
        )

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/claims/{claim_id}/review",
    tags=["claims"],
    responses={200: {"model": ClaimOut}},
    summary="Bureau review: complete (to the leading group) or return with a note",
)
async def review_claim(
    claim_id: ClaimIdPath, body: ReviewIn, request: Request, principal: BureauAdmin
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, ClaimOut]:
        return 200, await service.review_claim(
            tx, principal, claim_id, outcome=body.outcome, note=body.note
        )

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/claims/{claim_id}/decision",
    tags=["claims"],
    responses={200: {"model": ClaimOut}},
    summary="Leading group decision: approve (emits ClaimApproved) or reject (emits ClaimRejected)",
)
async def decide_claim(
    claim_id: ClaimIdPath, body: DecisionIn, request: Request, principal: LeadingGroup
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, ClaimOut]:
        return 200, await service.decide_claim(
            tx, principal, claim_id, decision=body.decision, reason=body.reason
        )

    return await idempotent(request, principal, body, use_case)


@router.post(
    "/claims/{claim_id}/withdraw",
    tags=["claims"],
    responses={200: {"model": ClaimOut}},
    summary="The claimant withdraws its claim before the decision",
)
async def withdraw_claim(
    claim_id: ClaimIdPath,
    request: Request,
    principal: EnterpriseUser,
    body: WithdrawIn | None = None,
) -> JSONResponse:
    async def use_case(tx: Any) -> tuple[int, ClaimOut]:
        return 200, await service.withdraw_claim(
            tx, principal, claim_id, note=body.note if body else None
        )

    return await idempotent(request, principal, body, use_case)


@router.get(
    "/claims/{claim_id}",
    tags=["claims"],
    response_model=ClaimOut,
    summary="A claim with its history",
)
async def get_claim(claim_id: ClaimIdPath, ctx: Ctx, principal: Reader) -> ClaimOut:
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        return await service.get_claim(conn, principal, claim_id)


@router.get(
    "/claims",
    tags=["claims"],
    response_model=Page[ClaimOut],
    summary="Claims, oldest first, filtered and searched (an enterprise sees its own); "
    "recusal_required says whether the caller must stay out of each",
)
async def list_claims(
    ctx: Ctx,
    principal: Reader,
    page: Annotated[PageParams, Depends()],
    status: ClaimStatus | None = None,
    program: Annotated[str | None, Query(max_length=64)] = None,
    item: Annotated[str | None, Query(max_length=64)] = None,
    credit_code: Annotated[
        str | None,
        Query(min_length=18, max_length=18, description="one enterprise's 统一社会信用代码"),
    ] = None,
    enterprise: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="part of the enterprise's name"),
    ] = None,
    period: Annotated[
        str | None, Query(max_length=MAX_PERIOD_CHARS, description="the period claimed, e.g. 2023Q3")
    ] = None,
) -> Page[ClaimOut]:
    after = _cursor_value(page.cursor)
    async with ctx.pool.acquire() as conn:  # type: ignore[union-attr]
        found = await service.list_claims(
            conn,
            principal,
            status=status.value if status else None,
            program_code=program,
            item_code=item,
            after_id=after,
            limit=page.limit + 1,
            credit_code=credit_code.strip().upper() if credit_code else None,
            enterprise_name=enterprise.strip() if enterprise else None,
            period=period.strip() if period else None,
        )
    return _page(found, page.limit, lambda c: c.id)

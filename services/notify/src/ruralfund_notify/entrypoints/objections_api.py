"""HTTP in: the public objection form (HTML, no login) and the admins' objection endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from ruralfund_common.auth import Principal, Role, public_endpoint, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent
from ruralfund_common.errors import NotFound
from ruralfund_common.http import IdPosition, Page, PageParams, cursor_position, encode_cursor
from ruralfund_common.messaging import Tx
from ruralfund_common.recusal import must_recuse

from ..domain.notices import Notice
from ..domain.objections import (
    MAX_REASON_CHARS,
    MAX_RESOLUTION_CHARS,
    Objection,
    ObjectionInvalid,
    ObjectionOutcome,
    ObjectionStatus,
    PublicRefusal,
    mask_email,
)
from ..service import notify_service
from ..service.objections import FiledObjection, RateLimited
from .api import (
    FormState,
    html_page,
    not_found_page,
    notice_page,
    page_values,
    wall_clock_s,
    wants_html,
)
from .public_site import is_cross_site_post

__all__ = ["objection_admin_router", "objection_form_router"]

# A filled-in form is a few KiB (2,000 characters of reason, 3 bytes each in UTF-8); anything
# far larger is not a person typing. Read no more than this before refusing.
MAX_FORM_BYTES: Final = 16 * 1024
MAX_FORM_FIELDS: Final = 10
FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"
FORM_FIELDS: Final = ("name", "contact", "email", "reason")

objection_form_router = APIRouter(
    tags=["objections (public)"], dependencies=[Depends(public_endpoint)]
)
objection_admin_router = APIRouter(prefix="/objections", tags=["objections (admin)"])
CtxDep = Annotated[ServiceContext, Depends(get_ctx)]


# ------------------------------------------------------------------------------ public form


class FormTooLarge(PublicRefusal):
    status = 413

    def __init__(self) -> None:
        super().__init__(
            "FORM_TOO_LARGE",
            f"the form must be at most {MAX_FORM_BYTES} bytes of {FORM_MEDIA_TYPE}",
            f"提交的内容过长。异议理由请控制在 {MAX_REASON_CHARS} 字以内，证明材料请另行书面提交。",
        )


class NotAForm(PublicRefusal):
    status = 415

    def __init__(self) -> None:
        super().__init__(
            "FORM_MEDIA_TYPE",
            f"send the form as {FORM_MEDIA_TYPE}",
            "请在本网站的公示页面上填写并提交异议。",
        )


class CrossSitePost(PublicRefusal):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "CROSS_SITE_FORM",
            "objections are accepted only from this site's own notice page",
            "请在本网站的公示页面上填写并提交异议。",
        )


async def _read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, read with a hard size cap (no multipart, no files)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_MEDIA_TYPE:
        raise NotAForm()  # a browser posts this form urlencoded; anything else is hand-made
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge()
    try:
        parsed = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except UnicodeDecodeError:
        raise NotAForm() from None
    except ValueError:  # more fields than the form has
        raise FormTooLarge() from None
    return {k: v[0] for k, v in parsed.items() if v}


def _refusal_page(ctx: ServiceContext, refusal: PublicRefusal, notice_id: str) -> HTMLResponse:
    response = html_page(
        "objection_refused.html",
        refusal.status,
        message_zh=refusal.message_zh,
        code=refusal.code,
        notice_id=notice_id,
        **page_values(ctx),
    )
    if isinstance(refusal, RateLimited):
        response.headers["Retry-After"] = str(refusal.retry_after_s)
    return response


@objection_form_router.post(
    "/publicity/notices/{notice_id}/objections",
    response_class=HTMLResponse,
    summary="File an objection (异议) to a notice (HTML form post, signed form token)",
    responses={
        201: {"description": "received: the acknowledgement page",
              "content": {"text/html": {"schema": {"type": "string"}}}},
        400: {"description": "FORM_TOKEN_INVALID"},
        403: {"description": "CROSS_SITE_FORM"},
        409: {"description": "OBJECTION_WINDOW_CLOSED, NOTICE_REVOKED"},
        413: {"description": "FORM_TOO_LARGE"},
        422: {"description": "OBJECTION_INVALID: the form again, with what to correct"},
        429: {"description": "RATE_LIMITED (Retry-After)"},
    },
)
async def file_objection(notice_id: str, request: Request, ctx: CtxDep) -> HTMLResponse:
    service = notify_service(ctx)
    desk = service.objections
    peer = request.client.host if request.client else "unknown"
    client_ip = desk.client_of(peer, request.headers.get("x-forwarded-for"))
    try:  # its id or its 公示编号 (XINPING-2021-0013)
        notice_id = await service.public_notice_id(ctx.db, notice_id)
    except NotFound:
        return not_found_page(request, ctx)
    fields: dict[str, str] = {}
    try:
        # A form another site made the browser post (Sec-Fetch-Site, else Origin / Referer).
        if is_cross_site_post(request, service.settings.public_base_url):
            raise CrossSitePost()
        await desk.admit(ctx.db, client_ip, wall_clock_s())
        fields = await _read_form(request)
        async with ctx.transaction(correlation_id=request.headers.get("X-Request-Id")) as tx:
            filed = await desk.file(tx, notice_id, fields, client_ip, wall_clock_s())
    except NotFound:
        return not_found_page(request, ctx)
    except ObjectionInvalid as invalid:
        if not wants_html(request):
            raise  # problem+json naming the first field to correct
        return await _form_again(ctx, notice_id, fields, invalid)
    except PublicRefusal as refusal:
        if not wants_html(request):
            if isinstance(refusal, RateLimited):
                refusal.headers = {"Retry-After": str(refusal.retry_after_s)}  # type: ignore[attr-defined]
            raise
        return _refusal_page(ctx, refusal, notice_id)
    return _acknowledgement(ctx, filed)


async def _form_again(
    ctx: ServiceContext, notice_id: str, fields: dict[str, str], invalid: ObjectionInvalid
) -> HTMLResponse:
    """The notice page again with what was typed and what to correct. The same token goes
    back: it has not filed anything yet."""
    row = await notify_service(ctx).public_notice(ctx.db, notice_id)
    form = FormState(
        token=fields.get("form_token"),
        values={k: fields.get(k, "") for k in FORM_FIELDS},
        errors=invalid.errors_zh,
    )
    return notice_page(ctx, row, status_code=422, form=form)


def _acknowledgement(ctx: ServiceContext, filed: FiledObjection) -> HTMLResponse:
    o = filed.objection
    response = html_page(
        "objection_received.html",
        200 if filed.replayed else 201,
        objection=o,
        notice=filed.notice.notice,
        replayed=filed.replayed,
        email_shown=mask_email(o.email) if o.email else None,
        **page_values(ctx),
    )
    response.headers["Cache-Control"] = "no-store"  # the objector's own data
    return response


# ------------------------------------------------------------------------------ admin


class AdminObjection(BaseModel):
    """An objection as staff see it: the objector's identity and contact included, and the
    notice it is against (so the person resolving it sees whose award it concerns)."""

    id: str
    notice_id: str
    award_id: str
    claim_id: str
    program_code: str
    name: str
    contact: str
    email: str | None
    reason: str
    client_ip: str
    filed_at: datetime
    status: ObjectionStatus
    resolution_reason: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    notice_number: str | None = Field(default=None, description="公示编号, e.g. XINPING-2021-0013")
    awardee_name: str | None = None
    credit_code: str | None = Field(default=None, description="the awardee's 统一社会信用代码")
    item_name: str | None = None
    amount_fen: int | None = None
    notice_ends_on: date | None = Field(default=None, description="the publicity window's last day")
    recusal_required: bool = Field(
        default=False,
        description="the caller must recuse from resolving it: the awardee is their own enterprise "
        "or one they are linked to (回避; resolve refuses them with 403 RECUSAL_REQUIRED)",
    )

    @classmethod
    def of(cls, o: Objection, notice: Notice | None = None, reader: Principal | None = None) -> AdminObjection:
        own = {name: getattr(o, name) for name in cls.model_fields if hasattr(o, name)}
        if notice is None:
            return cls(**own)
        return cls(
            **own, notice_number=notice.number, awardee_name=notice.awardee_name,
            credit_code=notice.credit_code, item_name=notice.item_name, amount_fen=notice.amount_fen,
            notice_ends_on=notice.ends_on,
            recusal_required=reader is not None and must_recuse(reader, notice.credit_code),
        )


class Resolution(BaseModel):
    outcome: ObjectionOutcome = Field(description="upheld: funds revokes the award; dismissed")
    # no min_length: a blank reason is refused by the domain, in Chinese, naming the field
    reason: str = Field(max_length=MAX_RESOLUTION_CHARS)


Reader = Annotated[
    Principal, Depends(require_roles(Role.BUREAU_ADMIN, Role.LEADING_GROUP, Role.AUDITOR))
]
Resolver = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]


@objection_admin_router.get("", summary="Objections, newest first")
async def list_objections(
    reader: Reader,
    ctx: CtxDep,
    params: Annotated[PageParams, Depends()],
    status: Annotated[ObjectionStatus | None, Query()] = None,
    notice_id: Annotated[UUID | None, Query()] = None,
) -> Page[AdminObjection]:
    before_id = _position(params.cursor)
    found = await notify_service(ctx).objections.list(
        ctx.db,
        limit=params.limit + 1,
        before_id=before_id,
        status=status,
        notice_id=str(notice_id) if notice_id else None,
    )
    shown = found[: params.limit]
    notices = await notify_service(ctx).objections.notices_of(ctx.db, {o.notice_id for o in shown})
    items = [AdminObjection.of(o, notices.get(o.notice_id), reader) for o in shown]
    next_cursor = encode_cursor({"id": items[-1].id}) if len(found) > params.limit else None
    return Page[AdminObjection](items=items, next_cursor=next_cursor, limit=params.limit)


def _position(cursor: str | None) -> str | None:
    position = cursor_position(cursor, IdPosition)
    return str(position.id) if position else None


@objection_admin_router.get("/{objection_id}", summary="One objection")
async def get_objection(objection_id: UUID, reader: Reader, ctx: CtxDep) -> AdminObjection:
    desk = notify_service(ctx).objections
    objection = await desk.get(ctx.db, str(objection_id))
    notices = await desk.notices_of(ctx.db, {objection.notice_id})
    return AdminObjection.of(objection, notices.get(objection.notice_id), reader)


@objection_admin_router.post(
    "/{objection_id}/resolve",
    response_model=AdminObjection,
    summary="Record an objection's outcome (upheld or dismissed, with reason); emits "
    "notify.evt.objection_resolved.v1",
    responses={
        404: {"description": "OBJECTION_NOT_FOUND"},
        409: {"description": "OBJECTION_ALREADY_RESOLVED"},
    },
)
async def resolve_objection(
    objection_id: UUID, body: Resolution, request: Request, principal: Resolver
) -> JSONResponse:
    desk = notify_service(get_ctx(request)).objections

    async def use_case(tx: Tx) -> tuple[int, AdminObjection]:
        resolved = await desk.resolve(
            tx, str(objection_id), body.outcome, body.reason, by=principal
        )
        return 200, AdminObjection.of(resolved)

    return await idempotent(request, principal, body, use_case)

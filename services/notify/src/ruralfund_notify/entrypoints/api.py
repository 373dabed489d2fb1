"""HTTP in: the public publicity page (公示, no login) and the admins' notice endpoints."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from ruralfund_common.auth import Principal, Role, public_endpoint, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent
from ruralfund_common.calendar import PUBLICITY_WORKING_DAYS, local_date
from ruralfund_common.errors import NotFound
from ruralfund_common.http import (
    CursorPosition,
    IdPosition,
    Page,
    PageParams,
    cursor_position,
    encode_cursor,
)
from ruralfund_common.messaging import Tx
from ruralfund_common.money import format_yuan

from ..adapters.repository import NoticeRow
from ..domain.masking import public_awardee_name, redact_text
from ..domain.notices import Notice, NoticeStatus, PublicityPhase, publicity_period_zh
from ..domain.objections import PublicRefusal, check_objection_window
from ..domain.rendering import jinja_environment
from ..service import NotifyService, notify_service
from ..service.checkpoints import PAGE_CHECKPOINTS, public_checkpoints

__all__ = [
    "AdminNotice",
    "FormState",
    "PublicNotice",
    "admin_router",
    "html_page",
    "notice_page",
    "page_values",
    "public_router",
    "wall_clock_s",
]

HTML_MEDIA_TYPE = "text/html; charset=utf-8"
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
PHASE_ZH = {
    PublicityPhase.NOT_STARTED: "即将开始",
    PublicityPhase.OPEN: "公示中",
    PublicityPhase.ENDED: "公示期满",
    PublicityPhase.REVOKED: "已撤销",
}

public_router = APIRouter(tags=["publicity (public)"], dependencies=[Depends(public_endpoint)])
admin_router = APIRouter(prefix="/notices", tags=["notices (admin)"])

CtxDep = Annotated[ServiceContext, Depends(get_ctx)]


class PublicNotice(BaseModel):
    """A notice as anyone may read it: a natural person's name is masked."""

    id: str
    notice_no: str = Field(description="公示编号 to quote, e.g. XINPING-2021-0013 (per program, in publication order)")
    program_code: str
    program_name: str
    item_code: str
    item_name: str
    awardee: str
    amount_fen: int
    amount_yuan: str
    published_at: datetime
    starts_on: date
    ends_on: date
    objections_close_at: datetime
    phase: PublicityPhase
    url: str
    working_days: int = PUBLICITY_WORKING_DAYS  # the program's publicity_working_days
    revoked_at: datetime | None = None
    revocation_note: str | None = None

    @classmethod
    def of(cls, row: NoticeRow, *, today: date, service: NotifyService) -> PublicNotice:
        n, revocation = row.notice, row.revocation
        assert n.published_at is not None and n.starts_on is not None and n.ends_on is not None
        assert n.number is not None  # every published notice has one (migration 0009)
        return cls(
            id=n.id,
            notice_no=n.number,
            program_code=n.program_code,
            program_name=redact_text(row.program_name or n.program_code),
            item_code=n.item_code,
            item_name=redact_text(n.item_name),
            awardee=public_awardee_name(n.awardee_name, n.credit_code),
            amount_fen=n.amount_fen,
            amount_yuan=format_yuan(n.amount_fen),
            published_at=n.published_at,
            starts_on=n.starts_on,
            ends_on=n.ends_on,
            objections_close_at=n.objections_close_at,
            phase=n.phase(today, revocation),
            url=service.url_of(n.id),
            working_days=n.working_days,
            revoked_at=revocation.revoked_at if revocation else None,
            revocation_note=revocation.public_note if revocation else None,
        )


class AdminNotice(BaseModel):
    """A notice as staff see it: full names, status, and why it is not public yet."""

    id: str
    award_id: str
    claim_id: str
    program_code: str
    item_code: str
    item_name: str
    credit_code: str
    awardee_name: str
    amount_fen: int
    status: NoticeStatus
    published_at: datetime | None
    starts_on: date | None
    ends_on: date | None
    url: str | None

    @classmethod
    def of(cls, n: Notice, service: NotifyService) -> AdminNotice:
        return cls(
            id=n.id,
            award_id=n.award_id,
            claim_id=n.claim_id,
            program_code=n.program_code,
            item_code=n.item_code,
            item_name=n.item_name,
            credit_code=n.credit_code,
            awardee_name=n.awardee_name,
            amount_fen=n.amount_fen,
            status=n.status,
            published_at=n.published_at,
            starts_on=n.starts_on,
            ends_on=n.ends_on,
            url=service.url_of(n.id) if n.is_published else None,
        )


# ------------------------------------------------------------------------------ public


async def _public_page(ctx: ServiceContext, params: PageParams) -> Page[PublicNotice]:
    service = notify_service(ctx)
    assert ctx.pool is not None
    rows = await service.public_notices(
        ctx.pool, limit=params.limit + 1, after=_public_position(params.cursor)
    )
    today = local_date(ctx.clock.now())
    items = [PublicNotice.of(r, today=today, service=service) for r in rows[: params.limit]]
    more = len(rows) > params.limit
    next_cursor = encode_cursor({"p": items[-1].published_at, "id": items[-1].id}) if more else None
    return Page[PublicNotice](items=items, next_cursor=next_cursor, limit=params.limit)


class _PublicPosition(CursorPosition):
    p: AwareDatetime  # published_at of the last notice on the page
    id: UUID


def _public_position(cursor: str | None) -> tuple[datetime, str] | None:
    position = cursor_position(cursor, _PublicPosition)
    return (position.p, str(position.id)) if position else None


def html_page(template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    page = jinja_environment(True).get_template(f"public/{template}").render(**values)
    return HTMLResponse(page, status_code=status_code, media_type=HTML_MEDIA_TYPE)


def page_values(ctx: ServiceContext) -> dict[str, Any]:
    s = notify_service(ctx).settings
    return {"settings": s, "phase_zh": PHASE_ZH, "working_days": PUBLICITY_WORKING_DAYS}


def wall_clock_s() -> int:
    """Real seconds since the epoch, for the form token's age. Not the injected business
    clock: a developer moving the dev clock by days must not expire every open form."""
    return int(time.time())


@dataclass(frozen=True)
class FormState:
    """The objection form on a notice page: its token, what was typed, what to correct."""

    token: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    closed_zh: str | None = None  # why no form is offered (window closed, award revoked)


def notice_page(
    ctx: ServiceContext,
    row: NoticeRow,
    *,
    status_code: int = 200,
    form: FormState | None = None,
) -> HTMLResponse:
    """A notice with its objection form (fresh token) while objections are accepted."""
    service = notify_service(ctx)
    now = ctx.clock.now()
    notice = PublicNotice.of(row, today=local_date(now), service=service)
    form = form or FormState()
    try:
        check_objection_window(row.notice, row.revocation, now, service.settings.objection_office)
        token = form.token or service.objections.form_token(notice.id, wall_clock_s())
        form = FormState(token, form.values, form.errors, None)
    except PublicRefusal as refusal:
        form = FormState(None, {}, {}, refusal.message_zh)
    response = html_page(
        "publicity_notice.html",
        status_code,
        notice=notice,
        form=form,
        **page_values(ctx),
    )
    response.headers["Cache-Control"] = "no-store"  # the token is for this view only
    return response


@public_router.get(
    "/publicity", response_class=HTMLResponse, summary="Publicity notices (公示), HTML"
)
async def publicity_page(ctx: CtxDep, params: Annotated[PageParams, Depends()]) -> HTMLResponse:
    page = await _public_page(ctx, params)
    checkpoints = await public_checkpoints(ctx.db, PAGE_CHECKPOINTS)
    # each listed program's own 公示 length (not a constant 5)
    period_zh = publicity_period_zh((n.program_name, n.working_days) for n in page.items)
    return html_page("publicity_list.html", page=page, checkpoints=checkpoints,
                     period_zh=period_zh, **page_values(ctx))


@public_router.get("/publicity/notices.json", summary="Publicity notices (公示), JSON")
async def publicity_json(
    ctx: CtxDep, params: Annotated[PageParams, Depends()]
) -> Page[PublicNotice]:
    return await _public_page(ctx, params)


@public_router.get(
    "/publicity/feed.atom",
    response_class=Response,
    summary="Publicity notices (公示), Atom feed (RFC 4287): the same notices as the JSON page",
    responses={200: {"content": {"application/atom+xml": {"schema": {"type": "string"}}}}},
)
async def publicity_feed(ctx: CtxDep, params: Annotated[PageParams, Depends()]) -> Response:
    page = await _public_page(ctx, params)
    s = notify_service(ctx).settings
    # A feed's <updated> is its newest change; an empty feed changes when it is read.
    changes = [n.revoked_at or n.published_at for n in page.items]
    feed = (
        jinja_environment(True)
        .get_template("public/feed.atom.xml")
        .render(
            page=page,
            updated=max(changes, default=ctx.clock.now()),
            feed_id=f"{s.public_base_url}/publicity",
            self_url=f"{s.public_base_url}/publicity/feed.atom",
            **page_values(ctx),
        )
    )
    return Response(feed, media_type=ATOM_MEDIA_TYPE)


@public_router.get(
    "/publicity/notices/{notice_id}", response_class=HTMLResponse, summary="One notice, HTML"
)
async def publicity_notice_page(notice_id: str, request: Request, ctx: CtxDep) -> HTMLResponse:
    service = notify_service(ctx)
    assert ctx.pool is not None
    try:  # its id (links) or its 公示编号 (XINPING-2021-0013, what people quote)
        row = await service.public_notice(ctx.pool, await service.public_notice_id(ctx.pool, notice_id))
    except NotFound:  # a mistyped link and an unknown notice look the same
        return not_found_page(request, ctx)
    return notice_page(ctx, row)


@public_router.get(
    "/publicity/lookup",
    response_class=RedirectResponse,
    status_code=303,
    summary="Find a notice by its 公示编号 (the list page's search box): 303 to the notice",
    responses={404: {"description": "NOTICE_NOT_FOUND"}},
)
async def publicity_lookup(
    request: Request,
    ctx: CtxDep,
    no: Annotated[str, Query(max_length=80, description="公示编号, e.g. XINPING-2021-0013")],
) -> Response:
    service = notify_service(ctx)
    assert ctx.pool is not None
    try:
        notice_id = await service.public_notice_id(ctx.pool, no)
    except NotFound:
        return not_found_page(request, ctx)
    return RedirectResponse(f"/publicity/notices/{notice_id}", status_code=303)


def wants_html(request: Request) -> bool:
    """Browsers ask for text/html on every page load and form post: they get the page. Any
    other client (a script, a crawler, a scanner) gets a refusal as problem+json, like
    every other error of the service."""
    return "text/html" in request.headers.get("accept", "").lower()


def not_found_page(request: Request, ctx: ServiceContext) -> HTMLResponse:
    """404 for an unknown or mistyped notice: the page for people, problem+json for others."""
    if not wants_html(request):
        raise NotFound("NOTICE_NOT_FOUND", "no published notice has this id", field="notice_id",
            detail_zh="没有该编号的已发布公示，请核对公示编号。")
    return html_page("not_found.html", status_code=404, **page_values(ctx))


# ------------------------------------------------------------------------------ admin

Reader = Annotated[
    Principal, Depends(require_roles(Role.BUREAU_ADMIN, Role.LEADING_GROUP, Role.AUDITOR))
]
Publisher = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]


@admin_router.get("", summary="All notices, newest first, including those awaiting the calendar")
async def list_notices(
    _: Reader,
    ctx: CtxDep,
    params: Annotated[PageParams, Depends()],
    status: Annotated[NoticeStatus | None, Query(description="only notices in this status")] = None,
) -> Page[AdminNotice]:
    service = notify_service(ctx)
    assert ctx.pool is not None
    before_id = _admin_position(params.cursor)
    notices = await service.admin_notices(
        ctx.pool, limit=params.limit + 1, before_id=before_id, status=status
    )
    items = [AdminNotice.of(n, service) for n in notices[: params.limit]]
    next_cursor = encode_cursor({"id": items[-1].id}) if len(notices) > params.limit else None
    return Page[AdminNotice](items=items, next_cursor=next_cursor, limit=params.limit)


def _admin_position(cursor: str | None) -> str | None:
    position = cursor_position(cursor, IdPosition)
    return str(position.id) if position else None


@admin_router.post(
    "/{notice_id}/publish",
    response_model=AdminNotice,
    summary="Publish a notice that waited for the working-day calendar (retry after loading the year)",
    responses={
        409: {"description": "NOTICE_ALREADY_PUBLISHED"},
        422: {"description": "CALENDAR_YEAR_UNKNOWN"},
    },
)
async def publish_notice(notice_id: UUID, request: Request, principal: Publisher) -> JSONResponse:
    ctx = get_ctx(request)
    service = notify_service(ctx)

    async def use_case(tx: Tx) -> tuple[int, AdminNotice]:
        notice = await service.publish_notice(tx, str(notice_id))
        return 200, AdminNotice.of(notice, service)

    return await idempotent(request, principal, None, use_case)

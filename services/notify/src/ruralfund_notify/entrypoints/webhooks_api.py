"""HTTP in: admins subscribe other systems' URLs to events, read the delivery log, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent
from ruralfund_common.http import IdPosition, Page, PageParams, cursor_position, encode_cursor
from ruralfund_common.messaging import Tx

from ..adapters.webhooks_repo import AttemptRow, DeliveryRow
from ..domain.ssrf import MAX_URL_CHARS
from ..domain.webhooks import (
    MAX_DESCRIPTION_CHARS,
    MAX_EVENT_TYPES,
    DeliveryStatus,
    Subscription,
)
from ..service import notify_service

__all__ = ["webhook_router"]

webhook_router = APIRouter(prefix="/webhooks", tags=["webhooks (admin)"])
CtxDep = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(Role.BUREAU_ADMIN, Role.AUDITOR))]
Admin = Annotated[Principal, Depends(require_write(Role.BUREAU_ADMIN))]


class SubscriptionIn(BaseModel):
    url: str = Field(max_length=MAX_URL_CHARS, description="https, public address (checked)")
    event_types: list[str] = Field(min_length=1, max_length=MAX_EVENT_TYPES)
    secret: str | None = Field(
        default=None, description="whsec_<base64 of 24..64 bytes>; generated when omitted"
    )
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    created_by: str
    created_at: datetime
    active: bool
    disabled_at: datetime | None

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            url=s.url,
            event_types=s.event_types,
            description=s.description,
            created_by=s.created_by,
            created_at=s.created_at,
            active=s.active,
            disabled_at=s.disabled_at,
        )


class NewSubscriptionOut(SubscriptionOut):
    secret: str = Field(description="the signing secret; shown only in this answer")


class AttemptOut(BaseModel):
    attempt: int
    replay: int
    webhook_timestamp: int
    address: str | None
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None
    attempted_at: datetime

    @classmethod
    def of(cls, a: AttemptRow) -> AttemptOut:
        return cls(**{name: getattr(a, name) for name in cls.model_fields})


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header, the same on retries and replays")
    subscription_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    replays: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    dead_reason: str | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptOut]

    @classmethod
    def of(cls, d: DeliveryRow, attempts: list[AttemptRow]) -> DeliveryOut:
        fields = {name: getattr(d, name) for name in cls.model_fields if name != "log"}
        return cls(**fields, log=[AttemptOut.of(a) for a in attempts])


@webhook_router.get("/event-types", summary="Event types other systems may subscribe to")
async def event_types(_: Reader, ctx: CtxDep) -> list[str]:
    return sorted(notify_service(ctx).webhooks.offered)


@webhook_router.post(
    "/subscriptions",
    status_code=201,
    response_model=NewSubscriptionOut,
    summary="Subscribe a URL to event types (the secret is returned once)",
    responses={
        422: {"description": "WEBHOOK_TARGET_FORBIDDEN, UNKNOWN_EVENT_TYPE, INVALID_SECRET"}
    },
)
async def subscribe(body: SubscriptionIn, request: Request, principal: Admin) -> JSONResponse:
    desk = notify_service(get_ctx(request)).webhooks
    await desk.checked_target(body.url)  # DNS before the transaction: never hold a row on it

    async def use_case(tx: Tx) -> tuple[int, NewSubscriptionOut]:
        made = await desk.subscribe(
            tx,
            url=body.url,
            event_types=body.event_types,
            secret=body.secret,
            description=body.description,
            by=principal.subject,
        )
        out = SubscriptionOut.of(made.subscription).model_dump()
        return 201, NewSubscriptionOut(**out, secret=made.secret)

    return await idempotent(request, principal, body, use_case)


@webhook_router.get("/subscriptions", summary="All subscriptions (secrets are never shown)")
async def list_subscriptions(_: Reader, ctx: CtxDep) -> list[SubscriptionOut]:
    return [SubscriptionOut.of(s) for s in await notify_service(ctx).webhooks.subscriptions(ctx.db)]


@webhook_router.get("/subscriptions/{subscription_id}", summary="One subscription")
async def get_subscription(subscription_id: UUID, _: Reader, ctx: CtxDep) -> SubscriptionOut:
    found = await notify_service(ctx).webhooks.subscription(ctx.db, str(subscription_id))
    return SubscriptionOut.of(found)


@webhook_router.delete(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Disable a subscription (its pending deliveries are dead-lettered when due)",
)
async def disable_subscription(
    subscription_id: UUID, request: Request, principal: Admin
) -> JSONResponse:
    desk = notify_service(get_ctx(request)).webhooks

    async def use_case(tx: Tx) -> tuple[int, SubscriptionOut]:
        return 200, SubscriptionOut.of(await desk.disable(tx, str(subscription_id)))

    return await idempotent(request, principal, None, use_case)


@webhook_router.get(
    "/subscriptions/{subscription_id}/deliveries",
    summary="A subscription's delivery log, newest first, with every attempt",
)
async def list_deliveries(
    subscription_id: UUID,
    _: Reader,
    ctx: CtxDep,
    params: Annotated[PageParams, Depends()],
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[DeliveryOut]:
    rows = await notify_service(ctx).webhooks.deliveries(
        ctx.db,
        str(subscription_id),
        limit=params.limit + 1,
        before_id=_position(params.cursor),
        status=status,
    )
    items = [DeliveryOut.of(d, attempts) for d, attempts in rows[: params.limit]]
    next_cursor = encode_cursor({"id": items[-1].id}) if len(rows) > params.limit else None
    return Page[DeliveryOut](items=items, next_cursor=next_cursor, limit=params.limit)


def _position(cursor: str | None) -> str | None:
    position = cursor_position(cursor, IdPosition)
    return str(position.id) if position else None


@webhook_router.get("/deliveries/{delivery_id}", summary="One delivery with its attempts")
async def get_delivery(delivery_id: UUID, _: Reader, ctx: CtxDep) -> DeliveryOut:
    row, attempts = await notify_service(ctx).webhooks.delivery(ctx.db, str(delivery_id))
    return DeliveryOut.of(row, attempts)


@webhook_router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send one delivery again (same webhook-id, fresh signature and attempt budget)",
)
async def replay_delivery(delivery_id: UUID, request: Request, principal: Admin) -> JSONResponse:
    ctx = get_ctx(request)
    desk = notify_service(ctx).webhooks

    async def use_case(tx: Tx) -> tuple[int, DeliveryOut]:
        row = await desk.replay(tx, str(delivery_id))
        return 202, DeliveryOut.of(row, [])

    return await idempotent(request, principal, None, use_case)

"""HTTP in: translate requests to use cases and results to JSON; no rules live here.

Roles: the bureau (and automation) manages the network; an enterprise reports volumes for the
stations it operates; staff readers (auditors included) read everything; the station list
without contact details is public. Every write goes through ``idempotent``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from ruralfund_common.auth import Principal, Role, public_endpoint, require_roles, require_write
from ruralfund_common.bootstrap import MAX_IDEMPOTENCY_KEY_CHARS, get_ctx, idempotent
from ruralfund_common.calendar import local_date
from ruralfund_common.http import CursorPosition, Page, PageParams, cursor_position, encode_cursor
from ruralfund_common.messaging import Tx

from .. import service
from ..adapters.repository import StationFilter
from ..domain import Actor, CarrierKind, StationStatus, Tier
from .schemas import (
    CarrierIn,
    CarrierLeaveIn,
    CarrierOut,
    CoverageOut,
    PartnershipEndIn,
    PartnershipIn,
    PartnershipOut,
    StationCloseIn,
    StationIn,
    StationOut,
    StationPublicOut,
    TierName,
    VolumeIn,
    VolumeReportOut,
    VolumesOut,
)

__all__ = ["router"]

router = APIRouter(tags=["logistics"])

NetworkAdmin = Annotated[Principal, Depends(require_write(*service.NETWORK_ADMIN_ROLES))]
VolumeReporter = Annotated[Principal, Depends(require_write(*service.VOLUME_REPORTER_ROLES))]
StationReader = Annotated[
    Principal, Depends(require_roles(*service.NETWORK_READER_ROLES, Role.ENTERPRISE))
]
StaffReader = Annotated[Principal, Depends(require_roles(*service.NETWORK_READER_ROLES))]
StationId = Annotated[UUID, Path(description="the station's id")]


async def _idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_IDEMPOTENCY_KEY_CHARS,
            description="a replay returns the first answer; the same key with another body is 409",
        ),
    ] = None,
) -> None:
    """Documents the header in OpenAPI; ``idempotent`` reads and enforces it."""


IDEMPOTENT = [Depends(_idempotency_key)]


async def _write(
    request: Request,
    principal: Principal,
    body: BaseModel,
    status: int,
    run: Callable[[Tx, Actor], Awaitable[BaseModel]],
) -> JSONResponse:
    actor = service.actor_of(principal)

    async def use_case(tx: Tx) -> tuple[int, BaseModel]:
        return status, await run(tx, actor)

    return await idempotent(request, principal, body, use_case)


@asynccontextmanager
async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    pool = get_ctx(request).pool
    assert pool is not None, "the service has not started"
    async with pool.acquire() as conn:
        yield conn


def _today(request: Request) -> date:
    return local_date(get_ctx(request).clock.now())


# -- the station network -------------------------------------------------------------------


@router.post(
    "/stations",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=StationOut,
    summary="Register a center, town or village station",
)
async def register_station(
    request: Request, body: StationIn, principal: NetworkAdmin
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> StationOut:
        return StationOut.of(await service.register_station(tx, actor, body.draft()))

    return await _write(request, principal, body, 201, run)


@router.get(
    "/stations/{station_id}",
    response_model=StationOut,
    summary="A station with its contact details",
)
async def get_station(
    request: Request, station_id: StationId, principal: StationReader
) -> StationOut:
    async with _connection(request) as conn:
        return StationOut.of(
            await service.get_station(conn, service.actor_of(principal), str(station_id))
        )


@router.post(
    "/stations/{station_id}/close",
    dependencies=IDEMPOTENT,
    response_model=StationOut,
    summary="Close a station (children first)",
)
async def close_station(
    request: Request, station_id: StationId, body: StationCloseIn, principal: NetworkAdmin
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> StationOut:
        closed = await service.close_station(
            tx, actor, str(station_id), closed_on=body.closed_on, reason=body.reason
        )
        return StationOut.of(closed)

    return await _write(request, principal, body, 200, run)


@router.get(
    "/network/stations",
    response_model=Page[StationPublicOut],
    dependencies=[Depends(public_endpoint)],
    summary="The station network, public (no contact details)",
)
async def list_stations(
    request: Request,
    paging: Annotated[PageParams, Depends()],
    county_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    tier: TierName | None = None,
    parent_id: UUID | None = None,
    status: Literal["active", "closed"] | None = None,
) -> Page[StationPublicOut]:
    after = _after_id(paging.cursor)
    f = StationFilter(
        county_code=county_code,
        tier=Tier(tier) if tier else None,
        parent_id=str(parent_id) if parent_id else None,
        status=StationStatus(status) if status else None,
    )
    async with _connection(request) as conn:
        # one extra row tells whether another page follows
        found = await service.list_stations(conn, f, after_id=after, limit=paging.limit + 1)
    items = [StationPublicOut.of(s) for s in found[: paging.limit]]
    more = len(found) > paging.limit
    return Page(
        items=items,
        limit=paging.limit,
        next_cursor=encode_cursor({"after": items[-1].id}) if more else None,
    )


class _AfterId(CursorPosition):
    after: UUID


def _after_id(cursor: str | None) -> str | None:
    position = cursor_position(cursor, _AfterId)
    return str(position.after) if position else None


# -- volumes -------------------------------------------------------------------------------


@router.post(
    "/stations/{station_id}/volumes",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=VolumeReportOut,
    summary="Report (or correct, with correction_reason) a station's monthly volume",
)
async def report_volume(
    request: Request, station_id: StationId, body: VolumeIn, principal: VolumeReporter
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> VolumeReportOut:
        report, total = await service.report_volume(tx, actor, str(station_id), body.given())
        return VolumeReportOut.of_report(report, total)

    return await _write(request, principal, body, 201, run)


@router.get(
    "/stations/{station_id}/volumes",
    response_model=VolumesOut,
    summary="A station's months and annual total",
)
async def station_volumes(
    request: Request,
    station_id: StationId,
    principal: StationReader,
    year: Annotated[int | None, Query(description="defaults to the county's current year")] = None,
) -> VolumesOut:
    wanted = year if year is not None else _today(request).year
    async with _connection(request) as conn:
        found = await service.station_volumes(
            conn, service.actor_of(principal), str(station_id), wanted
        )
    return VolumesOut.of(found)


# -- the county center's carriers and partnerships -------------------------------------------


@router.post(
    "/stations/{station_id}/carriers",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=CarrierOut,
    summary="A carrier settles in the center",
)
async def settle_carrier(
    request: Request, station_id: StationId, body: CarrierIn, principal: NetworkAdmin
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> CarrierOut:
        carrier = await service.settle_carrier(
            tx,
            actor,
            str(station_id),
            kind=CarrierKind(body.kind),
            name=body.name,
            credit_code=body.credit_code,
            settled_on=body.settled_on,
        )
        return CarrierOut.of(carrier)

    return await _write(request, principal, body, 201, run)


@router.post(
    "/stations/{station_id}/carriers/{carrier_id}/leave",
    dependencies=IDEMPOTENT,
    response_model=CarrierOut,
    summary="A carrier leaves the center",
)
async def carrier_leaves(
    request: Request,
    station_id: StationId,
    carrier_id: UUID,
    body: CarrierLeaveIn,
    principal: NetworkAdmin,
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> CarrierOut:
        gone = await service.carrier_leaves(
            tx, actor, str(station_id), str(carrier_id), left_on=body.left_on
        )
        return CarrierOut.of(gone)

    return await _write(request, principal, body, 200, run)


@router.post(
    "/stations/{station_id}/retail-partnerships",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=PartnershipOut,
    summary="The center starts delivering for a traditional retailer",
)
async def start_partnership(
    request: Request, station_id: StationId, body: PartnershipIn, principal: NetworkAdmin
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> PartnershipOut:
        p = await service.start_partnership(
            tx,
            actor,
            str(station_id),
            partner_name=body.partner_name,
            partner_credit_code=body.partner_credit_code,
            started_on=body.started_on,
        )
        return PartnershipOut.of(p)

    return await _write(request, principal, body, 201, run)


@router.post(
    "/stations/{station_id}/retail-partnerships/{partnership_id}/end",
    dependencies=IDEMPOTENT,
    response_model=PartnershipOut,
    summary="A retail delivery partnership ends",
)
async def end_partnership(
    request: Request,
    station_id: StationId,
    partnership_id: UUID,
    body: PartnershipEndIn,
    principal: NetworkAdmin,
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> PartnershipOut:
        ended = await service.end_partnership(
            tx, actor, str(station_id), str(partnership_id), ended_on=body.ended_on
        )
        return PartnershipOut.of(ended)

    return await _write(request, principal, body, 200, run)


@router.get(
    "/network/coverage",
    response_model=CoverageOut,
    summary="The county center against its Xinping targets",
)
async def network_coverage(
    request: Request,
    principal: StaffReader,
    county_code: Annotated[str, Query(pattern=r"^\d{6}$", examples=["530427"])],
    as_of: Annotated[date | None, Query(description="defaults to the county's today")] = None,
) -> CoverageOut:
    async with _connection(request) as conn:
        found = await service.network_coverage(conn, county_code, as_of=as_of or _today(request))
    return CoverageOut.of(found)

"""HTTP in for range prices (区间价): carriers (or the bureau) publish, anyone reads the board,
its history and the price target; the bureau sets the baseline and certifies enterprises."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from ruralfund_common.auth import Principal, public_endpoint, require_write
from ruralfund_common.bootstrap import get_ctx
from ruralfund_common.calendar import local_date
from ruralfund_common.messaging import Tx

from .. import service
from ..domain import Actor
from .api import IDEMPOTENT, StationId, _write
from .price_schemas import (
    BaselineIn,
    BaselineOut,
    CertifyIn,
    PriceBoardOut,
    PriceHistoryOut,
    PriceScheduleOut,
    PricesIn,
    PriceTargetOut,
    RevokeIn,
    ShipperOut,
)

__all__ = ["router"]

router = APIRouter(tags=["prices"])
Publisher = Annotated[Principal, Depends(require_write(*service.PRICE_PUBLISHER_ROLES))]
Admin = Annotated[Principal, Depends(require_write(*service.NETWORK_ADMIN_ROLES))]
County = Annotated[str, Query(pattern=r"^\d{6}$", examples=["530427"])]
AsOf = Annotated[date | None, Query(description="local day; defaults to the county's today")]
PUBLIC = [Depends(public_endpoint)]


def _day(request: Request, as_of: date | None) -> date:
    return as_of or local_date(get_ctx(request).clock.now())


@router.post(
    "/stations/{station_id}/carriers/{carrier_id}/prices",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=PriceScheduleOut,
    summary="A carrier publishes its range prices per weight band (a new version)",
)
async def publish_prices(
    request: Request, station_id: StationId, carrier_id: UUID, body: PricesIn, principal: Publisher
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> PriceScheduleOut:
        carrier, schedule = await service.publish_prices(
            tx,
            actor,
            str(station_id),
            str(carrier_id),
            bands=body.given(),
            effective_from=body.effective_from,
            note=body.note,
        )
        return PriceScheduleOut.of(carrier, schedule)

    return await _write(request, principal, body, 201, run)


@router.get(
    "/prices",
    response_model=PriceBoardOut,
    dependencies=PUBLIC,
    summary="Public: the range prices in force at the county center for certified enterprises",
)
async def price_board(request: Request, county_code: County, as_of: AsOf = None) -> PriceBoardOut:
    async with get_ctx(request).db.acquire() as conn:
        board = await service.price_board(conn, county_code, as_of=_day(request, as_of))
    return PriceBoardOut.of(board)


@router.get(
    "/prices/history",
    response_model=PriceHistoryOut,
    dependencies=PUBLIC,
    summary="Public: every price version ever published, newest first",
)
async def price_history(
    request: Request, county_code: County, carrier_id: UUID | None = None
) -> PriceHistoryOut:
    async with get_ctx(request).db.acquire() as conn:
        found = await service.price_history(
            conn, county_code, carrier_id=str(carrier_id) if carrier_id else None
        )
    return PriceHistoryOut(
        county_code=county_code, versions=[PriceScheduleOut.of(c, s) for c, s in found]
    )


@router.post(
    "/prices/baseline",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=BaselineOut,
    summary="Set (or correct, with a reason) the county's baseline parcel price and target",
)
async def set_baseline(request: Request, body: BaselineIn, principal: Admin) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> BaselineOut:
        baseline = await service.set_price_baseline(
            tx,
            actor,
            body.county_code,
            target=body.target,
            reference_weight_g=body.reference_weight_g,
            price=body.price,
            measured=body.measured,
            correction_reason=body.correction_reason,
        )
        return BaselineOut.of(baseline)

    return await _write(request, principal, body, 201, run)


@router.get(
    "/prices/target",
    response_model=PriceTargetOut,
    dependencies=PUBLIC,
    summary="Public: the average agricultural parcel price against the baseline, target met or not",
)
async def price_target(request: Request, county_code: County, as_of: AsOf = None) -> PriceTargetOut:
    async with get_ctx(request).db.acquire() as conn:
        report = await service.price_target_report(conn, county_code, as_of=_day(request, as_of))
    return PriceTargetOut.of(report)


@router.post(
    "/stations/{station_id}/certified-enterprises",
    dependencies=IDEMPOTENT,
    status_code=201,
    response_model=ShipperOut,
    summary="Certify an e-commerce enterprise for the range prices (物流孵化认证)",
)
async def certify(
    request: Request, station_id: StationId, body: CertifyIn, principal: Admin
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> ShipperOut:
        shipper = await service.certify_shipper(
            tx,
            actor,
            str(station_id),
            credit_code=body.credit_code,
            name=body.name,
            certified_on=body.certified_on,
        )
        return ShipperOut.of(shipper)

    return await _write(request, principal, body, 201, run)


@router.post(
    "/stations/{station_id}/certified-enterprises/{enterprise_id}/revoke",
    dependencies=IDEMPOTENT,
    response_model=ShipperOut,
    summary="Revoke an enterprise's certification",
)
async def revoke(
    request: Request, station_id: StationId, enterprise_id: UUID, body: RevokeIn, principal: Admin
) -> JSONResponse:
    async def run(tx: Tx, actor: Actor) -> ShipperOut:
        revoked = await service.revoke_shipper(
            tx,
            actor,
            str(station_id),
            str(enterprise_id),
            revoked_on=body.revoked_on,
            reason=body.reason,
        )
        return ShipperOut.of(revoked)

    return await _write(request, principal, body, 200, run)

"""HTTP in for parcels: bulk scans, a parcel's track, refused scans, the breach sweep and the
on-time rates. Roles: automation and the bureau post scans; staff readers read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from ruralfund_common.auth import Principal, require_roles, require_write
from ruralfund_common.bootstrap import get_ctx, idempotent
from ruralfund_common.calendar import local_date
from ruralfund_common.http import (
    CursorIndex,
    CursorPosition,
    CursorText,
    Page,
    PageParams,
    cursor_position,
    encode_cursor,
)
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx

from .. import service
from .api import IDEMPOTENT
from .parcel_schemas import (
    PARCEL_ID_PATTERN,
    OnTimeOut,
    ParcelOut,
    RejectedScanOut,
    ScanBatchOut,
    ScansIn,
    SweepOut,
)
from .sla_sweeper import SlaSweeper

__all__ = ["SWEEPER_KEY", "router"]

SWEEPER_KEY: Final = "logistics.sla_sweeper"
router = APIRouter(tags=["parcels"])

ScanWriter = Annotated[Principal, Depends(require_write(*service.SCAN_WRITER_ROLES))]
ScanReader = Annotated[Principal, Depends(require_roles(*service.SCAN_READER_ROLES))]
Admin = Annotated[Principal, Depends(require_write(*service.NETWORK_ADMIN_ROLES))]


@router.post(
    "/scans",
    dependencies=IDEMPOTENT,
    response_model=ScanBatchOut,
    summary="Record a batch of parcel scans (up to 1,000); refused scans are listed, the rest applied",
)
async def record_scans(request: Request, body: ScansIn, principal: ScanWriter) -> JSONResponse:
    raws = [s.raw() for s in body.scans]

    async def use_case(tx: Tx) -> tuple[int, ScanBatchOut]:
        result = await service.record_scans(
            tx, raws, batch_id=f"http:{new_id()}", source=body.source, keep_rejections=False
        )
        return 200, ScanBatchOut.of(result)

    return await idempotent(request, principal, body, use_case)


@router.get(
    "/parcels/{parcel_id}",
    response_model=ParcelOut,
    summary="A parcel's track: status, scans in time order, deadline and outcome",
)
async def get_parcel(
    request: Request,
    parcel_id: Annotated[str, Path(pattern=PARCEL_ID_PATTERN)],
    principal: ScanReader,
) -> ParcelOut:
    ctx = get_ctx(request)
    async with ctx.db.acquire() as conn:
        view = await service.parcel_view(conn, parcel_id, now=ctx.clock.now())
    return ParcelOut.of(view)


@router.get(
    "/scans/rejected",
    response_model=Page[RejectedScanOut],
    summary="Scans refused from NATS command batches, with the reason, oldest first",
)
async def rejected_scans(
    request: Request, paging: Annotated[PageParams, Depends()], principal: ScanReader
) -> Page[RejectedScanOut]:
    after = _rejection_cursor(paging.cursor)
    async with get_ctx(request).db.acquire() as conn:
        found = await service.rejected_scans(conn, after=after, limit=paging.limit + 1)
    items = [RejectedScanOut.of(r) for r in found[: paging.limit]]
    more = len(found) > paging.limit
    last = items[-1] if items else None
    cursor = (
        encode_cursor({"at": last.rejected_at, "batch": last.batch_id, "index": last.index})
        if more and last
        else None
    )
    return Page(items=items, limit=paging.limit, next_cursor=cursor)


class _RejectionPosition(CursorPosition):
    at: AwareDatetime
    batch: CursorText
    index: CursorIndex


def _rejection_cursor(cursor: str | None) -> tuple[datetime, str, int] | None:
    position = cursor_position(cursor, _RejectionPosition)
    return (position.at, position.batch, position.index) if position else None


@router.post(
    "/admin/sla/sweep",
    response_model=SweepOut,
    summary="Report every 24-hour breach due now (the background sweep does this periodically)",
)
async def sweep_now(request: Request, principal: Admin) -> SweepOut:
    # No Idempotency-Key: the sweep is idempotent by itself (a breach is reported once).
    ctx = get_ctx(request)
    sweeper: SlaSweeper = ctx.extras[SWEEPER_KEY]
    reported = await sweeper.sweep()
    return SweepOut(breaches_reported=reported, as_of=ctx.clock.now())


@router.get(
    "/sla/on-time",
    response_model=OnTimeOut,
    summary="On-time rates of the 24-hour promise per station or town, by day or month",
)
async def on_time_rates(
    request: Request,
    principal: ScanReader,
    county_code: Annotated[str, Query(pattern=r"^\d{6}$", examples=["530427"])],
    by: Literal["station", "town"] = "station",
    granularity: Literal["day", "month"] = "day",
    from_: Annotated[
        date | None, Query(alias="from", description="local day; default: 1st of this month")
    ] = None,
    to: Annotated[date | None, Query(description="local day, inclusive; default: today")] = None,
) -> OnTimeOut:
    ctx = get_ctx(request)
    now = ctx.clock.now()
    end = to or local_date(now)
    start = from_ or end.replace(day=1)
    async with ctx.db.acquire() as conn:
        report = await service.on_time_rates(
            conn, county_code, by=by, granularity=granularity, start=start, end=end, now=now
        )
    return OnTimeOut.of(report)

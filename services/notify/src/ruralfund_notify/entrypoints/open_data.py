"""HTTP in: the open-data export of paid awards (CSV and JSON), public and streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from ruralfund_common.auth import public_endpoint
from ruralfund_common.bootstrap import ServiceContext, get_ctx

from ..domain.formatting import rfc3339
from ..domain.open_data import CSV_BOM, CSV_HEADER_ZH, FIELDS_ZH, csv_lines
from ..service import notify_service

__all__ = ["open_data_router"]

CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8"
JSON_MEDIA_TYPE: Final = "application/json"
DATASET_TITLE_ZH: Final = "电子商务进农村综合示范项目已拨付奖补资金"
# Rows per CSV chunk written to the socket.
CSV_CHUNK_ROWS: Final = 200

open_data_router = APIRouter(
    prefix="/open-data", tags=["open data (public)"], dependencies=[Depends(public_endpoint)]
)
CtxDep = Annotated[ServiceContext, Depends(get_ctx)]


def _download(filename: str) -> dict[str, str]:
    # max-age: a citizen re-downloading gets a fresh file after a minute, a crawler not every hit.
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "public, max-age=60",
    }


@open_data_router.get(
    "/paid-awards.csv",
    response_class=StreamingResponse,
    summary="All paid awards, masked like the publicity page (CSV, UTF-8 with BOM)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def paid_awards_csv(ctx: CtxDep) -> StreamingResponse:
    service = notify_service(ctx)

    async def body() -> AsyncIterator[str]:
        yield CSV_BOM + csv_lines([list(CSV_HEADER_ZH)])
        chunk: list[list[str]] = []
        async for award in service.public_paid_awards(ctx.db):
            chunk.append(award.csv_row())
            if len(chunk) >= CSV_CHUNK_ROWS:
                yield csv_lines(chunk)
                chunk = []
        if chunk:
            yield csv_lines(chunk)

    return StreamingResponse(
        body(), media_type=CSV_MEDIA_TYPE, headers=_download("paid-awards.csv")
    )


@open_data_router.get(
    "/paid-awards.json",
    response_class=StreamingResponse,
    summary="All paid awards, masked like the publicity page (JSON)",
    responses={200: {"content": {"application/json": {}}}},
)
async def paid_awards_json(ctx: CtxDep) -> StreamingResponse:
    service = notify_service(ctx)
    header = {
        "title": DATASET_TITLE_ZH,
        "publisher": service.settings.objection_office,
        "generated_at": rfc3339(ctx.clock.now()),
        "fields": FIELDS_ZH,
    }

    async def body() -> AsyncIterator[str]:
        # Streamed as one JSON object: the records array is written as it is read, and the
        # count (known only at the end) is its last member.
        yield _dumps(header)[:-1] + ',"records":['
        count = 0
        async for award in service.public_paid_awards(ctx.db):
            yield ("," if count else "") + _dumps(award.as_json())
            count += 1
        yield f'],"count":{count}}}'

    return StreamingResponse(
        body(), media_type=JSON_MEDIA_TYPE, headers=_download("paid-awards.json")
    )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

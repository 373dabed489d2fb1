"""HTTP in: the open-data export of paid awards (CSV and JSON), public and streamed, and funds'
signed ledger checkpoints (JSON and CSV) for anyone to keep."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response, StreamingResponse
from ruralfund_common.auth import public_endpoint
from ruralfund_common.bootstrap import ServiceContext, get_ctx

from ..domain.formatting import rfc3339
from ..domain.open_data import CSV_BOM, CSV_HEADER_ZH, FIELDS_ZH, csv_lines, csv_safe
from ..service import notify_service
from ..service.checkpoints import public_checkpoints

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


def _dataset_schema(rows: str, *more: str) -> dict[str, object]:
    """An open data JSON file: a header (title, publisher, generated_at, field names in Chinese)
    and its rows; for the OpenAPI document."""
    text = {"type": "string"}
    properties: dict[str, object] = {
        "title": text, "publisher": text, "generated_at": {"type": "string", "format": "date-time"},
        "fields": {"type": "object", "additionalProperties": text},
        rows: {"type": "array", "items": {"type": "object"}},
    }
    properties.update({name: {"type": "integer"} if name == "count" else text for name in more})
    return {"type": "object", "required": sorted(properties), "properties": properties}


@open_data_router.get(
    "/paid-awards.csv",
    response_class=StreamingResponse,
    summary="All paid awards, masked like the publicity page (CSV, UTF-8 with BOM)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
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
    responses={200: {"content": {"application/json": {"schema": _dataset_schema("records", "count")}}}},
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


CHECKPOINTS_TITLE_ZH: Final = "共管账户账本校验点（资金服务签名）"
CHECKPOINT_FIELDS_ZH: Final = {
    "checkpoint_id": "校验点编号",
    "origin": "账本名称",
    "tree_size": "记录数",
    "root_hash": "根哈希（SHA-256，RFC 9162 默克尔树）",
    "signed_at": "签署时间（UTC，签名原文）",
    "county_day": "签署日（北京时间）",
    "reason": "类型（daily 每日 / on_demand 按需）",
    "key_id": "签名密钥",
    "signature": "签名（Ed25519，base64url）",
    "signed_at_zh": "签署时间",
}
HOW_TO_VERIFY_ZH: Final = (
    "留存本文件，日后运行 ruralfund ledger verify --checkpoint 本文件或本网址，"
    "即可核验共管账户账本是这些校验点的只追加延续，任何删除、改写或伪造都会被指出。"
)


@open_data_router.get(
    "/ledger-checkpoints.json",
    summary="funds' signed ledger checkpoints, newest first: keep a copy (JSON)",
    responses={200: {"content": {"application/json": {"schema": _dataset_schema("checkpoints",
                                                                                "how_to_verify")}}}},
)
async def ledger_checkpoints_json(ctx: CtxDep) -> JSONResponse:
    service = notify_service(ctx)
    body = {
        "title": CHECKPOINTS_TITLE_ZH,
        "publisher": service.settings.objection_office,
        "generated_at": rfc3339(ctx.clock.now()),
        "how_to_verify": HOW_TO_VERIFY_ZH,
        "fields": CHECKPOINT_FIELDS_ZH,
        "checkpoints": await public_checkpoints(ctx.db),
    }
    return JSONResponse(body, headers=_download("ledger-checkpoints.json"))


@open_data_router.get(
    "/ledger-checkpoints.csv",
    response_class=Response,
    summary="funds' signed ledger checkpoints, newest first (CSV, UTF-8 with BOM)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def ledger_checkpoints_csv(ctx: CtxDep) -> Response:
    # a signature may start with "-": kept from being run as a formula (JSON is the exact copy)
    checkpoints = await public_checkpoints(ctx.db)
    rows = [[csv_safe(str(c[k])) for k in CHECKPOINT_FIELDS_ZH] for c in checkpoints]
    text = CSV_BOM + csv_lines([list(CHECKPOINT_FIELDS_ZH.values()), *rows])
    return Response(text, media_type=CSV_MEDIA_TYPE, headers=_download("ledger-checkpoints.csv"))

"""HTTP in: a program's execution report (执行情况报告) as JSON, xlsx or PDF.

Program-wide money is read by the same roles that read it in funds (the bureau, the leading
group, the joint account's contractor signatory, the finance bureau, auditors); an enterprise
sees only its own data elsewhere and is refused here (403 ROLE_REQUIRED).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from ruralfund_common.auth import Principal, Role, require_roles
from ruralfund_common.bootstrap import ServiceContext, get_ctx
from starlette.concurrency import run_in_threadpool

from ..reports import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE
from ..reports.model import ExecutionReport
from ..reports.queries import execution_report

__all__ = ["REPORT_READERS", "router"]

REPORT_READERS: Final = (
    Role.BUREAU_ADMIN,
    Role.LEADING_GROUP,
    Role.CONTRACTOR_SIGNATORY,
    Role.FINANCE_BUREAU,
    Role.AUDITOR,
)
router = APIRouter(tags=["reports"])
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(*REPORT_READERS))]
CodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Format = Literal["json", "xlsx", "pdf"]
_MEDIA: Final = {"xlsx": XLSX_MEDIA_TYPE, "pdf": PDF_MEDIA_TYPE}


def content_disposition(report: ExecutionReport, extension: str) -> str:
    """An ASCII filename for every client, the Chinese one (RFC 5987/6266) for those that can."""
    h = report.header
    ascii_name = f"execution-report-{h.program_code}-{h.as_of.isoformat()}.{extension}"
    chinese = f"{h.county_name}执行情况报告-{h.program_code}-{h.as_of.isoformat()}.{extension}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(chinese)}"


@router.get(
    "/programs/{code}/execution-report",
    summary="The program's execution report (执行情况报告): money by line and item, targets, "
    "contracts, milestones, share rules; as JSON, xlsx or a Chinese PDF",
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def get_execution_report(
    code: CodePath,
    ctx: Ctx,
    principal: Reader,
    format: Annotated[Format, Query(description="json (default), xlsx or pdf")] = "json",
) -> Response:
    async with (
        ctx.db.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        report = await execution_report(conn, code, clock=ctx.clock, generated_by=principal.name)
    if format == "json":
        return JSONResponse(report.to_dict())
    # Rendering is CPU work (a PDF of a large program takes a while): off the event loop.
    # openpyxl and reportlab are imported on the first download, not at start-up: they cost
    # the claims process start-up time and idle memory it rarely needs.
    if format == "xlsx":
        from ..reports.xlsx import render_xlsx as render
    else:
        from ..reports.pdf import render_pdf as render
    body = await run_in_threadpool(render, report)
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": content_disposition(report, format)},
    )

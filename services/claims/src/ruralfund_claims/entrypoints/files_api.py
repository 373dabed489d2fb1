"""HTTP in: evidence files of a claim (and of a service contract) — upload (raw body, type checked by its bytes), list,
download by the claimant and staff."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from ruralfund_common.auth import Principal, Role, require_roles, require_write
from ruralfund_common.bootstrap import ServiceContext, get_ctx, idempotent

from .. import service
from ..domain.evidence_files import MAX_FILENAME_CHARS, file_too_large, served_filename
from ..settings import SETTINGS_KEY, ClaimsSettings
from ..views import ContractFileOut, EvidenceFileOut

__all__ = ["router"]

router = APIRouter(tags=["evidence files"])
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Reader = Annotated[Principal, Depends(require_roles(*Role))]
Uploader = Annotated[Principal, Depends(require_write(Role.ENTERPRISE, Role.BUREAU_ADMIN))]
IdPath = Annotated[str, Path(min_length=1, max_length=64)]
_UPLOAD_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in (
            "application/pdf", "image/png", "image/jpeg", "image/webp", "text/csv",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/octet-stream",
        )},
    }
}  # fmt: skip


def _settings(ctx: ServiceContext) -> ClaimsSettings:
    return ctx.extras.get(SETTINGS_KEY) or ClaimsSettings()


async def _read_limited(request: Request, max_bytes: int) -> bytes:
    """The body, refused (413) as soon as it is larger than allowed: never held whole."""
    declared = request.headers.get("content-length")
    too_large = file_too_large(max_bytes)
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)


async def _upload(
    request: Request, ctx: Any, principal: Any, filename: str, add: Any, owner_id: str
) -> JSONResponse:
    """Read the bounded body, then add it as ``owner_id``'s file (a claim's or a contract's)
    under the request's Idempotency-Key: one upload path for both owners."""
    settings = _settings(ctx)
    content = await _read_limited(request, settings.evidence_max_file_bytes)
    declared = request.headers.get("content-type")
    payload = {"filename": filename, "sha256": hashlib.sha256(content).hexdigest()}

    async def use_case(tx: Any) -> tuple[int, Any]:
        return 201, await add(
            tx, principal, owner_id, filename=filename, declared_type=declared, content=content,
            max_bytes=settings.evidence_max_file_bytes,
            max_files=settings.evidence_max_files_per_claim,
        )  # fmt: skip

    return await idempotent(request, principal, payload, use_case)


@router.post(
    "/claims/{claim_id}/files",
    status_code=201,
    openapi_extra=_UPLOAD_BODY,
    responses={201: {"model": EvidenceFileOut}},
    summary="Attach an evidence file (PDF, image, spreadsheet) to a claim under review",
)
async def upload(
    claim_id: IdPath,
    request: Request,
    ctx: Ctx,
    principal: Uploader,
    filename: Annotated[str, Query(min_length=1, max_length=MAX_FILENAME_CHARS * 2)],
) -> JSONResponse:
    return await _upload(request, ctx, principal, filename, service.add_evidence_file, claim_id)


@router.get(
    "/claims/{claim_id}/files",
    response_model=list[EvidenceFileOut],
    summary="A claim's evidence files (name, type, size, SHA-256)",
)
async def list_files(claim_id: IdPath, ctx: Ctx, principal: Reader) -> list[EvidenceFileOut]:
    async with ctx.db.acquire() as conn:
        return await service.list_evidence_files(conn, principal, claim_id)


# the file as uploaded, with its own media type
_FILE_DOWNLOAD: Final = {200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get(
    "/claims/{claim_id}/files/{file_id}",
    response_class=Response,
    summary="Download an evidence file (the claimant and staff)",
    responses=_FILE_DOWNLOAD,
)
async def download(claim_id: IdPath, file_id: IdPath, ctx: Ctx, principal: Reader) -> Response:
    async with ctx.db.acquire() as conn:
        row = await service.evidence_file(conn, principal, claim_id, file_id)
    return _download(row)


def _content_disposition(filename: str) -> str:
    """An ASCII name for old clients, the real one (RFC 6266/5987) for the others."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                         for c in filename)  # fmt: skip
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _download(row: Any) -> Response:
    # Named again here: a file stored before names were made to end in their type's
    # extension is served under a safe name as well.
    filename = served_filename(row["filename"], row["content_type"])
    return Response(
        content=bytes(row["content"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": _content_disposition(filename),
            "X-Content-Type-Options": "nosniff",  # the stored type, never a browser's guess
            "Cache-Control": "private, no-store",
            "ETag": f'"{row["sha256"]}"',
            "X-Content-SHA256": row["sha256"],
        },
    )


# --------------------------------------------------------------------------- contract evidence


@router.post(
    "/contracts/{contract_id}/files",
    status_code=201,
    openapi_extra=_UPLOAD_BODY,
    responses={201: {"model": ContractFileOut}},
    summary="Attach an evidence file to an active service contract (named by milestone acceptance)",
)
async def upload_contract_file(
    contract_id: IdPath,
    request: Request,
    ctx: Ctx,
    principal: Uploader,
    filename: Annotated[str, Query(min_length=1, max_length=MAX_FILENAME_CHARS * 2)],
) -> JSONResponse:
    return await _upload(request, ctx, principal, filename, service.add_contract_file, contract_id)


@router.get(
    "/contracts/{contract_id}/files",
    response_model=list[ContractFileOut],
    summary="A contract's evidence files (name, type, size, SHA-256)",
)
async def list_contract_files(
    contract_id: IdPath, ctx: Ctx, principal: Reader
) -> list[ContractFileOut]:
    async with ctx.db.acquire() as conn:
        return await service.list_contract_files(conn, principal, contract_id)


@router.get(
    "/contracts/{contract_id}/files/{file_id}",
    response_class=Response,
    summary="Download a contract's evidence file (the provider and staff)",
    responses=_FILE_DOWNLOAD,
)
async def download_contract_file(
    contract_id: IdPath, file_id: IdPath, ctx: Ctx, principal: Reader
) -> Response:
    async with ctx.db.acquire() as conn:
        row = await service.contract_file(conn, principal, contract_id, file_id)
    return _download(row)

"""Evidence files attached to a claim: stored with their SHA-256 and size, readable by the
claimant and staff, added only while the claim is still under review."""

from __future__ import annotations

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.errors import Conflict, Forbidden, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx

from ..adapters import files as repo
from ..domain.claim import ClaimStatus
from ..domain.evidence_files import check_evidence_file
from ..views import EvidenceFileOut, evidence_file_out
from .claims import claim_row
from .common import is_uuid

__all__ = ["EVIDENCE_OPEN_STATUSES", "add_evidence_file", "evidence_file", "list_evidence_files"]

# Evidence may be added until the leading group decides; after that it is what was decided on.
EVIDENCE_OPEN_STATUSES = frozenset(
    {ClaimStatus.SUBMITTED, ClaimStatus.RETURNED, ClaimStatus.AWAITING_DECISION}
)


async def add_evidence_file(
    tx: Tx, principal: Principal, claim_id: str, *, filename: str, declared_type: str | None,
    content: bytes, max_bytes: int, max_files: int,
) -> EvidenceFileOut:  # fmt: skip
    row = await claim_row(tx.conn, principal, claim_id, for_update=True)
    if not (principal.has(Role.BUREAU_ADMIN) or principal.credit_code == row["credit_code"]):
        raise Forbidden("NOT_THE_CLAIMANT", "only the claimant or the bureau adds evidence",
            detail_zh="只有申报企业或县商务局可以为申报上传证明文件。")
    if row["status"] not in EVIDENCE_OPEN_STATUSES:
        raise Conflict(
            "EVIDENCE_CLOSED",
            f"the claim is {row['status']}: evidence is closed once the leading group decides",
            title_zh="已不能补充材料",
            detail_zh="领导小组作出决定后，申报的证明材料不再接受补充。",
        )
    checked = check_evidence_file(content, filename, declared_type, max_bytes=max_bytes)
    existing = await repo.file_with_sha256(tx.conn, claim_id, checked.sha256)
    if existing is not None:
        raise Conflict(
            "EVIDENCE_FILE_EXISTS", "this file is already attached", details={"file_id": existing},
            field="file", title_zh="文件已上传过", detail_zh="同一文件已附在此申报中，无需重复上传。",
        )  # fmt: skip
    if await repo.count_files(tx.conn, claim_id) >= max_files:
        raise Conflict("TOO_MANY_FILES", f"a claim has at most {max_files} evidence files", field="file",
                       title_zh="文件数量已达上限", detail_zh=f"每项申报最多 {max_files} 个证明材料文件。")
    file_id = new_id()
    await repo.insert_file(
        tx.conn, file_id, claim_id, row["credit_code"], checked, content, principal.subject,
        tx.clock.now(),
    )  # fmt: skip
    (stored,) = [f for f in await repo.list_files(tx.conn, claim_id) if str(f["id"]) == file_id]
    return evidence_file_out(stored)


async def list_evidence_files(
    conn: asyncpg.Connection, principal: Principal, claim_id: str
) -> list[EvidenceFileOut]:
    await claim_row(conn, principal, claim_id)  # 404 unless the claimant or staff
    return [evidence_file_out(r) for r in await repo.list_files(conn, claim_id)]


async def evidence_file(
    conn: asyncpg.Connection, principal: Principal, claim_id: str, file_id: str
) -> asyncpg.Record:
    """The file with its bytes, for the claimant and staff (404 for anyone else)."""
    await claim_row(conn, principal, claim_id)
    row = await repo.get_file_content(conn, claim_id, file_id) if is_uuid(file_id) else None
    if row is None:
        raise NotFound("FILE_NOT_FOUND", f"claim {claim_id} has no file {file_id!r}",
            detail_zh=f"申报 {claim_id} 中没有编号为 {file_id} 的文件。")
    return row

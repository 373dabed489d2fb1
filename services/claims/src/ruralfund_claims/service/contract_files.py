"""Evidence files of a service contract (acceptance reports, photos of a studio, spreadsheets of
trainees): the same checks as a claim's evidence (by the bytes, immutable, SHA-256), attached
by the bureau or the provider while the contract is active, named by a milestone's acceptance."""

from __future__ import annotations

import asyncpg
from ruralfund_common.auth import Principal, Role
from ruralfund_common.errors import Conflict, Forbidden, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.messaging import Tx

from ..adapters import contract_files as repo
from ..domain.contracts import require_active
from ..domain.evidence_files import check_evidence_file
from ..views import ContractFileOut, contract_file_out
from .common import is_uuid
from .contracts import contract_row

__all__ = ["add_contract_file", "contract_file", "list_contract_files"]


async def add_contract_file(
    tx: Tx, principal: Principal, contract_id: str, *, filename: str, declared_type: str | None,
    content: bytes, max_bytes: int, max_files: int,
) -> ContractFileOut:  # fmt: skip
    row = await contract_row(tx.conn, principal, contract_id, for_update=True)
    if not (
        principal.has(Role.BUREAU_ADMIN) or principal.credit_code == row["provider_credit_code"]
    ):
        raise Forbidden(
            "NOT_THE_PROVIDER",
            "only the contracted provider or the bureau adds evidence",
            detail_zh="只有签约的服务商或县商务局可以为合同上传证明文件。",
        )
    require_active(row["status"])
    checked = check_evidence_file(content, filename, declared_type, max_bytes=max_bytes)
    existing = await repo.file_with_sha256(tx.conn, contract_id, checked.sha256)
    if existing is not None:
        raise Conflict(
            "EVIDENCE_FILE_EXISTS",
            "this file is already attached",
            details={"file_id": existing},
            detail_zh=f"该文件已上传过（文件编号 {existing}），无需重复上传。",
        )
    if await repo.count_files(tx.conn, contract_id) >= max_files:
        raise Conflict(
            "TOO_MANY_FILES",
            f"a contract has at most {max_files} evidence files",
            detail_zh=f"每个合同最多上传 {max_files} 个证明文件，已达上限。",
        )
    file_id = new_id()
    await repo.insert_file(
        tx.conn, file_id, contract_id, checked, content, principal.subject, tx.clock.now()
    )
    (stored,) = [f for f in await repo.list_files(tx.conn, contract_id) if str(f["id"]) == file_id]
    return contract_file_out(stored)


async def list_contract_files(
    conn: asyncpg.Connection, principal: Principal, contract_id: str
) -> list[ContractFileOut]:
    await contract_row(conn, principal, contract_id)  # 404 unless the provider or staff
    return [contract_file_out(r) for r in await repo.list_files(conn, contract_id)]


async def contract_file(
    conn: asyncpg.Connection, principal: Principal, contract_id: str, file_id: str
) -> asyncpg.Record:
    await contract_row(conn, principal, contract_id)
    row = await repo.get_file_content(conn, contract_id, file_id) if is_uuid(file_id) else None
    if row is None:
        raise NotFound(
            "FILE_NOT_FOUND",
            f"contract {contract_id} has no file {file_id!r}",
            detail_zh=f"合同 {contract_id} 中没有编号为 {file_id} 的文件。",
        )
    return row

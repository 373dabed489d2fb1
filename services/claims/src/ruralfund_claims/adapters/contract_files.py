"""SQL for a contract's evidence files (asyncpg, caller's transaction). Bytes are read only for
download."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from ..domain.evidence_files import CheckedFile

__all__ = [
    "count_files",
    "existing_ids",
    "file_with_sha256",
    "get_file_content",
    "insert_file",
    "list_files",
]

_META: Final = (
    "id, contract_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at"
)
Conn = asyncpg.Connection


async def count_files(conn: Conn, contract_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM contract_files WHERE contract_id = $1::uuid", contract_id
    )


async def file_with_sha256(conn: Conn, contract_id: str, sha256: str) -> str | None:
    found = await conn.fetchval(
        "SELECT id FROM contract_files WHERE contract_id = $1::uuid AND sha256 = $2",
        contract_id, sha256,
    )  # fmt: skip
    return str(found) if found else None


async def existing_ids(conn: Conn, contract_id: str, ids: list[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT id FROM contract_files WHERE contract_id = $1::uuid AND id = ANY($2::uuid[])",
        contract_id, ids,
    )  # fmt: skip
    return {str(r["id"]) for r in rows}


async def insert_file(
    conn: Conn, file_id: str, contract_id: str, f: CheckedFile, content: bytes, by: str,
    at: datetime,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO contract_files (id, contract_id, filename, content_type, size_bytes, sha256,
               content, uploaded_by, uploaded_at) VALUES ($1,$2::uuid,$3,$4,$5,$6,$7,$8,$9)""",
        file_id, contract_id, f.filename, f.content_type, f.size_bytes, f.sha256, content, by, at,
    )  # fmt: skip


async def list_files(conn: Conn, contract_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_META} FROM contract_files WHERE contract_id = $1::uuid ORDER BY uploaded_at, id",
        contract_id,
    )


async def get_file_content(conn: Conn, contract_id: str, file_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_META}, content FROM contract_files WHERE contract_id = $1::uuid AND id = $2::uuid",
        contract_id, file_id,
    )  # fmt: skip

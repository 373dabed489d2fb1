"""SQL for evidence files (asyncpg, caller's transaction). Bytes are read only for download."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from ..domain.evidence_files import CheckedFile

__all__ = ["count_files", "file_with_sha256", "get_file_content", "insert_file", "list_files"]

_META: Final = "id, claim_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at"
Conn = asyncpg.Connection


async def count_files(conn: Conn, claim_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM evidence_files WHERE claim_id = $1::uuid", claim_id
    )


async def file_with_sha256(conn: Conn, claim_id: str, sha256: str) -> str | None:
    found = await conn.fetchval(
        "SELECT id FROM evidence_files WHERE claim_id = $1::uuid AND sha256 = $2", claim_id, sha256
    )
    return str(found) if found else None


async def insert_file(
    conn: Conn, file_id: str, claim_id: str, credit_code: str, f: CheckedFile, content: bytes,
    by: str, at: datetime,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO evidence_files (id, claim_id, credit_code, filename, content_type, size_bytes,
               sha256, content, uploaded_by, uploaded_at) VALUES ($1,$2::uuid,$3,$4,$5,$6,$7,$8,$9,$10)""",
        file_id, claim_id, credit_code, f.filename, f.content_type, f.size_bytes, f.sha256, content,
        by, at,
    )  # fmt: skip


async def list_files(conn: Conn, claim_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_META} FROM evidence_files WHERE claim_id = $1::uuid ORDER BY uploaded_at, id",
        claim_id,
    )


async def get_file_content(conn: Conn, claim_id: str, file_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_META}, content FROM evidence_files WHERE claim_id = $1::uuid AND id = $2::uuid",
        claim_id,
        file_id,
    )

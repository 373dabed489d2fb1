"""asyncpg pools bound to one service's schema (search_path), with JSON codecs."""

from __future__ import annotations

import json

import asyncpg

__all__ = ["create_pool", "connect", "init_connection"]


async def init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects; ensure_ascii=False keeps Chinese text readable in SQL.
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
        decoder=json.loads,
        schema="pg_catalog",
    )
    await conn.set_type_codec(
        "json",
        encoder=lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
        decoder=json.loads,
        schema="pg_catalog",
    )


def _server_settings(schema: str) -> dict[str, str]:
    return {"search_path": f"{schema},public", "timezone": "UTC", "application_name": f"ruralfund-{schema}"}


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        server_settings=_server_settings(schema),
        command_timeout=60,
    )
    assert pool is not None
    return pool


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings=_server_settings(schema), command_timeout=60)
    await init_connection(conn)
    return conn

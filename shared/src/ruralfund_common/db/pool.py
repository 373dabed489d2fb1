"""asyncpg pools bound to one service's schema (search_path), with JSON codecs."""

from __future__ import annotations

import json

import asyncpg

__all__ = ["ACQUIRE_TIMEOUT_SECONDS", "BoundedPool", "connect", "create_pool", "init_connection", "keep_session"]

#: Acquiring (and so also releasing) a pooled connection gives up after this. Unbounded, a
#: connection left half-broken by a PostgreSQL restart (asyncpg "cannot switch to state 15")
#: held its holder forever: under chaos, every later request of the service hung.
ACQUIRE_TIMEOUT_SECONDS = 30.0


class BoundedPool(asyncpg.Pool):
    """asyncpg's pool whose ``acquire()`` has a deadline unless the caller gives one; asyncpg
    applies the same deadline to the release (reset), which terminates a stuck connection."""

    def acquire(self, *, timeout: float | None = None):  # type: ignore[override]
        return super().acquire(timeout=ACQUIRE_TIMEOUT_SECONDS if timeout is None else timeout)


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


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own rollback of an open transaction.

    asyncpg's default runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``
    on every release: one more round trip per HTTP write and per consumed message (6 instead of
    5 for a claim; benchmarks/README.md). Our code leaves no session state on a pooled
    connection — no session ``SET``, no ``LISTEN``, no cursor outside a transaction, only
    transaction-scoped advisory locks (migrations and notify's LISTEN use their own
    connections) — so there is nothing to reset. ``tests`` check that a released connection
    keeps no transaction, lock or setting (shared/tests/integration/test_db.py).
    """


def _server_settings(schema: str, role: str | None = None) -> dict[str, str]:
    settings = {"search_path": f"{schema},public", "timezone": "UTC", "application_name": f"ruralfund-{schema}"}
    if role:  # SET ROLE at connect time: kept for the session (keep_session resets nothing)
        settings["role"] = role
    return settings


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10,
                      role: str | None = None) -> asyncpg.Pool:
    # asyncpg.create_pool() takes no pool class; these are its own defaults otherwise.
    pool = await BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        server_settings=_server_settings(schema, role),
        command_timeout=60,
        init_size=None, max_queries=50_000, max_inactive_connection_lifetime=300.0,
        connect=None, setup=None, reset=keep_session, loop=None,
        connection_class=asyncpg.Connection, record_class=asyncpg.Record,
    )
    assert pool is not None
    return pool


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings=_server_settings(schema), command_timeout=60)
    await init_connection(conn)
    return conn

"""The pool releases connections without asyncpg's reset query (db.pool.keep_session): what
our code does on a pooled connection must leave nothing behind for the next holder."""

from __future__ import annotations

import pytest
from ruralfund_common.db.pool import create_pool

pytestmark = pytest.mark.integration

_HELD_ADVISORY_LOCKS = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"


async def test_a_released_connection_keeps_no_transaction_lock_or_setting(database_url):
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)  # one connection: the same one back
    try:
        async with pool.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            timeout_before = await conn.fetchval("SHOW statement_timeout")
            async with conn.transaction():  # what services do: transaction-scoped locks and settings
                await conn.execute("SELECT pg_advisory_xact_lock(42)")
                await conn.execute("SET LOCAL statement_timeout = '1234ms'")
                assert await conn.fetchval(_HELD_ADVISORY_LOCKS) == 1
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == backend
            assert not conn.is_in_transaction()
            assert await conn.fetchval(_HELD_ADVISORY_LOCKS) == 0
            assert await conn.fetchval("SHOW statement_timeout") == timeout_before
            assert await conn.fetchval("SHOW search_path") == "public,public"  # the pool's server_settings, untouched
    finally:
        await pool.close()


async def test_a_connection_released_inside_a_transaction_is_rolled_back(database_url):
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS keep_session_probe (n int)")
            await conn.execute("TRUNCATE keep_session_probe")
        conn = await pool.acquire()
        tx = conn.transaction()
        await tx.start()
        await conn.execute("INSERT INTO keep_session_probe VALUES (1)")
        await pool.release(conn)  # a bug that forgets to commit: the work must not leak
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM keep_session_probe") == 0
            await conn.execute("DROP TABLE keep_session_probe")
    finally:
        await pool.close()

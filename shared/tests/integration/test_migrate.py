from __future__ import annotations

import asyncio

import asyncpg
import pytest
from ruralfund_common.db.migrate import COMMON_MIGRATIONS, MigrationError, discover, migrate

pytestmark = pytest.mark.integration


async def test_migrations_apply_once_even_when_started_concurrently(database_url, tmp_path):
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE things (n int PRIMARY KEY);")
    results = await asyncio.gather(*(migrate(database_url, "svc", tmp_path) for _ in range(3)))
    applied = sorted(len(r) for r in results)
    common = len(discover("common", COMMON_MIGRATIONS))
    assert applied == [0, 0, common + 1], "one process applies common + service (1) migrations, the others find them done"
    conn = await asyncpg.connect(database_url)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='svc'")}
        assert {"things", "outbox", "inbox", "inbox_cursor", "idempotency_keys", "schema_migrations"} <= tables
    finally:
        await conn.close()


async def test_edited_migration_is_refused_and_new_one_applies(database_url, tmp_path):
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE things (n int);")
    await migrate(database_url, "svc", tmp_path)
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE things (n bigint);")
    with pytest.raises(MigrationError, match="was edited"):
        await migrate(database_url, "svc", tmp_path)
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE things (n int);")
    (tmp_path / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN m int;")
    assert await migrate(database_url, "svc", tmp_path) == ["svc/0002_more.sql"]


async def test_gaps_in_numbering_are_refused(database_url, tmp_path):
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="without gaps"):
        await migrate(database_url, "svc", tmp_path)


async def test_outbox_prune_keeps_unsent_and_recent_rows(database_url, nats_url):
    from ruralfund_common.db.pool import create_pool
    from ruralfund_common.messaging import Namespace, OutboxRelay

    await migrate(database_url, "svc", None)
    pool = await create_pool(database_url, "svc")
    try:
        async with pool.acquire() as c:
            await c.execute(
                "INSERT INTO outbox (id, subject, envelope, seq, sent_at) VALUES "
                "(gen_random_uuid(), 'claims.evt.x.v1', '{}', 1, now() - interval '40 days'),"
                "(gen_random_uuid(), 'claims.evt.x.v1', '{}', 2, now() - interval '2 days'),"
                "(gen_random_uuid(), 'claims.evt.x.v1', '{}', NULL, NULL)")
        relay = OutboxRelay(pool, nats_url, producer="claims", namespace=Namespace("unused"), retention_days=30)
        assert await relay.prune() == 1
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT count(*) FROM outbox") == 2
    finally:
        await pool.close()


async def test_an_idempotency_key_held_by_two_principals_keeps_its_first_owner(database_url):
    """common/0004 makes a key unique per schema: a key two principals used before keeps the
    earliest row (its owner), and no principal can store the same key again."""
    common = discover("common", COMMON_MIGRATIONS)
    owner = next(m for m in common if m.name.endswith("_idempotency_key_owner.sql"))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS keys_owner CASCADE; CREATE SCHEMA keys_owner;"
                           "SET search_path TO keys_owner")
        for earlier in (m for m in common if m.version < owner.version):
            await conn.execute(earlier.sql)
        insert = ("INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status, response, "
                  "created_at) VALUES ($1, $2, 'POST', '/x', 'h', 201, '{}', $3::text::timestamptz)")
        await conn.execute(insert, "u-second", "k-1", "2026-03-02T02:00:01Z")
        await conn.execute(insert, "u-first", "k-1", "2026-03-02T02:00:00Z")
        await conn.execute(insert, "u-first", "k-2", "2026-03-02T02:00:00Z")
        await conn.execute(owner.sql)
        rows = await conn.fetch("SELECT key, principal FROM idempotency_keys ORDER BY key")
        assert [tuple(r) for r in rows] == [("k-1", "u-first"), ("k-2", "u-first")]
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, "u-third", "k-2", "2026-03-02T02:00:02Z")
    finally:
        await conn.execute("DROP SCHEMA IF EXISTS keys_owner CASCADE")
        await conn.close()

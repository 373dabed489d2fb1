"""ruralfund_common.db.access: the owner role migrates, the service runs as a role that may
change rows and nothing else; a service that may not migrate refuses to start on pending ones."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from ruralfund_common.db.access import prepare_database
from ruralfund_common.db.migrate import MigrationError
from ruralfund_common.db.pool import create_pool

pytestmark = pytest.mark.integration


def _as(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def test_two_credentials_owner_migrates_runtime_changes_rows_only(database_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    owner, runtime, schema = f"t{tag}_owner", f"t{tag}_rt", f"s{tag}"
    admin = await asyncpg.connect(database_url)
    database = urlsplit(database_url).path.lstrip("/")
    for role in (owner, runtime):
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
    await admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{owner}"')
    try:
        access = await prepare_database(database_url=_as(database_url, runtime), schema=schema,
                                        migration_database_url=_as(database_url, owner),
                                        migrate_on_start=True, migrations_dir=None)
        assert access.applied and access.pool_role is None
        pool = await create_pool(_as(database_url, runtime), schema)
        try:
            async with pool.acquire() as c:
                await c.execute("INSERT INTO outbox (id, subject, envelope) VALUES (gen_random_uuid(), 'x', '{}')")
                for sql in ("ALTER TABLE outbox ADD COLUMN planted int", "TRUNCATE outbox",
                            "CREATE TABLE planted (id int)", "DROP TABLE inbox_gaps"):
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await c.execute(sql)
        finally:
            await pool.close()
        with pytest.raises(MigrationError, match="both log in as"):
            await prepare_database(database_url=_as(database_url, owner), schema=schema,
                                   migration_database_url=_as(database_url, owner),
                                   migrate_on_start=True, migrations_dir=None)
        # migrated beforehand: a service that may not migrate starts (nothing pending) ...
        checked = await prepare_database(database_url=_as(database_url, runtime), schema=schema,
                                         migration_database_url=None, migrate_on_start=False, migrations_dir=None)
        assert checked.applied == []
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.execute(f'DROP OWNED BY "{owner}", "{runtime}"')
        await admin.execute(f'DROP ROLE "{owner}"')
        await admin.execute(f'DROP ROLE "{runtime}"')
        await admin.close()


async def test_a_service_that_may_not_migrate_refuses_pending_migrations(database_url: str) -> None:
    with pytest.raises(MigrationError, match="ruralfund db migrate"):
        await prepare_database(database_url=database_url, schema="never_migrated", migration_database_url=None,
                               migrate_on_start=False, migrations_dir=None)


async def test_one_superuser_credential_runs_the_pool_as_the_runtime_role(database_url: str) -> None:
    access = await prepare_database(database_url=database_url, schema="claims", migration_database_url=None,
                                    migrate_on_start=True, migrations_dir=None)
    assert access.pool_role == "claims_runtime"
    pool = await create_pool(database_url, "claims", role=access.pool_role)
    try:
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT current_user") == "claims_runtime"
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await c.execute("ALTER TABLE outbox DISABLE TRIGGER ALL")
    finally:
        await pool.close()

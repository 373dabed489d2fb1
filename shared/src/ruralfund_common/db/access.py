"""Who a service is in PostgreSQL: an owner role migrates, a runtime role runs the service.

The runtime role can read and write rows (DML) in its schema and nothing else: it owns no table,
so it cannot ALTER a table, DROP a trigger or DISABLE the rules that keep the ledger
append-only, and it cannot UPDATE or DELETE rows of the append-only tables at all
(``migrate.grant_runtime``). Three ways to run:

- two credentials (docker compose, Helm): ``DATABASE_URL`` logs in as the runtime role and
  ``RURALFUND_MIGRATION_DATABASE_URL`` as the owner; the owner migrates and grants;
- no migration at start (``RURALFUND_MIGRATE_ON_START=false``; Helm's init container or compose's
  ``migrate`` service ran ``ruralfund db migrate`` as the owner): the service only checks that
  nothing is pending, and never holds the owner's password;
- one credential that is a superuser (``ruralfund dev``, the embedded servers, the tests): it
  migrates, makes a NOLOGIN role ``<schema>_runtime`` and the service's pool switches to it for
  every connection (``SET ROLE``), so development and every test run with exactly the runtime
  privileges of production.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from ..logging import get_logger
from .migrate import MigrationError, migrate, pending

__all__ = ["DatabaseAccess", "prepare_database", "runtime_role_name"]

log = get_logger("ruralfund.db")


@dataclass(frozen=True)
class DatabaseAccess:
    applied: list[str]
    pool_role: str | None  # the role the pool switches to; None: the login's own (runtime) role


def runtime_role_name(schema: str) -> str:
    return f"{schema}_runtime"


async def prepare_database(*, database_url: str, migration_database_url: str | None, migrate_on_start: bool,
                           schema: str, migrations_dir: Path | None) -> DatabaseAccess:
    """Migrate (or check) ``schema`` and say how the service's pool must log in."""
    if not migrate_on_start:
        missing = await pending(database_url, schema, migrations_dir)
        if missing:
            raise MigrationError(f"migrations not applied in schema {schema}: {', '.join(missing)}; run "
                                 f"`ruralfund db migrate {schema}` as the schema's owner role first")
        return DatabaseAccess([], None)
    if migration_database_url:
        runtime, owner = await _login_role(database_url), await _login_role(migration_database_url)
        if runtime == owner:
            raise MigrationError(f"DATABASE_URL and the migration URL both log in as {runtime!r}: the service "
                                 "must run as a role that owns nothing (deploy/compose/postgres/roles.sql)")
        applied = await migrate(migration_database_url, schema, migrations_dir, runtime_role=runtime)
        return DatabaseAccess(applied, None)
    role = runtime_role_name(schema)
    if not await _ensure_runtime_role(database_url, role):
        log.warning("database_runtime_role_unavailable", schema=schema,
                    hint="the service runs as the role that owns its schema; set "
                         "RURALFUND_MIGRATION_DATABASE_URL to an owner role and DATABASE_URL to a runtime role")
        return DatabaseAccess(await migrate(database_url, schema, migrations_dir), None)
    applied = await migrate(database_url, schema, migrations_dir, runtime_role=role)
    return DatabaseAccess(applied, role)


async def _login_role(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SELECT session_user"))
    finally:
        await conn.close()


async def _ensure_runtime_role(dsn: str, role: str) -> bool:
    """Create the NOLOGIN runtime role when this login is a superuser (else: False)."""
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = session_user"):
            return False
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            return True
        try:
            await conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            pass  # another process (a parallel test, a second replica) made it first
        return True
    finally:
        await conn.close()

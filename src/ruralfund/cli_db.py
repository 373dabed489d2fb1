"""``ruralfund db migrate``: apply the services' migrations as the schema owner role.

What docker compose's ``migrate`` service and the Helm chart's init containers run before the
services start (``RURALFUND_MIGRATE_ON_START=false``), so the running services never hold the
owner's password (ruralfund_common.db.access). Per service, the owner's URL comes from
``RURALFUND_<SVC>_MIGRATION_DATABASE_URL`` / ``RURALFUND_MIGRATION_DATABASE_URL`` (else
``DATABASE_URL``), the runtime role granted from ``--runtime-role`` /
``RURALFUND_<SVC>_DB_RUNTIME_ROLE`` (else the service's name, as deploy/compose/postgres/roles.sql
names it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

__all__ = ["app"]

SERVICES = ("claims", "funds", "logistics", "notify")
app = typer.Typer(name="db", help="Database migrations (as the schema owner role).", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def migrations_dir(service: str) -> Path:
    spec = importlib.util.find_spec(f"ruralfund_{service}")
    if spec is None or spec.origin is None:
        _fail(f"the {service} package is not installed")
    return Path(spec.origin).parent / "migrations"


def _setting(service: str, name: str, *fallbacks: str) -> str | None:
    for key in (f"RURALFUND_{service.upper()}_{name}", f"RURALFUND_{name}", *fallbacks):
        if os.environ.get(key):
            return os.environ[key]
    return None


@app.command("migrate")
def migrate_command(
    services: Annotated[list[str] | None, typer.Argument(help="services to migrate [default: all four]")] = None,
    runtime_role: Annotated[str | None, typer.Option(help="the role the service runs as (one service)")] = None,
) -> None:
    """Apply pending migrations to each service's schema and grant its runtime role DML only."""
    from ruralfund_common.db.migrate import MigrationError, migrate

    chosen = services or list(SERVICES)
    for svc in chosen:
        if svc not in SERVICES:
            _fail(f"unknown service {svc!r}")
    if runtime_role and len(chosen) != 1:
        _fail("--runtime-role names the role of one service")
    for svc in chosen:
        owner_url = _setting(svc, "MIGRATION_DATABASE_URL", "DATABASE_URL")
        if not owner_url:
            _fail(f"no database URL for {svc}: set RURALFUND_{svc.upper()}_MIGRATION_DATABASE_URL")
        role = runtime_role or _setting(svc, "DB_RUNTIME_ROLE") or svc
        try:
            applied = asyncio.run(migrate(owner_url, svc, migrations_dir(svc), runtime_role=role))
        except (MigrationError, OSError) as exc:
            _fail(f"{svc}: {exc}")
        typer.echo(f"{svc}: {len(applied)} migration(s) applied{': ' + ', '.join(applied) if applied else ''}; "
                   f"runtime role {role} may change rows only")

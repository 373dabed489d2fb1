"""The ``ruralfund`` command: run services, the whole system for development, and admin tools."""

from __future__ import annotations

import os
import sys

import typer

from . import cli_award, cli_calendar, cli_deploy, cli_ledger, cli_program, cli_users
from .devrun import dev_command

__all__ = ["app", "main", "SERVICES", "DEFAULT_PORTS"]

SERVICES = ("claims", "funds", "logistics", "notify")
DEFAULT_PORTS = {"claims": 8001, "funds": 8002, "logistics": 8003, "notify": 8004}

app = typer.Typer(
    name="ruralfund",
    help="County E-commerce into Rural Areas demonstration fund (电子商务进农村综合示范): claims, ledger, logistics, publicity.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cli_calendar.app, name="calendar", help="China's working-day calendar and publicity windows.")
app.add_typer(cli_users.app, name="users", help="Development people and tokens.")
app.add_typer(cli_program.app, name="program", help="Check a program definition (sums, modes, rules, ratio rules).")
app.add_typer(cli_award.app, name="award", help="Recompute an award from a program's rule and the evidence.")
app.add_typer(cli_ledger.app, name="ledger", help="Verify and reconcile the joint-account ledger.")
app.add_typer(cli_deploy.app, name="deploy",
              help="Operations: NATS authorization config, secrets, dead letters (list, redrive), re-publish.")
app.command("dev", help="Run the whole system on this machine (embedded NATS + PostgreSQL when no URLs are set).")(dev_command)


@app.command()
def serve(
    service: str = typer.Argument(None, envvar="SERVICE", help="claims | funds | logistics | notify"),
    host: str = typer.Option(None, help="bind address (default RURALFUND_HTTP_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default RURALFUND_HTTP_PORT, else the service's default)"),
) -> None:
    """Run one service: its admin HTTP API, event consumers and outbox relay in one process."""
    import uvicorn

    from ruralfund_common.settings import load_settings

    if service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    settings = load_settings(service)
    bind_port = port or (settings.http_port if os.environ.get("RURALFUND_HTTP_PORT") or
                         os.environ.get(f"RURALFUND_{service.upper()}_HTTP_PORT") else DEFAULT_PORTS[service])
    uvicorn.run(
        f"ruralfund_{service}.app:create_app", factory=True, host=host or settings.http_host, port=bind_port,
        access_log=False, log_config=None, lifespan="on", timeout_graceful_shutdown=10,
    )


def main() -> None:
    app(prog_name="ruralfund")


if __name__ == "__main__":
    sys.exit(main())

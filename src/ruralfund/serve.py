"""``ruralfund serve <service>``: one service process (admin API, consumers, outbox relay).

Its own module so that a service process imports only what it runs: ``ruralfund.cli`` imports
every admin sub-command (program checks, the award calculator with the claims domain, ledger
tools, deploy helpers), ~0.25 s of start-up per process that ``ruralfund dev`` pays four times.
"""

from __future__ import annotations

import os

import typer

__all__ = ["DEFAULT_PORTS", "SERVICES", "serve", "main"]

SERVICES = ("claims", "funds", "logistics", "notify")
DEFAULT_PORTS = {"claims": 8001, "funds": 8002, "logistics": 8003, "notify": 8004}


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
        # uvloop where installed (auto); RURALFUND_EVENT_LOOP=asyncio falls back to the stdlib loop
        loop=os.environ.get("RURALFUND_EVENT_LOOP", "auto"),
    )


def main(args: list[str]) -> None:
    """``ruralfund serve ARGS`` without loading the rest of the CLI (same options and help)."""
    only = typer.Typer(add_completion=False)
    only.command()(serve)
    only(args=args, prog_name="ruralfund serve")

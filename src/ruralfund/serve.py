"""``ruralfund serve <service>``: one service process (admin API, consumers, outbox relay).

Its own module so that a service process imports only what it runs: ``ruralfund.cli`` imports
every admin sub-command (program checks, the award calculator with the claims domain, ledger
tools, deploy helpers), ~0.25 s of start-up per process that ``ruralfund dev`` pays four times.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import typer

__all__ = ["CONSOLE", "CONSOLE_PORT", "DEFAULT_PORTS", "DEV_VAR_DIR", "SERVICES", "main", "serve"]

SERVICES = ("claims", "funds", "logistics", "notify")
DEFAULT_PORTS = {"claims": 8001, "funds": 8002, "logistics": 8003, "notify": 8004}
# The console (#17): pages over the four services' APIs, no database or NATS of its own.
CONSOLE = "console"
CONSOLE_PORT = 8005
DEV_VAR_DIR = Path("var/dev")  # ruralfund dev's state; `ruralfund users` looks for users.json there


def serve(
    service: str = typer.Argument(None, envvar="SERVICE", help="claims | funds | logistics | notify | console"),
    host: str = typer.Option(None, help="bind address (default RURALFUND_HTTP_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default RURALFUND_HTTP_PORT, else the service's default)"),
    public_port: int = typer.Option(
        None, envvar="RURALFUND_NOTIFY_PUBLIC_PORT",
        help="notify only: also serve the public pages (公示, feed, open data, objection form) on this "
             "port, a listener without admin routes, /metrics or /docs",
    ),
) -> None:
    """Run one service: its admin HTTP API, event consumers and outbox relay in one process."""
    import uvicorn
    from ruralfund_common.settings import load_settings

    if service == CONSOLE:
        _serve_console(host, port)
        return
    if service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    settings = load_settings(service)
    bind_port = port or (settings.http_port if os.environ.get("RURALFUND_HTTP_PORT") or
                         os.environ.get(f"RURALFUND_{service.upper()}_HTTP_PORT") else DEFAULT_PORTS[service])
    if public_port is not None:
        if service != "notify":
            typer.echo("--public-port is for notify (its public pages) only", err=True)
            raise typer.Exit(2)
        _serve_notify_with_public(host or settings.http_host, bind_port, public_port)
        return
    uvicorn.run(
        f"ruralfund_{service}.app:create_app", factory=True, host=host or settings.http_host, port=bind_port,
        access_log=False, log_config=None, lifespan="on", timeout_graceful_shutdown=10,
        # uvloop where installed (auto); RURALFUND_EVENT_LOOP=asyncio falls back to the stdlib loop
        loop=os.environ.get("RURALFUND_EVENT_LOOP", "auto"),
    )


def _serve_console(host: str | None, port: int | None) -> None:
    """The console: its service URLs from RURALFUND_CONSOLE_{CLAIMS,FUNDS,LOGISTICS,NOTIFY}_URL."""
    import uvicorn

    uvicorn.run(
        "ruralfund_console.app:create_app", factory=True,
        host=host or os.environ.get("RURALFUND_HTTP_HOST", "127.0.0.1"),
        port=port or int(os.environ.get("RURALFUND_CONSOLE_HTTP_PORT", CONSOLE_PORT)),
        access_log=False, log_config=None, lifespan="on", timeout_graceful_shutdown=10,
        loop=os.environ.get("RURALFUND_EVENT_LOOP", "auto"),
    )


def _serve_notify_with_public(host: str, port: int, public_port: int) -> None:
    """notify's app on ``port`` and its public pages (``create_public_app``) on ``public_port``,
    in one process and event loop: one pool, one set of consumers. The public listener opens
    once the service has started, and closes when it stops (SIGTERM/SIGINT go to the service's
    server, which owns the process's signal handlers)."""
    import asyncio

    import uvicorn
    from ruralfund_notify.app import create_app, create_public_app

    class _PublicServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the main server handles signals
            yield

    loop = os.environ.get("RURALFUND_EVENT_LOOP", "auto")
    app = create_app()
    options = {"host": host, "access_log": False, "log_config": None, "loop": loop}
    main = uvicorn.Server(uvicorn.Config(app, port=port, lifespan="on", timeout_graceful_shutdown=10, **options))
    public = _PublicServer(uvicorn.Config(create_public_app(app), port=public_port, lifespan="off", **options))

    async def both() -> None:
        serving = asyncio.create_task(main.serve())
        while not main.started and not serving.done():  # uvicorn has no "started" event
            await asyncio.sleep(0.05)
        if main.started:
            public_serving = asyncio.create_task(public.serve())
            await asyncio.wait([serving, public_serving], return_when=asyncio.FIRST_COMPLETED)
            public.should_exit = main.should_exit = True
            await public_serving
        await serving

    with asyncio.Runner(loop_factory=main.config.get_loop_factory()) as runner:
        runner.run(both())


def main(args: list[str]) -> None:
    """``ruralfund serve ARGS`` without loading the rest of the CLI (same options and help)."""
    only = typer.Typer(add_completion=False)
    only.command()(serve)
    only(args=args, prog_name="ruralfund serve")

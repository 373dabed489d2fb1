"""``ruralfund dev``: the whole system on one machine.

Starts embedded NATS (JetStream) and PostgreSQL when ``NATS_URL`` / ``DATABASE_URL`` are not
set, a local mail sink, the four services as separate processes, waits until each is ready,
loads the demo program (Xinping 2021) and prints where everything is. Ctrl-C stops it all.
State lives under ``./var/dev`` so a second run keeps the data (``--fresh`` starts over).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .serve import DEFAULT_PORTS, SERVICES

__all__ = ["dev_command", "READY_TIMEOUT_SECONDS"]

READY_TIMEOUT_SECONDS = 90.0
PORTS = dict(DEFAULT_PORTS)  # --free-ports replaces them
console = Console(stderr=True)


def dev_command(
    fresh: bool = typer.Option(False, help="delete ./var/dev first (new database, streams, clock)"),
    program: Path = typer.Option(Path("programs/xinping-2021.yaml"), help="demo program to load"),
    var_dir: Path = typer.Option(Path("var/dev"), help="where embedded servers and logs keep their data"),
    host: str = typer.Option("127.0.0.1", help="bind address of the services"),
    exit_when_ready: bool = typer.Option(False, "--exit-when-ready", help="stop everything once ready (smoke test)"),
    free_ports: bool = typer.Option(False, "--free-ports", help="pick free ports instead of 8001-8004"),
) -> None:
    if free_ports:
        PORTS.update({svc: _free_port() for svc in SERVICES})
    started = time.monotonic()
    if fresh and var_dir.exists():
        shutil.rmtree(var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    _stop_cleanly_on(signal.SIGTERM, signal.SIGHUP)
    with ExitStack() as stack:
        nats_url, database_url = _infrastructure(stack, var_dir)
        mail_dir = _mail_sink(stack, var_dir)
        env = _service_env(var_dir, nats_url, database_url, host, mail_dir)
        procs = _start_services(stack, env, var_dir, host)
        _wait_ready(procs, host)
        tokens = _dev_tokens(env)
        loaded = _load_demo_program(host, program, tokens["bureau-admin"])
        _print_summary(host, nats_url, database_url, mail_dir, var_dir, tokens, loaded, time.monotonic() - started)
        if exit_when_ready:
            return
        Console().print("Press Ctrl-C to stop.")
        _wait_for_interrupt(procs)


def _infrastructure(stack: ExitStack, var_dir: Path) -> tuple[str, str]:
    from ruralfund_common.testing.infra import EmbeddedNats, EmbeddedPostgres

    nats_url = os.environ.get("NATS_URL")
    database_url = os.environ.get("DATABASE_URL")
    if not nats_url:
        nats = EmbeddedNats(store_dir=(var_dir / "nats").resolve())
        stack.callback(nats.close)
        nats_url = nats.start()
        console.print(f"[green]embedded NATS (JetStream)[/] {nats_url}")
    if not database_url:
        pg = EmbeddedPostgres(data_dir=(var_dir / "postgres").resolve())
        stack.callback(pg.close)
        pg.start()
        database_url = pg.dsn
        console.print(f"[green]embedded PostgreSQL[/] {database_url}")
    return nats_url, database_url


def _mail_sink(stack: ExitStack, var_dir: Path) -> Path:
    """A local SMTP server that writes every mail to var/dev/mail/*.eml (no mail leaves)."""
    from aiosmtpd.controller import Controller

    mail_dir = (var_dir / "mail").resolve()
    mail_dir.mkdir(parents=True, exist_ok=True)

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{abs(hash(envelope.content)) % 10**8}.eml"
            (mail_dir / name).write_bytes(envelope.original_content or envelope.content)
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    stack.callback(controller.stop)
    os.environ["RURALFUND_DEV_SMTP_PORT"] = str(controller.port)
    return mail_dir


def _free_port() -> int:
    from ruralfund_common.testing.infra import free_port

    return free_port()


def _service_env(var_dir: Path, nats_url: str, database_url: str, host: str, mail_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "RURALFUND_ENV": "development",
        "RURALFUND_CLOCK": "dev",
        "RURALFUND_DEV_CLOCK_FILE": str((var_dir / "clock.json").resolve()),
        "RURALFUND_HTTP_HOST": host,
        "RURALFUND_LOG_FORMAT": "json",
        "RURALFUND_USERS_FILE": str((var_dir / "users.json").resolve()),
        "RURALFUND_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RURALFUND_NOTIFY_SMTP_PORT": os.environ["RURALFUND_DEV_SMTP_PORT"],
        "RURALFUND_NOTIFY_PUBLIC_BASE_URL": f"http://{host}:{PORTS['notify']}",
    })
    for svc, port in PORTS.items():
        env[f"RURALFUND_{svc.upper()}_HTTP_PORT"] = str(port)
    return env


def _stop_cleanly_on(*signals: signal.Signals) -> None:
    """``kill`` (SIGTERM) or a closed terminal (SIGHUP) stop everything like Ctrl-C does. By
    default they ended this process at once, without its clean-up: the services (in their own
    sessions) and embedded servers were left running."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in signals:
        signal.signal(sig, interrupt)


def _die_with_parent() -> None:
    """In a service child (Linux): SIGTERM it when ``ruralfund dev`` dies, even by SIGKILL,
    which runs no clean-up. Elsewhere a no-op: there SIGKILL of dev can leave services behind."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start_services(stack: ExitStack, env: dict[str, str], var_dir: Path, host: str) -> dict[str, subprocess.Popen]:
    logs = var_dir / "logs"
    logs.mkdir(exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    for svc in SERVICES:
        log = open(logs / f"{svc}.log", "ab")
        stack.callback(log.close)
        procs[svc] = subprocess.Popen(
            [sys.executable, "-m", "ruralfund", "serve", svc, "--host", host, "--port", str(PORTS[svc])],
            env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec, no threads yet
        )
    stack.callback(_stop_services, procs)
    return procs


def _stop_services(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for svc, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    console.print("[yellow]services stopped[/]")


def _wait_ready(procs: dict[str, subprocess.Popen], host: str) -> None:
    pending = set(procs)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("starting services", total=len(procs))
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for svc in sorted(pending):
                    if procs[svc].poll() is not None:
                        raise typer.Exit(_died(svc))
                    try:
                        if client.get(f"http://{host}:{PORTS[svc]}/readyz").status_code == 200:
                            pending.discard(svc)
                            progress.update(task, advance=1, description=f"{svc} ready")
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    console.print(f"[red]not ready after {READY_TIMEOUT_SECONDS:.0f} s:[/] {', '.join(sorted(pending))}")
                    raise typer.Exit(1)
                time.sleep(0.1)


def _died(svc: str) -> int:
    console.print(f"[red]{svc} exited during start-up; see var/dev/logs/{svc}.log[/]")
    return 1


def _dev_tokens(env: dict[str, str]) -> dict[str, str]:
    from ruralfund_common.auth import AuthSettings, Role, UserDirectory

    directory = UserDirectory(Path(env["RURALFUND_USERS_FILE"]))
    wanted = {
        "bureau-admin": ([Role.BUREAU_ADMIN], None),
        "leading-group": ([Role.LEADING_GROUP], None),
        "contractor-signatory": ([Role.CONTRACTOR_SIGNATORY], None),
        "finance-bureau": ([Role.FINANCE_BUREAU], None),
        "auditor": ([Role.AUDITOR], None),
    }
    existing = {p.name for p in directory.list()}
    for name, (roles, credit_code) in wanted.items():
        if name not in existing:
            directory.create(name, roles, credit_code=credit_code)
    settings = AuthSettings()
    return {name: directory.token_for(name, settings) for name in wanted}


def _load_demo_program(host: str, program: Path, admin_token: str) -> str:
    if not program.exists():
        return f"no demo program at {program}"
    r = httpx.post(
        f"http://{host}:{PORTS['claims']}/programs", content=program.read_bytes(),
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/yaml",
                 "Idempotency-Key": f"dev-load-{program.name}"},
        timeout=30,
    )
    if r.status_code in (200, 201):
        return f"loaded {program}"
    if r.status_code == 409:
        return f"{program} already loaded"
    return f"loading {program} failed: HTTP {r.status_code} {r.text[:300]}"


def _print_summary(host, nats_url, database_url, mail_dir, var_dir, tokens, loaded, seconds) -> None:
    table = Table(title=f"ruralfund is running (ready in {seconds:.1f} s)")
    table.add_column("what")
    table.add_column("where")
    for svc in SERVICES:
        table.add_row(f"{svc} API docs", f"http://{host}:{PORTS[svc]}/docs")
    table.add_row("public publicity page (公示)", f"http://{host}:{PORTS['notify']}/publicity")
    table.add_row("NATS", nats_url)
    table.add_row("PostgreSQL", database_url)
    table.add_row("mail sink", str(mail_dir))
    table.add_row("logs", str((var_dir / "logs").resolve()))
    table.add_row("demo program", loaded)
    Console().print(table)
    Console().print("Dev tokens (Authorization: Bearer …):")
    Console().print_json(json.dumps(tokens))


def _wait_for_interrupt(procs: dict[str, subprocess.Popen]) -> None:
    try:
        while True:
            for svc, proc in procs.items():
                if proc.poll() is not None:
                    console.print(f"[red]{svc} exited (rc={proc.returncode}); stopping[/]")
                    return
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping…")

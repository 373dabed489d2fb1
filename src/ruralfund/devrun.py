"""``ruralfund dev``: the whole system on one machine.

Starts embedded NATS (JetStream) and PostgreSQL when ``NATS_URL`` / ``DATABASE_URL`` are not
set, a local mail sink, the four services as separate processes, waits until each is ready,
loads the demo program (Xinping 2021) and prints where everything is. Ctrl-C stops it all.
State lives under ``./var/dev`` so a second run keeps the data (``--fresh`` starts over).

Ports: ``--ports fixed`` (the default) uses 8001-8006 (8005: the console, 8006: notify's public
listener, the 公示 pages citizens see) and refuses to start, naming the port, when one is
taken; ``--ports auto`` (what ``make run`` passes) moves a taken port to a free one and says
so; ``--ports free`` picks free ports for all (moved and free ports are below Linux's
ephemeral range). One ``dev`` per var dir (a lock file).
Each service must prove it is the process this run started: it echoes the run's id on
``/healthz`` (``RURALFUND_DEV_RUN_ID``), so another program answering on the port is never
taken for "ready".
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .serve import CONSOLE, CONSOLE_PORT, DEFAULT_PORTS, DEV_VAR_DIR, SERVICES

__all__ = ["DEMO_ENTERPRISES", "READY_TIMEOUT_SECONDS", "dev_command"]

READY_TIMEOUT_SECONDS = 90.0
# the four services, then the console (it starts with them: it needs neither NATS nor PostgreSQL)
PROCESSES = (*SERVICES, CONSOLE)
# notify's public listener: a second port of the notify process, the only one citizens are shown
# (as compose's 8014): admin routes, /docs and /metrics are not on it
NOTIFY_PUBLIC = "notify-public"
NOTIFY_PUBLIC_PORT = 8006
LISTENERS = (*PROCESSES, NOTIFY_PUBLIC)  # every port dev picks
DEV_PORTS = {**DEFAULT_PORTS, CONSOLE: CONSOLE_PORT, NOTIFY_PUBLIC: NOTIFY_PUBLIC_PORT}
PORTS = dict(DEV_PORTS)  # --ports auto|free and --base-port replace them
PORT_MODES = ("fixed", "auto", "free")
console = Console(stderr=True)

# Demo enterprises a dev user is made for (the README's walkthrough registers the first one):
# (user name, credit code, enterprise name). The codes carry a valid GB 32100 check character.
DEMO_ENTERPRISES = (
    ("packaging-co", "91530427MA6K0B0Q1Y", "新平礼好包装有限公司"),
)
ROLE_NAMES_ZH = {
    "bureau-admin": "县商务局（项目、审核、公示）",
    "leading-group": "领导小组成员（审批、付款会签）",
    "contractor-signatory": "承办企业签字人（付款会签）",
    "finance-bureau": "县财政局（预拨资金）",
    "auditor": "审计（只读）",
}


def dev_command(
    fresh: bool = typer.Option(False, help="delete ./var/dev first (new database, streams, clock)"),
    program: Path = typer.Option(Path("programs/xinping-2021.yaml"), help="demo program to load"),
    var_dir: Path = typer.Option(DEV_VAR_DIR, help="where embedded servers and logs keep their data"),
    host: str = typer.Option("127.0.0.1", help="bind address of the services"),
    exit_when_ready: bool = typer.Option(False, "--exit-when-ready", help="stop everything once ready (smoke test)"),
    free_ports: bool = typer.Option(False, "--free-ports", help="same as --ports free"),
    ports: str = typer.Option(
        "fixed", "--ports",
        help="fixed: 8001-8006, stop if one is taken; auto: a taken one moves to a free port "
             "(make run); free: free ports for all"),
    base_port: int = typer.Option(None, "--base-port", help="first of the fixed ports [default: 8001]"),
) -> None:
    if ports not in PORT_MODES:
        console.print(f"[red]--ports {ports!r}: choose one of {', '.join(PORT_MODES)}[/]")
        raise typer.Exit(2)
    PORTS.update(_choose_ports(host, "free" if free_ports else ports, base_port))
    started = time.monotonic()
    if fresh and var_dir.exists():
        _lock_var_dir(var_dir)  # never delete the data of a running dev
        shutil.rmtree(var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_var_dir(var_dir)
    _stop_cleanly_on(signal.SIGTERM, signal.SIGHUP)
    with ExitStack() as stack:
        stack.callback(lock.close)
        nats_url, database_url = _infrastructure(stack, var_dir)
        mail_dir = _mail_sink(stack, var_dir)
        env = _service_env(var_dir, nats_url, database_url, host, mail_dir)
        procs = _start_services(stack, env, var_dir, host)
        _wait_ready(procs, host, env["RURALFUND_DEV_RUN_ID"])
        _wait_public_ready(procs["notify"], host)
        tokens = _dev_tokens(env)
        loaded = _load_demo_program(host, program, tokens["bureau-admin"])
        _print_summary(host, nats_url, database_url, mail_dir, var_dir, tokens, loaded, time.monotonic() - started)
        if exit_when_ready:
            return
        Console().print("Press Ctrl-C to stop.")
        _wait_for_interrupt(procs)


def _choose_ports(host: str, mode: str, base_port: int | None) -> dict[str, int]:
    """The port of each service. ``fixed``: a taken port stops dev here, naming it (before,
    a second dev found the first one's services answering and printed "ready" with its URLs)."""
    wanted = dict(DEV_PORTS)
    if base_port is not None:
        wanted = {svc: base_port + i for i, svc in enumerate(LISTENERS)}
    if mode == "free":
        return dict(zip(LISTENERS, _free_service_ports(host, len(LISTENERS)), strict=True))
    taken = [svc for svc in LISTENERS if not _port_is_free(host, wanted[svc])]
    if taken and mode == "fixed":
        for svc in taken:
            console.print(f"[red]port {wanted[svc]} ({svc}) on {host} is already in use[/] "
                          "(another ruralfund dev? see `ss -ltnp`)")
        console.print("start with [bold]--ports auto[/] (make run does) to move to free ports, "
                      "or stop what holds the port")
        raise typer.Exit(1)
    moved_to = _free_service_ports(host, len(taken), avoid=set(wanted.values()))
    for svc, moved in zip(taken, moved_to, strict=True):
        console.print(f"[yellow]port {wanted[svc]} ({svc}) is in use: {svc} takes port {moved}[/]")
        wanted[svc] = moved
    return wanted


def _free_service_ports(host: str, count: int, avoid: set[int] = frozenset()) -> list[int]:
    """Ports for the listeners, below Linux's ephemeral range: a port picked in that range (as
    the OS hands out port 0) could be taken by one of this run's own outgoing connections (to
    NATS, PostgreSQL) before the service, started seconds later, binds it."""
    if not count:
        return []
    from ruralfund_common.testing.infra import free_ports_below_ephemeral

    found = [p for p in free_ports_below_ephemeral(count + len(avoid), host) if p not in avoid]
    return found[:count]


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _lock_var_dir(var_dir: Path):
    """One dev per var dir: a second one would share the first one's embedded PostgreSQL data
    directory and NATS store. The lock is the OS's (released even if dev is SIGKILLed)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    lock = open(var_dir / "dev.lock", "a+")  # noqa: SIM115 - held open for the whole run
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        console.print(f"[red]{var_dir} is in use by another ruralfund dev ({holder})[/]; stop it "
                      "or give this one another --var-dir")
        raise typer.Exit(1) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}, ports " + ", ".join(f"{s} {p}" for s, p in PORTS.items()))
    lock.flush()
    return lock


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
        async def handle_DATA(self, server, session, envelope):
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
        # the links in mails and feeds point at the public listener, as a county's would
        "RURALFUND_NOTIFY_PUBLIC_BASE_URL": f"http://{host}:{PORTS[NOTIFY_PUBLIC]}",
        "RURALFUND_DEV_RUN_ID": uuid.uuid4().hex,  # each service echoes it on /healthz
    })
    for svc in PROCESSES:
        env[f"RURALFUND_{svc.upper()}_HTTP_PORT"] = str(PORTS[svc])
    # notify gets --public-port on its command line; in the environment every service's
    # `serve` would read it (and all but notify refuse it)
    env.pop("RURALFUND_NOTIFY_PUBLIC_PORT", None)
    for svc in SERVICES:  # the console calls each service's API
        env[f"RURALFUND_CONSOLE_{svc.upper()}_URL"] = f"http://{host}:{PORTS[svc]}"
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
    for svc in PROCESSES:
        log = open(logs / f"{svc}.log", "ab")
        stack.callback(log.close)
        public = ["--public-port", str(PORTS[NOTIFY_PUBLIC])] if svc == "notify" else []
        procs[svc] = subprocess.Popen(
            [sys.executable, "-m", "ruralfund", "serve", svc, "--host", host, "--port", str(PORTS[svc]), *public],
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
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    console.print("[yellow]services stopped[/]")


def _wait_ready(procs: dict[str, subprocess.Popen], host: str, run_id: str) -> None:
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
                        if _ours_and_ready(client, host, svc, run_id):
                            pending.discard(svc)
                            progress.update(task, advance=1, description=f"{svc} ready")
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    console.print(f"[red]not ready after {READY_TIMEOUT_SECONDS:.0f} s:[/] {', '.join(sorted(pending))}")
                    raise typer.Exit(1)
                time.sleep(0.1)


def _ours_and_ready(client: httpx.Client, host: str, svc: str, run_id: str) -> bool:
    """Ready only if the process answering is the one this run started: another program that
    took the port since the check (or survived a crash) would answer /readyz just as well."""
    base = f"http://{host}:{PORTS[svc]}"
    if client.get(f"{base}/readyz").status_code != 200:
        return False
    answered = client.get(f"{base}/healthz").json().get("dev_run_id")
    if answered != run_id:
        console.print(f"[red]port {PORTS[svc]} ({svc}) is answered by another process, not the {svc} "
                      "this dev started[/] (another ruralfund dev?); stop it or use --ports auto")
        raise typer.Exit(1)
    return True


def _wait_public_ready(notify: subprocess.Popen, host: str) -> None:
    """notify opens its public listener just after its admin one (serve.py): ready when the notify
    process this run started listens on the public port and it answers /publicity. The public
    listener has no /healthz, so the owner of the socket is what proves it is ours (if another
    program took the port, notify's bind fails and it exits: reported as died)."""
    import psutil

    port = PORTS[NOTIFY_PUBLIC]
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(timeout=2.0) as client:
        while True:
            if notify.poll() is not None:
                raise typer.Exit(_died("notify"))
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in psutil.Process(notify.pid).net_connections("tcp")):
                try:
                    if client.get(f"http://{host}:{port}/publicity").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                console.print(f"[red]notify's public listener (port {port}) not ready after "
                              f"{READY_TIMEOUT_SECONDS:.0f} s[/]; see logs/notify.log under the var dir")
                raise typer.Exit(1)
            time.sleep(0.1)


def _died(svc: str) -> int:
    console.print(f"[red]{svc} (port {PORTS[svc]}) exited during start-up; see its log under "
                  f"the var dir: logs/{svc}.log[/]")
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
        **{name: ([Role.ENTERPRISE], code) for name, code, _ in DEMO_ENTERPRISES},
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
    table.add_row("console (工作台)", f"http://{host}:{PORTS[CONSOLE]}/")
    for svc in SERVICES:
        table.add_row(f"{svc} API docs", f"http://{host}:{PORTS[svc]}/docs")
    # the public listener: what citizens are shown (no admin routes there, as in compose)
    table.add_row("public 公示 page", f"http://{host}:{PORTS[NOTIFY_PUBLIC]}/publicity")
    table.add_row("NATS", nats_url)
    table.add_row("PostgreSQL", database_url)
    table.add_row("mail sink", str(mail_dir))
    table.add_row("logs", str((var_dir / "logs").resolve()))
    table.add_row("demo program", loaded)
    Console().print(table)
    moved = [svc for svc in LISTENERS if PORTS[svc] != DEV_PORTS[svc]]
    if moved:
        Console().print("[yellow]not on the default ports:[/] " + ", ".join(f"{s} {PORTS[s]}" for s in moved))
    Console().print(_sign_ins(var_dir, tokens, f"http://{host}:{PORTS[CONSOLE]}/signin"))
    Console().print("Dev tokens (Authorization: Bearer …):")
    Console().print_json(json.dumps(tokens))


def _sign_ins(var_dir: Path, tokens: dict[str, str], console_signin: str) -> Table:
    """Who can sign in: every role, and one enterprise user per demo enterprise; in the
    console (pick the user at its sign-in page) or on the APIs with a token."""
    enterprises = {name: f"企业 {zh}（{code}）" for name, code, zh in DEMO_ENTERPRISES}
    users_file = (var_dir / "users.json").resolve()
    table = Table(title=f"sign-in for every role: console {console_signin} (choose the user), "
                        f"or a token for the APIs (users in {users_file})")
    table.add_column("user")
    table.add_column("role")
    table.add_column("fresh token")
    for name in tokens:
        table.add_row(name, ROLE_NAMES_ZH.get(name) or enterprises[name],
                      f"ruralfund users token {name} --users-file {users_file}")
    return table


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

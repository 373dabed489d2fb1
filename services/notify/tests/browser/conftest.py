"""notify as a real process (``python -m ruralfund serve notify``) on real NATS and PostgreSQL,
fed through a claims outbox and relay, with an SMTP server in the test process, for a real
headless Chromium to use."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from ruralfund_common.clock import SystemClock
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.messaging import Event, Namespace, OutboxRelay, Tx
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.wait import eventually

READY_TIMEOUT_SECONDS: Final = 60.0
CHROMIUM_ENV: Final = "RURALFUND_CHROMIUM"
DEBIAN_CHROMIUM: Final = "/usr/bin/chromium"
# Chromium in a container: no sandbox (no user namespaces), no GPU, nothing phoning home.
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium (or ``RURALFUND_CHROMIUM``). Missing is a failure, never a skip: a
    green run must mean a browser really filed the objection."""
    wanted = os.environ.get(CHROMIUM_ENV)
    candidates = [wanted] if wanted else [DEBIAN_CHROMIUM, shutil.which("chromium") or ""]
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    pytest.fail(
        f"no Chromium found ({CHROMIUM_ENV}={wanted!r}, tried {candidates}): install Debian's "
        f"package (`apt-get install -y chromium`, or `make browser`) or set {CHROMIUM_ENV} "
        "to a Chromium executable",
        pytrace=False,
    )


@dataclass(frozen=True)
class Chromium:
    executable: str
    args: list[str]


@pytest.fixture
def chromium() -> Chromium:
    """The browser to launch; fails (never skips) when there is none."""
    return Chromium(chromium_path(), list(CHROMIUM_ARGS))


@dataclass
class MailSink:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@dataclass
class Claims:
    """Another service's outbox (claims, or funds) in the test database, relayed to JetStream."""

    pool: asyncpg.Pool
    relay: OutboxRelay
    producer: str = "claims"

    async def emit(self, event: Event, aggregate_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await Tx(conn, self.producer, SystemClock()).emit(event, aggregate_id=aggregate_id)
        self.relay.notify()


@dataclass
class NotifyProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    mail: MailSink
    claims: Claims
    db: asyncpg.Pool  # notify's schema, for assertions
    funds: Claims | None = None  # funds reserves the award: notify publishes from that

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


def _environment(
    nats_url: str, database_url: str, namespace: str, tmp_path: Path, port: int, smtp_port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RURALFUND_")}
    env.update(
        {
            "NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "RURALFUND_NAMESPACE": namespace,
            "RURALFUND_ENV": "test",
            "RURALFUND_CLOCK": "dev",
            "RURALFUND_DEV_CLOCK_FILE": str(tmp_path / "clock.json"),
            "RURALFUND_CALENDAR_DIR": str(tmp_path / "calendar"),
            "RURALFUND_LOG_FORMAT": "json",
            "RURALFUND_OUTBOX_POLL_SECONDS": "0.05",
            "RURALFUND_NOTIFY_SMTP_HOST": "127.0.0.1",
            "RURALFUND_NOTIFY_SMTP_PORT": str(smtp_port),
            "RURALFUND_NOTIFY_MAIL_POLL_SECONDS": "0.2",
            "RURALFUND_NOTIFY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    return env


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``ruralfund serve notify`` as the e2e tests start services: its own session, so
    terminating it reaches uvicorn and not this test run."""
    argv = [sys.executable, "-m", "ruralfund", "serve", "notify", "--host", "127.0.0.1"]
    with open(log, "wb") as out:
        return subprocess.Popen(
            [*argv, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


class ProcessExited(Exception):
    """Not "not ready yet": the service died, stop waiting."""


async def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(timeout=1) as client:

        async def ready() -> bool:
            if proc.poll() is not None:
                raise ProcessExited(f"notify exited during start-up:\n{log.read_text()[-4000:]}")
            try:
                return (await client.get(f"{url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(
            ready, timeout=READY_TIMEOUT_SECONDS, interval=0.1, description="notify /readyz"
        )


@pytest_asyncio.fixture
async def notify_process(
    nats_url: str, database_url: str, namespace: str, mail_sink: Any, tmp_path: Path
) -> AsyncIterator[NotifyProcess]:
    sink, smtp_port = mail_sink
    port = free_port()
    log = tmp_path / "notify.log"
    env = _environment(nats_url, database_url, namespace, tmp_path, port, smtp_port)
    proc = _start(env, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc, log)
        await migrate(database_url, "claims", None)
        claims_pool = await create_pool(database_url, "claims")
        relay = OutboxRelay(
            claims_pool,
            nats_url,
            producer="claims",
            namespace=Namespace(namespace),
            poll_seconds=0.05,
        )
        await relay.start()
        await migrate(database_url, "funds", None)
        funds_pool = await create_pool(database_url, "funds")
        funds_relay = OutboxRelay(
            funds_pool, nats_url, producer="funds", namespace=Namespace(namespace), poll_seconds=0.05
        )
        await funds_relay.start()
        db = await create_pool(database_url, "notify")
        try:
            funds = Claims(funds_pool, funds_relay, "funds")
            yield NotifyProcess(url, proc, log, sink, Claims(claims_pool, relay), db, funds)
        finally:
            await relay.stop()
            await funds_relay.stop()
            await claims_pool.close()
            await funds_pool.close()
            await db.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

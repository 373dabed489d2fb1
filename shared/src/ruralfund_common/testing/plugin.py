"""pytest plugin: real NATS JetStream and PostgreSQL for every test that asks for them.

Loaded by the root configuration (``-p ruralfund_common.testing.plugin``).

Servers come from ``NATS_URL`` / ``DATABASE_URL`` if set, else testcontainers if a Docker engine
answers, else embedded servers (see :mod:`ruralfund_common.testing.infra`). They are started
lazily, once per session, only when a test requests them, so unit-test runs stay fast. Missing
infrastructure is an error, never a skip: a green run always means the tests really ran.

Isolation on one shared server: each test gets its own database (``database_url``) and a
``namespace`` to prefix NATS subjects and stream names with. Streams whose name starts with
the namespace (case-insensitive; also ``KV_<ns>...`` / ``OBJ_<ns>...``) are deleted after the
test, so a long-lived ``NATS_URL`` server does not fill up.

Fault tests use ``own_nats`` / ``own_postgres``: a private embedded server per test that the
test may stop, SIGKILL and restart.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pytest
import pytest_asyncio

from ruralfund_common.testing.infra import (
    DATABASE_URL_ENV,
    INFRA_MODE_ENV,
    NATS_URL_ENV,
    PG_CONNECT_TIMEOUT_S,
    EmbeddedNats,
    EmbeddedPostgres,
    connect_nats,
    create_database,
    drop_database,
    nats_url_from_env_or_start,
    postgres_dsn_from_env_or_start,
    redact_url,
)

if TYPE_CHECKING:
    import asyncpg
    from nats.aio.client import Client as NatsClient

_log = logging.getLogger(__name__)

#: Cleanup of a test's streams must not hang a teardown on a sick server.
_STREAM_CLEANUP_TIMEOUT_S: Final = 5.0


@dataclass
class InfraUse:
    """Which path provided a server, where, and how long it took to get it."""

    how: str
    url: str
    seconds: float

    def describe(self) -> str:
        return f"{self.how} {redact_url(self.url)} (ready in {self.seconds:.2f} s)"


_USED: dict[str, InfraUse] = {}


# --------------------------------------------------------------------------- reporting


def _planned(env_var: str) -> str:
    mode = os.environ.get(INFRA_MODE_ENV, "auto").strip().lower() or "auto"
    value = os.environ.get(env_var)
    if mode in {"auto", "env"} and value:
        return f"env {redact_url(value)}"
    if mode in {"testcontainers", "embedded", "env"}:
        return f"{mode} (forced by {INFRA_MODE_ENV})"
    return "testcontainers if Docker answers, else embedded (on first use)"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front where servers will come from (cheap: Docker is probed only on first use)."""
    line = (
        f"ruralfund infra plan: NATS -> {_planned(NATS_URL_ENV)}; "
        f"PostgreSQL -> {_planned(DATABASE_URL_ENV)}"
    )
    return [line]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which path was actually used, so CI logs show env / testcontainers / embedded."""
    if not _USED:
        return
    terminalreporter.section("ruralfund infra")
    for kind, use in _USED.items():
        terminalreporter.write_line(f"{kind}: {use.describe()}")


def pytest_configure(config: pytest.Config) -> None:
    _install_sigterm_handler()


def _install_sigterm_handler() -> None:
    """Turn SIGTERM (CI job cancelled, ``timeout``) into KeyboardInterrupt.

    Without it Python dies on SIGTERM without running fixture teardown or atexit, and embedded
    servers (own sessions, see infra) outlive the run. With it pytest stops as on Ctrl-C and
    tears everything down. Only if nobody else installed a handler.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _on_sigterm(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, _on_sigterm)


# --------------------------------------------------------------------------- session servers


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """URL of a NATS server with JetStream, shared by the session (env -> docker -> embedded)."""
    t0 = time.monotonic()
    with nats_url_from_env_or_start() as (url, how):
        _USED["NATS"] = InfraUse(how, url, time.monotonic() - t0)
        yield url


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """Superuser DSN of a PostgreSQL server shared by the session (may CREATE DATABASE)."""
    t0 = time.monotonic()
    with postgres_dsn_from_env_or_start() as (dsn, how):
        _USED["PostgreSQL"] = InfraUse(how, dsn, time.monotonic() - t0)
        yield dsn


@pytest.fixture(scope="session")
def infra_report() -> dict[str, InfraUse]:
    """Live view of which servers this session started and how (filled lazily)."""
    return _USED


# --------------------------------------------------------------------------- per-test isolation


@pytest_asyncio.fixture(loop_scope="session")
async def database_url(pg_admin_dsn: str) -> AsyncIterator[str]:
    """DSN of a fresh, empty database ``t_<uuid>`` on the session server, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = await create_database(pg_admin_dsn, name)
    try:
        yield url
    finally:
        await drop_database(pg_admin_dsn, name)


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Unique lowercase prefix (``t`` + 8 hex) for subjects and stream names of one test.

    Valid in subjects, stream/consumer names and KV buckets. If the test also uses the session
    NATS server, streams named ``<ns>...`` (any case) are deleted after the test.
    """
    ns = f"t{uuid.uuid4().hex[:8]}"
    url = request.getfixturevalue("nats_url") if "nats_url" in request.fixturenames else None
    yield ns
    if url is not None:
        await _delete_streams_with_prefix(url, ns)


async def _delete_streams_with_prefix(url: str, ns: str) -> None:
    import asyncio

    prefixes = (ns, f"kv_{ns}", f"obj_{ns}")
    try:
        nc = await connect_nats(url)
    except Exception as exc:  # noqa: BLE001 - cleanup must not fail the test
        warnings.warn(f"namespace cleanup: cannot connect to NATS: {exc!r}", stacklevel=1)
        return
    try:
        js = nc.jetstream(timeout=_STREAM_CLEANUP_TIMEOUT_S)
        names = await asyncio.wait_for(_stream_names(nc), _STREAM_CLEANUP_TIMEOUT_S)
        for name in names:
            if name.lower().startswith(prefixes):
                await js.delete_stream(name)
    except Exception as exc:  # noqa: BLE001 - cleanup must not fail the test
        warnings.warn(f"namespace cleanup of streams {ns}*: {exc!r}", stacklevel=1)
    finally:
        await nc.close()


async def _stream_names(nc: NatsClient) -> list[str]:
    """All stream names, paging through ``$JS.API.STREAM.NAMES`` (nats-py has no pager)."""
    import json

    names: list[str] = []
    while True:
        msg = await nc.request(
            "$JS.API.STREAM.NAMES", json.dumps({"offset": len(names)}).encode(),
            timeout=_STREAM_CLEANUP_TIMEOUT_S,
        )
        page = json.loads(msg.data)
        if "error" in page:
            raise RuntimeError(f"STREAM.NAMES: {page['error']}")
        batch = page.get("streams") or []
        names.extend(batch)
        if not batch or len(names) >= int(page.get("total", 0)):
            return names


@pytest_asyncio.fixture(loop_scope="session")
async def nats_client(nats_url: str) -> AsyncIterator[NatsClient]:
    """Connected nats-py client (fail-fast options), closed after the test."""
    nc = await connect_nats(nats_url)
    try:
        yield nc
    finally:
        await nc.close()


@pytest_asyncio.fixture(loop_scope="session")
async def db_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """asyncpg connection to this test's fresh database, closed after the test."""
    import asyncpg

    conn = await asyncpg.connect(database_url, timeout=PG_CONNECT_TIMEOUT_S)
    try:
        yield conn
    finally:
        await conn.close()


# --------------------------------------------------------------------------- fault tests


@pytest.fixture
def own_nats() -> Iterator[EmbeddedNats]:
    """A private, started embedded nats-server (never the env one): stop/kill/restart it freely."""
    with EmbeddedNats() as srv:
        yield srv


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A private, started embedded PostgreSQL (never the env one): stop/kill/restart it freely.

    ``srv.dsn`` is a superuser DSN on 127.0.0.1; the port stays the same across restarts.
    """
    with EmbeddedPostgres() as srv:
        yield srv

"""The test infrastructure itself: real JetStream, real PostgreSQL, isolation, restarts.

Run both ways:
    env -u NATS_URL -u DATABASE_URL .venv/bin/python -m pytest shared/tests/integration -q
    NATS_URL=nats://127.0.0.1:4222 DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m pytest shared/tests/integration -q
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import nats.js.api as js_api
import pytest
from nats.js.errors import NotFoundError
from ruralfund_common.testing.infra import (
    EmbeddedNats,
    EmbeddedPostgres,
    connect_nats,
    create_database,
    drop_database,
    embedded_nats,
    embedded_postgres,
    free_port,
    nats_url_from_env_or_start,
    postgres_dsn_from_env_or_start,
    reap_orphans,
)
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

#: Bound for reading a line from a helper subprocess that starts a server.
SUBPROCESS_START_TIMEOUT_S = 60.0

# Values recorded by the first of two parametrised runs and checked by the second.
_seen_databases: list[str] = []
_seen_namespaces: list[str] = []


# --------------------------------------------------------------------------- session fixtures


async def test_jetstream_dedups_on_nats_msg_id(nats_client, namespace: str) -> None:
    js = nats_client.jetstream()
    stream = f"{namespace}_dedup"
    await js.add_stream(name=stream, subjects=[f"{namespace}.dedup.>"],
                        storage=js_api.StorageType.FILE)
    first = await js.publish(f"{namespace}.dedup.a", b"1", headers={"Nats-Msg-Id": "id-1"})
    second = await js.publish(f"{namespace}.dedup.a", b"1", headers={"Nats-Msg-Id": "id-1"})
    assert first.duplicate is not True
    assert second.duplicate is True
    assert second.seq == first.seq
    assert (await js.stream_info(stream)).state.messages == 1


async def test_postgres_answers(db_conn: asyncpg.Connection) -> None:
    assert await db_conn.fetchval("select 1") == 1


async def test_database_starts_empty(db_conn: asyncpg.Connection) -> None:
    tables = await db_conn.fetchval(
        "select count(*) from information_schema.tables where table_schema = 'public'"
    )
    assert tables == 0
    assert re.fullmatch(r"t_[0-9a-f]{12}", await db_conn.fetchval("select current_database()"))


@pytest.mark.parametrize("run", [1, 2])
async def test_each_test_gets_its_own_database(
    run: int, database_url: str, pg_admin_dsn: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        name = await conn.fetchval("select current_database()")
        await conn.execute("create table marker (run int)")
        await conn.execute("insert into marker values ($1)", run)
    finally:
        await conn.close()
    assert name not in _seen_databases
    if _seen_databases:  # second run: the first run's database was dropped after its test
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            left = await admin.fetchval(
                "select count(*) from pg_database where datname = $1", _seen_databases[0]
            )
        finally:
            await admin.close()
        assert left == 0
    _seen_databases.append(name)


@pytest.mark.parametrize("run", [1, 2])
async def test_namespace_streams_are_removed_after_the_test(
    run: int, namespace: str, nats_client
) -> None:
    assert re.fullmatch(r"t[0-9a-f]{8}", namespace)
    js = nats_client.jetstream()
    if _seen_namespaces:
        previous = _seen_namespaces[0]
        assert previous != namespace
        with pytest.raises(NotFoundError):
            await js.stream_info(f"{previous.upper()}_ORDERS")
    await js.add_stream(name=f"{namespace.upper()}_ORDERS", subjects=[f"{namespace}.orders.>"])
    _seen_namespaces.append(namespace)


def test_infra_report_names_the_path(infra_report, nats_url: str, pg_admin_dsn: str) -> None:
    assert {"NATS", "PostgreSQL"} <= infra_report.keys()
    for use in infra_report.values():
        assert use.how in {"env", "testcontainers", "embedded"}
    if os.environ.get("NATS_URL"):
        assert infra_report["NATS"].how == "env"
    if os.environ.get("DATABASE_URL"):
        assert infra_report["PostgreSQL"].how == "env"


async def test_drop_database_terminates_its_connections(pg_admin_dsn: str) -> None:
    dsn = await create_database(pg_admin_dsn, "t_dropme_" + os.urandom(4).hex())
    name = dsn.rsplit("/", 1)[1].split("?")[0]
    conn = await asyncpg.connect(dsn)
    await drop_database(pg_admin_dsn, name)
    await eventually(lambda: conn.is_closed() or None, timeout=5, description="conn closed")
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(dsn)


# --------------------------------------------------------------------------- path selection


def test_env_path_is_taken_when_set(own_nats: EmbeddedNats, monkeypatch) -> None:
    monkeypatch.delenv("RURALFUND_INFRA", raising=False)
    monkeypatch.setenv("NATS_URL", own_nats.url)
    with nats_url_from_env_or_start() as (url, how):
        assert (url, how) == (own_nats.url, "env")


def test_unreachable_env_url_fails_fast_instead_of_skipping(monkeypatch) -> None:
    monkeypatch.delenv("RURALFUND_INFRA", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="nothing answers"), postgres_dsn_from_env_or_start():
        pass
    assert time.monotonic() - started < 5


async def test_embedded_path_works_even_when_env_is_set(monkeypatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://192.0.2.1:4222")  # TEST-NET: must not be touched
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@192.0.2.1:5432/nothing")
    with embedded_nats() as url:
        assert re.fullmatch(r"nats://127\.0\.0\.1:\d+", url)
        nc = await connect_nats(url)
        try:
            js = nc.jetstream()
            await js.add_stream(name="embedded", subjects=["embedded.>"])
            ack = await js.publish("embedded.x", b"x", headers={"Nats-Msg-Id": "a"})
            assert ack.seq == 1
        finally:
            await nc.close()
    with embedded_postgres() as dsn:
        assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/postgres", dsn)
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("select 1") == 1
        finally:
            await conn.close()


def test_forced_embedded_mode_ignores_env(monkeypatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://192.0.2.1:4222")
    monkeypatch.setenv("RURALFUND_INFRA", "embedded")
    with nats_url_from_env_or_start() as (url, how):
        assert how == "embedded"
        assert url.startswith("nats://127.0.0.1:")


def test_failing_container_falls_back_to_embedded_with_a_warning(monkeypatch) -> None:
    """Docker answers but the container cannot start (e.g. offline image pull)."""
    from contextlib import contextmanager

    from ruralfund_common.testing import infra

    @contextmanager
    def broken_container():
        raise RuntimeError("pull access denied")
        yield  # pragma: no cover

    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("RURALFUND_INFRA", raising=False)
    monkeypatch.setattr(infra, "docker_available", lambda: True)
    monkeypatch.setattr(infra, "image_present", lambda image: True)
    monkeypatch.setattr(infra, "nats_container", broken_container)
    with ExitStack() as stack:
        with pytest.warns(RuntimeWarning, match="pull access denied"):
            url, how = stack.enter_context(nats_url_from_env_or_start())
        assert how == "embedded"
        assert url.startswith("nats://127.0.0.1:")


def test_an_engine_without_the_image_goes_to_embedded_quietly(monkeypatch, recwarn) -> None:
    """An engine with no registry behind it: the automatic path neither pulls nor warns, and
    asks for the image compose names (RURALFUND_NATS_IMAGE, empty meaning the default)."""
    from contextlib import contextmanager

    from ruralfund_common.testing import infra

    asked: list[str] = []

    @contextmanager
    def must_not_start():
        raise AssertionError("no container without its image")
        yield  # pragma: no cover

    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("RURALFUND_INFRA", raising=False)
    monkeypatch.setenv("RURALFUND_NATS_IMAGE", "")
    monkeypatch.setattr(infra, "docker_available", lambda: True)
    monkeypatch.setattr(infra, "image_present", lambda image: asked.append(image) or False)
    monkeypatch.setattr(infra, "nats_container", must_not_start)
    with nats_url_from_env_or_start() as (url, how):
        assert how == "embedded" and url.startswith("nats://127.0.0.1:")
    assert asked == ["nats:2.11-alpine"]  # docker-compose.yml's default
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    monkeypatch.setenv("RURALFUND_NATS_IMAGE", "registry.county.example/nats:2.11-alpine")
    assert infra.nats_image() == "registry.county.example/nats:2.11-alpine"


def test_the_container_images_are_the_compose_files_defaults() -> None:
    from ruralfund_common.testing import infra

    compose = (Path(__file__).resolve().parents[3] / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"${{RURALFUND_NATS_IMAGE:-{infra.NATS_IMAGE}}}" in compose
    assert f"${{RURALFUND_POSTGRES_IMAGE:-{infra.POSTGRES_IMAGE}}}" in compose


def test_forced_testcontainers_without_docker_is_an_error(monkeypatch) -> None:
    from ruralfund_common.testing import infra

    monkeypatch.setenv("RURALFUND_INFRA", "testcontainers")
    monkeypatch.setattr(infra, "docker_available", lambda: False)
    with pytest.raises(RuntimeError, match="no Docker engine"), postgres_dsn_from_env_or_start():
        pass


# --------------------------------------------------------------------------- restarts and faults


async def _stream_messages(url: str, stream: str) -> int:
    nc = await connect_nats(url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    finally:
        await nc.close()


async def test_nats_restart_on_same_store_keeps_stream_messages(own_nats: EmbeddedNats) -> None:
    url = own_nats.url
    nc = await connect_nats(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="keep", subjects=["keep.>"], storage=js_api.StorageType.FILE)
        for i in range(5):
            await js.publish("keep.x", str(i).encode(), headers={"Nats-Msg-Id": f"m{i}"})
    finally:
        await nc.close()
    first_pid = own_nats.pid

    assert own_nats.restart() == url  # same port: clients configured with the URL find it
    assert own_nats.pid != first_pid
    assert await _stream_messages(url, "keep") == 5

    own_nats.kill()  # crash: page cache survives a process kill, so acked messages do too
    assert not own_nats.running
    own_nats.start()
    assert await _stream_messages(url, "keep") == 5


async def test_postgres_restart_on_same_data_dir_keeps_rows(
    own_postgres: EmbeddedPostgres,
) -> None:
    dsn = own_postgres.dsn
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("create table kept (id int primary key)")
        await conn.executemany("insert into kept values ($1)", [(i,) for i in range(10)])
    finally:
        await conn.close()

    assert own_postgres.restart() == dsn
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("select count(*) from kept") == 10
        await conn.execute("insert into kept values (10)")
    finally:
        await conn.close()

    own_postgres.kill()  # SIGKILL postmaster + backends; start() runs WAL crash recovery
    assert not own_postgres.running
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(dsn, timeout=2)
    own_postgres.start()
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("select count(*) from kept") == 11
    finally:
        await conn.close()


def test_nats_start_failure_reports_server_stderr() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        srv = EmbeddedNats(port=busy.getsockname()[1])
        try:
            with pytest.raises(RuntimeError, match="nats-server exited") as info:
                srv.start()
            assert "address already in use" in str(info.value).lower()
        finally:
            srv.close()


# --------------------------------------------------------------------------- SIGKILLed owners


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    """A temp dir directly under the system temp dir (not pytest's 0700 tree, which the
    postgres OS user could not traverse without chmodding it)."""
    path = Path(tempfile.mkdtemp(prefix="ruralfund-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _start_in_subprocess(code: str, env: dict[str, str] | None = None) -> tuple[
    subprocess.Popen[str], str
]:
    """Run ``code`` in a child Python that prints one line when its server is up."""
    script = textwrap.dedent(code) + "\nprint(READY, flush=True)\nsys.stdin.read()\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + script],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(f"helper did not start: {proc.communicate(timeout=10)[1]}")
    return proc, line


def test_stale_postgres_of_a_sigkilled_owner_is_replaced(scratch_dir: Path) -> None:
    pgdata = scratch_dir / "pgdata"
    proc, _ = _start_in_subprocess(f"""
        from pathlib import Path
        from ruralfund_common.testing.infra import EmbeddedPostgres
        srv = EmbeddedPostgres(Path({str(pgdata)!r}))
        READY = srv.start()
    """)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stale_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(stale_pid, 0)  # the orphan postmaster outlived its owner

    srv = EmbeddedPostgres(pgdata)
    try:
        dsn = srv.start()
        assert srv.pid != stale_pid
        assert _dead(stale_pid)

        async def check() -> int:
            conn = await asyncpg.connect(dsn)
            try:
                return int(await conn.fetchval("select 1"))
            finally:
                await conn.close()

        assert asyncio.run(check()) == 1
    finally:
        srv.close()


def test_orphaned_embedded_servers_are_reaped(scratch_dir: Path) -> None:
    proc, pids = _start_in_subprocess("""
        from ruralfund_common.testing.infra import EmbeddedNats, EmbeddedPostgres
        nats = EmbeddedNats(); nats.start()
        pg = EmbeddedPostgres(); pg.start()
        READY = f"{nats.pid} {pg.pid}"
    """, env={"TMPDIR": str(scratch_dir)})
    nats_pid, pg_pid = map(int, pids.split())
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(list(scratch_dir.glob("ruralfund-*"))) == 2

    removed = reap_orphans(scratch_dir)

    assert len(removed) == 2
    assert list(scratch_dir.glob("ruralfund-*")) == []
    assert _dead(nats_pid)
    assert _dead(pg_pid)


def _dead(pid: int) -> bool:
    """Gone, or a zombie not yet reaped (PID 1 may reap orphans late or never)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# --------------------------------------------------------------------------- eventually


async def test_eventually_returns_first_truthy_value_of_sync_or_async_predicates() -> None:
    calls = {"n": 0}

    def sync_pred() -> int:
        calls["n"] += 1
        return calls["n"] if calls["n"] >= 3 else 0

    assert await eventually(sync_pred, timeout=2, interval=0.001) == 3

    async def async_pred() -> str:
        assert calls["n"] >= 5, "not yet"  # AssertionError means "retry"
        return "done"

    def bump_then_check():  # returns an awaitable: also accepted
        calls["n"] += 1
        return async_pred()

    assert await eventually(bump_then_check, timeout=2, interval=0.001) == "done"

    countdown = iter([3, 2, 1, 0, 0])
    assert await eventually(lambda: next(countdown), expect=0, timeout=2, interval=0.001) == 0


async def test_eventually_fails_with_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"last value \[\]"):
        await eventually(list, timeout=0.1, interval=0.01)
    with pytest.raises(AssertionError, match=r"expected 3, last value 2"):
        await eventually(lambda: 2, expect=3, timeout=0.1, interval=0.01)

    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    started = time.monotonic()
    with pytest.raises(AssertionError, match="TimeoutError"):
        await eventually(hangs, timeout=0.2)
    assert time.monotonic() - started < 1.0

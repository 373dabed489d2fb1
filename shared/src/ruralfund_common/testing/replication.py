"""A PostgreSQL primary with a synchronous streaming standby, as real processes, for failover
drills (issue #18): kill the primary, promote the standby, and check that the services follow.

Why synchronous: with ``synchronous_standby_names`` a commit returns to the client only once
the standby has flushed its WAL, and other sessions do not see it before (PostgreSQL removes
the transaction from the proc array after the wait). So an outbox row a relay published, a
payment a client was told about, is on the standby when the primary dies; what the standby
lacks was never acknowledged and is retried by its client (same Idempotency-Key).

How the services follow a promotion: their ``DATABASE_URL`` lists both servers with
``target_session_attrs=read-write`` (libpq's multi-host form, which asyncpg implements): a new
connection tries each host in turn and keeps the first that accepts writes, so once the
standby is promoted the pool's next connection lands there. Nothing else to reconfigure.

Built on :class:`~ruralfund_common.testing.infra.EmbeddedPostgres`: ``pg_basebackup -R`` from
the primary into the standby's empty data dir, then the standby starts in recovery.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from .infra import PG_SUPERUSER, EmbeddedPostgres, pg_owned_dir, pg_tool

__all__ = ["STANDBY_NAME", "ReplicatedPostgres"]

#: The standby's ``application_name``, which the primary's synchronous_standby_names names.
STANDBY_NAME: Final = "standby1"
#: A standby connects and catches up within a second on this machine; bounded for slow CI.
SYNC_TIMEOUT_S: Final = 60.0
_POLL_S: Final = 0.05


class ReplicatedPostgres:
    """Primary + synchronous standby. ``dsn`` is the multi-host DSN the services use; it stays
    valid across a failover (both ports are in it, the writable one is chosen per connection).

    ``primary_settings`` add server settings to the primary (WAL archiving, say)."""

    def __init__(self, primary_settings: dict[str, str] | None = None) -> None:
        self.primary = EmbeddedPostgres(settings={
            "wal_level": "replica",
            "synchronous_standby_names": f"FIRST 1 ({STANDBY_NAME})",
            **(primary_settings or {}),
        })
        self.standby: EmbeddedPostgres | None = None
        self.failovers = 0
        self.basebackup_s: float | None = None
        self._ports: tuple[int, int] | None = None  # the DSN's host order, fixed for the run

    # -- addresses ---------------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        return self.dsn_for(PG_SUPERUSER)

    def dsn_for(self, database: str) -> str:
        assert self._ports is not None, "not started"
        hosts = ",".join(f"127.0.0.1:{port}" for port in self._ports)
        return f"postgresql://{PG_SUPERUSER}@{hosts}/{database}?target_session_attrs=read-write"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        """Start the primary, clone it into a standby, start that; wait until it is sync."""
        if self.standby is not None:
            return self.dsn
        self.primary.start()
        standby = EmbeddedPostgres()
        self._clone_into(standby)
        self.standby = standby
        self._ports = (self.primary.port, standby.port)  # type: ignore[assignment]
        self.wait_sync()
        return self.dsn

    def _clone_into(self, standby: EmbeddedPostgres) -> None:
        """``pg_basebackup -R`` of the primary into ``standby``'s (empty) data dir; start it."""
        t0 = time.monotonic()
        pg_owned_dir(standby.data_dir)
        pg_tool("pg_basebackup", [
            "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", PG_SUPERUSER,
            "-D", str(standby.data_dir), "-X", "stream", "-R", "-c", "fast", "--no-sync",
        ])
        self.basebackup_s = time.monotonic() - t0
        # A standby must not wait for a standby of its own once promoted: drop what the copy
        # brought of the primary's ALTER SYSTEM (after an earlier failover).
        auto = standby.data_dir / "postgresql.auto.conf"
        auto.write_text("".join(line for line in auto.read_text().splitlines(keepends=True)
                                if not line.startswith("synchronous_standby_names")))
        # primary_conninfo on the command line wins over the one -R wrote: it adds the name the
        # primary's synchronous_standby_names waits for.
        standby.settings = {"primary_conninfo": (
            f"host=127.0.0.1 port={self.primary.port} user={PG_SUPERUSER} application_name={STANDBY_NAME}")}
        standby.start()

    def rebuild_standby(self) -> None:
        """After a failover: the lost primary's data dir is wiped and cloned from the new
        primary (same port, so the DSN stays valid), which then waits for it again."""
        assert self.standby is not None and self.failovers > 0
        lost, self.primary = self.primary, self.standby
        lost.stop(mode="immediate")
        shutil.rmtree(lost.data_dir)
        self._clone_into(lost)
        self.standby = lost
        pg_tool("psql", ["-h", "127.0.0.1", "-p", str(self.primary.port), "-U", PG_SUPERUSER, "-d", "postgres",
                         "-c", f"ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ({STANDBY_NAME})'",
                         "-c", "SELECT pg_reload_conf()"], timeout=10)
        self.wait_sync()

    def wait_sync(self, timeout: float = SYNC_TIMEOUT_S) -> None:
        """Until the primary reports the standby streaming with ``sync_state = sync``."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = pg_tool("psql", [
                "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", PG_SUPERUSER, "-d", "postgres",
                "-Atc", (f"SELECT state || '/' || sync_state FROM pg_stat_replication "
                         f"WHERE application_name = '{STANDBY_NAME}'")], timeout=10).strip()
            if state == "streaming/sync":
                return
            time.sleep(_POLL_S)
        raise TimeoutError(f"standby not synchronous within {timeout} s (state {state or 'absent'!r}); "
                           f"standby log:\n{_tail(self.standby.log_path) if self.standby else ''}")

    def kill_primary(self) -> None:
        """SIGKILL the primary and its backends, as a lost machine would."""
        self.primary.kill()

    def promote(self) -> None:
        """Promote the standby (``pg_ctl promote -w``): it accepts writes when this returns."""
        assert self.standby is not None
        self.standby.promote()
        self.failovers += 1

    def in_recovery(self, server: EmbeddedPostgres) -> bool:
        out = pg_tool("psql", ["-h", "127.0.0.1", "-p", str(server.port), "-U", PG_SUPERUSER, "-d", "postgres",
                               "-Atc", "SELECT pg_is_in_recovery()"], timeout=10)
        return out.strip() == "t"

    def close(self) -> None:
        try:
            if self.standby is not None:
                self.standby.close()
        finally:
            self.primary.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _tail(path: Path, max_chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-max_chars:]
    except OSError:
        return "<no log>"

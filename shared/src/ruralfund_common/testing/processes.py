"""The four services as real OS processes (``python -m ruralfund serve <svc>``) that a fault
test may SIGKILL and start again on the same port.

Why processes and not in-process apps: a crash must lose what a crash loses (open transactions,
unflushed publishes, in-memory state), which only a separate process gives. Each service keeps
its port across restarts, so clients configured with its URL find it again, as behind a
Kubernetes Service. Logs of every incarnation append to one file per service.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import httpx

from .infra import free_port
from .wait import eventually

__all__ = ["SERVICES", "ServiceProcess", "ServiceProcesses"]

SERVICES: Final = ("claims", "funds", "logistics", "notify")
#: A service starts (migrations, streams, consumers) in ~2 s; a loaded 2-core runner needs more.
READY_TIMEOUT_S: Final = 90.0
#: SIGTERM first on close; after this the process group is SIGKILLed.
STOP_TIMEOUT_S: Final = 15.0
_KILL_WAIT_S: Final = 10.0


class ServiceProcess:
    """One service: its port is chosen once; ``kill()`` and ``start()`` may alternate freely."""

    def __init__(self, name: str, env: Mapping[str, str], log_path: Path, port: int | None = None) -> None:
        self.name = name
        self.env = dict(env)
        self.log_path = log_path
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with open(self.log_path, "ab") as log:
            log.write(f"\n----- start #{self.starts + 1} of {self.name} -----\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ruralfund", "serve", self.name, "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: kill() reaches any child too
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a node loss would: no shutdown code runs."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(_KILL_WAIT_S)
            self.kills += 1
        self.proc = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL after STOP_TIMEOUT_S."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(_KILL_WAIT_S)
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class ServiceProcesses:
    """The services of one system, sharing an environment (NATS, database, namespace, clock)."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, services: Iterable[str] = SERVICES,
                 ports: Mapping[str, int] | None = None) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.services = {
            s: ServiceProcess(s, env, log_dir / f"{s}.log", (ports or {}).get(s)) for s in services
        }

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    @property
    def urls(self) -> dict[str, str]:
        return {s: p.url for s, p in self.services.items()}

    def start(self, *names: str) -> None:
        for name in names or tuple(self.services):
            self.services[name].start()

    async def wait_ready(self, *names: str, timeout: float = READY_TIMEOUT_S) -> None:
        """Until each named service (default: all) answers ``/readyz`` with 200; a service that
        exits meanwhile fails at once with its log."""
        wanted = [self.services[n] for n in names or tuple(self.services)]
        async with httpx.AsyncClient(timeout=2) as client:

            async def ready() -> bool:
                for svc in wanted:
                    if not svc.running:
                        raise RuntimeError(f"{svc.name} is not running:\n{svc.log_tail()}")
                    try:
                        if (await client.get(svc.url + "/readyz")).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
                return True

            await eventually(ready, timeout=timeout, interval=0.1,
                             description=f"{', '.join(s.name for s in wanted)} ready")

    def close(self) -> None:
        for svc in self.services.values():
            if svc.proc is not None and svc.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(svc.proc.pid, signal.SIGTERM)
        for svc in self.services.values():
            svc.stop()

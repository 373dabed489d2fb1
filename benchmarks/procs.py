"""Services as separate processes for benchmarks: ``python -m ruralfund serve <svc>``, exactly
what ``ruralfund dev`` and the container run, on free loopback ports, with output to a log.

Also /proc readers (CPU seconds, resident memory) shared by the benchmarks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import httpx
from ruralfund_common.testing.infra import free_ports_below_ephemeral

__all__ = [
    "REPO",
    "ServiceProcess",
    "cpu_seconds",
    "rss_kib",
    "service_env",
    "services_running",
]

REPO: Final = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S: Final = 90.0
STOP_TIMEOUT_S: Final = 15.0
READY_POLL_S: Final = 0.05


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS) of a live process, in KiB (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_env(nats_url: str, dsn: str, namespace: str, **extra: str) -> dict[str, str]:
    """A clean environment: the caller's RURALFUND_* settings must not leak into the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RURALFUND_")}
    env.update({
        "NATS_URL": nats_url, "DATABASE_URL": dsn, "RURALFUND_NAMESPACE": namespace,
        "RURALFUND_ENV": "development", "RURALFUND_LOG_LEVEL": "WARNING",
        "RURALFUND_LOG_FORMAT": "json", **extra,
    })  # fmt: skip
    return env


@dataclass
class ServiceProcess:
    service: str
    url: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    ready_seconds: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid


def _spawn(service: str, env: Mapping[str, str], log_dir: Path) -> ServiceProcess:
    # below the ephemeral range: the run's own outgoing connections took a port picked there
    # before notify bound it (benchmarks/cluster.py starts the services four times)
    port = free_ports_below_ephemeral()[0]
    log = open(log_dir / f"bench-{service}-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "ruralfund", "serve", service, "--host", "127.0.0.1", "--port", str(port)],
        env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    return ServiceProcess(service, f"http://127.0.0.1:{port}", proc, log)


async def _wait_ready(procs: list[ServiceProcess], started: float) -> None:
    pending = list(procs)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while pending:
            for p in list(pending):
                if p.proc.poll() is not None:
                    raise RuntimeError(f"{p.service} exited with {p.proc.returncode}; see {p.log.name}")
                try:
                    if (await client.get(f"{p.url}/readyz")).status_code == 200:
                        p.ready_seconds = time.perf_counter() - started
                        pending.remove(p)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready in {STARTUP_TIMEOUT_S:g} s: {[p.service for p in pending]}")
            if pending:
                await asyncio.sleep(READY_POLL_S)  # polling starting processes: no event to await


def _stop(procs: list[ServiceProcess]) -> None:
    for p in procs:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.proc.kill()
            p.proc.wait()
        p.log.close()


@asynccontextmanager
async def services_running(
    services: list[str], env: Mapping[str, str], log_dir: Path | None = None
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Start the services at once, wait until every one answers /readyz, stop them after."""
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    started = time.perf_counter()
    procs = [_spawn(s, env, log_dir) for s in services]
    try:
        await _wait_ready(procs, started)
        yield {p.service: p for p in procs}
    finally:
        _stop(procs)

"""Claims accepted per second over HTTP, with p50/p99 latency, against this machine's
PostgreSQL commit rate measured in the same run.

What is measured: ``POST /claims`` (a brand-packaging claim: the rule computes the award,
duplicate check, claim + history + outbox row in one transaction, ``201`` with the claim) on
the claims service running as its own process (uvicorn, one worker, like ``ruralfund serve``),
driven over loopback by keep-alive connections of a minimal HTTP/1.1 client
(``benchmarks/rawhttp.py``: httpx cost as much CPU per request as the service itself). Every
response must be ``201`` with the new claim's id; anything else is counted and printed. The outbox relay publishes the ``claim_submitted`` events to JetStream
during the run, as in production.

Besides the rate and latencies it prints the CPU time per accepted claim of the claims process
(user + system, its outbox relay included) and of this driver process: on a 2-core machine the
three of them (service, driver, PostgreSQL) share 2 CPU-seconds per second, so these figures say
whether a miss is the code's or the machine's.

Usage: ``.venv/bin/python -m benchmarks.claims [--claims N] [--seconds S] [--concurrency C] [--json]``
Bounded: at most MAX_CLAIMS claims and MAX_SECONDS of load; loopback servers only (env URLs
or embedded); the database is created for the run and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from ruralfund_common.auth import AuthSettings, Role, issue_token
from ruralfund_common.credit_code import with_check_character
from ruralfund_common.testing.infra import (
    create_database,
    drop_database,
    embedded_nats,
    embedded_postgres,
    free_port,
    is_loopback_url,
)
from ruralfund_common.testing.services import person

from benchmarks.limits import measure_pg_commit_rate
from benchmarks.loop import run as run_on_service_loop
from benchmarks.profiling import PROFILE_CPU_ENV, PROFILE_ENV
from benchmarks.rawhttp import RawHttpConnection

REPO: Final = Path(__file__).resolve().parent.parent
MAX_CLAIMS: Final = 100_000
MAX_SECONDS: Final = 120.0
MAX_CONCURRENCY: Final = 256
DEFAULT_CLAIMS: Final = 10_000
DEFAULT_CONCURRENCY: Final = 8  # the best p99 for the rate on 2 cores (4..32 tried)
WARMUP_CLAIMS: Final = 300
# 2023Q1..2099Q4: one claim per enterprise and quarter, inside Xinping's claim period (from
# the plan's publication, 2022-10-23, programs/xinping-2021.yaml)
QUARTERS_PER_ENTERPRISE: Final = 308
STARTUP_TIMEOUT_S: Final = 60.0
REQUEST_TIMEOUT_S: Final = 30.0
TARGET_PER_S: Final = 500.0
TARGET_P99_MS: Final = 50.0


@dataclass
class LoadResult:
    claims: int
    seconds: float
    accepted_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    service_cpu_ms_per_claim: float = 0.0  # the claims process (user + system), incl. its relay
    driver_cpu_ms_per_claim: float = 0.0  # this process: the HTTP client and JSON


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _quarter(n: int) -> str:
    return f"{2023 + n // 4}Q{n % 4 + 1}"


def _enterprise_code(n: int) -> str:
    return with_check_character(f"91530427MA{n:07d}")  # registered in Xinping (530427)


@asynccontextmanager
async def claims_service(nats_url: str, dsn: str, namespace: str) -> AsyncIterator[tuple[str, int]]:
    """The claims service as a uvicorn subprocess on a free loopback port; yields (URL, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RURALFUND_")}
    env.update({
        "NATS_URL": nats_url, "DATABASE_URL": dsn, "RURALFUND_NAMESPACE": namespace,
        "RURALFUND_ENV": "development", "RURALFUND_LOG_LEVEL": "WARNING",
        "RURALFUND_LOG_FORMAT": "json",
    })  # fmt: skip
    proc, log = _start(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc)
        yield url, proc.pid
    finally:
        # uvicorn re-raises the signal after shutting down; pyinstrument renders its report on
        # KeyboardInterrupt (SIGINT), not on SIGTERM
        proc.send_signal(signal.SIGINT if os.environ.get(PROFILE_ENV) else signal.SIGTERM)
        try:  # under pyinstrument the report is rendered at exit: give it time
            proc.wait(timeout=120 if os.environ.get(PROFILE_ENV) else 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _start(port: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """uvicorn, one worker, as ``ruralfund serve claims`` runs it; its output to a log file."""
    command = [
        sys.executable, "-m", "uvicorn", "ruralfund_claims.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if profile_dir := os.environ.get(PROFILE_ENV):  # the service under pyinstrument (README)
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        if os.environ.get(PROFILE_CPU_ENV):  # cProfile: CPU by function, for pstats (README)
            out = str(Path(profile_dir).resolve() / "claims-service.pstats")
            command[1:3] = ["-m", "cProfile", "-o", out, "-m", "uvicorn"]
        else:
            out = str(Path(profile_dir).resolve() / "claims-service.txt")
            command[1:3] = ["-m", "pyinstrument", "--interval", "0.001", "-r", "text", "-o", out, "-m", "uvicorn"]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-claims-{port}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO), log


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the claims service exited with {proc.returncode}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)  # polling a starting process: no event to wait for
    raise RuntimeError("the claims service did not become ready")


async def _setup(url: str, enterprises: int) -> list[dict[str, str]]:
    """Xinping activated and ``enterprises`` companies registered; their bearer headers."""
    auth = AuthSettings()
    admin = {
        "Authorization": f"Bearer {issue_token(person('Bench Admin', Role.BUREAU_ADMIN), auth)}"
    }
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        program = (REPO / "programs" / "xinping-2021.yaml").read_bytes()
        r = await client.post(
            "/programs", content=program, headers={**admin, "Content-Type": "application/yaml"}
        )
        assert r.status_code == 201, r.text
        headers = []
        for n in range(enterprises):
            code = _enterprise_code(n)
            body = {
                "credit_code": code, "name": f"新平基准测试企业{n}", "kind": "enterprise",
                "program_code": "xinping-2021", "contact": {"name": "李华"},
                "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": f"6228{n:015d}"},
            }  # fmt: skip
            r = await client.post("/enterprises", json=body, headers=admin)
            assert r.status_code == 201, r.text
            who = person(f"Bench {n}", Role.ENTERPRISE, credit_code=code)
            headers.append({"Authorization": f"Bearer {issue_token(who, auth)}"})
    return headers


async def _drive(
    url: str,
    headers: list[dict[str, str]],
    first: int,
    count: int,
    concurrency: int,
    seconds: float,
) -> LoadResult:
    """Submit claims ``first .. first+count`` with ``concurrency`` requests in flight."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    next_n = first
    deadline = time.perf_counter() + seconds
    async def worker() -> None:
        nonlocal next_n
        async with RawHttpConnection(url, REQUEST_TIMEOUT_S) as connection:
            while next_n < first + count and time.perf_counter() < deadline:
                n, next_n = next_n, next_n + 1
                who, quarter = divmod(n, QUARTERS_PER_ENTERPRISE)
                body = {
                    "program_code": "xinping-2021", "item_code": "brand-packaging",
                    "evidence": {"quarter": _quarter(quarter), "units": 10_000 + n % 5_000},
                }  # fmt: skip
                started = time.perf_counter()
                r = await connection.post_json("/claims", body, headers[who])
                latencies.append(time.perf_counter() - started)
                if r.status != 201 or not r.json().get("id"):
                    code = r.json().get("code") if r.headers.get("content-type", "").endswith("json") else ""
                    errors[f"{r.status} {code}"] = errors.get(f"{r.status} {code}", 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ok = len(latencies) - sum(errors.values())
    ms = sorted(x * 1000 for x in latencies) or [0.0]
    return LoadResult(
        claims=ok, seconds=elapsed, accepted_per_s=ok / elapsed if elapsed else 0.0,
        p50_ms=statistics.median(ms), p99_ms=ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        max_ms=ms[-1], errors=errors,
    )  # fmt: skip


async def run(
    nats_url: str,
    admin_dsn: str,
    claims: int,
    concurrency: int,
    seconds: float,
    limit_seconds: float,
) -> dict[str, Any]:
    db = f"bench_claims_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(admin_dsn, db)
    namespace = f"b{uuid.uuid4().hex[:6]}"
    try:
        # The limit first, on the same server, while nothing else runs.
        limits = {
            "pg_commit_1_conn": await measure_pg_commit_rate(dsn, limit_seconds, 1),
            "pg_commit_4_conn": await measure_pg_commit_rate(dsn, limit_seconds, 4),
        }
        total = claims + WARMUP_CLAIMS
        enterprises = -(-total // QUARTERS_PER_ENTERPRISE)
        async with claims_service(nats_url, dsn, namespace) as (url, pid):
            headers = await _setup(url, enterprises)
            await _drive(url, headers, 0, WARMUP_CLAIMS, concurrency, MAX_SECONDS)  # untimed
            service_cpu, driver_cpu = _process_cpu_seconds(pid), time.process_time()
            load = await _drive(url, headers, WARMUP_CLAIMS, claims, concurrency, seconds)
            if load.claims:
                load.service_cpu_ms_per_claim = (
                    (_process_cpu_seconds(pid) - service_cpu) * 1000 / load.claims
                )
                load.driver_cpu_ms_per_claim = (
                    (time.process_time() - driver_cpu) * 1000 / load.claims
                )
        ratios = {k: load.accepted_per_s / v for k, v in limits.items()}
        return {
            "load": asdict(load), "concurrency": concurrency, "limits": limits, "ratios": ratios,
            "target": {"per_s": TARGET_PER_S, "p99_ms": TARGET_P99_MS,
                       "met": load.accepted_per_s >= TARGET_PER_S and load.p99_ms < TARGET_P99_MS},
            "cpus": os.cpu_count(),
        }  # fmt: skip
    finally:
        await drop_database(admin_dsn, db)


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    load = report["load"]
    table = Table(title=f"POST /claims: {load['claims']:,} accepted in {load['seconds']:.2f} s, "
                        f"{report['concurrency']} in flight, {report['cpus']} CPUs")  # fmt: skip
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("claims/s ÷ figure", justify="right")
    table.add_row("claims accepted per second", f"{load['accepted_per_s']:,.0f}", "1.00")
    table.add_row("latency p50 (ms)", f"{load['p50_ms']:.1f}", "")
    table.add_row("latency p99 (ms)", f"{load['p99_ms']:.1f}", "")
    table.add_row("latency max (ms)", f"{load['max_ms']:.1f}", "")
    table.add_row(
        "claims service CPU per claim (ms)", f"{load['service_cpu_ms_per_claim']:.2f}", ""
    )
    table.add_row("load driver CPU per claim (ms)", f"{load['driver_cpu_ms_per_claim']:.2f}", "")
    for name, value in report["limits"].items():
        table.add_row(
            f"limit: {name} (commits/s)", f"{value:,.0f}", f"{report['ratios'][name]:.2f}"
        )
    console = Console()
    console.print(table)
    target = report["target"]
    verdict = "met" if target["met"] else "NOT met"
    console.print(
        f"target >= {target['per_s']:.0f}/s with p99 < {target['p99_ms']:.0f} ms: {verdict}"
    )
    if load["errors"]:
        console.print(f"non-201 answers: {load['errors']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="claims accepted per second over HTTP vs the PostgreSQL commit rate"
    )
    p.add_argument("--claims", type=int, default=DEFAULT_CLAIMS, help=f"at most {MAX_CLAIMS:,}")
    p.add_argument(
        "--seconds", type=float, default=60.0, help=f"load duration bound, at most {MAX_SECONDS:g}"
    )
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    p.add_argument(
        "--limit-seconds", type=float, default=3.0, help="duration of each limit measurement"
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    claims = max(1, min(args.claims, MAX_CLAIMS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    concurrency = max(1, min(args.concurrency, MAX_CONCURRENCY))
    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL") or stack.enter_context(embedded_nats())
        dsn = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres())
        for url in (nats_url, dsn):
            if not is_loopback_url(url):
                raise SystemExit(f"refusing a non-loopback server: {url}")
        report = run_on_service_loop(run(nats_url, dsn, claims, concurrency, seconds, args.limit_seconds))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

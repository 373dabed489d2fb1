"""Parcel scan ingestion: sustained scans per second from NATS into PostgreSQL with the 24-hour
promise on, and end-to-end latency (command published -> its scans committed), as ratios of
this machine's limits measured in the same run.

What runs: the real logistics service (migrations, inbox consumer, outbox relay, breach sweep
every second) in this process against NATS JetStream and PostgreSQL. Commands
(``logistics.cmd.record_scans.v1``, pre-encoded before the clock starts) are published straight
to JetStream with ``Nats-Msg-Id`` as a sorting line would. Each parcel's journey (received, left
center, town, village, delivered) is spread over consecutive commands, so most commands both
create parcels and merge into stored ones; 2 % of parcels left the center 30 hours ago and are
never delivered, so the sweep reports breaches (events through the outbox) during the run.

Phases:
1. throughput: all commands published as fast as JetStream takes them; the rate is scans
   committed / (last commit seen - first publish). CPU time of this process (the service;
   the publisher's share is small, payloads are pre-encoded) and of PostgreSQL's processes
   is reported per 1,000 scans: unlike rates, it barely moves when the machine is shared.
2. latency, two paced workloads: sorting-line commands (``--batch`` scans) at ``--load`` x
   the phase-1 command rate, and station handheld commands (10 scans) at 20 a second. Per
   command, the time from just before its publish to its inbox row being visible (polled
   every POLL_SECONDS, so the figures are upper bounds by at most that much).
After both, the state is checked: every scan once, every parcel, the expected breaches once.

Limits measured first: JetStream publish (PubAck each; 100 in flight), JetStream consume (pull
64 + ack each, like the service's loop), PostgreSQL commit (1 connection).

Usage: ``.venv/bin/python benchmarks/scans.py [--commands N] [--batch 1000] [--load 0.5]
[--seconds S] [--json]``
Bounded: at most MAX_COMMANDS commands of at most 1,000 scans; loopback servers only.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ruralfund_common.auth import Role
from ruralfund_common.contracts.logistics.record_scans import (
    MAX_SCANS_PER_COMMAND,
    RecordScans,
    ScanRecord,
)
from ruralfund_common.messaging.envelope import encode, make_envelope
from ruralfund_common.testing.infra import (
    connect_nats,
    create_database,
    drop_database,
    embedded_nats,
    embedded_postgres,
    is_loopback_url,
)
from ruralfund_common.testing.services import (
    bearer,
    person,
    running_service,
    service_settings,
)
from ruralfund_logistics.app import create_app
from ruralfund_logistics.settings import LogisticsSettings

try:  # commands from outside systems are signed once event signatures exist (#10)
    from ruralfund_common.messaging.signing import DEV_GATEWAY, SigningKey

    GATEWAY_KEY: Any = SigningKey.dev(DEV_GATEWAY)
except ImportError:
    GATEWAY_KEY = None

from benchmarks.limits import measure_nats_publish_rate, measure_pg_commit_rate
from benchmarks.loop import run as run_on_service_loop
from benchmarks.profiling import profiled

MAX_COMMANDS: Final = 2_000
DEFAULT_COMMANDS: Final = 200
DEFAULT_LATENCY_COMMANDS: Final = 30
HANDHELD_BATCH: Final = 10
HANDHELD_COMMANDS: Final = 200
HANDHELD_PER_S: Final = 20.0
PUBLISH_IN_FLIGHT: Final = 32
POLL_SECONDS: Final = 0.002
PHASE_TIMEOUT_S: Final = 600.0
TARGET_SCANS_PER_S: Final = 10_000
CONSUME_BATCH: Final = 64  # the service's PULL_BATCH_SIZE
STEPS: Final = (
    "received_at_center",
    "left_center",
    "arrived_at_town",
    "arrived_at_village",
    "delivered",
)
STEP_HOURS: Final = (-20, -19, -16, -12, -10)  # relative to the clock: all well inside 24 h
STALE_EVERY: Final = 50  # every 50th parcel left 30 h ago and is never delivered: a breach
BUREAU = person("Bench Bureau", Role.BUREAU_ADMIN)
COUNTY_NOW: Final = datetime(2022, 1, 10, 2, 0, tzinfo=UTC)  # 10:00 in the county


# -- the consume limit --------------------------------------------------------------------------


async def measure_nats_consume_rate(url: str, seconds: float, payload: bytes) -> float:
    """JetStream messages per second through a durable pull consumer that fetches batches of
    64 and acks each message, as the services' consume loop does (no processing)."""
    run = uuid.uuid4().hex[:10]
    stream, subject = f"BENCHC_{run}", f"benchc.{run}"
    nc = await connect_nats(url)
    try:
        js = nc.jetstream(timeout=10)
        await js.add_stream(name=stream, subjects=[subject])
        try:
            sem = asyncio.Semaphore(100)

            async def one(i: int) -> None:
                async with sem:
                    await js.publish(subject, payload, headers={"Nats-Msg-Id": f"{run}-{i}"})

            count = max(2_000, int(seconds * 20_000))
            await asyncio.gather(*(one(i) for i in range(count)))
            sub = await js.pull_subscribe(subject, durable=f"c{run}", stream=stream)
            consumed = 0
            started = time.perf_counter()
            deadline = started + seconds
            while consumed < count and time.perf_counter() < deadline:
                for msg in await sub.fetch(CONSUME_BATCH, timeout=5):
                    await msg.ack()
                    consumed += 1
            return consumed / (time.perf_counter() - started)
        finally:
            await js.delete_stream(stream)
    finally:
        await nc.close()


# -- the workload -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    center: str
    towns: list[str]
    villages: list[str]  # villages[i] hangs under towns[i % len(towns)]


async def _register(client: Any) -> Network:
    async def station(body: dict[str, Any]) -> str:
        r = await client.post(
            "/stations", json=body, headers={**bearer(BUREAU), "Idempotency-Key": str(uuid.uuid4())}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    base = {"county_code": "530427", "opened_on": "2021-06-01"}
    center = await station(
        base | {"tier": "county_center", "name": "新平县物流中心", "address": "桂山街道"}
    )
    towns = [
        await station(
            base | {"tier": "town", "parent_id": center, "name": f"镇站{i}", "address": f"镇{i}"}
        )
        for i in range(4)
    ]
    villages = [
        await station(
            base
            | {
                "tier": "village",
                "parent_id": towns[i % 4],
                "name": f"村站{i}",
                "address": f"村{i}",
            }
        )
        for i in range(20)
    ]
    return Network(center, towns, villages)


def _journey(net: Network, n: int, prefix: str) -> list[list[dict[str, Any]]]:
    """The five scans of parcel ``n``, one list per step (steps go into consecutive commands)."""
    village = net.villages[n % len(net.villages)]
    town = net.towns[(n % len(net.villages)) % len(net.towns)]
    stations = (net.center, net.center, town, village, village)
    stale = n % STALE_EVERY == 0
    out: list[list[dict[str, Any]]] = []
    for step, (kind, hours, station) in enumerate(zip(STEPS, STEP_HOURS, stations, strict=True)):
        if stale and kind == "delivered":
            out.append([])
            continue
        at = COUNTY_NOW + timedelta(hours=hours - (10 if stale else 0), seconds=n % 3600)
        scan = {
            "scan_id": f"{prefix}{n}-{step}",
            "parcel_id": f"{prefix}{n}",
            "station_id": station,
            "kind": kind,
            "scanned_at": at.isoformat(),
        }
        if kind == "left_center":
            scan["destination_station_id"] = village
        out.append([scan])
    return out


Payload = tuple[str, bytes]  # (message id, encoded envelope)


def plan(
    net: Network, commands: int, batch: int, prefix: str
) -> tuple[list[Payload], int, int, int]:
    """Pre-encoded commands of ``batch`` scans. Parcel group g's step s goes into command g + s,
    so a command holds new parcels and later steps of earlier ones. Returns (payloads, scans,
    parcels, expected breaches)."""
    per_group = batch // len(STEPS)
    slots: list[list[dict[str, Any]]] = [[] for _ in range(commands + len(STEPS))]
    parcels = 0
    stale = 0
    for group in range(commands):
        for k in range(per_group):
            n = group * per_group + k
            for step, scans in enumerate(_journey(net, n, prefix)):
                slots[group + step].extend(scans)
            parcels += 1
            stale += n % STALE_EVERY == 0
    slots = [s for s in slots if s]
    payloads = []
    for scans in slots:
        command = RecordScans(source="bench-sorting-line", scans=[ScanRecord(**s) for s in scans])
        env = make_envelope(command, source="bench", aggregate_id="line-1", time=datetime.now(UTC))
        payloads.append((env["id"], encode(env)))
    return payloads, sum(len(s) for s in slots), parcels, stale


# -- CPU accounting ----------------------------------------------------------------------------


def _proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a local process, from /proc (0 if it is gone or unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _pg_cpu_seconds(pool: Any) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL server process (backends and background ones)."""
    async with pool.acquire() as conn:
        pids = [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity")]
    return {pid: _proc_cpu_seconds(pid) for pid in pids}


def _pg_cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    # processes alive at both ends (the pool's connections, the writers); a rough lower bound
    return sum(after[p] - before[p] for p in before.keys() & after.keys())


# -- running it -------------------------------------------------------------------------------


@asynccontextmanager
async def logistics(nats_url: str, dsn: str, ns: str) -> AsyncIterator[Any]:
    settings = service_settings(
        "logistics", nats_url=nats_url, database_url=dsn, namespace=ns, log_level="WARNING"
    )
    make = functools.partial(
        create_app, logistics_settings=LogisticsSettings(sla_sweep_seconds=1.0)
    )
    async with running_service(make, settings) as client:
        r = await client.post(
            "/admin/clock", json={"set_to": COUNTY_NOW.isoformat()}, headers=bearer(BUREAU)
        )
        assert r.status_code == 200, r.text
        yield client


class Watcher:
    """Sees commands' inbox rows appear (= their transaction committed), by polling."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.pending: dict[str, float] = {}  # message id -> perf_counter when published
        self.latencies: list[float] = []
        self.last_seen = 0.0

    async def run(self, expected: int) -> None:
        deadline = time.perf_counter() + PHASE_TIMEOUT_S
        seen = 0
        async with self.pool.acquire() as conn:
            while seen < expected:
                if time.perf_counter() > deadline:
                    raise TimeoutError(
                        f"{expected - seen} commands not committed in {PHASE_TIMEOUT_S} s"
                    )
                ids = list(self.pending)
                rows = (
                    await conn.fetch(
                        "SELECT message_id FROM inbox WHERE message_id = ANY($1::text[])", ids
                    )
                    if ids
                    else []
                )
                now = time.perf_counter()
                for r in rows:
                    published = self.pending.pop(r["message_id"])
                    self.latencies.append(now - published)
                    seen += 1
                    self.last_seen = now
                await asyncio.sleep(POLL_SECONDS)


async def _publish(js: Any, ns: str, payload: Payload, watcher: Watcher) -> None:
    msg_id, data = payload
    watcher.pending[msg_id] = time.perf_counter()
    subject = f"{ns}.logistics.cmd.record_scans.v1"
    headers = {"Nats-Msg-Id": msg_id}
    if GATEWAY_KEY is not None:
        headers = GATEWAY_KEY.sign(subject, data, headers)
    await js.publish(subject, data, stream=f"{ns.upper()}_LOGISTICS", headers=headers)


async def throughput(js: Any, ns: str, pool: Any, payloads: list[Payload]) -> dict[str, float]:
    watcher = Watcher(pool)
    sem = asyncio.Semaphore(PUBLISH_IN_FLIGHT)

    async def one(p: Payload) -> None:
        async with sem:
            await _publish(js, ns, p, watcher)

    pg_before, cpu_before = await _pg_cpu_seconds(pool), time.process_time()
    started = time.perf_counter()
    watching = asyncio.create_task(watcher.run(len(payloads)))
    await asyncio.gather(*(one(p) for p in payloads))
    published = time.perf_counter() - started
    await watching
    return {
        "seconds": watcher.last_seen - started,
        "publish_seconds": published,
        "service_cpu_seconds": time.process_time() - cpu_before,
        "postgres_cpu_seconds": _pg_cpu_used(pg_before, await _pg_cpu_seconds(pool)),
    }


async def latency(
    js: Any, ns: str, pool: Any, payloads: list[Payload], rate_per_s: float
) -> list[float]:
    """Commands published at a steady ``rate_per_s``; returns each one's latency (seconds)."""
    watcher = Watcher(pool)
    watching = asyncio.create_task(watcher.run(len(payloads)))
    interval = 1.0 / rate_per_s
    start = time.perf_counter()
    for i, p in enumerate(payloads):
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await _publish(js, ns, p, watcher)
    await watching
    return watcher.latencies


async def _check_state(pool: Any, scans: int, parcels: int, breaches: int) -> dict[str, int]:
    """The benchmark only counts if the result is right: every scan once, every parcel, and
    each never-delivered parcel reported once (after a last sweep)."""
    async with pool.acquire() as conn:
        found = {
            "scans": await conn.fetchval("SELECT count(*) FROM scans"),
            "parcels": await conn.fetchval("SELECT count(*) FROM parcels"),
            "rejected": await conn.fetchval("SELECT count(*) FROM rejected_scans"),
            "breaches": await conn.fetchval(
                "SELECT count(*) FROM parcels WHERE breach_emitted_at IS NOT NULL"
            ),
            "breach_events": await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE subject = 'logistics.evt.delivery_sla_breached.v1'"
            ),
        }
    expected = {
        "scans": scans,
        "parcels": parcels,
        "rejected": 0,
        "breaches": breaches,
        "breach_events": breaches,
    }
    assert found == expected, f"state after the run: {found}, expected {expected}"
    return found


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(nats_url: str, admin_dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    sample = b"x" * 250
    limits = {
        "nats_publish_ack_each": await measure_nats_publish_rate(nats_url, args.seconds, 1),
        "nats_publish_100_in_flight": await measure_nats_publish_rate(nats_url, args.seconds, 100),
        "nats_consume_pull64_ack_each": await measure_nats_consume_rate(
            nats_url, args.seconds, sample
        ),
        "pg_commit_1_conn": await measure_pg_commit_rate(admin_dsn, args.seconds, 1),
    }
    db = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(admin_dsn, db)
    ns = f"b{uuid.uuid4().hex[:6]}"
    try:
        async with logistics(nats_url, dsn, ns) as client:
            pool = client.app.state.ctx.db
            net = await _register(client)
            loaded, scans_1, parcels_1, stale_1 = plan(net, args.commands, args.batch, "T")
            paced, scans_2, parcels_2, stale_2 = plan(net, args.latency_commands, args.batch, "L")
            small, scans_3, parcels_3, stale_3 = plan(net, HANDHELD_COMMANDS, HANDHELD_BATCH, "H")
            nc = await connect_nats(nats_url)
            try:
                js = nc.jetstream(timeout=30)
                with profiled("scans"):
                    t = await throughput(js, ns, pool, loaded)
                rate = scans_1 / t["seconds"]
                command_rate = len(loaded) / t["seconds"]
                offered = max(0.1, args.load * command_rate)
                line = await latency(js, ns, pool, paced, offered)
                handheld = await latency(js, ns, pool, small, HANDHELD_PER_S)
            finally:
                await nc.close()
            r = await client.post("/admin/sla/sweep", headers=bearer(BUREAU))
            assert r.status_code == 200, r.text
            state = await _check_state(
                pool,
                scans_1 + scans_2 + scans_3,
                parcels_1 + parcels_2 + parcels_3,
                stale_1 + stale_2 + stale_3,
            )
    finally:
        await drop_database(admin_dsn, db)
    commit_s = 1 / limits["pg_commit_1_conn"]
    puback_s = 1 / limits["nats_publish_ack_each"]
    workloads = {
        "sorting_line": _latency_figures(line, len(paced), scans_2, offered),
        "handhelds": _latency_figures(handheld, len(small), scans_3, HANDHELD_PER_S),
    }
    ratios = {
        "scans_per_s / nats_publish_ack_each": rate / limits["nats_publish_ack_each"],
        "scans_per_s / nats_consume_pull64_ack_each": rate / limits["nats_consume_pull64_ack_each"],
        "scans_per_s / pg_commit_1_conn": rate / limits["pg_commit_1_conn"],
        "commands_per_s / pg_commit_1_conn": command_rate / limits["pg_commit_1_conn"],
    }
    for name, w in workloads.items():
        for q in ("p50", "p99"):
            ratios[f"{name} {q} / one pg commit"] = w[f"{q}_ms"] / 1000 / commit_s
            ratios[f"{name} {q} / one PubAck round trip"] = w[f"{q}_ms"] / 1000 / puback_s
    return {
        "throughput": {
            "commands": len(loaded),
            "scans": scans_1,
            "scans_per_command": scans_1 / len(loaded),
            "seconds": t["seconds"],
            "publish_seconds": t["publish_seconds"],
            "scans_per_s": rate,
            "commands_per_s": command_rate,
            "target_scans_per_s": TARGET_SCANS_PER_S,
            "target_met": rate >= TARGET_SCANS_PER_S,
            "service_cpu_ms_per_1000_scans": t["service_cpu_seconds"] / scans_1 * 1e6,
            "postgres_cpu_ms_per_1000_scans": t["postgres_cpu_seconds"] / scans_1 * 1e6,
            "load_average_1min": os.getloadavg()[0],
            "cpus": os.cpu_count(),
        },
        "latency": workloads,
        "limits": limits,
        "ratios": ratios,
        "state": state,
    }


def _latency_figures(lat: list[float], commands: int, scans: int, per_s: float) -> dict[str, float]:
    return {
        "commands": commands,
        "scans_per_command": scans / commands,
        "offered_commands_per_s": per_s,
        "offered_scans_per_s": per_s * scans / commands,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": _pct(lat, 0.99) * 1000,
        "max_ms": max(lat) * 1000,
        "poll_resolution_ms": POLL_SECONDS * 1000,
    }


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = report["throughput"]
    table = Table(
        title=f"Scan ingestion: {t['scans']:,} scans in {t['commands']} commands "
        f"({t['scans_per_command']:.0f} a command), SLA sweep every 1 s; "
        f"{t['cpus']} CPUs, load average {t['load_average_1min']:.1f}"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("sustained scans/s (NATS -> PostgreSQL, committed)", f"{t['scans_per_s']:,.0f}")
    table.add_row(
        f"target {t['target_scans_per_s']:,} scans/s", "met" if t["target_met"] else "NOT met"
    )
    table.add_row("commands/s (one transaction each)", f"{t['commands_per_s']:,.1f}")
    table.add_row(
        "CPU ms per 1,000 scans: service process", f"{t['service_cpu_ms_per_1000_scans']:,.1f}"
    )
    table.add_row(
        "CPU ms per 1,000 scans: PostgreSQL", f"{t['postgres_cpu_ms_per_1000_scans']:,.1f}"
    )
    for name, w in report["latency"].items():
        table.add_row(
            f"latency, {name}: {w['offered_commands_per_s']:,.1f} commands/s of "
            f"{w['scans_per_command']:.0f} scans, p50 / p99 / max",
            f"{w['p50_ms']:.1f} / {w['p99_ms']:.1f} / {w['max_ms']:.1f} ms",
        )
    for k, v in report["limits"].items():
        table.add_row(f"limit: {k} per s", f"{v:,.0f}")
    for k, v in report["ratios"].items():
        table.add_row(f"ratio: {k}", f"{v:,.2f}")
    Console().print(table)
    Console().print(f"state checked: {report['state']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="parcel scan ingestion vs machine limits")
    p.add_argument(
        "--commands", type=int, default=DEFAULT_COMMANDS, help="commands in the throughput phase"
    )
    p.add_argument(
        "--batch", type=int, default=MAX_SCANS_PER_COMMAND, help="scans per command (<= 1000)"
    )
    p.add_argument("--latency-commands", type=int, default=DEFAULT_LATENCY_COMMANDS)
    p.add_argument("--latency-batch", type=int, default=100, help="scans per command when pacing")
    p.add_argument(
        "--load", type=float, default=0.5, help="latency phase load, x the sustained rate"
    )
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each limit measurement")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    args.commands = max(1, min(args.commands, MAX_COMMANDS))
    args.latency_commands = max(1, min(args.latency_commands, MAX_COMMANDS))
    args.batch = max(len(STEPS), min(args.batch, MAX_SCANS_PER_COMMAND))
    args.load = min(max(args.load, 0.01), 1.0)
    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL") or stack.enter_context(embedded_nats())
        dsn = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres())
        for url in (nats_url, dsn):
            if not is_loopback_url(url):
                raise SystemExit(f"refusing a non-loopback server: {url}")
        report = run_on_service_loop(run(nats_url, dsn, args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

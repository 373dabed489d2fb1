"""Measure this machine's raw limits: JetStream publish rate and PostgreSQL commit rate.

Why: a figure like "the outbox relays 3,000 events/s" means nothing on its own; it means a lot
as "55 % of what JetStream accepts with one PubAck in flight on this machine, in the same run".
Other benchmarks import :func:`measure_nats_publish_rate` and :func:`measure_pg_commit_rate`
and report ratios against them.

Usage::

    .venv/bin/python benchmarks/limits.py [--seconds N] [--json]

Servers: ``NATS_URL`` / ``DATABASE_URL`` if set, else embedded servers started here (the same
code as the test fixtures). Loopback only: a remote server would measure the network.
Every measurement is bounded in time (``--seconds``, at most MAX_SECONDS) and in count
(MAX_MESSAGES / MAX_COMMITS) and removes the stream or table it created.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from ruralfund_common.settings import nats_servers
from ruralfund_common.testing.infra import (
    DATABASE_URL_ENV,
    NATS_URL_ENV,
    PG_CONNECT_TIMEOUT_S,
    connect_nats,
    embedded_nats,
    embedded_postgres,
    is_loopback_url,
    redact_url,
)

__all__ = ["measure_nats_publish_rate", "measure_pg_commit_rate", "run_all"]

#: Upper bound for one measurement, whatever the caller asks.
MAX_SECONDS: Final = 120.0
DEFAULT_SECONDS: Final = 5.0
#: Count bounds: at ~35k msg/s a 120 s run would store 4.2 M messages; the stream is capped.
MAX_MESSAGES: Final = 2_000_000
MAX_COMMITS: Final = 1_000_000
#: Untimed warm-up (connection, stream/table creation, statement preparation, JIT of caches).
WARMUP_OPS: Final = 200
#: Publishes in flight for the pipelined measurement; connections for the concurrent commits.
DEFAULT_IN_FLIGHT: Final = 100
DEFAULT_CONNECTIONS: Final = 4
#: A PubAck normally arrives in < 1 ms on loopback; a stall this long is a failure, not data.
PUBACK_TIMEOUT_S: Final = 10.0
#: An event-sized payload (~250 bytes of JSON), like the services publish.
PAYLOAD: Final = json.dumps(
    {
        "event_id": str(uuid.UUID(int=0)),
        "type": "claims.evt.claim_submitted.v1",
        "occurred_at": "2026-01-01T00:00:00+08:00",
        "data": {"claim_id": "c-000000", "county": "xx-county", "amount_fen": 123456789,
                 "items": ["site", "logistics", "training"]},
    }
).encode()


def _bounded(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("seconds must be > 0")
    return min(seconds, MAX_SECONDS)


def _require_loopback(url: str, allow_remote: bool) -> None:
    if not allow_remote and not all(is_loopback_url(u) for u in nats_servers(url)):
        raise ValueError(
            f"{redact_url(url)} is not on this machine; limits are measured on loopback only "
            "(pass allow_remote=True to measure anyway)"
        )


async def _stream_ready(js: Any, stream: str, timeout_s: float = 30.0) -> None:
    """A new replicated stream answers publishes only once it has a leader and its copies are
    current: measuring before that measures an election (NoStreamResponseError under load)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        info = await js.stream_info(stream)
        cluster = info.cluster
        if cluster is None or (cluster.leader and all(r.current for r in cluster.replicas or [])):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"stream {stream} has no leader or current copies after {timeout_s:.0f} s")
        await asyncio.sleep(0.1)


async def measure_nats_publish_rate(
    url: str, seconds: float, in_flight: int = 1, *, allow_remote: bool = False, replicas: int = 1
) -> float:
    """JetStream publishes per second, each awaiting its PubAck, with ``Nats-Msg-Id`` headers.

    ``in_flight`` concurrent publishers each await their own PubAck before the next publish, so
    exactly that many are outstanding: 1 is the latency-bound rate a careful relay gets, 100
    shows what pipelining buys. Uses a file-storage stream (as production does), created for
    the run and deleted after. ``replicas`` > 1 needs a cluster (``url`` may list its servers).
    """
    seconds = _bounded(seconds)
    if in_flight < 1:
        raise ValueError("in_flight must be >= 1")
    _require_loopback(url, allow_remote)
    run = uuid.uuid4().hex[:10]
    stream, subject = f"BENCH_{run}", f"bench.{run}"
    nc = await connect_nats(url)
    try:
        import nats.js.api as js_api

        js = nc.jetstream(timeout=PUBACK_TIMEOUT_S)
        await js.add_stream(
            name=stream, subjects=[subject], storage=js_api.StorageType.FILE,
            max_msgs=MAX_MESSAGES + WARMUP_OPS + in_flight, num_replicas=replicas,
        )
        await _stream_ready(js, stream)
        try:
            for i in range(WARMUP_OPS):
                await js.publish(subject, PAYLOAD, headers={"Nats-Msg-Id": f"w-{run}-{i}"})
            counter = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds

            async def publisher() -> None:
                nonlocal counter
                while loop.time() < deadline and counter < MAX_MESSAGES:
                    counter += 1
                    await js.publish(subject, PAYLOAD,
                                     headers={"Nats-Msg-Id": f"{run}-{counter}"})

            started = time.perf_counter()
            await asyncio.gather(*(publisher() for _ in range(in_flight)))
            elapsed = time.perf_counter() - started
            stored = (await js.stream_info(stream)).state.messages
            if stored != counter + WARMUP_OPS:  # every PubAck must mean a stored message
                raise RuntimeError(f"stream holds {stored}, expected {counter + WARMUP_OPS}")
            return counter / elapsed
        finally:
            await js.delete_stream(stream)
    finally:
        await nc.close()


async def measure_pg_commit_rate(
    dsn: str,
    seconds: float,
    connections: int = 1,
    *,
    explicit_transaction: bool = True,
    allow_remote: bool = False,
) -> float:
    """Committed single-row INSERT transactions per second over ``connections`` connections.

    Each INSERT (a jsonb payload, like an outbox row) is its own transaction, so the rate is
    bounded by WAL flushes (fsync) and round trips, not by the insert itself. With
    ``explicit_transaction`` (default) it is BEGIN / INSERT / COMMIT, the shape of service code
    (``async with conn.transaction()``), three round trips; without, one autocommit statement.
    Concurrent connections let PostgreSQL group commits into one WAL flush.
    """
    import asyncpg

    seconds = _bounded(seconds)
    if connections < 1:
        raise ValueError("connections must be >= 1")
    _require_loopback(dsn, allow_remote)
    table = f"bench_commit_{uuid.uuid4().hex[:10]}"
    insert = f"INSERT INTO {table} (payload) VALUES ($1::jsonb)"
    payload = PAYLOAD.decode()
    conns = [await asyncpg.connect(dsn, timeout=PG_CONNECT_TIMEOUT_S) for _ in range(connections)]
    try:
        await conns[0].execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, payload jsonb NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
        try:
            async def one(conn: asyncpg.Connection) -> None:
                if explicit_transaction:
                    async with conn.transaction():
                        await conn.execute(insert, payload)
                else:
                    await conn.execute(insert, payload)

            for conn in conns:
                for _ in range(max(WARMUP_OPS // connections, 1)):
                    await one(conn)
            warm = int(await conns[0].fetchval(f"SELECT count(*) FROM {table}"))
            counter = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds

            async def worker(conn: asyncpg.Connection) -> None:
                nonlocal counter
                while loop.time() < deadline and counter < MAX_COMMITS:
                    counter += 1
                    await one(conn)

            started = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in conns))
            elapsed = time.perf_counter() - started
            stored = int(await conns[0].fetchval(f"SELECT count(*) FROM {table}"))
            if stored != counter + warm:
                raise RuntimeError(f"table holds {stored} rows, expected {counter + warm}")
            return counter / elapsed
        finally:
            await conns[0].execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        for conn in conns:
            await conn.close()


# --------------------------------------------------------------------------- script


@dataclass
class Result:
    name: str
    rate_per_s: float
    detail: str


@dataclass
class Report:
    seconds: float
    nats: str
    nats_source: str
    postgres: str
    postgres_source: str
    machine: dict[str, Any] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)


async def _server_facts(nats_url: str, dsn: str) -> dict[str, Any]:
    import asyncpg

    nc = await connect_nats(nats_url)
    try:
        v = nc.connected_server_version
        nats_version = f"{v.major}.{v.minor}.{v.patch}"
    finally:
        await nc.close()
    conn = await asyncpg.connect(dsn, timeout=PG_CONNECT_TIMEOUT_S)
    try:
        facts = {
            "nats_server": str(nats_version),
            "postgres": await conn.fetchval("SHOW server_version"),
            "pg_fsync": await conn.fetchval("SHOW fsync"),
            "pg_synchronous_commit": await conn.fetchval("SHOW synchronous_commit"),
        }
    finally:
        await conn.close()
    return facts


async def run_all(
    nats_url: str, dsn: str, seconds: float,
    in_flight: int = DEFAULT_IN_FLIGHT, connections: int = DEFAULT_CONNECTIONS,
) -> tuple[list[Result], dict[str, Any]]:
    """Run every measurement sequentially (never concurrently: they share the CPU)."""
    facts = await _server_facts(nats_url, dsn)
    results = [
        Result("nats_publish_ack_each",
               await measure_nats_publish_rate(nats_url, seconds, 1),
               "JetStream file stream, Nats-Msg-Id, await each PubAck"),
        Result(f"nats_publish_{in_flight}_in_flight",
               await measure_nats_publish_rate(nats_url, seconds, in_flight),
               f"same, {in_flight} publishes awaiting PubAck at once"),
        Result("pg_commit_1_conn",
               await measure_pg_commit_rate(dsn, seconds, 1),
               "BEGIN; INSERT 1 jsonb row; COMMIT - one connection"),
        Result("pg_commit_1_conn_autocommit",
               await measure_pg_commit_rate(dsn, seconds, 1, explicit_transaction=False),
               "autocommit INSERT (1 round trip) - one connection"),
        Result(f"pg_commit_{connections}_conn",
               await measure_pg_commit_rate(dsn, seconds, connections),
               f"BEGIN; INSERT; COMMIT - {connections} connections concurrently"),
    ]
    return results, facts


def _print_table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Machine limits ({report.seconds:g} s per measurement)")
    table.add_column("measurement")
    table.add_column("per second", justify="right")
    table.add_column("how")
    for r in report.results:
        table.add_row(r.name, f"{r.rate_per_s:,.0f}", r.detail)
    console = Console()
    console.print(table)
    console.print(f"NATS: {report.nats_source} {report.nats}   "
                  f"PostgreSQL: {report.postgres_source} {report.postgres}")
    console.print("   ".join(f"{k}={v}" for k, v in report.machine.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                        help=f"duration of each measurement (max {MAX_SECONDS:g})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--in-flight", type=int, default=DEFAULT_IN_FLIGHT)
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    args = parser.parse_args(argv)
    seconds = _bounded(args.seconds)

    with ExitStack() as stack:
        nats_url = os.environ.get(NATS_URL_ENV)
        nats_source = "env"
        if not nats_url:
            nats_url, nats_source = stack.enter_context(embedded_nats()), "embedded"
        dsn = os.environ.get(DATABASE_URL_ENV)
        pg_source = "env"
        if not dsn:
            dsn, pg_source = stack.enter_context(embedded_postgres()), "embedded"
        results, facts = asyncio.run(
            run_all(nats_url, dsn, seconds, args.in_flight, args.connections)
        )
    report = Report(
        seconds=seconds,
        nats=redact_url(nats_url), nats_source=nats_source,
        postgres=redact_url(dsn), postgres_source=pg_source,
        machine={"cpus": os.cpu_count(), "platform": platform.platform(),
                 "python": platform.python_version(), **facts},
        results=results,
    )
    if args.json:
        json.dump(asdict(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

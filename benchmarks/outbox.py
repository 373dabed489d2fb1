"""Outbox relay throughput, as a ratio of this machine's limits measured in the same run.

What is measured: events already committed to a service's outbox are sequenced, published to
JetStream (file storage, Nats-Msg-Id, every PubAck awaited) and marked sent — the relay's whole
job — in events per second. The limits: JetStream publish rate awaiting each PubAck, the same
with 100 in flight, and PostgreSQL single-row commit rate, all measured here first.

Usage: ``.venv/bin/python benchmarks/outbox.py [--events N] [--seconds S] [--json]``
Bounded: at most MAX_EVENTS events; loopback servers only (env URLs or embedded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datetime import UTC

from ruralfund_common.clock import SystemClock
from ruralfund_common.contracts import ClaimSubmitted
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.messaging import Namespace, OutboxRelay, Tx
from ruralfund_common.testing.infra import (
    create_database,
    drop_database,
    embedded_nats,
    embedded_postgres,
    is_loopback_url,
)

from benchmarks.limits import measure_nats_publish_rate, measure_pg_commit_rate
from benchmarks.loop import run as run_on_service_loop

MAX_EVENTS: Final = 200_000
DEFAULT_EVENTS: Final = 20_000
INSERT_CHUNK: Final = 1_000


def _event(n: int) -> ClaimSubmitted:
    from datetime import datetime

    return ClaimSubmitted(
        claim_id=f"c-{n}", program_code="xinping-2021", item_code="brand-packaging",
        credit_code="91530427MA6K00000X", enterprise_name="新平某农业公司", period="2021Q3",
        amount_fen=246_900, eligible=True, rule_version="per_unit@1:bench", submitted_at=datetime.now(UTC),
    )


async def _fill_outbox(pool, events: int) -> None:
    clock = SystemClock()
    async with pool.acquire() as conn:
        for start in range(0, events, INSERT_CHUNK):
            async with conn.transaction():
                tx = Tx(conn, "claims", clock)
                for n in range(start, min(events, start + INSERT_CHUNK)):
                    await tx.emit(_event(n), aggregate_id=f"c-{n}")


async def measure_relay(nats_url: str, admin_dsn: str, events: int) -> dict:
    db = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(admin_dsn, db)
    ns = Namespace(f"b{uuid.uuid4().hex[:6]}")
    try:
        await migrate(dsn, "claims", None)
        pool = await create_pool(dsn, "claims", max_size=4)
        await _fill_outbox(pool, events)
        relay = OutboxRelay(pool, nats_url, producer="claims", namespace=ns, batch_size=1000)
        await relay.start()
        try:
            started = time.perf_counter()
            moved = 0
            while moved < events:
                moved += await relay.relay_once()
            seconds = time.perf_counter() - started
            js = relay.nc.jetstream()
            stored = (await js.stream_info(ns.stream("claims"))).state.messages
            await js.delete_stream(ns.stream("claims"))
        finally:
            await relay.stop()
            await pool.close()
        assert stored == events, f"stream holds {stored}, expected {events}"
        return {"events": events, "seconds": seconds, "rate_per_s": events / seconds}
    finally:
        await drop_database(admin_dsn, db)


async def run(nats_url: str, dsn: str, events: int, seconds: float) -> dict:
    limits = {
        "nats_publish_ack_each": await measure_nats_publish_rate(nats_url, seconds, 1),
        "nats_publish_100_in_flight": await measure_nats_publish_rate(nats_url, seconds, 100),
        "pg_commit_1_conn": await measure_pg_commit_rate(dsn, seconds, 1),
    }
    relay = await measure_relay(nats_url, dsn, events)
    ratios = {k: relay["rate_per_s"] / v for k, v in limits.items()}
    return {"relay": relay, "limits": limits, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="outbox relay throughput vs machine limits")
    p.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each limit measurement")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    events = max(1, min(args.events, MAX_EVENTS))
    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL") or stack.enter_context(embedded_nats())
        dsn = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres())
        for url in (nats_url, dsn):
            if not is_loopback_url(url):
                raise SystemExit(f"refusing a non-loopback server: {url}")
        report = run_on_service_loop(run(nats_url, dsn, events, args.seconds))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Outbox relay: {report['relay']['events']:,} events in {report['relay']['seconds']:.2f} s")
    t.add_column("figure")
    t.add_column("per second", justify="right")
    t.add_column("relay / figure", justify="right")
    t.add_row("outbox relay (sequence + publish + mark sent)", f"{report['relay']['rate_per_s']:,.0f}", "1.00")
    for k, v in report["limits"].items():
        t.add_row(f"limit: {k}", f"{v:,.0f}", f"{report['ratios'][k]:.2f}")
    Console().print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())

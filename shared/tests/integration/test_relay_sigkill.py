"""An outbox relay process SIGKILLed in the middle of its work, then a new relay: every event
reaches the consumer exactly once and none is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from ruralfund_common.clock import SystemClock
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.messaging import Event, Messaging, OutboxRelay, Tx
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration
EVENTS = 3000

RELAY_PROCESS = textwrap.dedent("""
    import asyncio, sys
    from ruralfund_common.db.pool import create_pool
    from ruralfund_common.messaging import Namespace, OutboxRelay

    async def main(dsn, nats_url, ns):
        pool = await create_pool(dsn, "claims")
        relay = OutboxRelay(pool, nats_url, producer="claims", namespace=Namespace(ns), batch_size=100)
        await relay.start()
        while await relay.relay_once():
            pass
        await asyncio.sleep(3600)  # killed long before

    asyncio.run(main(*sys.argv[1:]))
""")


class Counted(Event):
    """A test event."""

    SUBJECT = "claims.evt.counted.v1"
    n: int


async def test_relay_sigkilled_mid_run_then_restarted_delivers_each_event_once(nats_url, database_url, namespace):
    await migrate(database_url, "claims", None)
    await migrate(database_url, "funds", None)
    producer = await create_pool(database_url, "claims")
    consumer_pool = await create_pool(database_url, "funds")
    async with consumer_pool.acquire() as c:
        await c.execute("CREATE TABLE effects (n int PRIMARY KEY, times int NOT NULL DEFAULT 1)")
    async with producer.acquire() as conn, conn.transaction():
        tx = Tx(conn, "claims", SystemClock())
        for n in range(EVENTS):
            await tx.emit(Counted(n=n), aggregate_id=str(n))

    m = Messaging(service="funds", nats_url=nats_url, namespace=namespace, clock=SystemClock())

    @m.subscribe(Counted)
    async def on_counted(tx: Tx, env) -> None:
        await tx.conn.execute("INSERT INTO effects (n) VALUES ($1) ON CONFLICT (n) DO UPDATE SET times = effects.times + 1",
                              env.data.n)

    await m.start(consumer_pool)
    relay = None
    proc = subprocess.Popen([sys.executable, "-c", RELAY_PROCESS, database_url, nats_url, namespace],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sent = lambda: _count(producer, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
        await eventually(lambda: _at_least(sent, 500), timeout=30, description="the relay process got going")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = EVENTS - await sent()
        assert left > 0, "the relay was killed before it finished (the test needs work left over)"

        relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns, batch_size=500)
        await relay.start()
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=EVENTS, timeout=60)
        assert await _count(consumer_pool, "SELECT max(times) FROM effects") == 1
        info = await relay.nc.jetstream().stream_info(m.ns.stream("claims"))
        assert info.state.messages == EVENTS, "re-sent messages were dropped by the duplicate window"
        assert await _count(producer, "SELECT count(DISTINCT seq) FROM outbox") == EVENTS
    finally:
        if proc.poll() is None:
            proc.kill()
        if relay:
            await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def _count(pool, sql) -> int:
    async with pool.acquire() as c:
        return int(await c.fetchval(sql) or 0)


async def _at_least(fn, n) -> bool:
    return await fn() >= n

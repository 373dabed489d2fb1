"""Another service, as far as a service under test can see it: its outbox in the test
database relayed to JetStream, and the stream of what the service under test emitted.

Tests feed a service real events this way (same envelope, sequence headers and dedup as
production) instead of faking the transport.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient

from ..clock import SystemClock
from ..db.migrate import migrate
from ..db.pool import create_pool
from ..messaging import Event, Namespace, OutboxRelay, Tx
from ..messaging.envelope import HEADER_MSG_ID, HEADER_PRODUCER, HEADER_SEQ
from .wait import eventually

__all__ = ["Producer", "producer", "read_events"]

MAX_READ_EVENTS = 10_000


@dataclass
class Producer:
    """Another service's outbox in the test database, relayed to JetStream."""

    name: str
    pool: asyncpg.Pool
    relay: OutboxRelay

    async def emit(self, event: Event, aggregate_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            envelope = await Tx(conn, self.name, SystemClock()).emit(event, aggregate_id=aggregate_id)
        self.relay.notify()
        return envelope

    async def republish(self, envelope_id: str) -> None:
        """The same stored message again under a new Nats-Msg-Id (JetStream dedup bypassed):
        what a redelivery or a producer re-publish looks like to the consumer."""

        async def sent() -> asyncpg.Record | None:
            async with self.pool.acquire() as conn:
                return await conn.fetchrow(
                    "SELECT id, subject, seq, envelope::text AS envelope FROM outbox WHERE id = $1 AND sent_at IS NOT NULL",
                    envelope_id,
                )

        row = await eventually(sent, description=f"{self.name} outbox row {envelope_id} relayed")
        subject, data = self.relay.ns.subject(row["subject"]), row["envelope"].encode()
        await self.relay.nc.jetstream().publish(subject, data, headers=self.relay.signing_key.sign(
            subject, data,
            {HEADER_MSG_ID: f"again-{row['id']}", HEADER_SEQ: str(row["seq"]), HEADER_PRODUCER: self.name}))


@asynccontextmanager
async def producer(name: str, database_url: str, nats_url: str, namespace: str) -> AsyncIterator[Producer]:
    await migrate(database_url, name, None)
    pool = await create_pool(database_url, name)
    relay = OutboxRelay(pool, nats_url, producer=name, namespace=Namespace(namespace), poll_seconds=0.05)
    await relay.start()
    try:
        yield Producer(name, pool, relay)
    finally:
        await relay.stop()
        await pool.close()


async def read_events(nc: NatsClient, namespace: str, subject: str, *, timeout: float = 0.5) -> list[dict[str, Any]]:
    """Every envelope stored so far on ``subject`` (logical name), oldest first."""
    ns = Namespace(namespace)
    js = nc.jetstream()
    sub = await js.pull_subscribe(ns.subject(subject), stream=ns.stream(subject.split(".", 1)[0]))
    out: list[dict[str, Any]] = []
    try:
        while len(out) < MAX_READ_EVENTS:
            try:
                msgs = await sub.fetch(100, timeout=timeout)
            except Exception:  # nothing more within the timeout
                break
            for m in msgs:
                out.append(json.loads(m.data))
                await m.ack()
    finally:
        await sub.unsubscribe()
    return out

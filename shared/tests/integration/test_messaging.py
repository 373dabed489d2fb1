"""Outbox, inbox, dead letters and gap repair against real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from ruralfund_common.clock import SystemClock
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.errors import DomainError
from ruralfund_common.messaging import Event, Messaging, OutboxRelay, Tx
from ruralfund_common.messaging.envelope import (
    HEADER_MSG_ID,
    HEADER_PRODUCER,
    HEADER_SEQ,
    encode,
    make_envelope,
)
from ruralfund_common.messaging.signing import DEV_OPERATOR, SigningKey
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

TEST_TABLE = """CREATE TABLE IF NOT EXISTS effects (
    n int PRIMARY KEY, handled_count int NOT NULL DEFAULT 1, handled_order serial)"""


class ThingHappened(Event):
    """A test event."""

    SUBJECT = "claims.evt.thing_happened.v1"
    n: int
    poison: bool = False


async def _schema(dsn: str, schema: str) -> asyncpg.Pool:
    await migrate(dsn, schema, None)
    pool = await create_pool(dsn, schema)
    async with pool.acquire() as c:
        await c.execute(TEST_TABLE)
    return pool


async def _emit(pool: asyncpg.Pool, ns: int, count: int, start: int = 1) -> None:
    clock = SystemClock()
    async with pool.acquire() as conn, conn.transaction():
        for n in range(start, start + count):
            tx = Tx(conn, "claims", clock)
            await tx.emit(ThingHappened(n=n), aggregate_id=f"thing-{n}")


def _consumer(nats_url: str, namespace: str, *, fail_first: set[int] | None = None,
              tail_check_seconds: float = 30.0) -> Messaging:
    m = Messaging(service="funds", nats_url=nats_url, namespace=namespace, clock=SystemClock(), max_deliver=5,
                  tail_check_seconds=tail_check_seconds)
    failed: set[int] = set()

    @m.subscribe(ThingHappened)
    async def on_thing(tx: Tx, env) -> None:
        if env.data.poison:
            raise DomainError("THING_REFUSED", "this thing cannot be applied")
        if fail_first and env.data.n in fail_first and env.data.n not in failed:
            failed.add(env.data.n)
            raise ConnectionError("simulated transient failure")
        await tx.conn.execute(
            "INSERT INTO effects (n) VALUES ($1) ON CONFLICT (n) DO UPDATE SET handled_count = effects.handled_count + 1",
            env.data.n,
        )

    return m


async def _count(pool: asyncpg.Pool, sql: str, *args) -> int:
    async with pool.acquire() as c:
        return int(await c.fetchval(sql, *args))


async def _stream_msgs(nc, stream: str) -> int:
    info = await nc.jetstream().stream_info(stream)
    return info.state.messages


class RelayKilled(Exception):
    pass


class CrashingRelay(OutboxRelay):
    """Publishes part of a batch and then dies before marking anything sent."""

    crash_after = 0

    async def _publish_rows(self, rows, *, republish):
        if self.crash_after and not republish:
            await super()._publish_rows(rows[: self.crash_after], republish=False)
            raise RelayKilled("relay killed mid-batch")
        await super()._publish_rows(rows, republish=republish)


async def test_relay_killed_mid_batch_then_restarted_delivers_every_event_once(nats_url, database_url, namespace):
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    await _emit(producer, 0, 300)
    m = _consumer(nats_url, namespace)
    await m.start(consumer_pool)
    crashing = CrashingRelay(producer, nats_url, producer="claims", namespace=m.ns, batch_size=200)
    crashing.crash_after = 120
    await crashing.start()
    try:
        with pytest.raises(RelayKilled):
            await crashing.relay_once()
    finally:
        await crashing.stop()
    assert await _count(producer, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") == 0
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns, batch_size=200)
    await relay.start()
    try:
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=300, timeout=20)
        assert await _count(consumer_pool, "SELECT max(handled_count) FROM effects") == 1
        assert await _count(producer, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        # JetStream's duplicate window dropped the 120 re-sent messages
        assert await _stream_msgs(relay.nc, m.ns.stream("claims")) == 300
        seqs = await _count(producer, "SELECT count(DISTINCT seq) FROM outbox WHERE seq BETWEEN 1 AND 300")
        assert seqs == 300
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_redelivered_and_duplicated_messages_change_state_once(nats_url, database_url, namespace):
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace, fail_first={2})
    await m.start(consumer_pool)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    try:
        await _emit(producer, 0, 3)
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=3)
        # the same envelopes published again under new NATS ids (bypassing JetStream dedup)
        async with producer.acquire() as c:
            rows = await c.fetch("SELECT id, seq, envelope FROM outbox ORDER BY seq")
        js = relay.nc.jetstream()
        subject = m.ns.subject(ThingHappened.SUBJECT)
        for r in rows:
            data = encode(r["envelope"])
            await js.publish(subject, data, headers=relay.signing_key.sign(subject, data, {
                HEADER_MSG_ID: f"again-{r['id']}", HEADER_SEQ: str(r["seq"]), HEADER_PRODUCER: "claims"}))
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM inbox"), expect=3)
        await eventually(lambda: _stream_msgs(relay.nc, m.ns.stream("claims")), expect=6)
        await asyncio.sleep(0)  # let nothing slip: we now check the consumer caught up
        await eventually(lambda: _consumer_pending(relay.nc, m), expect=0)
        assert await _count(consumer_pool, "SELECT max(handled_count) FROM effects") == 1
        assert await _count(consumer_pool, "SELECT count(*) FROM effects") == 3
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def _consumer_pending(nc, m: Messaging) -> int:
    info = await nc.jetstream().consumer_info(m.ns.stream("claims"), m.ns.durable("funds__on_thing"))
    return info.num_pending + info.num_ack_pending


async def test_poison_messages_go_to_dead_letter_with_reason_and_consumer_keeps_going(nats_url, database_url, namespace):
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace)
    await m.start(consumer_pool)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    try:
        js = relay.nc.jetstream()
        subject = m.ns.subject(ThingHappened.SUBJECT)
        sign = relay.signing_key.sign  # signed by the rightful producer, yet malformed
        await js.publish(subject, b"{not json", headers=sign(subject, b"{not json", {HEADER_MSG_ID: "garbage-1"}))
        bad = make_envelope(ThingHappened(n=1), source="claims", aggregate_id="x", time=SystemClock().now())
        bad["data"] = {"n": "not a number"}
        await js.publish(subject, encode(bad), headers=sign(subject, encode(bad), {HEADER_MSG_ID: "bad-contract"}))
        async with producer.acquire() as conn:
            async with conn.transaction():
                await Tx(conn, "claims", SystemClock()).emit(ThingHappened(n=7, poison=True), aggregate_id="t7")
        await _emit(producer, 0, 1, start=8)
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects WHERE n = 8"), expect=1)
        sub = await js.pull_subscribe(m.ns.subject("dlq.>"), stream=m.ns.dlq_stream)
        msgs = await sub.fetch(3, timeout=5)
        reasons = sorted(msg.headers["Ruralfund-Dlq-Reason"].split(":")[0] for msg in msgs)
        assert reasons == ["INVALID_CONTRACT", "INVALID_JSON", "THING_REFUSED"]
        assert all(msg.subject == m.ns.subject("dlq.funds." + ThingHappened.SUBJECT) for msg in msgs)
        assert await _count(consumer_pool, "SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") == 3
        assert await _count(consumer_pool, "SELECT count(*) FROM effects WHERE n = 7") == 0
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_lost_message_is_detected_by_sequence_gap_and_republished(nats_url, database_url, namespace):
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    try:
        await _emit(producer, 0, 3)
        while await relay.relay_once():
            pass
        # Simulate JetStream losing the acknowledged message with producer seq 2.
        js = relay.nc.jetstream()
        stream = m.ns.stream("claims")
        for i in range(1, 4):
            msg = await js.get_msg(stream, i)
            if msg.headers and msg.headers.get(HEADER_SEQ) == "2":
                await js.delete_msg(stream, i)
        assert await _stream_msgs(relay.nc, stream) == 2
        await m.start(consumer_pool)
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=3, timeout=20)
        order = await _orders(consumer_pool)
        assert order == [1, 2, 3], "events must be applied in producer order even after repair"
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_a_lost_tail_is_repaired_without_a_later_message(nats_url, database_url, namespace):
    """JetStream loses the LAST messages of a subject and the producer stays quiet: no later
    message shows a gap, so the idle consumer asks the producer for its high-water mark."""
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace, tail_check_seconds=0.5)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    try:
        await _emit(producer, 0, 3)
        while await relay.relay_once():
            pass
        await m.start(consumer_pool)
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=3, timeout=20)
        await _emit(producer, 0, 2, start=4)
        await m.stop()  # the consumer is down while the tail is published, then lost
        m = _consumer(nats_url, namespace, tail_check_seconds=0.5)
        while await relay.relay_once():
            pass
        await relay.nc.jetstream().purge_stream(m.ns.stream("claims"))
        await m.start(consumer_pool)
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=5, timeout=20)
        assert await _orders(consumer_pool) == [1, 2, 3, 4, 5]
        assert await _count(consumer_pool, "SELECT max(handled_count) FROM effects") == 1
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_a_consumer_outlives_errors_outside_its_handler(nats_url, database_url, namespace):
    """Errors where no handler runs (here the idle tail check, which read the cursor while
    PostgreSQL was restarting) ended the consumer's loop for good: the durable kept its
    messages and nothing pulled them (`make chaos`, PostgreSQL restarts). The loop is restarted."""
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace, tail_check_seconds=0.2)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    await m.start(consumer_pool)
    [processor] = m._processors.values()
    checks = {"failed": 0}

    async def database_down() -> bool:
        checks["failed"] += 1
        raise ConnectionRefusedError(111, "Connection refused")  # what asyncpg raised

    processor.check_tail = database_down  # type: ignore[method-assign]
    try:
        await eventually(lambda: checks["failed"] >= 2, timeout=20)  # it died after the first
        await _emit(producer, 0, 2)
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=2, timeout=20)
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def _orders(pool) -> list[int]:
    async with pool.acquire() as c:
        return [r["n"] for r in await c.fetch("SELECT n FROM effects ORDER BY handled_order")]


async def test_consumer_comes_back_after_its_durable_is_deleted(nats_url, database_url, namespace):
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace)
    await m.start(consumer_pool)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    try:
        await _emit(producer, 0, 2)
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=2)
        # an operator deletes the durable (e.g. to reset it): the service must recover by itself
        await relay.nc.jetstream().delete_consumer(m.ns.stream("claims"), m.ns.durable("funds__on_thing"))
        await _emit(producer, 0, 2, start=3)
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects"), expect=4, timeout=20)
        assert await _count(consumer_pool, "SELECT max(handled_count) FROM effects") == 1
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_a_redriven_dead_letter_is_applied_outside_the_sequence_check(nats_url, database_url, namespace):
    """After its cause is fixed, a dead letter published again as the producer signed it (same
    sequence, now behind the cursor) and marked redriven is applied, once."""
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = Messaging(service="funds", nats_url=nats_url, namespace=namespace, clock=SystemClock(), max_deliver=5)
    refused = {7}

    @m.subscribe(ThingHappened)
    async def on_thing(tx: Tx, env) -> None:
        if env.data.n in refused:
            raise DomainError("THING_REFUSED", "not yet")
        await tx.conn.execute("INSERT INTO effects (n) VALUES ($1)", env.data.n)

    await m.start(consumer_pool)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    try:
        await _emit(producer, 0, 2, start=7)
        while await relay.relay_once():
            pass
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects WHERE n = 8"), expect=1)
        js = relay.nc.jetstream()
        sub = await js.pull_subscribe(m.ns.subject("dlq.>"), stream=m.ns.dlq_stream)
        [letter] = await sub.fetch(1, timeout=5)
        assert letter.headers["Ruralfund-Dlq-Reason"].startswith("THING_REFUSED")
        assert letter.headers["Ruralfund-Seq"] == "1" and "Ruralfund-Signature" in letter.headers
        refused.clear()  # the cause is fixed
        envelope_id = json.loads(letter.data)["id"]
        async with consumer_pool.acquire() as c:  # the runbook's first step
            await c.execute("DELETE FROM inbox WHERE message_id = $1", envelope_id)
        # what `deploy dlq-redrive` publishes once the duplicate window has passed (here a fresh
        # Nats-Msg-Id stands in for the wait, so the test signs it again as the producer)
        headers = {k: v for k, v in letter.headers.items() if not k.startswith("Ruralfund-Dlq-")}
        headers.update({HEADER_MSG_ID: f"{envelope_id}:forged", "Ruralfund-Redriven-From": "DLQ:1"})
        subject = m.ns.subject(ThingHappened.SUBJECT)
        # a redrive mark the operator did not sign: anyone able to publish could replay a signed
        # message out of sequence order with it; it is dead-lettered, nothing applied
        await js.publish(subject, letter.data, headers=relay.signing_key.sign(subject, letter.data, headers),
                         stream=m.ns.stream("claims"))
        [forged] = await sub.fetch(1, timeout=5)
        assert forged.headers["Ruralfund-Dlq-Reason"].startswith("UNSIGNED_REDRIVE"), forged.headers
        assert await _count(consumer_pool, "SELECT count(*) FROM effects WHERE n = 7") == 0
        headers[HEADER_MSG_ID] = f"{envelope_id}:redrive"
        signed = SigningKey.dev(DEV_OPERATOR).sign_redrive(
            subject, letter.data, relay.signing_key.sign(subject, letter.data, headers))
        await js.publish(subject, letter.data, headers=signed, stream=m.ns.stream("claims"))
        await eventually(lambda: _count(consumer_pool, "SELECT count(*) FROM effects WHERE n = 7"), expect=1)
        assert await _count(consumer_pool, "SELECT last_seq FROM inbox_cursor") == 2
        # without the redrive mark the same sequence is behind the cursor: a duplicate, ignored
        async with consumer_pool.acquire() as c:
            await c.execute("DELETE FROM inbox WHERE message_id = $1", envelope_id)
            await c.execute("DELETE FROM effects WHERE n = 7")
        del headers["Ruralfund-Redriven-From"]
        headers[HEADER_MSG_ID] = f"{envelope_id}:again"
        await js.publish(subject, letter.data, headers=relay.signing_key.sign(subject, letter.data, headers),
                         stream=m.ns.stream("claims"))
        await eventually(lambda: _consumer_pending(relay.nc, m), expect=0)
        assert await _count(consumer_pool, "SELECT count(*) FROM effects WHERE n = 7") == 0
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()

"""Events are CloudEvents 1.0 that the official SDK (PyPI ``cloudevents``) parses and validates,
judged on the messages the outbox relay really publishes on real NATS JetStream; a message in
the earlier form (``correlation_id``) is still consumed during the deprecation window."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import nats
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1.http import from_http as legacy_from_http
from cloudevents.v1.pydantic.v2 import from_http as pydantic_from_http
from ruralfund_common.clock import SystemClock
from ruralfund_common.contracts import ObjectionResolved
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.messaging import Messaging, OutboxRelay, Tx
from ruralfund_common.messaging.envelope import HEADER_MSG_ID, HEADER_PRODUCER, HEADER_SEQ, encode
from ruralfund_common.messaging.signing import SignatureRejected, SigningKey, TrustedKeys
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

SEEN = "CREATE TABLE IF NOT EXISTS seen (objection_id text PRIMARY KEY, correlation_id text, causation_id text)"
RESOLVED = ObjectionResolved(
    objection_id="obj-1", notice_id="notice-1", award_id="award-1", claim_id="claim-1",
    program_code="xinping-2021", outcome="dismissed", reason="材料齐全，异议不成立", resolved_by="admin-1",
    resolved_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
)


async def _pool(dsn: str, schema: str) -> asyncpg.Pool:
    await migrate(dsn, schema, None)
    pool = await create_pool(dsn, schema)
    async with pool.acquire() as c:
        await c.execute(SEEN)
    return pool


def _consumer(nats_url: str, namespace: str) -> Messaging:
    m = Messaging(service="funds", nats_url=nats_url, namespace=namespace, clock=SystemClock(), max_deliver=3)

    @m.subscribe(ObjectionResolved)
    async def on_resolved(tx: Tx, env) -> None:
        await tx.conn.execute("INSERT INTO seen VALUES ($1, $2, $3)", env.data.objection_id,
                              tx.correlation_id, env.causationid)

    return m


async def test_relay_publishes_cloudevents_the_official_sdk_parses_and_validates(nats_url, database_url, namespace):
    producer = await _pool(database_url, "notify")
    m = _consumer(nats_url, namespace)
    relay = OutboxRelay(producer, nats_url, producer="notify", namespace=m.ns)
    await relay.start()
    captured: dict[str, nats.aio.msg.Msg] = {}  # by Nats-Msg-Id: JetStream drops re-sends, a plain subscriber not

    async def capture(msg) -> None:
        captured.setdefault(msg.headers[HEADER_MSG_ID], msg)

    sub = await relay.nc.subscribe(m.ns.subject(ObjectionResolved.SUBJECT), cb=capture)
    try:
        async with producer.acquire() as conn, conn.transaction():
            tx = Tx(conn, "notify", SystemClock(), "req-42", "cause-7")
            await tx.emit(RESOLVED, aggregate_id="obj-1")
            await Tx(conn, "notify", SystemClock(), "req-43").emit(RESOLVED, aggregate_id="obj-2")
        relay.notify()
        await eventually(lambda: len(captured), expect=2, description="both events on NATS")
    finally:
        await sub.unsubscribe()
        await relay.stop()
        await producer.close()

    in_order = sorted(captured.values(), key=lambda msg: json.loads(msg.data)["subject"])
    for msg, correlation, causation in zip(in_order, ("req-42", "req-43"), ("cause-7", None), strict=True):
        headers = dict(msg.headers or {})
        assert headers["content-type"] == "application/cloudevents+json; charset=utf-8"
        # the 2.x core API: from_http picks structured mode (no ce-* headers) and validates
        event = from_http(HTTPMessage(headers=headers, body=msg.data), JSONFormat(), CloudEvent)
        assert event.get_specversion() == "1.0" and event.get_type() == ObjectionResolved.SUBJECT
        assert event.get_source() == "ruralfund/notify" and event.get_id() == headers[HEADER_MSG_ID]
        assert event.get_extension("correlationid") == correlation
        assert event.get_extension("causationid") == causation
        assert event.get_dataschema() == f"/event-schemas/{ObjectionResolved.SUBJECT}.json"
        assert event.get_data()["reason"] == "材料齐全，异议不成立"
        # the 1.x-compatible and pydantic APIs validate the same message
        legacy = legacy_from_http(headers, msg.data)
        assert legacy["correlationid"] == correlation and legacy["datacontenttype"] == "application/json"
        assert pydantic_from_http(headers, msg.data).subject in {"obj-1", "obj-2"}
        # the signature covers every attribute: a changed correlation id no longer verifies
        trusted = TrustedKeys.dev()
        trusted.verify(msg.subject, ObjectionResolved.SUBJECT, msg.data, headers)
        forged = msg.data.replace(correlation.encode(), b"req-99")
        with pytest.raises(SignatureRejected):
            trusted.verify(msg.subject, ObjectionResolved.SUBJECT, forged, headers)


async def test_an_old_form_message_is_still_consumed_and_its_correlation_carried(nats_url, database_url, namespace):
    """Producers before the CloudEvents names wrote correlation_id / causation_id: such a message
    (still in a stream, an outbox kept for re-publish, or a dead letter) must apply."""
    consumer_pool = await _pool(database_url, "funds")
    m = _consumer(nats_url, namespace)
    await m.start(consumer_pool)
    nc = await nats.connect(nats_url)
    try:
        old = {
            "specversion": "1.0", "id": "0190f000-0000-7000-8000-0000000000a1", "type": ObjectionResolved.SUBJECT,
            "source": "ruralfund/notify", "time": "2026-03-02T02:00:00Z", "subject": "obj-1",
            "correlation_id": "old-corr-1", "causation_id": "old-cause-1", "datacontenttype": "application/json",
            "data": RESOLVED.model_dump(mode="json"),
        }
        subject, data = m.ns.subject(ObjectionResolved.SUBJECT), encode(old)
        headers = SigningKey.dev("notify").sign(subject, data, {
            HEADER_MSG_ID: old["id"], HEADER_SEQ: "1", HEADER_PRODUCER: "notify"})
        await nc.jetstream().publish(subject, data, headers=headers, stream=m.ns.stream("notify"))
        row = await eventually(lambda: _seen(consumer_pool), description="the old-form event applied")
        assert tuple(row) == ("obj-1", "old-corr-1", "old-cause-1")
    finally:
        await nc.close()
        await m.stop()
        await consumer_pool.close()


async def _seen(pool: asyncpg.Pool):
    async with pool.acquire() as c:
        return await c.fetchrow("SELECT objection_id, correlation_id, causation_id FROM seen")


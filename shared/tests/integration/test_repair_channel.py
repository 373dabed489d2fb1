"""The repair channel (_rf.republish.<owner>) on real NATS and PostgreSQL: only the owner's
signed, fresh answer to this very request moves anything, and only its statement that
sequences were pruned for good lets a consumer skip them (recorded in inbox_gaps).

An outsider on NATS subscribes to the owner's channel and answers the consumer's idle tail
check and re-publish request with forged figures (``high_water_seq`` 1,000,000; nothing
re-published, everything pruned), in each bad form: unsigned, signed by an untrusted key or a
wrong key under the owner's key id, by a trusted key of another owner (wrong scope), a
genuinely signed answer to another request (replay) and one stamped long ago (stale). Before the
channel was signed, funds moved its cursor to 1,000,000 on the first of these.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from ruralfund_common.messaging import OutboxRelay, inbox
from ruralfund_common.messaging.envelope import HEADER_SEQ
from ruralfund_common.messaging.signing import SigningKey, signed_bytes
from ruralfund_common.messaging.subjects import Namespace
from ruralfund_common.testing.infra import connect_nats
from ruralfund_common.testing.wait import eventually

from .test_messaging import ThingHappened, _consumer, _count, _emit, _orders, _schema

pytestmark = pytest.mark.integration

SUBJECT = ThingHappened.SUBJECT
CONSUMER = "funds__on_thing"
FORGED_HIGH_WATER = 1_000_000
# the version label of repair-answer signatures (a test-side copy: forged answers are built by
# hand, as an attacker would)
REPAIR_LABEL = b"ruralfund-repair-answer-v1"

Forge = Callable[[dict[str, Any], str], tuple[bytes, dict[str, str]]]


def _body(req: dict[str, Any], *, nonce: str | None = None, answered_at_ms: int | None = None) -> bytes:
    """A forged answer with both the old fields (what main trusted) and the new ones."""
    body = {"v": 1, "kind": "high_water" if req.get("high_water") else "republish", "owner": "claims",
            "subject": req.get("subject"), "nonce": req.get("nonce") if nonce is None else nonce,
            "answered_at_ms": int(time.time() * 1000) if answered_at_ms is None else answered_at_ms,
            "high_water_seq": FORGED_HIGH_WATER, "pruned_below_seq": FORGED_HIGH_WATER + 1,
            "republished": 0, "oldest_seq": None, "from_seq": req.get("from_seq"), "to_seq": req.get("to_seq")}
    return json.dumps(body).encode()


def _signed(key: SigningKey, channel: str, body: bytes, key_id: str | None = None) -> dict[str, str]:
    kid = key_id or key.key_id
    sig = key.private.sign(signed_bytes(kid, channel, "", "", body, version=REPAIR_LABEL))
    import base64

    return {"Ruralfund-Key-Id": kid, "Ruralfund-Signature": base64.urlsafe_b64encode(sig).rstrip(b"=").decode()}


def _unsigned(req: dict[str, Any], channel: str) -> tuple[bytes, dict[str, str]]:
    return _body(req), {}


def _untrusted_key(req: dict[str, Any], channel: str) -> tuple[bytes, dict[str, str]]:
    body = _body(req)
    return body, _signed(SigningKey.generate("attacker-1"), channel, body)


def _wrong_key_under_owner_id(req: dict[str, Any], channel: str) -> tuple[bytes, dict[str, str]]:
    body = _body(req)
    return body, _signed(SigningKey.generate("x"), channel, body, key_id="dev-claims")


def _other_owners_key(req: dict[str, Any], channel: str) -> tuple[bytes, dict[str, str]]:
    body = _body(req)  # notify's key is trusted, but only for notify.>
    return body, _signed(SigningKey.dev("notify"), channel, body)


def _replayed(req: dict[str, Any], channel: str) -> tuple[bytes, dict[str, str]]:
    body = _body(req, nonce="an-earlier-request-nonce")  # genuinely signed, for another request
    return body, _signed(SigningKey.dev("claims"), channel, body)


def _stale(req: dict[str, Any], channel: str) -> tuple[bytes, dict[str, str]]:
    body = _body(req, answered_at_ms=int((time.time() - 600) * 1000))
    return body, _signed(SigningKey.dev("claims"), channel, body)


@asynccontextmanager
async def outsider(nats_url: str, channel: str, forge: Forge) -> AsyncIterator[list[dict[str, Any]]]:
    """Another NATS connection answering every request on ``channel`` with ``forge``."""
    asked: list[dict[str, Any]] = []
    nc = await connect_nats(nats_url)

    async def answer(msg: Any) -> None:
        req = json.loads(msg.data)
        asked.append(req)
        body, headers = forge(req, channel)
        await nc.publish(msg.reply, body, headers=headers or None)

    await nc.subscribe(channel, cb=answer)
    await nc.flush()
    try:
        yield asked
    finally:
        await nc.close()


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("ruralfund_repair_answers_rejected_total",
                                     {"service": "funds", "subject": SUBJECT, "reason": reason}) or 0.0


async def _cursor(pool: asyncpg.Pool) -> int:
    return await _count(pool, "SELECT coalesce(max(last_seq), 0) FROM inbox_cursor WHERE subject = $1", SUBJECT)


@pytest.mark.parametrize(("forge", "reason"), [
    (_unsigned, "UNSIGNED"),
    (_untrusted_key, "UNKNOWN_SIGNING_KEY"),
    (_wrong_key_under_owner_id, "BAD_SIGNATURE"),
    (_other_owners_key, "WRONG_SIGNER"),
    (_replayed, "NONCE_MISMATCH"),
    (_stale, "STALE"),
])
async def test_a_bad_answer_on_the_repair_channel_moves_nothing(nats_url, database_url, namespace, forge, reason,
                                                                monkeypatch):
    # a loaded machine must not turn a late (forged) answer into "no answer"
    monkeypatch.setattr(inbox, "REPUBLISH_REQUEST_TIMEOUT", 3.0)
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace, tail_check_seconds=3600)  # the test runs the tail check
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    await _emit(producer, 0, 2)
    while await relay.relay_once():
        pass
    await _all_sent(producer)
    await relay.stop()  # the owner is away: only the outsider answers
    await m.start(consumer_pool)
    try:
        await eventually(lambda: _cursor(consumer_pool), expect=2)
        before = _rejected(reason)
        channel = Namespace(namespace).republish_subject("claims")
        processor = m._processors[CONSUMER]
        async with outsider(nats_url, channel, forge) as asked:
            await processor.check_tail()  # the idle tail check
            assert await _cursor(consumer_pool) == 2
            await processor._request_republish("claims", FORGED_HIGH_WATER + 1)  # as on a gap
        assert [bool(a.get("high_water")) for a in asked] == [True, False], "the outsider answered both"
        assert await _cursor(consumer_pool) == 2
        assert await _count(consumer_pool, "SELECT count(*) FROM inbox_gaps") == 0
        assert _rejected(reason) == before + 2
    finally:
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_only_a_signed_prune_statement_skips_sequences_and_the_gap_is_recorded(
        nats_url, database_url, namespace):
    """Messages 3 and 4 are lost in JetStream AND pruned from the owner's outbox: the owner's
    signed answer says so, the consumer skips exactly 3..4 and records the gap."""
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns, retention_days=30)
    await relay.start()
    try:
        await _emit(producer, 0, 5)
        while await relay.relay_once():
            pass
        js = relay.nc.jetstream()
        stream = m.ns.stream("claims")
        await _all_sent(producer)
        for i in range(1, 6):
            msg = await js.get_msg(stream, i)
            if msg.headers and msg.headers.get(HEADER_SEQ) in ("3", "4"):
                await js.delete_msg(stream, i)
        pruned = 0

        async def prune_1_to_4() -> int:
            # 1..4 are past retention; 5 is not. Ages again until all four are gone: under load
            # the relay's own loop may mark a row it also published after this ageing (ci: 0 == 4)
            nonlocal pruned
            async with producer.acquire() as c:
                await c.execute("UPDATE outbox SET sent_at = now() - interval '40 days' WHERE seq <= 4")
            pruned += await relay.prune()
            return pruned

        await eventually(prune_1_to_4, expect=4)
        await m.start(consumer_pool)
        await eventually(lambda: _orders(consumer_pool), expect=[1, 2, 5], timeout=20)
        async with consumer_pool.acquire() as c:
            gaps = await c.fetch("SELECT consumer, subject, owner, from_seq, to_seq, pruned_below_seq, signed_by, "
                                 "answer FROM inbox_gaps")
        assert [(g["from_seq"], g["to_seq"], g["pruned_below_seq"], g["signed_by"]) for g in gaps] == \
            [(3, 4, 5, "dev-claims")]
        assert json.loads(gaps[0]["answer"])["pruned_below_seq"] == 5
        assert REGISTRY.get_sample_value("ruralfund_sequence_gap_messages_total",
                                         {"service": "funds", "subject": SUBJECT}) >= 2
        await m._sample_open_gaps()  # what the lag sampler does every 15 s
        assert REGISTRY.get_sample_value("ruralfund_sequence_gaps_open",
                                         {"service": "funds", "consumer": CONSUMER, "subject": SUBJECT}) == 1
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def test_prune_deletes_only_a_prefix_per_subject_and_records_its_mark(nats_url, database_url, namespace):
    producer = await _schema(database_url, "claims")
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=Namespace(namespace), retention_days=30)
    await relay.start()
    try:
        await _emit(producer, 0, 5)
        await _all_sent(producer)
        async with producer.acquire() as c:  # 3 was (re)sent recently: 4 and 5 stay behind it
            await c.execute("UPDATE outbox SET sent_at = now() - interval '40 days' WHERE seq <> 3")
            assert await relay.prune() == 2
            kept = [r["seq"] for r in await c.fetch("SELECT seq FROM outbox ORDER BY seq")]
            mark = await c.fetchval("SELECT pruned_below_seq FROM outbox_pruned WHERE subject = $1", SUBJECT)
        assert kept == [3, 4, 5]
        assert mark == 3
    finally:
        await relay.stop()
        await producer.close()


async def test_an_unresolved_gap_never_moves_the_cursor_and_heals_when_the_owner_returns(
        nats_url, database_url, namespace):
    """The owner is down while message 3 is missing: message 4 is retried until max_deliver and
    parked, but the cursor stays at 2 (it used to jump to 4 and drop 3 for good); when the owner
    is back, the idle tail check brings 3 and 4 again."""
    producer = await _schema(database_url, "claims")
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace, tail_check_seconds=0.5)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    await relay.start()
    await _emit(producer, 0, 4)
    while await relay.relay_once():
        pass
    await _all_sent(producer)
    js = relay.nc.jetstream()
    stream = m.ns.stream("claims")
    for i in range(1, 5):
        msg = await js.get_msg(stream, i)
        if msg.headers and msg.headers.get(HEADER_SEQ) == "3":
            await js.delete_msg(stream, i)
    await relay.stop()
    await m.start(consumer_pool)
    relay = OutboxRelay(producer, nats_url, producer="claims", namespace=m.ns)
    try:
        dlq = m.ns.dlq_stream
        await eventually(lambda: _stream_count(m, dlq), expect=1, timeout=30)
        assert await _cursor(consumer_pool) == 2
        await relay.start()
        await eventually(lambda: _orders(consumer_pool), expect=[1, 2, 3, 4], timeout=20)
        assert await _count(consumer_pool, "SELECT count(*) FROM inbox_gaps") == 0
    finally:
        await relay.stop()
        await m.stop()
        await producer.close()
        await consumer_pool.close()


async def _all_sent(producer: asyncpg.Pool) -> None:
    """The relay's own loop may still be marking a batch it published: wait for its commit."""
    await eventually(lambda: _count(producer, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"), expect=0)


async def _stream_count(m: Any, stream: str) -> int:
    try:
        return (await m._nc.jetstream().stream_info(stream)).state.messages
    except Exception:  # noqa: BLE001 - not created yet
        return -1


async def test_the_servers_no_responders_status_is_not_counted_as_a_forged_answer(
        nats_url, database_url, namespace, monkeypatch):
    """Owner down, nobody on the channel: NATS itself answers "503 no responders". That is
    neither an answer nor an attack (it was counted as an UNSIGNED answer)."""
    monkeypatch.setattr(inbox, "REPUBLISH_REQUEST_TIMEOUT", 1.0)
    consumer_pool = await _schema(database_url, "funds")
    m = _consumer(nats_url, namespace, tail_check_seconds=3600)
    await m.start(consumer_pool)
    try:
        before = {r: _rejected(r) for r in ("UNSIGNED", "WRONG_ANSWER")}
        assert await m._processors[CONSUMER].check_tail() is False
        assert {r: _rejected(r) for r in before} == before
    finally:
        await m.stop()
        await consumer_pool.close()

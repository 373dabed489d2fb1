"""The generated NATS authorization, enforced by a real nats-server.

Shows what each service may and may not do with its own user, and that the project's real
messaging stack (outbox relay, consumer, re-publish on a sequence gap, dead letters) works
under exactly those permissions. A denied publish is dropped by the server with a
"Permissions Violation" error to the client, so a JetStream publish gets no PubAck.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig
from ruralfund_common.clock import SystemClock
from ruralfund_common.db.migrate import migrate
from ruralfund_common.db.pool import create_pool
from ruralfund_common.errors import DomainError
from ruralfund_common.messaging import Event, Messaging, OutboxRelay, Tx
from ruralfund_common.messaging.envelope import HEADER_SEQ
from ruralfund_common.messaging.streams import ensure_stream
from ruralfund_common.messaging.subjects import Namespace
from ruralfund_common.testing.infra import connect_nats
from ruralfund_common.testing.wait import eventually

from ruralfund.natsauth import (
    CONSUMES,
    SERVICES,
    stream_name,
    subject,
    subscriber_durable,
    subscriber_inbox,
    user_name,
)

from .conftest import COUNTY, OTHER_COUNTY, SENDER, SUBSCRIBER, LockedNats

pytestmark = pytest.mark.integration

#: A denied request never gets an answer; this is how long we wait to be sure of it.
DENIED_TIMEOUT_SECONDS: Final = 0.5
OK_TIMEOUT_SECONDS: Final = 5.0


@asynccontextmanager
async def login(server: LockedNats, user: str) -> AsyncIterator[tuple[NatsClient, list[str]]]:
    """Connected as ``user``; the list collects the server's asynchronous errors."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await connect_nats(server.url_for(user), error_cb=on_error)
    try:
        yield nc, errors
    finally:
        await nc.close()


@asynccontextmanager
async def login_subscriber(server: LockedNats, namespace: str = "") -> AsyncIterator[tuple[NatsClient, list[str]]]:
    """The read-only outside subscriber, on its own inbox prefix as the example consumer does."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await connect_nats(server.url_for(user_name(namespace, SUBSCRIBER)), error_cb=on_error,
                            inbox_prefix=subscriber_inbox(SUBSCRIBER, namespace))
    try:
        yield nc, errors
    finally:
        await nc.close()


async def _streams_exist(server: LockedNats, namespace: str = "") -> None:
    """The operators' provisioning: every owner's stream and the DLQ (idempotent)."""
    ns = Namespace(namespace)
    async with login(server, "ops") as (nc, _):
        js = nc.jetstream()
        for owner in SERVICES:
            await ensure_stream(js, ns.stream(owner), ns.stream_subjects(owner))
        await ensure_stream(js, ns.dlq_stream, [ns.subject("dlq.>")])


async def _message_count(server: LockedNats, stream: str) -> int:
    async with login(server, "ops") as (nc, _):
        return (await nc.jetstream().stream_info(stream)).state.messages


def _denied(errors: list[str], what: str) -> bool:
    # nats-py lower-cases the server's "-ERR 'Permissions Violation for Publish to ...'"
    return any("permissions violation" in e.lower() and what.lower() in e.lower() for e in errors)


# --------------------------------------------------------------------------- the table is true


def test_naming_matches_the_messaging_package() -> None:
    for ns in ("", COUNTY):
        names = Namespace(ns)
        for owner in (*SERVICES, "dlq"):
            assert stream_name(ns, owner) == names.stream(owner)
        assert subject(ns, "claims.evt.x.v1") == names.subject("claims.evt.x.v1")
        assert subject(ns, "_rf.republish.funds") == names.republish_subject("funds")


def test_consumes_table_covers_what_each_service_subscribes_to() -> None:
    """A service that starts consuming another owner's events needs a new NATS grant."""
    from ruralfund_claims.entrypoints.subscribers import events as claims
    from ruralfund_funds.entrypoints.subscribers import events as funds
    from ruralfund_logistics.entrypoints.subscribers import events as logistics
    from ruralfund_notify.entrypoints.subscribers import events as notify

    routers = {"claims": claims, "funds": funds, "logistics": logistics, "notify": notify}
    for service, router in routers.items():
        owners = {model.SUBJECT.split(".", 1)[0] for model, _, _ in router.subscriptions}
        allowed = set(CONSUMES[service]) | {service}
        assert owners <= allowed, f"{service} consumes {owners - allowed}: extend CONSUMES"


# --------------------------------------------------------------------------- publishing


async def test_funds_publishes_its_own_event_into_its_stream_and_gets_a_puback(
    locked_nats: LockedNats,
) -> None:
    async with login(locked_nats, "funds") as (nc, errors):
        js = nc.jetstream(timeout=OK_TIMEOUT_SECONDS)
        await ensure_stream(js, stream_name("", "funds"), [subject("", "funds.>")])
        ack = await js.publish("funds.evt.x.v1", b"{}", stream=stream_name("", "funds"))
        assert ack.stream == "RURALFUND_FUNDS" and ack.seq >= 1
        assert errors == []


async def test_funds_cannot_publish_a_claims_event(locked_nats: LockedNats) -> None:
    await _streams_exist(locked_nats)
    before = await _message_count(locked_nats, "RURALFUND_CLAIMS")
    async with login(locked_nats, "funds") as (nc, errors):
        with pytest.raises(nats.errors.TimeoutError):  # no PubAck: the server dropped it
            await nc.jetstream().publish(
                "claims.evt.claim_approved.v1", b"{}", timeout=DENIED_TIMEOUT_SECONDS
            )
        await eventually(lambda: _denied(errors, '"claims.evt.claim_approved.v1"'))
    assert await _message_count(locked_nats, "RURALFUND_CLAIMS") == before


@pytest.mark.parametrize("namespace", ["", COUNTY])
async def test_no_service_publishes_another_owners_events_or_dead_letters(
    locked_nats: LockedNats, namespace: str
) -> None:
    await _streams_exist(locked_nats, namespace)
    ns = Namespace(namespace)
    counts = {o: await _message_count(locked_nats, ns.stream(o)) for o in (*SERVICES, "dlq")}
    for service in SERVICES:
        async with login(locked_nats, user_name(namespace, service)) as (nc, errors):
            forbidden = [ns.subject(f"{o}.evt.forged.v1") for o in SERVICES if o != service]
            forbidden += [ns.subject(f"{o}.cmd.forged.v1") for o in SERVICES]
            forbidden += [ns.dlq_subject(o, "x.evt.y.v1") for o in SERVICES if o != service]
            for target in forbidden:
                await nc.publish(target, b"{}")
            await nc.flush()
            for target in forbidden:
                await eventually(lambda t=target: _denied(errors, f'"{t}"'),
                                 description=f"{service} denied {target}")
    for owner, count in counts.items():
        assert await _message_count(locked_nats, ns.stream(owner)) == count, owner


async def test_a_county_user_cannot_reach_the_plain_deployment_or_another_county(
    locked_nats: LockedNats,
) -> None:
    """One NATS for several counties: xinping's funds is neither the plain nor ruyuan's."""
    for namespace in ("", COUNTY, OTHER_COUNTY):
        await _streams_exist(locked_nats, namespace)
    other = Namespace(OTHER_COUNTY)
    async with login(locked_nats, user_name(COUNTY, "funds")) as (nc, errors):
        js = nc.jetstream(timeout=DENIED_TIMEOUT_SECONDS)
        for target in ("funds.evt.x.v1", other.subject("funds.evt.x.v1")):
            with pytest.raises(nats.errors.TimeoutError):
                await js.publish(target, b"{}")
            await eventually(lambda t=target: _denied(errors, f'"{t}"'))
        for stream in ("RURALFUND_CLAIMS", other.stream("claims")):
            with pytest.raises(nats.errors.TimeoutError):
                await js.stream_info(stream)
        with pytest.raises(nats.errors.TimeoutError):
            await js.add_consumer(other.stream("claims"), durable_name="snoop", name="snoop",
                                  filter_subject=other.subject("claims.evt.>"))
        # ... while its own county works
        ack = await nc.jetstream(timeout=OK_TIMEOUT_SECONDS).publish(
            Namespace(COUNTY).subject("funds.evt.x.v1"), b"{}")
        assert ack.stream == Namespace(COUNTY).stream("funds")
    assert await _message_count(locked_nats, other.stream("funds")) == 0


async def test_a_command_sender_may_send_only_its_owners_commands(locked_nats: LockedNats) -> None:
    await _streams_exist(locked_nats)
    async with login(locked_nats, SENDER) as (nc, errors):
        js = nc.jetstream(timeout=OK_TIMEOUT_SECONDS)
        ack = await js.publish("logistics.cmd.record_scans.v1", b"{}")
        assert ack.stream == "RURALFUND_LOGISTICS"
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish("logistics.evt.station_registered.v1", b"{}",
                             timeout=DENIED_TIMEOUT_SECONDS)
        await eventually(lambda: _denied(errors, '"logistics.evt.station_registered.v1"'))


# --------------------------------------------------------------------------- the repair channel


@pytest.mark.parametrize("who", ["ops", "claims", "funds", "logistics", SENDER])
async def test_only_the_owner_may_listen_on_its_repair_channel(locked_nats: LockedNats, who: str) -> None:
    """Whoever listens on _rf.republish.notify can answer funds' high-water and re-publish
    requests (issue 15: an outsider's answer made funds drop a genuine objection)."""
    async with login(locked_nats, who) as (nc, errors):
        await nc.subscribe("_rf.republish.notify")
        await nc.flush()
        await eventually(lambda: any("permissions violation for subscription" in e.lower()
                                     and "_rf.republish.notify" in e for e in errors),
                         description=f"{who} denied the notify repair channel")


async def test_ops_asks_for_a_republish_and_the_owner_alone_answers(locked_nats: LockedNats) -> None:
    """``ruralfund deploy republish`` (ops) still reaches the owner; ops' own wildcard
    subscription does not even see the request."""
    async with login(locked_nats, "notify") as (owner, owner_errors), \
            login(locked_nats, "ops") as (ops, ops_errors):
        async def answer(msg: Any) -> None:
            await msg.respond(b'{"republished": 0}')

        await owner.subscribe("_rf.republish.notify", cb=answer)
        seen = await ops.subscribe(">")
        await owner.flush()
        await ops.flush()
        reply = await ops.request("_rf.republish.notify", b"{}", timeout=OK_TIMEOUT_SECONDS)
        assert reply.data == b'{"republished": 0}'
        subjects = []
        while True:
            try:
                subjects.append((await seen.next_msg(timeout=0.3)).subject)
            except nats.errors.TimeoutError:
                break
        assert "_rf.republish.notify" not in subjects
        assert owner_errors == [] and ops_errors == []


# --------------------------------------------------------------------------- consuming, admin


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_creates_durable_consumers_on_the_streams_it_reads(
    locked_nats: LockedNats, service: str
) -> None:
    await _streams_exist(locked_nats)
    async with login(locked_nats, service) as (nc, errors):
        js = nc.jetstream(timeout=OK_TIMEOUT_SECONDS)
        reads = {owner: f"{owner}.evt.some_event.v1" for owner in CONSUMES[service]}
        reads[service] = f"{service}.cmd.some_command.v1"  # its own commands
        for owner, filter_subject in reads.items():
            sub = await js.pull_subscribe(
                filter_subject, durable=f"{service}__authz_test", stream=stream_name("", owner),
                config=ConsumerConfig(max_deliver=3, ack_wait=30),
            )
            info = await js.consumer_info(stream_name("", owner), f"{service}__authz_test")
            assert info.config.filter_subject == filter_subject
            with pytest.raises(nats.errors.TimeoutError):  # allowed to pull; nothing there
                await sub.fetch(1, timeout=0.2)
        assert errors == []


@pytest.mark.parametrize(
    ("service", "stranger"), [("logistics", "funds"), ("claims", "notify"), ("funds", "logistics")]
)
async def test_a_service_cannot_read_a_stream_it_does_not_consume(
    locked_nats: LockedNats, service: str, stranger: str
) -> None:
    await _streams_exist(locked_nats)
    async with login(locked_nats, service) as (nc, errors):
        with pytest.raises(nats.errors.TimeoutError):
            await nc.jetstream(timeout=DENIED_TIMEOUT_SECONDS).add_consumer(
                stream_name("", stranger), durable_name=f"{service}__snoop",
                name=f"{service}__snoop", filter_subject=f"{stranger}.evt.>",
            )
        await eventually(lambda: _denied(errors, f"CONSUMER.CREATE.{stream_name('', stranger)}"))


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_cannot_delete_or_purge_a_stream(locked_nats: LockedNats, service: str) -> None:
    await _streams_exist(locked_nats)
    victim = stream_name("", "claims" if service != "claims" else "funds")
    async with login(locked_nats, service) as (nc, errors):
        js = nc.jetstream(timeout=DENIED_TIMEOUT_SECONDS)
        with pytest.raises(nats.errors.TimeoutError):
            await js.delete_stream(victim)
        with pytest.raises(nats.errors.TimeoutError):
            await js.purge_stream(victim)
        with pytest.raises(nats.errors.TimeoutError):  # not even its own
            await js.delete_stream(stream_name("", service))
        for verb in ("DELETE", "PURGE"):
            await eventually(lambda v=verb: _denied(errors, f"$JS.API.STREAM.{v}.{victim}"))
    async with login(locked_nats, "ops") as (nc, _):
        assert (await nc.jetstream().stream_info(victim)).config.name == victim


# --------------------------------------------------------------------------- the real stack


class ThingHappened(Event):
    """A test event owned by claims."""

    SUBJECT = "claims.evt.authz_thing_happened.v1"
    n: int
    poison: bool = False


async def _pool(database_url: str, schema: str) -> asyncpg.Pool:
    await migrate(database_url, schema, None)
    pool = await create_pool(database_url, schema)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS effects (n int PRIMARY KEY, "
                           "handled_order serial)")
    return pool


async def _emit(pool: asyncpg.Pool, things: list[ThingHappened]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for thing in things:
            await Tx(conn, "claims", SystemClock()).emit(thing, aggregate_id=f"t{thing.n}")


def _funds_consumer(url: str) -> Messaging:
    m = Messaging(service="funds", nats_url=url, namespace="", clock=SystemClock(), max_deliver=5)

    @m.subscribe(ThingHappened)
    async def on_thing(tx: Tx, env: Any) -> None:
        if env.data.poison:
            raise DomainError("THING_REFUSED", "refused by the domain")
        await tx.conn.execute("INSERT INTO effects (n) VALUES ($1)", env.data.n)

    return m


async def _drop_stored(server: LockedNats, producer_seq: str) -> None:
    """Lose one acknowledged message, as a JetStream power cut can (ops may delete)."""
    async with login(server, "ops") as (nc, _):
        js = nc.jetstream()
        info = await js.stream_info("RURALFUND_CLAIMS")
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg("RURALFUND_CLAIMS", seq)
            if msg.subject == ThingHappened.SUBJECT and (msg.headers or {}).get(HEADER_SEQ) == producer_seq:
                await js.delete_msg("RURALFUND_CLAIMS", seq)
                return
    raise AssertionError(f"no stored message with producer seq {producer_seq}")


async def _effects(pool: asyncpg.Pool) -> list[int]:
    async with pool.acquire() as conn:
        return [r["n"] for r in await conn.fetch("SELECT n FROM effects ORDER BY handled_order")]


async def _dead_letters(server: LockedNats) -> int:
    async with login(server, "ops") as (nc, _):
        info = await nc.jetstream().stream_info("RURALFUND_DLQ")
        return info.state.messages


async def test_outbox_relay_and_consumer_work_with_their_own_users(
    locked_nats: LockedNats, database_url: str
) -> None:
    """claims' relay and funds' consumer, each as itself: publish, check the stream is not
    ahead of the outbox (a restart's check), consume, ack, re-publish after a lost message
    (request/reply across users), dead-letter a refused event."""
    producer, consumer_pool = await _pool(database_url, "claims"), await _pool(database_url, "funds")
    relay = OutboxRelay(producer, locked_nats.url_for("claims"), producer="claims",
                        namespace=Namespace(""))
    funds = _funds_consumer(locked_nats.url_for("funds"))
    log_before = len(locked_nats.log)
    await relay.start()
    try:
        await _emit(producer, [ThingHappened(n=n) for n in (1, 2, 3)] + [ThingHappened(n=4, poison=True)])
        await eventually(relay.relay_once, expect=4)
        # what a restarting service checks first (its stream is not ahead of its outbox): it
        # reads its own stream's last messages, as itself (funds could not restart in compose)
        assert await relay.stream_ahead() == []
        await _drop_stored(locked_nats, "2")
        await funds.start(consumer_pool)  # on a fresh server: creates its streams itself
        await eventually(lambda: _effects(consumer_pool), expect=[1, 2, 3], timeout=20)
        await eventually(lambda: _dead_letters(locked_nats), expect=1)
        # the server logs "Publish Violation" / "Subscription Violation" for every denial
        assert "Violation" not in locked_nats.log[log_before:]
    finally:
        await funds.stop()
        await relay.stop()
        await producer.close()
        await consumer_pool.close()


async def test_wrong_password_is_refused(locked_nats: LockedNats) -> None:
    url = f"nats://funds:not-the-password@127.0.0.1:{locked_nats.port}"
    with pytest.raises((nats.errors.NoServersError, nats.errors.Error, asyncio.TimeoutError)):
        nc = await connect_nats(url, allow_reconnect=False)
        await nc.close()


# --------------------------------------------------------------------------- the outside subscriber


@pytest.mark.parametrize("namespace", ["", COUNTY])
async def test_the_subscriber_reads_each_owners_events_through_its_own_durable(
    locked_nats: LockedNats, namespace: str
) -> None:
    """What the example consumer (examples/subscriber) does, and nothing it does is refused."""
    await _streams_exist(locked_nats, namespace)
    ns = Namespace(namespace)
    for owner in SERVICES:
        async with login(locked_nats, user_name(namespace, owner)) as (nc, _):
            await nc.jetstream().publish(ns.subject(f"{owner}.evt.thing_done.v1"), owner.encode(),
                                         stream=ns.stream(owner))
    durable = subscriber_durable(SUBSCRIBER, namespace)
    async with login_subscriber(locked_nats, namespace) as (nc, errors):
        js = nc.jetstream(timeout=OK_TIMEOUT_SECONDS)
        for owner in SERVICES:
            sub = await js.pull_subscribe(ns.subject(f"{owner}.evt.>"), durable=durable, stream=ns.stream(owner),
                                          config=ConsumerConfig(ack_wait=30, max_deliver=5))
            [msg] = await sub.fetch(1, timeout=OK_TIMEOUT_SECONDS)
            assert (msg.subject, msg.data) == (ns.subject(f"{owner}.evt.thing_done.v1"), owner.encode())
            await msg.ack_sync(timeout=OK_TIMEOUT_SECONDS)
            info = await js.consumer_info(ns.stream(owner), durable)
            assert info.ack_floor.stream_seq == 1
        assert errors == []
    assert "Violation" not in locked_nats.log


async def test_the_subscriber_publishes_no_event_command_dead_letter_or_repair_request(
    locked_nats: LockedNats,
) -> None:
    await _streams_exist(locked_nats)
    counts = {o: await _message_count(locked_nats, stream_name("", o)) for o in (*SERVICES, "dlq")}
    forbidden = [f"{o}.{kind}.forged.v1" for o in SERVICES for kind in ("evt", "cmd")]
    forbidden += [f"_rf.republish.{o}" for o in SERVICES] + ["dlq.funds.claims.evt.forged.v1"]
    async with login_subscriber(locked_nats) as (nc, errors):
        for target in forbidden:
            await nc.publish(target, b"{}")
        await nc.flush()
        for target in forbidden:
            await eventually(lambda t=target: _denied(errors, f'"{t}"'), description=f"subscriber denied {target}")
    for owner, count in counts.items():
        assert await _message_count(locked_nats, stream_name("", owner)) == count, owner


@pytest.mark.parametrize("target", ["_rf.republish.>", "_rf.republish.claims", "_INBOX.>", "claims.evt.>",
                                    "logistics.cmd.>", "dlq.>", ">"])
async def test_the_subscriber_listens_only_on_its_own_inbox(locked_nats: LockedNats, target: str) -> None:
    """Not the repair channel, not the services' replies (``_INBOX.>``), not a core
    subscription on events or commands: it reads events through its durable only."""
    async with login_subscriber(locked_nats) as (nc, errors):
        await nc.subscribe(target)
        await nc.flush()
        # nats-py lower-cases the whole error, subject included
        await eventually(lambda: any(f'permissions violation for subscription to "{target.lower()}"' in e.lower()
                                     for e in errors), description=f"subscriber denied subscribing {target}")


async def test_the_subscriber_cannot_touch_streams_or_the_services_consumers(locked_nats: LockedNats) -> None:
    await _streams_exist(locked_nats)
    async with login(locked_nats, "funds") as (nc, _):  # a service's durable to attack
        await nc.jetstream().pull_subscribe("claims.evt.claim_approved.v1", durable="funds__on_claim_approved",
                                            stream="RURALFUND_CLAIMS")
    stream = "RURALFUND_CLAIMS"
    async with login_subscriber(locked_nats) as (nc, errors):
        js = nc.jetstream(timeout=DENIED_TIMEOUT_SECONDS)
        attempts = {
            f"$JS.API.STREAM.DELETE.{stream}": js.delete_stream(stream),
            f"$JS.API.STREAM.PURGE.{stream}": js.purge_stream(stream),
            f"$JS.API.STREAM.UPDATE.{stream}": js.update_stream(name=stream, subjects=["claims.>", "x.>"]),
            "$JS.API.STREAM.CREATE.SNOOP": js.add_stream(name="SNOOP", subjects=["snoop.>"]),
            f"$JS.API.CONSUMER.DELETE.{stream}.funds__on_claim_approved":
                js.delete_consumer(stream, "funds__on_claim_approved"),
            # re-creating a service's durable with another filter would be an update of it
            f"$JS.API.CONSUMER.CREATE.{stream}.funds__on_claim_approved":
                js.add_consumer(stream, durable_name="funds__on_claim_approved", name="funds__on_claim_approved",
                                filter_subject="claims.evt.>"),
            # its own durable, but on commands: those stay between the sender and the owner
            f"$JS.API.CONSUMER.CREATE.{stream}.ext_subscriber.claims.cmd.>":
                js.add_consumer(stream, durable_name="ext_subscriber", name="ext_subscriber",
                                filter_subject="claims.cmd.>"),
            # dead letters (any service's) are the operators' to read
            "$JS.API.CONSUMER.CREATE.RURALFUND_DLQ.ext_subscriber.dlq.>":
                js.add_consumer("RURALFUND_DLQ", durable_name="ext_subscriber", name="ext_subscriber",
                                filter_subject="dlq.>"),
            f"$JS.API.CONSUMER.INFO.{stream}.funds__on_claim_approved":
                js.consumer_info(stream, "funds__on_claim_approved"),
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.funds__on_claim_approved":
                nc.request(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.funds__on_claim_approved", b"1",
                           timeout=DENIED_TIMEOUT_SECONDS),
        }
        for what, attempt in attempts.items():
            with pytest.raises(nats.errors.TimeoutError):
                await attempt
            await eventually(lambda w=what: _denied(errors, w), description=f"subscriber denied {what}")
        # acking the service's messages (the reply subject of its deliveries) is refused too
        await nc.publish(f"$JS.ACK.{stream}.funds__on_claim_approved.1.1.1.1.0", b"+ACK")
        await nc.flush()
        await eventually(lambda: _denied(errors, "$JS.ACK.RURALFUND_CLAIMS.funds__on_claim_approved"))
    async with login(locked_nats, "ops") as (nc, _):
        info = await nc.jetstream().consumer_info(stream, "funds__on_claim_approved")
        assert info.config.filter_subject == "claims.evt.claim_approved.v1"
        assert (await nc.jetstream().stream_info(stream)).config.subjects == ["claims.>"]


async def test_a_pulls_reply_subject_is_not_checked_by_nats_but_stores_nothing(locked_nats: LockedNats) -> None:
    """A known NATS limit: a request's reply subject is not checked against the sender's
    permissions, so the subscriber (like any user allowed to pull) can have its own messages
    delivered to any subject where someone listens, the repair channel included. The server
    stores none of them in a stream, and what reaches a listener is a genuine message that no
    signature check takes for anything else (an event's signature covers its own subject; a
    repair answer has its own signature label; the owner answers such a "request" with an error)."""
    await _streams_exist(locked_nats)
    async with login(locked_nats, "claims") as (nc, _):
        await nc.jetstream().publish("claims.evt.thing_done.v1", b"{}", stream="RURALFUND_CLAIMS")
    before = await _message_count(locked_nats, "RURALFUND_FUNDS")
    async with login(locked_nats, "ops") as (ops, _), login_subscriber(locked_nats) as (nc, errors):
        seen = await ops.subscribe("funds.evt.redirected.v1")  # someone listens: it is delivered
        await ops.flush()
        await nc.jetstream().pull_subscribe("claims.evt.>", durable="ext_subscriber", stream="RURALFUND_CLAIMS")
        await nc.publish("$JS.API.CONSUMER.MSG.NEXT.RURALFUND_CLAIMS.ext_subscriber", b'{"batch": 1}',
                         reply="funds.evt.redirected.v1")
        delivered = await seen.next_msg(timeout=OK_TIMEOUT_SECONDS)
        assert delivered.subject == "claims.evt.thing_done.v1"  # the message keeps its own subject
        assert errors == []
    assert await _message_count(locked_nats, "RURALFUND_FUNDS") == before

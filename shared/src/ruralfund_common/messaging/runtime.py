"""Wires a service's messaging: streams, durable consumers (FastStream), outbox relay.

A service declares what it consumes with ``@messaging.subscribe(ClaimApproved)`` and what it
emits with ``messaging.emits(PaymentExecuted)`` (for the AsyncAPI document), then the app's
lifespan calls ``start()`` / ``stop()``. Handlers receive a ``Tx`` (the open transaction) and
the typed envelope; the framework owns dedup, ordering, retries and dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import nats.errors
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.specification import AsyncAPI
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from ..clock import Clock
from ..logging import get_logger
from ..settings import load_settings, nats_servers
from ..telemetry import CONSUMER_LAG, register_gauges
from . import asyncapi_doc
from .envelope import Envelope, Event
from .inbox import Decision, Delivery, EventProcessor, Handler, Outcome, Tx
from .outbox import OutboxRelay, forget_stray_cancellation
from .signing import EventKeys
from .streams import ensure_stream
from .subjects import Namespace, owner_of

__all__ = ["EventRouter", "Messaging", "ensure_stream"]

PULL_BATCH_SIZE = 64
PULL_TIMEOUT_SECONDS = 1.0
PULL_ERROR_PAUSE_SECONDS = 0.5
ACK_WAIT_SECONDS = 30
LAG_SAMPLE_SECONDS = 15.0
RESUBSCRIBE_AFTER_FAILURES = 3
IDLE_FETCHES_BEFORE_CHECK = 3
# An idle consumer asks the producer for its last sequence this often: a lost TAIL of a subject
# (JetStream lost the last messages and the producer stays quiet) shows no gap otherwise.
TAIL_CHECK_SECONDS = 30.0
# One message is handled within this or abandoned (rolled back, NAKed, redelivered): a handler
# stuck on a database connection broken by a PostgreSQL restart must not stop the consumer
# for good (seen under chaos: asyncpg "cannot switch to state 15", then silence).
HANDLE_TIMEOUT_SECONDS = 60.0
log = get_logger("ruralfund.messaging")
# (service, consumer, subject) -> accepted gaps not yet acknowledged, read at scrape time
_OPEN_GAPS: dict[tuple[str, str, str], float] = {}
register_gauges("ruralfund_sequence_gaps_open",
                "Accepted sequence gaps (inbox_gaps) no operator has acknowledged (ruralfund deploy gaps)",
                ["service", "consumer", "subject"], lambda: [(list(k), v) for k, v in _OPEN_GAPS.items()])


async def _quietly(ack: Any) -> None:
    # An ack lost to a reconnect only means a redelivery, which the inbox absorbs.
    try:
        await ack
    except Exception as exc:
        log.warning("ack_failed", error=repr(exc))


class EventRouter:
    """What a service consumes and emits, declared at import time (no settings needed)."""

    def __init__(self) -> None:
        self.subscriptions: list[tuple[type[Event], Handler, str]] = []
        self.emitted: list[type[Event]] = []

    def subscribe(self, model: type[Event], *, name: str | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.subscriptions.append((model, handler, name or handler.__name__))
            return handler
        return register

    def emits(self, *models: type[Event]) -> None:
        self.emitted.extend(models)


class Messaging:
    def __init__(self, *, service: str, nats_url: str, namespace: str, clock: Clock,
                 max_deliver: int = 20, outbox_batch_size: int = 500, outbox_poll_seconds: float = 0.2,
                 outbox_retention_days: int = 30, ctx: Any = None, keys: EventKeys | None = None,
                 tail_check_seconds: float = TAIL_CHECK_SECONDS, replicas: int = 1,
                 nats_options: dict[str, Any] | None = None) -> None:
        self.ctx = ctx
        # extra nats.connect arguments (TLS: ServiceSettings.nats_tls)
        self.nats_options = dict(nats_options or {})
        self.replicas = replicas
        self.tail_check_seconds = tail_check_seconds
        # None: taken at start from the service's settings (ctx.settings, else the environment)
        self.keys = keys
        self.service = service
        self.ns = Namespace(namespace)
        self.clock = clock
        self.nats_url = nats_url
        self.max_deliver = max_deliver
        self._relay_args = {"batch_size": outbox_batch_size, "poll_seconds": outbox_poll_seconds,
                            "retention_days": outbox_retention_days}
        # The broker is used to describe our channels (AsyncAPI); it is never connected.
        self.broker = NatsBroker(nats_servers(nats_url), log_level=logging.DEBUG)
        self._handlers: list[tuple[str, type[Event], Handler, str]] = []
        self._processors: dict[str, EventProcessor] = {}
        self._consumed_owners: set[str] = set()
        self.pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self._nc: Any = None
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        # set by stop(): sleeps wait on it, because nats-py swallows a cancellation that hits a
        # publish (a request in flight), after which a plain sleep ran its full length
        # (Messaging.stop took 15 s, one lag-sample interval, in one test teardown of three)
        self._stopped = asyncio.Event()

    # -- declaration (at import/build time) ------------------------------------------------------
    def subscribe(self, model: type[Event], *, name: str | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            consumer = f"{self.service}__{name or handler.__name__}"
            self._handlers.append((model.SUBJECT, model, handler, consumer))
            self._consumed_owners.add(owner_of(model.SUBJECT))
            self._register_faststream(model, handler, consumer)
            return handler
        return register

    def include(self, router: EventRouter) -> None:
        for model, handler, name in router.subscriptions:
            self.subscribe(model, name=name)(handler)
        self.emits(*router.emitted)

    def emits(self, *models: type[Event]) -> None:
        for model in models:
            self.broker.publisher(
                self.ns.subject(model.SUBJECT), schema=Envelope[model],  # type: ignore[valid-type]
                title=model.SUBJECT, description=(model.__doc__ or "").strip(), include_in_schema=True,
            )

    def _register_faststream(self, model: type[Event], handler: Handler, consumer: str) -> None:
        """Declare the subscription to FastStream so the AsyncAPI document lists it.

        The consume loop itself is ours (``_consume``): FastStream 0.7.8's pull subscriber
        handles a batch concurrently (which breaks per-subject ordering) and, in batch mode,
        misses nats-py 2.16's ``asyncio.TimeoutError`` on an idle fetch (its supervisor then
        restarts the loop with a multi-second pause). Both break the gap detector's guarantees.
        """

        async def documented(body: Any) -> None:
            raise AssertionError("documentation-only subscriber")

        # real objects, not strings: this module uses postponed annotations
        documented.__annotations__ = {"body": Envelope[model], "return": None}  # type: ignore[valid-type]
        documented.__name__ = consumer
        self.broker.subscriber(
            self.ns.subject(model.SUBJECT),
            stream=JStream(self.ns.stream(owner_of(model.SUBJECT)), declare=False),
            durable=self.ns.durable(consumer),
            pull_sub=PullSub(batch_size=PULL_BATCH_SIZE),
            title=f"{consumer}:{model.SUBJECT}",
            description=(handler.__doc__ or model.__doc__ or "").strip(),
        )(documented)

    async def _consume(self, consumer: str, subject: str) -> None:
        """Run the consumer until stopped, whatever escapes its loop.

        Found by `make chaos` (PostgreSQL restarted five times under load): every consumer of
        funds and notify ended silently at a restart, the durables kept their pending messages
        and nothing pulled them again. Only stop() may end a consumer: a CancelledError that
        stop() did not send (library code under a dropped connection) or any other error is
        logged, and the loop starts again (resubscribing: the cursor is in the database)."""
        while not self._stopping:
            try:
                await self._consume_loop(consumer, subject)
            except asyncio.CancelledError:
                if self._stopping:
                    raise
                forget_stray_cancellation()
                log.error("consumer_cancelled_unexpectedly", consumer=consumer, exc_info=True)
            except Exception as exc:  # a bug must not end the consumer for good
                log.error("consumer_loop_crashed", consumer=consumer, error=repr(exc), exc_info=True)
            if not self._stopping:
                await asyncio.sleep(PULL_ERROR_PAUSE_SECONDS)

    async def _consume_loop(self, consumer: str, subject: str) -> None:
        """Pull, then handle each message of a batch in stream order, until stopped."""
        processor = self._processors[consumer]
        sub = await self._pull_subscription(consumer, subject)
        failures = idle = 0
        tail_checked = time.monotonic()
        batch = 1
        while not self._stopping:
            try:
                msgs = await sub.fetch(batch, timeout=PULL_TIMEOUT_SECONDS)
                failures = idle = 0
                # Caught up (a short batch): wait for the next message alone. A waiting batch
                # pull held a message that arrived on an idle consumer until the next one came
                # (notify, benchmarks/approval.py: 200 ms at 5 approvals/s); one message at a
                # time returns at once, and a full batch switches back to batches for a backlog.
                batch = PULL_BATCH_SIZE if len(msgs) >= batch else 1
            except (TimeoutError, nats.errors.TimeoutError):
                batch = 1
                # Older servers answer a fetch on a deleted durable with silence, not an error:
                # when idle, check now and then that the durable still exists.
                idle += 1
                if idle % IDLE_FETCHES_BEFORE_CHECK == 0 and not await self._durable_exists(consumer, subject):
                    sub = await self._resubscribe(sub, consumer, subject)
                if time.monotonic() - tail_checked >= self.tail_check_seconds:
                    tail_checked = time.monotonic()
                    await processor.check_tail()
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS reconnecting, or the durable was deleted by an operator
                failures += 1
                log.warning("consumer_fetch_error", consumer=consumer, error=repr(exc), failures=failures)
                await asyncio.sleep(PULL_ERROR_PAUSE_SECONDS)
                if failures >= RESUBSCRIBE_AFTER_FAILURES:
                    sub = await self._resubscribe(sub, consumer, subject)
                continue
            await self._handle_batch(processor, msgs)

    async def _durable_exists(self, consumer: str, subject: str) -> bool:
        try:
            await self._nc.jetstream().consumer_info(self.ns.stream(owner_of(subject)), self.ns.durable(consumer))
            return True
        except NotFoundError:
            return False
        except Exception:  # cannot tell (reconnecting): assume it is there
            return True

    async def _pull_subscription(self, consumer: str, subject: str) -> Any:
        return await self._nc.jetstream().pull_subscribe(
            self.ns.subject(subject), durable=self.ns.durable(consumer),
            stream=self.ns.stream(owner_of(subject)),
            config=ConsumerConfig(max_deliver=self.max_deliver, ack_wait=ACK_WAIT_SECONDS,
                                  max_ack_pending=PULL_BATCH_SIZE * 4),
        )

    async def _resubscribe(self, sub: Any, consumer: str, subject: str) -> Any:
        """Re-create the durable (idempotent when it exists): a consumer deleted while the
        service runs comes back and, with the inbox, re-applies nothing twice.

        Tries until it has a subscription: found by the cluster drill (tests/chaos/
        test_nats_cluster.py), a failed attempt used to hand back the old, unsubscribed one,
        whose fetches time out forever like an idle consumer's while its durable's pending
        messages waited (the stream had no leader for a few seconds after its node was lost)."""
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        while True:
            try:
                new = await self._pull_subscription(consumer, subject)
            except Exception as exc:  # no stream leader yet, or NATS reconnecting
                log.warning("consumer_resubscribe_failed", consumer=consumer, error=repr(exc))
                if self._stopping:
                    raise
                await asyncio.sleep(PULL_ERROR_PAUSE_SECONDS)
                continue
            log.warning("consumer_resubscribed", consumer=consumer)
            return new

    async def _sample_lag(self) -> None:
        """Consumer lag for /metrics: pending + unacknowledged messages per durable; and the
        accepted sequence gaps no operator has acknowledged yet (``deploy gaps``)."""
        js = self._nc.jetstream()
        while not self._stopping:
            await self._sample_open_gaps()
            for subject, _model, _handler, consumer in self._handlers:
                try:
                    info = await js.consumer_info(self.ns.stream(owner_of(subject)), self.ns.durable(consumer))
                    CONSUMER_LAG.labels(self.service, consumer).set(info.num_pending + info.num_ack_pending)
                except Exception:  # not created yet, or NATS reconnecting: try next round
                    pass
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), LAG_SAMPLE_SECONDS)

    async def _sample_open_gaps(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch("SELECT consumer, subject, count(*) AS n FROM inbox_gaps "
                                        "WHERE acknowledged_at IS NULL GROUP BY consumer, subject")
        except Exception as exc:  # database down: keep the last figures until the next round
            log.info("open_gaps_sample_failed", error=repr(exc))
            return
        for key in [k for k in _OPEN_GAPS if k[0] == self.service]:
            del _OPEN_GAPS[key]
        _OPEN_GAPS.update({(self.service, r["consumer"], r["subject"]): float(r["n"]) for r in rows})

    async def _handle_batch(self, processor: EventProcessor, msgs: list[Any]) -> None:
        held_back: float | None = None
        for raw in msgs:
            if held_back is not None:  # after a gap or retry, later messages wait too (ordering)
                await _quietly(raw.nak(delay=held_back))
                continue
            delivery = Delivery(subject=raw.subject, data=raw.data, headers=dict(raw.headers or {}),
                                num_delivered=raw.metadata.num_delivered)
            try:
                decision = await asyncio.wait_for(processor.process(delivery), timeout=HANDLE_TIMEOUT_SECONDS)
            except TimeoutError:
                log.error("consumer_handler_timeout", consumer=processor.consumer, seconds=HANDLE_TIMEOUT_SECONDS)
                decision = Decision(Outcome.RETRY, nak_delay=1.0, reason="HANDLER_TIMEOUT")
            except Exception as exc:  # a bug must not kill the loop: retry later
                log.error("consumer_crashed", consumer=processor.consumer, error=repr(exc))
                decision = Decision(Outcome.RETRY, nak_delay=1.0)
            if decision.outcome in (Outcome.RETRY, Outcome.GAP):
                await _quietly(raw.nak(delay=decision.nak_delay))
                held_back = decision.nak_delay or 0.5
            else:
                await _quietly(raw.ack())

    # -- lifecycle -------------------------------------------------------------------------------
    def check_keys(self) -> None:
        """Load (and so check) the event keys now: a production start with missing or dev keys
        fails before it touches the database (migrations), not after."""
        self._event_keys()

    @property
    def event_keys(self) -> EventKeys:
        """This service's signing key and the keys it trusts (public halves are published)."""
        return self._event_keys()

    def _event_keys(self) -> EventKeys:
        """Explicit keys, else the settings' (refused in production when missing or dev keys)."""
        if self.keys is None:
            settings = getattr(self.ctx, "settings", None)
            if getattr(settings, "service", None) != self.service:
                settings = load_settings(self.service)
            self.keys = EventKeys.from_settings(settings)
        return self.keys

    async def start(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        keys = self._event_keys()
        self.relay = OutboxRelay(pool, self.nats_url, producer=self.service, namespace=self.ns,
                                 signing_key=keys.signing, replicas=self.replicas,
                                 nats_options=self.nats_options, **self._relay_args)
        await self.relay.start()
        js = self.relay.nc.jetstream()
        for owner in {self.service} | self._consumed_owners:
            await ensure_stream(js, self.ns.stream(owner), self.ns.stream_subjects(owner), replicas=self.replicas)
        await ensure_stream(js, self.ns.dlq_stream, [self.ns.subject("dlq.>")], replicas=self.replicas)
        for subject, model, handler, consumer in self._handlers:
            self._processors[consumer] = EventProcessor(
                service=self.service, consumer=consumer, subject=subject, model=model, handler=handler,
                pool=pool, nc=self.relay.nc, namespace=self.ns, clock=self.clock,
                max_deliver=self.max_deliver, on_commit=self.relay.notify, ctx=self.ctx,
                trusted=keys.trusted,
            )
        self._nc = self.relay.nc
        for subject, model, handler, consumer in self._handlers:
            self._tasks.append(asyncio.create_task(self._consume(consumer, subject), name=consumer))
        if self._handlers:
            self._tasks.append(asyncio.create_task(self._sample_lag(), name=f"{self.service}-lag"))
        log.info("messaging_started", consumers=sorted(self._processors), namespace=self.ns.prefix)

    async def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.relay:
            await self.relay.stop()

    async def healthy(self) -> bool:
        return bool(self.relay and self.relay.nc and self.relay.nc.is_connected)

    # -- use-case transactions -------------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self, *, correlation_id: str | None = None) -> AsyncIterator[Tx]:
        """One use case = one transaction: state change and outbox rows commit together."""
        assert self.pool is not None, "messaging not started"
        async with self.pool.acquire() as conn, conn.transaction():
            yield Tx(conn, self.service, self.clock, correlation_id, None, ctx=self.ctx)
        if self.relay:
            self.relay.notify()

    def asyncapi(self, version: str = "0.1.0") -> dict[str, Any]:
        spec = AsyncAPI(self.broker, title=f"ruralfund {self.service} events", version=version,
                        description=f"Events published and consumed by the {self.service} service.")
        return asyncapi_doc.finish(spec.to_specification().to_jsonable())

"""Consuming events: inbox dedup, producer-sequence gap detection, retries, dead letters.

One message = one database transaction: the inbox row, the handler's state change and any
outbox rows it writes commit together, then the message is acknowledged. So a redelivered
message finds its inbox row and does nothing, and a crash before the ack just redelivers.

Outcomes:
- processed: committed, acked;
- duplicate: inbox row or cursor says already applied, acked, nothing changed;
- gap: the producer's sequence skipped numbers (a message was lost or is being redelivered):
  nothing applied, NAK with a delay, and from the second try a re-publish request (signed
  answers only, see repair.py; the cursor skips only what the owner says it pruned for good,
  and each such gap is recorded in ``inbox_gaps``); still unresolved at the last delivery, the
  message is dead-lettered without an inbox row and the cursor stays;
- rejected (oversized, unsigned, signed by a key not trusted for the subject, bad signature):
  checked before anything else; dead-lettered with the reason and acked, but NOT recorded in
  the inbox and the cursor does not move: nothing in an unverified message (its message id,
  its sequence number) may change the consumer's state;
- poison (undecodable, wrong contract, or a DomainError from the handler): dead-lettered with
  the reason, recorded in the inbox (so the cursor moves on), acked;
- transient (any other exception): NAK with backoff; at the last allowed delivery it is
  dead-lettered with the reason instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import nats.errors
from nats.aio.client import Client as NatsClient
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError

from ..clock import Clock
from ..errors import DomainError
from ..logging import get_logger
from ..telemetry import (
    MESSAGE_SECONDS,
    MESSAGES_HANDLED,
    REPAIR_ANSWERS_REJECTED,
    SEQUENCE_GAP_MESSAGES,
    SEQUENCE_GAPS_ACCEPTED,
    TAIL_REPAIRS,
    extract_context,
    tracer,
)
from . import outbox, repair
from .envelope import (
    HEADER_DLQ_MSG_ID,
    HEADER_DLQ_REASON,
    HEADER_MSG_ID,
    HEADER_PRODUCER,
    HEADER_REDRIVEN,
    HEADER_SEQ,
    Envelope,
    Event,
)
from .signing import MAX_EVENT_BYTES, SignatureRejected, TrustedKeys
from .subjects import Namespace

__all__ = ["Delivery", "EventProcessor", "Handler", "Outcome", "Tx"]

log = get_logger("ruralfund.inbox")
E = TypeVar("E", bound=BaseModel)
MAX_GAP_DELAY_SECONDS = 5.0
REPUBLISH_REQUEST_TIMEOUT = 2.0
# After asking for a range, give the re-published messages this long to arrive before asking
# again: every redelivery of a held-back message used to repeat the request (a re-publish storm).
REPAIR_PATIENCE_SECONDS = 5.0
# The server's own status message to a request nobody subscribes to ("NATS/1.0 503").
NO_RESPONDERS_STATUS = "503"


@dataclass
class Tx:
    """What a handler gets: the open transaction and a way to emit events into the outbox,
    with correlation and causation carried over from the message being handled."""

    conn: asyncpg.Connection
    service: str
    clock: Clock
    correlation_id: str | None = None
    causation_id: str | None = None
    emitted: list[dict[str, Any]] = field(default_factory=list)
    ctx: Any = None  # the service's own dependencies (calendar, settings, ...)

    async def emit(self, event: Event, *, aggregate_id: str, trace_headers: dict[str, str] | None = None) -> dict[str, Any]:
        env = await outbox.append(
            self.conn, event, source=self.service, aggregate_id=aggregate_id, time=self.clock.now(),
            correlation_id=self.correlation_id, causation_id=self.causation_id, trace_headers=trace_headers,
        )
        self.emitted.append(env)
        return env

    async def emit_many(self, events: list[tuple[Event, str, dict[str, str] | None]]) -> list[dict[str, Any]]:
        """Many (event, aggregate id, trace headers or None) in one round trip (a payment run)."""
        if not events:
            return []
        envs = await outbox.append_many(
            self.conn, events, source=self.service, time=self.clock.now(),
            correlation_id=self.correlation_id, causation_id=self.causation_id,
        )
        self.emitted.extend(envs)
        return envs


Handler = Callable[[Tx, Envelope[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """Transport-neutral view of one delivered message."""

    subject: str  # physical subject
    data: bytes
    headers: dict[str, str]
    num_delivered: int


class Outcome:
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    GAP = "gap"
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"


@dataclass
class Decision:
    outcome: str
    nak_delay: float | None = None
    reason: str | None = None


class EventProcessor(Generic[E]):
    """Applies one kind of event to a service's state. Transport-agnostic: the caller maps
    the returned Decision to ack / nak(delay) after dead-lettering when told to."""

    def __init__(
        self,
        *,
        service: str,
        consumer: str,
        subject: str,
        model: type[E],
        handler: Handler,
        pool: asyncpg.Pool,
        nc: NatsClient,
        namespace: Namespace,
        clock: Clock,
        max_deliver: int,
        on_commit: Callable[[], None] | None = None,
        ctx: Any = None,
        trusted: TrustedKeys | None = None,
    ) -> None:
        self.ctx = ctx
        self.trusted = trusted or TrustedKeys.dev()
        self.service, self.consumer, self.subject = service, consumer, subject
        self.model, self.handler, self.pool, self.nc = model, handler, pool, nc
        self.ns, self.clock, self.max_deliver = namespace, clock, max_deliver
        self.on_commit = on_commit
        self.envelope_type = Envelope[model]  # type: ignore[valid-type]
        self._repair_asked: tuple[int, float] = (0, 0.0)  # (up to seq, monotonic time) of the last ask

    async def process(self, d: Delivery) -> Decision:
        started = time.perf_counter()
        env: Envelope[Any] | None = None
        # continue the producer's trace (traceparent header written with the outbox row)
        with tracer().start_as_current_span(f"consume {self.subject}", context=extract_context(d.headers),
                                            kind=SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.system", "nats")
            span.set_attribute("messaging.destination.name", self.subject)
            span.set_attribute("messaging.consumer.group.name", self.consumer)
            try:
                self._verify(d)
                env = self._decode(d)
                span.set_attribute("messaging.message.id", env.id)
                decision = await self._apply(d, env)
            except SignatureRejected as r:
                decision = await self._reject(d, str(r))
            except _Poison as p:
                decision = await self._dead_letter(d, env, p.reason)
            except Exception as exc:
                decision = await self._transient(d, env, exc)
            span.set_attribute("ruralfund.outcome", decision.outcome)
            self._log(d, env, decision, started)
        return decision

    # -- steps -------------------------------------------------------------------------------
    def _verify(self, d: Delivery) -> None:
        """Before anything else: bounded size, then a signature by a key trusted for the subject."""
        if len(d.data) > MAX_EVENT_BYTES:
            raise SignatureRejected("OVERSIZED", f"{len(d.data)} bytes, at most {MAX_EVENT_BYTES}")
        self.trusted.verify(d.subject, self.ns.logical(d.subject), d.data, d.headers)
        if HEADER_REDRIVEN in d.headers:  # applied outside the sequence check: the operator signs that
            self.trusted.verify_redrive(d.subject, self.ns.logical(d.subject), d.data, d.headers)

    def _decode(self, d: Delivery) -> Envelope[Any]:
        try:
            raw = json.loads(d.data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Poison(f"INVALID_JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise _Poison("INVALID_ENVELOPE: not a JSON object")
        if raw.get("type") != self.subject:
            got = raw.get("type")
            # same event, another contract version (claims.evt.x.v2 on claims.evt.x.v1)
            same_name = isinstance(got, str) and got.rpartition(".v")[0] == self.subject.rpartition(".v")[0]
            code = "WRONG_VERSION" if same_name else "WRONG_TYPE"
            raise _Poison(f"{code}: expected {self.subject}, got {str(got)[:200]!r}")
        try:
            return self.envelope_type.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _Poison(f"INVALID_CONTRACT: {where}: {first['msg']}") from None

    async def _apply(self, d: Delivery, env: Envelope[Any]) -> Decision:
        # A redriven dead letter keeps its (signed) sequence number, but the cursor is past it.
        seq = None if HEADER_REDRIVEN in d.headers else _int_or_none(d.headers.get(HEADER_SEQ))
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                if not await self._claim_inbox(conn, env.id, seq, "processed", None):
                    return Decision(Outcome.DUPLICATE)
                if seq is not None:
                    last = await self._cursor(conn)
                    if seq <= last:
                        raise _Rollback(Decision(Outcome.DUPLICATE))
                    if seq > last + 1:
                        raise _Rollback(Decision(Outcome.GAP, reason=f"expected seq {last + 1}, got {seq}"))
                tx = Tx(conn, self.service, self.clock, env.correlation_id, env.id, ctx=self.ctx)
                try:
                    await self.handler(tx, env)
                except DomainError as exc:
                    raise _Poison(f"{exc.code}: {exc.message}") from None
                if seq is not None:
                    await self._advance(conn, seq)
        if self.on_commit:
            self.on_commit()
        return Decision(Outcome.PROCESSED)

    async def _claim_inbox(self, conn, message_id: str, seq: int | None, outcome: str, reason: str | None) -> bool:
        row = await conn.fetchval(
            "INSERT INTO inbox (message_id, consumer, subject, producer_seq, outcome, reason) "
            "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING RETURNING 1",
            message_id, self.consumer, self.subject, seq, outcome, reason,
        )
        return row is not None

    async def _cursor(self, conn) -> int:
        last = await conn.fetchval(
            "SELECT last_seq FROM inbox_cursor WHERE consumer=$1 AND subject=$2 FOR UPDATE", self.consumer, self.subject
        )
        return int(last or 0)

    async def _advance(self, conn, seq: int) -> None:
        await conn.execute(
            "INSERT INTO inbox_cursor (consumer, subject, last_seq) VALUES ($1,$2,$3) "
            "ON CONFLICT (consumer, subject) DO UPDATE SET last_seq = GREATEST(inbox_cursor.last_seq, excluded.last_seq)",
            self.consumer, self.subject, seq,
        )

    async def _dead_letter(self, d: Delivery, env: Envelope[Any] | None, reason: str) -> Decision:
        await self.publish_dead_letter(d, reason)
        seq = _int_or_none(d.headers.get(HEADER_SEQ))
        message_id = env.id if env else d.headers.get(HEADER_MSG_ID) or f"nomsgid-{hash(d.data)}"
        async with self.pool.acquire() as conn, conn.transaction():
            await self._claim_inbox(conn, message_id, seq, "dead_lettered", reason[:2000])
            if seq is not None and env is not None:
                await self._advance(conn, seq)
        return Decision(Outcome.DEAD_LETTERED, reason=reason)

    async def _reject(self, d: Delivery, reason: str) -> Decision:
        """An unverified message: dead-lettered, and nothing else (no inbox row, no cursor)."""
        await self.publish_dead_letter(d, reason)
        return Decision(Outcome.DEAD_LETTERED, reason=reason)

    async def publish_dead_letter(self, d: Delivery, reason: str) -> None:
        js = self.nc.jetstream()
        logical = self.ns.logical(d.subject)
        data = d.data[:MAX_EVENT_BYTES]  # an oversized one is kept truncated: the DLQ stays bounded
        # the content hash keeps a forged message from taking the dead-letter id of a real one
        digest = hashlib.sha256(d.data).hexdigest()[:16]
        original_id = d.headers.get(HEADER_MSG_ID, "")
        headers = {k: v for k, v in d.headers.items() if k != HEADER_MSG_ID}
        headers.update({
            HEADER_DLQ_REASON: reason[:1000],
            "Ruralfund-Dlq-Consumer": self.consumer,
            "Ruralfund-Dlq-Subject": logical,
            "Ruralfund-Dlq-Deliveries": str(d.num_delivered),
            HEADER_MSG_ID: f"dlq:{self.consumer}:{original_id[:200]}:{d.headers.get(HEADER_SEQ, '')[:20]}:{digest}",
        })
        if original_id:
            headers[HEADER_DLQ_MSG_ID] = original_id
        if len(data) < len(d.data):
            headers["Ruralfund-Dlq-Original-Bytes"] = str(len(d.data))
        await js.publish(self.ns.dlq_subject(self.service, logical), data, headers=headers,
                         stream=self.ns.dlq_stream, timeout=5)

    async def _transient(self, d: Delivery, env: Envelope[Any] | None, exc: Exception) -> Decision:
        if isinstance(exc, _Rollback):
            if exc.decision.outcome == Outcome.GAP:
                return await self._gap(d, env, exc.decision)
            return exc.decision
        reason = f"TRANSIENT: {exc!r}"
        if d.num_delivered >= self.max_deliver:
            return await self._dead_letter(d, env, f"MAX_DELIVER_EXCEEDED after {d.num_delivered}: {reason}")
        delay = min(0.1 * 2 ** (d.num_delivered - 1), 10.0)
        return Decision(Outcome.RETRY, nak_delay=delay, reason=reason)

    async def _gap(self, d: Delivery, env: Envelope[Any] | None, decision: Decision) -> Decision:
        seq = _int_or_none(d.headers.get(HEADER_SEQ)) or 0
        producer = d.headers.get(HEADER_PRODUCER) or self.subject.split(".", 1)[0]
        if d.num_delivered >= self.max_deliver:
            # Parked, not applied: no inbox row, and the cursor stays before the missing ones.
            # Moving it on (as a dead letter does) skipped them on nobody's word; this way the
            # next message or idle tail check asks again and the owner re-publishes them all.
            return await self._reject(d, f"SEQUENCE_GAP_UNRESOLVED: {decision.reason}")
        asked_up_to, asked_at = self._repair_asked
        waiting = seq - 1 <= asked_up_to and time.monotonic() - asked_at < REPAIR_PATIENCE_SECONDS
        if d.num_delivered >= 2 and not waiting:  # first try: the missing one may just be in flight
            self._repair_asked = (seq - 1, time.monotonic())
            await self._request_republish(producer, seq)
        decision.nak_delay = min(0.2 * d.num_delivered, MAX_GAP_DELAY_SECONDS)
        return decision

    async def check_tail(self) -> bool:
        """Ask the producer for its last published sequence on this subject; when it is past
        our cursor, the tail was lost in JetStream (no later message would show the gap):
        request its re-publish. Returns whether a re-publish was requested."""
        producer = self.subject.split(".", 1)[0]
        try:
            answer = await self._ask_owner(producer, repair.KIND_HIGH_WATER)
        except Exception as exc:  # NATS reconnecting: the next idle check asks again
            log.info("tail_check_failed", subject=self.subject, error=repr(exc))
            return False
        if answer is None:
            return False
        try:
            async with self.pool.acquire() as conn:
                cursor = int(await conn.fetchval(
                    "SELECT last_seq FROM inbox_cursor WHERE consumer=$1 AND subject=$2", self.consumer, self.subject,
                ) or 0)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            # PostgreSQL down: ask again at the next idle check. Raised, this ended the consumer
            # (its loop) for good: found by `make chaos`, PostgreSQL restarted under load.
            log.info("tail_check_failed", subject=self.subject, error=repr(exc))
            return False
        high_water = answer.high_water_seq
        if high_water <= cursor:
            return False
        log.warning("sequence_tail_behind", consumer=self.consumer, subject=self.subject, cursor=cursor,
                    high_water=high_water)
        TAIL_REPAIRS.labels(self.service, self.subject).inc()
        await self._request_republish(producer, high_water + 1)
        return True

    async def _request_republish(self, producer: str, seq: int) -> None:
        """Ask for our cursor + 1 .. seq - 1 again. Sequences the owner says (signed) it pruned
        for good are the only ones we ever skip, and each such gap is recorded."""
        async with self.pool.acquire() as conn:
            last = await conn.fetchval(
                "SELECT last_seq FROM inbox_cursor WHERE consumer=$1 AND subject=$2", self.consumer, self.subject
            )
        lo, hi = int(last or 0) + 1, seq - 1
        if hi < lo:
            return
        try:
            answer = await self._ask_owner(producer, repair.KIND_REPUBLISH, from_seq=lo, to_seq=hi)
        except Exception as exc:  # NATS reconnecting: the NAK brings us back here later
            log.warning("republish_request_failed", subject=self.subject, error=repr(exc))
            return
        if answer is None:  # producer down, or no genuine answer: the NAK brings us back here
            log.warning("republish_request_failed", subject=self.subject, error="no valid answer")
            return
        if answer.pruned_below_seq > lo:
            await self._accept_gap(producer, min(hi, answer.pruned_below_seq - 1), answer)

    async def _ask_owner(self, producer: str, kind: str, *, from_seq: int | None = None,
                         to_seq: int | None = None) -> repair.RepairAnswer | None:
        """Send a request with a fresh nonce and return the first genuine answer before the
        deadline. Not ``nc.request``: it returns the first reply, so an outsider answering first
        (ignored as unsigned) would also have hidden the owner's genuine answer."""
        nonce = repair.new_nonce()
        channel = self.ns.republish_subject(producer)
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox, max_msgs=repair.MAX_ANSWERS_READ)
        try:
            await self.nc.publish(channel, repair.request_body(self.subject, nonce, from_seq=from_seq, to_seq=to_seq),
                                  reply=inbox)
            deadline = time.monotonic() + REPUBLISH_REQUEST_TIMEOUT
            for _ in range(repair.MAX_ANSWERS_READ):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    msg = await sub.next_msg(timeout=left)
                except (TimeoutError, nats.errors.TimeoutError):
                    break
                if (msg.headers or {}).get("Status") == NO_RESPONDERS_STATUS and not msg.data:
                    # the server's "nobody listens" (the owner is down), not an answer nor an
                    # attack; not a reason to stop either: anyone able to answer could send one
                    # to cut short our wait for the owner's genuine answer
                    continue
                answer = self._checked_answer(channel, producer, nonce, kind, msg)
                if answer is not None:
                    return answer
            return None
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def _checked_answer(self, channel: str, producer: str, nonce: str, kind: str,
                        msg: Any) -> repair.RepairAnswer | None:
        try:
            return repair.check_answer(self.trusted, channel=channel, owner=producer, subject=self.subject,
                                       nonce=nonce, kind=kind, data=msg.data, headers=msg.headers or {})
        except SignatureRejected as r:
            REPAIR_ANSWERS_REJECTED.labels(self.service, self.subject, r.code).inc()
            log.warning("repair_answer_rejected", consumer=self.consumer, subject=self.subject, kind=kind,
                        reason=str(r)[:300], key_id=(msg.headers or {}).get("Ruralfund-Key-Id", "")[:64])
            return None

    async def _accept_gap(self, producer: str, up_to: int, answer: repair.RepairAnswer) -> None:
        """Move the cursor to ``up_to`` over sequences the owner pruned for good, and record it."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                cursor = await self._cursor(conn)  # FOR UPDATE: a message applied meanwhile counts
                if up_to <= cursor:
                    return
                await conn.execute(
                    "INSERT INTO inbox_gaps (consumer, subject, owner, from_seq, to_seq, pruned_below_seq, "
                    "signed_by, answer, signature) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                    self.consumer, self.subject, producer, cursor + 1, up_to, answer.pruned_below_seq,
                    answer.key_id, answer.signed_body, answer.signature,
                )
                await self._advance(conn, up_to)
        SEQUENCE_GAPS_ACCEPTED.labels(self.service, self.subject).inc()
        SEQUENCE_GAP_MESSAGES.labels(self.service, self.subject).inc(up_to - cursor)
        log.error("sequence_gap_accepted", consumer=self.consumer, subject=self.subject, from_seq=cursor + 1,
                  to_seq=up_to, pruned_below_seq=answer.pruned_below_seq, signed_by=answer.key_id)

    def _log(self, d: Delivery, env: Envelope[Any] | None, decision: Decision, started: float) -> None:
        MESSAGES_HANDLED.labels(self.service, self.subject, decision.outcome).inc()
        MESSAGE_SECONDS.labels(self.service, self.subject).observe(time.perf_counter() - started)
        level = log.info if decision.outcome in (Outcome.PROCESSED, Outcome.DUPLICATE) else log.warning
        # the log line's "event" is the message's subject, as the conventions ask
        level(
            self.subject, consumer=self.consumer,
            msg_id=env.id if env else d.headers.get(HEADER_MSG_ID),
            correlation_id=env.correlation_id if env else None,
            seq=d.headers.get(HEADER_SEQ), delivery=d.num_delivered, outcome=decision.outcome,
            reason=decision.reason, ms=round((time.perf_counter() - started) * 1000, 2),
        )


class _Poison(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Rollback(Exception):
    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.outcome)
        self.decision = decision


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None

"""Transactional outbox: write events with the state change; a relay publishes them.

Writing: ``await outbox.append(conn, event, ...)`` inside the service's transaction.

Relaying, in three steps so a crash anywhere loses and duplicates nothing:
1. sequence: give unsequenced rows their gapless per-subject ``seq`` and commit (stable from
   then on, so a re-publish after a crash carries the same sequence);
2. publish the sequenced, unsent rows in order with ``Nats-Msg-Id`` = row id (JetStream's
   duplicate window drops a re-send after a crash between publish and mark);
3. mark them sent.
Sent rows are kept ``retention_days`` so a consumer that sees a sequence gap can ask for a
re-publish (``_rf.republish.<owner>``): JetStream may lose acknowledged messages.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import asyncpg
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from ..errors import InvalidInput
from ..logging import get_logger
from ..settings import nats_servers
from ..telemetry import OUTBOX_BACKLOG, OUTBOX_PUBLISHED, inject_context
from . import repair
from .envelope import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_MSG_ID,
    HEADER_PRODUCER,
    HEADER_SEQ,
    Event,
    make_envelope,
)
from .signing import MAX_EVENT_BYTES, SigningKey
from .streams import ensure_stream
from .subjects import Namespace

__all__ = ["MAX_EVENT_BYTES", "MAX_PUBLISH_IN_FLIGHT", "OutboxBehindStream", "OutboxRelay", "append", "append_many", "check_size"]

MAX_PUBLISH_IN_FLIGHT = 4000
PUBLISH_STALL_SECONDS = 5.0
PUBACK_TIMEOUT_SECONDS = 10.0
PRUNE_EVERY_SECONDS = 3600.0
RELAY_BATCH_TIMEOUT_SECONDS = 120.0  # a batch (sequence, publish, mark) never takes this long when healthy
# A graceful stop publishes what was committed and not yet sent, within this: a service stopped
# for a restore of its database (docs/runbook.md) must leave no event its consumers never got.
STOP_FLUSH_SECONDS = 5.0
REPUBLISH_MAX_ROWS = 10_000
# A server that stops answering without closing the connection (a node cut off from the
# network, a paused process) is noticed only by unanswered PINGs: by nats-py's defaults (a
# PING every 2 min, stale after 2 unanswered) a service would stay on a lost cluster node for
# minutes; with these it gives up on it after ~12 s and reconnects to another server of NATS_URL.
PING_INTERVAL_SECONDS = 3
MAX_OUTSTANDING_PINGS = 2
log = get_logger("ruralfund.outbox")


def forget_stray_cancellation() -> None:
    """A CancelledError nobody asked this task for was caught (the relay's and consumers' loops
    keep going): clear any cancel request left pending (a timeout helper's), or the next
    ``asyncio.timeout`` would misread it."""
    task = asyncio.current_task()
    while task is not None and task.cancelling():
        task.uncancel()


def check_size(envelope: dict[str, Any]) -> None:
    """Refuse, before anything is written, an event its consumers would dead-letter as oversized.

    Measured as the relay will send it: PostgreSQL's jsonb text, which spaces like json.dumps'
    defaults and keeps non-ASCII characters as they are."""
    size = len(json.dumps(envelope, ensure_ascii=False).encode())
    if size > MAX_EVENT_BYTES:
        raise InvalidInput("EVENT_TOO_LARGE", f"the {envelope['type']} event would be {size} bytes, "
                           f"at most {MAX_EVENT_BYTES}", details={"bytes": size, "max_bytes": MAX_EVENT_BYTES},
                           detail_zh=f"此项更改产生的事件为 {size:,} 字节，超过上限 {MAX_EVENT_BYTES:,} 字节，"
                                     "未作任何更改；请减少提交的内容。")


async def append(
    conn: asyncpg.Connection,
    event: Event,
    *,
    source: str,
    aggregate_id: str,
    time: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    message_id: str | None = None,
    trace_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Add one event to the outbox in the caller's transaction; returns the envelope.

    The row keeps the current trace context (or ``trace_headers``, e.g. the context stored with
    an aggregate so its whole life is one trace) for the relay to send as NATS headers."""
    assert conn.is_in_transaction(), "outbox rows must be written in the state change's transaction"
    env = make_envelope(
        event, source=source, aggregate_id=aggregate_id, time=time,
        correlation_id=correlation_id, causation_id=causation_id, message_id=message_id,
    )
    check_size(env)
    await conn.execute(
        "INSERT INTO outbox (id, subject, envelope, headers) VALUES ($1, $2, $3, $4)",
        env["id"], event.SUBJECT, env, trace_headers or inject_context(),
    )
    return env


async def append_many(
    conn: asyncpg.Connection,
    events: list[tuple[Event, str, dict[str, str] | None]],
    *,
    source: str,
    time: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> list[dict[str, Any]]:
    """``append`` for many (event, aggregate id, trace headers) in one pipelined statement."""
    assert conn.is_in_transaction(), "outbox rows must be written in the state change's transaction"
    current = inject_context()
    envelopes = [make_envelope(e, source=source, aggregate_id=agg, time=time, correlation_id=correlation_id,
                               causation_id=causation_id) for e, agg, _ in events]
    for env in envelopes:
        check_size(env)
    await conn.executemany(
        "INSERT INTO outbox (id, subject, envelope, headers) VALUES ($1, $2, $3, $4)",
        [(env["id"], e.SUBJECT, env, headers or current) for env, (e, _, headers) in zip(envelopes, events, strict=True)],
    )
    return envelopes


_SEQUENCE_SQL = """
WITH batch AS (
    SELECT id, subject FROM outbox WHERE seq IS NULL ORDER BY id LIMIT $1 FOR UPDATE
), counts AS (
    SELECT subject, count(*) AS n FROM batch GROUP BY subject
), bumped AS (
    INSERT INTO outbox_sequence AS s (subject, last_seq)
    SELECT subject, n FROM counts
    ON CONFLICT (subject) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
    RETURNING subject, last_seq
), numbered AS (
    SELECT b.id, bumped.last_seq - c.n
           + row_number() OVER (PARTITION BY b.subject ORDER BY b.id) AS seq
    FROM batch b JOIN counts c USING (subject) JOIN bumped USING (subject)
)
UPDATE outbox o SET seq = numbered.seq FROM numbered WHERE o.id = numbered.id
RETURNING o.id
"""


_PRUNE_SQL = """
WITH kept AS (
    SELECT subject, min(seq) AS first_kept FROM outbox
    WHERE seq IS NOT NULL AND (sent_at IS NULL OR sent_at >= now() - make_interval(days => $1))
    GROUP BY subject
), gone AS (
    DELETE FROM outbox o
    WHERE o.sent_at < now() - make_interval(days => $1)
      AND o.seq < COALESCE((SELECT first_kept FROM kept WHERE kept.subject = o.subject), 9223372036854775807)
    RETURNING o.subject, o.seq
), marked AS (
    INSERT INTO outbox_pruned AS p (subject, pruned_below_seq)
    SELECT subject, max(seq) + 1 FROM gone GROUP BY subject
    ON CONFLICT (subject) DO UPDATE
    SET pruned_below_seq = GREATEST(p.pruned_below_seq, excluded.pruned_below_seq), pruned_at = now()
)
SELECT count(*) FROM gone
"""


class OutboxBehindStream(RuntimeError):
    """The producer's stream is ahead of its outbox: its database was restored (runbook)."""

    def __init__(self, producer: str, ahead: list[str]) -> None:
        super().__init__(
            f"{producer}'s stream holds events its outbox does not: was its database restored to an "
            f"earlier point? Run `ruralfund deploy after-restore {producer}` before starting it "
            f"(docs/runbook.md). {'; '.join(ahead[:10])}")
        self.ahead = ahead


class OutboxRelay:
    """Publishes one service's outbox to JetStream and answers re-publish requests."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        nats_url: str,
        *,
        producer: str,
        namespace: Namespace,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
        retention_days: int = 30,
        signing_key: SigningKey | None = None,
        replicas: int = 1,
        nats_options: dict[str, Any] | None = None,
    ) -> None:
        assert 1 <= batch_size <= 5000
        self.pool = pool
        self.nats_url = nats_url
        self.nats_options = dict(nats_options or {})  # e.g. {"tls": SSLContext}
        self.replicas = replicas
        self.producer = producer
        self.ns = namespace
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention_days = retention_days
        # Without a key (tests, development) the producer's deterministic dev key signs.
        self.signing_key = signing_key or SigningKey.dev(producer)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._nc: NatsClient | None = None
        self._js = None
        self._stopping = False
        self.published = 0

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._nc = await nats.connect(
            nats_servers(self.nats_url), name=f"ruralfund-{self.producer}-relay",
            max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=2,
            ping_interval=PING_INTERVAL_SECONDS, max_outstanding_pings=MAX_OUTSTANDING_PINGS,
            disconnected_cb=self._on_disconnected, reconnected_cb=self._on_reconnected,
            **self.nats_options,
        )
        self._js = js = self._nc.jetstream(publish_async_max_pending=MAX_PUBLISH_IN_FLIGHT)
        await ensure_stream(js, self.ns.stream(self.producer), self.ns.stream_subjects(self.producer),
                            replicas=self.replicas)
        ahead = await self.stream_ahead()
        if ahead:
            await self._nc.close()
            raise OutboxBehindStream(self.producer, ahead)
        await self._nc.subscribe(self.ns.republish_subject(self.producer), cb=self._on_republish)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.producer}")

    def _server(self) -> str:
        """host:port of the server the connection is on (never the URL: it may hold a password)."""
        url = self._nc.connected_url if self._nc is not None else None
        return f"{url.hostname}:{url.port}" if url is not None else "-"

    async def _on_disconnected(self) -> None:
        log.warning("nats_disconnected", producer=self.producer)

    async def _on_reconnected(self) -> None:
        # the operator sees which server of a cluster the service went on with
        log.info("nats_reconnected", producer=self.producer, server=self._server())

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self._flush()
        if self._nc and not self._nc.is_closed:
            # close, not drain: drain waits up to 30 s on pull subscriptions other code opened
            # on this connection, and nothing unacknowledged is lost (JetStream redelivers).
            try:
                await asyncio.wait_for(self._nc.flush(), timeout=2)
            except Exception:
                pass
            await self._nc.close()

    async def stream_ahead(self) -> list[str]:
        """Subjects on which the stream holds a sequence number of ours past the outbox's last.

        Never so in operation (a row's sequence commits before it is published); after the
        database was restored to an earlier point, the stream still holds what was published
        since. Publishing then would reuse those numbers, and every consumer already past them
        would drop the new events as duplicates, silently: the service must not start until
        ``ruralfund deploy after-restore`` has written them back (docs/runbook.md)."""
        assert self._js is not None
        stream = self.ns.stream(self.producer)
        info = await self._js.stream_info(stream, subjects_filter=self.ns.subject(f"{self.producer}.>"))
        subjects = list((info.state.subjects or {}).keys())
        if not subjects:
            return []
        async with self.pool.acquire() as conn:
            high = {r["subject"]: int(r["last_seq"]) for r in await conn.fetch(
                "SELECT subject, last_seq FROM outbox_sequence")}
        ahead = []
        for physical in subjects:
            headers = (await self._js.get_last_msg(stream, physical)).headers or {}
            if headers.get(HEADER_PRODUCER) != self.producer or HEADER_SEQ not in headers:
                continue  # a command sent to us, not one of our events
            logical, seq = self.ns.logical(physical), int(headers[HEADER_SEQ])
            if seq > high.get(logical, 0):
                ahead.append(f"{logical}: the stream holds seq {seq}, the outbox ends at {high.get(logical, 0)}")
        return ahead

    async def _flush(self) -> None:
        """Publish the rows committed but not yet sent (the consumers and the HTTP server have
        stopped writing by now). Without it, a row committed just before a stop waited for the
        next start; if the database was then restored to before it, nobody ever got it."""
        if self._nc is None or not self._nc.is_connected:
            return  # NATS down: the rows stay in the outbox, the next start sends them
        try:
            async with asyncio.timeout(STOP_FLUSH_SECONDS):
                while await self.relay_once():
                    pass
        except Exception as exc:  # never block a stop: the rows stay unsent, sent at the next start
            log.warning("outbox_flush_on_stop_failed", producer=self.producer, error=repr(exc))

    @property
    def nc(self) -> NatsClient:
        assert self._nc is not None, "relay not started"
        return self._nc

    def notify(self) -> None:
        """Wake the relay now (called after a transaction that wrote outbox rows commits)."""
        self._wake.set()

    async def _run(self) -> None:
        backoff = self.poll_seconds
        next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        while not self._stopping:
            # Cleared before looking, never after: a commit that calls notify() while
            # relay_once is reading finds the event set afterwards, so the wait below returns
            # at once. Cleared after an empty batch, that wake-up was lost and the row waited
            # a whole poll interval (the 200 ms outliers of benchmarks/approval.py).
            self._wake.clear()
            try:
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                    pruned = await self.prune()
                    if pruned:
                        log.info("outbox_pruned", producer=self.producer, rows=pruned)
                # bounded: a batch stuck on a connection broken by a PostgreSQL restart is
                # abandoned (nothing was marked sent) and retried on a fresh connection
                moved = await asyncio.wait_for(self.relay_once(), timeout=RELAY_BATCH_TIMEOUT_SECONDS)
                backoff = self.poll_seconds
                if moved:
                    continue
            except asyncio.CancelledError:
                if self._stopping:
                    raise
                # not stop(): library code under a dropped connection; the relay must go on
                forget_stray_cancellation()
                log.error("outbox_relay_cancelled_unexpectedly", producer=self.producer, exc_info=True)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # transient: database or NATS down; retry with backoff
                log.warning("outbox_relay_error", error=repr(exc), producer=self.producer)
                backoff = min(backoff * 2, 5.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            except TimeoutError:
                pass

    # -- the three steps ---------------------------------------------------------------------
    async def relay_once(self) -> int:
        """Sequence, publish and mark one batch. Returns how many rows were published."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                # one sequencer at a time per schema keeps sequences in commit-visibility order
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ruralfund.outbox.seq'))")
                await conn.fetch(_SEQUENCE_SQL, self.batch_size)
            rows = await conn.fetch(
                "SELECT id, subject, seq, envelope::text AS envelope, headers FROM outbox WHERE sent_at IS NULL AND seq IS NOT NULL "
                "ORDER BY seq, subject LIMIT $1",
                self.batch_size,
            )
            if not rows:
                OUTBOX_BACKLOG.labels(self.producer).set(0)
                return 0
            await self._publish_rows(rows, republish=False)
            await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::uuid[])", [r["id"] for r in rows])
        self.published += len(rows)
        OUTBOX_PUBLISHED.labels(self.producer).inc(len(rows))
        OUTBOX_BACKLOG.labels(self.producer).set(len(rows) if len(rows) == self.batch_size else 0)
        return len(rows)

    async def _publish_rows(self, rows: list[asyncpg.Record], *, republish: bool) -> None:
        assert self._js is not None
        # publish_async writes each message to the socket before returning, so messages leave
        # (and are stored by JetStream) in sequence order; the PubAcks are awaited together.
        stamp = time.time_ns()
        acks = []
        for r in rows:
            msg_id = str(r["id"]) if not republish else f"{r['id']}:r{stamp}"
            subject, data = self.ns.subject(r["subject"]), r["envelope"].encode()  # jsonb text as stored
            headers = self.signing_key.sign(subject, data, {
                **(r["headers"] or {}), HEADER_MSG_ID: msg_id, HEADER_SEQ: str(r["seq"]),
                HEADER_PRODUCER: self.producer, HEADER_CONTENT_TYPE: CONTENT_TYPE})
            acks.append(await self._js.publish_async(
                subject, data, headers=headers, stream=self.ns.stream(self.producer), wait_stall=PUBLISH_STALL_SECONDS,
            ))
        await asyncio.wait_for(asyncio.gather(*acks), timeout=PUBACK_TIMEOUT_SECONDS)

    # -- re-publish on request ---------------------------------------------------------------
    async def _on_republish(self, msg: Msg) -> None:
        """Answer a consumer's high-water or re-publish request, signed (repair.py says why)."""
        channel = self.ns.republish_subject(self.producer)
        try:
            req = json.loads(msg.data)
            subject, nonce = str(req["subject"]), repair.checked_nonce(req.get("nonce"))
            if req.get("high_water"):
                async with self.pool.acquire() as conn:
                    high, pruned = await self._watermarks(conn, subject)
                body = repair.answer_bytes(kind=repair.KIND_HIGH_WATER, owner=self.producer, subject=subject,
                                           nonce=nonce, high_water_seq=high, pruned_below_seq=pruned)
            else:
                body = await self._republish(subject, nonce, int(req["from_seq"]), int(req["to_seq"]))
        except Exception as exc:
            body = json.dumps({"error": repr(exc)[:500]}).encode()
        if msg.reply:
            await self.nc.publish(msg.reply, body, headers=self.signing_key.sign_answer(channel, body))

    async def _republish(self, subject: str, nonce: str, lo: int, hi: int) -> bytes:
        hi = min(hi, lo + REPUBLISH_MAX_ROWS - 1)
        async with self.pool.acquire() as conn:
            # one snapshot: a prune between reading the rows and the mark must not make the
            # answer say "pruned" of rows it is re-publishing
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                rows = await conn.fetch(
                    "SELECT id, subject, seq, envelope::text AS envelope, headers FROM outbox WHERE subject = $1 "
                    "AND seq BETWEEN $2 AND $3 AND sent_at IS NOT NULL ORDER BY seq",
                    subject, lo, hi,
                )
                high, pruned = await self._watermarks(conn, subject)
        await self._publish_rows(rows, republish=True)
        log.warning("outbox_republished", subject=subject, from_seq=lo, to_seq=hi, count=len(rows),
                    pruned_below_seq=pruned)
        return repair.answer_bytes(kind=repair.KIND_REPUBLISH, owner=self.producer, subject=subject, nonce=nonce,
                                   high_water_seq=high, pruned_below_seq=pruned, from_seq=lo, to_seq=hi,
                                   republished=len(rows))

    @staticmethod
    async def _watermarks(conn: asyncpg.Connection, subject: str) -> tuple[int, int]:
        """(high water, pruned below) of ``subject``: the last sequence published (0 when none),
        what an idle consumer compares with its cursor to find a lost tail that no later message
        would reveal; and the sequence below which every row was pruned for good (1: none)."""
        row = await conn.fetchrow(
            "SELECT (SELECT max(seq) FROM outbox WHERE subject = $1 AND sent_at IS NOT NULL) AS sent, "
            "(SELECT pruned_below_seq FROM outbox_pruned WHERE subject = $1) AS pruned", subject)
        pruned = int(row["pruned"] or 1)
        return max(int(row["sent"] or 0), pruned - 1), pruned

    async def prune(self) -> int:
        """Drop sent rows older than the retention period (kept for re-publish until then).

        Per subject only a prefix goes (never a row below one still kept), and the mark below
        which everything is gone is recorded in the same transaction: that mark is the only
        thing that lets a consumer skip sequences it never applied."""
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval(_PRUNE_SQL, self.retention_days))

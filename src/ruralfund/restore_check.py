"""After one service's database was restored to a point in time: what it had published since.

A service's JetStream stream keeps every event it published; its outbox (restored) no longer
holds those published after the restore point. Left alone, two things go wrong silently:

- the relay gives the next events the same per-subject sequence numbers again, and every
  consumer whose cursor is already past them drops them as duplicates (a payment executed
  after the restore would never reach claims or notify);
- whatever those lost events said happened (a payment executed, money sent to the bank) is
  unknown to the restored service, yet known to everyone else.

This module reads the stream from shortly before the restored outbox's last publication,
keeps the messages the service itself signed (``Ruralfund-Producer`` = the service, a valid
signature of a key trusted for the subject), and compares them with the restored outbox:

- *orphans*: events in the stream whose row is gone (published after the restore point);
- *unsent*: rows the restored outbox still has as unsent (or unsequenced) although the stream
  shows them published: published before the restore point's state was saved, not marked sent;
- *collisions*: a restored row holds a sequence number the stream gives to another event: the
  service ran after the restore before this check, and the two histories are mixed (a person
  must sort it out; nothing is changed).

``apply`` writes the orphans back into the outbox as sent rows (same id, sequence, envelope),
marks the unsent ones sent with their stream sequence, and raises ``outbox_sequence`` to the
stream's high-water mark, all in one transaction. Then the service's next events continue the
sequence its consumers know, the repair channel can re-publish any of them again, and funds
refuses to pay an award again whose payment its own history says was executed (funds'
``require_not_paid_before_restore``). What those events did is NOT put back into the service's
state (an executed payment stays unknown to funds' ledger): that is for a person, with the
bank statement (docs/runbook.md, "Restore funds' database to a point in time").
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["MONEY_SUBJECTS", "Published", "RestoreReport", "apply_report", "check_restore"]

#: Events that say money left the joint account: each one after the restore point is a
#: payment the bank may have made that the restored database does not know.
MONEY_SUBJECTS: Final = frozenset({
    "funds.evt.payment_executed.v1",
    "funds.evt.contract_payment_executed.v1",
    "funds.evt.preallocation_executed.v1",
})
#: The stream is read from this long before the restored outbox's last publication: the NATS
#: server's clock and PostgreSQL's may differ, and reading a little more costs nothing.
CLOCK_MARGIN: Final = timedelta(minutes=10)
FETCH_BATCH: Final = 256
FETCH_TIMEOUT_S: Final = 2.0
#: Headers the relay sets at each publication; the rest (trace context) is the row's own.
_TRANSPORT_HEADERS: Final = frozenset({
    "Nats-Msg-Id", "Ruralfund-Seq", "Ruralfund-Producer", "content-type", "Ruralfund-Key-Id",
    "Ruralfund-Signature", "Nats-Expected-Stream",
})


@dataclass
class Published:
    """One event the stream holds (first copy of its sequence number)."""

    subject: str  # logical
    seq: int
    id: str
    type: str
    time: str
    aggregate_id: str | None
    stream_seq: int
    money: bool
    data: dict[str, Any] = field(repr=False)
    envelope_text: str = field(repr=False, default="")
    headers: dict[str, str] = field(repr=False, default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("data", "envelope_text", "headers")}
        for key in ("award_id", "payment_id", "claim_id", "payee_credit_code", "payee_name", "amount_fen",
                    "executed_at"):
            if key in self.data:
                out[key] = self.data[key]
        return out


@dataclass
class RestoreReport:
    service: str
    outbox_high_water: dict[str, int]  # subject -> last_seq of the restored outbox
    stream_high_water: dict[str, int]  # subject -> highest Ruralfund-Seq the stream holds
    orphans: list[Published]
    unsent: list[Published]
    collisions: list[str]
    unverified: list[str]  # messages on the service's subjects that it did not sign
    read_from: str | None

    @property
    def money(self) -> list[Published]:
        return [p for p in self.orphans if p.money]

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "read_from": self.read_from,
            "outbox_high_water": self.outbox_high_water, "stream_high_water": self.stream_high_water,
            "orphans": [p.summary() for p in self.orphans], "unsent": [p.summary() for p in self.unsent],
            "money": [p.summary() for p in self.money], "collisions": self.collisions,
            "unverified": self.unverified,
        }


async def check_restore(conn: Any, js: Any, *, service: str, namespace: Any, trusted: Any) -> RestoreReport:
    """Compare ``service``'s restored outbox (``conn``, search_path irrelevant: names are
    qualified) with its stream (``js``, JetStream context of an ops connection)."""
    import nats.errors
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    schema = _schema(service)
    high = {r["subject"]: int(r["last_seq"]) for r in await conn.fetch(
        f'SELECT subject, last_seq FROM "{schema}".outbox_sequence')}
    last_sent = await conn.fetchval(f'SELECT max(sent_at) FROM "{schema}".outbox')
    start = (last_sent - CLOCK_MARGIN) if last_sent is not None else None
    config = ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=60.0,
                            deliver_policy=DeliverPolicy.BY_START_TIME if start else DeliverPolicy.ALL,
                            opt_start_time=start.astimezone(UTC).isoformat() if start else None)
    stream = namespace.stream(service)
    sub = await js.pull_subscribe(namespace.subject(f"{service}.>"), stream=stream, config=config)
    found: dict[tuple[str, int], Published] = {}
    unverified: list[str] = []
    stream_high: dict[str, int] = {}
    try:
        while True:
            try:
                msgs = await sub.fetch(FETCH_BATCH, timeout=FETCH_TIMEOUT_S)
            except (TimeoutError, nats.errors.TimeoutError):
                break  # nothing more
            for m in msgs:
                _take(m, service, namespace, trusted, found, unverified, stream_high)
            if msgs and msgs[-1].metadata.num_pending == 0:
                break
    finally:
        # best effort: the ephemeral consumer also expires by itself (inactive_threshold)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
            await js.delete_consumer(stream, config.name)
    ids = [p.id for p in found.values()]
    rows = {r["id"]: r for r in await conn.fetch(
        f'SELECT id::text AS id, subject, seq, sent_at FROM "{schema}".outbox WHERE id = ANY($1::uuid[])', ids)}
    taken = {(r["subject"], int(r["seq"])): r["id"] for r in await conn.fetch(
        f'SELECT id::text AS id, subject, seq FROM "{schema}".outbox WHERE seq IS NOT NULL AND '
        f'(subject, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))',
        [k[0] for k in found], [k[1] for k in found])}
    orphans, unsent, collisions = [], [], []
    for key, pub in sorted(found.items()):
        owner = taken.get(key)
        if owner is not None and owner != pub.id:
            collisions.append(f"{pub.subject} seq {pub.seq}: the stream has event {pub.id}, the restored "
                              f"outbox row {owner}")
            continue
        row = rows.get(pub.id)
        if row is None:
            orphans.append(pub)
        elif row["sent_at"] is None or row["seq"] is None or int(row["seq"]) != pub.seq:
            unsent.append(pub)
    return RestoreReport(service, high, stream_high, orphans, unsent, collisions, unverified,
                         start.isoformat() if start else None)


def _take(m: Any, service: str, namespace: Any, trusted: Any, found: dict[tuple[str, int], Published],
          unverified: list[str], stream_high: dict[str, int]) -> None:
    from ruralfund_common.messaging.signing import SignatureRejected

    headers = dict(m.headers or {})
    if headers.get("Ruralfund-Producer") != service or "Ruralfund-Seq" not in headers:
        return  # a command sent to the service, or a dead letter: not its outbox
    logical = namespace.logical(m.subject)
    try:
        trusted.verify(m.subject, logical, m.data, headers)
    except SignatureRejected as r:
        unverified.append(f"stream seq {m.metadata.sequence.stream} on {logical}: {r}")
        return
    seq = int(headers["Ruralfund-Seq"])
    stream_high[logical] = max(stream_high.get(logical, 0), seq)
    if (logical, seq) in found:
        return  # a re-published copy of the same event
    envelope = json.loads(m.data)
    found[(logical, seq)] = Published(
        subject=logical, seq=seq, id=str(envelope["id"]), type=str(envelope.get("type")),
        time=str(envelope.get("time")), aggregate_id=envelope.get("aggregate_id") or envelope.get("subject"),
        stream_seq=m.metadata.sequence.stream, money=logical in MONEY_SUBJECTS,
        data=envelope.get("data") or {}, envelope_text=m.data.decode(),
        headers={k: v for k, v in headers.items() if k not in _TRANSPORT_HEADERS},
    )


async def apply_report(conn: Any, report: RestoreReport) -> dict[str, int]:
    """Write the orphans back as sent rows, mark the unsent ones sent, raise the sequences."""
    if report.collisions:
        raise ValueError("the restored outbox and the stream disagree on sequence numbers; nothing changed")
    schema = _schema(report.service)
    now = datetime.now(UTC)
    async with conn.transaction():
        for p in report.orphans:
            await conn.execute(
                f'INSERT INTO "{schema}".outbox (id, subject, envelope, headers, seq, sent_at) '
                "VALUES ($1::uuid, $2, $3::jsonb, $4::jsonb, $5, $6)",
                p.id, p.subject, p.envelope_text, json.dumps(p.headers), p.seq, now)
        for p in report.unsent:
            await conn.execute(f'UPDATE "{schema}".outbox SET seq = $2, sent_at = COALESCE(sent_at, $3) '
                               "WHERE id = $1::uuid", p.id, p.seq, now)
        for subject, seq in report.stream_high_water.items():
            await conn.execute(
                f'INSERT INTO "{schema}".outbox_sequence AS s (subject, last_seq) VALUES ($1, $2) '
                "ON CONFLICT (subject) DO UPDATE SET last_seq = GREATEST(s.last_seq, excluded.last_seq)",
                subject, seq)
    return {"orphans_restored": len(report.orphans), "unsent_marked_sent": len(report.unsent),
            "subjects": len(report.stream_high_water)}


def _schema(service: str) -> str:
    if not service.isidentifier():
        raise ValueError(f"bad service name {service!r}")
    return service

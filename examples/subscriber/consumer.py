"""A worked example: an outside system that subscribes to ruralfund's events.

Standalone on purpose: it uses only public tools (nats-py, httpx, cryptography, the official
``cloudevents`` SDK and the standard library), never ruralfund's own packages, because an
integrator has none of them. What it does for every event, in this order (docs/integrating.md):

1. verify the Ed25519 signature with a key the event's owner publishes at
   ``/.well-known/ruralfund/event-keys``, scoped to the event's subject; an unsigned or forged
   message is reported and dropped, and changes nothing here (not even the position);
2. check the per-subject sequence (``Ruralfund-Seq``, gapless from 1): at or below the position
   it is a duplicate (acknowledged, dropped); above the next expected one a message is missing,
   so the event is reported as a gap and held back (negatively acknowledged, JetStream delivers
   it again later) until the missing one arrives, e.g. after the owner re-published it;
3. parse the body with the ``cloudevents`` SDK (structured mode, JSON);
4. store the event and the new position in ONE SQLite transaction, then acknowledge. A crash
   before the commit redelivers the event; a crash after it but before the ack redelivers it
   too, and step 2 drops it. So a restart neither loses nor repeats an event.

Run it (the password comes from the environment, not the command line, where ``ps`` shows it):

    export SUBSCRIBER_NATS_URL=nats://subscriber:$PASSWORD@nats.example:4222
    python consumer.py --keys claims=https://claims.example --keys funds=https://funds.example

It reads the events of each owner named with ``--keys`` through its own durable pull consumer
``ext_<NATS user>`` on that owner's stream (the only one its read-only NATS user may use), and
receives on the inbox prefix ``_INBOX_<NATS user>`` (the only one it may listen on).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
import nats.errors
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

OWNERS = ("claims", "funds", "logistics", "notify")
KEYS_PATH = "/.well-known/ruralfund/event-keys"
SIGNATURE_LABEL = b"ruralfund-event-signature-v1"
MAX_EVENT_BYTES = 512 * 1024  # ruralfund never publishes more; refuse bigger before verifying
FETCH_BATCH = 20
FETCH_WAIT_SECONDS = 2.0
ACK_WAIT_SECONDS = 30
# A held-back event (a gap) comes again after this long, growing with each try up to the cap.
GAP_RETRY_SECONDS, GAP_RETRY_MAX_SECONDS = 0.5, 10.0
# An unknown key id makes us re-read the owner's keys (a rotation), but not more often than this:
# a flood of forged key ids must not become a flood of HTTP requests.
KEY_REFRESH_MIN_SECONDS = 30.0

log = logging.getLogger("subscriber")


# --------------------------------------------------------------------------- keys and signatures


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def scope_matches(scope: str, subject: str) -> bool:
    """NATS-style filter on the subject without its namespace: ``claims.>`` matches
    ``claims.evt.claim_approved.v1``; ``*`` is one token, ``>`` one or more at the end."""
    pattern, tokens = scope.split("."), subject.split(".")
    for i, p in enumerate(pattern):
        if p == ">":
            return len(tokens) > i
        if i >= len(tokens) or p not in ("*", tokens[i]):
            return False
    return len(tokens) == len(pattern)


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: Ed25519PublicKey
    scopes: tuple[str, ...]


class Refused(Exception):
    """A message we do not act on. ``code``: UNSIGNED, UNKNOWN_KEY, WRONG_SIGNER, BAD_SIGNATURE,
    OVERSIZED, NO_SEQUENCE, NOT_A_CLOUDEVENT."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


class OwnerKeys:
    """The keys one owner publishes; only these may sign that owner's events."""

    def __init__(self, owner: str, base_url: str, http: httpx.AsyncClient, allow_development: bool) -> None:
        self.owner, self.url, self.http = owner, base_url.rstrip("/") + KEYS_PATH, http
        self.allow_development = allow_development
        self.keys: dict[str, PublicKey] = {}
        self.fetched_at = float("-inf")

    async def refresh(self) -> None:
        r = await self.http.get(self.url)
        r.raise_for_status()
        keys = {}
        for k in r.json()["keys"]:
            if k.get("development") and not self.allow_development:
                continue  # the deterministic dev keys: anyone can sign with them
            keys[k["key_id"]] = PublicKey(k["key_id"], Ed25519PublicKey.from_public_bytes(b64url(k["public_key"])),
                                          tuple(k["scopes"]))
        self.keys, self.fetched_at = keys, time.monotonic()
        log.info("keys %s: %s", self.owner, ", ".join(sorted(keys)) or "(none)")

    async def verify(self, subject: str, logical_subject: str, headers: dict[str, str], data: bytes) -> str:
        """The signing key id, or Refused. ``subject`` as received (with the namespace)."""
        key_id, signature = headers.get("Ruralfund-Key-Id"), headers.get("Ruralfund-Signature")
        if not key_id or not signature:
            raise Refused("UNSIGNED", "no Ruralfund-Key-Id / Ruralfund-Signature header")
        if key_id not in self.keys and time.monotonic() - self.fetched_at > KEY_REFRESH_MIN_SECONDS:
            await self.refresh()  # maybe a key rotation since we last looked
        key = self.keys.get(key_id)
        if key is None:
            raise Refused("UNKNOWN_KEY", f"{self.owner} does not publish key {key_id[:64]!r}")
        if not any(scope_matches(s, logical_subject) for s in key.scopes):
            raise Refused("WRONG_SIGNER", f"key {key_id} may sign {', '.join(key.scopes)}, not {logical_subject}")
        # the signed bytes: each field as "<length>:<bytes>\n", then the payload as received
        fields = [SIGNATURE_LABEL, key_id.encode(), subject.encode(), headers.get("Nats-Msg-Id", "").encode(),
                  headers.get("Ruralfund-Seq", "").encode()]
        signed = b"".join(b"%d:%s\n" % (len(f), f) for f in fields) + data
        try:
            key.key.verify(b64url(signature), signed)
        except (InvalidSignature, ValueError):
            raise Refused("BAD_SIGNATURE", f"the signature by {key_id} does not match the message") from None
        return key_id


# --------------------------------------------------------------------------- our own state


class Store:
    """This subscriber's SQLite file: what it applied, its position per subject, and what it
    refused or found missing (the report an operator reads)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit below
        self.db.execute("PRAGMA journal_mode=WAL")  # readers (a report, a test) never block us
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS events (
                id TEXT PRIMARY KEY, subject TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
                source TEXT NOT NULL, time TEXT, correlationid TEXT, data TEXT, signed_by TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS positions (subject TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS refused (
                at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, subject TEXT NOT NULL, msg_id TEXT,
                code TEXT NOT NULL, detail TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS gaps (
                subject TEXT NOT NULL, expected_seq INTEGER NOT NULL, got_seq INTEGER NOT NULL,
                first_seen TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (subject, expected_seq, got_seq));
        """)

    def position(self, subject: str) -> int:
        row = self.db.execute("SELECT last_seq FROM positions WHERE subject = ?", (subject,)).fetchone()
        return row[0] if row else 0

    def apply(self, subject: str, seq: int, event: CloudEvent, signed_by: str) -> None:
        """The event and the position move together or not at all. (Here "applying" an event is
        storing it; a real integration would update its own tables in this same transaction.)"""
        time_ = event.get_time()
        with self._transaction():
            self.db.execute(
                "INSERT INTO events (id, subject, seq, type, source, time, correlationid, data, signed_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.get_id(), subject, seq, event.get_type(), event.get_source(),
                 time_.isoformat() if time_ else None, event.get_extension("correlationid"),
                 json.dumps(event.get_data(), ensure_ascii=False), signed_by))
            self._move(subject, seq)

    def refused(self, subject: str, msg_id: str | None, code: str, detail: str,
                skip_seq: int | None = None) -> None:
        """Report a message; ``skip_seq``: a genuine one we cannot use, whose position is used up."""
        with self._transaction():
            self.db.execute("INSERT INTO refused (subject, msg_id, code, detail) VALUES (?, ?, ?, ?)",
                            (subject, msg_id, code, detail[:1000]))
            if skip_seq is not None:
                self._move(subject, skip_seq)

    def _move(self, subject: str, seq: int) -> None:
        self.db.execute("INSERT INTO positions (subject, last_seq) VALUES (?, ?) "
                        "ON CONFLICT (subject) DO UPDATE SET last_seq = excluded.last_seq", (subject, seq))

    def gap(self, subject: str, expected: int, got: int) -> None:
        with self._transaction():
            self.db.execute("INSERT OR IGNORE INTO gaps (subject, expected_seq, got_seq) VALUES (?, ?, ?)",
                            (subject, expected, got))

    def _transaction(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db  # `with connection:` commits, or rolls back on an exception


# --------------------------------------------------------------------------- one message


def report(outcome: str, **fields: object) -> None:
    """One JSON line per message on stdout: what happened and why."""
    print(json.dumps({"outcome": outcome, **fields}, ensure_ascii=False), flush=True)


class Subscriber:
    def __init__(self, store: Store, keys: dict[str, OwnerKeys], namespace: str) -> None:
        self.store, self.keys, self.namespace = store, keys, namespace

    def logical(self, subject: str) -> str:
        prefix = f"{self.namespace}." if self.namespace else ""
        return subject[len(prefix):] if prefix and subject.startswith(prefix) else subject

    async def handle(self, msg) -> None:
        headers = dict(msg.headers or {})
        subject, msg_id = self.logical(msg.subject), headers.get("Nats-Msg-Id")
        try:
            if len(msg.data) > MAX_EVENT_BYTES:
                raise Refused("OVERSIZED", f"{len(msg.data)} bytes")
            signed_by = await self.keys[subject.split(".", 1)[0]].verify(msg.subject, subject, headers, msg.data)
            seq_text = headers.get("Ruralfund-Seq", "")
            if not seq_text.isdigit():
                raise Refused("NO_SEQUENCE", f"Ruralfund-Seq is {seq_text!r}")
        except Refused as r:
            # Unverified: nothing in it (its id, its sequence) may change our state. Terminated,
            # so JetStream does not deliver it again; the report says what and why.
            self.store.refused(subject, msg_id, r.code, r.detail)
            report("refused", subject=subject, msg_id=msg_id, code=r.code, detail=r.detail)
            await msg.term()
            return
        seq, last = int(seq_text), self.store.position(subject)
        if seq <= last:  # a redelivery after a crash, or a re-publish of what we have
            report("duplicate", subject=subject, seq=seq, msg_id=msg_id)
            await msg.ack()
            return
        if seq > last + 1:
            # Someone lost seq last+1 .. seq-1 (JetStream may lose acknowledged messages).
            # Acting on this one would skip them for good: hold it and say so.
            self.store.gap(subject, last + 1, seq)
            report("gap", subject=subject, expected_seq=last + 1, got_seq=seq, msg_id=msg_id)
            tries = msg.metadata.num_delivered
            await msg.nak(delay=min(GAP_RETRY_SECONDS * tries, GAP_RETRY_MAX_SECONDS))
            return
        try:
            event = from_http(HTTPMessage(headers=headers, body=msg.data), JSONFormat(), CloudEvent)
            if event.get_type() != subject:
                raise BaseCloudEventException(f"type {event.get_type()!r} on subject {subject}")
        except (BaseCloudEventException, ValueError) as exc:
            # Signed by its owner, in sequence, yet unreadable: a contract problem to report.
            # Its position is used up, or every later event on the subject would wait forever.
            self.store.refused(subject, msg_id, "NOT_A_CLOUDEVENT", str(exc), skip_seq=seq)
            report("refused", subject=subject, msg_id=msg_id, code="NOT_A_CLOUDEVENT", detail=str(exc))
            await msg.ack()
            return
        self.store.apply(subject, seq, event, signed_by)
        report("applied", subject=subject, seq=seq, id=event.get_id(), signed_by=signed_by)
        await msg.ack()  # after the commit: a crash in between only means a duplicate later


# --------------------------------------------------------------------------- the loop


def stream_name(namespace: str, owner: str) -> str:
    return f"{namespace.upper()}_{owner.upper()}" if namespace else f"RURALFUND_{owner.upper()}"


async def consume(sub, subscriber: Subscriber, stopping: asyncio.Event) -> None:
    """Pull batches and handle them one at a time, in stream order (per-subject order matters)."""
    while not stopping.is_set():
        try:
            msgs = await sub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_SECONDS)
        except (TimeoutError, nats.errors.TimeoutError):
            continue  # nothing new
        except nats.errors.Error as exc:  # reconnecting: nats-py comes back by itself
            log.warning("fetch failed (%r), trying again", exc)
            await asyncio.sleep(1)
            continue
        for msg in msgs:
            try:
                await subscriber.handle(msg)
            except Exception:  # the keys endpoint down, a full disk...: later, never dropped
                log.exception("could not handle a message on %s; it comes again", msg.subject)
                with contextlib.suppress(Exception):  # without the NAK it comes after ack_wait
                    await msg.nak(delay=GAP_RETRY_MAX_SECONDS)


async def run(args: argparse.Namespace) -> None:
    url = args.nats_url
    user = args.user or urlsplit(url).username or "subscriber"
    durable, inbox = f"ext_{user}", f"_INBOX_{user}"
    store = Store(args.state)
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stopping.set)
    async with httpx.AsyncClient(timeout=10) as http:
        keys = {owner: OwnerKeys(owner, base, http, args.allow_development_keys) for owner, base in args.keys}
        for owner_keys in keys.values():
            await owner_keys.refresh()
        subscriber = Subscriber(store, keys, args.namespace)
        nc = await nats.connect(url, inbox_prefix=inbox, name=f"ruralfund-subscriber-{user}",
                                max_reconnect_attempts=-1, reconnect_time_wait=1)
        try:
            js = nc.jetstream(timeout=10)
            tasks = []
            for owner in keys:
                prefix = f"{args.namespace}." if args.namespace else ""
                # Created on first use, found again on every later start. Unbounded redelivery:
                # a held-back event (a gap) must not be dropped after some number of tries.
                sub = await js.pull_subscribe(
                    f"{prefix}{owner}.evt.>", durable=durable, stream=stream_name(args.namespace, owner),
                    config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                          ack_wait=ACK_WAIT_SECONDS, max_deliver=-1))
                tasks.append(asyncio.create_task(consume(sub, subscriber, stopping)))
            report("ready", durable=durable, owners=list(keys))
            await stopping.wait()
            await asyncio.gather(*tasks)  # each finishes the batch in hand
        finally:
            await nc.close()
            store.db.close()


def owner_url(text: str) -> tuple[str, str]:
    owner, sep, base = text.partition("=")
    if not sep or owner not in OWNERS or not base.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected OWNER=URL with OWNER one of {', '.join(OWNERS)}: {text!r}")
    return owner, base


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nats-url", default=os.environ.get("SUBSCRIBER_NATS_URL"),
                   help="nats://USER:PASSWORD@HOST:PORT (default: $SUBSCRIBER_NATS_URL)")
    p.add_argument("--user", help="NATS user name, when not in the URL (names the durable and the inbox)")
    p.add_argument("--keys", type=owner_url, action="append", required=True, metavar="OWNER=URL",
                   help="an owner whose events to read, and its base URL (serves " + KEYS_PATH + "); repeat")
    p.add_argument("--namespace", default="", help="the deployment's RURALFUND_NAMESPACE, if any")
    p.add_argument("--state", type=Path, default=Path("subscriber.sqlite3"), help="this subscriber's SQLite file")
    p.add_argument("--allow-development-keys", action="store_true",
                   help="trust the deterministic dev keys (make run, tests); never in production")
    args = p.parse_args(argv)
    if not args.nats_url:
        p.error("--nats-url or $SUBSCRIBER_NATS_URL is required")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

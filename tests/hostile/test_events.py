"""Hostile events: every subject each service subscribes to, fed what an attacker or a broken
producer would send. Each must be dead-lettered on ``dlq.<service>.<subject>`` with a reason
naming what was wrong, change nothing in the service's tables, and not stop the consumer: a
valid event sent after them is handled.

The subjects come from the services' own EventRouters (nothing listed by hand), so a new
subscription is covered the day it is added. The four services run in-process, side by side
in one namespace (a subject two services consume is dead-lettered by both).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from typing import Any, Final

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from ruralfund_common.messaging import MAX_EVENT_BYTES, Event, EventRouter, Namespace, SigningKey
from ruralfund_common.messaging.envelope import (
    HEADER_MSG_ID,
    HEADER_REDRIVEN,
    HEADER_SEQ,
    encode,
    make_envelope,
)
from ruralfund_common.messaging.signing import DEV_GATEWAY
from ruralfund_common.messaging.subjects import owner_of
from ruralfund_common.testing.services import running_service, service_settings
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

SERVICES: Final = ("claims", "funds", "logistics", "notify")
CASE_HEADER: Final = "X-Hostile-Case"
# what each hostile message is, and the reason code its dead letter must carry
CASES: Final[dict[str, str]] = {
    "malformed_json": "INVALID_JSON",
    "contract_violation": "INVALID_CONTRACT",
    "oversized": "OVERSIZED",
    "wrong_version": "WRONG_VERSION",
    "unsigned": "UNSIGNED",
    "wrong_owner": "WRONG_SIGNER",
    "bad_signature": "BAD_SIGNATURE",
    "unsigned_redrive": "UNSIGNED_REDRIVE",
}
# Reasons that mean "stopped at the door": a valid event must never get one.
TRANSPORT_REASONS: Final = {*CASES.values(), "INVALID_ENVELOPE", "WRONG_TYPE", "UNKNOWN_SIGNING_KEY"}
NOW: Final = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Subscription:
    service: str
    consumer: str  # durable name, as the framework builds it
    model: type[Event]


def subscriptions() -> list[Subscription]:
    """Every (service, consumer, contract) the services' EventRouters declare."""
    found = []
    for svc in SERVICES:
        router: EventRouter = import_module(f"ruralfund_{svc}.entrypoints.subscribers").events
        found += [Subscription(svc, f"{svc}__{name}", model) for model, _handler, name in router.subscriptions]
    return found


# ---------------------------------------------------------------------------- valid samples

# Values for the constrained string types of the contracts (ruralfund_common.contracts._types).
_PATTERN_SAMPLES: Final = {
    r"^[a-z0-9][a-z0-9-]{0,63}$": "hostile-code",
    r"^\d{6}$": "530427",
    r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$": "91530427MA6K5XQ21X",
    r"^[0-9a-f]{64}$": "0" * 64,  # a SHA-256 in hex (ledger checkpoints' root hash)
}
_FORMAT_SAMPLES: Final = {
    "date": "2026-03-02", "date-time": "2026-03-02T10:00:00+08:00", "uuid": "0195a1d2-0000-7000-8000-000000000001",
}


def sample(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A small value that satisfies ``schema`` (the subset of JSON Schema pydantic emits for
    the contracts); the test checks the result against the model, so a gap here fails loudly."""
    if "$ref" in schema:
        return sample(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample(options[0], defs)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample(props[name], defs) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}), defs) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        if "minimum" in schema:
            return max(schema["minimum"], 1) if schema.get("maximum", 1) >= 1 else schema["minimum"]
        return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "string":
        if "pattern" in schema:
            return _PATTERN_SAMPLES[schema["pattern"]]
        if "format" in schema:
            return _FORMAT_SAMPLES[schema["format"]]
        return "h" * max(1, schema.get("minLength", 1))
    return {}


def valid_data(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema()
    data = sample(schema, schema.get("$defs", {}))
    model.model_validate(data)  # the sample must be a valid event, or the test proves nothing
    return data


# ---------------------------------------------------------------------------- publishing


class Publisher:
    """Publishes straight to JetStream as a producer (or an attacker) would."""

    def __init__(self, nc: NatsClient, namespace: str) -> None:
        self.js = nc.jetstream()
        self.ns = Namespace(namespace)

    @staticmethod
    def owner_key(subject: str) -> SigningKey:
        # commands come from outside systems' gateways, events from their owning service
        return SigningKey.dev(DEV_GATEWAY if ".cmd." in subject else owner_of(subject))

    def envelope(self, model: type[Event], *, type_: str | None = None, data: Any = None) -> tuple[str, bytes]:
        mid = str(uuid.uuid4())
        env = make_envelope(model.model_validate(valid_data(model)), source=owner_of(model.SUBJECT),
                            aggregate_id="hostile", time=NOW, message_id=mid)
        if type_ is not None:
            env["type"] = type_
        if data is not None:
            env["data"] = data
        return mid, encode(env)

    async def send(self, logical: str, payload: bytes, *, msg_id: str, case: str,
                   key: SigningKey | None, seq: str | None = None, tamper: bool = False,
                   extra: dict[str, str] | None = None) -> None:
        subject = self.ns.subject(logical)
        headers = {HEADER_MSG_ID: msg_id, CASE_HEADER: case, **(extra or {})}
        if seq is not None:
            headers[HEADER_SEQ] = seq
        if key is not None:
            headers = key.sign(subject, payload, headers)
        if tamper:  # signed, then one byte of the payload changed on the way
            tampered = payload.replace(b'"hostile"', b'"h0stile"', 1)
            assert tampered != payload
            payload = tampered
        ack = await self.js.publish(subject, payload, headers=headers, stream=self.ns.stream(owner_of(logical)))
        assert not ack.duplicate

    async def hostile(self, model: type[Event]) -> list[str]:
        """The eight hostile messages for one subject; returns their message ids."""
        logical, owner = model.SUBJECT, self.owner_key(model.SUBJECT)
        wrong = SigningKey.dev("funds" if owner_of(logical) != "funds" else "claims")
        sent = []

        async def send(case: str, payload: bytes, key: SigningKey | None, **kw: Any) -> None:
            mid = f"hostile-{case}-{uuid.uuid4()}"
            # a forged, far-ahead producer sequence: it must not move any consumer's cursor
            await self.send(logical, payload, msg_id=mid, case=case, key=key, seq="1000000", **kw)
            sent.append(mid)

        await send("malformed_json", b'{"id": "x", "type": ' + logical.encode(), owner)
        await send("contract_violation", self.envelope(model, data={"unexpected": True, "amount_fen": -1.5})[1], owner)
        oversized = json.loads(self.envelope(model)[1])
        oversized["padding"] = "x" * MAX_EVENT_BYTES  # valid otherwise: extra members are ignored
        await send("oversized", encode(oversized), owner)
        name, _, version = logical.rpartition(".v")
        await send("wrong_version", self.envelope(model, type_=f"{name}.v{int(version) + 1}")[1], owner)
        await send("unsigned", self.envelope(model)[1], None)
        await send("wrong_owner", self.envelope(model)[1], wrong)
        await send("bad_signature", self.envelope(model)[1], owner, tamper=True)
        # rightly signed by its producer, but marked redriven (outside the sequence check)
        # without the operator's signature over the mark: a replay out of order
        await send("unsigned_redrive", self.envelope(model)[1], owner, extra={HEADER_REDRIVEN: "RURALFUND_DLQ:1"})
        return sent

    async def valid(self, model: type[Event]) -> str:
        mid, payload = self.envelope(model)
        await self.send(model.SUBJECT, payload, msg_id=mid, case="valid", key=self.owner_key(model.SUBJECT))
        return mid


# ---------------------------------------------------------------------------- observing


async def dead_letters(nc: NatsClient, namespace: str) -> list[dict[str, str]]:
    """Every message in the DLQ stream: its subject and headers."""
    ns = Namespace(namespace)
    js = nc.jetstream()
    try:
        state = (await js.stream_info(ns.dlq_stream)).state
    except NotFoundError:
        return []
    out = []
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        msg = await js.get_msg(ns.dlq_stream, seq)
        out.append({"dlq_subject": msg.subject, **(msg.headers or {})})
    return out


async def table_fingerprints(conn: asyncpg.Connection, schema: str) -> dict[str, str]:
    """Content hash of every table in a service's schema."""
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
        schema)
    out = {}
    for (name,) in tables:
        out[name] = await conn.fetchval(
            f'SELECT md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) FROM "{schema}"."{name}" t')
    return out


@asynccontextmanager
async def four_services(nats_url: str, database_url: str, namespace: str, tmp_path: Any) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for svc in SERVICES:
            create_app = import_module(f"ruralfund_{svc}.app").create_app
            settings = service_settings(
                svc, nats_url=nats_url, database_url=database_url, namespace=namespace,
                dev_clock_file=tmp_path / "clock.json", calendar_dir=tmp_path / "calendar",
                # a valid sample the handler cannot apply is retried once, then dead-lettered
                consumer_max_deliver=2)
            await stack.enter_async_context(running_service(create_app, settings))
        yield


# ---------------------------------------------------------------------------- the suite


def test_every_subscription_is_found_and_has_a_valid_sample() -> None:
    subs = subscriptions()
    assert {s.service for s in subs} == set(SERVICES)
    assert len(subs) >= 20, [s.consumer for s in subs]
    for s in subs:
        valid_data(s.model)


async def test_hostile_events_are_dead_lettered_with_their_reason_and_change_nothing(
    nats_url: str, database_url: str, namespace: str, nats_client: NatsClient, tmp_path: Any,
) -> None:
    subs = subscriptions()
    models = {s.model.SUBJECT: s.model for s in subs}
    publisher = Publisher(nats_client, namespace)
    async with four_services(nats_url, database_url, namespace, tmp_path):
        conn = await asyncpg.connect(database_url)
        try:
            before = {svc: await table_fingerprints(conn, svc) for svc in SERVICES}
            await asyncio.gather(*(publisher.hostile(m) for m in models.values()))

            expected = {(s.consumer, s.model.SUBJECT, case) for s in subs for case in CASES}

            async def all_dead_lettered() -> bool:
                got = {(d["Ruralfund-Dlq-Consumer"], d["Ruralfund-Dlq-Subject"], d[CASE_HEADER])
                       for d in await dead_letters(nats_client, namespace)}
                assert expected <= got, f"missing {sorted(expected - got)[:5]} ({len(expected - got)})"
                return True

            await eventually(all_dead_lettered, timeout=60, description=f"{len(expected)} dead letters")
            letters = await dead_letters(nats_client, namespace)
            assert len(letters) == len(expected), "each hostile message is dead-lettered once per consumer"
            ns = Namespace(namespace)
            for d in letters:
                service = d["Ruralfund-Dlq-Consumer"].split("__", 1)[0]
                assert d["dlq_subject"] == ns.dlq_subject(service, d["Ruralfund-Dlq-Subject"])
                assert d["Ruralfund-Dlq-Reason"].split(":", 1)[0] == CASES[d[CASE_HEADER]], d

            # Nothing changed anywhere but the inbox, where only the signed-but-undecodable
            # messages are recorded (so the cursor moves on); a forged sequence moved no cursor.
            after = {svc: await table_fingerprints(conn, svc) for svc in SERVICES}
            for svc in SERVICES:
                changed = {t for t in before[svc] if before[svc][t] != after[svc].get(t)}
                assert changed <= {"inbox"}, (svc, changed)
                rows = await conn.fetch(f"SELECT message_id, outcome, reason FROM {svc}.inbox "
                                        "WHERE message_id LIKE 'hostile-%'")
                recorded = {r["message_id"].split("-")[1] for r in rows}
                assert recorded == {"malformed_json", "contract_violation", "wrong_version"}, (svc, recorded)
                assert {r["outcome"] for r in rows} == {"dead_lettered"}
                assert await conn.fetchval(f"SELECT count(*) FROM {svc}.inbox_cursor WHERE last_seq >= 1000000") == 0

            # The consumers kept going: a valid event after the hostile ones reaches its handler.
            valid = {subject: await publisher.valid(model) for subject, model in models.items()}

            async def handled() -> dict[str, asyncpg.Record]:
                found = {}
                for s in subs:
                    row = await conn.fetchrow(f"SELECT outcome, reason FROM {s.service}.inbox "
                                              "WHERE consumer = $1 AND message_id = $2",
                                              s.consumer, valid[s.model.SUBJECT])
                    if row is not None:
                        found[s.consumer] = row
                missing = sorted({s.consumer for s in subs} - set(found))
                assert not missing, f"not yet handled by {missing}"
                return found

            outcomes = await eventually(handled, timeout=60, description="every consumer handled its valid event")
            for consumer, row in outcomes.items():
                code = (row["reason"] or "").split(":", 1)[0]
                assert code not in TRANSPORT_REASONS, (consumer, row["reason"])
            processed = sorted(c for c, r in outcomes.items() if r["outcome"] == "processed")
            print(f"{len(subs)} consumers, {len(models)} subjects, {len(letters)} dead letters; valid events "
                  f"processed by {len(processed)}, refused by their handler (domain rule) in "
                  f"{len(subs) - len(processed)}: {sorted(set(outcomes) - set(processed))}")
        finally:
            await conn.close()

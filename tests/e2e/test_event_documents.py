"""Real messages of a running flow (four service processes, real NATS JetStream and PostgreSQL)
judged against what the services publish about them (issue 19): each message is a CloudEvent the
official SDK validates, its payload AND its headers match the producer's served AsyncAPI
document, its correlation id is where that document says, and its data matches the JSON Schema
its ``dataschema`` names, fetched from the producer."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jsonschema
import nats
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.e2e

# the flow below makes every owner publish: claims, funds and notify events
EXPECTED_TYPES = {
    "claims.evt.program_activated.v1", "claims.evt.enterprise_registered.v1", "claims.evt.claim_submitted.v1",
    "claims.evt.claim_approved.v1", "funds.evt.award_reserved.v1", "notify.evt.publicity_published.v1",
    "funds.evt.publicity_window_opened.v1",
}


async def test_captured_messages_match_the_served_asyncapi_documents_and_cloudevents(system, namespace):
    nc = await nats.connect(system.env["NATS_URL"])
    captured: dict[str, Any] = {}  # by Nats-Msg-Id: a plain subscriber also sees re-sends

    async def capture(msg) -> None:
        owner_kind = msg.subject.split(".")[1:3]  # <ns>.<owner>.<evt|cmd>....
        if len(owner_kind) == 2 and owner_kind[1] in ("evt", "cmd"):
            captured.setdefault((msg.headers or {}).get("Nats-Msg-Id", msg.subject), msg)

    await nc.subscribe(f"{namespace}.>", cb=capture)
    try:
        await _run_flow(system)
        await eventually(lambda: EXPECTED_TYPES <= _types(captured), timeout=40,
                         description="every expected event type captured")
        async with httpx.AsyncClient(timeout=10) as http:
            documents = {svc: (await http.get(f"{url}/asyncapi.json")).json() for svc, url in system.urls.items()}
            checked = 0
            for msg in captured.values():
                await _check(msg, namespace, documents, system.urls, http)
                checked += 1
        assert checked >= len(EXPECTED_TYPES)
    finally:
        await nc.close()


def _types(captured: dict[str, Any]) -> set[str]:
    return {m.subject.split(".", 1)[1] for m in captured.values()}


async def _check(msg, namespace: str, documents: dict[str, dict], urls: dict[str, str], http) -> None:
    headers = dict(msg.headers or {})
    logical = msg.subject.split(".", 1)[1]
    owner = logical.split(".")[0]
    # 1. the official SDK parses and validates it (structured mode: content-type, no ce-* headers)
    event = from_http(HTTPMessage(headers=headers, body=msg.data), JSONFormat(), CloudEvent)
    assert event.get_type() == logical and event.get_source() == f"ruralfund/{owner}"
    # 2. payload and headers match the message the producer's document declares on that address
    document = documents[owner]
    message = _message_for(document, msg.subject)
    payload = json.loads(msg.data)
    _validate(payload, message["payload"], document, f"{logical} payload")
    _validate(headers, message["headers"], document, f"{logical} headers")
    # 3. the correlation id is where the document says
    location = message["correlationId"]["location"]
    assert location.startswith("$message.payload#/"), location
    assert payload[location.split("#/", 1)[1]] == event.get_extension("correlationid")
    # 4. data matches the JSON Schema its dataschema names, served by the producer
    schema = (await http.get(urls[owner] + event.get_dataschema())).json()
    jsonschema.validate(payload["data"], schema)
    # 5. the signature verifies with a key the producer publishes, scoped to this subject,
    # checked here without our signing code (the framing as docs/integrating.md states it)
    published = (await http.get(urls[owner] + "/.well-known/ruralfund/event-keys")).json()
    key = next(k for k in published["keys"] if k["key_id"] == headers["Ruralfund-Key-Id"])
    assert any(scope == f"{owner}.>" for scope in key["scopes"]), key
    fields = [b"ruralfund-event-signature-v1", key["key_id"].encode(), msg.subject.encode(),
              headers["Nats-Msg-Id"].encode(), headers["Ruralfund-Seq"].encode()]
    signed = b"".join(b"%d:%s\n" % (len(f), f) for f in fields) + msg.data
    Ed25519PublicKey.from_public_bytes(_unb64(key["public_key"])).verify(_unb64(headers["Ruralfund-Signature"]), signed)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _message_for(document: dict, address: str) -> dict:
    """The message of the document's send operation on ``address`` (the producer's view)."""
    channels = document["channels"]
    for operation in document["operations"].values():
        channel = channels[operation["channel"]["$ref"].rsplit("/", 1)[1]]
        if operation["action"] == "send" and channel["address"] == address:
            ref = next(iter(channel["messages"].values()))["$ref"]
            return document["components"]["messages"][ref.rsplit("/", 1)[1]]
    raise AssertionError(f"{address} is not a message the producer documents")


def _validate(instance: Any, schema_or_ref: dict, document: dict, what: str) -> None:
    # the document's own schemas resolve the $refs ("#/components/schemas/...")
    schema = {**schema_or_ref, "components": document["components"]}
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(instance), key=str)
    assert not errors, f"{what}: {[e.message for e in errors][:5]}"


async def _run_flow(system) -> None:
    claims, funds = system.client("claims"), system.client("funds")
    async with claims, funds:
        await system.start_xinping()
        await system.approved_packaging(claims)

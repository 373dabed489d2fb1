"""Webhook signing (Standard Webhooks), secrets, payloads and which events are offered."""

from __future__ import annotations

import base64
import json

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from ruralfund_common.errors import InvalidInput
from ruralfund_notify.domain.webhooks import (
    CLOUDEVENTS_CONTENT_TYPE,
    check_event_types,
    encode_secret,
    parse_secret,
    payload_of,
    sign,
    signed_headers,
)
from ruralfund_notify.entrypoints.subscribers import events, webhook_event_types

# The test vector published with the Standard Webhooks reference libraries (and svix's).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_reproduces_the_standard_webhooks_reference_vector() -> None:
    key = parse_secret(VECTOR_SECRET)
    assert sign(key, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    headers = signed_headers(key, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    assert headers == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR_SIGNATURE,
        "content-type": "application/cloudevents+json; charset=utf-8",
    }


def test_any_change_to_id_timestamp_or_body_changes_the_signature() -> None:
    key = parse_secret(VECTOR_SECRET)
    for changed in (
        sign(key, VECTOR_ID + "x", VECTOR_TIMESTAMP, VECTOR_BODY),
        sign(key, VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY),
        sign(key, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY + b" "),
    ):
        assert changed != VECTOR_SIGNATURE


def test_secrets_round_trip_and_bad_ones_are_refused() -> None:
    key = bytes(range(32))
    assert parse_secret(encode_secret(key)) == key
    for bad in (
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_not*base64",
        "whsec_" + base64.b64encode(b"short").decode(),
    ):
        with pytest.raises(InvalidInput) as refused:
            parse_secret(bad)
        assert refused.value.code == "INVALID_SECRET" and refused.value.field == "secret"


def test_payload_is_the_cloudevent_the_official_sdk_validates_plus_the_timestamp() -> None:
    envelope = {
        "specversion": "1.0",
        "id": "evt-1",
        "type": "claims.evt.claim_approved.v1",
        "source": "ruralfund/claims",
        "time": "2026-03-02T02:00:00Z",
        "subject": "claim-1",
        "correlationid": "req-1",
        "causationid": None,
        "datacontenttype": "application/json",
        "dataschema": "/event-schemas/claims.evt.claim_approved.v1.json",
        "data": {"award_id": "award-1", "amount_fen": 246_900, "item_name": "“新平礼好”"},
    }
    body = payload_of(envelope)
    assert json.loads(body) == {
        **{k: v for k, v in envelope.items() if v is not None},  # absent, never null
        "timestamp": "2026-03-02T02:00:00Z",  # the Standard Webhooks payload's name for time
    }
    assert "“新平礼好”".encode() in body  # UTF-8, not \\u escapes: what was signed is readable
    headers = signed_headers(b"k" * 32, "msg_1", 1_772_416_800, body)
    assert headers["content-type"] == CLOUDEVENTS_CONTENT_TYPE
    event = from_http(HTTPMessage(headers=headers, body=body), JSONFormat(), CloudEvent)
    assert event.get_extension("correlationid") == "req-1" and event.get_data()["amount_fen"] == 246_900


def test_an_old_form_envelope_is_delivered_with_the_cloudevents_names() -> None:
    """An event a producer wrote before the rename (correlation_id) still gives a valid body."""
    old = {"specversion": "1.0", "id": "evt-2", "type": "claims.evt.claim_approved.v1",
           "source": "ruralfund/claims", "time": "2026-03-02T02:00:00Z", "subject": "claim-2",
           "correlation_id": "req-2", "causation_id": "evt-0", "data": {"award_id": "a"}}
    body = payload_of(old)
    event = from_http(HTTPMessage(headers={"content-type": CLOUDEVENTS_CONTENT_TYPE}, body=body),
                      JSONFormat(), CloudEvent)
    assert event.get_extension("correlationid") == "req-2" and event.get_extension("causationid") == "evt-0"
    assert "correlation_id" not in json.loads(body)


def test_only_offered_event_types_may_be_subscribed() -> None:
    offered = frozenset({"claims.evt.claim_approved.v1", "notify.evt.objection_filed.v1"})
    assert check_event_types(
        ["notify.evt.objection_filed.v1", "notify.evt.objection_filed.v1"], offered
    ) == ["notify.evt.objection_filed.v1"]
    with pytest.raises(InvalidInput) as refused:
        check_event_types(["funds.evt.funds_released.v1"], offered)
    assert refused.value.code == "UNKNOWN_EVENT_TYPE"
    with pytest.raises(InvalidInput):
        check_event_types([], offered)


def test_every_event_notify_consumes_or_emits_is_offered() -> None:
    offered = webhook_event_types()
    assert {m.SUBJECT for m, _, _ in events.subscriptions} <= offered
    assert {
        "notify.evt.publicity_published.v1",
        "notify.evt.objection_filed.v1",
        "notify.evt.objection_resolved.v1",
        "claims.evt.claim_approved.v1",
        "funds.evt.payment_executed.v1",
        "funds.evt.award_revoked.v1",
        "logistics.evt.delivery_sla_breached.v1",
    } <= offered
    assert "funds.evt.funds_released.v1" not in offered  # notify does not consume it

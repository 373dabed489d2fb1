"""Webhooks for other systems (county portal, bank, provincial reporting), signed following
the Standard Webhooks specification (https://www.standardwebhooks.com/), so a receiver can
verify them with any of its reference libraries:

- ``webhook-id``: the delivery's id, the same on every retry and replay (receivers dedupe on it);
- ``webhook-timestamp``: seconds since the epoch when this attempt was signed;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with
  the base64-decoded part of the subscription's ``whsec_…`` secret.

The body is the event itself as a CloudEvents 1.0 structured-mode JSON document (the same
attributes and data as on NATS, ``content-type: application/cloudevents+json``), plus the
``timestamp`` the Standard Webhooks payload shape names (an extension attribute equal to
``time``, kept so receivers written for the earlier body still work). The body is fixed when
the delivery is created (one event, one subscription), so every retry signs the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from ruralfund_common.errors import InvalidInput

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "MAX_DESCRIPTION_CHARS",
    "MAX_EVENT_TYPES",
    "SECRET_PREFIX",
    "DeadReason",
    "DeliveryStatus",
    "Subscription",
    "check_event_types",
    "encode_secret",
    "parse_secret",
    "payload_of",
    "sign",
    "signed_headers",
]

SECRET_PREFIX: Final = "whsec_"
MIN_SECRET_BYTES: Final = 24  # the specification's libraries use 24..64 random bytes
MAX_SECRET_BYTES: Final = 64
MAX_EVENT_TYPES: Final = 50
MAX_DESCRIPTION_CHARS: Final = 200


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # dead-lettered: gave up, with a reason; an admin may replay it


class DeadReason(StrEnum):
    MAX_ATTEMPTS = "MAX_ATTEMPTS"
    TARGET_FORBIDDEN = "TARGET_FORBIDDEN"  # the host now resolves to a non-public address
    SUBSCRIPTION_DISABLED = "SUBSCRIPTION_DISABLED"


def encode_secret(key: bytes) -> str:
    assert MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES
    return SECRET_PREFIX + base64.b64encode(key).decode()


def parse_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; raises InvalidInput if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidInput(
            "INVALID_SECRET", "a webhook secret looks like whsec_<base64>", field="secret",
            detail_zh="签名密钥（secret）的格式应为 whsec_ 加 base64 编码的随机字节。",
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "INVALID_SECRET", "the secret after whsec_ is not base64", field="secret",
            detail_zh="签名密钥（secret）中 whsec_ 之后的部分不是有效的 base64 编码。",
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidInput(
            "INVALID_SECRET",
            f"the secret must hold {MIN_SECRET_BYTES}..{MAX_SECRET_BYTES} random bytes",
            field="secret",
            detail_zh=f"签名密钥（secret）须含 {MIN_SECRET_BYTES} 至 {MAX_SECRET_BYTES} 个随机字节。",
        )
    return key


def sign(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of one attempt."""
    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": sign(key, msg_id, timestamp_s, body),
        "content-type": CLOUDEVENTS_CONTENT_TYPE,
    }


CLOUDEVENTS_CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
# Envelope keys of the earlier producers (before CloudEvents naming) -> conformant names.
_OLD_ATTRIBUTE_NAMES: Final = {"correlation_id": "correlationid", "causation_id": "causationid"}


def payload_of(envelope: dict[str, Any]) -> bytes:
    """The body for one event: the CloudEvent (every attribute with a value, and ``data``)
    plus ``timestamp`` (Standard Webhooks' name for ``time``)."""
    body: dict[str, Any] = {}
    for key, value in envelope.items():
        name = _OLD_ATTRIBUTE_NAMES.get(key, key)
        if value is not None and name not in body:  # absent, never null, in a CloudEvent
            body[name] = value
    body["timestamp"] = envelope["time"]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def check_event_types(wanted: list[str], offered: frozenset[str]) -> list[str]:
    """The distinct wanted types in order; raises InvalidInput naming the unknown ones."""
    distinct = list(dict.fromkeys(t.strip() for t in wanted))
    if not distinct or len(distinct) > MAX_EVENT_TYPES:
        raise InvalidInput(
            "INVALID_EVENT_TYPES",
            f"subscribe to 1..{MAX_EVENT_TYPES} event types",
            field="event_types",
            detail_zh=f"请订阅 1 至 {MAX_EVENT_TYPES} 种事件类型（event_types）。",
        )
    unknown = [t for t in distinct if t not in offered]
    if unknown:
        raise InvalidInput(
            "UNKNOWN_EVENT_TYPE",
            f"not offered: {', '.join(unknown)}; see GET /webhooks/event-types",
            field="event_types",
            details={"unknown": unknown, "offered": sorted(offered)},
            detail_zh=f"以下事件类型不提供订阅：{'、'.join(unknown)}；可订阅的类型见 GET /webhooks/event-types。",
        )
    return distinct


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    event_types: list[str]
    secret: str  # whsec_…; shown once, when the subscription is made
    description: str | None
    created_by: str
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def key(self) -> bytes:
        return parse_secret(self.secret)

"""What FastStream's AsyncAPI generator cannot say about our messages, added to its document.

FastStream documents the payload (the CloudEvents envelope) but neither the NATS headers a
consumer needs to verify a message and keep order (``Nats-Msg-Id``, ``Ruralfund-Seq``, the
signature) nor where the correlation id really is (it puts it in a header no message carries).
``finish`` declares the headers on every message and points the correlation id at the payload.
"""

from __future__ import annotations

from typing import Any

from .envelope import CONTENT_TYPE, HEADER_CONTENT_TYPE, HEADER_MSG_ID, HEADER_PRODUCER, HEADER_SEQ
from .signing import (
    HEADER_KEY_ID,
    HEADER_REDRIVE_KEY_ID,
    HEADER_REDRIVE_SIGNATURE,
    HEADER_REDRIVEN,
    HEADER_SIGNATURE,
)

__all__ = ["COMMAND_HEADERS", "EVENT_HEADERS", "finish"]

EVENT_HEADERS = "RuralfundEventHeaders"
COMMAND_HEADERS = "RuralfundCommandHeaders"
_B64URL_SIGNATURE = r"^[A-Za-z0-9_-]{86}$"  # 64 bytes, base64url without padding
_KEY_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

_PROPERTIES: dict[str, dict[str, Any]] = {
    HEADER_CONTENT_TYPE: {
        "type": "string", "const": CONTENT_TYPE,
        "description": "CloudEvents structured content mode: the payload is the whole event (docs/events.md)"},
    HEADER_MSG_ID: {
        "type": "string", "minLength": 1, "maxLength": 200,
        "description": "The event id (a re-publish after a gap: '<id>:r<ns>'); JetStream's duplicate window "
                       "drops a re-send. Signed."},
    HEADER_SEQ: {
        "type": "string", "pattern": r"^[1-9][0-9]{0,18}$",
        "description": "Gapless sequence per subject, from 1: a consumer that sees a gap asks the owner "
                       "to re-publish. Signed."},
    HEADER_PRODUCER: {"type": "string", "pattern": r"^[a-z]+$", "description": "The producing service"},
    HEADER_KEY_ID: {"type": "string", "pattern": _KEY_ID,
                    "description": "Which Ed25519 key signed (GET /.well-known/ruralfund/event-keys lists them)"},
    HEADER_SIGNATURE: {
        "type": "string", "pattern": _B64URL_SIGNATURE,
        "description": "Ed25519 signature (base64url) over the subject, Nats-Msg-Id, Ruralfund-Seq and the exact "
                       "payload bytes (messaging/signing.py)"},
    "traceparent": {"type": "string", "pattern": r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                    "description": "W3C trace context of the request that caused the event"},
    "tracestate": {"type": "string", "description": "W3C trace state, when the caller sent one"},
    HEADER_REDRIVEN: {"type": "string",
                      "description": "Set by an operator's dead-letter redrive: applied outside the sequence check"},
    HEADER_REDRIVE_KEY_ID: {"type": "string", "pattern": _KEY_ID, "description": "The operator key of a redrive"},
    HEADER_REDRIVE_SIGNATURE: {"type": "string", "pattern": _B64URL_SIGNATURE,
                               "description": "The operator's signature of the redrive mark"},
}


def _headers_schema(required: list[str], what: str) -> dict[str, Any]:
    # open: NATS and JetStream add headers of their own (e.g. on a direct get)
    return {"type": "object", "description": what, "properties": _PROPERTIES, "required": required,
            "additionalProperties": True}


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Headers and the correlation id on every message of an AsyncAPI 3.0 document (in place)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[EVENT_HEADERS] = _headers_schema(
        [HEADER_CONTENT_TYPE, HEADER_MSG_ID, HEADER_SEQ, HEADER_PRODUCER, HEADER_KEY_ID, HEADER_SIGNATURE],
        "Headers of an event, as the owner's outbox relay publishes it")
    # commands come from outside systems' gateways: signed, but no producer sequence
    schemas[COMMAND_HEADERS] = _headers_schema(
        [HEADER_MSG_ID, HEADER_KEY_ID, HEADER_SIGNATURE], "Headers of a command from an outside system's gateway")
    for name, message in document["components"].get("messages", {}).items():
        is_command = ".cmd." in name
        message["headers"] = {"$ref": f"#/components/schemas/{COMMAND_HEADERS if is_command else EVENT_HEADERS}"}
        message["correlationId"] = {"location": "$message.payload#/correlationid",
                                    "description": "CloudEvents extension attribute correlationid"}
        message["contentType"] = "application/cloudevents+json"  # a command's payload is a CloudEvent too
    return document

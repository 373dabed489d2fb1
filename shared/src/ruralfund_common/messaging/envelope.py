"""The message envelope (a CloudEvents 1.0 event, structured content mode) and the contract base.

Structured mode, not binary: the whole event (attributes and data) is the NATS payload, and the
signature (signing.py) covers the exact payload bytes, so every attribute a consumer acts on
(``type``, ``subject``, ``correlationid``...) is signed. In binary mode the attributes would be
``ce-*`` headers outside the signature. The ``content-type`` header declares the mode
(``application/cloudevents+json; charset=utf-8``), as the CloudEvents HTTP binding does.

Extension attributes are lowercase letters and digits only (CloudEvents 1.0 naming rule):
``correlationid``, ``causationid``. Producers before this change wrote ``correlation_id`` /
``causation_id``; consumers accept both until the deprecation window ends (docs/events.md), so
messages still in streams, outboxes kept for re-publish and dead letters awaiting a redrive apply.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ..ids import new_id

__all__ = [
    "CONTENT_TYPE",
    "HEADER_CONTENT_TYPE",
    "HEADER_DLQ_MSG_ID",
    "HEADER_DLQ_REASON",
    "HEADER_MSG_ID",
    "HEADER_PRODUCER",
    "HEADER_REDRIVEN",
    "HEADER_SEQ",
    "Envelope",
    "Event",
    "encode",
    "make_envelope",
    "schema_path",
]

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_SEQ = "Ruralfund-Seq"
HEADER_PRODUCER = "Ruralfund-Producer"
HEADER_DLQ_REASON = "Ruralfund-Dlq-Reason"
# The dead letter's own Nats-Msg-Id is new; the original one (signed) is kept here for a redrive.
HEADER_DLQ_MSG_ID = "Ruralfund-Dlq-Msg-Id"
# Set by `ruralfund deploy dlq-redrive`: apply outside the producer-sequence check.
HEADER_REDRIVEN = "Ruralfund-Redriven-From"
# CloudEvents structured content mode, declared like the HTTP binding's Content-Type.
HEADER_CONTENT_TYPE = "content-type"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
SPECVERSION = "1.0"


def schema_path(subject: str) -> str:
    """Where every service serves a contract's JSON Schema (the envelope's ``dataschema``): a
    URI reference resolved against the producing service's public base URL."""
    return f"/event-schemas/{subject}.json"


class Event(BaseModel):
    """Base of every event contract. Subclasses set SUBJECT (``owner.evt.name.vN``).

    Contracts are append-only: consumers ignore fields they do not know (extra="ignore"), so
    adding an optional field is compatible; removing or retyping one needs a new version.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    SUBJECT: ClassVar[str]


E = TypeVar("E", bound=BaseModel)


class Envelope(BaseModel, Generic[E]):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # required (no default): a payload without it is not a CloudEvent
    specversion: str = Field(pattern=r"^1\.0$", description="CloudEvents spec version, always 1.0")
    id: str = Field(description="uuid7; also the outbox row id and the Nats-Msg-Id header")
    type: str = Field(description="the logical subject, e.g. claims.evt.claim_approved.v1")
    source: str = Field(description="ruralfund/<service>")
    time: datetime
    subject: str = Field(description="the aggregate id the event is about")
    # The old names (correlation_id / causation_id) are still read: see the module docstring.
    correlationid: str = Field(
        validation_alias=AliasChoices("correlationid", "correlation_id"),
        description="CloudEvents extension: id of the request or first event of this flow")
    causationid: str | None = Field(
        default=None, validation_alias=AliasChoices("causationid", "causation_id"),
        description="CloudEvents extension: id of the event that caused this one (absent for a request)")
    datacontenttype: str = "application/json"
    dataschema: str | None = Field(default=None, description="JSON Schema of data: /event-schemas/<type>.json")
    data: E

    @property
    def correlation_id(self) -> str:
        return self.correlationid

    @property
    def causation_id(self) -> str | None:
        return self.causationid


def make_envelope(
    event: Event,
    *,
    source: str,
    aggregate_id: str,
    time: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    mid = message_id or new_id()
    assert time.tzinfo is not None, "envelope time must be timezone-aware"
    env: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": mid,
        "type": event.SUBJECT,
        "source": f"ruralfund/{source}",
        "time": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "subject": aggregate_id,
        "correlationid": correlation_id or mid,
        "datacontenttype": "application/json",
        "dataschema": schema_path(event.SUBJECT),
        "data": event.model_dump(mode="json"),
    }
    if causation_id:  # CloudEvents attributes are absent, never null
        env["causationid"] = causation_id
    return env


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

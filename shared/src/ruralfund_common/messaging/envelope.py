"""The message envelope (CloudEvents-shaped) and event contract base class."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..ids import new_id

__all__ = ["Event", "Envelope", "HEADER_SEQ", "HEADER_PRODUCER", "HEADER_MSG_ID", "HEADER_DLQ_REASON",
           "HEADER_DLQ_MSG_ID", "HEADER_REDRIVEN", "make_envelope", "encode"]

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_SEQ = "Ruralfund-Seq"
HEADER_PRODUCER = "Ruralfund-Producer"
HEADER_DLQ_REASON = "Ruralfund-Dlq-Reason"
# The dead letter's own Nats-Msg-Id is new; the original one (signed) is kept here for a redrive.
HEADER_DLQ_MSG_ID = "Ruralfund-Dlq-Msg-Id"
# Set by `ruralfund deploy dlq-redrive`: apply outside the producer-sequence check.
HEADER_REDRIVEN = "Ruralfund-Redriven-From"


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

    specversion: str = "1.0"
    id: str = Field(description="uuid7; also the outbox row id and the Nats-Msg-Id header")
    type: str = Field(description="the logical subject, e.g. claims.evt.claim_approved.v1")
    source: str = Field(description="ruralfund/<service>")
    time: datetime
    subject: str = Field(description="the aggregate id the event is about")
    correlation_id: str
    causation_id: str | None = None
    datacontenttype: str = "application/json"
    data: E


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
    return {
        "specversion": "1.0",
        "id": mid,
        "type": event.SUBJECT,
        "source": f"ruralfund/{source}",
        "time": time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "subject": aggregate_id,
        "correlation_id": correlation_id or mid,
        "causation_id": causation_id,
        "datacontenttype": "application/json",
        "data": event.model_dump(mode="json"),
    }


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

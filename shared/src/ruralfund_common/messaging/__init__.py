"""Messaging: envelope, subjects, transactional outbox, inbox-deduplicating consumers."""

from .envelope import Envelope, Event
from .inbox import Delivery, EventProcessor, Outcome, Tx
from .outbox import OutboxRelay, append
from .runtime import EventRouter, Messaging, ensure_stream
from .signing import MAX_EVENT_BYTES, EventKeys, SigningKey, TrustedKeys
from .subjects import Namespace, command_subject, event_subject

__all__ = [
    "MAX_EVENT_BYTES",
    "Delivery",
    "Envelope",
    "Event",
    "EventKeys",
    "EventProcessor",
    "EventRouter",
    "Messaging",
    "Namespace",
    "OutboxRelay",
    "Outcome",
    "SigningKey",
    "TrustedKeys",
    "Tx",
    "append",
    "command_subject",
    "ensure_stream",
    "event_subject",
]

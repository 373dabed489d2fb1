"""Messaging: envelope, subjects, transactional outbox, inbox-deduplicating consumers."""

from .envelope import Envelope, Event
from .inbox import Delivery, EventProcessor, Outcome, Tx
from .outbox import OutboxRelay, append
from .runtime import EventRouter, Messaging, ensure_stream
from .signing import MAX_EVENT_BYTES, EventKeys, SigningKey, TrustedKeys
from .subjects import Namespace, command_subject, event_subject

__all__ = [
    "Envelope", "Event", "Delivery", "EventProcessor", "Outcome", "Tx", "OutboxRelay", "append",
    "Messaging", "EventRouter", "ensure_stream", "Namespace", "command_subject", "event_subject",
    "MAX_EVENT_BYTES", "EventKeys", "SigningKey", "TrustedKeys",
]

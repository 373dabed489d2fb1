"""Notify's use cases (load → domain → save + outbox + mail queue, in the caller's
transaction). ``core`` holds notices, claims and payments; the other modules one concern each."""

from .core import EXTRAS_KEY, CalendarFileInvalid, NotifyService, notify_service

__all__ = ["EXTRAS_KEY", "CalendarFileInvalid", "NotifyService", "notify_service"]

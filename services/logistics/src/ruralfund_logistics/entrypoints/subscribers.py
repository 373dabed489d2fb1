"""Events in (none yet) and the events this service publishes, for the AsyncAPI document.

Logistics consumes nothing in the walking skeleton: the station registry is its own source of
truth, and the operator's identity is the credit code carried in the caller's token.
"""

from __future__ import annotations

from ruralfund_common.contracts import StationRegistered, StationVolumeReported
from ruralfund_common.messaging import EventRouter

__all__ = ["events"]

events = EventRouter()
events.emits(StationRegistered, StationVolumeReported)

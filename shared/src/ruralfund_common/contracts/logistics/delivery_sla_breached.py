from __future__ import annotations

from datetime import datetime

from ...messaging.envelope import Event
from .._types import CountyCode


class DeliverySlaBreached(Event):
    """A parcel that left the county center was not delivered by its 24-hour deadline
    (county → village promise). Emitted once per parcel."""

    SUBJECT = "logistics.evt.delivery_sla_breached.v1"
    parcel_id: str
    county_code: CountyCode
    destination_station_id: str | None = None
    town_station_id: str | None = None
    left_center_at: datetime
    deadline_at: datetime
    detected_at: datetime
    last_scan_kind: str | None = None

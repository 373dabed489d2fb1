from __future__ import annotations

from datetime import date
from typing import Literal

from ...messaging.envelope import Event
from .._types import CountyCode, CreditCode


class StationRegistered(Event):
    """A county center, town station or village station was registered in the network."""

    SUBJECT = "logistics.evt.station_registered.v1"
    station_id: str
    name: str
    tier: Literal["county_center", "town", "village"]
    parent_id: str | None = None
    county_code: CountyCode
    operator_credit_code: CreditCode | None = None
    opened_on: date | None = None

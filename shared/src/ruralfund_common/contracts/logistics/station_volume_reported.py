from __future__ import annotations

from ...messaging.envelope import Event
from .._types import CreditCode, Fen


class StationVolumeReported(Event):
    """A station's monthly volume was reported or corrected; carries the year's running total,
    which claims uses to pre-fill the station-upgrade claim and its tier."""

    SUBJECT = "logistics.evt.station_volume_reported.v1"
    station_id: str
    station_name: str
    operator_credit_code: CreditCode | None = None
    year: int
    month: int
    month_volume_fen: Fen
    month_parcels: int
    annual_volume_fen: Fen
    annual_parcels: int
    correction_reason: str | None = None

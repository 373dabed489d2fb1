from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from ...messaging.envelope import Event

__all__ = ["MAX_SCANS_PER_COMMAND", "RecordScans", "ScanRecord"]

# One command = one database transaction in logistics; the bound keeps a transaction short
# and a message well under NATS's default 1 MB payload limit (~200 bytes a scan).
MAX_SCANS_PER_COMMAND: Final = 1000


class ScanRecord(BaseModel):
    """One parcel scan as a sorting line or a station's handheld reports it.

    The fields are plain strings on purpose: a scan with an unknown kind, a bad time or an
    unknown station is refused on its own (recorded with its reason) while the rest of the
    batch is applied. Only a message that does not have this shape at all is dead-lettered.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    scan_id: str = Field(description="unique per scan, chosen by the sender: the idempotency key")
    parcel_id: str = Field(description="the waybill number")
    station_id: str = Field(description="uuid of the registered station where the scan happened")
    kind: str = Field(
        description="received_at_center | left_center | arrived_at_town | arrived_at_village | "
        "delivered | returned"
    )
    scanned_at: str = Field(
        description="when the scan happened, RFC 3339 with an offset: 2021-07-03T09:30:00+08:00"
    )
    destination_station_id: str | None = Field(
        default=None,
        description="the village (or town) station the parcel is addressed to, if known",
    )


class RecordScans(Event):
    """Command to logistics: record a batch of parcel scans (idempotent by scan id; scans may
    arrive in any order and are placed by their own time)."""

    SUBJECT = "logistics.cmd.record_scans.v1"
    source: str = Field(
        min_length=1,
        max_length=100,
        description="the sending system, e.g. the center's sorting line",
    )
    scans: list[ScanRecord] = Field(min_length=1, max_length=MAX_SCANS_PER_COMMAND)

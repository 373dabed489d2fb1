"""HTTP bodies for scans, parcel tracks and on-time rates.

A scan's fields are text on purpose (as in the NATS command): a scan with an unknown kind or
a bad time is refused alone, with its index, code and field, while the rest of the batch is
applied. Only a body that is not a list of scan objects is refused as a whole (422).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..adapters.parcels import RejectedScanRow
from ..domain import MAX_SCANS_PER_BATCH, OnTimeTally, RawScan, Scan, ScanRejection
from ..domain.scans import MAX_ID_CHARS
from ..service import OnTimeReport, OnTimeRow, ParcelView, ScanBatchResult

__all__ = [
    "OnTimeOut",
    "ParcelOut",
    "RejectedScanOut",
    "ScanBatchOut",
    "ScansIn",
    "SweepOut",
]

MAX_FIELD_CHARS = 100  # longer than any valid value, so the domain names the field at fault


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scan_id: str = Field(
        max_length=MAX_FIELD_CHARS, description="unique per scan: the idempotency key"
    )
    parcel_id: str = Field(max_length=MAX_FIELD_CHARS, description="the waybill number")
    station_id: str = Field(max_length=MAX_FIELD_CHARS, description="the registered station's id")
    kind: str = Field(
        max_length=MAX_FIELD_CHARS,
        description="received_at_center | left_center | arrived_at_town | arrived_at_village | "
        "delivered | returned",
    )
    scanned_at: str = Field(
        max_length=MAX_FIELD_CHARS, description="RFC 3339 with offset: 2021-07-03T09:30:00+08:00"
    )
    destination_station_id: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)

    def raw(self) -> RawScan:
        return RawScan(**self.model_dump())


class ScansIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        default="http", min_length=1, max_length=100, description="the sending system"
    )
    scans: list[ScanIn] = Field(min_length=1, max_length=MAX_SCANS_PER_BATCH)


class RejectionOut(BaseModel):
    index: int = Field(description="position of the scan in the batch")
    scan_id: str | None
    code: str
    field: str
    message: str

    @classmethod
    def of(cls, r: ScanRejection) -> RejectionOut:
        return cls(index=r.index, scan_id=r.scan_id, code=r.code, field=r.field, message=r.message)


class ScanBatchOut(BaseModel):
    batch_id: str
    received: int
    recorded: int = Field(description="new scans stored")
    duplicates: int = Field(description="scans already stored: nothing changed")
    rejected: list[RejectionOut]
    parcels: int = Field(description="parcels whose track changed")

    @classmethod
    def of(cls, r: ScanBatchResult) -> ScanBatchOut:
        return cls(
            batch_id=r.batch_id,
            received=r.received,
            recorded=r.recorded,
            duplicates=r.duplicates,
            rejected=[RejectionOut.of(x) for x in r.rejected],
            parcels=r.parcels,
        )


class ScanOut(BaseModel):
    scan_id: str
    station_id: str
    kind: str
    scanned_at: datetime
    destination_station_id: str | None

    @classmethod
    def of(cls, s: Scan) -> ScanOut:
        return cls(
            scan_id=s.scan_id,
            station_id=s.station_id,
            kind=s.kind.value,
            scanned_at=s.scanned_at,
            destination_station_id=s.destination_station_id,
        )


class ParcelOut(BaseModel):
    parcel_id: str
    county_code: str
    status: str = Field(description="what the latest scan (by its own time) says")
    destination_station_id: str | None
    town_station_id: str | None
    left_center_at: datetime | None
    deadline_at: datetime | None = Field(description="left_center_at + 24 hours")
    delivered_at: datetime | None
    returned_at: datetime | None
    sla_outcome: str | None = Field(description="open | on_time | late | returned, from the scans")
    counts_as: str | None = Field(
        description="on_time | late | returned | pending, by the clock now"
    )
    breach_reported_at: datetime | None
    scans: list[ScanOut] = Field(description="in the order they happened")

    @classmethod
    def of(cls, v: ParcelView) -> ParcelOut:
        t = v.track
        return cls(
            parcel_id=t.parcel_id,
            county_code=t.county_code,
            status=v.status.value,
            destination_station_id=t.destination_station_id,
            town_station_id=v.town_station_id,
            left_center_at=t.left_center_at,
            deadline_at=v.deadline_at,
            delivered_at=t.delivered_at,
            returned_at=t.returned_at,
            sla_outcome=v.outcome.value if v.outcome else None,
            counts_as=v.rate_class.value if v.rate_class else None,
            breach_reported_at=v.breach_emitted_at,
            scans=[ScanOut.of(s) for s in v.scans],
        )


class RejectedScanOut(BaseModel):
    batch_id: str = Field(description="the command's message id")
    index: int
    source: str
    scan_id: str | None
    code: str
    field: str
    message: str
    scan: dict[str, object]
    rejected_at: datetime

    @classmethod
    def of(cls, r: RejectedScanRow) -> RejectedScanOut:
        x = r.rejection
        return cls(
            batch_id=r.batch_id,
            index=r.position,
            source=r.source,
            scan_id=x.scan_id,
            code=x.code,
            field=x.field,
            message=x.message,
            scan=r.scan,
            rejected_at=r.rejected_at,
        )


class SweepOut(BaseModel):
    breaches_reported: int
    as_of: datetime


def _percent(bp: int | None) -> str | None:
    return None if bp is None else f"{bp // 100}.{bp % 100:02d}%"


class TallyOut(BaseModel):
    on_time: int
    late: int
    returned: int = Field(description="returned before the deadline: outside the rate")
    pending: int = Field(description="not delivered, deadline not passed: outside the rate")
    decided: int = Field(description="on_time + late")
    on_time_rate_bp: int | None = Field(description="basis points, half up; null if none decided")
    on_time_rate: str | None = Field(examples=["95.24%"])

    @classmethod
    def of(cls, t: OnTimeTally) -> TallyOut:
        return cls(
            on_time=t.on_time,
            late=t.late,
            returned=t.returned,
            pending=t.pending,
            decided=t.decided,
            on_time_rate_bp=t.on_time_rate_bp,
            on_time_rate=_percent(t.on_time_rate_bp),
        )


class OnTimeRowOut(TallyOut):
    period: date = Field(
        description="the local day (or first day of the month) parcels left the center"
    )
    station_id: str | None = Field(description="destination station or town; null: unknown")
    station_name: str | None

    @classmethod
    def of_row(cls, r: OnTimeRow) -> OnTimeRowOut:
        return cls(
            **TallyOut.of(r.tally).model_dump(),
            period=r.period_start,
            station_id=r.group_id,
            station_name=r.group_name,
        )


class OnTimeOut(BaseModel):
    county_code: str
    by: Literal["station", "town"]
    granularity: Literal["day", "month"]
    from_: date = Field(alias="from")
    to: date
    as_of: datetime
    promise_hours: int = 24
    rule: str = (
        "a parcel counts on the Asia/Shanghai day it left the county center; on time if delivered "
        "within 24 hours of leaving"
    )
    rows: list[OnTimeRowOut]
    total: TallyOut

    model_config = ConfigDict(populate_by_name=True)

    @classmethod
    def of(cls, r: OnTimeReport) -> OnTimeOut:
        return cls(
            county_code=r.county_code,
            by=r.by,
            granularity=r.granularity,
            from_=r.start,
            to=r.end,
            as_of=r.as_of,
            rows=[OnTimeRowOut.of_row(x) for x in r.rows],
            total=TallyOut.of(r.total),
        )


PARCEL_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_ID_CHARS - 1}}}$"

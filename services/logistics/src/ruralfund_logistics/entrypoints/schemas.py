"""HTTP request and response bodies of the logistics API, and their mapping to the domain.

Inputs forbid unknown fields: a misspelt ``volume_yuan`` must be refused, not silently dropped.
Integers that carry money or counts are strict, so ``1.5`` or ``"100"`` never becomes a number
by coercion; yuan amounts travel as text (``"412,345.60"``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.money import MAX_AMOUNT_TEXT_CHARS, format_yuan
from ruralfund_common.text import SingleLine

from ..domain import (
    XINPING_STATION_AWARD_RULE,
    AnnualTotal,
    AwardTier,
    CenterCarrier,
    GeoPoint,
    RetailPartnership,
    Station,
    StationDraft,
    Tier,
    VolumeReport,
    station_award_tier,
)
from ..domain.coverage import MAX_PARTY_NAME_CHARS
from ..domain.network import (
    MAX_ADDRESS_CHARS,
    MAX_CLOSE_REASON_CHARS,
    MAX_CONTACT_NAME_CHARS,
    MAX_STATION_NAME_CHARS,
)
from ..domain.volumes import MAX_CORRECTION_REASON_CHARS
from ..service import Coverage, StationVolumes, VolumeInput

__all__ = [
    "AnnualOut",
    "CarrierIn",
    "CarrierLeaveIn",
    "CarrierOut",
    "CoverageOut",
    "PartnershipEndIn",
    "PartnershipIn",
    "PartnershipOut",
    "StationCloseIn",
    "StationIn",
    "StationOut",
    "StationPublicOut",
    "VolumeIn",
    "VolumeReportOut",
    "VolumesOut",
]

StrictInt = Annotated[int, Field(strict=True)]
TierName = Literal["county_center", "town", "village"]
CREDIT_CODE_MAX_CHARS = 18
AWARD_NOTE = (
    "information only: the award itself is decided by the leading group's review of a claim"
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeoIn(_In):
    lat: float = Field(description="WGS-84 latitude in degrees, -90..90")
    lon: float = Field(description="WGS-84 longitude in degrees, -180..180")


class StationIn(_In):
    county_code: str = Field(
        max_length=6, description="6-digit administrative division code", examples=["530427"]
    )
    tier: TierName
    name: SingleLine = Field(max_length=MAX_STATION_NAME_CHARS)
    address: SingleLine = Field(max_length=MAX_ADDRESS_CHARS)
    opened_on: date
    parent_id: UUID | None = Field(
        default=None, description="a town's county center; a village's town station"
    )
    geo: GeoIn | None = None
    operator_credit_code: str | None = Field(default=None, max_length=CREDIT_CODE_MAX_CHARS)
    contact_name: SingleLine | None = Field(default=None, max_length=MAX_CONTACT_NAME_CHARS)
    contact_phone: SingleLine | None = Field(default=None, max_length=30)

    def draft(self) -> StationDraft:
        return StationDraft(
            county_code=self.county_code,
            tier=Tier(self.tier),
            name=self.name,
            address=self.address,
            opened_on=self.opened_on,
            parent_id=str(self.parent_id) if self.parent_id else None,
            geo=GeoPoint(self.geo.lat, self.geo.lon) if self.geo else None,
            operator_credit_code=self.operator_credit_code,
            contact_name=self.contact_name,
            contact_phone=self.contact_phone,
        )


class GeoOut(BaseModel):
    lat: float
    lon: float


class StationPublicOut(BaseModel):
    """What anyone may see: no contact details."""

    id: str
    county_code: str
    tier: TierName
    name: str
    address: str
    parent_id: str | None
    geo: GeoOut | None
    operator_credit_code: str | None
    opened_on: date
    status: Literal["active", "closed"]
    closed_on: date | None

    @classmethod
    def of(cls, s: Station) -> StationPublicOut:
        return cls(**_public_fields(s))


def _public_fields(s: Station) -> dict[str, object]:
    return {
        "id": s.id,
        "county_code": s.county_code,
        "tier": s.tier.value,
        "name": s.name,
        "address": s.address,
        "parent_id": s.parent_id,
        "geo": GeoOut(lat=s.geo.lat, lon=s.geo.lon) if s.geo else None,
        "operator_credit_code": s.operator_credit_code,
        "opened_on": s.opened_on,
        "status": s.status.value,
        "closed_on": s.closed_on,
    }


class StationOut(StationPublicOut):
    contact_name: str | None
    contact_phone: str | None
    close_reason: str | None

    @classmethod
    def of(cls, s: Station) -> StationOut:
        return cls(
            **_public_fields(s),
            contact_name=s.contact_name,
            contact_phone=s.contact_phone,
            close_reason=s.close_reason,
        )


class StationCloseIn(_In):
    closed_on: date
    reason: str = Field(max_length=MAX_CLOSE_REASON_CHARS)


class VolumeIn(_In):
    year: StrictInt
    month: StrictInt
    volume: str | None = Field(
        default=None,
        max_length=MAX_AMOUNT_TEXT_CHARS,
        description='the month\'s transaction volume in yuan, as text: "412,345.60"; or give volume_fen',
    )
    volume_fen: StrictInt | None = Field(
        default=None, description="the same in integer fen; exactly one of the two"
    )
    parcels: StrictInt = Field(description="parcels handled in the month")
    correction_reason: str | None = Field(
        default=None,
        max_length=MAX_CORRECTION_REASON_CHARS,
        description="required to correct a month already reported; refused on a first report",
    )

    def given(self) -> VolumeInput:
        return VolumeInput(
            year=self.year,
            month=self.month,
            parcels=self.parcels,
            volume=self.volume,
            volume_fen=self.volume_fen,
            correction_reason=self.correction_reason,
        )


class AwardTierOut(BaseModel):
    rule: str = XINPING_STATION_AWARD_RULE
    min_annual_volume_fen: int
    min_annual_volume: str
    award_fen: int
    award: str
    note: str = AWARD_NOTE

    @classmethod
    def of(cls, tier: AwardTier | None) -> AwardTierOut | None:
        if tier is None:
            return None
        return cls(
            min_annual_volume_fen=tier.min_annual_volume_fen,
            min_annual_volume=format_yuan(tier.min_annual_volume_fen),
            award_fen=tier.award_fen,
            award=format_yuan(tier.award_fen),
        )


class AnnualOut(BaseModel):
    year: int
    volume_fen: int
    volume: str
    parcels: int
    months_reported: list[int]
    award_tier: AwardTierOut | None = Field(
        description="the Xinping station award tier the total reaches, if any"
    )

    @classmethod
    def of(cls, t: AnnualTotal) -> AnnualOut:
        return cls(
            year=t.year,
            volume_fen=t.volume_fen,
            volume=format_yuan(t.volume_fen),
            parcels=t.parcels,
            months_reported=list(t.months_reported),
            award_tier=AwardTierOut.of(station_award_tier(t.volume_fen)),
        )


class MonthOut(BaseModel):
    month: int
    revision: int
    volume_fen: int
    volume: str
    parcels: int
    correction_reason: str | None
    reported_by: str
    reported_at: datetime

    @classmethod
    def of(cls, r: VolumeReport) -> MonthOut:
        return cls(
            month=r.period.month,
            revision=r.revision,
            volume_fen=r.volume_fen,
            volume=format_yuan(r.volume_fen),
            parcels=r.parcels,
            correction_reason=r.correction_reason,
            reported_by=r.reported_by,
            reported_at=r.reported_at,
        )


class VolumeReportOut(MonthOut):
    id: str
    station_id: str
    year: int
    annual: AnnualOut

    @classmethod
    def of_report(cls, r: VolumeReport, total: AnnualTotal) -> VolumeReportOut:
        month = MonthOut.of(r).model_dump()
        return cls(
            **month,
            id=r.id,
            station_id=r.station_id,
            year=r.period.year,
            annual=AnnualOut.of(total),
        )


class VolumesOut(BaseModel):
    station_id: str
    station_name: str
    year: int
    months: list[MonthOut] = Field(description="each reported month's latest revision")
    annual: AnnualOut

    @classmethod
    def of(cls, v: StationVolumes) -> VolumesOut:
        return cls(
            station_id=v.station.id,
            station_name=v.station.name,
            year=v.total.year,
            months=[MonthOut.of(r) for r in v.latest_by_month],
            annual=AnnualOut.of(v.total),
        )


class CarrierIn(_In):
    kind: Literal["express", "bulk_freight"]
    name: SingleLine = Field(max_length=MAX_PARTY_NAME_CHARS, examples=["中国邮政"])
    credit_code: str | None = Field(default=None, max_length=CREDIT_CODE_MAX_CHARS)
    settled_on: date


class CarrierLeaveIn(_In):
    left_on: date


class CarrierOut(BaseModel):
    id: str
    center_id: str
    kind: Literal["express", "bulk_freight"]
    name: str
    credit_code: str | None
    settled_on: date
    left_on: date | None

    @classmethod
    def of(cls, c: CenterCarrier) -> CarrierOut:
        return cls(
            id=c.id,
            center_id=c.center_id,
            kind=c.kind.value,
            name=c.name,
            credit_code=c.credit_code,
            settled_on=c.settled_on,
            left_on=c.left_on,
        )


class PartnershipIn(_In):
    partner_name: str = Field(max_length=MAX_PARTY_NAME_CHARS)
    partner_credit_code: str | None = Field(default=None, max_length=CREDIT_CODE_MAX_CHARS)
    started_on: date


class PartnershipEndIn(_In):
    ended_on: date


class PartnershipOut(BaseModel):
    id: str
    center_id: str
    partner_name: str
    partner_credit_code: str | None
    started_on: date
    ended_on: date | None

    @classmethod
    def of(cls, p: RetailPartnership) -> PartnershipOut:
        return cls(
            id=p.id,
            center_id=p.center_id,
            partner_name=p.partner_name,
            partner_credit_code=p.partner_credit_code,
            started_on=p.started_on,
            ended_on=p.ended_on,
        )


class TargetOut(BaseModel):
    target: str
    required: int
    actual: int
    met: bool


class CoverageOut(BaseModel):
    county_code: str
    center_id: str
    center_name: str
    as_of: date
    source: str = "xinping-2021 line 2 item 2 and attachment 1 (county logistics center)"
    targets: list[TargetOut]
    all_met: bool
    carriers: list[CarrierOut] = Field(description="carriers settled in the center on as_of")
    partnerships: list[PartnershipOut] = Field(
        description="retail delivery partnerships running on as_of"
    )

    @classmethod
    def of(cls, c: Coverage) -> CoverageOut:
        return cls(
            county_code=c.center.county_code,
            center_id=c.center.id,
            center_name=c.center.name,
            as_of=c.report.as_of,
            targets=[
                TargetOut(target=f.target, required=f.required, actual=f.actual, met=f.met)
                for f in c.report.figures
            ],
            all_met=c.report.all_met,
            carriers=[CarrierOut.of(x) for x in c.carriers],
            partnerships=[PartnershipOut.of(p) for p in c.partnerships],
        )

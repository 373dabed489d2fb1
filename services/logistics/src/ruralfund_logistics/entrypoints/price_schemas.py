"""HTTP bodies for range prices (区间价), the price target and certified enterprises.

Prices travel as yuan text ("3.50") in and as both text and integer fen out; a JSON number
is refused for money, as everywhere in ruralfund.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruralfund_common.money import MAX_AMOUNT_TEXT_CHARS, format_yuan
from ruralfund_common.text import SingleLine

from ..domain import (
    MAX_BANDS,
    PRICE_TARGETS,
    CenterCarrier,
    CertifiedShipper,
    PriceBaseline,
    PriceIndicator,
    PriceSchedule,
)
from ..service import BandInput, CarrierPrices, PriceBoard, PriceTargetReport

__all__ = [
    "BaselineIn",
    "BaselineOut",
    "CertifyIn",
    "PriceBoardOut",
    "PriceHistoryOut",
    "PriceScheduleOut",
    "PriceTargetOut",
    "PricesIn",
    "RevokeIn",
    "ShipperOut",
]

StrictInt = Annotated[int, Field(strict=True)]
YuanText = Annotated[str, Field(max_length=MAX_AMOUNT_TEXT_CHARS, examples=["3.50"])]
TargetCode = Literal[tuple(PRICE_TARGETS)]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BandIn(_In):
    up_to_g: StrictInt = Field(description="heaviest parcel of the band, grams (inclusive)")
    min_price: YuanText
    max_price: YuanText


class PricesIn(_In):
    effective_from: date = Field(description="the local day the prices apply from (today or later)")
    bands: list[BandIn] = Field(min_length=1, max_length=MAX_BANDS)
    note: str | None = Field(default=None, max_length=500)

    def given(self) -> list[BandInput]:
        return [BandInput(b.up_to_g, b.min_price, b.max_price) for b in self.bands]


class BandOut(BaseModel):
    above_g: int = Field(description="lighter parcels belong to the band before")
    up_to_g: int
    min_price: str
    max_price: str
    min_fen: int
    max_fen: int


def _bands(s: PriceSchedule) -> list[BandOut]:
    out, below = [], 0
    for b in s.bands:
        out.append(
            BandOut(
                above_g=below,
                up_to_g=b.up_to_g,
                min_price=format_yuan(b.min_fen),
                max_price=format_yuan(b.max_fen),
                min_fen=b.min_fen,
                max_fen=b.max_fen,
            )
        )
        below = b.up_to_g
    return out


class PriceScheduleOut(BaseModel):
    carrier_id: str
    carrier_name: str
    carrier_kind: Literal["express", "bulk_freight"]
    version: int
    effective_from: date
    published_at: datetime
    note: str | None
    bands: list[BandOut]

    @classmethod
    def of(cls, c: CenterCarrier, s: PriceSchedule) -> PriceScheduleOut:
        return cls(
            carrier_id=c.id,
            carrier_name=c.name,
            carrier_kind=c.kind.value,
            version=s.version,
            effective_from=s.effective_from,
            published_at=s.published_at,
            note=s.note,
            bands=_bands(s),
        )


class CarrierPricesOut(BaseModel):
    carrier_id: str
    carrier_name: str
    carrier_kind: Literal["express", "bulk_freight"]
    in_force: PriceScheduleOut | None = Field(description="null: this carrier published no prices")
    upcoming: list[PriceScheduleOut]

    @classmethod
    def of(cls, cp: CarrierPrices) -> CarrierPricesOut:
        c = cp.carrier
        return cls(
            carrier_id=c.id,
            carrier_name=c.name,
            carrier_kind=c.kind.value,
            in_force=PriceScheduleOut.of(c, cp.in_force) if cp.in_force else None,
            upcoming=[PriceScheduleOut.of(c, s) for s in cp.upcoming],
        )


class ShipperOut(BaseModel):
    id: str
    credit_code: str
    name: str
    certified_on: date
    revoked_on: date | None

    @classmethod
    def of(cls, s: CertifiedShipper) -> ShipperOut:
        return cls(
            id=s.id,
            credit_code=s.credit_code,
            name=s.name,
            certified_on=s.certified_on,
            revoked_on=s.revoked_on,
        )


class PriceBoardOut(BaseModel):
    county_code: str
    center_id: str
    center_name: str
    as_of: date
    applies_to: str = "e-commerce enterprises certified by the county (物流孵化认证)"
    carriers: list[CarrierPricesOut]
    certified_enterprises: list[ShipperOut]

    @classmethod
    def of(cls, b: PriceBoard) -> PriceBoardOut:
        return cls(
            county_code=b.center.county_code,
            center_id=b.center.id,
            center_name=b.center.name,
            as_of=b.as_of,
            carriers=[CarrierPricesOut.of(c) for c in b.carriers],
            certified_enterprises=[ShipperOut.of(s) for s in b.shippers],
        )


class PriceHistoryOut(BaseModel):
    county_code: str
    versions: list[PriceScheduleOut] = Field(description="newest first")


class BaselineIn(_In):
    county_code: str = Field(pattern=r"^\d{6}$")
    target: TargetCode = Field(description="the program whose price target applies")
    reference_weight_g: StrictInt = Field(description="weight of the typical agricultural parcel")
    price: YuanText = Field(description="its average price before the program, yuan")
    measured: str = Field(max_length=500, examples=["2020 年县内快递驿站农产品平均发货价"])
    correction_reason: str | None = Field(default=None, max_length=500)


class BaselineOut(BaseModel):
    county_code: str
    revision: int
    target: str
    target_reduction_bp: int
    target_source: str
    reference_weight_g: int
    price: str
    price_fen: int
    measured: str
    correction_reason: str | None
    set_at: datetime

    @classmethod
    def of(cls, b: PriceBaseline) -> BaselineOut:
        return cls(
            county_code=b.county_code,
            revision=b.revision,
            target=b.target.code,
            target_reduction_bp=b.target.reduction_bp,
            target_source=b.target.source,
            reference_weight_g=b.reference_weight_g,
            price=format_yuan(b.price_fen),
            price_fen=b.price_fen,
            measured=b.measured,
            correction_reason=b.correction_reason,
            set_at=b.set_at,
        )


class QuoteOut(BaseModel):
    carrier_id: str
    carrier_name: str
    version: int
    band_up_to_g: int
    min_price: str
    max_price: str


def _percent(bp: int | None) -> str | None:
    if bp is None:
        return None
    sign = "-" if bp < 0 else "+"
    return f"{sign}{abs(bp) // 100}.{abs(bp) % 100:02d}%"


class PriceTargetOut(BaseModel):
    county_code: str
    as_of: date
    baseline: BaselineOut
    carriers_counted: int = Field(
        description="express carriers with a range at the reference weight"
    )
    average_price: str | None = Field(description="mean of the ranges' middles, rounded half up")
    average_fen: int | None
    change_bp: int | None = Field(description="against the baseline; negative: cheaper")
    change: str | None = Field(examples=["-12.50%"])
    met: bool = Field(description="decided exactly: average <= baseline x (1 - target)")
    quotes: list[QuoteOut]
    baseline_history: list[BaselineOut]

    @classmethod
    def of(cls, r: PriceTargetReport) -> PriceTargetOut:
        i: PriceIndicator = r.indicator
        return cls(
            county_code=i.baseline.county_code,
            as_of=i.as_of,
            baseline=BaselineOut.of(i.baseline),
            carriers_counted=len(i.quotes),
            average_price=format_yuan(i.average_fen) if i.average_fen is not None else None,
            average_fen=i.average_fen,
            change_bp=i.change_bp,
            change=_percent(i.change_bp),
            met=i.met,
            quotes=[
                QuoteOut(
                    carrier_id=q.carrier.id,
                    carrier_name=q.carrier.name,
                    version=q.schedule.version,
                    band_up_to_g=q.band.up_to_g,
                    min_price=format_yuan(q.band.min_fen),
                    max_price=format_yuan(q.band.max_fen),
                )
                for q in i.quotes
            ],
            baseline_history=[BaselineOut.of(b) for b in r.history],
        )


class CertifyIn(_In):
    credit_code: str = Field(max_length=18)
    name: SingleLine = Field(max_length=100)
    certified_on: date


class RevokeIn(_In):
    revoked_on: date
    reason: str = Field(max_length=500)

"""The county logistics center's carriers and retail partnerships, and its coverage targets.

Xinping 2021 follow-up, line 2 item 2 (统筹运营县物流仓储配送中心) and attachment 1: at least 6
express companies and 3 bulk-freight companies settled in the center, and delivery
partnerships with at least 3 traditional retailers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Final

from ruralfund_common.calendar import date_zh
from ruralfund_common.errors import Conflict, InvalidInput

from .network import Station, Tier, check_credit_code
from .refusals import TIER_ZH

__all__ = [
    "MAX_PARTY_NAME_CHARS",
    "XINPING_CENTER_TARGETS",
    "CarrierKind",
    "CenterCarrier",
    "CoverageReport",
    "CoverageTargets",
    "RetailPartnership",
    "TargetFigure",
    "carrier_leaves",
    "coverage",
    "end_partnership",
    "settle_carrier",
    "start_partnership",
]

MAX_PARTY_NAME_CHARS: Final = 100


class CarrierKind(StrEnum):
    EXPRESS = "express"  # 快递企业
    BULK_FREIGHT = "bulk_freight"  # 大宗物流企业


@dataclass(frozen=True)
class CenterCarrier:
    id: str
    center_id: str
    kind: CarrierKind
    name: str
    credit_code: str | None
    settled_on: date
    left_on: date | None = None

    def present_on(self, day: date) -> bool:
        return self.settled_on <= day and (self.left_on is None or day < self.left_on)


@dataclass(frozen=True)
class RetailPartnership:
    id: str
    center_id: str
    partner_name: str
    partner_credit_code: str | None
    started_on: date
    ended_on: date | None = None

    def active_on(self, day: date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)


def _center(station: Station) -> Station:
    if station.tier is not Tier.COUNTY_CENTER:
        raise InvalidInput(
            "STATION_NOT_A_CENTER",
            f"station {station.id} is a {station.tier}, not the county center",
            detail_zh=f"站点 {station.id} 是{TIER_ZH.get(station.tier, station.tier)}，不是县级物流配送中心。",
        )
    if not station.is_active:
        raise Conflict("STATION_CLOSED", f"station {station.id} is closed",
            detail_zh=f"站点 {station.id} 已关闭。")
    return station


def _party(name: str, credit_code: str | None, *, prefix: str) -> tuple[str, str | None]:
    text = name.strip()
    if not 0 < len(text) <= MAX_PARTY_NAME_CHARS:
        raise InvalidInput(
            "PARTY_NAME_INVALID",
            f"name must be 1..{MAX_PARTY_NAME_CHARS} characters",
            field=f"{prefix}name",
            detail_zh=f"“{prefix}name”须为 1 至 {MAX_PARTY_NAME_CHARS} 个字符。",
        )
    code = check_credit_code(credit_code, field=f"{prefix}credit_code") if credit_code else None
    return text, code


def _not_future(day: date, today: date, *, field: str) -> None:
    # The registry records facts the bureau can attest to, not plans.
    if day > today:
        raise InvalidInput("DATE_IN_FUTURE", f"{field} is in the future", field=field,
            detail_zh=f"“{field}”（{date_zh(day)}）晚于今天（{date_zh(today)}）：只能登记已经发生的事实。")


def settle_carrier(
    center: Station,
    *,
    carrier_id: str,
    kind: CarrierKind,
    name: str,
    credit_code: str | None,
    settled_on: date,
    present: Collection[CenterCarrier],
    today: date,
) -> CenterCarrier:
    """A carrier settling in the center; ``present`` are the center's carriers not yet gone."""
    _center(center)
    text, code = _party(name, credit_code, prefix="")
    _not_future(settled_on, today, field="settled_on")
    if settled_on < center.opened_on:
        raise InvalidInput(
            "DATE_BEFORE_OPENING", "settled_on is before the center opened", field="settled_on",
            detail_zh=f"入驻日期 {date_zh(settled_on)} 早于中心启用日期 {date_zh(center.opened_on)}。",
        )
    if any(
        c.kind is kind and c.name.casefold() == text.casefold() and c.left_on is None
        for c in present
    ):
        raise Conflict(
            "CARRIER_ALREADY_SETTLED",
            f"{text!r} is already settled as a {kind} carrier",
            field="name",
            detail_zh=f"“{text}”已作为{'快递企业' if kind == 'express' else '大宗物流企业'}入驻，不能重复登记。",
        )
    return CenterCarrier(
        id=carrier_id,
        center_id=center.id,
        kind=kind,
        name=text,
        credit_code=code,
        settled_on=settled_on,
    )


def carrier_leaves(carrier: CenterCarrier, *, left_on: date, today: date) -> CenterCarrier:
    if carrier.left_on is not None:
        raise Conflict("CARRIER_ALREADY_LEFT", f"carrier {carrier.id} left on {carrier.left_on}",
            detail_zh=f"快递企业 {carrier.id} 已于{date_zh(carrier.left_on)}撤出。")
    _not_future(left_on, today, field="left_on")
    if left_on < carrier.settled_on:
        raise InvalidInput("DATE_BEFORE_START", "left_on is before settled_on", field="left_on",
            detail_zh=f"撤出日期 {date_zh(left_on)} 早于入驻日期 {date_zh(carrier.settled_on)}。")
    return replace(carrier, left_on=left_on)


def start_partnership(
    center: Station,
    *,
    partnership_id: str,
    partner_name: str,
    partner_credit_code: str | None,
    started_on: date,
    active: Collection[RetailPartnership],
    today: date,
) -> RetailPartnership:
    _center(center)
    text, code = _party(partner_name, partner_credit_code, prefix="partner_")
    _not_future(started_on, today, field="started_on")
    if started_on < center.opened_on:
        raise InvalidInput(
            "DATE_BEFORE_OPENING", "started_on is before the center opened", field="started_on",
            detail_zh=f"合作开始日期 {date_zh(started_on)} 早于中心启用日期 {date_zh(center.opened_on)}。",
        )
    if any(p.partner_name.casefold() == text.casefold() and p.ended_on is None for p in active):
        raise Conflict(
            "PARTNERSHIP_EXISTS",
            f"a partnership with {text!r} is already running",
            field="partner_name",
            detail_zh=f"与“{text}”的合作正在进行，不能重复登记。",
        )
    return RetailPartnership(
        id=partnership_id,
        center_id=center.id,
        partner_name=text,
        partner_credit_code=code,
        started_on=started_on,
    )


def end_partnership(
    partnership: RetailPartnership, *, ended_on: date, today: date
) -> RetailPartnership:
    if partnership.ended_on is not None:
        raise Conflict(
            "PARTNERSHIP_ENDED", f"partnership {partnership.id} ended on {partnership.ended_on}",
            detail_zh=f"合作 {partnership.id} 已于{date_zh(partnership.ended_on)}结束。",
        )
    _not_future(ended_on, today, field="ended_on")
    if ended_on < partnership.started_on:
        raise InvalidInput("DATE_BEFORE_START", "ended_on is before started_on", field="ended_on",
            detail_zh=f"结束日期 {date_zh(ended_on)} 早于开始日期 {date_zh(partnership.started_on)}。")
    return replace(partnership, ended_on=ended_on)


@dataclass(frozen=True)
class CoverageTargets:
    min_express_companies: int
    min_bulk_freight_companies: int
    min_retail_partnerships: int


XINPING_CENTER_TARGETS: Final = CoverageTargets(
    min_express_companies=6, min_bulk_freight_companies=3, min_retail_partnerships=3
)


@dataclass(frozen=True)
class TargetFigure:
    target: str
    required: int
    actual: int

    @property
    def met(self) -> bool:
        return self.actual >= self.required


@dataclass(frozen=True)
class CoverageReport:
    as_of: date
    figures: tuple[TargetFigure, ...]

    @property
    def all_met(self) -> bool:
        return all(f.met for f in self.figures)


def _distinct(names: Iterable[str]) -> int:
    # A company that left and came back has two rows; it is still one company.
    return len({n.casefold() for n in names})


def coverage(
    carriers: Iterable[CenterCarrier],
    partnerships: Iterable[RetailPartnership],
    *,
    as_of: date,
    targets: CoverageTargets = XINPING_CENTER_TARGETS,
) -> CoverageReport:
    present = [c for c in carriers if c.present_on(as_of)]
    express = _distinct(c.name for c in present if c.kind is CarrierKind.EXPRESS)
    bulk = _distinct(c.name for c in present if c.kind is CarrierKind.BULK_FREIGHT)
    retail = _distinct(p.partner_name for p in partnerships if p.active_on(as_of))
    return CoverageReport(
        as_of=as_of,
        figures=(
            TargetFigure("express_companies", targets.min_express_companies, express),
            TargetFigure("bulk_freight_companies", targets.min_bulk_freight_companies, bulk),
            TargetFigure("retail_partnerships", targets.min_retail_partnerships, retail),
        ),
    )

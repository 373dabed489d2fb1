"""The three-tier station network (县镇村三级物流): county center -> town stations -> village stations.

Pure: no I/O. The service layer loads what a rule needs (the parent, the county's active center,
the names already used under the parent), calls a function here and saves what it returns. The
database repeats the structural invariants as constraints, so neither a bug nor a race between
two requests can store a broken tree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Final

from ruralfund_common.calendar import date_zh
from ruralfund_common.credit_code import validate_credit_code
from ruralfund_common.errors import Conflict, InvalidInput

from .refusals import TIER_ZH

__all__ = [
    "COUNTY_CODE_PATTERN",
    "CREDIT_CODE_PATTERN",
    "MAX_ADDRESS_CHARS",
    "MAX_CLOSE_REASON_CHARS",
    "MAX_CONTACT_NAME_CHARS",
    "MAX_STATION_NAME_CHARS",
    "PARENT_TIER",
    "GeoPoint",
    "Station",
    "StationDraft",
    "StationStatus",
    "Tier",
    "check_credit_code",
    "close_station",
    "register_station",
]

MAX_STATION_NAME_CHARS: Final = 100
MAX_ADDRESS_CHARS: Final = 200
MAX_CONTACT_NAME_CHARS: Final = 50
MAX_CLOSE_REASON_CHARS: Final = 500
# GB 32100-2015, the same pattern as the contracts' CreditCode: the domain may not import the
# contracts package (it pulls in messaging), and events must accept every code we store.
CREDIT_CODE_PATTERN: Final = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
COUNTY_CODE_PATTERN: Final = r"^\d{6}$"
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{3,28}[0-9]$")


class Tier(StrEnum):
    COUNTY_CENTER = "county_center"
    TOWN = "town"
    VILLAGE = "village"


# The tier each tier hangs under: a village under a town, a town under the county center.
PARENT_TIER: Final[dict[Tier, Tier | None]] = {
    Tier.COUNTY_CENTER: None,
    Tier.TOWN: Tier.COUNTY_CENTER,
    Tier.VILLAGE: Tier.TOWN,
}


class StationStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


@dataclass(frozen=True)
class GeoPoint:
    """WGS-84 degrees. Range-checked here so every path into the registry is covered."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise InvalidInput(
                "GEO_OUT_OF_RANGE", f"latitude {self.lat} is not within -90..90", field="geo.lat",
                detail_zh=f"纬度 {self.lat} 不在 -90 至 90 之间。",
            )
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise InvalidInput(
                "GEO_OUT_OF_RANGE", f"longitude {self.lon} is not within -180..180", field="geo.lon",
                detail_zh=f"经度 {self.lon} 不在 -180 至 180 之间。",
            )


@dataclass(frozen=True)
class StationDraft:
    """What the bureau asks to register."""

    county_code: str
    tier: Tier
    name: str
    address: str
    opened_on: date
    parent_id: str | None = None
    geo: GeoPoint | None = None
    operator_credit_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class Station:
    id: str
    county_code: str
    tier: Tier
    name: str
    address: str
    opened_on: date
    parent_id: str | None = None
    geo: GeoPoint | None = None
    operator_credit_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    status: StationStatus = StationStatus.ACTIVE
    closed_on: date | None = None
    close_reason: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status is StationStatus.ACTIVE

    def is_operated_by(self, credit_code: str | None) -> bool:
        return credit_code is not None and self.operator_credit_code == credit_code


def check_credit_code(value: str, *, field: str) -> str:
    """The canonical (upper-case) unified social credit code, or a refusal. The check character
    is verified: a mistyped operator code would otherwise lock the operator out of its station."""
    return validate_credit_code(value, field=field)


def _text(value: str, *, limit: int, field: str) -> str:
    text = value.strip()
    if not 0 < len(text) <= limit:
        raise InvalidInput(
            "STATION_FIELD_INVALID", f"{field} must be 1..{limit} characters", field=field,
            detail_zh=f"“{field}”须为 1 至 {limit} 个字符。",
        )
    return text


def _normalised(draft: StationDraft) -> StationDraft:
    if not re.fullmatch(COUNTY_CODE_PATTERN, draft.county_code):
        raise InvalidInput(
            "COUNTY_CODE_INVALID",
            "county_code must be a 6-digit division code",
            field="county_code",
            detail_zh="“county_code”须为 6 位县级行政区划代码。",
        )
    phone = draft.contact_phone.strip() if draft.contact_phone else None
    if phone is not None and not _PHONE.fullmatch(phone):
        raise InvalidInput(
            "STATION_FIELD_INVALID", "contact_phone is not a phone number", field="contact_phone",
            detail_zh="“contact_phone”不是有效的电话号码。",
        )
    contact = draft.contact_name.strip() if draft.contact_name else None
    if contact is not None:
        contact = _text(contact, limit=MAX_CONTACT_NAME_CHARS, field="contact_name")
    operator = draft.operator_credit_code
    return replace(
        draft,
        name=_text(draft.name, limit=MAX_STATION_NAME_CHARS, field="name"),
        address=_text(draft.address, limit=MAX_ADDRESS_CHARS, field="address"),
        operator_credit_code=check_credit_code(operator, field="operator_credit_code")
        if operator
        else None,
        contact_name=contact,
        contact_phone=phone,
    )


def _check_parent(draft: StationDraft, parent: Station | None) -> None:
    wanted = PARENT_TIER[draft.tier]
    if wanted is None:
        if draft.parent_id is not None:
            raise InvalidInput(
                "STATION_PARENT_INVALID",
                "a county center is the root of the network: it has no parent",
                field="parent_id",
                detail_zh="县级物流配送中心是网络的根节点，不能有上级站点。",
            )
        return
    if draft.parent_id is None:
        raise InvalidInput(
            "STATION_PARENT_INVALID",
            f"a {draft.tier} station needs a {wanted} parent",
            field="parent_id",
            detail_zh=f"{TIER_ZH.get(draft.tier, draft.tier)}须有上级{TIER_ZH.get(wanted, wanted)}（parent_id）。",
        )
    if parent is None:
        raise InvalidInput(
            "STATION_PARENT_NOT_FOUND", f"no station {draft.parent_id}", field="parent_id",
            detail_zh=f"没有编号为 {draft.parent_id} 的上级站点。",
        )
    assert parent.id == draft.parent_id, "the caller loaded the wrong parent"
    if parent.tier is not wanted:
        raise InvalidInput(
            "STATION_PARENT_INVALID",
            f"a {draft.tier} station's parent must be a {wanted}, not a {parent.tier}",
            field="parent_id",
            details={"parent_tier": str(parent.tier), "required_tier": str(wanted)},
            detail_zh=f"{TIER_ZH.get(draft.tier, draft.tier)}的上级须为{TIER_ZH.get(wanted, wanted)}，不能是{TIER_ZH.get(parent.tier, parent.tier)}。",
        )
    if parent.county_code != draft.county_code:
        raise InvalidInput(
            "STATION_PARENT_INVALID",
            f"the parent belongs to county {parent.county_code}, not {draft.county_code}",
            field="parent_id",
            detail_zh=f"上级站点属于县 {parent.county_code}，不是 {draft.county_code}。",
        )
    if not parent.is_active:
        raise InvalidInput(
            "STATION_PARENT_CLOSED", f"parent station {parent.id} is closed", field="parent_id",
            detail_zh=f"上级站点 {parent.id} 已关闭。",
        )


def register_station(
    draft: StationDraft,
    *,
    station_id: str,
    parent: Station | None,
    active_center: Station | None,
    sibling_names: Collection[str],
) -> Station:
    """A new active station, or a refusal.

    ``parent`` is the station ``draft.parent_id`` names (None if there is none), ``active_center``
    the county's active center, ``sibling_names`` the names of the parent's active children.
    """
    draft = _normalised(draft)
    _check_parent(draft, parent)
    if draft.tier is Tier.COUNTY_CENTER and active_center is not None:
        raise Conflict(
            "STATION_CENTER_EXISTS",
            f"county {draft.county_code} already has an active center ({active_center.id})",
            field="tier",
            detail_zh=f"县 {draft.county_code} 已有在用的县级物流配送中心（{active_center.id}）。",
        )
    if draft.name.casefold() in {n.casefold() for n in sibling_names}:
        raise Conflict(
            "STATION_NAME_TAKEN",
            f"the parent already has an active station named {draft.name!r}",
            field="name",
            detail_zh=f"上级站点下已有名为“{draft.name}”的在用站点。",
        )
    return Station(
        id=station_id,
        county_code=draft.county_code,
        tier=draft.tier,
        name=draft.name,
        address=draft.address,
        opened_on=draft.opened_on,
        parent_id=draft.parent_id,
        geo=draft.geo,
        operator_credit_code=draft.operator_credit_code,
        contact_name=draft.contact_name,
        contact_phone=draft.contact_phone,
    )


def close_station(
    station: Station, *, closed_on: date, reason: str, active_children: int, today: date
) -> Station:
    """The station closed as of ``closed_on``. Children must close first, so that no active
    station ever hangs under a closed one."""
    if not station.is_active:
        raise Conflict(
            "STATION_CLOSED", f"station {station.id} was already closed on {station.closed_on}",
            detail_zh=f"站点 {station.id} 已于{date_zh(station.closed_on)}关闭。",
        )
    if closed_on < station.opened_on:
        raise InvalidInput(
            "STATION_CLOSE_DATE_INVALID",
            "closed_on is before the station opened",
            field="closed_on",
            detail_zh=f"关闭日期 {date_zh(closed_on)} 早于站点启用日期 {date_zh(station.opened_on)}。",
        )
    if closed_on > today:
        raise InvalidInput(
            "STATION_CLOSE_DATE_INVALID", "closed_on is in the future", field="closed_on",
            detail_zh=f"关闭日期 {date_zh(closed_on)} 晚于今天（{date_zh(today)}）。",
        )
    if active_children > 0:
        raise Conflict(
            "STATION_HAS_ACTIVE_CHILDREN",
            f"{active_children} active stations still hang under this one",
            details={"active_children": active_children},
            detail_zh=f"该站点下还有 {active_children} 个在用的下级站点，须先关闭下级站点。",
        )
    text = _text(reason, limit=MAX_CLOSE_REASON_CHARS, field="reason")
    return replace(station, status=StationStatus.CLOSED, closed_on=closed_on, close_reason=text)

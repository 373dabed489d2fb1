"""The three-tier network's rules: village under town, town under the county center, one center
per county, closed stations take no children, and who may touch which station."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_logistics.domain import (
    Actor,
    GeoPoint,
    Station,
    StationDraft,
    StationStatus,
    Tier,
    check_may_read_station,
    check_may_report_volume,
    close_station,
    register_station,
)
from ruralfund_logistics.domain.network import check_credit_code

XINPING = "530427"
OPERATOR = "91530427MA6K7QXR3Y"
OTHER_OPERATOR = "91530427MA6N0B1X2L"
OPENED = date(2021, 6, 1)

CENTER = Station(
    id="c1",
    county_code=XINPING,
    tier=Tier.COUNTY_CENTER,
    name="新平县物流仓储配送中心",
    address="桂山街道",
    opened_on=OPENED,
    operator_credit_code=OPERATOR,
)
TOWN = Station(
    id="t1",
    county_code=XINPING,
    tier=Tier.TOWN,
    name="戛洒镇站",
    address="戛洒镇",
    opened_on=OPENED,
    parent_id="c1",
)
VILLAGE = Station(
    id="v1",
    county_code=XINPING,
    tier=Tier.VILLAGE,
    name="南碱村站",
    address="南碱村",
    opened_on=OPENED,
    parent_id="t1",
    operator_credit_code=OPERATOR,
)


def draft(tier: Tier, parent_id: str | None = None, **kw: object) -> StationDraft:
    fields: dict[str, object] = {
        "county_code": XINPING,
        "tier": tier,
        "name": "新站",
        "address": "某镇某村",
        "opened_on": OPENED,
        "parent_id": parent_id,
    }
    fields.update(kw)
    return StationDraft(**fields)  # type: ignore[arg-type]


def register(
    d: StationDraft,
    parent: Station | None = None,
    center: Station | None = None,
    siblings: tuple[str, ...] = (),
) -> Station:
    return register_station(
        d, station_id="new", parent=parent, active_center=center, sibling_names=siblings
    )


def refused(code: str, fn, *args, **kw) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        fn(*args, **kw)
    assert caught.value.code == code, caught.value
    return caught.value


# -- the happy tree --------------------------------------------------------------------------


def test_center_town_and_village_each_hang_under_the_tier_above() -> None:
    center = register(draft(Tier.COUNTY_CENTER))
    town = register(draft(Tier.TOWN, "c1"), parent=CENTER)
    village = register(draft(Tier.VILLAGE, "t1"), parent=TOWN)
    assert (center.tier, center.parent_id, center.status) == (
        Tier.COUNTY_CENTER,
        None,
        StationStatus.ACTIVE,
    )
    assert (town.parent_id, village.parent_id) == ("c1", "t1")


def test_gb32100_check_character_of_the_standards_example() -> None:
    assert check_credit_code("91350100m000100y43", field="x") == "91350100M000100Y43"


def test_text_is_trimmed_and_credit_code_upper_cased() -> None:
    s = register(
        draft(Tier.TOWN, "c1", name="  腰街镇站 ", operator_credit_code=OPERATOR.lower()),
        parent=CENTER,
    )
    assert s.name == "腰街镇站"
    assert s.operator_credit_code == OPERATOR


# -- parents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "parent"),
    [
        (Tier.VILLAGE, CENTER),  # a village must hang under a town, not directly under the center
        (Tier.VILLAGE, VILLAGE),
        (Tier.TOWN, TOWN),
        (Tier.TOWN, VILLAGE),
    ],
)
def test_a_parent_of_the_wrong_tier_is_refused_naming_parent_id(
    tier: Tier, parent: Station
) -> None:
    err = refused("STATION_PARENT_INVALID", register, draft(tier, parent.id), parent=parent)
    assert err.field == "parent_id"
    assert err.status == 422


@pytest.mark.parametrize("tier", [Tier.TOWN, Tier.VILLAGE])
def test_town_and_village_need_a_parent(tier: Tier) -> None:
    assert refused("STATION_PARENT_INVALID", register, draft(tier, None)).field == "parent_id"


def test_the_county_center_has_no_parent() -> None:
    refused("STATION_PARENT_INVALID", register, draft(Tier.COUNTY_CENTER, "c1"), parent=CENTER)


def test_a_parent_that_does_not_exist_is_refused() -> None:
    assert (
        refused("STATION_PARENT_NOT_FOUND", register, draft(Tier.TOWN, "nope"), parent=None).field
        == "parent_id"
    )


def test_a_parent_in_another_county_is_refused() -> None:
    ruyuan_center = replace(CENTER, id="r1", county_code="440232")
    refused("STATION_PARENT_INVALID", register, draft(Tier.TOWN, "r1"), parent=ruyuan_center)


def test_a_closed_parent_takes_no_children() -> None:
    closed = replace(
        TOWN, status=StationStatus.CLOSED, closed_on=date(2023, 1, 1), close_reason="merged"
    )
    refused("STATION_PARENT_CLOSED", register, draft(Tier.VILLAGE, "t1"), parent=closed)


# -- one center per county, unique names ---------------------------------------------------------


def test_a_second_active_center_in_the_same_county_is_refused() -> None:
    err = refused("STATION_CENTER_EXISTS", register, draft(Tier.COUNTY_CENTER), center=CENTER)
    assert err.status == 409


def test_a_sibling_with_the_same_name_is_refused_case_insensitively() -> None:
    d = draft(Tier.VILLAGE, "t1", name="Nanjian Village")
    assert (
        refused("STATION_NAME_TAKEN", register, d, parent=TOWN, siblings=("nanjian village",)).field
        == "name"
    )


# -- fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90.000001, 101.9, "geo.lat"),
        (-91, 101.9, "geo.lat"),
        (float("nan"), 101.9, "geo.lat"),
        (24.0, 180.5, "geo.lon"),
        (24.0, float("inf"), "geo.lon"),
    ],
)
def test_geo_points_are_range_checked(lat: float, lon: float, field: str) -> None:
    assert refused("GEO_OUT_OF_RANGE", GeoPoint, lat, lon).field == field


def test_geo_edges_are_valid() -> None:
    assert GeoPoint(90, -180) == GeoPoint(90.0, -180.0)
    assert GeoPoint(24.07, 101.99).lat == 24.07


@pytest.mark.parametrize(
    "code",
    [
        "91530427MA6K7QXR3",  # 17 characters
        "91530427MA6K7QXR3YU",  # 19
        "91530427MA6K7QXR3I",  # I is not in the GB 32100 alphabet
        "9153042XMA6K7QXR3Y",  # the division code is digits
        "91530427MA6K7QXR3U",  # well formed, wrong check character (Y)
        "91530427MA6K7QXR4Y",  # one character mistyped
    ],
)
def test_operator_credit_code_must_be_a_valid_gb32100_code(code: str) -> None:
    err = refused(
        "CREDIT_CODE_INVALID",
        register,
        draft(Tier.TOWN, "c1", operator_credit_code=code),
        parent=CENTER,
    )
    assert err.field == "operator_credit_code"


@pytest.mark.parametrize(
    ("kw", "code", "field"),
    [
        ({"county_code": "53042"}, "COUNTY_CODE_INVALID", "county_code"),
        ({"name": "   "}, "STATION_FIELD_INVALID", "name"),
        ({"address": "x" * 201}, "STATION_FIELD_INVALID", "address"),
        ({"contact_phone": "call me"}, "STATION_FIELD_INVALID", "contact_phone"),
    ],
)
def test_station_fields_are_checked(kw: dict[str, object], code: str, field: str) -> None:
    assert refused(code, register, draft(Tier.TOWN, "c1", **kw), parent=CENTER).field == field


# -- closing -----------------------------------------------------------------------------------


def test_a_station_with_active_children_cannot_close() -> None:
    err = refused(
        "STATION_HAS_ACTIVE_CHILDREN",
        close_station,
        TOWN,
        closed_on=date(2024, 1, 1),
        reason="merged",
        active_children=1,
        today=date(2024, 2, 1),
    )
    assert err.details == {"active_children": 1}


def test_closing_records_date_and_reason_once() -> None:
    closed = close_station(
        VILLAGE,
        closed_on=date(2024, 1, 31),
        reason=" 并入邻村站 ",
        active_children=0,
        today=date(2024, 2, 1),
    )
    assert (closed.status, closed.closed_on, closed.close_reason) == (
        StationStatus.CLOSED,
        date(2024, 1, 31),
        "并入邻村站",
    )
    refused(
        "STATION_CLOSED",
        close_station,
        closed,
        closed_on=date(2024, 2, 1),
        reason="again",
        active_children=0,
        today=date(2024, 2, 1),
    )


@pytest.mark.parametrize("closed_on", [date(2021, 5, 31), date(2024, 2, 2)])
def test_close_date_must_be_between_opening_and_today(closed_on: date) -> None:
    refused(
        "STATION_CLOSE_DATE_INVALID",
        close_station,
        VILLAGE,
        closed_on=closed_on,
        reason="x",
        active_children=0,
        today=date(2024, 2, 1),
    )


# -- who may touch which station -----------------------------------------------------------------

BUREAU = Actor("u-bureau", manages_network=True, reads_network=True)
AUDITOR = Actor("u-auditor", manages_network=False, reads_network=True)
OWN_OPERATOR = Actor("u-op", manages_network=False, reads_network=False, credit_code=OPERATOR)
STRANGER = Actor("u-other", manages_network=False, reads_network=False, credit_code=OTHER_OPERATOR)


def test_the_operator_and_the_bureau_may_report_a_station_others_may_not() -> None:
    check_may_report_volume(OWN_OPERATOR, VILLAGE)
    check_may_report_volume(BUREAU, VILLAGE)
    assert refused("NOT_STATION_OPERATOR", check_may_report_volume, STRANGER, VILLAGE).status == 403
    refused("NOT_STATION_OPERATOR", check_may_report_volume, AUDITOR, VILLAGE)


def test_a_station_without_operator_is_nobodys_own() -> None:
    nobody = Actor("u-x", manages_network=False, reads_network=False, credit_code=None)
    refused("NOT_STATION_OPERATOR", check_may_report_volume, nobody, TOWN)
    refused("NOT_STATION_OPERATOR", check_may_read_station, nobody, TOWN)


def test_readers_see_every_station_enterprises_only_their_own() -> None:
    check_may_read_station(AUDITOR, TOWN)
    check_may_read_station(OWN_OPERATOR, VILLAGE)
    refused("NOT_STATION_OPERATOR", check_may_read_station, STRANGER, VILLAGE)

"""The county center against Xinping's targets: >=6 express, >=3 bulk freight, >=3 retail partners."""

from __future__ import annotations

from datetime import date

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_logistics.domain import (
    XINPING_CENTER_TARGETS,
    CarrierKind,
    CenterCarrier,
    RetailPartnership,
    Station,
    Tier,
    carrier_leaves,
    coverage,
    end_partnership,
    settle_carrier,
    start_partnership,
)

CENTER = Station(
    id="c1",
    county_code="530427",
    tier=Tier.COUNTY_CENTER,
    name="新平县物流仓储配送中心",
    address="桂山街道",
    opened_on=date(2021, 3, 1),
)
TOWN = Station(
    id="t1",
    county_code="530427",
    tier=Tier.TOWN,
    name="戛洒镇站",
    address="戛洒镇",
    opened_on=date(2021, 3, 1),
    parent_id="c1",
)
SETTLED = date(2021, 6, 1)
TODAY = date(2022, 1, 10)
EXPRESS = ["中国邮政", "顺丰速运", "中通快递", "圆通速递", "韵达快递", "申通快递"]
BULK = ["德邦物流", "安能物流", "壹米滴答"]
RETAIL = ["新平百货", "桂山超市", "戛洒供销社"]


def carriers(
    kind: CarrierKind, names: list[str], left_on: date | None = None
) -> list[CenterCarrier]:
    return [
        CenterCarrier(f"{kind}-{i}", "c1", kind, n, None, SETTLED, left_on)
        for i, n in enumerate(names)
    ]


def partners(names: list[str]) -> list[RetailPartnership]:
    return [RetailPartnership(f"p{i}", "c1", n, None, SETTLED) for i, n in enumerate(names)]


def figures(report) -> dict[str, tuple[int, int, bool]]:  # type: ignore[no-untyped-def]
    return {f.target: (f.required, f.actual, f.met) for f in report.figures}


def test_xinping_targets_are_6_express_3_bulk_3_retail() -> None:
    assert (
        XINPING_CENTER_TARGETS.min_express_companies,
        XINPING_CENTER_TARGETS.min_bulk_freight_companies,
        XINPING_CENTER_TARGETS.min_retail_partnerships,
    ) == (6, 3, 3)


def test_exactly_the_targets_are_met() -> None:
    report = coverage(
        carriers(CarrierKind.EXPRESS, EXPRESS) + carriers(CarrierKind.BULK_FREIGHT, BULK),
        partners(RETAIL),
        as_of=TODAY,
    )
    assert figures(report) == {
        "express_companies": (6, 6, True),
        "bulk_freight_companies": (3, 3, True),
        "retail_partnerships": (3, 3, True),
    }
    assert report.all_met


def test_one_short_anywhere_is_not_met_and_says_by_how_much() -> None:
    report = coverage(
        carriers(CarrierKind.EXPRESS, EXPRESS[:5]) + carriers(CarrierKind.BULK_FREIGHT, BULK),
        partners(RETAIL[:2]),
        as_of=TODAY,
    )
    f = figures(report)
    assert f["express_companies"] == (6, 5, False)
    assert f["retail_partnerships"] == (3, 2, False)
    assert f["bulk_freight_companies"] == (3, 3, True)
    assert not report.all_met


def test_carriers_count_only_while_settled_and_once_per_company() -> None:
    gone = carriers(CarrierKind.EXPRESS, EXPRESS[:2], left_on=date(2021, 12, 31))
    back = [CenterCarrier("again", "c1", CarrierKind.EXPRESS, "顺丰速运", None, date(2021, 12, 1))]
    f = figures(coverage(gone + back, [], as_of=TODAY))
    assert (
        f["express_companies"][1] == 1
    )  # 中国邮政 left; 顺丰 counts once although it has two rows
    assert figures(coverage(gone, [], as_of=date(2021, 12, 30)))["express_companies"][1] == 2
    assert (
        figures(coverage(gone, [], as_of=date(2021, 5, 31)))["express_companies"][1] == 0
    )  # not yet settled


def test_a_company_doing_both_kinds_counts_in_each() -> None:
    both = carriers(CarrierKind.EXPRESS, ["德邦物流"]) + carriers(
        CarrierKind.BULK_FREIGHT, ["德邦物流"]
    )
    f = figures(coverage(both, [], as_of=TODAY))
    assert (f["express_companies"][1], f["bulk_freight_companies"][1]) == (1, 1)


def refused(code: str, fn, *args, **kw) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        fn(*args, **kw)
    assert caught.value.code == code, caught.value
    return caught.value


def settle(
    name: str, present: list[CenterCarrier], center: Station = CENTER, **kw: object
) -> CenterCarrier:
    args: dict[str, object] = {
        "carrier_id": "new",
        "kind": CarrierKind.EXPRESS,
        "name": name,
        "credit_code": None,
        "settled_on": SETTLED,
        "present": present,
        "today": TODAY,
    }
    args.update(kw)
    return settle_carrier(center, **args)  # type: ignore[arg-type]


def test_carriers_settle_only_in_the_county_center_and_once() -> None:
    refused("STATION_NOT_A_CENTER", settle, "中国邮政", [], center=TOWN)
    present = carriers(CarrierKind.EXPRESS, EXPRESS[:1])
    assert refused("CARRIER_ALREADY_SETTLED", settle, " 中国邮政 ", present).field == "name"
    assert (
        settle("中国邮政", present, kind=CarrierKind.BULK_FREIGHT).kind is CarrierKind.BULK_FREIGHT
    )
    refused("DATE_IN_FUTURE", settle, "极兔速递", present, settled_on=date(2022, 1, 11))
    refused("DATE_BEFORE_OPENING", settle, "极兔速递", present, settled_on=date(2021, 2, 28))


def test_a_carrier_leaves_once_not_before_it_came() -> None:
    c = carriers(CarrierKind.EXPRESS, EXPRESS[:1])[0]
    gone = carrier_leaves(c, left_on=date(2021, 12, 31), today=TODAY)
    assert gone.left_on == date(2021, 12, 31)
    refused("CARRIER_ALREADY_LEFT", carrier_leaves, gone, left_on=TODAY, today=TODAY)
    refused("DATE_BEFORE_START", carrier_leaves, c, left_on=date(2021, 5, 1), today=TODAY)


def test_partnerships_start_once_and_end_once() -> None:
    running = partners(RETAIL[:1])
    refused(
        "PARTNERSHIP_EXISTS",
        start_partnership,
        CENTER,
        partnership_id="p",
        partner_name="新平百货",
        partner_credit_code=None,
        started_on=SETTLED,
        active=running,
        today=TODAY,
    )
    p = start_partnership(
        CENTER,
        partnership_id="p",
        partner_name="桂山超市",
        partner_credit_code="91530427ma6k7qxr3y",
        started_on=SETTLED,
        active=running,
        today=TODAY,
    )
    assert p.partner_credit_code == "91530427MA6K7QXR3Y"
    ended = end_partnership(p, ended_on=TODAY, today=TODAY)
    refused("PARTNERSHIP_ENDED", end_partnership, ended, ended_on=TODAY, today=TODAY)

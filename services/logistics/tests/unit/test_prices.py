"""Range prices (区间价): bands, versions that are never back-dated, and the average agricultural
parcel price against the baseline (Xinping: down >= 10 %, Ruyuan: down >= 20 %), decided
exactly even where the displayed average rounds the other way."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ruralfund_common.errors import DomainError
from ruralfund_common.money import parse_yuan
from ruralfund_logistics.domain import (
    PRICE_TARGETS,
    Actor,
    CarrierKind,
    CenterCarrier,
    PriceBaseline,
    PriceQuote,
    PriceSchedule,
    Station,
    Tier,
    WeightBand,
    band_for,
    certify_shipper,
    check_may_publish_prices,
    new_baseline,
    parse_price_fen,
    price_indicator,
    publish_schedule,
    revoke_shipper,
    schedule_in_force,
)

TODAY = date(2022, 1, 10)
AT = datetime(2022, 1, 10, 2, 0, tzinfo=UTC)
SF_CODE = "91530427MA6K7QXR3Y"
EMS = CenterCarrier("ems", "c1", CarrierKind.EXPRESS, "中国邮政", SF_CODE, date(2021, 6, 1))
ZTO = CenterCarrier("zto", "c1", CarrierKind.EXPRESS, "中通快递", None, date(2021, 6, 1))
DEPPON = CenterCarrier("db", "c1", CarrierKind.BULK_FREIGHT, "德邦物流", None, date(2021, 6, 1))
CENTER = Station("c1", "530427", Tier.COUNTY_CENTER, "新平县物流中心", "桂山街道", date(2021, 3, 1))


def y(text: str) -> int:
    return parse_yuan(text)


def bands(*spec: tuple[int, str, str]) -> list[WeightBand]:
    return [WeightBand(g, y(lo), y(hi)) for g, lo, hi in spec]


def refused(code: str, fn, *args, **kw) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        fn(*args, **kw)
    assert caught.value.code == code, caught.value
    return caught.value


def publish(
    given: list[WeightBand], current: PriceSchedule | None = None, **kw: object
) -> PriceSchedule:
    args: dict[str, object] = {
        "bands": given,
        "effective_from": TODAY,
        "note": None,
        "current": current,
        "today": TODAY,
        "schedule_id": "s",
        "published_by": "u-ems",
        "published_at": AT,
    }
    args.update(kw)
    return publish_schedule(EMS, **args)  # type: ignore[arg-type]


STANDARD = bands((1000, "3.00", "4.50"), (3000, "5.00", "7.00"), (5000, "8.00", "10.00"))


# -- bands and versions ------------------------------------------------------------------------


def test_a_weight_belongs_to_the_first_band_whose_bound_it_does_not_exceed() -> None:
    s = publish(STANDARD)
    assert band_for(s, 1) == STANDARD[0]
    assert band_for(s, 1000) == STANDARD[0]  # bounds are inclusive
    assert band_for(s, 1001) == STANDARD[1]
    assert band_for(s, 5000) == STANDARD[2]
    assert band_for(s, 5001) is None  # beyond the last band: no published price


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ([], "PRICE_BANDS_INVALID", "bands"),
        (
            bands((1000, "3.00", "4.00"), (1000, "5.00", "6.00")),
            "PRICE_BANDS_INVALID",
            "bands[1].up_to_g",
        ),
        (bands((0, "3.00", "4.00")), "PRICE_BANDS_INVALID", "bands[0].up_to_g"),
        (bands((100_001, "3.00", "4.00")), "PRICE_BANDS_INVALID", "bands[0].up_to_g"),
        (bands((1000, "4.01", "4.00")), "PRICE_RANGE_INVALID", "bands[0].max_price"),
        ([WeightBand(1000, 0, 100)], "PRICE_RANGE_INVALID", "bands[0].max_price"),
        (bands(*((g, "1.00", "2.00") for g in range(1, 22))), "PRICE_BANDS_INVALID", "bands"),
    ],
)
def test_bands_rise_and_each_range_is_ordered(
    given: list[WeightBand], code: str, field: str
) -> None:
    assert refused(code, publish, given).field == field


@pytest.mark.parametrize("text", ["0.00", "-1.00", "3.505", "10,000.01", "abc"])
def test_prices_are_positive_whole_fen_yuan_text(text: str) -> None:
    assert (
        refused("PRICE_INVALID", parse_price_fen, text, "bands[0].min_price").field
        == "bands[0].min_price"
    )


def test_versions_follow_each_other_and_are_never_back_dated() -> None:
    v1 = publish(STANDARD)
    cheaper = bands((1000, "2.50", "4.00"), (3000, "4.50", "6.50"), (5000, "7.50", "9.50"))
    v2 = publish(cheaper, v1, effective_from=date(2022, 2, 1))
    assert (v1.version, v2.version) == (1, 2)
    refused("PRICE_BACKDATED", publish, cheaper, effective_from=date(2022, 1, 9))
    refused("PRICE_BACKDATED", publish, STANDARD, v2, effective_from=date(2022, 1, 31))
    refused("PRICE_UNCHANGED", publish, cheaper, v2, effective_from=date(2022, 3, 1))
    assert schedule_in_force([v1, v2], date(2022, 1, 31)) == v1
    assert schedule_in_force([v1, v2], date(2022, 2, 1)) == v2
    assert schedule_in_force([v1, v2], date(2022, 1, 9)) is None


def test_a_carrier_that_left_publishes_nothing() -> None:
    gone = CenterCarrier(
        "ems", "c1", CarrierKind.EXPRESS, "中国邮政", SF_CODE, date(2021, 6, 1), TODAY
    )
    refused(
        "CARRIER_NOT_PRESENT",
        publish_schedule,
        gone,
        bands=STANDARD,
        effective_from=TODAY,
        note=None,
        current=None,
        today=TODAY,
        schedule_id="s",
        published_by="u",
        published_at=AT,
    )


def test_the_carrier_itself_or_the_bureau_publishes() -> None:
    check_may_publish_prices(Actor("u-ems", False, False, credit_code=SF_CODE), EMS)
    check_may_publish_prices(Actor("u-bureau", True, True), ZTO)
    other = Actor("u-x", False, False, credit_code="91530427MA6N0B1X2L")
    assert refused("NOT_THE_CARRIER", check_may_publish_prices, other, EMS).status == 403
    # a carrier without a registered credit code can only be published by the bureau
    refused(
        "NOT_THE_CARRIER",
        check_may_publish_prices,
        Actor("u-n", False, False, credit_code=None),
        ZTO,
    )


# -- the indicator -----------------------------------------------------------------------------


def baseline(target: str, price: str, weight_g: int = 3000) -> PriceBaseline:
    return new_baseline(
        county_code="530427",
        target_code=target,
        reference_weight_g=weight_g,
        price_fen=y(price),
        measured="2020 年农产品快递平均发货价",
        correction_reason=None,
        current=None,
        set_by="u-bureau",
        set_at=AT,
    )


def quote(carrier: CenterCarrier, lo: str, hi: str) -> PriceQuote:
    band = WeightBand(3000, y(lo), y(hi))
    s = PriceSchedule("s", carrier.id, 1, TODAY, (band,), None, "u", AT)
    return PriceQuote(carrier, s, band)


def test_targets_are_xinping_10_and_ruyuan_20_percent() -> None:
    assert {c: t.reduction_bp for c, t in PRICE_TARGETS.items()} == {
        "xinping-2021": 1_000,
        "ruyuan-2021-p2": 2_000,
    }


@pytest.mark.parametrize(
    ("lo", "hi", "average", "change_bp", "met"),
    [
        ("8.00", "10.00", "9.00", -1_000, True),  # exactly 10 % down
        ("8.00", "10.02", "9.01", -990, False),  # 9.01: one fen short
        ("6.00", "8.00", "7.00", -3_000, True),
        ("10.00", "12.00", "11.00", 1_000, False),  # dearer than before
    ],
)
def test_xinping_target_at_its_boundary(
    lo: str, hi: str, average: str, change_bp: int, met: bool
) -> None:
    ind = price_indicator(baseline("xinping-2021", "10.00"), [quote(EMS, lo, hi)], as_of=TODAY)
    assert (ind.average_fen, ind.change_bp, ind.met) == (y(average), change_bp, met)


def test_the_target_is_decided_exactly_not_on_the_rounded_average() -> None:
    # Ruyuan: 20 % below 10.00 is 8.00. Middles 8.00 and 8.005: average 8.0025, shown as 8.00,
    # which would look met; exactly it is a quarter fen too dear (-19.975 %, shown -19.98 %).
    quotes = [quote(EMS, "8.00", "8.00"), quote(ZTO, "8.00", "8.01")]
    ind = price_indicator(baseline("ruyuan-2021-p2", "10.00"), quotes, as_of=TODAY)
    assert (ind.average_fen, ind.change_bp, ind.met) == (800, -1_998, False)
    ind = price_indicator(baseline("ruyuan-2021-p2", "10.00"), quotes[:1], as_of=TODAY)
    assert ind.met


def test_half_fen_middles_average_and_round_half_up_for_display() -> None:
    quotes = [quote(EMS, "8.00", "9.01"), quote(ZTO, "8.00", "9.00")]  # middles 8.505 and 8.50
    ind = price_indicator(baseline("xinping-2021", "10.00"), quotes, as_of=TODAY)
    assert (ind.average_fen, ind.change_bp, ind.met) == (850, -1_498, True)  # -14.975 % -> -14.98 %


def test_only_express_carriers_count_and_none_is_not_met() -> None:
    ind = price_indicator(
        baseline("xinping-2021", "10.00"),
        [quote(DEPPON, "1.00", "1.00"), quote(EMS, "9.00", "9.00")],
        as_of=TODAY,
    )
    assert (len(ind.quotes), ind.average_fen, ind.met) == (1, 900, True)
    empty = price_indicator(
        baseline("xinping-2021", "10.00"), [quote(DEPPON, "1.00", "1.00")], as_of=TODAY
    )
    assert (empty.average_fen, empty.change_bp, empty.met) == (None, None, False)


def test_a_baseline_correction_needs_a_reason_and_a_known_target() -> None:
    first = baseline("xinping-2021", "10.00")
    kw = {
        "county_code": "530427",
        "target_code": "xinping-2021",
        "reference_weight_g": 3000,
        "price_fen": 950,
        "measured": "复核后",
        "set_by": "u",
        "set_at": AT,
    }
    refused("BASELINE_CORRECTION_REASON", new_baseline, correction_reason=None, current=first, **kw)
    refused("BASELINE_CORRECTION_REASON", new_baseline, correction_reason="x", current=None, **kw)
    assert new_baseline(correction_reason="抽样复核", current=first, **kw).revision == 2
    refused(
        "PRICE_TARGET_UNKNOWN",
        new_baseline,
        **(kw | {"target_code": "nowhere"}),
        correction_reason=None,
        current=None,
    )


# -- certified enterprises ---------------------------------------------------------------------


def test_certification_once_per_enterprise_and_revocation_once() -> None:
    s = certify_shipper(
        CENTER,
        shipper_id="e1",
        credit_code=SF_CODE.lower(),
        name=" 新平礼好 ",
        certified_on=date(2022, 1, 3),
        active_codes=[],
        today=TODAY,
    )
    assert (s.credit_code, s.name, s.active_on(TODAY)) == (SF_CODE, "新平礼好", True)
    refused(
        "SHIPPER_ALREADY_CERTIFIED",
        certify_shipper,
        CENTER,
        shipper_id="e2",
        credit_code=SF_CODE,
        name="x",
        certified_on=TODAY,
        active_codes=[SF_CODE],
        today=TODAY,
    )
    refused(
        "CREDIT_CODE_INVALID",
        certify_shipper,
        CENTER,
        shipper_id="e2",
        credit_code="91530427MA6K7QXR3U",
        name="x",
        certified_on=TODAY,
        active_codes=[],
        today=TODAY,
    )
    gone = revoke_shipper(s, revoked_on=TODAY, reason="停业", today=TODAY)
    assert not gone.active_on(TODAY) and gone.active_on(date(2022, 1, 9))
    refused("SHIPPER_REVOKED", revoke_shipper, gone, revoked_on=TODAY, reason="x", today=TODAY)

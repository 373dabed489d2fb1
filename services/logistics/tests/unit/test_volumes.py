"""Station volumes: money parsing, one report per month with reasoned corrections, annual
totals from the latest revisions, and the Xinping award tiers at their boundaries."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruralfund_common.errors import DomainError
from ruralfund_common.money import parse_yuan
from ruralfund_logistics.domain import (
    XINPING_STATION_AWARD_TIERS,
    ReportMonth,
    Station,
    StationStatus,
    Tier,
    VolumeReport,
    VolumeSubmission,
    accept_report,
    annual_total,
    parse_volume_fen,
    station_award_tier,
)
from ruralfund_logistics.domain.volumes import MAX_MONTH_PARCELS, MAX_MONTH_VOLUME_FEN

STATION = Station(
    id="s1",
    county_code="530427",
    tier=Tier.VILLAGE,
    name="南碱村站",
    address="南碱村",
    opened_on=date(2021, 6, 15),
    parent_id="t1",
)
TODAY = date(2022, 1, 10)
AT = datetime(2022, 1, 10, 2, 0, tzinfo=UTC)


def refused(code: str, fn, *args, **kw) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        fn(*args, **kw)
    assert caught.value.code == code, caught.value
    return caught.value


def yuan(text: str) -> int:
    return parse_yuan(text)


# -- award tiers (Xinping line 2 item 1) -------------------------------------------------------


@pytest.mark.parametrize(
    ("annual", "award"),
    [
        ("0.00", None),
        ("199,999.99", None),  # one fen short of the lowest tier
        ("200,000.00", "20,000"),  # exactly the threshold qualifies ("20万元以上", inclusive)
        ("499,999.99", "20,000"),
        ("500,000.00", "30,000"),
        ("999,999.99", "30,000"),
        ("1,000,000.00", "50,000"),
        ("4,999,999.99", "50,000"),
        ("5,000,000.00", "80,000"),
        ("98,765,432.10", "80,000"),  # the highest tier only, never a sum of tiers
    ],
)
def test_award_tier_boundaries(annual: str, award: str | None) -> None:
    tier = station_award_tier(yuan(annual))
    assert (tier.award_fen if tier else None) == (yuan(award) if award else None)


def test_tiers_are_the_four_published_ones_highest_first() -> None:
    assert [
        (t.min_annual_volume_fen // 100, t.award_fen // 100) for t in XINPING_STATION_AWARD_TIERS
    ] == [(5_000_000, 80_000), (1_000_000, 50_000), (500_000, 30_000), (200_000, 20_000)]


@given(st.integers(min_value=0, max_value=10**12))
def test_the_tier_is_the_highest_threshold_reached(volume_fen: int) -> None:
    tier = station_award_tier(volume_fen)
    reached = [t for t in XINPING_STATION_AWARD_TIERS if volume_fen >= t.min_annual_volume_fen]
    assert tier == (max(reached, key=lambda t: t.award_fen) if reached else None)


# -- parsing volumes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("412,345.60", 41_234_560),
        ("412345.6", 41_234_560),
        ("¥1,000", 100_000),
        ("0", 0),
        (" 200000.00 ", 20_000_000),
    ],
)
def test_volume_as_yuan_text_becomes_fen(text: str, fen: int) -> None:
    assert parse_volume_fen(text, None) == fen


def test_volume_as_integer_fen_is_taken_as_is() -> None:
    assert parse_volume_fen(None, 41_234_560) == 41_234_560


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("412,345.605", "volume"),  # finer than a fen
        ("41,23,45.60", "volume"),  # badly grouped: a comma may be someone's decimal mark
        ("412 345.60", "volume"),
        ("-1.00", "volume"),
        ("abc", "volume"),
        (str(MAX_MONTH_VOLUME_FEN // 100 + 1), "volume"),
    ],
)
def test_bad_volume_text_is_refused_naming_the_field(text: str, field: str) -> None:
    assert refused("VOLUME_AMOUNT_INVALID", parse_volume_fen, text, None).field == field


@pytest.mark.parametrize(("text", "fen"), [(None, None), ("1.00", 100)])
def test_exactly_one_of_volume_and_volume_fen(text: str | None, fen: int | None) -> None:
    refused("VOLUME_AMOUNT_INVALID", parse_volume_fen, text, fen)


@pytest.mark.parametrize("fen", [-1, True, MAX_MONTH_VOLUME_FEN + 1])
def test_bad_volume_fen_is_refused(fen: int) -> None:
    assert refused("VOLUME_AMOUNT_INVALID", parse_volume_fen, None, fen).field == "volume_fen"


# -- accepting a month's report -----------------------------------------------------------------


def submit(
    month: int, volume: str, parcels: int = 100, reason: str | None = None, year: int = 2021
) -> VolumeSubmission:
    return VolumeSubmission(ReportMonth(year, month), yuan(volume), parcels, reason)


def accept(
    s: VolumeSubmission,
    current: VolumeReport | None = None,
    station: Station = STATION,
    today: date = TODAY,
) -> VolumeReport:
    return accept_report(
        station,
        s,
        current=current,
        today=today,
        report_id=f"r{s.period}",
        reported_by="u-op",
        reported_at=AT,
    )


def test_a_first_report_is_revision_1_without_reason() -> None:
    r = accept(submit(7, "18,000.00", 950))
    assert (r.revision, r.volume_fen, r.parcels, r.correction_reason) == (1, 1_800_000, 950, None)


def test_a_second_report_of_the_same_month_needs_a_reason() -> None:
    first = accept(submit(7, "18,000.00"))
    err = refused("VOLUME_ALREADY_REPORTED", accept, submit(7, "19,000.00"), current=first)
    assert (err.status, err.field, err.details["revision"]) == (409, "correction_reason", 1)


def test_a_correction_is_the_next_revision_with_its_reason() -> None:
    first = accept(submit(7, "18,000.00"))
    second = accept(submit(7, "19,000.00", reason="  补录7月退货后的数据 "), current=first)
    third = accept(submit(7, "18,500.00", reason="again"), current=second)
    assert (second.revision, second.correction_reason, third.revision) == (
        2,
        "补录7月退货后的数据",
        3,
    )


def test_a_correction_of_nothing_or_of_nothing_new_is_refused() -> None:
    refused("VOLUME_NOTHING_TO_CORRECT", accept, submit(7, "1.00", reason="typo"))
    first = accept(submit(7, "18,000.00", 950))
    refused(
        "VOLUME_CORRECTION_UNCHANGED",
        accept,
        submit(7, "18,000.00", 950, reason="same"),
        current=first,
    )
    refused(
        "VOLUME_CORRECTION_REASON_INVALID",
        accept,
        submit(7, "18,001.00", 950, reason="   "),
        current=first,
    )


def test_the_month_must_have_ended_in_the_county() -> None:
    assert refused("VOLUME_MONTH_NOT_ENDED", accept, submit(1, "1.00", year=2022)).field == "month"
    accept(submit(12, "1.00"), today=date(2022, 1, 1))  # December is over on 1 January
    refused("VOLUME_MONTH_NOT_ENDED", accept, submit(12, "1.00"), today=date(2021, 12, 31))


def test_months_before_the_opening_month_or_after_closing_are_refused() -> None:
    refused("VOLUME_BEFORE_OPENING", accept, submit(5, "1.00"))
    accept(submit(6, "1.00"))  # opened mid-June: June counts
    closed = replace(
        STATION, status=StationStatus.CLOSED, closed_on=date(2021, 9, 30), close_reason="merged"
    )
    accept(submit(9, "1.00"), station=closed)  # a late report of a month it was open is fine
    refused("STATION_CLOSED", accept, submit(10, "1.00"), station=closed)


@pytest.mark.parametrize(
    ("year", "month", "field"),
    [(2013, 1, "year"), (2101, 1, "year"), (2021, 0, "month"), (2021, 13, "month")],
)
def test_report_period_is_range_checked(year: int, month: int, field: str) -> None:
    assert refused("VOLUME_PERIOD_INVALID", ReportMonth, year, month).field == field


def test_parcels_are_range_checked() -> None:
    refused("VOLUME_PARCELS_INVALID", accept, submit(7, "1.00", parcels=-1))
    refused("VOLUME_PARCELS_INVALID", accept, submit(7, "1.00", parcels=MAX_MONTH_PARCELS + 1))


# -- annual totals ----------------------------------------------------------------------------------


def test_annual_total_counts_only_the_latest_revision_of_each_month() -> None:
    jul = accept(submit(7, "100,000.00", 1000))
    aug = accept(submit(8, "99,999.99", 900))
    aug2 = accept(submit(8, "100,000.00", 901, reason="missed one order"), current=aug)
    total = annual_total(2021, [aug2, jul, aug])
    assert (total.volume_fen, total.parcels, total.months_reported) == (
        yuan("200,000.00"),
        1901,
        (7, 8),
    )
    # the correction is what lifts the station into the lowest tier
    assert station_award_tier(annual_total(2021, [jul, aug]).volume_fen) is None
    assert station_award_tier(total.volume_fen) == XINPING_STATION_AWARD_TIERS[-1]


def test_annual_total_ignores_other_years_and_is_zero_when_empty() -> None:
    dec = accept(submit(12, "5.00"))
    jan = accept(submit(1, "7.00", year=2022), today=date(2022, 2, 1))
    assert annual_total(2022, [dec, jan]).volume_fen == 700
    assert annual_total(2023, [dec, jan]) == annual_total(2023, [])
    assert annual_total(2023, []).months_reported == ()


@given(st.lists(st.tuples(st.integers(6, 12), st.integers(0, 10**9)), max_size=30), st.randoms())
def test_annual_total_is_the_sum_of_each_months_last_word_in_any_order(
    figures: list[tuple[int, int]], rnd: random.Random
) -> None:
    history: list[VolumeReport] = []
    latest: dict[int, VolumeReport] = {}
    for month, fen in figures:
        current = latest.get(month)
        if current is not None and current.volume_fen == fen:
            continue
        s = VolumeSubmission(ReportMonth(2021, month), fen, 1, "fix" if current else None)
        latest[month] = accept(s, current=current)
        history.append(latest[month])
    rnd.shuffle(history)
    total = annual_total(2021, history)
    assert total.volume_fen == sum(r.volume_fen for r in latest.values())
    assert total.months_reported == tuple(sorted(latest))

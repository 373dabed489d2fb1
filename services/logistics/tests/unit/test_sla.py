"""The 24-hour promise: deadline across midnight, days, months and years (Asia/Shanghai local
days for the daily rates), the breach rule, and on-time rates rounded half up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from ruralfund_logistics.domain import (
    OnTimeTally,
    RateClass,
    Scan,
    ScanKind,
    SlaOutcome,
    breach_due,
    deadline_of,
    departure_day,
    departure_month,
    local_day_start,
    month_end,
    rate_class,
    sla_outcome,
    track_of,
)

CST = timezone(timedelta(hours=8))  # what the county's handhelds print
US = timedelta(microseconds=1)
CENTER, VILLAGE = "c0000000-0000-7000-8000-000000000001", "v0000000-0000-7000-8000-000000000003"
COUNTY = {CENTER: "530427", VILLAGE: "530427"}


def scan(n: int, kind: ScanKind, at: datetime, station: str = CENTER) -> Scan:
    return Scan(f"s{n}", "SF100", station, kind, at.astimezone(UTC))


def track(*scans: Scan):  # type: ignore[no-untyped-def]
    return track_of(scans, COUNTY)


# -- the deadline ----------------------------------------------------------------------------


def test_a_parcel_leaving_before_midnight_is_due_before_midnight_the_next_day() -> None:
    left = datetime(2021, 7, 3, 23, 30, tzinfo=CST)
    assert deadline_of(left) == datetime(2021, 7, 4, 23, 30, tzinfo=CST)
    # it counts on the county's day it left, although in UTC that was mid-afternoon
    assert departure_day(left) == date(2021, 7, 3)
    assert left.astimezone(UTC).date() == date(2021, 7, 3)


def test_a_parcel_leaving_just_after_midnight_counts_on_the_new_local_day() -> None:
    left = datetime(2021, 7, 3, 16, 30, tzinfo=UTC)  # 2021-07-04 00:30 in the county
    assert departure_day(left) == date(2021, 7, 4)
    assert departure_day(left - timedelta(hours=1)) == date(2021, 7, 3)  # 23:30 the day before


def test_month_and_year_ends_follow_the_local_calendar() -> None:
    july_last = datetime(2021, 7, 31, 23, 59, tzinfo=CST)
    assert departure_month(july_last) == date(2021, 7, 1)
    assert departure_month(july_last + timedelta(minutes=1)) == date(2021, 8, 1)
    new_year = datetime(2021, 12, 31, 16, 0, tzinfo=UTC)  # 2022-01-01 00:00 local
    assert departure_month(new_year) == date(2022, 1, 1)
    assert deadline_of(new_year) == datetime(2022, 1, 2, 0, 0, tzinfo=CST)


def test_local_days_start_at_16_utc_the_day_before() -> None:
    assert local_day_start(date(2021, 7, 1)) == datetime(2021, 6, 30, 16, 0, tzinfo=UTC)
    assert month_end(date(2021, 2, 10)) == date(2021, 2, 28)
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    assert month_end(date(2021, 12, 5)) == date(2021, 12, 31)


def test_the_promise_is_24_elapsed_hours_over_several_days() -> None:
    left = datetime(2021, 7, 3, 10, 0, tzinfo=CST)
    assert deadline_of(left) - left == timedelta(hours=24)
    t = track(
        scan(1, ScanKind.LEFT_CENTER, left),
        scan(2, ScanKind.DELIVERED, left + timedelta(days=2, hours=1), VILLAGE),
    )
    assert sla_outcome(t) is SlaOutcome.LATE  # two days later: late, not "on the next day"


# -- outcomes --------------------------------------------------------------------------------

LEFT = datetime(2021, 7, 3, 23, 30, tzinfo=CST)
DEADLINE = datetime(2021, 7, 4, 23, 30, tzinfo=CST)


@pytest.mark.parametrize(
    ("delivered", "outcome"),
    [
        (DEADLINE - US, SlaOutcome.ON_TIME),
        (DEADLINE, SlaOutcome.ON_TIME),  # exactly 24 hours is within the promise
        (DEADLINE + US, SlaOutcome.LATE),
        (datetime(2021, 7, 4, 0, 10, tzinfo=CST), SlaOutcome.ON_TIME),  # just past midnight
    ],
)
def test_delivery_at_the_deadline_is_on_time_a_microsecond_later_is_late(
    delivered: datetime, outcome: SlaOutcome
) -> None:
    t = track(scan(1, ScanKind.LEFT_CENTER, LEFT), scan(2, ScanKind.DELIVERED, delivered, VILLAGE))
    assert sla_outcome(t) is outcome


def test_no_promise_before_the_parcel_leaves_the_center() -> None:
    assert sla_outcome(track(scan(1, ScanKind.RECEIVED_AT_CENTER, LEFT))) is None


def test_the_clock_starts_at_the_first_departure() -> None:
    # left, came back (a missort) and left again: the promise runs from the first departure
    t = track(
        scan(1, ScanKind.LEFT_CENTER, LEFT),
        scan(2, ScanKind.LEFT_CENTER, LEFT + timedelta(hours=5)),
        scan(3, ScanKind.DELIVERED, DEADLINE + timedelta(hours=1), VILLAGE),
    )
    assert (t.left_center_at, sla_outcome(t)) == (LEFT.astimezone(UTC), SlaOutcome.LATE)


def test_a_return_before_the_deadline_leaves_the_promise_after_it_does_not() -> None:
    back = track(scan(1, ScanKind.LEFT_CENTER, LEFT), scan(2, ScanKind.RETURNED, DEADLINE, VILLAGE))
    assert sla_outcome(back) is SlaOutcome.RETURNED
    late_back = track(
        scan(1, ScanKind.LEFT_CENTER, LEFT), scan(2, ScanKind.RETURNED, DEADLINE + US, VILLAGE)
    )
    assert sla_outcome(late_back) is SlaOutcome.OPEN  # still not delivered in time


# -- the breach --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "now", "emitted", "due"),
    [
        (SlaOutcome.OPEN, DEADLINE, False, False),  # at the deadline it may still be delivered
        (SlaOutcome.OPEN, DEADLINE + US, False, True),
        (SlaOutcome.OPEN, DEADLINE + timedelta(days=3), True, False),  # once only
        (SlaOutcome.LATE, DEADLINE + timedelta(hours=2), False, True),  # delivered late: a breach
        (SlaOutcome.ON_TIME, DEADLINE + timedelta(days=1), False, False),
        (SlaOutcome.RETURNED, DEADLINE + timedelta(days=1), False, False),
        (None, DEADLINE + timedelta(days=1), False, False),  # never left the center
    ],
)
def test_a_breach_is_due_once_after_the_deadline_unless_delivered_or_returned_in_time(
    outcome: SlaOutcome | None, now: datetime, emitted: bool, due: bool
) -> None:
    assert breach_due(outcome, DEADLINE, already_emitted=emitted, now=now) is due


def test_an_open_parcel_counts_late_only_once_overdue() -> None:
    assert rate_class(SlaOutcome.OPEN, overdue=False) is RateClass.PENDING
    assert rate_class(SlaOutcome.OPEN, overdue=True) is RateClass.LATE
    assert rate_class(SlaOutcome.ON_TIME, overdue=True) is RateClass.ON_TIME
    assert rate_class(SlaOutcome.RETURNED, overdue=True) is RateClass.RETURNED


# -- rates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_time", "late", "bp"),
    [
        (0, 0, None),  # nothing decided: no rate, not 0 % or 100 %
        (3, 0, 10_000),
        (0, 2, 0),
        (2, 1, 6_667),  # 66.666... %
        (1, 2, 3_333),
        (1, 31, 313),  # 3.125 %: exactly half a basis point, rounded up
        (19, 1, 9_500),
    ],
)
def test_on_time_rate_in_basis_points_half_up(on_time: int, late: int, bp: int | None) -> None:
    tally = OnTimeTally().add(RateClass.ON_TIME, on_time).add(RateClass.LATE, late)
    tally = tally.add(RateClass.PENDING, 7).add(RateClass.RETURNED, 2)  # never in the rate
    assert (tally.decided, tally.on_time_rate_bp) == (on_time + late, bp)

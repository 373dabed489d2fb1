"""The 24-hour promise: county center -> village delivery within 24 hours of leaving the center.

Xinping 2021 line 2 item 2 (统一运输、统一配送) and Ruyuan 2021 phase 2 (智慧物流中心: 县到村配送
24 小时完成). The clock starts at the parcel's first ``left_center`` scan; delivered exactly at
the deadline is on time. A parcel returned (refused, wrong address) before its deadline leaves
the promise and is counted apart; one returned after it was already late.

The outcome from the scans alone never depends on "now"; only an OPEN parcel turns late when
the injected clock passes its deadline, which is when the breach is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from ruralfund_common.calendar import COUNTY_TZ, local_date

from .parcels import ParcelTrack

__all__ = [
    "DELIVERY_PROMISE",
    "ONE_DAY",
    "OnTimeTally",
    "RateClass",
    "SlaOutcome",
    "breach_due",
    "deadline_of",
    "departure_day",
    "departure_month",
    "local_day_start",
    "month_end",
    "rate_class",
    "sla_outcome",
    "sla_view",
]

DELIVERY_PROMISE: Final = timedelta(hours=24)
ONE_DAY: Final = timedelta(days=1)
_BP_PER_UNIT: Final = 10_000


class SlaOutcome(StrEnum):
    OPEN = "open"  # not delivered (yet); late once the deadline passes
    ON_TIME = "on_time"
    LATE = "late"  # delivered after the deadline
    RETURNED = "returned"  # returned before the deadline, without a delivery


def deadline_of(left_center_at: datetime) -> datetime:
    assert left_center_at.tzinfo is not None, "instants are timezone-aware"
    # an elapsed 24 hours, not "same time tomorrow": China has no DST, but the rule is hours
    return left_center_at + DELIVERY_PROMISE


def sla_outcome(track: ParcelTrack) -> SlaOutcome | None:
    """The promise's outcome from the scans alone; None until the parcel left the center."""
    left = track.left_center_at
    if left is None:
        return None
    deadline = deadline_of(left)
    delivered = track.delivered_at
    if delivered is not None:
        return SlaOutcome.ON_TIME if delivered <= deadline else SlaOutcome.LATE
    returned = track.returned_at
    if returned is not None and returned <= deadline:
        return SlaOutcome.RETURNED
    return SlaOutcome.OPEN


def sla_view(track: ParcelTrack) -> tuple[datetime | None, SlaOutcome | None]:
    """The deadline and the outcome from the scans, as stored with the parcel."""
    left = track.left_center_at
    return (deadline_of(left) if left else None), sla_outcome(track)


def breach_due(
    outcome: SlaOutcome | None, deadline: datetime | None, *, already_emitted: bool, now: datetime
) -> bool:
    """Whether the breach event must be emitted now: once per parcel, after its deadline,
    when it was not delivered (or returned) by then."""
    if outcome not in (SlaOutcome.OPEN, SlaOutcome.LATE) or already_emitted:
        return False
    assert deadline is not None, "a parcel with an outcome has a deadline"
    return now > deadline


class RateClass(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    RETURNED = "returned"
    PENDING = "pending"  # neither delivered nor overdue yet


def rate_class(outcome: SlaOutcome, *, overdue: bool) -> RateClass:
    """How a parcel counts in the on-time rate now (``overdue``: the deadline has passed)."""
    if outcome is SlaOutcome.OPEN:
        return RateClass.LATE if overdue else RateClass.PENDING
    return RateClass(outcome.value)


def departure_day(left_center_at: datetime) -> date:
    """The county's calendar day (Asia/Shanghai) a parcel counts in: the day it left the
    center. A day's rate is final 24 hours after the day ends."""
    return local_date(left_center_at)


def departure_month(left_center_at: datetime) -> date:
    return departure_day(left_center_at).replace(day=1)


def local_day_start(day: date) -> datetime:
    """The instant the county's calendar day begins (00:00 Asia/Shanghai = 16:00 UTC before)."""
    return datetime.combine(day, time.min, tzinfo=COUNTY_TZ)


def month_end(day: date) -> date:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - ONE_DAY


@dataclass(frozen=True)
class OnTimeTally:
    on_time: int = 0
    late: int = 0
    returned: int = 0
    pending: int = 0

    def add(self, cls: RateClass, count: int) -> OnTimeTally:
        assert count >= 0
        values = {c.value: getattr(self, c.value) for c in RateClass}
        values[cls.value] += count
        return OnTimeTally(**values)

    @property
    def decided(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_rate_bp(self) -> int | None:
        """On-time share of decided parcels in basis points, rounded half up; None if none
        was decided (no rate, rather than a misleading 0 % or 100 %)."""
        if self.decided == 0:
            return None
        return (2 * self.on_time * _BP_PER_UNIT + self.decided) // (2 * self.decided)

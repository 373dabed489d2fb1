"""The bureau's periodic summary of missed county → village delivery deadlines (24 h promise).

logistics emits one ``delivery_sla_breached`` per parcel; one mail per parcel would bury the
bureau, so notify collects them and, once a reporting period (county time) has ended, mails
one summary of every breach not reported yet. Periods divide the day evenly (24 h by
default: a daily summary) and are aligned to 00:00 Asia/Shanghai, so "the 2 March summary"
means the same thing to everyone. A breach is filed under the period its deadline fell in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from ruralfund_common.calendar import COUNTY_TZ

__all__ = [
    "MAX_LISTED_PARCELS",
    "PERIOD_HOURS",
    "SlaBreach",
    "SlaSummary",
    "period_of",
    "summarise",
]

PERIOD_HOURS: Final = (1, 2, 3, 4, 6, 8, 12, 24)  # the ones that divide a day evenly
# A mail listing thousands of parcels is unreadable; the counts still cover all of them.
MAX_LISTED_PARCELS: Final = 50
NO_STATION: Final = "（未指定站点）"


@dataclass(frozen=True, slots=True)
class SlaBreach:
    parcel_id: str
    county_code: str
    destination_station_id: str | None
    town_station_id: str | None
    left_center_at: datetime
    deadline_at: datetime
    detected_at: datetime
    last_scan_kind: str | None

    def __post_init__(self) -> None:
        for instant in (self.left_center_at, self.deadline_at, self.detected_at):
            if instant.tzinfo is None:
                raise ValueError("breach instants must be timezone-aware")

    @property
    def station(self) -> str:
        return self.destination_station_id or NO_STATION


def period_of(instant: datetime, hours: int) -> tuple[datetime, datetime]:
    """The reporting period holding ``instant``: [start, end) in Asia/Shanghai."""
    if hours not in PERIOD_HOURS:
        raise ValueError(f"a reporting period is one of {PERIOD_HOURS} hours, got {hours}")
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(COUNTY_TZ)
    midnight = datetime.combine(local.date(), time.min, tzinfo=COUNTY_TZ)
    start = midnight + timedelta(hours=(local.hour // hours) * hours)
    return start, start + timedelta(hours=hours)


@dataclass(frozen=True, slots=True)
class SlaSummary:
    """One summary mail's content: every breach counted, the first ones listed."""

    period_from: datetime  # start of the earliest period covered
    period_to: datetime  # end of the latest period covered
    total: int
    by_station: list[tuple[str, int]]  # most breaches first
    by_county: list[tuple[str, int]]
    listed: list[SlaBreach]  # earliest deadline first, at most MAX_LISTED_PARCELS

    @property
    def unlisted(self) -> int:
        return self.total - len(self.listed)


def summarise(breaches: Sequence[SlaBreach], hours: int) -> SlaSummary:
    assert breaches, "a summary needs at least one breach"
    ordered = sorted(breaches, key=lambda b: (b.deadline_at, b.parcel_id))
    stations = Counter(b.station for b in ordered)
    counties = Counter(b.county_code for b in ordered)
    return SlaSummary(
        period_from=period_of(ordered[0].deadline_at, hours)[0],
        period_to=period_of(ordered[-1].deadline_at, hours)[1],
        total=len(ordered),
        by_station=sorted(stations.items(), key=lambda kv: (-kv[1], kv[0])),
        by_county=sorted(counties.items()),
        listed=ordered[:MAX_LISTED_PARCELS],
    )

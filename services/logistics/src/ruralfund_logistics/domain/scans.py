"""Parcel scans: what a sorting line or a station handheld reports, checked one by one.

A batch is never refused as a whole for one bad scan: each scan is accepted or rejected with
a code and the field at fault, so the good ones are applied. Every check here depends only on
the scan itself, the station registry and the clock, never on which scans came before: a
replayed or shuffled batch is judged exactly the same way. The one exception: a scan id reused
for a different scan; the first one stored wins (service.parcels._reused_ids).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Final

from ruralfund_common.calendar import COUNTY_TZ, local_date

from .network import Station, Tier

__all__ = [
    "MAX_CLOCK_SKEW",
    "MAX_ID_CHARS",
    "MAX_SCANS_PER_BATCH",
    "MIN_SCAN_TIME",
    "BatchCheck",
    "RawScan",
    "Scan",
    "ScanKind",
    "ScanRejection",
    "check_batch",
    "reused_rejection",
    "station_ids_of",
]

# The same bound as the NATS command (contracts.logistics.record_scans): one batch is one
# transaction, so it must stay short.
MAX_SCANS_PER_BATCH: Final = 1000
MAX_ID_CHARS: Final = 64
# Handhelds' clocks drift; a scan "from the future" beyond this is a wrong clock, not a scan.
MAX_CLOCK_SKEW: Final = timedelta(minutes=10)
# The first national demonstration counties were named in 2014: nothing is scanned before.
MIN_SCAN_TIME: Final = datetime(2014, 1, 1, tzinfo=UTC)
# Waybill numbers and scan ids: letters, digits and a few separators; no spaces, no slash
# (a parcel id is a URL path segment).
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


class ScanKind(StrEnum):
    RECEIVED_AT_CENTER = "received_at_center"
    LEFT_CENTER = "left_center"
    ARRIVED_AT_TOWN = "arrived_at_town"
    ARRIVED_AT_VILLAGE = "arrived_at_village"
    DELIVERED = "delivered"
    RETURNED = "returned"

    @property
    def rank(self) -> int:
        """Order of two scans with the same time: the parcel's path, then its end."""
        return _RANK[self]


_RANK: Final = {kind: n for n, kind in enumerate(ScanKind, start=1)}
# The tiers a kind of scan may happen at. Delivery is by the village station, or by a town
# station to a household near it; a parcel may be returned from anywhere.
_TIERS: Final[dict[ScanKind, frozenset[Tier]]] = {
    ScanKind.RECEIVED_AT_CENTER: frozenset({Tier.COUNTY_CENTER}),
    ScanKind.LEFT_CENTER: frozenset({Tier.COUNTY_CENTER}),
    ScanKind.ARRIVED_AT_TOWN: frozenset({Tier.TOWN}),
    ScanKind.ARRIVED_AT_VILLAGE: frozenset({Tier.VILLAGE}),
    ScanKind.DELIVERED: frozenset({Tier.TOWN, Tier.VILLAGE}),
    ScanKind.RETURNED: frozenset(Tier),
}
_DESTINATION_TIERS: Final = frozenset({Tier.TOWN, Tier.VILLAGE})


@dataclass(frozen=True)
class RawScan:
    """A scan as received, every field still text."""

    scan_id: str
    parcel_id: str
    station_id: str
    kind: str
    scanned_at: str
    destination_station_id: str | None = None


@dataclass(frozen=True)
class Scan:
    """A checked scan. ``scanned_at`` is UTC; station ids are canonical uuid text."""

    scan_id: str
    parcel_id: str
    station_id: str
    kind: ScanKind
    scanned_at: datetime
    destination_station_id: str | None = None

    @property
    def order_key(self) -> tuple[datetime, int, str]:
        """Total order of a parcel's scans: own time, then path order, then id (ties)."""
        return (self.scanned_at, self.kind.rank, self.scan_id)


@dataclass(frozen=True)
class ScanRejection:
    index: int  # position in the batch
    scan_id: str | None
    code: str
    field: str
    message: str


@dataclass(frozen=True)
class BatchCheck:
    accepted: list[Scan]  # distinct scan ids, in batch order
    rejected: list[ScanRejection]
    repeats: int  # the same scan twice in one batch: applied once, not an error
    positions: Mapping[str, int]  # scan id -> index of its first accepted occurrence


class _Refused(Exception):
    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


@lru_cache(maxsize=4096)
def _uuid_text(text: str) -> str | None:
    """Canonical uuid text, or None. Cached: a batch names a few stations a thousand times."""
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError):
        return None


def _canonical_uuid(text: str | None, field: str, code: str) -> str | None:
    if text is None:
        return None
    canonical = _uuid_text(text)
    if canonical is None:
        raise _Refused(code, field, f"{field} is not a station id (uuid)")
    return canonical


def station_ids_of(raws: Sequence[RawScan]) -> set[str]:
    """Every well-formed station id a batch names, so the caller loads them in one query."""
    texts = {r.station_id for r in raws} | {r.destination_station_id for r in raws}
    return {c for t in texts if t is not None and (c := _uuid_text(t)) is not None}


def _id(text: str, field: str) -> str:
    value = text.strip()
    if not 0 < len(value) <= MAX_ID_CHARS or not _ID.match(value):
        raise _Refused(
            "SCAN_ID_INVALID" if field == "scan_id" else "PARCEL_ID_INVALID",
            field,
            f"{field} must be 1..{MAX_ID_CHARS} letters, digits or . _ : -",
        )
    return value


_KIND_OF: Final = {k.value: k for k in ScanKind}


def _kind(text: str) -> ScanKind:
    kind = _KIND_OF.get(text) if isinstance(text, str) else None
    if kind is None:
        allowed = ", ".join(ScanKind)
        raise _Refused("SCAN_KIND_INVALID", "kind", f"kind must be one of {allowed}")
    return kind


def _time(text: str, now: datetime) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        raise _Refused(
            "SCAN_TIME_INVALID", "scanned_at", "scanned_at is not an RFC 3339 time"
        ) from None
    if at.tzinfo is None:
        # a bare local time is ambiguous across the 8-hour offset: refuse rather than guess
        raise _Refused(
            "SCAN_TIME_INVALID", "scanned_at", "scanned_at needs an offset (+08:00 or Z)"
        )
    at = at.astimezone(UTC)
    if at < MIN_SCAN_TIME:
        raise _Refused("SCAN_TIME_INVALID", "scanned_at", "scanned_at is before 2014")
    if at > now + MAX_CLOCK_SKEW:
        raise _Refused("SCAN_TIME_IN_FUTURE", "scanned_at", "scanned_at is in the future")
    return at


def _station(
    station_id: str, kind: ScanKind, at: datetime, stations: Mapping[str, Station]
) -> Station:
    station = stations.get(station_id)
    if station is None:
        raise _Refused("SCAN_STATION_UNKNOWN", "station_id", f"no station {station_id}")
    if station.tier not in _TIERS[kind]:
        raise _Refused(
            "SCAN_STATION_TIER_MISMATCH",
            "station_id",
            f"a {kind} scan cannot happen at a {station.tier} station",
        )
    opens, closes = _open_between(station.opened_on, station.closed_on)
    if at < opens or (closes is not None and at >= closes):
        raise _Refused(
            "SCAN_STATION_NOT_OPEN",
            "station_id",
            f"station {station_id} was not open on {local_date(at)}",
        )
    return station


@lru_cache(maxsize=1024)
def _open_between(opened_on: date, closed_on: date | None) -> tuple[datetime, datetime | None]:
    """The UTC instants a station is open: from the county's midnight starting ``opened_on``
    to the one ending ``closed_on`` (exclusive). The same test as the county day of the scan
    lying in [opened_on, closed_on], without converting every scan's time to the county's."""
    opens = datetime.combine(opened_on, time.min, tzinfo=COUNTY_TZ).astimezone(UTC)
    if closed_on is None:
        return opens, None
    after = closed_on + timedelta(days=1)
    return opens, datetime.combine(after, time.min, tzinfo=COUNTY_TZ).astimezone(UTC)


def _destination(text: str | None, stations: Mapping[str, Station]) -> str | None:
    field, code = "destination_station_id", "SCAN_DESTINATION_INVALID"
    dest_id = _canonical_uuid(text, field, code)
    if dest_id is None:
        return None
    dest = stations.get(dest_id)
    if dest is None or dest.tier not in _DESTINATION_TIERS:
        raise _Refused(code, field, "the destination must be a registered village or town station")
    return dest_id


def _check(raw: RawScan, stations: Mapping[str, Station], now: datetime) -> Scan:
    scan_id = _id(raw.scan_id, "scan_id")
    parcel_id = _id(raw.parcel_id, "parcel_id")
    kind = _kind(raw.kind)
    at = _time(raw.scanned_at, now)
    station_id = _canonical_uuid(raw.station_id, "station_id", "SCAN_STATION_UNKNOWN")
    assert station_id is not None
    _station(station_id, kind, at, stations)
    destination = _destination(raw.destination_station_id, stations)
    return Scan(scan_id, parcel_id, station_id, kind, at, destination)


def check_batch(
    raws: Sequence[RawScan], *, stations: Mapping[str, Station], now: datetime
) -> BatchCheck:
    """Each scan accepted or rejected with its reason. ``stations`` holds (at least) every
    station the batch names; ``now`` is the injected clock's instant."""
    assert len(raws) <= MAX_SCANS_PER_BATCH, "the edge bounds the batch"
    accepted: dict[str, Scan] = {}
    rejected: list[ScanRejection] = []
    positions: dict[str, int] = {}
    repeats = 0
    for index, raw in enumerate(raws):
        try:
            scan = _check(raw, stations, now)
        except _Refused as r:
            rejected.append(ScanRejection(index, raw.scan_id or None, r.code, r.field, r.message))
            continue
        seen = accepted.get(scan.scan_id)
        if seen is None:
            accepted[scan.scan_id] = scan
            positions[scan.scan_id] = index
        elif seen == scan:
            repeats += 1
        else:
            rejected.append(_reused(index, scan.scan_id))
    return BatchCheck(list(accepted.values()), rejected, repeats, positions)


def _reused(index: int, scan_id: str) -> ScanRejection:
    return ScanRejection(
        index, scan_id, "SCAN_ID_REUSED", "scan_id", "this scan id was used for a different scan"
    )


def reused_rejection(index: int, scan_id: str) -> ScanRejection:
    """The refusal for a scan whose id the store already holds with other content."""
    return _reused(index, scan_id)

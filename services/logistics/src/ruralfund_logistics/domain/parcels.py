"""A parcel's track, folded from its scans so that order of arrival never matters.

The track keeps, per kind of scan, the *first* time (and station) it happened, the *latest*
scan overall, and the latest declared destination. Each of these is a minimum or a maximum,
so ``merge`` is associative, commutative and idempotent (a join): folding scans one at a time,
in batches, shuffled or replayed, gives the same track. Scans are stored once (by scan id)
and only new ones are merged, so the scan count is a plain sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from .scans import Scan, ScanKind

__all__ = [
    "Declared",
    "LastScan",
    "Mark",
    "ParcelStatus",
    "ParcelTrack",
    "merge",
    "merge_into",
    "status_of",
    "track_of",
    "tracks_of",
]


@dataclass(frozen=True, order=True)
class Mark:
    """When and where a kind of scan first happened (ties: the smaller station id)."""

    at: datetime
    station_id: str


@dataclass(frozen=True)
class LastScan:
    at: datetime
    kind: ScanKind
    scan_id: str
    station_id: str

    @property
    def key(self) -> tuple[datetime, int, str]:
        return (self.at, self.kind.rank, self.scan_id)


@dataclass(frozen=True, order=True)
class Declared:
    """A destination named on a scan; the latest declaration wins (a re-routed parcel)."""

    at: datetime
    scan_id: str
    station_id: str


class ParcelStatus(StrEnum):
    AT_CENTER = "at_center"
    IN_TRANSIT = "in_transit"  # left the center, not yet at a town station
    AT_TOWN = "at_town"
    AT_VILLAGE = "at_village"
    DELIVERED = "delivered"
    RETURNED = "returned"


_STATUS_AFTER: Final = {
    ScanKind.RECEIVED_AT_CENTER: ParcelStatus.AT_CENTER,
    ScanKind.LEFT_CENTER: ParcelStatus.IN_TRANSIT,
    ScanKind.ARRIVED_AT_TOWN: ParcelStatus.AT_TOWN,
    ScanKind.ARRIVED_AT_VILLAGE: ParcelStatus.AT_VILLAGE,
    ScanKind.DELIVERED: ParcelStatus.DELIVERED,
    ScanKind.RETURNED: ParcelStatus.RETURNED,
}


@dataclass(frozen=True)
class ParcelTrack:
    parcel_id: str
    county_code: str
    last: LastScan
    first: Mapping[ScanKind, Mark] = field(default_factory=dict)
    declared: Declared | None = None
    scan_count: int = 0

    def at(self, kind: ScanKind) -> datetime | None:
        mark = self.first.get(kind)
        return mark.at if mark else None

    @property
    def left_center_at(self) -> datetime | None:
        return self.at(ScanKind.LEFT_CENTER)

    @property
    def delivered_at(self) -> datetime | None:
        return self.at(ScanKind.DELIVERED)

    @property
    def returned_at(self) -> datetime | None:
        return self.at(ScanKind.RETURNED)

    @property
    def destination_station_id(self) -> str | None:
        """The station answerable for the last mile: where it was delivered, else the village
        it reached, else the destination its scans declared."""
        for kind in (ScanKind.DELIVERED, ScanKind.ARRIVED_AT_VILLAGE):
            if kind in self.first:
                return self.first[kind].station_id
        return self.declared.station_id if self.declared else None


def status_of(track: ParcelTrack) -> ParcelStatus:
    """Where the parcel is now: what its latest scan (by the scan's own time) says."""
    return _STATUS_AFTER[track.last.kind]


def _min_marks(a: Mapping[ScanKind, Mark], b: Mapping[ScanKind, Mark]) -> dict[ScanKind, Mark]:
    out = dict(a)
    for kind, mark in b.items():
        out[kind] = min(out[kind], mark) if kind in out else mark
    return out


def _max_declared(a: Declared | None, b: Declared | None) -> Declared | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def merge(a: ParcelTrack, b: ParcelTrack) -> ParcelTrack:
    """The join of two tracks of the same parcel built from disjoint sets of scans."""
    assert a.parcel_id == b.parcel_id, "tracks of different parcels"
    return ParcelTrack(
        parcel_id=a.parcel_id,
        # all of a parcel's stations are in one county; min() only makes a bad feed deterministic
        county_code=min(a.county_code, b.county_code),
        last=max(a.last, b.last, key=lambda s: s.key),
        first=_min_marks(a.first, b.first),
        declared=_max_declared(a.declared, b.declared),
        scan_count=a.scan_count + b.scan_count,
    )


def track_of(scans: Iterable[Scan], county_of: Mapping[str, str]) -> ParcelTrack:
    """The track of one parcel's (non-empty) scans; ``county_of`` maps station id -> county.

    The same join as merging one-scan tracks (see ``merge``; a property test holds them
    equal), in one pass: this runs for every scan of every batch.
    """
    it = iter(scans)
    head = next(it, None)
    assert head is not None, "a track needs at least one scan"
    first = {head.kind: Mark(head.scanned_at, head.station_id)}
    last, last_key = head, head.order_key
    declared, count = _declared(head), 1
    county = county_of[head.station_id]
    for scan in it:
        assert scan.parcel_id == head.parcel_id, "scans of different parcels"
        mark = first.get(scan.kind)
        if mark is None or (scan.scanned_at, scan.station_id) < (mark.at, mark.station_id):
            first[scan.kind] = Mark(scan.scanned_at, scan.station_id)
        key = scan.order_key
        if key > last_key:
            last, last_key = scan, key
        if scan.destination_station_id is not None:
            declared = _max_declared(declared, _declared(scan))
        county = min(county, county_of[scan.station_id])
        count += 1
    return ParcelTrack(
        parcel_id=head.parcel_id,
        county_code=county,
        last=LastScan(last.scanned_at, last.kind, last.scan_id, last.station_id),
        first=first,
        declared=declared,
        scan_count=count,
    )


def _declared(scan: Scan) -> Declared | None:
    if scan.destination_station_id is None:
        return None
    return Declared(scan.scanned_at, scan.scan_id, scan.destination_station_id)


def tracks_of(scans: Iterable[Scan], county_of: Mapping[str, str]) -> dict[str, ParcelTrack]:
    """One track per parcel of a batch of distinct scans."""
    by_parcel: dict[str, list[Scan]] = {}
    for scan in scans:
        by_parcel.setdefault(scan.parcel_id, []).append(scan)
    return {pid: track_of(group, county_of) for pid, group in by_parcel.items()}


def merge_into(
    stored: Mapping[str, ParcelTrack], new: Mapping[str, ParcelTrack]
) -> dict[str, ParcelTrack]:
    """Each new track joined with the stored track of the same parcel, if there is one."""
    return {pid: merge(stored[pid], t) if pid in stored else t for pid, t in new.items()}

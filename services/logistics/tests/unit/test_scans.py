"""Scans checked one by one, and parcel tracks that do not depend on the order scans arrive in."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruralfund_logistics.domain import (
    MAX_SCANS_PER_BATCH,
    ParcelStatus,
    RawScan,
    Scan,
    ScanKind,
    Station,
    StationStatus,
    Tier,
    check_batch,
    merge,
    status_of,
    track_of,
    tracks_of,
)

C = "0190a000-0000-7000-8000-000000000001"
T = "0190a000-0000-7000-8000-000000000002"
V = "0190a000-0000-7000-8000-000000000003"
V2 = "0190a000-0000-7000-8000-000000000004"
OPENED = date(2021, 6, 1)
STATIONS = {
    C: Station(C, "530427", Tier.COUNTY_CENTER, "新平县物流中心", "桂山街道", OPENED),
    T: Station(T, "530427", Tier.TOWN, "戛洒镇站", "戛洒镇", OPENED, parent_id=C),
    V: Station(V, "530427", Tier.VILLAGE, "南碱村站", "南碱村", OPENED, parent_id=T),
    V2: Station(
        V2,
        "530427",
        Tier.VILLAGE,
        "旧村站",
        "旧村",
        OPENED,
        parent_id=T,
        status=StationStatus.CLOSED,
        closed_on=date(2021, 6, 30),
        close_reason="并站",
    ),
}
COUNTY = {sid: s.county_code for sid, s in STATIONS.items()}
NOW = datetime(2021, 7, 10, 2, 0, tzinfo=UTC)


def raw(n: int, kind: str = "left_center", station: str = C, **kw: str | None) -> RawScan:
    fields: dict[str, str | None] = {
        "scan_id": f"S-{n}",
        "parcel_id": "SF1001",
        "station_id": station,
        "kind": kind,
        "scanned_at": "2021-07-03T09:30:00+08:00",
    }
    fields.update(kw)
    return RawScan(**fields)  # type: ignore[arg-type]


def check(*raws: RawScan):  # type: ignore[no-untyped-def]
    return check_batch(list(raws), stations=STATIONS, now=NOW)


def test_a_good_scan_is_accepted_in_utc_with_a_canonical_station_id() -> None:
    result = check(raw(1, station=C.upper(), destination_station_id=V))
    assert result.rejected == []
    s = result.accepted[0]
    assert (s.kind, s.station_id, s.destination_station_id) == (ScanKind.LEFT_CENTER, C, V)
    assert s.scanned_at == datetime(2021, 7, 3, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("bad", "code", "field"),
    [
        (raw(1, scan_id=""), "SCAN_ID_INVALID", "scan_id"),
        (raw(1, scan_id="x" * 65), "SCAN_ID_INVALID", "scan_id"),
        (raw(1, parcel_id="SF 1001"), "PARCEL_ID_INVALID", "parcel_id"),
        (raw(1, parcel_id="SF/1001"), "PARCEL_ID_INVALID", "parcel_id"),
        (raw(1, kind="lost"), "SCAN_KIND_INVALID", "kind"),
        (raw(1, scanned_at="yesterday"), "SCAN_TIME_INVALID", "scanned_at"),
        (raw(1, scanned_at="2021-07-03T09:30:00"), "SCAN_TIME_INVALID", "scanned_at"),  # no offset
        (raw(1, scanned_at="2013-12-31T23:00:00Z"), "SCAN_TIME_INVALID", "scanned_at"),
        (raw(1, scanned_at="2021-07-10T02:10:01Z"), "SCAN_TIME_IN_FUTURE", "scanned_at"),
        (raw(1, station_id="nope"), "SCAN_STATION_UNKNOWN", "station_id"),
        (
            raw(1, station_id="0190a000-0000-7000-8000-00000000ffff"),
            "SCAN_STATION_UNKNOWN",
            "station_id",
        ),
        (raw(1, kind="delivered", station=C), "SCAN_STATION_TIER_MISMATCH", "station_id"),
        (raw(1, kind="arrived_at_town", station=V), "SCAN_STATION_TIER_MISMATCH", "station_id"),
        (raw(1, kind="left_center", station=T), "SCAN_STATION_TIER_MISMATCH", "station_id"),
        (raw(1, scanned_at="2021-05-31T23:59:00+08:00"), "SCAN_STATION_NOT_OPEN", "station_id"),
        (raw(1, kind="delivered", station=V2), "SCAN_STATION_NOT_OPEN", "station_id"),
        (raw(1, destination_station_id=C), "SCAN_DESTINATION_INVALID", "destination_station_id"),
        (raw(1, destination_station_id="x"), "SCAN_DESTINATION_INVALID", "destination_station_id"),
    ],
)
def test_a_bad_scan_is_refused_alone_with_code_and_field(
    bad: RawScan, code: str, field: str
) -> None:
    result = check(raw(0), bad, raw(2, scan_id="S-2"))
    assert [s.scan_id for s in result.accepted] == ["S-0", "S-2"]  # the others are applied
    assert [(r.index, r.code, r.field) for r in result.rejected] == [(1, code, field)]


def test_clock_skew_up_to_ten_minutes_is_tolerated() -> None:
    assert check(raw(1, scanned_at="2021-07-10T02:10:00Z")).rejected == []


def test_delivery_may_be_at_a_town_or_village_a_return_anywhere() -> None:
    ok = check(
        raw(1, "delivered", V),
        raw(2, "delivered", T),
        raw(3, "returned", C),
        raw(4, "arrived_at_village", V),
        raw(5, "received_at_center", C),
    )
    assert ok.rejected == [] and len(ok.accepted) == 5


def test_the_same_scan_twice_in_a_batch_counts_once_a_different_one_is_refused() -> None:
    result = check(raw(1), raw(1), raw(1, kind="received_at_center"))
    assert len(result.accepted) == 1 and result.repeats == 1
    assert [(r.index, r.code) for r in result.rejected] == [(2, "SCAN_ID_REUSED")]
    assert result.positions == {"S-1": 0}


# -- tracks ------------------------------------------------------------------------------------

BASE = datetime(2021, 7, 3, 1, 0, tzinfo=UTC)


def journey(parcel: str = "SF1001", *, start: int = 0) -> list[Scan]:
    steps = [
        (ScanKind.RECEIVED_AT_CENTER, C, 0),
        (ScanKind.LEFT_CENTER, C, 2),
        (ScanKind.ARRIVED_AT_TOWN, T, 5),
        (ScanKind.ARRIVED_AT_VILLAGE, V, 9),
        (ScanKind.DELIVERED, V, 11),
    ]
    return [
        Scan(f"{parcel}-{start + i}", parcel, sid, kind, BASE + timedelta(hours=h))
        for i, (kind, sid, h) in enumerate(steps)
    ]


def test_a_track_knows_where_the_parcel_is_by_its_latest_scan_time() -> None:
    scans = journey()
    t = track_of(reversed(scans[:3]), COUNTY)  # arrived in reverse order
    assert status_of(t) is ParcelStatus.AT_TOWN
    assert t.left_center_at == BASE + timedelta(hours=2)
    full = track_of(scans, COUNTY)
    assert (status_of(full), full.destination_station_id, full.scan_count) == (
        ParcelStatus.DELIVERED,
        V,
        5,
    )


def test_the_destination_is_the_delivery_station_else_the_village_else_the_declared_one() -> None:
    declared = replace(journey()[1], destination_station_id=V2)
    assert track_of([declared], COUNTY).destination_station_id == V2
    assert track_of([declared, journey()[3]], COUNTY).destination_station_id == V


def test_same_time_scans_are_ordered_along_the_path() -> None:
    a, b = journey()[3], journey()[4]
    b = replace(b, scanned_at=a.scanned_at)  # arrived and delivered in the same second
    assert status_of(track_of([b, a], COUNTY)) is ParcelStatus.DELIVERED


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=30))
def test_any_order_and_any_batching_give_the_same_tracks(rnd: random.Random, batches: int) -> None:
    # up to one scan a batch: the one-pass fold equals merging one-scan tracks
    scans = (
        journey("A")
        + journey("B", start=10)[:3]
        + [
            Scan("A-late-copy", "A", C, ScanKind.LEFT_CENTER, BASE + timedelta(hours=30)),
            Scan("B-ret", "B", T, ScanKind.RETURNED, BASE + timedelta(hours=7)),
        ]
    )
    expected = tracks_of(scans, COUNTY)
    shuffled = scans[:]
    rnd.shuffle(shuffled)
    cuts = sorted(rnd.sample(range(1, len(shuffled)), min(batches, len(shuffled) - 1)))
    state: dict[str, object] = {}
    for chunk in [shuffled[i:j] for i, j in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]:
        for pid, t in tracks_of(chunk, COUNTY).items():
            state[pid] = merge(state[pid], t) if pid in state else t  # type: ignore[arg-type]
    assert state == expected


def test_the_batch_limit_is_a_thousand() -> None:
    assert MAX_SCANS_PER_BATCH == 1000


@pytest.mark.parametrize(
    ("station", "at", "is_open"),
    [
        (V2, "2021-05-31T16:00:00Z", True),  # 00:00 on the opening day in the county
        (V2, "2021-05-31T15:59:59.999999Z", False),  # the last instant before it
        (V2, "2021-06-30T23:59:59+08:00", True),  # the last instant of the closing day
        (V2, "2021-06-30T16:00:00Z", False),  # 00:00 the day after closing, in the county
        (V, "2021-06-01T00:00:00+08:00", True),
    ],
)
def test_a_station_is_open_on_whole_county_days(station: str, at: str, is_open: bool) -> None:
    result = check(raw(0, kind="arrived_at_village", station=station, scanned_at=at))
    assert [r.code for r in result.rejected] == ([] if is_open else ["SCAN_STATION_NOT_OPEN"])

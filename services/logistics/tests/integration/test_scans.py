"""Scan ingestion over HTTP (per-scan errors in the answer) and over the NATS command subject
(bad scans recorded with reasons, a malformed message dead-lettered), on real NATS + PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = pytest.mark.integration

NOW = "2021-07-04T12:00:00+08:00"


def scan(n: int, parcel: str, kind: str, station: str, at: str, **kw: Any) -> dict[str, Any]:
    return {
        "scan_id": f"{parcel}-{n}",
        "parcel_id": parcel,
        "station_id": station,
        "kind": kind,
        "scanned_at": at,
    } | kw


def journey(parcel: str, center: str, town: str, village: str) -> list[dict[str, Any]]:
    return [
        scan(1, parcel, "received_at_center", center, "2021-07-03T07:00:00+08:00"),
        scan(
            2,
            parcel,
            "left_center",
            center,
            "2021-07-03T08:00:00+08:00",
            destination_station_id=village,
        ),
        scan(3, parcel, "arrived_at_town", town, "2021-07-03T11:00:00+08:00"),
        scan(4, parcel, "arrived_at_village", village, "2021-07-03T15:00:00+08:00"),
        scan(5, parcel, "delivered", village, "2021-07-03T17:30:00+08:00"),
    ]


async def test_http_batch_applies_good_scans_and_answers_each_bad_one(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    good = journey("SF1001", center["id"], town["id"], village["id"])
    bad = [
        scan(9, "SF1001", "teleported", village["id"], "2021-07-03T18:00:00+08:00"),
        scan(10, "SF1002", "delivered", center["id"], "2021-07-03T18:00:00+08:00"),
        scan(11, "SF1002", "left_center", center["id"], "2021-07-03T18:00:00"),
    ]
    batch = [good[0], bad[0], *good[1:3], bad[1], *good[3:], bad[2]]
    r = await lx.post_scans(batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["recorded"], body["duplicates"], body["parcels"]) == (8, 5, 0, 1)
    assert [(e["index"], e["scan_id"], e["code"], e["field"]) for e in body["rejected"]] == [
        (1, "SF1001-9", "SCAN_KIND_INVALID", "kind"),
        (4, "SF1002-10", "SCAN_STATION_TIER_MISMATCH", "station_id"),
        (7, "SF1002-11", "SCAN_TIME_INVALID", "scanned_at"),
    ]
    parcel = await lx.parcel("SF1001")
    assert (parcel["status"], parcel["destination_station_id"], parcel["town_station_id"]) == (
        "delivered",
        village["id"],
        town["id"],
    )
    assert (parcel["sla_outcome"], parcel["counts_as"], parcel["deadline_at"]) == (
        "on_time",
        "on_time",
        "2021-07-04T00:00:00Z",
    )
    assert [s["kind"] for s in parcel["scans"]] == [
        "received_at_center",
        "left_center",
        "arrived_at_town",
        "arrived_at_village",
        "delivered",
    ]
    lx.assert_problem(await lx.get(lx.AUDITOR, "/parcels/SF1002"), 404, "PARCEL_NOT_FOUND")
    # HTTP callers get their refusals in the answer; nothing is kept for them
    assert await lx.count("SELECT count(*) FROM rejected_scans") == 0


async def test_a_resent_batch_changes_nothing_and_a_reused_scan_id_is_refused(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    batch = journey("SF2001", center["id"], town["id"], village["id"])
    first = await lx.post_scans(batch[:3])
    assert first.json()["recorded"] == 3, first.text
    before = await lx.fetch("SELECT * FROM parcels")

    again = await lx.post_scans(batch[:3])  # a new request (new Idempotency-Key), same scans
    assert (again.json()["recorded"], again.json()["duplicates"], again.json()["parcels"]) == (
        0,
        3,
        0,
    )
    assert await lx.fetch("SELECT * FROM parcels") == before  # not even updated_at moved

    reused = dict(batch[3], scan_id=batch[0]["scan_id"])  # the id of another scan
    r = await lx.post_scans([reused, batch[4]])
    assert [(e["index"], e["code"]) for e in r.json()["rejected"]] == [(0, "SCAN_ID_REUSED")]
    assert await lx.count("SELECT count(*) FROM scans") == 4
    assert (await lx.parcel("SF2001"))["status"] == "delivered"


async def test_a_body_that_is_not_a_batch_of_scans_is_refused_whole(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    center, _town, _village = await lx.tree()
    one = scan(1, "SF3001", "left_center", center["id"], "2021-07-03T08:00:00+08:00")
    lx.assert_problem(await lx.post_scans([]), 422, "INVALID_INPUT", field="scans")
    too_many = [dict(one, scan_id=f"S{i}") for i in range(1001)]
    lx.assert_problem(await lx.post_scans(too_many), 422, "INVALID_INPUT", field="scans")
    missing = {k: v for k, v in one.items() if k != "kind"}
    lx.assert_problem(
        await lx.post_scans([one, missing]), 422, "INVALID_INPUT", field="scans[1].kind"
    )
    lx.assert_problem(
        await lx.post_scans([dict(one, kind=7)]), 422, "INVALID_INPUT", field="scans[0].kind"
    )
    lx.assert_problem(await lx.post_scans([one], who=lx.AUDITOR), 403, "READ_ONLY")
    lx.assert_problem(await lx.post_scans([one], who=lx.OPERATOR_ZHANG), 403, "ROLE_REQUIRED")
    assert await lx.count("SELECT count(*) FROM scans") == 0


async def test_a_thousand_scans_in_one_request(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    scans = [
        s
        for n in range(200)
        for s in journey(f"SF9{n:04d}", center["id"], town["id"], village["id"])
    ]
    r = await lx.post_scans(scans)
    assert (r.json()["recorded"], r.json()["parcels"]) == (1000, 200), r.text[:500]
    assert await lx.count("SELECT count(*) FROM parcels WHERE sla_outcome = 'on_time'") == 200


# -- over NATS -------------------------------------------------------------------------------


async def test_scans_arrive_over_the_nats_command_subject_once(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    scans = journey("YT5001", center["id"], town["id"], village["id"])
    bad = scan(7, "YT5002", "arrived_at_village", town["id"], "2021-07-03T16:00:00+08:00")
    env_id = await lx.publish_scans([*scans[:4], bad])

    parcel = await eventually(lambda: lx.parcel("YT5001"), description="parcel from NATS")
    assert (parcel["status"], parcel["sla_outcome"]) == ("at_village", "open")
    await eventually(lambda: lx.count("SELECT count(*) FROM rejected_scans"), expect=1)
    rejected = (await lx.get(lx.AUDITOR, "/scans/rejected")).json()["items"]
    assert [(r["batch_id"], r["index"], r["scan_id"], r["code"]) for r in rejected] == [
        (env_id, 4, "YT5002-7", "SCAN_STATION_TIER_MISMATCH")
    ]
    assert (
        rejected[0]["scan"]["kind"] == "arrived_at_village"
        and rejected[0]["source"] == "sorting-line"
    )

    # the same command again under another Nats-Msg-Id (JetStream keeps both): the inbox drops it
    await lx.publish_scans([*scans[:4], bad], envelope_id=env_id, msg_id=f"{env_id}:again")
    # then the delivery, in a later command; once it is applied, the duplicate was handled before
    await lx.publish_scans([scans[4]])
    done = await eventually(
        lambda: _status(lx, "YT5001"), expect="delivered", description="delivery applied"
    )
    assert done == "delivered"
    assert await lx.count("SELECT count(*) FROM scans") == 5
    assert await lx.count("SELECT count(*) FROM rejected_scans") == 1
    assert await lx.count("SELECT count(*) FROM inbox WHERE outcome = 'processed'") == 2
    assert (await lx.parcel("YT5001"))["sla_outcome"] == "on_time"


async def _status(lx, parcel_id: str) -> str:  # type: ignore[no-untyped-def]
    return (await lx.parcel(parcel_id))["status"]


async def test_a_malformed_command_is_dead_lettered_with_the_reason(logistics) -> None:  # type: ignore[no-untyped-def]
    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    env = {
        "specversion": "1.0",
        "id": "0190f000-0000-7000-8000-00000000dead",
        "type": "logistics.cmd.record_scans.v1",
        "source": "ruralfund/sorting-line",
        "time": "2021-07-04T04:00:00Z",
        "subject": "line-1",
        "correlation_id": "0190f000-0000-7000-8000-00000000dead",
        "data": {"source": "line-1", "scans": [{"scan_id": "X1", "parcel_id": "P"}]},
    }
    await lx.publish_raw(json.dumps(env).encode(), msg_id="malformed-1")
    await lx.publish_raw(b"not json", msg_id="malformed-2")
    good = await lx.publish_scans(journey("ZT1", center["id"], town["id"], village["id"]))

    await eventually(lambda: lx.count("SELECT count(*) FROM inbox"), expect=3)
    outcomes = await lx.fetch("SELECT message_id, outcome, reason FROM inbox ORDER BY processed_at")
    by_id = {o["message_id"]: o for o in outcomes}
    # a message that does not validate has no envelope id: the inbox keys it by Nats-Msg-Id
    assert by_id["malformed-1"]["outcome"] == "dead_lettered"
    assert by_id["malformed-1"]["reason"].startswith("INVALID_CONTRACT: data.scans.0.station_id")
    assert by_id[good]["outcome"] == "processed"
    assert [o["outcome"] for o in outcomes].count("dead_lettered") == 2
    assert await lx.count("SELECT count(*) FROM scans") == 5  # the good command, after the bad ones

    js = lx.nc.jetstream()
    dlq = f"{lx.namespace.upper()}_DLQ"
    info = await js.stream_info(dlq)
    reasons = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(dlq, seq)
        assert msg.subject == f"{lx.namespace}.dlq.logistics.logistics.cmd.record_scans.v1"
        reasons.append(msg.headers["Ruralfund-Dlq-Reason"])
    assert sorted(r.split(":")[0] for r in reasons) == ["INVALID_CONTRACT", "INVALID_JSON"]


async def test_concurrent_batches_touching_the_same_parcels_lose_no_scan(logistics) -> None:  # type: ignore[no-untyped-def]
    """Tracks are merged optimistically (no row locks): a parcel another batch changed in
    the meantime goes round again, so every scan ends up in its parcel's track."""
    import asyncio
    import random

    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    parcels = [f"CC{n}" for n in range(30)]
    scans = [s for p in parcels for s in journey(p, center["id"], town["id"], village["id"])]
    random.Random(7).shuffle(scans)
    batches = [scans[i::10] for i in range(10)]  # each batch touches most parcels
    answers = await asyncio.gather(*(lx.post_scans(b) for b in batches))
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    assert sum(a.json()["recorded"] for a in answers) == len(scans)
    rows = await lx.fetch(
        "SELECT parcel_id, scan_count, last_scan_kind, sla_outcome, received_at IS NOT NULL AS got "
        "FROM parcels ORDER BY parcel_id"
    )
    assert rows == [
        {
            "parcel_id": p,
            "scan_count": 5,
            "last_scan_kind": "delivered",
            "sla_outcome": "on_time",
            "got": True,
        }
        for p in sorted(parcels)
    ]


async def test_every_stored_track_is_the_domain_fold_of_its_scans(logistics) -> None:  # type: ignore[no-untyped-def]
    """The batch upsert folds and joins tracks in SQL (adapters/parcels.py); the domain's
    ``track_of`` and ``sla_view`` are the reference. Random scans (repeated kinds, equal times,
    re-declared destinations, returns, late and early deliveries) in shuffled batches, some
    concurrent: every parcel row must equal the domain's fold of all its stored scans."""
    import asyncio
    import random
    from datetime import datetime, timedelta

    from ruralfund_logistics.adapters.parcels import _MARK_COLUMNS
    from ruralfund_logistics.domain import Scan, ScanKind, sla_view, track_of

    lx = logistics
    await lx.set_clock(NOW)
    center, town, village = await lx.tree()
    town2 = await lx.station(lx.station_body("town", center["id"], name="第二镇站"))
    village2 = await lx.station(lx.station_body("village", town2["id"], name="第二村站"))
    at_tier = {
        "received_at_center": [center], "left_center": [center], "arrived_at_town": [town, town2],
        "arrived_at_village": [village, village2], "delivered": [town, village, village2],
        "returned": [center, town, village],
    }  # fmt: skip
    rnd = random.Random(11)
    base = datetime.fromisoformat("2021-07-02T08:00:00+08:00")
    scans = []
    for p in range(40):
        for n in range(rnd.randint(1, 8)):
            kind = rnd.choice(list(at_tier))
            extra = {}
            if rnd.random() < 0.4:
                extra["destination_station_id"] = rnd.choice([village, village2, town2])["id"]
            at = base + timedelta(hours=rnd.choice([0, 1, 5, 23, 24, 25, 30]))  # ties are common
            scans.append(
                scan(n, f"FOLD{p}", kind, rnd.choice(at_tier[kind])["id"], at.isoformat(), **extra)
            )
    rnd.shuffle(scans)
    batches = [scans[i : i + 37] for i in range(0, len(scans), 37)]
    for group in (batches[:4], batches[4:]):  # the first four at once, then the rest
        answers = await asyncio.gather(*(lx.post_scans(b) for b in group))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert await lx.count("SELECT count(*) FROM scans") == len(scans)

    county_of = {s["id"]: s["county_code"] for s in (center, town, town2, village, village2)}
    stored = await lx.fetch("SELECT * FROM scans ORDER BY parcel_id")
    by_parcel: dict[str, list[Scan]] = {}
    for r in stored:
        dest = r["destination_station_id"]
        by_parcel.setdefault(r["parcel_id"], []).append(
            Scan(
                r["scan_id"],
                r["parcel_id"],
                str(r["station_id"]),
                ScanKind(r["kind"]),
                r["scanned_at"],
                str(dest) if dest else None,
            )
        )
    rows = {r["parcel_id"]: r for r in await lx.fetch("SELECT * FROM parcels")}
    assert set(rows) == set(by_parcel)
    for pid, parcel_scans in by_parcel.items():
        track = track_of(parcel_scans, county_of)
        deadline, outcome = sla_view(track)
        expected: dict[str, Any] = {
            "county_code": track.county_code, "scan_count": track.scan_count,
            "last_scan_at": track.last.at, "last_scan_kind": track.last.kind.value,
            "last_scan_id": track.last.scan_id, "last_station_id": track.last.station_id,
            "declared_destination_id": track.declared.station_id if track.declared else None,
            "declared_at": track.declared.at if track.declared else None,
            "declared_scan_id": track.declared.scan_id if track.declared else None,
            "destination_station_id": track.destination_station_id,
            "deadline_at": deadline, "sla_outcome": outcome.value if outcome else None,
        }  # fmt: skip
        for kind, (at_col, station_col) in _MARK_COLUMNS.items():
            mark = track.first.get(kind)
            expected[at_col] = mark.at if mark else None
            expected[station_col] = mark.station_id if mark else None
        row = rows[pid]
        found = {k: str(row[k]) if "station" in k and row[k] else row[k] for k in expected}
        found["declared_destination_id"] = (
            str(row["declared_destination_id"]) if row["declared_destination_id"] else None
        )
        assert found == expected, pid
